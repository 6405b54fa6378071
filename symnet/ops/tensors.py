"""Ops that exported graphs spell node by node where a Keras layer would be one op: the product
of two computed tensors (attention's ``Q Kᵀ``, a policy's ``scores = E h``), reductions along
axes (a LayerNorm's means, written ``ReduceMean``), functions of one entry that are not
activations (``√``, ``erf``, ``log``, ``t²``...), and a join of stored constants with computed
tensors (a transformer's class token).

Each is written once, against the backend interface: float32 in the order ONNX Runtime's
kernels take (a product per stacked matrix, a reduction summing the entries then dividing),
float64, exact rationals (products through the exact backend's integer matrix product), and
symbolic.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .. import functions as fx
from ..functions.tensors import matmul_shapes, reduced_shape
from .activations import Fn
from .base import Op, Param, aligned

__all__ = ["REDUCTIONS", "Joined", "Pointwise", "Product", "Reduce", "Select"]


@dataclass(frozen=True, eq=False)
class Pointwise(Op):
    """``f`` on every entry, for a function a formula uses that is not an activation (``√``,
    ``erf``, ``log``, ``1/t``, ``|t|``, ``t^p``, ``clip``): no activation mistakes, and
    forgetting activations leaves it in place."""

    fn: Fn
    rowwise = True
    entrywise = True

    @property
    def piecewise_linear(self) -> bool:
        return self.fn.piecewise_linear

    def formula(self, x: Any) -> Any:
        return fx.Entrywise(self.fn.definition(), x)

    def forward(self, backend: Any, x: Any) -> Any:
        return backend.map(self.fn, x)

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        nodes, uses = self.fn.growth
        return uses * sizes[0] + (nodes - uses)

    def describe(self) -> str:
        return self.fn.name or self.fn.key


@dataclass(frozen=True, eq=False)
class Product(Op):
    """``matmul(A, B)`` of two tensors of per-sample shapes ``shapes`` (numpy's and ONNX's
    rules: the last two axes multiply as matrices, the axes before them are broadcast; a
    vector is a row on the left, a column on the right). Both are computed, or one is the
    stored ``constant`` (at position ``constant_index``) and the op is linear in the other.

    Two computed factors make a bilinear map: not piecewise linear.
    """

    shapes: tuple[tuple[int, ...], tuple[int, ...]]
    constant: Param | None = None
    constant_index: int = 0
    arity = 0

    @property
    def affine(self) -> bool:  # type: ignore[override]
        return self.constant is not None

    def _shapes(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return tuple(self.shapes[0]), tuple(self.shapes[1])

    def _factors(self, xs: tuple[Any, ...], constant: Any) -> tuple[Any, Any]:
        if self.constant is None:
            return xs[0], xs[1]
        return (constant, xs[0]) if self.constant_index == 0 else (xs[0], constant)

    def formula(self, *xs: Any) -> Any:
        a, b = self._factors(xs, None if self.constant is None else self.constant.symbol)
        sa, sb = self._shapes()
        if len(sa) <= 2 and len(sb) <= 2:
            if len(sb) == 2:
                return a * b                      # (m, k)(k, n), or the row (1, k) times B
            if len(sa) == 2:
                return b * a.T                    # a column on the right: (A bᵀ)ᵀ = b Aᵀ
            return a * b.T                        # two vectors: their dot product
        return fx.StackedProduct(a, b, sa, sb)

    def forward(self, backend: Any, *xs: Any) -> Any:
        constant = None
        if self.constant is not None:
            value = backend.weight(self.constant)
            constant = value.reshape((1, *value.shape))
        a, b = self._factors(xs, constant)
        sa, sb = self._shapes()
        out, lead, m, k, n = matmul_shapes(sa, sb)
        batch = max(a.shape[0], b.shape[0])
        lead_a = aligned(sa[:-2] if len(sa) > 1 else (), len(lead))
        lead_b = aligned(sb[:-2] if len(sb) > 1 else (), len(lead))
        left = np.broadcast_to(a.reshape((a.shape[0], *lead_a, m, k)), (batch, *lead, m, k))
        right = np.broadcast_to(b.reshape((b.shape[0], *lead_b, k, n)), (batch, *lead, k, n))
        if left.dtype != object and right.dtype != object:
            result = np.matmul(left, right)
        else:
            result = np.empty((batch, *lead, m, n), dtype=object)
            for index in np.ndindex(batch, *lead):
                result[index] = backend.matmul(np.ascontiguousarray(left[index]),
                                               np.ascontiguousarray(right[index]))
        return result.reshape((batch, *out))

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        return matmul_shapes(*self._shapes())[0]

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        k = matmul_shapes(*self._shapes())[3]
        return float(k * (sum(sizes) + 2))

    def describe(self) -> str:
        sa, sb = self._shapes()
        return f"matmul {sa} · {sb}"


def _total(backend: Any, rows: Any) -> Any:
    """The sum of each row (the last axis), in the backend's arithmetic."""
    if rows.dtype != object:
        return np.sum(rows, axis=-1, dtype=rows.dtype)
    flat = rows.reshape(-1, rows.shape[-1])
    out = np.empty(flat.shape[0], dtype=object)
    for r, row in enumerate(flat):
        out[r] = backend.add_all(list(row))
    return out.reshape(rows.shape[:-1])


def _extreme(backend: Any, rows: Any, larger: bool) -> Any:
    pick = backend.maximum if larger else backend.minimum
    return functools.reduce(pick, [rows[..., j] for j in range(rows.shape[-1])])


#: ONNX's reduction -> (the op's kind, affine in the input, piecewise linear).
REDUCTIONS = {"ReduceSum": "sum", "ReduceMean": "mean", "ReduceMax": "max", "ReduceMin": "min",
              "ReduceSumSquare": "sum_square"}


@dataclass(frozen=True, eq=False)
class Reduce(Op):
    """The entries along ``axes`` (per-sample axes) combined into one: ``sum``, ``mean``
    (the sum divided by the count, as ONNX Runtime computes it), ``max``, ``min`` or
    ``sum_square``; the axes kept as length 1 when ``keepdims``."""

    kind: str
    axes: tuple[int, ...]
    keepdims: bool
    sample_shape: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.kind not in REDUCTIONS.values():
            raise ValueError(f"reduction must be one of {sorted(REDUCTIONS.values())}, "
                             f"received {self.kind!r}")

    @property
    def affine(self) -> bool:  # type: ignore[override]
        return self.kind in ("sum", "mean")

    @property
    def piecewise_linear(self) -> bool:
        return self.kind in ("sum", "mean", "max", "min")

    def formula(self, x: Any) -> Any:
        return fx.Reduction(x, self.kind, self.axes, self.sample_shape, self.keepdims)

    def forward(self, backend: Any, x: Any) -> Any:
        shape = tuple(self.sample_shape)
        axes = sorted(self.axes)
        rest = [a for a in range(len(shape)) if a not in axes]
        moved = np.transpose(x, [0, *[a + 1 for a in rest], *[a + 1 for a in axes]])
        count = math.prod(shape[a] for a in axes)
        rows = moved.reshape((x.shape[0], *[shape[a] for a in rest], count))
        if self.kind == "sum":
            out = _total(backend, rows)
        elif self.kind == "sum_square":
            out = _total(backend, rows * rows)
        elif self.kind == "mean":
            total = _total(backend, rows)
            out = total / (backend.const(count) if rows.dtype == object else
                           rows.dtype.type(count))
        else:
            out = _extreme(backend, rows, self.kind == "max")
        return out.reshape((x.shape[0], *self.output_shape(shape)))

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        return reduced_shape(tuple(self.sample_shape), tuple(self.axes), self.keepdims)

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        count = math.prod(self.sample_shape[a] for a in self.axes)
        return float(count * (sizes[0] + 2))

    def describe(self) -> str:
        return f"{self.kind} over axes {tuple(a + 1 for a in self.axes)}"


@dataclass(frozen=True, eq=False)
class Joined(Op):
    """Tensors side by side along a per-sample ``axis``, some of them stored constants
    (``parts``: a :class:`Param` for a constant, ``None`` for the next input), e.g. a
    transformer's class token put before the patches."""

    axis: int
    shapes: tuple[tuple[int, ...], ...]
    parts: tuple[Param | None, ...]
    arity = 0
    affine = True

    def params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.parts if p is not None)

    def _pieces(self, xs: tuple[Any, ...], constant: Any) -> list[Any]:
        inputs = iter(xs)
        return [next(inputs) if p is None else constant(p) for p in self.parts]

    def formula(self, *xs: Any) -> Any:
        pieces = self._pieces(xs, lambda p: p.symbol)
        if self.axis == len(self.shapes[0]) - 1:
            return sp.BlockMatrix([pieces])
        return fx.Concatenated(self.axis, self.shapes, *pieces)

    def forward(self, backend: Any, *xs: Any) -> Any:
        batch = xs[0].shape[0]

        def constant(p: Param) -> Any:
            value = backend.weight(p)
            return np.broadcast_to(value.reshape((1, *value.shape)), (batch, *value.shape))

        return np.concatenate(self._pieces(xs, constant), axis=self.axis + 1)

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        out = list(self.shapes[0])
        out[self.axis] = sum(s[self.axis] for s in self.shapes)
        return tuple(out)

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return max(sizes)

    def describe(self) -> str:
        names = [str(p.symbol) if p is not None else "x" for p in self.parts]
        return f"join {', '.join(names)} along axis {self.axis + 1}"


@dataclass(frozen=True, eq=False)
class Select(Op):
    """``where(M, A, B)`` for a stored mask ``M`` (a :class:`Param` of 0s and 1s): each entry
    from ``A`` where the mask is 1, else from ``B`` (numpy's broadcasting). ``A`` and ``B`` are
    computed tensors or stored constants (``branches``: a :class:`Param`, or ``None`` for the
    next input) — a mask filled in (``masked_fill``), a choice fixed by the file. A fixed
    choice of entries: affine in the inputs."""

    mask: Param
    shapes: tuple[tuple[int, ...], tuple[int, ...]]
    """The per-sample shapes of ``A`` and ``B``."""
    branches: tuple[Param | None, Param | None] = (None, None)
    arity = 0
    affine = True

    def params(self) -> tuple[Param, ...]:
        return (self.mask, *[p for p in self.branches if p is not None])

    def _out(self) -> tuple[int, ...]:
        return tuple(np.broadcast_shapes(self.mask.shape, *self.shapes))

    def _pieces(self, xs: tuple[Any, ...], constant: Any) -> list[Any]:
        inputs = iter(xs)
        return [next(inputs) if p is None else constant(p) for p in self.branches]

    def formula(self, *xs: Any) -> Any:
        out = self._out()
        shapes = (self.mask.shape, *self.shapes)
        parts = [self.mask.symbol, *self._pieces(xs, lambda p: p.symbol)]
        parts = [x if tuple(s) == out else fx.Broadcast(x, aligned(tuple(s), len(out)), out)
                 for x, s in zip(parts, shapes)]
        return fx.Selected(*parts)

    def forward(self, backend: Any, *xs: Any) -> Any:
        out = self._out()
        batch = xs[0].shape[0]
        mask = np.asarray(self.mask.value) != 0

        def constant(p: Param) -> Any:
            return backend.weight(p)[None]

        a, b = (v.reshape((v.shape[0], *aligned(tuple(s), len(out))))
                for v, s in zip(self._pieces(xs, constant), self.shapes))
        chosen = np.where(mask.reshape((1, *aligned(mask.shape, len(out)))), a, b)
        return np.broadcast_to(chosen, (batch, *out)).copy() if chosen.shape[0] != batch \
            else chosen

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        return self._out()

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return max(sizes) + 1

    def describe(self) -> str:
        return f"where({self.mask.symbol}, ·, ·)"
