"""``Add``, ``Sub``, ``Mul``, ``Div`` (numpy broadcasting), ``Max``/``Min``/``Sum``/``Mean``,
``Neg``, ``Pow`` with a fixed exponent, the functions of one entry (``Sqrt``, ``Erf``, ``Log``,
``Reciprocal``, ``Abs``, ``Exp``); and the same with every operand a constant, folded with
numpy (shape arithmetic)."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
from scipy import special

from .. import functions as fx
from ..functions import number
from ..ops import Fn, Merge, Rescale
from ..ops.tensors import Pointwise
from . import BatchTouched, NodeContext, converter
from .core import bias_or_constant, f32, with_constant

_NUMPY = {"Add": operator.add, "Sub": operator.sub, "Mul": operator.mul,
          "Div": None, "Pow": np.power, "Equal": np.equal, "Less": np.less,
          "Greater": np.greater, "And": np.logical_and, "Or": np.logical_or,
          "Mod": None}


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.issubdtype(np.result_type(a, b), np.integer):
        return np.trunc(np.divide(a, b)).astype(np.result_type(a, b))  # ONNX: truncation
    return np.divide(a, b).astype(np.result_type(a, b))


def _fold(ctx: NodeContext) -> np.ndarray:
    a, b = ctx.const(0), ctx.const(1)
    op = ctx.node.op_type
    if op == "Div":
        return _divide(a, b)
    if op == "Mod":
        return np.fmod(a, b) if int(ctx.attr("fmod", 0)) else np.mod(a, b)
    return np.asarray(_NUMPY[op](a, b))


def _merge_shapes(ctx: NodeContext, tensors: list[str]) -> tuple[tuple[int, ...], ...]:
    fulls = [ctx.full_shape(t) for t in tensors]
    rank = max(len(f) for f in fulls)
    if ctx.builder.batch and any(len(f) < rank for f in fulls):
        raise BatchTouched(f"node {ctx.node.label!r}: an operand of lower rank would be "
                           "broadcast along the batch axis")
    return tuple(ctx.shape(t) for t in tensors)


def _binary(ctx: NodeContext) -> Any:
    op = ctx.node.op_type
    if ctx.is_const(0) and ctx.is_const(1):
        return _fold(ctx)
    if ctx.is_const(0) or ctx.is_const(1):
        k = 0 if ctx.is_const(0) else 1
        x = ctx.tensor(1 - k)
        first = k == 0
        if op == "Add":
            return bias_or_constant(ctx, x, k, "b", "a constant added (a bias)", first)
        name = {"Sub": "subtract", "Mul": "multiply", "Div": "divide"}.get(op)
        if name is None:
            raise ctx.reject(f"{op} with a constant operand is not supported")
        meaning = {"subtract": "subtracted", "multiply": "a factor", "divide": "a divisor"}
        return with_constant(ctx, name, x, k, "c", f"a constant ({meaning[name]})", first)
    a, b = ctx.tensor(0), ctx.tensor(1)
    shapes = _merge_shapes(ctx, [a, b])
    name = {"Add": "add", "Sub": "subtract", "Mul": "multiply", "Div": "divide"}[op]
    return ctx.apply(Merge(name, shapes if len(set(shapes)) > 1 else ()), a, b)


for _op in ("Add", "Sub", "Mul", "Div"):
    converter(_op)(_binary)


@converter("Equal", "Less", "Greater", "And", "Or", "Mod")
def constant_only(ctx: NodeContext) -> Any:
    """Comparisons of constants (an exporter's shape arithmetic)."""
    if ctx.is_const(0) and ctx.is_const(1):
        return _fold(ctx)
    raise ctx.reject(f"{ctx.node.op_type} of a value computed from the input is not supported "
                     "(a comparison: a data-dependent value)")


@converter("Pow")
def power(ctx: NodeContext) -> Any:
    """``x^p`` of a computed ``x`` for one fixed exponent ``p`` (a LayerNorm's square)."""
    if ctx.is_const(0) and ctx.is_const(1):
        return _fold(ctx)
    if not ctx.is_const(1):
        raise ctx.reject("its exponent is computed from the input; symnet supports x^p for a "
                         "fixed exponent p")
    exponent = np.asarray(ctx.const(1, "exponent"))
    if exponent.size != 1:
        raise ctx.reject(f"an exponent of shape {exponent.shape}; symnet supports one fixed "
                         "exponent for every entry")
    p = float(exponent.reshape(-1)[0])
    if not np.isfinite(p):
        raise ctx.reject(f"the exponent {p} is not a finite number")
    x = ctx.tensor(0)
    if exponent.ndim > len(ctx.full_shape(x)):
        raise ctx.reject(f"an exponent of shape {exponent.shape} would add axes to the input")
    value = f32(p) if exponent.dtype == np.float32 else p
    return ctx.apply(Pointwise(Fn(fx.Power, (number(value),), name=f"power {value:g}")), x)


@converter("Max", "Min", "Sum", "Mean")
def variadic(ctx: NodeContext) -> Any:
    op = ctx.node.op_type
    if all(ctx.is_const(i) for i in range(ctx.count)):
        values = [ctx.const(i) for i in range(ctx.count)]
        fold = {"Max": np.maximum, "Min": np.minimum, "Sum": np.add, "Mean": np.add}[op]
        out = values[0]
        for v in values[1:]:
            out = fold(out, v)
        return out / len(values) if op == "Mean" else out
    tensors = [ctx.tensor(i) for i in range(ctx.count)]
    if len(tensors) == 1:
        from ..ops import Identity

        return ctx.apply(Identity(), tensors[0])
    shapes = _merge_shapes(ctx, tensors)
    name = {"Max": "maximum", "Min": "minimum", "Sum": "add", "Mean": "average"}[op]
    return ctx.apply(Merge(name, shapes if len(set(shapes)) > 1 else ()), *tensors)


@converter("Neg")
def neg(ctx: NodeContext) -> Any:
    if ctx.is_const(0):
        return -ctx.const(0)
    return ctx.apply(Rescale(-1.0), ctx.tensor(0))


#: ONNX's functions of one entry -> (numpy, for constants; the function of a computed value).
_UNARY = {"Sqrt": (np.sqrt, fx.Sqrt), "Abs": (np.abs, fx.Absolute),
          "Reciprocal": (np.reciprocal, fx.Reciprocal), "Log": (np.log, fx.Log),
          "Erf": (special.erf, fx.Erf), "Exp": (np.exp, None), "Floor": (np.floor, None),
          "Ceil": (np.ceil, None), "Not": (np.logical_not, None)}


@converter(*_UNARY)
def unary(ctx: NodeContext) -> Any:
    op = ctx.node.op_type
    fold, function = _UNARY[op]
    if ctx.is_const(0):
        value = ctx.const(0)
        return np.asarray(fold(value)).astype(value.dtype)
    if op == "Exp":
        from ..ops import ACTIVATIONS

        return ctx.apply(ACTIVATIONS["exponential"], ctx.tensor(0))
    if function is None:
        raise ctx.reject(f"{op} of a value computed from the input is not supported (a step "
                         "function of the input)")
    return ctx.apply(Pointwise(Fn(function, name=op.lower())), ctx.tensor(0))
