"""Linear regions of piecewise-linear networks: the local affine law around a sample.

A network built from affine layers and piecewise-linear functions (ReLU and its options, leaky
ReLU, PReLU, hard sigmoid, ``Maximum``/``Minimum`` merges...) is affine on each region where every
such function stays on one of its pieces. :class:`LinearizedBackend` runs the network in float64
with each piecewise-linear function frozen on the piece that is active at a reference sample
(row 0 of the batch), recording for every frozen unit the piece it must stay on. Running it on
``x0`` and on ``x0 + e_i`` gives the exact affine law ``f(x) = A x + b`` of the region, and the
recorded pieces give the region itself.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .activations import ScalarFn, exact_number
from .numeric import ExactBackend, FloatBackend

__all__ = ["Decision", "ExactLinearizedBackend", "LinearizedBackend", "Piece", "exact_interval",
           "interval", "network_pieces", "piece_at", "sweep_pieces", "walk"]


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
    """For an activation: which units are on the function's main piece (its largest slope:
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


def _piece(fn: ScalarFn, kinks: np.ndarray, index: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    padded = np.concatenate([[-np.inf], kinks, [np.inf]])
    lo, hi = padded[index], padded[index + 1]
    a, b = _interior(lo, hi)
    fa, fb = fn.numpy(a), fn.numpy(b)
    slope = (fb - fa) / (b - a)
    return slope, fa - slope * a, lo, hi


def piece_at(fn: ScalarFn, t0: np.ndarray) -> tuple[np.ndarray, ...]:
    """Slope, intercept and ends ``[lo, hi]`` of the piece of ``fn`` that gives ``fn(t0)``.

    On a kink the piece to the right is taken unless its affine law does not give ``fn(t0)``
    there (a jump, as in ``ReLU(threshold=...)``), then the piece to the left.
    """
    t0 = np.asarray(t0, dtype=np.float64)
    kinks = np.asarray(fn.kinks, dtype=np.float64)
    index = np.searchsorted(kinks, t0, side="right")
    slope, intercept, lo, hi = _piece(fn, kinks, index)
    value = fn.numpy(t0)
    jump = (index > 0) & ~np.isclose(slope * t0 + intercept, value, rtol=1e-12, atol=1e-12)
    if np.any(jump):
        left = _piece(fn, kinks, np.maximum(index - 1, 0))
        slope, intercept, lo, hi = (np.where(jump, new, old) for new, old in
                                    zip(left, (slope, intercept, lo, hi)))
    return slope, intercept, lo, hi


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

    def map(self, fn: ScalarFn, x: np.ndarray) -> np.ndarray:
        if not fn.piecewise_linear:
            # Only reached on weights (e.g. BatchNorm's 1/sqrt(var + eps)): layers whose output
            # depends non-linearly on the input are refused before this backend runs.
            return super().map(fn, x)
        slope, intercept, lo, hi = piece_at(fn, x[0])
        kinks = np.asarray(fn.kinks, dtype=np.float64)
        steepest = np.max(_piece(fn, kinks, np.arange(kinks.size + 1))[0])
        self._record(x, lo, hi, active=np.isclose(slope, steepest, rtol=1e-12, atol=0))
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


@dataclass(frozen=True)
class Piece:
    """One linear piece of a one-input network: ``y = slope * x + intercept`` on [low, high]."""

    low: float
    high: float
    slope: np.ndarray
    intercept: np.ndarray

    def same_law(self, other: Piece) -> bool:
        return bool(np.allclose(self.slope, other.slope, rtol=1e-12, atol=1e-12)
                    and np.allclose(self.intercept, other.intercept, rtol=1e-12, atol=1e-12))


def _step(x: float) -> float:
    return 1e-9 * max(1.0, abs(x))


def _wide(p: Piece) -> bool:
    """Wider than the walk's step (an infinite piece always is)."""
    if not (np.isfinite(p.low) and np.isfinite(p.high)):
        return p.high > p.low
    return p.high - p.low > _step(p.low)


def walk(piece_at_x: Any, low: float, high: float, max_pieces: int = 1_000_000) -> list[Piece]:
    """The linear pieces covering ``[low, high]``, found region by region from inside out.

    ``piece_at_x(x)`` gives the region around ``x``. Past each region's end the walk steps a
    hair further and takes the next region; a region that does not start where the previous
    one ended means a narrower one was stepped over, and the gap is searched the same way.
    """
    def clip(p: Piece) -> Piece:
        return Piece(max(p.low, low), min(p.high, high), p.slope, p.intercept)

    def fill(a: float, b: float, out: list[Piece]) -> None:
        # the pieces covering [a, b] in order, appended to out
        x = a
        while x < b:
            if len(out) > max_pieces:
                raise RuntimeError(f"more than {max_pieces} linear pieces")
            probe = min(x + _step(x), (x + b) / 2) if x > -np.inf else b - 1.0
            p = clip(piece_at_x(probe))
            if p.low > x + _step(x):
                fill(x, p.low, out)
            out.append(p)
            x = max(p.high, probe)

    centre = 0.0 if low <= 0.0 <= high else (low if np.isfinite(low) else high)
    first = clip(piece_at_x(centre))
    left: list[Piece] = []
    x = first.low
    while x > low:
        probe = x - _step(x)
        p = clip(piece_at_x(probe))
        if p.high < x - _step(x):
            gap: list[Piece] = []
            fill(p.high, x, gap)
            left.extend(reversed(gap))
        left.append(p)
        x = min(p.low, probe)
    right: list[Piece] = []
    if first.high < high:
        fill(first.high, high, right)
    pieces = list(reversed(left)) + [first] + right
    if len(pieces) > 1:  # a region touching the domain only at its edge adds nothing
        pieces = [p for p in pieces if _wide(p)] or pieces[:1]
    # the pieces cover the domain: its ends are theirs (float rounding may leave a sliver)
    pieces[0] = Piece(low, pieces[0].high, pieces[0].slope, pieces[0].intercept)
    pieces[-1] = Piece(pieces[-1].low, high, pieces[-1].slope, pieces[-1].intercept)
    merged = [pieces[0]]
    for p in pieces[1:]:
        if p.same_law(merged[-1]):
            merged[-1] = Piece(merged[-1].low, p.high, p.slope, p.intercept)
        elif p.high > merged[-1].high:
            merged.append(Piece(merged[-1].high, p.high, p.slope, p.intercept))
    return merged


class ExactLinearizedBackend(ExactBackend):
    """:class:`LinearizedBackend` in exact rational arithmetic (rows of ``Fraction``)."""

    def __init__(self) -> None:
        super().__init__()
        self.name = "exact-linearized"
        self.decisions: list[Decision] = []
        self._pieces: dict[tuple[str, int], tuple[Fraction, Fraction, Any, Any]] = {}

    def _piece(self, fn: ScalarFn, kinks: list[Fraction], index: int) -> tuple[Any, ...]:
        cached = self._pieces.get((fn.key, index))
        if cached is not None:
            return cached
        lo = kinks[index - 1] if index > 0 else None
        hi = kinks[index] if index < len(kinks) else None
        if lo is not None and hi is not None:
            a, b = lo + (hi - lo) / 4, lo + 3 * (hi - lo) / 4
        elif hi is not None:
            a, b = hi - 2, hi - 1
        elif lo is not None:
            a, b = lo + 1, lo + 2
        else:
            a, b = Fraction(0), Fraction(1)
        fa, fb = (self.from_sympy(fn.sympy(self.to_sympy(v))) for v in (a, b))
        slope = (fb - fa) / (b - a)
        result = (slope, fa - slope * a, lo, hi)
        self._pieces[(fn.key, index)] = result
        return result

    def map(self, fn: ScalarFn, x: np.ndarray) -> np.ndarray:
        if not fn.piecewise_linear:
            return super().map(fn, x)
        kinks = [Fraction(int(r.p), int(r.q)) for r in map(exact_number, fn.kinks)]
        rows = x.reshape(x.shape[0], -1)
        out = np.empty(rows.shape, dtype=object)
        lo_all, hi_all = [], []
        for u, t0 in enumerate(rows[0]):
            index = bisect.bisect_right(kinks, t0)
            slope, intercept, lo, hi = self._piece(fn, kinks, index)
            if index > 0 and t0 == kinks[index - 1]:
                value = self.from_sympy(fn.sympy(self.to_sympy(t0)))
                if slope * t0 + intercept != value:  # a jump: the left piece holds here
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


# --- the pieces of a network -------------------------------------------------------------

def network_pieces(net: Any, domain: Any = None, exact: bool = False) -> list[Piece]:
    """The linear pieces of a one-input piecewise-linear network on ``domain``.

    Found in float64 by walking the input line region by region; with ``exact``, each
    piece's law and ends are then recomputed in exact rational arithmetic from the float32
    weights (``Fraction``\\ s; ends outside the domain are ``±inf``).
    """
    low, high = net._domain(domain)
    net._require_piecewise_linear("the piecewise form")

    def piece_at_x(x: float) -> Piece:
        a, b, x0, backend = net._linearize(x)
        start, end = interval(backend.decisions, float(x0[0]))
        return Piece(start, end, a[:, 0], b)

    pieces = sweep_pieces(net, low, high)
    if pieces is None:
        pieces = walk(piece_at_x, low, high)
    return _exact_pieces(net, pieces, low, high) if exact else pieces


def _exact_piece(net: Any, x: Fraction, low: float, high: float) -> Piece:
    backend = net._backends.setdefault("exact-linearized", ExactLinearizedBackend())
    assert isinstance(backend, ExactLinearizedBackend)
    backend.decisions = []
    rows = np.array([[x], [x + 1]], dtype=object)
    values = net._run(backend, [rows])
    out = np.concatenate([values[k].reshape(2, -1) for k in net._graph.outputs], axis=1)
    slope = out[1] - out[0]
    start, end = exact_interval(backend.decisions, x)
    start = low if start is None or (np.isfinite(low) and start < Fraction(low)) else start
    end = high if end is None or (np.isfinite(high) and end > Fraction(high)) else end
    return Piece(start, end, slope, out[0] - slope * x)


def _exact_pieces(net: Any, pieces: list[Piece], low: float, high: float) -> list[Piece]:
    def probe(p: Piece) -> Fraction:
        if np.isfinite(float(p.low)) and np.isfinite(float(p.high)):
            return (Fraction(p.low) + Fraction(p.high)) / 2
        if np.isfinite(float(p.high)):
            return Fraction(p.high) - 1
        return Fraction(p.low) + 1 if np.isfinite(float(p.low)) else Fraction(0)

    found = {}
    for p in pieces:
        q = _exact_piece(net, probe(p), low, high)
        found[q.low] = q
    # A region the float walk stepped over leaves a gap between exact pieces: probe its
    # middle, exactly, until the pieces meet (each probe finds a new region).
    for _ in range(100_000):
        ordered = sorted(found.values(), key=lambda p: float(p.low))
        gaps = [(a.high, b.low) for a, b in itertools.pairwise(ordered) if a.high != b.low]
        if not gaps:
            break
        for start, end in gaps:
            q = _exact_piece(net, (Fraction(start) + Fraction(end)) / 2, low, high)
            found[q.low] = q
    merged: list[Piece] = []
    for p in ordered:
        if merged and all(p.slope == merged[-1].slope) and all(
                p.intercept == merged[-1].intercept):
            merged[-1] = Piece(merged[-1].low, p.high, p.slope, p.intercept)
        else:
            merged.append(p)
    return merged


def sweep_pieces(net: Any, low: float, high: float) -> list[Piece] | None:
    """The pieces of a network that reduces to affine -> one piecewise-linear activation ->
    affine, by a sweep: O(N log N) for N hidden units, where the region walk is O(N^2).

    Every breakpoint is where one unit's pre-activation ``a_i x + c_i`` meets a kink ``k`` of
    the activation: ``x = (k - c_i) / a_i``. Sorted, they are crossed left to right; at each, only
    that unit changes piece, so the output's slope and intercept are updated by its change
    alone. ``None`` when the network does not have that shape (the walk is used instead).
    """
    from .errors import UnsupportedLayerError
    from .passes import Affine, Elementwise, chain_of, merge_affine, remove_identities

    try:
        steps = merge_affine(remove_identities(chain_of(net)).after).after
    except UnsupportedLayerError:
        return None
    if len(steps) not in (2, 3) or not isinstance(steps[0], Affine) or not isinstance(
            steps[1], Elementwise) or steps[1].fixed is not None or (
            len(steps) == 3 and not isinstance(steps[2], Affine)):
        return None
    first, fn = steps[0], steps[1].fn
    if first.weight.shape[0] != 1 or not fn.piecewise_linear:
        return None
    a, c = first.weight[0], first.bias
    out_w = steps[2].weight if len(steps) == 3 else np.eye(a.size)
    out_b = steps[2].bias if len(steps) == 3 else np.zeros(a.size)
    kinks = np.asarray(fn.kinks, dtype=np.float64)
    moving = np.flatnonzero(a != 0)
    crossings = ((kinks[None, :] - c[moving, None]) / a[moving, None]).reshape(-1)
    units = np.repeat(moving, kinks.size)
    inside = (crossings > low) & (crossings < high)
    order = np.argsort(crossings[inside], kind="stable")
    points, who = crossings[inside][order], units[inside][order]

    def laws(x: float, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s, t, _, _ = piece_at(fn, a[idx] * x + c[idx])
        return s, t

    start = low if np.isfinite(low) else (points[0] - 1.0 if points.size else 0.0)
    every = np.arange(a.size)
    first_probe = (start + points[0]) / 2 if points.size and np.isfinite(low) else (
        points[0] - 1.0 if points.size else start + 1.0)
    s, t = laws(first_probe, every)
    slope = (s * a) @ out_w
    intercept = (s * c + t) @ out_w + out_b
    pieces: list[Piece] = []
    left = low
    groups = np.flatnonzero(np.diff(points)) + 1 if points.size else np.array([], int)
    for block in np.split(np.arange(points.size), groups):
        if block.size == 0:
            continue
        x_b = points[block[0]]
        pieces.append(Piece(left, x_b, slope.copy(), intercept.copy()))
        nxt = points[block[-1] + 1] if block[-1] + 1 < points.size else (
            high if np.isfinite(high) else x_b + 2.0)
        idx = np.unique(who[block])
        s_new, t_new = laws((x_b + nxt) / 2, idx)
        ds, dt = s_new - s[idx], t_new - t[idx]
        slope = slope + (ds * a[idx]) @ out_w[idx]
        intercept = intercept + (ds * c[idx] + dt) @ out_w[idx]
        s[idx], t[idx] = s_new, t_new
        left = x_b
    pieces.append(Piece(left, high, slope, intercept))
    merged = [pieces[0]]
    for p in pieces[1:]:
        if p.same_law(merged[-1]):
            merged[-1] = Piece(merged[-1].low, p.high, p.slope, p.intercept)
        else:
            merged.append(p)
    return merged
