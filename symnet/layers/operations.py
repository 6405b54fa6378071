"""Keras operations in functional graphs (``x + attention``, ``keras.ops.mean(x, axis=1)``,
``keras.ops.relu(x)``): each converted exactly, or refused naming the operation and why.

An operation has no weights; its settings (``axis``, ``keepdims``...) are the operation's
attributes, and the call's constants (``2.0`` in ``x * 2.0``) its non-tensor arguments. Keras
computes them in float32 with numpy's broadcasting, batch axis included: a tensor broadcast
against a tensor of another rank, a constant that spans samples, an axis that is the batch
axis are all refused.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..ops import (
    ACTIVATIONS,
    Concat,
    ConstantArithmetic,
    Elementwise,
    MatMul,
    Merge,
    Rearrange,
    Reshape,
    Softmax,
    WithConstant,
    celu_fn,
    elu_fn,
    leaky_relu_fn,
)
from ..ops.tensors import Product, Reduce
from . import LayerContext, operation
from .spec import Axes, Choice, Free, Number, spec

#: An operation's settings are its attributes; it has no name, trainable flag or dtype of its
#: own in them.
NONE = spec()

_ARITHMETIC = {"ops.add": "add", "ops.subtract": "subtract", "ops.multiply": "multiply",
               "ops.divide": "divide", "ops.true_divide": "divide"}


def _constant(ctx: LayerContext, value: Any) -> float | Any:
    """A constant of the call as Keras uses it: a Python number (cast to float32, as written),
    or a float32 array broadcast over each sample (a config parameter ``c_k``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.ndarray, np.number)):
        raise ctx.reject(f"the constant {value!r} ({type(value).__name__}) is not a number or a "
                         "float32 array")
    if isinstance(value, (int, float)):
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an integer past float64's range
            finite = False
        if not finite:
            raise ctx.reject(f"the constant {str(value)[:40]} is not a finite float")
        return float(value)
    array = np.asarray(value)
    if array.dtype != np.float32:
        raise ctx.reject(f"a constant of dtype {array.dtype}: Keras then computes in that dtype "
                         "(symnet reproduces float32); give a float32 array")
    rank = len(ctx.input_shape)
    while array.ndim > rank and array.shape[0] == 1:
        array = array[0]
    if array.ndim > rank:
        raise ctx.reject(f"a constant of shape {np.shape(value)} spans the batch axis of inputs "
                         f"of shape (None, {', '.join(map(str, ctx.input_shape))})")
    try:
        out = np.broadcast_shapes((1, *ctx.input_shape), array.shape)
    except ValueError:
        raise ctx.reject(f"a constant of shape {array.shape} does not broadcast over inputs of "
                         f"shape {ctx.input_shape}") from None
    if tuple(out[1:]) != tuple(ctx.input_shape):
        raise ctx.reject(f"a constant of shape {array.shape} widens inputs of shape "
                         f"{ctx.input_shape} to {tuple(out[1:])}")
    return ctx.config_param("constant", "c", array, f"constant, shape {array.shape}: the "
                            "array the operation is called with")


def _bias_add_guess(ctx: LayerContext, constant: np.ndarray) -> None:
    """Keras' TensorFlow backend adds a constant that squeezes to a vector with
    ``tf.nn.bias_add``, along the last axis when its length is the last axis', else along the
    first: refuse where that is not numpy's broadcasting (the definition)."""
    shape = tuple(ctx.input_shape)
    kept = [k for k, d in enumerate((1,) * (len(shape) - constant.ndim) + constant.shape)
            if d > 1]
    if len(kept) != 1:
        return
    n = shape[kept[0]]
    if n not in (shape[0], shape[-1]):
        return
    guessed = len(shape) - 1 if shape[-1] == n else 0
    if guessed != kept[0]:
        raise ctx.reject(
            f"a constant of shape {constant.shape} added to inputs of shape {shape}: Keras' "
            f"TensorFlow backend adds it along axis {guessed + 1} (tf.nn.bias_add), not along "
            f"axis {kept[0] + 1} as broadcasting does, so model.predict is not x + c")


@operation(*_ARITHMETIC, config=NONE)
def arithmetic(ctx: LayerContext) -> int:
    kind = _ARITHMETIC[ctx.kind]
    arguments = dict(ctx.layer.arguments)
    if len(ctx.input_shapes) == 2 and not arguments:
        shapes = tuple(tuple(s) for s in ctx.input_shapes)
        if len(shapes[0]) != len(shapes[1]):
            raise ctx.reject(f"inputs of shapes {list(shapes)} have different ranks: numpy's "
                             "broadcasting would align one sample's axes with the batch axis")
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            raise ctx.reject(f"inputs of shapes {list(shapes)} do not broadcast") from None
        return ctx.apply(Merge(kind, shapes if len(set(shapes)) > 1 else ()), *ctx.inputs)
    if len(ctx.input_shapes) == 1 and len(arguments) == 1:
        position, value = next(iter(arguments.items()))
        constant = _constant(ctx, value)
        if kind == "add" and not isinstance(constant, float):
            _bias_add_guess(ctx, constant.value)
        if isinstance(constant, float):
            ctx.constants["constant"] = value
            return ctx.apply(ConstantArithmetic(kind, constant, position == 0,
                                                tuple(ctx.input_shape)))
        return ctx.apply(WithConstant(kind, constant, tuple(ctx.input_shape), position == 0))
    raise ctx.reject(f"expected two tensors, or a tensor and a constant; received "
                     f"{len(ctx.input_shapes)} tensor(s) and {len(arguments)} constant(s)")


@operation("ops.negative", config=NONE)
def negative(ctx: LayerContext) -> int:
    return ctx.apply(ConstantArithmetic("multiply", -1.0, False, tuple(ctx.input_shape)))


@operation("ops.matmul", config=NONE)
def matmul(ctx: LayerContext) -> int:
    arguments = dict(ctx.layer.arguments)
    if len(ctx.input_shapes) == 2 and not arguments:
        a, b = (tuple(s) for s in ctx.input_shapes)
        if len(a) < 2 or len(b) < 2 or a[-1] != b[-2]:
            # a per-sample vector would meet the batch axis in Keras' product
            raise ctx.reject(f"a product of tensors of per-sample shapes {a} and {b}: symnet "
                             "multiplies the last two axes' matrices, (…, m, k) by (…, k, n)")
        return ctx.apply(Product((a, b)), *ctx.inputs)
    if len(ctx.input_shapes) == 1 and list(arguments) == [1]:
        kernel = np.asarray(arguments[1])
        if kernel.dtype != np.float32 or kernel.ndim != 2 or (
                kernel.shape[0] != ctx.input_shape[-1]):
            raise ctx.reject(f"x @ a constant of shape {kernel.shape} and dtype {kernel.dtype}: "
                             f"expected a float32 matrix of {ctx.input_shape[-1]} rows")
        ctx.constants["kernel"] = f"constant {kernel.shape}"
        return ctx.apply(MatMul(ctx.config_param(
            "kernel", "K", kernel, f"kernel, shape {kernel.shape}: the constant matrix x is "
            "multiplied by")))
    raise ctx.reject("expected x @ y for two tensors, or x @ a constant float32 matrix")


def _axes(ctx: LayerContext, axis: Any, what: str) -> tuple[int, ...]:
    """Keras' axes (the batch axis is 0) as per-sample axes; the batch axis refused."""
    rank = len(ctx.input_shape) + 1
    if axis is None:
        raise ctx.reject(f"{what}=None reaches over the batch axis (every sample together)")
    out = []
    for a in axis if isinstance(axis, (list, tuple)) else [axis]:
        a = int(a) % rank if -rank <= int(a) < rank else None
        if a is None or a == 0:
            raise ctx.reject(f"{what}={axis!r} for inputs of rank {rank}: the batch axis, or "
                             "outside the tensor")
        out.append(a - 1)
    if len(set(out)) != len(out):
        raise ctx.reject(f"{what}={axis!r} names an axis twice")
    return tuple(sorted(out))


@operation("ops.concatenate", config=spec(axis=Axes()))
def concatenate(ctx: LayerContext) -> int:
    if ctx.layer.arguments:
        raise ctx.reject("a constant among the concatenated tensors")
    (axis,) = _axes(ctx, ctx.config.get("axis", 0), "axis")
    shapes = [tuple(s) for s in ctx.input_shapes]
    if len({len(s) for s in shapes}) != 1 or len(
            {s[:axis] + s[axis + 1:] for s in shapes}) != 1:
        raise ctx.reject(f"inputs of shapes {shapes} differ off axis {axis + 1}")
    ctx.constants["axis"] = ctx.config.get("axis")
    return ctx.apply(Concat(axis, tuple(shapes)), *ctx.inputs)


@operation("ops.reshape", config=spec(newshape=Free("the new shape, batch axis first")))
def reshape(ctx: LayerContext) -> int:
    newshape = ctx.config.get("newshape")
    first = newshape[0] if isinstance(newshape, (list, tuple)) and newshape else None
    out = tuple(ctx.output_shape)
    if first not in (-1, None) or int(np.prod(out)) != int(np.prod(ctx.input_shape)):
        raise ctx.reject(f"newshape={newshape!r} for inputs of shape (None, "
                         f"{', '.join(map(str, ctx.input_shape))}) moves numbers between "
                         "samples; a reshape keeps the batch axis first (-1 or None)")
    ctx.constants["newshape"] = list(newshape or ())
    return ctx.apply(Reshape(tuple(ctx.input_shape), out))


@operation("ops.transpose", config=spec(axes=Free("a permutation, batch axis first")))
def transpose(ctx: LayerContext) -> int:
    axes = ctx.config.get("axes")
    rank = len(ctx.input_shape) + 1
    if axes is None:
        raise ctx.reject("axes=None reverses every axis, the batch axis included")
    axes = [int(a) % rank for a in axes]
    if sorted(axes) != list(range(rank)) or axes[0] != 0:
        raise ctx.reject(f"axes={ctx.config.get('axes')!r}: the batch axis must stay first")
    order = tuple(a - 1 for a in axes[1:])
    ctx.constants["axes"] = list(ctx.config.get("axes") or ())
    return ctx.apply(Rearrange("permute", tuple(ctx.input_shape), tuple(ctx.output_shape),
                               order))


@operation("ops.mean", "ops.sum", config=spec(axis=Axes(none=True),
                                                keepdims=Choice((True, False))))
def reduce(ctx: LayerContext) -> int:
    axes = _axes(ctx, ctx.config.get("axis"), "axis")
    keepdims = bool(ctx.config.get("keepdims", False))
    ctx.constants.update(axis=ctx.config.get("axis"), keepdims=keepdims)
    return ctx.apply(Reduce(ctx.kind[4:], axes, keepdims, tuple(ctx.input_shape)))


#: Activation operations with no setting, and the Keras activation each computes.
_PLAIN = {"ops.relu": "relu", "ops.relu6": "relu6", "ops.sigmoid": "sigmoid",
          "ops.tanh": "tanh", "ops.exp": "exponential", "ops.softplus": "softplus",
          "ops.softsign": "softsign", "ops.silu": "silu", "ops.selu": "selu",
          "ops.hard_sigmoid": "hard_sigmoid", "ops.hard_silu": "hard_silu",
          "ops.log_sigmoid": "log_sigmoid", "ops.sparse_plus": "sparse_plus",
          "ops.sparse_sigmoid": "sparse_sigmoid", "ops.tanh_shrink": "tanh_shrink",
          "ops.hard_tanh": "hard_tanh"}


@operation(*_PLAIN, config=NONE)
def plain_activation(ctx: LayerContext) -> int:
    ctx.constants["activation"] = _PLAIN[ctx.kind]
    op = ACTIVATIONS[_PLAIN[ctx.kind]]
    assert op is not None  # every name here is an activation, not linear
    return ctx.apply(op)


@operation("ops.elu", "ops.celu", "ops.leaky_relu", "ops.gelu", "ops.squareplus",
           "ops.soft_shrink", "ops.hard_shrink", config=spec(
               alpha=Number(), negative_slope=Number(0), approximate=Choice((False,)),
               b=Choice((4,)), threshold=Choice((0.5,))))
def activation_with_setting(ctx: LayerContext) -> int:
    c = ctx.config
    if ctx.kind == "ops.elu":
        op: Any = Elementwise(elu_fn(float(c.get("alpha", 1.0))))
    elif ctx.kind == "ops.celu":
        op = Elementwise(celu_fn(float(c.get("alpha", 1.0))))
    elif ctx.kind == "ops.leaky_relu":
        op = Elementwise(leaky_relu_fn(float(c.get("negative_slope", 0.2))))
    elif ctx.kind == "ops.gelu":
        if c.get("approximate", True):
            raise ctx.reject("approximate=True (the tanh approximation of GELU) is not "
                             "supported; approximate=False (erf) is")
        op = ACTIVATIONS["gelu"]
    elif ctx.kind == "ops.squareplus":
        if float(c.get("b", 4)) != 4.0:
            raise ctx.reject(f"b={c.get('b')!r}: squareplus is supported with b=4")
        op = ACTIVATIONS["squareplus"]
    else:
        if float(c.get("threshold", 0.5)) != 0.5:
            raise ctx.reject(f"threshold={c.get('threshold')!r}: supported with 0.5")
        op = ACTIVATIONS[ctx.kind[4:]]
    ctx.constants.update({k: v for k, v in c.items() if isinstance(v, (int, float, bool))})
    return ctx.apply(op)


@operation("ops.softmax", "ops.log_softmax", config=spec(axis=Axes(none=True)))
def softmax(ctx: LayerContext) -> int:
    axes = _axes(ctx, ctx.config.get("axis", -1), "axis")
    if len(axes) != 1:
        raise ctx.reject(f"axis={ctx.config.get('axis')!r}: a softmax over several axes is not "
                         "supported")
    ctx.constants["axis"] = ctx.config.get("axis", -1)
    return ctx.apply(Softmax(log=ctx.kind == "ops.log_softmax", axis=axes[0],
                             sample_shape=tuple(ctx.input_shape)))
