"""Exact pieces of a one-input piecewise-linear network, without walking region by region.

Two algorithms, both in exact rational arithmetic from the stored weights:

- :func:`sweep` — affine -> one piecewise-linear activation -> affine (``Dense(N, relu) ->
  Dense(m)``): each unit's kinks ``x = (k - c_i) / a_i`` are computed once and sorted exactly;
  crossing one changes only that unit's piece, so the output's slope and intercept follow by
  exact prefix sums. O(N log N).
- :func:`split` — any chain of affine ops and continuous piecewise-linear activations (the
  ExactLine / SyReNN method): the input segment is pushed through layer by layer as vertices
  with the layer's values there; at each activation, every segment is split where a unit
  meets a kink, the new vertex's values interpolated (the network so far is affine between
  vertices). Cost proportional to pieces x width. Unbounded ends are rays: a vertex and the
  values' derivative in ``x``.

Both return ``None`` for a network they do not cover (the caller then walks); they never
approximate.
"""

from __future__ import annotations

import bisect
from fractions import Fraction
from typing import Any

import numpy as np
from flint import fmpq, fmpz, fmpz_mat

from ..backends.exact import ExactBackend
from ..backends.rational import dyadic_list as _dyadic_list
from ..backends.rational import fmpq_rows as _rows
from ..backends.rational import fraction_batch as _batch
from ..backends.rational import fraction_product as _product
from ..backends.rational import hashable as _hashable
from ..backends.rational import integer_matrix
from ..backends.rational import piece_kinks as _fraction_kinks
from ..backends.rational import piece_law as _piece_law
from ..backends.rational import to_fmpq as _q
from ..backends.rational import to_fraction as _f
from ..graph import Graph, Node, run_nodes
from .pieces import Piece

__all__ = ["affine_rows", "chain_nodes", "plan", "split", "sweep"]


def chain_nodes(graph: Graph) -> tuple[Node, ...] | None:
    """The network's nodes as one chain, identities removed (``None`` when it branches)."""
    from ..errors import UnsupportedLayerError
    from .passes import remove_identities

    try:
        nodes = graph.chain()
    except UnsupportedLayerError:
        return None
    return remove_identities(nodes, graph.shapes).after


def _laws(op: Any) -> tuple[tuple[Fraction, ...], list[tuple[Fraction, Fraction]]] | None:
    """Kinks and piece laws of an activation op, if it is one symnet can follow exactly."""
    from ..ops import Elementwise

    if not isinstance(op, Elementwise) or op.fixed is not None or not op.fn.piecewise_linear:
        return None
    fn = op.fn
    if not _hashable(fn):
        return None
    kinks = _fraction_kinks(fn)
    if kinks is None:
        return None
    laws = [_piece_law(fn, i) for i in range(len(kinks) + 1)]
    if any(law is None for law in laws):
        return None
    return kinks, laws  # type: ignore[return-value]


def _pieces(ends: list[Any], slopes: list[list[fmpq]], intercepts: list[list[fmpq]]
            ) -> list[Piece]:
    """Pieces between consecutive ``ends``, consecutive equal laws merged; laws as arrays of
    ``Fraction``."""
    kept: list[tuple[Any, Any, list[fmpq], list[fmpq]]] = []
    for i, (s, t) in enumerate(zip(slopes, intercepts)):
        if kept and kept[-1][2] == s and kept[-1][3] == t:
            kept[-1] = (kept[-1][0], ends[i + 1], s, t)
        else:
            kept.append((ends[i], ends[i + 1], s, t))
    return [Piece(lo, hi, _array(s), _array(t)) for lo, hi, s, t in kept]


def _array(values: list[fmpq]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = [_f(v) for v in values]
    return out


def _exact_rows(graph: Graph, rows: list[list[Fraction]]) -> np.ndarray:
    arr = np.empty((len(rows), 1), dtype=object)
    arr[:, 0] = [r[0] for r in rows]
    return arr.reshape((len(rows),) + graph.input_shapes[0])


# --- one layer: the sweep ------------------------------------------------------------------

def _tail(nodes: tuple[Node, ...]) -> tuple[list[list[fmpq]], list[fmpq]] | None:
    """The affine ops after the activation as ``(W, b)`` in exact rationals: ``W`` has
    one row per unit. ``None`` unless they are Dense-like (MatMul, BiasAdd, Affine) and
    multiply by at least one matrix."""
    from ..ops import Affine, BiasAdd, MatMul

    matrix: Any = None
    shift = 0
    bias: list[Fraction] | None = None
    for node in nodes:
        op = node.op
        if isinstance(op, (MatMul, Affine)):
            weight = op.in_out if isinstance(op, MatMul) else op.weight
            array = np.asarray(op.in_out.value if isinstance(op, MatMul) else op.weight)
            if array.ndim != 2 or not np.all(np.isfinite(array)):
                return None
            m, s = integer_matrix(weight)
            if m.nrows() != (matrix.ncols() if matrix is not None else m.nrows()):
                return None
            if bias is not None:
                row = np.empty((1, len(bias)), dtype=object)
                row[0] = bias
                bias = list(_product(row, m, 1 << s)[0])
            matrix, shift = (m, s) if matrix is None else (matrix * m, shift + s)
            if isinstance(op, Affine):
                bias = _plus(bias, _dyadic_list(op.bias))
        elif isinstance(op, BiasAdd):
            bias = _plus(bias, _dyadic_list(op.bias))
        else:
            return None
        if bias is not None and any(v is None for v in bias):
            return None
    if matrix is None:
        return None
    assert isinstance(matrix, fmpz_mat)
    n, m_out = matrix.nrows(), matrix.ncols()
    den = fmpz(1 << shift)
    entries = [fmpq(v, den) for v in matrix.entries()]
    rows = [entries[i * m_out:(i + 1) * m_out] for i in range(n)]
    return rows, [_q(b) for b in bias] if bias is not None else [fmpq(0)] * m_out


def _plus(a: list[Any] | None, b: list[Any]) -> list[Any]:
    if None in b or (a is not None and len(a) != len(b)):
        return [None]
    return list(b) if a is None else [u + v for u, v in zip(a, b)]


def sweep(graph: Graph, low: float, high: float) -> list[Piece] | None:
    """The exact pieces of affine -> piecewise-linear activation -> Dense-like ops, by a sweep
    over the sorted kinks (``None`` for any other network).

    Computed in FLINT's rationals (``fmpq``, 3-10x faster than ``Fraction`` here), returned as
    ``Fraction``\\ s.
    """
    nodes = chain_nodes(graph)
    if nodes is None:
        return None
    acts = [i for i, n in enumerate(nodes) if not n.op.affine]
    if len(acts) != 1:
        return None
    at = acts[0]
    found = _laws(nodes[at].op)
    tail = _tail(nodes[at + 1:])
    if found is None or tail is None or len(graph.shapes[nodes[at].output]) != 1:
        return None
    backend = ExactBackend()
    head = nodes[:at]
    rows = _exact_rows(graph, [[Fraction(0)], [Fraction(1)]])
    values = run_nodes(head, graph.inputs, backend, [rows])
    pre = values[head[-1].output if head else graph.inputs[0]].reshape(2, -1)
    if backend.inexact or pre.shape[1] != len(tail[0]):
        return None
    fn = nodes[at].op.fn  # type: ignore[attr-defined]  # an Elementwise: _laws found it
    kinks = [_q(k) for k in found[0]]
    laws = [(_q(s), _q(t)) for s, t in found[1]]
    weights = tail[0]
    c = [_q(v) for v in pre[0]]
    a = [_q(t1 - t0) for t0, t1 in zip(pre[0], pre[1])]
    m = len(tail[1])
    lo = None if not np.isfinite(low) else _q(Fraction(low))
    hi = None if not np.isfinite(high) else _q(Fraction(high))

    zero = fmpq(0)
    slope = [zero] * m
    intercept = list(tail[1])
    events: list[tuple[fmpq, int, int]] = []  # (x, unit, its piece after crossing x)
    for i, (ai, ci) in enumerate(zip(a, c)):
        w = weights[i]
        if ai == 0:
            value = _q(backend.apply(fn, _f(ci)))
            intercept = [t + value * wj for t, wj in zip(intercept, w)]
            continue
        if lo is None:
            piece = 0 if ai > 0 else len(kinks)
        else:
            t = ai * lo + ci
            piece = bisect.bisect_right(kinks, t) if ai > 0 else bisect.bisect_left(kinks, t)
        s, b = laws[piece]
        slope = [u + s * ai * wj for u, wj in zip(slope, w)]
        intercept = [u + (s * ci + b) * wj for u, wj in zip(intercept, w)]
        for j, kink in enumerate(kinks):
            x = (kink - ci) / ai
            if (lo is None or x > lo) and (hi is None or x < hi):
                events.append((x, i, j + 1 if ai > 0 else j))
    events.sort(key=lambda e: e[0])
    ends: list[Any] = [low]
    slopes, intercepts = [], []
    k = 0
    while k < len(events):
        x = events[k][0]
        ends.append(_f(x))
        slopes.append(slope)
        intercepts.append(intercept)
        slope, intercept = list(slope), list(intercept)
        while k < len(events) and events[k][0] == x:
            _, i, after = events[k]
            before = after - 1 if a[i] > 0 else after + 1
            ds = laws[after][0] - laws[before][0]
            dt = laws[after][1] - laws[before][1]
            if ds or dt:
                gain, shift = ds * a[i], ds * c[i] + dt
                for j, wj in enumerate(weights[i]):
                    if wj:
                        slope[j] += gain * wj
                        intercept[j] += shift * wj
            k += 1
    ends.append(high)
    slopes.append(slope)
    intercepts.append(intercept)
    return _pieces(ends, slopes, intercepts)


# --- any depth: splitting ------------------------------------------------------------------

def _continuous(kinks: list[fmpq], laws: list[tuple[fmpq, fmpq]]) -> bool:
    return all(laws[j][0] * k + laws[j][1] == laws[j + 1][0] * k + laws[j + 1][1]
               for j, k in enumerate(kinks))


def _activate(kinks: list[fmpq], laws: list[tuple[fmpq, fmpq]], xs: list[fmpq],
              values: list[list[fmpq]], rays: list[tuple[int, list[fmpq]] | None]
              ) -> tuple[list[fmpq], list[list[fmpq]], list[tuple[int, list[fmpq]] | None]]:
    """One continuous piecewise-linear activation on every vertex: each segment (and ray)
    split where a unit meets a kink, then the function applied; rays' derivatives follow the
    piece each unit ends on."""
    new_xs: list[fmpq] = []
    new_values: list[list[fmpq]] = []

    def add_splits(x0: fmpq, v0: list[fmpq], dx: fmpq, dv: list[fmpq], ray: bool) -> None:
        # points x0 + lam*dx, lam in (0, 1) (or (0, inf) on a ray), where v0 + lam*dv meets a kink
        lams = set()
        for va, d in zip(v0, dv):
            if d:
                for k in kinks:
                    lam = (k - va) / d
                    if lam > 0 and (ray or lam < 1):
                        lams.add(lam)
        for lam in sorted(lams):
            new_xs.append(x0 + lam * dx)
            new_values.append([va + lam * d for va, d in zip(v0, dv)])

    left, right = rays
    if left is not None:  # the left ray, from far left towards xs[0]: direction -1
        d = [-g for g in left[1]]
        before = len(new_xs)
        add_splits(xs[0], values[0], fmpq(-1), d, True)
        new_xs[before:] = new_xs[before:][::-1]
        new_values[before:] = new_values[before:][::-1]
    for j in range(len(xs)):
        new_xs.append(xs[j])
        new_values.append(values[j])
        if j + 1 < len(xs):
            dv = [b - a for a, b in zip(values[j], values[j + 1])]
            add_splits(xs[j], values[j], xs[j + 1] - xs[j], dv, False)
    if right is not None:
        add_splits(xs[-1], values[-1], fmpq(1), right[1], True)

    def law(v: fmpq) -> tuple[fmpq, fmpq]:
        return laws[bisect.bisect_right(kinks, v)]

    out_values = []
    for row in new_values:
        out_row = []
        for v in row:
            s, t = law(v)
            out_row.append(s * v + t)
        out_values.append(out_row)
    out_rays: list[tuple[int, list[fmpq]] | None] = [None, None]
    if left is not None:  # each unit's piece just left of the leftmost vertex
        out_rays[0] = (0, [law(v - g)[0] * g for v, g in zip(new_values[0], left[1])])
    if right is not None:
        out_rays[1] = (len(new_xs) - 1, [law(v + g)[0] * g for v, g in
                                         zip(new_values[-1], right[1])])
    return new_xs, out_values, out_rays


def affine_rows(op: Any, rows: list[list[fmpq]]) -> list[list[fmpq]] | None:
    """``rows`` through a MatMul, BiasAdd or Affine op in FLINT (each row over its own common
    denominator, one integer matrix product); ``None`` for another op."""
    from ..ops import Affine, BiasAdd, MatMul

    if isinstance(op, BiasAdd):
        bias = _dyadic_list(op.bias)
        if None in bias or len(bias) != len(rows[0]):
            return None
        b = [_q(v) for v in bias]
        return [[v + c for v, c in zip(row, b)] for row in rows]
    if not isinstance(op, (MatMul, Affine)):
        return None
    weight = op.in_out if isinstance(op, MatMul) else op.weight
    array = np.asarray(op.in_out.value if isinstance(op, MatMul) else op.weight)
    if array.ndim != 2 or array.shape[0] != len(rows[0]) or not np.all(np.isfinite(array)):
        return None
    matrix, shift = integer_matrix(weight)
    nums: list[Any] = []
    dens: list[Any] = []
    for row in rows:
        common = fmpz(1)
        for v in row:
            common = common.lcm(v.q)
        dens.append(common * (fmpz(1) << shift))
        nums.extend(v.p * (common // v.q) for v in row)
    product = (fmpz_mat(len(rows), len(rows[0]), nums) * matrix).entries()
    m = matrix.ncols()
    out = [[fmpq(product[i * m + j], dens[i]) for j in range(m)] for i in range(len(rows))]
    if isinstance(op, Affine):
        bias = _dyadic_list(op.bias)
        if None in bias or len(bias) != m:
            return None
        b = [_q(v) for v in bias]
        out = [[v + c for v, c in zip(row, b)] for row in out]
    return out


def plan(nodes: tuple[Node, ...]) -> tuple[list[Any] | None, Node | None]:
    """Each node as splitting follows it: the node itself when affine, else the kinks and the
    piece laws of its activation (exact rationals); ``(None, node)`` at the first node that is
    neither affine nor a continuous piecewise-linear activation."""
    steps: list[Any] = []
    for node in nodes:
        if node.op.affine:
            steps.append(node)
            continue
        found = _laws(node.op)
        if found is None:
            return None, node
        kinks = [_q(k) for k in found[0]]
        laws = [(_q(s), _q(t)) for s, t in found[1]]
        if not _continuous(kinks, laws):
            return None, node
        steps.append((kinks, laws))
    return steps, None


def split(graph: Graph, low: float, high: float) -> list[Piece] | None:
    """The exact pieces of a chain of affine ops and continuous piecewise-linear activations
    (ExactLine): ``None`` for any other network."""
    nodes = chain_nodes(graph)
    if nodes is None or not nodes:
        return None
    steps, _ = plan(nodes)
    if steps is None:
        return None
    lo = None if not np.isfinite(low) else _q(Fraction(low))
    hi = None if not np.isfinite(high) else _q(Fraction(high))
    xs = [v for v in (lo, hi) if v is not None] or [fmpq(0)]
    values = [[x] for x in xs]
    one = [fmpq(1)]
    rays: list[tuple[int, list[fmpq]] | None] = [None if lo is not None else (0, one),
                                                 None if hi is not None else (0, one)]
    backend = ExactBackend()
    shape = graph.input_shapes[0]
    name = graph.inputs[0]
    for step, node in zip(steps, nodes):
        if isinstance(step, Node):
            ray_rows = [r[1] for r in rays if r is not None]
            rows = values + ray_rows + [[fmpq(0)] * len(values[0])]
            out_rows = affine_rows(step.op, rows)
            if out_rows is None:  # another affine op: run on the exact backend
                out = run_nodes((step,), (name,), backend, [_batch(shape, rows)])[step.output]
                if backend.inexact:
                    return None
                out_rows = _rows(out)
            zero = out_rows[-1]
            values = out_rows[:len(values)]
            derivs = iter(out_rows[len(values):-1])
            rays = [None if r is None else (r[0], [v - z for v, z in zip(next(derivs), zero)])
                    for r in rays]
            shape, name = graph.shapes[step.output], step.output
        else:
            xs, values, rays = _activate(step[0], step[1], xs, values, rays)
            shape, name = graph.shapes[node.output], node.output
    return _split_pieces(low, high, xs, values, rays)


def _split_pieces(low: float, high: float, xs: list[fmpq], values: list[list[fmpq]],
                  rays: list[tuple[int, list[fmpq]] | None]) -> list[Piece]:
    ends: list[Any] = []
    slopes, intercepts = [], []
    if rays[0] is not None:
        g = rays[0][1]
        ends.append(low)
        slopes.append(g)
        intercepts.append([v - d * xs[0] for v, d in zip(values[0], g)])
    for j in range(len(xs) - 1):
        width = xs[j + 1] - xs[j]
        s = [(b - a) / width for a, b in zip(values[j], values[j + 1])]
        ends.append(low if j == 0 and rays[0] is None else _f(xs[j]))
        slopes.append(s)
        intercepts.append([a - d * xs[j] for a, d in zip(values[j], s)])
    if rays[1] is not None:
        g = rays[1][1]
        ends.append(low if not ends else _f(xs[-1]))
        slopes.append(g)
        intercepts.append([v - d * xs[-1] for v, d in zip(values[-1], g)])
    ends.append(high)
    return _pieces(ends, slopes, intercepts)
