"""``Flatten`` and ``Reshape``: the same numbers in row-major (C) order."""

from __future__ import annotations

from ..ops import Reshape
from . import LayerContext, converter


def _reshape(ctx: LayerContext, note: str) -> int:
    target = tuple(int(d) for d in ctx.output_shape)
    ctx.constants["target_shape"] = target
    ctx.note = note
    return ctx.apply(Reshape(tuple(ctx.input_shape), target))


@converter("Flatten")
def flatten(ctx: LayerContext) -> int:
    if ctx.config.get("data_format") == "channels_first" and len(ctx.input_shape) > 1:
        raise ctx.reject("data_format='channels_first' is not supported")
    return _reshape(ctx, "the entries in row-major (C) order, as one row")


@converter("Reshape")
def reshape(ctx: LayerContext) -> int:
    return _reshape(ctx, f"the entries in row-major (C) order, reshaped to {ctx.output_shape}")
