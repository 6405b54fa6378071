"""Merge layers: ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``, ``Minimum``,
``Concatenate``."""

from __future__ import annotations

from functools import reduce
from typing import Any

import sympy as sp

from ..symbolic import ElementwiseMax, ElementwiseMin
from . import Conversion, LayerContext, converter


def _same_shapes(ctx: LayerContext) -> None:
    shapes = {tuple(s) for s in ctx.input_shapes}
    if len(shapes) != 1:
        raise ctx.reject(f"inputs of different shapes {ctx.input_shapes} (broadcasting merges are "
                         "not supported)")


def _merge(ctx: LayerContext, rhs: Any, combine: Any, note: str = "") -> Conversion:
    _same_shapes(ctx)
    return Conversion(rhs=rhs, forward=lambda backend, xs, w: combine(backend, xs),
                      size=lambda sizes: sum(sizes) + len(sizes), note=note,
                      piecewise_linear=ctx.kind != "Multiply")


@converter("Add")
def add(ctx: LayerContext) -> Conversion:
    return _merge(ctx, sp.MatAdd(*ctx.input_symbols), lambda b, xs: reduce(lambda u, v: u + v, xs))


@converter("Subtract")
def subtract(ctx: LayerContext) -> Conversion:
    if len(ctx.input_symbols) != 2:
        raise ctx.reject(f"expected 2 inputs, received {len(ctx.input_symbols)}")
    first, second = ctx.input_symbols
    return _merge(ctx, first - second, lambda b, xs: xs[0] - xs[1])


@converter("Multiply")
def multiply(ctx: LayerContext) -> Conversion:
    return _merge(ctx, sp.HadamardProduct(*ctx.input_symbols),
                  lambda b, xs: reduce(lambda u, v: u * v, xs), "entrywise product")


@converter("Average")
def average(ctx: LayerContext) -> Conversion:
    n = len(ctx.input_symbols)
    return _merge(ctx, sp.MatAdd(*ctx.input_symbols) / n,
                  lambda b, xs: reduce(lambda u, v: u + v, xs) / b.const(n))


@converter("Maximum")
def maximum(ctx: LayerContext) -> Conversion:
    return _merge(ctx, ElementwiseMax(*ctx.input_symbols),
                  lambda b, xs: reduce(b.maximum, xs), "entrywise maximum")


@converter("Minimum")
def minimum(ctx: LayerContext) -> Conversion:
    return _merge(ctx, ElementwiseMin(*ctx.input_symbols),
                  lambda b, xs: reduce(b.minimum, xs), "entrywise minimum")


@converter("Concatenate")
def concatenate(ctx: LayerContext) -> Conversion:
    axis = int(ctx.config.get("axis", -1))
    rank = len(ctx.input_shape) + 1
    if axis not in (-1, rank - 1):
        raise ctx.reject(f"axis={axis} is not supported; only the last axis (-1) is")
    if len({tuple(s[:-1]) for s in ctx.input_shapes}) != 1:
        raise ctx.reject(f"inputs of shapes {ctx.input_shapes} differ before the last axis")
    return Conversion(
        rhs=sp.BlockMatrix([list(ctx.input_symbols)]),
        forward=lambda backend, xs, w: _concat(xs),
        size=lambda sizes: max(sizes),
        note="the inputs side by side along the last axis",
        piecewise_linear=True,
    )


def _concat(xs: list[Any]) -> Any:
    import numpy as np

    return np.concatenate(xs, axis=-1)
