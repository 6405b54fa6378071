"""``InputLayer``, ``Dense``, ``Activation`` and the activation layers."""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..activations import (
    ACTIVATIONS,
    ScalarFn,
    VectorFn,
    elu_fn,
    leaky_relu_fn,
    relu_fn,
)
from ..symbolic import Map, VectorMap, matrix_shape
from . import Conversion, LayerContext, converter

_t = sp.Symbol("t")


def fn_size(fn: ScalarFn | VectorFn | None, width: int) -> Any:
    """Estimated SymPy nodes per output entry of ``fn`` applied to entries of ``s`` nodes each."""
    if fn is None:
        return lambda s: s
    if isinstance(fn, VectorFn):
        return lambda s: (width + 1) * (s + 3)
    definition = fn.sympy(_t)
    nodes = sum(1 for _ in sp.preorder_traversal(definition))
    uses = sum(1 for node in sp.preorder_traversal(definition) if node == _t)
    return lambda s: uses * s + (nodes - uses)


def resolve_activation(ctx: LayerContext, function: Any) -> ScalarFn | VectorFn | None:
    """The symnet function that *is* this Keras activation (by identity, never by name alone)."""
    import keras

    for name, fn in ACTIVATIONS.items():
        try:
            if keras.activations.get(name) is function:
                return fn
        except ValueError:
            continue
    shown = getattr(function, "__name__", repr(function))
    raise ctx.reject(
        f"activation {shown!r} is not supported (custom or lambda activations cannot be checked); "
        f"supported activations: {', '.join(sorted(ACTIVATIONS))}")


def apply_fn(fn: ScalarFn | VectorFn | None, expr: Any) -> Any:
    """The formula of ``fn`` applied to a matrix expression."""
    if fn is None:
        return expr
    if isinstance(fn, VectorFn):
        return VectorMap(fn, expr)
    return Map(fn, expr)


def run_fn(backend: Any, fn: ScalarFn | VectorFn | None, y: Any) -> Any:
    """The forward pass of ``fn`` (vector functions act on the last axis, Keras' default)."""
    if fn is None:
        return y
    if isinstance(fn, VectorFn):
        return backend.vector(fn, y, -1)
    return backend.map(fn, y)


def activation_conversion(ctx: LayerContext, fn: ScalarFn | VectorFn | None, note: str = "",
                          constants: dict[str, Any] | None = None) -> Conversion:
    width = matrix_shape(ctx.input_shape)[1]
    return Conversion(
        rhs=apply_fn(fn, ctx.x),
        forward=lambda backend, xs, w: run_fn(backend, fn, xs[0]),
        size=lambda sizes: fn_size(fn, width)(sizes[0]),
        note=note,
        constants=constants or {},
        piecewise_linear=fn is None or (isinstance(fn, ScalarFn) and fn.piecewise_linear),
    )


@converter("InputLayer")
def input_layer(ctx: LayerContext) -> Conversion:
    scalars = ctx.scalars
    rows, cols = matrix_shape(ctx.output_shape)
    rhs = sp.ImmutableMatrix(rows, cols, list(scalars)) if scalars else ctx.output_symbol
    return Conversion(rhs=rhs, forward=lambda backend, xs, w: xs[0], size=lambda sizes: 1,
                      note="the input: one symbol per feature, in row-major order",
                      piecewise_linear=True)


@converter("Dense")
def dense(ctx: LayerContext) -> Conversion:
    n_in, n_out = matrix_shape(ctx.input_shape)[1], int(ctx.config["units"])
    kernel = ctx.param("kernel", "W", f"kernel, shape (in, out) = ({n_in}, {n_out}): "
                       "column j holds the weights into output unit j")
    rhs: Any = ctx.x * kernel
    use_bias = bool(ctx.config.get("use_bias", True))
    if use_bias:
        bias = ctx.param("bias", "b", f"bias, shape ({n_out},): one offset per output unit")
        rhs = rhs + ctx.broadcast_row(bias)
    fn = resolve_activation(ctx, ctx.layer.activation)
    act_size = fn_size(fn, n_out)

    def forward(backend: Any, xs: list[Any], w: Any) -> Any:
        y = backend.matmul(xs[0], w["kernel"])
        if use_bias:
            y = y + w["bias"]
        return run_fn(backend, fn, y)

    return Conversion(
        rhs=apply_fn(fn, rhs),
        forward=forward,
        size=lambda sizes: act_size(n_in * (sizes[0] + 2) + 2),
        constants={"activation": fn.key if fn else "linear"},
        piecewise_linear=fn is None or (isinstance(fn, ScalarFn) and fn.piecewise_linear),
    )


@converter("Activation")
def activation_layer(ctx: LayerContext) -> Conversion:
    fn = resolve_activation(ctx, ctx.layer.activation)
    return activation_conversion(ctx, fn, constants={"activation": fn.key if fn else "linear"})


@converter("ReLU")
def relu_layer(ctx: LayerContext) -> Conversion:
    c = ctx.config
    fn = relu_fn(c.get("negative_slope", 0.0), c.get("max_value"), c.get("threshold", 0.0))
    return activation_conversion(ctx, fn, constants={
        "max_value": c.get("max_value"), "negative_slope": c.get("negative_slope", 0.0),
        "threshold": c.get("threshold", 0.0)})


@converter("LeakyReLU")
def leaky_relu_layer(ctx: LayerContext) -> Conversion:
    slope = ctx.config.get("negative_slope", ctx.config.get("alpha"))
    if slope is None:
        raise ctx.reject("no negative_slope in the layer's config")
    return activation_conversion(ctx, leaky_relu_fn(slope), constants={"negative_slope": slope})


@converter("ELU")
def elu_layer(ctx: LayerContext) -> Conversion:
    alpha = ctx.config.get("alpha", 1.0)
    return activation_conversion(ctx, elu_fn(alpha), constants={"alpha": alpha})


def last_axis(ctx: LayerContext, axis: Any, what: str = "axis") -> None:
    """Refuse an axis other than the last one (counting the batch axis, as Keras does)."""
    rank = len(ctx.input_shape) + 1
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if len(axes) != 1 or axes[0] not in (-1, rank - 1):
        raise ctx.reject(f"{what}={axis!r} is not supported; only the last axis (-1) is")


@converter("Softmax")
def softmax_layer(ctx: LayerContext) -> Conversion:
    last_axis(ctx, ctx.config.get("axis", -1))
    return activation_conversion(ctx, ACTIVATIONS["softmax"], constants={"axis": -1})


@converter("PReLU")
def prelu_layer(ctx: LayerContext) -> Conversion:
    alpha = ctx.param("alpha", "alpha", "alpha: the learned slope for negative inputs, "
                      "one per unit (1 on shared axes)")
    rows, cols = matrix_shape(ctx.input_shape)
    a_rows, a_cols = (int(d) for d in alpha.shape)
    if (a_rows, a_cols) == (rows, cols):
        slope: Any = alpha
    elif (a_rows, a_cols) == (1, cols):
        slope = ctx.broadcast_row(alpha)
    elif (a_rows, a_cols) == (rows, 1):
        slope = alpha * sp.OneMatrix(1, cols)
    else:
        raise ctx.reject(f"alpha of shape {ctx.params[-1].shape} on input {ctx.input_shape} "
                         "(this sharing of axes is not supported)")
    relu = relu_fn()

    def forward(backend: Any, xs: list[Any], w: Any) -> Any:
        x = xs[0]
        return backend.map(relu, x) - w["alpha"] * backend.map(relu, -x)

    return Conversion(
        rhs=Map(relu, ctx.x) - sp.HadamardProduct(slope, Map(relu, -ctx.x)),
        forward=forward,
        size=lambda sizes: 2 * sizes[0] + 8,
        constants={"shared_axes": ctx.config.get("shared_axes")},
        piecewise_linear=True,
    )
