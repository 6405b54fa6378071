"""``InputLayer``, ``Dense``, ``Activation`` and the activation layers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy as sp

from ..ops import (
    ACTIVATIONS,
    BiasAdd,
    Elementwise,
    Identity,
    MatMul,
    Op,
    PReLU,
    Softmax,
    elu_fn,
    leaky_relu_fn,
    matrix_shape,
    relu_fn,
)
from . import LayerContext, converter
from .spec import (
    CONSTRAINT,
    INITIALIZER,
    REGULARIZER,
    ActivationName,
    Axes,
    Choice,
    Free,
    Inert,
    Number,
    Shape,
    WeightSpec,
    spec,
)

FLAG = Choice((True, False))


def _dense_weights(config: Mapping[str, Any], shapes: list[Shape]) -> list[WeightSpec]:
    units = int(config["units"])
    kernel = [WeightSpec("kernel", (shapes[0][-1], units))]
    return kernel + [WeightSpec("bias", (units,))] if config["use_bias"] else kernel


def _dense_output(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    (shape,) = shapes
    return [(*shape[:-1], int(config["units"]))]


def _one_axis(config: Mapping[str, Any], shape: Shape) -> int:
    """The length of the input along the config's ``axis`` (one axis, not the batch's)."""
    axis = config["axis"]
    if (not isinstance(axis, int) or isinstance(axis, bool) or axis == 0
            or not -len(shape) <= axis <= len(shape)):
        raise ValueError(f"axis {axis!r} for inputs of shape {shape}")
    return shape[axis - 1] if axis > 0 else shape[axis]


def resolve_activation(ctx: LayerContext, function: Any) -> tuple[str, Op | None]:
    """The op of a Keras activation as the layer's config names it (a name, or a built-in
    function as Keras serializes it). A live layer's record is made only when its activation
    *is* Keras' function of that name (checked by identity when the record is made)."""
    name = function.get("config") if isinstance(function, dict) and function.get(
        "module") in (None, "keras.activations") else function
    if function is None:
        name = "linear"
    if isinstance(name, str) and name in ACTIVATIONS:
        return ALIASES.get(name, name), ACTIVATIONS[name]
    shown = name if isinstance(name, str) else str(function)[:60]
    raise ctx.reject(
        f"activation {shown!r} is not supported (custom or lambda activations cannot be checked); "
        f"supported activations: {', '.join(sorted(ACTIVATIONS))}")


#: Keras gives these activation names the same function as the first; symnet's table, read by
#: the function, names it so (tests check it against Keras).
ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}


def activate(ctx: LayerContext, value: int, function: Any) -> int:
    """Apply the layer's Keras activation (nothing for ``linear``) and note its name."""
    name, op = resolve_activation(ctx, function)
    ctx.constants["activation"] = name
    return value if op is None else ctx.apply(op, value)


def sample_axes(ctx: LayerContext, axis: Any, what: str = "axis") -> tuple[int, ...]:
    """Keras' axes (counted with the batch axis, negative from the end) as per-sample axes;
    the batch axis itself is refused."""
    rank = len(ctx.input_shape)
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    out = []
    for a in axes:
        a = int(a)
        index = a - 1 if a > 0 else rank + a
        if a == 0 or not 0 <= index < rank:
            raise ctx.reject(f"{what}={axis!r} is not supported for inputs of rank {rank + 1}; "
                             "the axes must be non-batch axes")
        out.append(index)
    return tuple(sorted(set(out)))


@converter("InputLayer", config=spec(
    batch_shape=Free("the input's shape, fixed but for the batch"),
    batch_input_shape=Free("the input's shape as legacy files write it"),
    sparse=Choice((False,)), ragged=Choice((False,)), optional=Choice((False,))))
def input_layer(ctx: LayerContext) -> int:
    rows, cols = matrix_shape(ctx.output_shape)
    ctx.rhs = (sp.ImmutableMatrix(rows, cols, list(ctx.scalars)) if ctx.scalars
               else ctx.output_symbol)
    ctx.note = "the input: one symbol per feature, in row-major order"
    return ctx.x


@converter("Dense", config=spec(
    units=Number(1, integer=True), activation=ActivationName(), use_bias=FLAG,
    kernel_initializer=INITIALIZER, bias_initializer=INITIALIZER,
    kernel_regularizer=REGULARIZER, bias_regularizer=REGULARIZER,
    activity_regularizer=REGULARIZER, kernel_constraint=CONSTRAINT, bias_constraint=CONSTRAINT,
    quantization_config=Choice((None,)), lora_rank=Choice((None,)),
    lora_alpha=Inert("used only with a LoRA rank, which is refused")).reading(
        _dense_weights, _dense_output, ("units", "activation", "use_bias")))
def dense(ctx: LayerContext) -> int:
    n_in, n_out = matrix_shape(ctx.input_shape)[1], int(ctx.config["units"])
    kernel = ctx.param("kernel", "W", f"kernel, shape (in, out) = ({n_in}, {n_out}): "
                       "column j holds the weights into output unit j")
    h = ctx.apply(MatMul(kernel))
    if bool(ctx.config.get("use_bias", True)):
        bias = ctx.param("bias", "b", f"bias, shape ({n_out},): one offset per output unit")
        h = ctx.apply(BiasAdd(bias), h)
    return activate(ctx, h, ctx.config.get("activation"))


@converter("Activation", config=spec(activation=ActivationName()).reading(
    required=("activation",)))
def activation_layer(ctx: LayerContext) -> int:
    out = activate(ctx, ctx.x, ctx.config.get("activation"))
    return out if out != ctx.x else ctx.apply(Identity("the linear activation: the identity"))


@converter("ReLU", config=spec(max_value=Number(0, none=True), negative_slope=Number(0),
                                    threshold=Number()).reading(
    required=("max_value", "negative_slope", "threshold")))
def relu_layer(ctx: LayerContext) -> int:
    c = ctx.config
    options = {"max_value": c.get("max_value"), "negative_slope": c.get("negative_slope", 0.0),
               "threshold": c.get("threshold", 0.0)}
    ctx.constants.update(options)
    return ctx.apply(Elementwise(relu_fn(**options)))


@converter("LeakyReLU", config=spec(negative_slope=Number(0), alpha=Number(0)).reading(
    required=("negative_slope",)))
def leaky_relu_layer(ctx: LayerContext) -> int:
    # Keras' __init__ lets a (Keras 2) alpha override negative_slope
    slope = ctx.config.get("alpha", ctx.config.get("negative_slope"))
    if slope is None:
        raise ctx.reject("no negative_slope in the layer's config")
    ctx.constants["negative_slope"] = slope
    return ctx.apply(Elementwise(leaky_relu_fn(slope)))


@converter("ELU", config=spec(alpha=Number()).reading(required=("alpha",)))
def elu_layer(ctx: LayerContext) -> int:
    alpha = ctx.config.get("alpha", 1.0)
    ctx.constants["alpha"] = alpha
    return ctx.apply(Elementwise(elu_fn(alpha)))


@converter("Softmax", config=spec(axis=Axes()).reading(required=("axis",)))
def softmax_layer(ctx: LayerContext) -> int:
    axes = sample_axes(ctx, ctx.config.get("axis", -1))
    if len(axes) != 1:
        raise ctx.reject(f"axis={ctx.config.get('axis')!r}: a softmax over several axes is not "
                         "supported")
    ctx.constants["axis"] = ctx.config.get("axis", -1)
    return ctx.apply(Softmax(axis=axes[0], sample_shape=tuple(ctx.input_shape)))


def _prelu_weights(config: Mapping[str, Any], shapes: list[Shape]) -> list[WeightSpec]:
    shape = list(shapes[0])
    shared = config["shared_axes"]
    for i in [] if shared is None else shared if isinstance(shared, list) else [shared]:
        if not isinstance(i, int) or isinstance(i, bool) or not 1 <= i <= len(shape):
            raise ValueError(f"shared_axes {shared!r} for inputs of shape {tuple(shape)}")
        shape[i - 1] = 1
    return [WeightSpec("alpha", tuple(shape))]


@converter("PReLU", config=spec(
    shared_axes=Axes(none=True), alpha_initializer=INITIALIZER, alpha_regularizer=REGULARIZER,
    alpha_constraint=CONSTRAINT).reading(_prelu_weights, required=("shared_axes",)))
def prelu_layer(ctx: LayerContext) -> int:
    alpha = ctx.param("alpha", "alpha", "alpha: the learned slope for negative inputs, one per "
                      "unit (1 on shared axes)")
    rows, cols = matrix_shape(ctx.input_shape)
    a_rows, a_cols = matrix_shape(alpha.shape)
    if (a_rows, a_cols) not in ((rows, cols), (1, cols), (rows, 1)):
        raise ctx.reject(f"alpha of shape {alpha.shape} on input {ctx.input_shape} (this sharing "
                         "of axes is not supported)")
    ctx.constants["shared_axes"] = ctx.config.get("shared_axes")
    return ctx.apply(PReLU(alpha))
