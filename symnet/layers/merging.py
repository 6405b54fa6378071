"""Merge layers: ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``, ``Minimum``,
``Concatenate``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..ops import Concat, Merge
from . import LayerContext, converter
from .core import sample_axes
from .spec import Axes, Shape, spec

_KINDS = {"Add": "add", "Subtract": "subtract", "Multiply": "multiply", "Average": "average",
          "Maximum": "maximum", "Minimum": "minimum"}
_NOTES = {"multiply": "entrywise product", "maximum": "entrywise maximum",
          "minimum": "entrywise minimum"}


def _broadcast(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    if len(shapes) < 2:
        raise ValueError(f"{len(shapes)} input(s), a merge takes two or more")
    return [tuple(int(d) for d in np.broadcast_shapes(*shapes))]


def _concatenated(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    axis = config["axis"]
    rank = len(shapes[0])
    if len(shapes) < 2 or not isinstance(axis, int) or axis == 0 or not -rank <= axis <= rank \
            or any(len(s) != rank for s in shapes):
        raise ValueError(f"axis {axis!r} for inputs of shapes {shapes}")
    index = axis - 1 if axis > 0 else rank + axis
    if len({s[:index] + s[index + 1:] for s in shapes}) != 1:
        raise ValueError(f"inputs of shapes {shapes} differ off axis {axis}")
    out = list(shapes[0])
    out[index] = sum(s[index] for s in shapes)
    return [tuple(out)]


@converter(*_KINDS, config=spec().reading(output=_broadcast))
def merge(ctx: LayerContext) -> int:
    shapes = tuple(tuple(s) for s in ctx.input_shapes)
    try:
        out = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ctx.reject(f"inputs of shapes {list(shapes)} do not broadcast together") from None
    kind = _KINDS[ctx.kind]
    if kind == "subtract" and len(ctx.input_shapes) != 2:
        raise ctx.reject(f"expected 2 inputs, received {len(ctx.input_shapes)}")
    ctx.note = _NOTES.get(kind, "")
    if len(set(shapes)) > 1:
        ctx.note = (ctx.note + "; " if ctx.note else "") + (
            f"inputs of shapes {list(shapes)} broadcast to {tuple(out)}")
    return ctx.apply(Merge(kind, shapes if len(set(shapes)) > 1 else ()), *ctx.inputs)


@converter("Concatenate", config=spec(axis=Axes()).reading(output=_concatenated,
                                                           required=("axis",)))
def concatenate(ctx: LayerContext) -> int:
    (axis,) = sample_axes(ctx, ctx.config.get("axis", -1))
    others = {tuple(s[:axis]) + tuple(s[axis + 1:]) for s in ctx.input_shapes}
    if len(others) != 1 or len({len(s) for s in ctx.input_shapes}) != 1:
        raise ctx.reject(f"inputs of shapes {ctx.input_shapes} differ off axis {axis + 1}")
    last = axis == len(ctx.input_shape) - 1
    ctx.note = "the inputs side by side along " + ("the last axis" if last else f"axis {axis + 1}")
    return ctx.apply(Concat(axis, tuple(tuple(s) for s in ctx.input_shapes)), *ctx.inputs)
