"""Linear regions of piecewise-linear networks: the local affine law, the pieces of a
one-input network, and its exact breakpoints.

:func:`linearize` runs the graph on a :class:`~symnet.backends.LinearizedBackend`: the local law
``f(x) = A x + b`` and the decisions that bound its region. For one input, the pieces of the
whole line are found by a sweep over the breakpoints when the network reduces to affine ->
one piecewise-linear activation -> affine (O(N log N)), else by a walk from region to region;
``exact`` pieces are then recomputed in rational arithmetic.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from ..backends import ExactLinearizedBackend, LinearizedBackend, exact_interval, interval, piece_at
from ..errors import InvalidInputError, UnsupportedLayerError
from ..graph import Graph
from .pieces import Piece

__all__ = ["Inequalities", "Piece", "domain_of", "linearize", "logit_nodes", "network_pieces",
           "region", "sweep_pieces", "walk", "walked_pieces"]


def logit_nodes(graph: Graph) -> tuple[Any, ...] | None:
    """A classifier's nodes up to its logits: the final softmax (through identities)
    replaced by the identity, when every other op is piecewise linear; ``None`` otherwise.
    The softmax keeps the logits' order, so the predicted class is the largest logit."""
    from ..ops import Identity
    from ..ops.activations import Softmax

    if len(graph.outputs) != 1:
        return None
    tensor, index = graph.outputs[0], None
    while True:
        found = next(((i, n) for i, n in enumerate(graph.nodes) if n.output == tensor), None)
        if found is None:
            return None
        index, node = found
        if not node.op.identity:
            break
        tensor = node.inputs[0]
    if not isinstance(node.op, Softmax) or node.op.log:
        return None
    if not all(n.op.piecewise_linear for i, n in enumerate(graph.nodes) if i != index):
        return None
    return graph.replaced({index: Identity("the softmax left out: the logits")})


def linearize(graph: Graph, x: Any, require: bool = True, nodes: Any = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, LinearizedBackend]:
    """``(A, b, x0, backend)``: the affine law ``f = A x + b`` on the linear region of the
    sample ``x`` (``A``: outputs × inputs), and the backend holding the region's decisions
    (``nodes``: the graph's nodes rewritten, e.g. :func:`logit_nodes`)."""
    if require and nodes is None:
        graph.require_piecewise_linear("the local affine law")
    arrays = graph.sample(x)
    x0 = np.concatenate([a.reshape(-1) for a in arrays])
    n = x0.size
    rows = np.vstack([x0, x0 + np.eye(n)])
    backend = LinearizedBackend()
    parts, start = [], 0
    for shape in graph.input_shapes:
        size = math.prod(shape)
        parts.append(rows[:, start:start + size].reshape((n + 1,) + shape))
        start += size
    out = graph.output_values(graph.run(backend, parts, nodes))
    a = (out[1:] - out[0]).T
    return a, out[0] - a @ x0, x0, backend


class Inequalities(Sequence):
    """The linear inequalities ``lo <= t0 + g·(x − x0) <= hi`` that bound a linear region,
    as a sequence of SymPy relationals in the input symbols.

    Each relational is built when it is asked for: a layer of 20,000 units on 2,000 inputs
    bounds its region by 40,000 inequalities of 2,000 terms each, which as SymPy objects
    would take minutes and gigabytes; their numbers are here at once (:meth:`arrays`).
    """

    def __init__(self, symbols: Sequence[sp.Symbol], x0: np.ndarray, offsets: np.ndarray,
                 gradients: np.ndarray, bounds: np.ndarray, upper: np.ndarray) -> None:
        self.symbols = tuple(symbols)
        self.x0 = x0
        self._offsets, self._gradients = offsets, gradients
        self._bounds, self._upper = bounds, upper

    @classmethod
    def of(cls, symbols: Sequence[sp.Symbol], x0: np.ndarray, decisions: Sequence[Any]
           ) -> Inequalities:
        """The inequalities of a linearization's decisions: each unit whose value moves with
        the input, its lower bound then its upper one (the finite ones), unit by unit."""
        offsets, gradients, bounds, upper = [], [], [], []
        for d in decisions:
            t0 = np.asarray(d.t0, dtype=np.float64)
            grad = np.asarray(d.grad, dtype=np.float64).reshape(len(t0), -1)
            ends = np.stack([np.asarray(d.lo, dtype=np.float64),
                             np.asarray(d.hi, dtype=np.float64)], axis=1)  # (units, 2)
            keep = np.isfinite(ends) & np.any(grad != 0, axis=1)[:, None]
            unit, side = np.nonzero(keep)  # row-major: unit by unit, lower first
            offsets.append(t0[unit])
            gradients.append(grad[unit])
            bounds.append(ends[unit, side])
            upper.append(side == 1)
        if not offsets:
            return cls(symbols, x0, np.zeros(0), np.zeros((0, x0.size)), np.zeros(0),
                       np.zeros(0, dtype=bool))
        return cls(symbols, x0, np.concatenate(offsets), np.concatenate(gradients),
                   np.concatenate(bounds), np.concatenate(upper))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(t0, G, bound, upper)``: row ``i`` is ``t0[i] + G[i]·(x − x0) <= bound[i]`` when
        ``upper[i]``, else ``>= bound[i]``."""
        return self._offsets, self._gradients, self._bounds, self._upper

    def __len__(self) -> int:
        return len(self._bounds)

    @property
    def finite(self) -> bool:
        """Whether every coefficient is a finite number (NaN weights make NaN bounds, which
        SymPy cannot state as inequalities)."""
        return bool(np.all(np.isfinite(self._offsets)) and np.all(np.isfinite(self._bounds))
                    and np.all(np.isfinite(self._gradients)))

    def _build(self, i: int) -> sp.Basic:
        grad = self._gradients[i]
        # t0 + g·(x − x0) written as g·x + c (c in float64, as the region is computed)
        constant = float(self._offsets[i] - grad @ self.x0)
        terms = [sp.Float(g) * s for g, s in zip(grad, self.symbols) if g != 0]
        expr = sp.Add(*terms, sp.Float(constant))
        bound = sp.Float(self._bounds[i])
        # unevaluated: SymPy would otherwise try to decide the sign of a sum of 2,000 terms
        relation = sp.LessThan if self._upper[i] else sp.GreaterThan
        return relation(expr, bound, evaluate=False)

    def text(self, i: int) -> str:
        """Inequality ``i`` as plain text (``0.75*x_1 - 0.5*x_2 + 0.1 >= 0``), the inputs in
        their order: written from the numbers, not printed by SymPy (which sorts the terms
        of a long sum slowly)."""
        grad = self._gradients[i]
        parts = []
        for g, sym in zip(grad, self.symbols):
            if g != 0:
                parts.append(f"{'-' if g < 0 else '+'} {_float_text(abs(g))}*{sym}")
        constant = float(self._offsets[i] - grad @ self.x0)
        if constant != 0 or not parts:
            parts.append(f"{'-' if constant < 0 else '+'} {_float_text(abs(constant))}")
        text = " ".join(parts)
        text = ("-" + text[2:]) if text.startswith("-") else text[2:]
        return f"{text} {'<=' if self._upper[i] else '>='} {_float_text(self._bounds[i])}"

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._build(i) for i in range(len(self))[index]]
        if not -len(self) <= index < len(self):
            raise IndexError("region index out of range")
        return self._build(index % len(self))

    def __repr__(self) -> str:
        return f"<Inequalities: {len(self)} in {len(self.symbols)} inputs>"


def _float_text(value: float) -> str:
    """A float64 with the 15 significant digits SymPy shows of a ``Float``."""
    return repr(float(f"{float(value):.15g}"))


def region(graph: Graph, x0: np.ndarray, backend: LinearizedBackend) -> Any:
    """The region of a linearization: an ``Interval`` for one input, else its
    :class:`Inequalities` (a sequence of linear inequalities in the input symbols)."""
    if x0.size == 1:
        low, high = interval(backend.decisions, float(x0[0]))
        return sp.Interval(sp.Float(low) if np.isfinite(low) else -sp.oo,
                           sp.Float(high) if np.isfinite(high) else sp.oo)
    return Inequalities.of(graph.features, x0, backend.decisions)


def domain_of(graph: Graph, domain: Any) -> tuple[float, float]:
    """A one-input network's domain as ``(low, high)`` (default: all reals)."""
    if len(graph.features) != 1:
        raise InvalidInputError(f"piecewise forms need a network with one input; this one "
                                f"has {len(graph.features)}")
    if domain is None:
        return -np.inf, np.inf
    try:
        low, high = (float(v) for v in domain)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"domain must be a pair of numbers (low, high), received "
                                f"{domain!r}") from exc
    if not low < high:
        raise InvalidInputError(f"domain must have low < high, received {domain!r}")
    return low, high


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



# --- the pieces of a network -------------------------------------------------------------

def network_pieces(graph: Graph, domain: Any = None, exact: bool = False) -> list[Piece]:
    """The linear pieces of a one-input piecewise-linear network on ``domain``.

    Found in float64 (a sweep or a region walk); with ``exact``, in exact rational arithmetic
    from the float32 weights (``Fraction``\\ s; ends outside the domain are ``±inf``): by
    the exact sweep or by splitting (:mod:`symnet.analysis.exactline`) when the network is a
    chain they cover, else by recomputing each float piece exactly.
    """
    low, high = domain_of(graph, domain)
    graph.require_piecewise_linear("the piecewise form")
    if exact:
        from .exactline import split, sweep

        found = sweep(graph, low, high)
        if found is None:
            found = split(graph, low, high)
        if found is not None:
            return found
    return walked_pieces(graph, low, high, exact)


def walked_pieces(graph: Graph, low: float, high: float, exact: bool = False) -> list[Piece]:
    """:func:`network_pieces` found in float64 by the sweep or the region walk, then (with
    ``exact``) each piece recomputed in exact arithmetic: O(N) per piece."""
    def piece_at_x(x: float) -> Piece:
        a, b, x0, backend = linearize(graph, x)
        start, end = interval(backend.decisions, float(x0[0]))
        return Piece(start, end, a[:, 0], b)

    pieces = sweep_pieces(graph, low, high)
    if pieces is None:
        pieces = walk(piece_at_x, low, high)
    return _exact_pieces(graph, pieces, low, high) if exact else pieces


def _exact_piece(graph: Graph, x: Fraction, low: float, high: float) -> Piece:
    backend = ExactLinearizedBackend()
    rows = np.array([[x], [x + 1]], dtype=object)
    values = graph.run(backend, [rows])
    out = np.concatenate([values[k].reshape(2, -1) for k in graph.outputs], axis=1)
    slope = out[1] - out[0]
    start, end = exact_interval(backend.decisions, x)
    start = low if start is None or (np.isfinite(low) and start < Fraction(low)) else start
    end = high if end is None or (np.isfinite(high) and end > Fraction(high)) else end
    return Piece(start, end, slope, out[0] - slope * x)


def _exact_pieces(graph: Graph, pieces: list[Piece], low: float, high: float) -> list[Piece]:
    def probe(p: Piece) -> Fraction:
        if np.isfinite(float(p.low)) and np.isfinite(float(p.high)):
            return (Fraction(p.low) + Fraction(p.high)) / 2
        if np.isfinite(float(p.high)):
            return Fraction(p.high) - 1
        return Fraction(p.low) + 1 if np.isfinite(float(p.low)) else Fraction(0)

    found = {}
    for p in pieces:
        q = _exact_piece(graph, probe(p), low, high)
        found[q.low] = q
    # A region the float walk stepped over leaves a gap between exact pieces, or before the
    # first or after the last (a float piece that is several exact regions with one law):
    # probe its middle, exactly, until the pieces meet (each probe finds a new region).
    for _ in range(100_000):
        ordered = sorted(found.values(), key=lambda p: float(p.low))
        probes = [(Fraction(a.high) + Fraction(b.low)) / 2
                  for a, b in itertools.pairwise(ordered) if a.high != b.low]
        first, last = ordered[0].low, ordered[-1].high
        if first != low:
            probes.append(Fraction(first) - 1 if not np.isfinite(low) else
                          (Fraction(low) + Fraction(first)) / 2)
        if last != high:
            probes.append(Fraction(last) + 1 if not np.isfinite(high) else
                          (Fraction(last) + Fraction(high)) / 2)
        if not probes:
            break
        for x in probes:
            q = _exact_piece(graph, x, low, high)
            found[q.low] = q
    merged: list[Piece] = []
    for p in ordered:
        if merged and all(p.slope == merged[-1].slope) and all(
                p.intercept == merged[-1].intercept):
            merged[-1] = Piece(merged[-1].low, p.high, p.slope, p.intercept)
        else:
            merged.append(p)
    return merged


def sweep_pieces(graph: Graph, low: float, high: float) -> list[Piece] | None:
    """The pieces of a network that reduces to affine -> one piecewise-linear activation ->
    affine, by a sweep: O(N log N) for N hidden units, where the region walk is O(N^2).

    Every breakpoint is where one unit's pre-activation ``a_i x + c_i`` meets a kink ``k`` of
    the activation: ``x = (k - c_i) / a_i``. Sorted, they are crossed left to right; at each, only
    that unit changes piece, so the output's slope and intercept are updated by its change
    alone. ``None`` when the network does not have that shape (the walk is used instead).
    """
    from ..ops import Affine, Elementwise
    from .passes import merge_affine, remove_identities

    try:
        nodes = graph.chain()
    except UnsupportedLayerError:
        return None
    steps = [n.op for n in merge_affine(remove_identities(nodes, graph.shapes).after,
                                        graph.shapes).after]
    if len(steps) not in (2, 3) or not isinstance(steps[0], Affine) or not isinstance(
            steps[1], Elementwise) or steps[1].fixed is not None or (
            len(steps) == 3 and not isinstance(steps[2], Affine)):
        return None
    first, fn = steps[0], steps[1].fn
    if first.weight.shape[0] != 1 or not fn.piecewise_linear:
        return None
    a, c = first.weight[0], first.bias
    last = steps[2] if len(steps) == 3 else None
    out_w = last.weight if isinstance(last, Affine) else np.eye(a.size)
    out_b = last.bias if isinstance(last, Affine) else np.zeros(a.size)
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
