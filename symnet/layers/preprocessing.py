"""``Rescaling`` and ``Normalization`` (adapted or given its statistics)."""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from ..activations import exact_number, std_floor_fn
from ..symbolic import Map, matrix_shape
from . import Conversion, LayerContext, converter
from .core import last_axis


@converter("Rescaling")
def rescaling(ctx: LayerContext) -> Conversion:
    scale, offset = ctx.config["scale"], ctx.config.get("offset", 0.0)
    if not all(isinstance(v, (int, float)) for v in (scale, offset)):
        raise ctx.reject(f"scale={scale!r}, offset={offset!r}: only scalar scale and offset are "
                         "supported")
    rows, cols = matrix_shape(ctx.input_shape)
    rhs: Any = exact_number(scale) * ctx.x
    if offset:
        rhs = rhs + exact_number(offset) * sp.OneMatrix(rows, cols)

    def forward(backend: Any, xs: list[Any], w: Any) -> Any:
        return xs[0] * backend.const(scale) + backend.const(offset)

    return Conversion(rhs=rhs, forward=forward, size=lambda sizes: sizes[0] + 4,
                      constants={"scale": scale, "offset": offset}, piecewise_linear=True)


@converter("Normalization")
def normalization(ctx: LayerContext) -> Conversion:
    import keras

    last_axis(ctx, ctx.config.get("axis", -1))
    invert = bool(ctx.config.get("invert", False))
    eps = float(keras.config.epsilon())
    n = matrix_shape(ctx.input_shape)[1]
    if "mean" in ctx._weights:
        mean: Any = ctx.param("mean", "mu", f"mean, shape ({n},): the feature means (adapted)")
        var: Any = ctx.param("variance", "sigma^2",
                             f"variance, shape ({n},): the feature variances (adapted)")
        ctx.param("count", None, "count: how many samples adapt() saw; not used at inference")
        mean_value = var_value = None
    else:
        mean_value = np.asarray(ctx.layer.mean, dtype=np.float32).reshape(-1)
        var_value = np.asarray(ctx.layer.variance, dtype=np.float32).reshape(-1)
        if mean_value.size != n or var_value.size != n:
            raise ctx.reject(f"mean/variance of sizes {mean_value.size}/{var_value.size} for "
                             f"{n} features are not supported")
        mean = sp.ImmutableMatrix(1, n, [sp.Float(float(v), 9) for v in mean_value])
        var = sp.ImmutableMatrix(1, n, [sp.Float(float(v), 9) for v in var_value])
    floor = std_floor_fn(eps)
    row = ctx.broadcast_row
    std = Map(floor, row(var))
    rhs = (row(mean) + sp.HadamardProduct(ctx.x, std)) if invert else sp.HadamardProduct(
        ctx.x - row(mean), sp.HadamardPower(std, -1))

    def forward(backend: Any, xs: list[Any], w: Any) -> Any:
        mu = w["mean"] if mean_value is None else backend.weight(mean_value)
        sd = backend.map(floor, w["variance"] if var_value is None else backend.weight(var_value))
        return mu + xs[0] * sd if invert else (xs[0] - mu) / sd

    return Conversion(rhs=rhs, forward=forward, size=lambda sizes: sizes[0] + 8,
                      note=f"divides by max(sqrt(variance), {eps:g}), Keras' epsilon()",
                      constants={"epsilon": eps, "invert": invert}, piecewise_linear=True)
