"""``Gemm``, ``MatMul``, the activations, ``Softmax``/``LogSoftmax`` (per opset), ``Identity``
and ``Dropout``."""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from .. import functions as fx
from ..functions import number
from ..ops import (
    ACTIVATIONS,
    BiasAdd,
    Elementwise,
    Fn,
    Identity,
    MatMul,
    PReLU,
    Rescale,
    Reshape,
    Softmax,
    elu_fn,
    leaky_relu_fn,
    relu_fn,
)
from ..ops.arithmetic import WithConstant
from . import NodeContext, converter


def f32(value: Any) -> float:
    """A float attribute (stored as float32) as its shortest decimal: 0.1, not 0.10000000149."""
    return float(str(np.float32(value)))


def bias_or_constant(ctx: NodeContext, tensor: str, i: int, symbol: str, meaning: str,
                     constant_first: bool = False) -> str:
    """``x + C``: a bias (one number per unit of the last axis) as ``+ b``, any other
    broadcast as the constant's own addition."""
    value = ctx.const(i)
    shape = ctx.shape(tensor)
    full = ctx.full_shape(tensor)
    out = np.broadcast_shapes(full, value.shape) if value.ndim else full
    if tuple(out) == tuple(full) and shape and value.size == shape[-1] and (
            value.ndim == 1 or all(d == 1 for d in value.shape[:-1])) and value.ndim <= len(full):
        return ctx.apply(BiasAdd(ctx.param(i, symbol, meaning)), tensor)
    return with_constant(ctx, "add", tensor, i, "c", "a constant added", constant_first)


def with_constant(ctx: NodeContext, operation: str, tensor: str, i: int, symbol: str,
                  meaning: str, constant_first: bool = False) -> str:
    """``x ∘ C`` with numpy's broadcasting; a constant that reaches the batch axis is refused."""
    value = ctx.const(i)
    full = ctx.full_shape(tensor)
    if ctx.builder.batch and value.ndim >= len(full) and value.shape[0] != 1:
        from . import BatchTouched

        raise BatchTouched(f"node {ctx.node.label!r}: a constant of shape {value.shape} "
                           "varies along the batch axis")
    if ctx.builder.batch and value.ndim >= len(full):
        value = value.reshape(value.shape[1:])
        param = ctx.param(None, symbol, meaning, value=value, name=ctx.source_name(
            ctx.node.inputs[i]))
    else:
        param = ctx.param(i, symbol, meaning)
    return ctx.apply(WithConstant(operation, param, ctx.shape(tensor), constant_first), tensor)


def is_transpose_of_initializer(ctx: NodeContext, i: int) -> np.ndarray | None:
    """The initializer a constant input is the 2-D transpose of (``Transpose(perm=[1, 0])``
    on a stored weight, as exporters write ``x Wᵀ``), else ``None``."""
    node = ctx.recipe(i)
    if node is None or node.op_type != "Transpose" or not node.inputs:
        return None
    source = node.inputs[0]
    value = ctx.builder.constants.get(source)
    if value is None or value.ndim != 2 or list(node.attributes.get("perm", [1, 0])) != [1, 0]:
        return None
    return value


@converter("Gemm")
def gemm(ctx: NodeContext) -> Any:
    """``Y = α·A'·B' + β·C``: a weight B as ``x Wᵀ`` (``transB``, PyTorch's layout, as stored)
    or ``x W``, then ``+ b``."""
    trans_a, trans_b = int(ctx.attr("transA", 0)), int(ctx.attr("transB", 0))
    alpha, beta = f32(ctx.attr("alpha", 1.0)), f32(ctx.attr("beta", 1.0))
    x = ctx.tensor(0)
    if trans_a:
        ctx.axis(1, 2, "transA's axis")  # the batch axis cannot move
        shape = ctx.shape(x)
        from ..ops import Rearrange

        x = ctx.apply(Rearrange("permute", shape, shape[::-1], (1, 0)), x)
    if not ctx.is_const(1):
        raise ctx.reject("B is computed from the input: a product of two computed tensors is "
                         "not supported (B must be a stored weight)")
    w = ctx.const(1)
    if w.ndim != 2:
        raise ctx.reject(f"B has shape {w.shape}; expected a matrix")
    stored = "(out, in)" if trans_b else "(in, out)"
    weight = ctx.param(1, "W", f"weight, shape {stored} = {tuple(w.shape)}, as stored"
                       + (": the layer computes x·Wᵀ, so output unit j uses row j" if trans_b
                          else ": output unit j uses column j"))
    h = ctx.apply(MatMul(weight, transposed=bool(trans_b)), x)
    if alpha != 1.0:
        h = ctx.apply(Rescale(alpha), h)
    if ctx.given(2) and beta != 0.0:
        if beta != 1.0:
            raise ctx.reject(f"beta = {beta} (a scaled C) is not supported; only beta 0 or 1")
        h = bias_or_constant(ctx, h, 2, "b", f"bias, shape {tuple(ctx.const(2).shape)}: one "
                             "offset per output unit")
    return h


@converter("MatMul")
def matmul(ctx: NodeContext) -> Any:
    """``x W`` with W stored; ``x Wᵀ`` when the exporter transposed a stored weight."""
    if ctx.is_const(0) and ctx.is_const(1):
        return np.matmul(ctx.const(0), ctx.const(1))
    if ctx.is_const(0) or not ctx.is_const(1) or np.ndim(ctx.const(1)) != 2:
        from .tensors import product

        return product(ctx)  # two computed factors, a constant on the left, a stack
    x = ctx.tensor(0)
    stored = is_transpose_of_initializer(ctx, 1)
    if stored is not None:
        weight = ctx.param(None, "W", f"weight, shape (out, in) = {tuple(stored.shape)}, as "
                           "stored: the layer computes x·Wᵀ, so output unit j uses row j",
                           value=stored, name=ctx.recipe(1).inputs[0])  # type: ignore[union-attr]
        return ctx.apply(MatMul(weight, transposed=True), x)
    w = ctx.const(1)
    weight = ctx.param(1, "W", f"weight, shape (in, out) = {tuple(w.shape)}: output unit j "
                       "uses column j")
    return ctx.apply(MatMul(weight), x)


# --- activations ----------------------------------------------------------------------------

def _elementwise(op: Any):
    def convert(ctx: NodeContext) -> Any:
        if ctx.is_const(0):
            raise ctx.reject("an activation of a constant is not supported")
        return ctx.apply(op, ctx.tensor(0))

    return convert


converter("Relu")(_elementwise(ACTIVATIONS["relu"]))
converter("Sigmoid")(_elementwise(ACTIVATIONS["sigmoid"]))
converter("Tanh")(_elementwise(ACTIVATIONS["tanh"]))
converter("Softplus")(_elementwise(ACTIVATIONS["softplus"]))
converter("Softsign")(_elementwise(ACTIVATIONS["softsign"]))


@converter("LeakyRelu")
def leaky_relu(ctx: NodeContext) -> Any:
    return ctx.apply(Elementwise(leaky_relu_fn(f32(ctx.attr("alpha", 0.01)))), ctx.tensor(0))


@converter("Elu")
def elu(ctx: NodeContext) -> Any:
    return ctx.apply(Elementwise(elu_fn(f32(ctx.attr("alpha", 1.0)))), ctx.tensor(0))


_SELU = (np.float32(1.67326319217681884765625), np.float32(1.05070102214813232421875))


@converter("Selu")
def selu(ctx: NodeContext) -> Any:
    alpha = np.float32(ctx.attr("alpha", _SELU[0]))
    gamma = np.float32(ctx.attr("gamma", _SELU[1]))
    if (alpha, gamma) != _SELU:
        raise ctx.reject(f"alpha = {alpha}, gamma = {gamma}: only SELU's own constants are "
                         "supported")
    return ctx.apply(ACTIVATIONS["selu"], ctx.tensor(0))


@converter("Gelu")
def gelu(ctx: NodeContext) -> Any:
    approximate = ctx.attr("approximate", "none")
    if approximate != "none":
        raise ctx.reject(f"approximate = {approximate!r} is not supported (only the exact "
                         "erf form)")
    return ctx.apply(ACTIVATIONS["gelu"], ctx.tensor(0))


@converter("HardSigmoid")
def hard_sigmoid(ctx: NodeContext) -> Any:
    """``max(0, min(1, α x + β))``: the affine map, then a ReLU clipped at 1."""
    alpha, beta = f32(ctx.attr("alpha", 0.2)), f32(ctx.attr("beta", 0.5))
    h = ctx.apply(Rescale(alpha, beta), ctx.tensor(0))
    return ctx.apply(Elementwise(relu_fn(max_value=1.0)), h)


@converter("Clip")
def clip(ctx: NodeContext) -> Any:
    if ctx.opset < 11:
        low, high = ctx.attr("min", -np.inf), ctx.attr("max", np.inf)
    else:
        low = float(ctx.const(1, "min")) if ctx.given(1) else -np.inf
        high = float(ctx.const(2, "max")) if ctx.given(2) else np.inf
    low, high = (f32(v) if np.isfinite(v) else float(v) for v in (low, high))
    x = ctx.tensor(0)
    if low == 0.0:
        return ctx.apply(Elementwise(relu_fn(max_value=None if high == np.inf else high)), x)
    if (low, high) == (-1.0, 1.0):
        return ctx.apply(Elementwise(Fn(fx.HardTanh, name="hard_tanh")), x)
    bounds = tuple(number(v) if np.isfinite(v) else (sp.oo if v > 0 else -sp.oo)
                   for v in (low, high))
    return ctx.apply(Elementwise(Fn(fx.Clamp, bounds, name="clip")), x)


@converter("PRelu")
def prelu(ctx: NodeContext) -> Any:
    x = ctx.tensor(0)
    shape = ctx.shape(x)
    slope = ctx.const(1, "slope")
    rank = len(ctx.full_shape(x))
    aligned = (1,) * (rank - slope.ndim) + tuple(slope.shape)
    if ctx.builder.batch:
        if aligned[0] != 1:
            from . import BatchTouched

            raise BatchTouched(f"node {ctx.node.label!r}: its slope varies along the batch")
        aligned = aligned[1:]
    value = slope.reshape(aligned)
    if not (value.size == 1 or tuple(value.shape) == tuple(shape) or (
            all(d == 1 for d in value.shape[:-1]) and value.shape[-1] == shape[-1])):
        value = np.broadcast_to(value, shape).copy()
        ctx.note(f"its slope of shape {slope.shape} is shown repeated to the input's shape "
                 f"{shape}")
    if value.size == 1:
        value = value.reshape(1)
    param = ctx.param(None, "alpha", f"slope, shape {tuple(value.shape)}: the factor of "
                      "negative inputs", value=value, name=ctx.source_name(ctx.node.inputs[1]))
    return ctx.apply(PReLU(param), x)


def _softmax(ctx: NodeContext, log: bool) -> Any:
    x = ctx.tensor(0)
    full = ctx.full_shape(x)
    rank = len(full)
    default = 1 if ctx.opset < 13 else -1
    axis = int(ctx.attr("axis", default)) % rank if rank else 0
    shape = ctx.shape(x)
    if ctx.opset < 13 and axis < rank - 1:
        # Before opset 13: over all the axes from `axis` on, as one.
        a = ctx.axis(axis, rank)
        flat = (*shape[:a], int(np.prod(shape[a:])))
        h = ctx.apply(Reshape(shape, flat), x)
        h = ctx.apply(Softmax(log=log, axis=-1, sample_shape=flat), h)
        return ctx.apply(Reshape(flat, shape), h)
    a = ctx.axis(axis, rank)
    return ctx.apply(Softmax(log=log, axis=a, sample_shape=shape), x)


@converter("Softmax")
def softmax(ctx: NodeContext) -> Any:
    return _softmax(ctx, log=False)


@converter("LogSoftmax")
def log_softmax(ctx: NodeContext) -> Any:
    return _softmax(ctx, log=True)


@converter("Identity")
def identity(ctx: NodeContext) -> Any:
    if ctx.is_const(0):
        return ctx.const(0)
    return ctx.apply(Identity(), ctx.tensor(0))


@converter("Dropout")
def dropout(ctx: NodeContext) -> Any:
    """The identity at inference (its mask output refused if used)."""
    ctx.ignore("seed")
    rate = ctx.attr("ratio", 0.5) if ctx.opset < 12 else (
        float(ctx.const(1, "ratio")) if ctx.given(1) else 0.5)
    if ctx.opset >= 12 and ctx.given(2) and bool(np.asarray(ctx.const(2, "training_mode"))):
        raise ctx.reject("training_mode is true: dropout at random, which no formula is")
    if ctx.opset < 7 and ctx.attr("is_test", 1) == 0:  # pragma: no cover - opset >= 9 read
        raise ctx.reject("is_test = 0")
    if ctx.is_const(0):
        return ctx.const(0)
    return ctx.apply(Identity("Dropout is the identity at inference",
                              dropout_rate=float(rate)), ctx.tensor(0))
