"""Merge layers: ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``, ``Minimum``,
``Concatenate``."""

from __future__ import annotations

from ..ops import Concat, Merge
from . import LayerContext, converter

_KINDS = {"Add": "add", "Subtract": "subtract", "Multiply": "multiply", "Average": "average",
          "Maximum": "maximum", "Minimum": "minimum"}
_NOTES = {"multiply": "entrywise product", "maximum": "entrywise maximum",
          "minimum": "entrywise minimum"}


@converter(*_KINDS)
def merge(ctx: LayerContext) -> int:
    shapes = {tuple(s) for s in ctx.input_shapes}
    if len(shapes) != 1:
        raise ctx.reject(f"inputs of different shapes {ctx.input_shapes} (broadcasting merges are "
                         "not supported)")
    kind = _KINDS[ctx.kind]
    if kind == "subtract" and len(ctx.input_shapes) != 2:
        raise ctx.reject(f"expected 2 inputs, received {len(ctx.input_shapes)}")
    ctx.note = _NOTES.get(kind, "")
    return ctx.apply(Merge(kind), *ctx.inputs)


@converter("Concatenate")
def concatenate(ctx: LayerContext) -> int:
    axis = int(ctx.config.get("axis", -1))
    rank = len(ctx.input_shape) + 1
    if axis not in (-1, rank - 1):
        raise ctx.reject(f"axis={axis} is not supported; only the last axis (-1) is")
    if len({tuple(s[:-1]) for s in ctx.input_shapes}) != 1:
        raise ctx.reject(f"inputs of shapes {ctx.input_shapes} differ before the last axis")
    ctx.note = "the inputs side by side along the last axis"
    return ctx.apply(Concat(), *ctx.inputs)
