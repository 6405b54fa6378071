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
from ..functions import T
from ..functions.tensors import matmul_shapes, reduced_shape
from .activations import Fn
from .base import Grads, Op, Param, aligned, unbroadcast

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

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        from .derivatives import derivative

        return Grads((g * backend.map(derivative(self.fn), xs[0]),))

    def backward_formula(self, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        from .derivatives import derivative

        slope = fx.Entrywise(sp.Lambda(T, derivative(self.fn).sympy(T)), xs[0])
        return Grads((sp.HadamardProduct(g, slope),))


def _per_batch(grad: Any, shape: tuple[int, ...]) -> Any:
    """A gradient (batch first) summed back to an input's per-sample ``shape`` where the input
    was broadcast, sample by sample."""
    if tuple(grad.shape[1:]) == tuple(shape):
        return grad
    return np.stack([unbroadcast(grad[b:b + 1], tuple(shape)) for b in range(grad.shape[0])])


def _stacked_matmul(backend: Any, left: Any, right: Any) -> Any:
    """``left @ right`` for stacks of matrices of one leading shape (batch first)."""
    if left.dtype != object and right.dtype != object:
        return np.matmul(left, right)
    out = np.empty((*left.shape[:-1], right.shape[-1]), dtype=object)
    for index in np.ndindex(*left.shape[:-2]):
        out[index] = backend.matmul(np.ascontiguousarray(left[index]),
                                    np.ascontiguousarray(right[index]))
    return out


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

    def _stacks(self, backend: Any, xs: tuple[Any, ...]) -> tuple[Any, Any, Any]:
        """Both factors as stacks of matrices (batch, *lead, m, k) and (batch, *lead, k, n),
        broadcast; and the constant's numbers (or ``None``)."""
        constant = None
        if self.constant is not None:  # stored as the file holds it, (1, ...) or (...)
            shape = self.shapes[self.constant_index]
            constant = backend.weight(self.constant).reshape((1, *shape))
        a, b = self._factors(xs, constant)
        sa, sb = self._shapes()
        _, lead, m, k, n = matmul_shapes(sa, sb)
        batch = max(a.shape[0], b.shape[0])
        lead_a = aligned(sa[:-2] if len(sa) > 1 else (), len(lead))
        lead_b = aligned(sb[:-2] if len(sb) > 1 else (), len(lead))
        left = np.broadcast_to(a.reshape((a.shape[0], *lead_a, m, k)), (batch, *lead, m, k))
        right = np.broadcast_to(b.reshape((b.shape[0], *lead_b, k, n)), (batch, *lead, k, n))
        return left, right, constant

    def forward(self, backend: Any, *xs: Any) -> Any:
        left, right, _ = self._stacks(backend, xs)
        out = matmul_shapes(*self._shapes())[0]
        return _stacked_matmul(backend, left, right).reshape((left.shape[0], *out))

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        """``∂L/∂A = g Bᵀ`` and ``∂L/∂B = Aᵀ g``, stack by stack, summed over the axes a
        factor was broadcast along (a stored constant: over the batch too)."""
        left, right, _ = self._stacks(backend, xs)
        sa, sb = self._shapes()
        batch, lead, m, n = left.shape[0], left.shape[1:-2], left.shape[-2], right.shape[-1]
        gs = g.reshape((batch, *lead, m, n))
        da = _stacked_matmul(backend, gs, np.swapaxes(right, -1, -2))
        db = _stacked_matmul(backend, np.swapaxes(left, -1, -2), gs)
        grads = []
        for d, shape, promoted in ((da, sa, (1, *sa) if len(sa) == 1 else sa),
                                   (db, sb, (*sb, 1) if len(sb) == 1 else sb)):
            grads.append((_per_batch(d, promoted), shape, promoted, d))
        inputs, params = [], {}
        for index, (d, shape, promoted, full) in enumerate(grads):
            if self.constant is not None and index == self.constant_index:
                params[self.constant] = unbroadcast(full, promoted).reshape(
                    self.constant.shape)
            else:
                inputs.append(np.asarray(d).reshape((batch, *shape)))
        return Grads(tuple(inputs), params)

    def backward_formula(self, xs: tuple[Any, ...], y: Any, g: Any) -> Grads | None:
        sa, sb = self._shapes()
        if len(sa) != 2 or len(sb) != 2:
            return None
        a, b = self._factors(xs, None if self.constant is None else self.constant.symbol)
        da, db = g * b.T, a.T * g
        if self.constant is None:
            return Grads((da, db))
        return Grads(((db, da)[self.constant_index],),
                     {self.constant: (da, db)[self.constant_index]})

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

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        """Each entry gets the gradient of the value it went into: all of it for a sum, a
        share for a mean, ``2x`` times it for a sum of squares; for a max or min, the entries
        equal to it share it equally (TensorFlow's convention for ties)."""
        from .derivatives import greater_equal

        x = xs[0]
        kept = (x.shape[0], *reduced_shape(tuple(self.sample_shape), tuple(self.axes), True))
        spread = np.broadcast_to(g.reshape(kept), x.shape)
        count = math.prod(self.sample_shape[a] for a in self.axes)
        if self.kind == "sum":
            dx = spread
        elif self.kind == "mean":
            dx = spread / (backend.const(count) if x.dtype == object else x.dtype.type(count))
        elif self.kind == "sum_square":
            dx = spread * x * backend.const(2)
        else:
            top = np.broadcast_to(y.reshape(kept), x.shape)
            hit = greater_equal(backend, x, top) if self.kind == "max" else \
                greater_equal(backend, top, x)
            ties = Reduce("sum", self.axes, True, self.sample_shape).forward(backend, hit)
            dx = spread * hit / np.broadcast_to(ties, x.shape)
        return Grads((np.asarray(dx).reshape(x.shape),))

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        count = math.prod(self.sample_shape[a] for a in self.axes)
        return float(count * (sizes[0] + 2))

    def describe(self) -> str:
        return f"{self.kind} over axes {tuple(a + 1 for a in self.axes)}"


@dataclass(frozen=True, eq=False)
class Joined(Op):
    """Tensors side by side along a per-sample ``axis``, some of them stored constants
    (``parts``: a :class:`Param` for a constant, ``None`` for the next input), e.g. a
    transformer's class token put before the patches. A constant may be stored with the
    batch axis of 1 the file gives it: ``shapes`` are the per-sample ones."""

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
        shape_of = {id(p): s for p, s in zip(self.parts, self.shapes) if p is not None}

        def constant(p: Param) -> Any:
            # stored as the file holds it (a class token (1, 1, d)), joined as (1, d)
            shape = shape_of[id(p)]
            return np.broadcast_to(backend.weight(p).reshape((1, *shape)), (batch, *shape))

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

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        """Each part gets its slice of the gradient; a stored constant its slice summed over
        the batch."""
        inputs, params = [], {}
        start = 0
        for part, shape in zip(self.parts, self.shapes):
            piece = np.take(g, range(start, start + shape[self.axis]), axis=self.axis + 1)
            start += shape[self.axis]
            if part is None:
                inputs.append(piece)
            else:
                params[part] = unbroadcast(piece, (1, *shape)).reshape(part.shape)
        return Grads(tuple(inputs), params)


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

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        """The gradient goes to the branch each entry came from; the mask (a condition) has
        none (left out: its gradient is 0)."""
        out = self._out()
        mask = (np.asarray(self.mask.value) != 0).reshape(
            (1, *aligned(self.mask.shape, len(out))))
        zero = backend.const(0) if g.dtype == object else g.dtype.type(0)
        inputs: list[Any] = []
        params: dict[Param, Any] = {}
        for chosen, branch, shape in ((True, self.branches[0], self.shapes[0]),
                                      (False, self.branches[1], self.shapes[1])):
            d = np.where(mask if chosen else ~mask, g, zero)
            if branch is None:
                inputs.append(np.asarray(_per_batch(d, tuple(shape))).reshape(
                    (g.shape[0], *shape)))
            else:
                params[branch] = unbroadcast(d, (1, *shape)).reshape(branch.shape)
        return Grads(tuple(inputs), params)
