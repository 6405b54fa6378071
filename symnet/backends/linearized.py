"""Piecewise-linear functions frozen on their pieces: the local affine law and its region.

A network of affine ops and piecewise-linear functions (ReLU and its options, leaky ReLU,
PReLU, hard sigmoid, ``Maximum``/``Minimum``...) is affine on each region where every such
function stays on one piece. :class:`LinearizedBackend` runs it in float64 with each function
frozen on the piece active at a reference sample (row 0 of the batch), recording for every
frozen unit the piece it must stay on (a :class:`Decision`). Run on ``x0`` and ``x0 + e_i``, it
gives the exact affine law ``f(x) = A x + b`` of the region, and the decisions give the region.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .base import points_inside
from .exact import ExactBackend
from .float import FloatBackend

__all__ = ["Decision", "ExactLinearizedBackend", "LinearizedBackend", "exact_interval",
           "interval", "piece_at"]


@dataclass(frozen=True)
class Decision:
    """Units that must stay on one piece: ``lo <= t0 + grad · (x - x0) <= hi`` for each unit."""

    layer: str
    t0: np.ndarray
    """The units' pre-activation values at the reference sample, flattened."""
    grad: np.ndarray
    """Their gradients with respect to the input, shape (units, inputs)."""
    lo: np.ndarray
    hi: np.ndarray
    active: np.ndarray | None = None
    """For an activation: which units are on the function's main piece (its largest slope: a
    ReLU passing its input, not clipped); ``None`` for a Maximum/Minimum choice."""


def _interior(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two distinct points inside each piece ``[lo, hi]`` (either end may be infinite)."""
    both = np.isfinite(lo) & np.isfinite(hi)
    width = np.where(both, hi - lo, 1.0)
    a = np.where(both, lo + width / 4, np.where(np.isfinite(hi), hi - 2.0,
                                                np.where(np.isfinite(lo), lo + 1.0, 0.0)))
    b = np.where(both, lo + 3 * width / 4, np.where(np.isfinite(hi), hi - 1.0,
                                                    np.where(np.isfinite(lo), lo + 2.0, 1.0)))
    return a, b


def pieces_of(fn: Any, index: np.ndarray) -> tuple[np.ndarray, ...]:
    """Slope, intercept and ends of the pieces of ``fn`` numbered ``index`` (0: leftmost)."""
    kinks = np.asarray(fn.kinks, dtype=np.float64)
    padded = np.concatenate([[-np.inf], kinks, [np.inf]])
    lo, hi = padded[index], padded[index + 1]
    a, b = _interior(lo, hi)
    fa, fb = fn.numpy(a), fn.numpy(b)
    slope = (fb - fa) / (b - a)
    return slope, fa - slope * a, lo, hi


def piece_at(fn: Any, t0: np.ndarray) -> tuple[np.ndarray, ...]:
    """Slope, intercept and ends ``[lo, hi]`` of the piece of ``fn`` that gives ``fn(t0)``.

    On a kink the piece to the right is taken unless its affine law does not give ``fn(t0)``
    there (a jump, as in ``ReLU(threshold=...)``), then the piece to the left.
    """
    t0 = np.asarray(t0, dtype=np.float64)
    kinks = np.asarray(fn.kinks, dtype=np.float64)
    index = np.searchsorted(kinks, t0, side="right")
    slope, intercept, lo, hi = pieces_of(fn, index)
    value = fn.numpy(t0)
    jump = (index > 0) & ~np.isclose(slope * t0 + intercept, value, rtol=1e-12, atol=1e-12)
    if np.any(jump):
        left = pieces_of(fn, np.maximum(index - 1, 0))
        slope, intercept, lo, hi = (np.where(jump, new, old) for new, old in
                                    zip(left, (slope, intercept, lo, hi)))
    return slope, intercept, lo, hi


def steepest(fn: Any) -> float:
    """The largest slope of a piecewise-linear function (its "active" piece)."""
    return float(np.max(pieces_of(fn, np.arange(len(fn.kinks) + 1))[0]))


class LinearizedBackend(FloatBackend):
    """float64, with piecewise-linear functions frozen on their pieces at row 0 of the batch."""

    def __init__(self) -> None:
        super().__init__(np.float64)
        self.name = "linearized"
        self.decisions: list[Decision] = []

    def _record(self, t: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                active: np.ndarray | None = None) -> None:
        rows = t.reshape(t.shape[0], -1)
        self.decisions.append(Decision(
            layer=self.layer, t0=rows[0], grad=(rows[1:] - rows[0]).T,
            lo=np.broadcast_to(lo, t.shape[1:]).reshape(-1),
            hi=np.broadcast_to(hi, t.shape[1:]).reshape(-1),
            active=None if active is None else np.asarray(active).reshape(-1)))

    def map(self, fn: Any, x: np.ndarray) -> np.ndarray:
        if not fn.piecewise_linear:
            # Only reached on weights (BatchNorm's 1/sqrt(var + eps)): ops that are not
            # piecewise linear in the input are refused before this backend runs.
            return super().map(fn, x)
        slope, intercept, lo, hi = piece_at(fn, x[0])
        self._record(x, lo, hi, active=np.isclose(slope, steepest(fn), rtol=1e-12, atol=0))
        return slope * x + intercept

    def _choose(self, a: np.ndarray, b: np.ndarray, larger: bool) -> np.ndarray:
        a, b = np.broadcast_arrays(a, b)
        diff = a - b
        first = diff[0] >= 0 if larger else diff[0] <= 0
        zero = np.zeros(first.shape)
        self._record(diff, np.where(first == larger, zero, -np.inf),
                     np.where(first == larger, np.inf, zero))
        return np.where(first, a, b)

    def maximum(self, a: Any, b: Any) -> Any:
        return self._choose(a, b, larger=True)

    def minimum(self, a: Any, b: Any) -> Any:
        return self._choose(a, b, larger=False)


def interval(decisions: list[Decision], x0: float) -> tuple[float, float]:
    """For one input: the interval of ``x`` on which every decision holds."""
    low, high = -np.inf, np.inf
    for d in decisions:
        g = d.grad[:, 0]
        moving = g != 0
        if not np.any(moving):
            continue
        with np.errstate(invalid="ignore"):
            ends_lo = x0 + (d.lo[moving] - d.t0[moving]) / g[moving]
            ends_hi = x0 + (d.hi[moving] - d.t0[moving]) / g[moving]
        left = np.where(g[moving] > 0, ends_lo, ends_hi)
        right = np.where(g[moving] > 0, ends_hi, ends_lo)
        low, high = max(low, float(np.nanmax(left))), min(high, float(np.nanmin(right)))
    return low, high


class ExactLinearizedBackend(ExactBackend):
    """:class:`LinearizedBackend` in exact rational arithmetic (rows of ``Fraction``)."""

    def __init__(self) -> None:
        super().__init__()
        self.name = "exact-linearized"
        self.decisions: list[Decision] = []
        self._pieces: dict[tuple[str, int], tuple[Fraction, Fraction, Any, Any]] = {}

    def _piece(self, fn: Any, kinks: list[Fraction], index: int) -> tuple[Any, ...]:
        cached = self._pieces.get((fn.key, index))
        if cached is not None:
            return cached
        lo = kinks[index - 1] if index > 0 else None
        hi = kinks[index] if index < len(kinks) else None
        a, b = points_inside(kinks, index, Fraction(0))
        fa, fb = (self.apply(fn, v) for v in (a, b))
        slope = (fb - fa) / (b - a)
        result = (slope, fa - slope * a, lo, hi)
        self._pieces[(fn.key, index)] = result
        return result

    def map(self, fn: Any, x: np.ndarray) -> np.ndarray:
        if not fn.piecewise_linear:
            return super().map(fn, x)
        kinks = [Fraction(int(r.p), int(r.q)) for r in fn.exact_kinks]
        rows = x.reshape(x.shape[0], -1)
        out = np.empty(rows.shape, dtype=object)
        lo_all, hi_all = [], []
        for u, t0 in enumerate(rows[0]):
            index = bisect.bisect_right(kinks, t0)
            slope, intercept, lo, hi = self._piece(fn, kinks, index)
            if index > 0 and t0 == kinks[index - 1]:
                if slope * t0 + intercept != self.apply(fn, t0):  # a jump: the left piece holds
                    slope, intercept, lo, hi = self._piece(fn, kinks, index - 1)
            out[:, u] = [slope * v + intercept for v in rows[:, u]]
            lo_all.append(lo)
            hi_all.append(hi)
        self.decisions.append(Decision(layer=self.layer, t0=rows[0], grad=(rows[1:] - rows[0]).T,
                                       lo=np.array(lo_all, dtype=object),
                                       hi=np.array(hi_all, dtype=object)))
        return out.reshape(x.shape)

    def _choose(self, a: np.ndarray, b: np.ndarray, larger: bool) -> np.ndarray:
        a, b = np.broadcast_arrays(a, b)
        diff = (a - b).reshape(a.shape[0], -1)
        first = np.array([(d >= 0) if larger else (d <= 0) for d in diff[0]])
        keep = first == larger
        self.decisions.append(Decision(
            layer=self.layer, t0=diff[0], grad=(diff[1:] - diff[0]).T,
            lo=np.array([Fraction(0) if k else None for k in keep], dtype=object),
            hi=np.array([None if k else Fraction(0) for k in keep], dtype=object)))
        return np.where(first.reshape(a.shape[1:]), a, b)

    def maximum(self, a: Any, b: Any) -> Any:
        return self._choose(a, b, larger=True)

    def minimum(self, a: Any, b: Any) -> Any:
        return self._choose(a, b, larger=False)


def exact_interval(decisions: list[Decision], x0: Fraction) -> tuple[Any, Any]:
    """:func:`interval` in exact arithmetic; ``None`` for an unbounded end."""
    low: Fraction | None = None
    high: Fraction | None = None
    for d in decisions:
        for t0, g, lo, hi in zip(d.t0, d.grad[:, 0], d.lo, d.hi):
            if g == 0:
                continue
            ends = [None if e is None else x0 + (e - t0) / g for e in (lo, hi)]
            left, right = (ends[0], ends[1]) if g > 0 else (ends[1], ends[0])
            if left is not None and (low is None or left > low):
                low = left
            if right is not None and (high is None or right < high):
                high = right
    return low, high
