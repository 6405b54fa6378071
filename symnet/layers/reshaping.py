"""``Flatten`` and ``Reshape``: the same numbers in row-major (C) order."""

from __future__ import annotations

from typing import Any

from ..symbolic import Reshape, matrix_shape
from . import Conversion, LayerContext, converter


def _reshape(ctx: LayerContext, note: str) -> Conversion:
    out_shape = tuple(int(d) for d in ctx.output_shape)
    rows, cols = matrix_shape(out_shape)
    rhs = ctx.x if matrix_shape(ctx.input_shape) == (rows, cols) else Reshape(ctx.x, rows, cols)

    def forward(backend: Any, xs: list[Any], w: Any) -> Any:
        x = xs[0]
        return x.reshape((x.shape[0],) + out_shape)

    return Conversion(rhs=rhs, forward=forward, size=lambda sizes: sizes[0], note=note,
                      constants={"target_shape": out_shape}, piecewise_linear=True)


@converter("Flatten")
def flatten(ctx: LayerContext) -> Conversion:
    if ctx.config.get("data_format") == "channels_first" and len(ctx.input_shape) > 1:
        raise ctx.reject("data_format='channels_first' is not supported")
    return _reshape(ctx, "the entries in row-major (C) order, as one row")


@converter("Reshape")
def reshape(ctx: LayerContext) -> Conversion:
    return _reshape(ctx, f"the entries in row-major (C) order, reshaped to {ctx.output_shape}")
