"""The exact linear regions of a two-input piecewise-linear network on a box.

Splitting, as :func:`symnet.analysis.exactline.split` does on a line, in the plane: the box is
pushed through the network layer by layer as convex polygons, each vertex holding the current
layer's values there (the network so far is affine on each polygon, so the vertices determine
it). At an activation, each polygon is cut along every line where a unit meets a kink; the new
vertices' coordinates and values are interpolated exactly along the edges they cut. Then each
polygon's affine law follows from three of its vertices. Everything is rational (FLINT's
``fmpq``), returned as ``Fraction``\\ s: unlike a region map drawn by sampling, no region is
missed and every vertex is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from flint import fmpq

from ..backends.exact import ExactBackend
from ..backends.rational import fmpq_rows, fraction_batch, to_fmpq, to_fraction
from ..errors import InvalidInputError, UnsupportedLayerError
from ..graph import Graph, Node, run_nodes
from .exactline import affine_rows, chain_nodes, plan
from .geometry import area, clip

__all__ = ["Region", "checked_box", "class_cells", "regions2d"]

Point = tuple[fmpq, fmpq]


@dataclass(frozen=True, eq=False)
class Region:
    """A convex polygon of the input plane on which the network is ``f(x) = A x + b``."""

    vertices: tuple[tuple[Fraction, Fraction], ...]
    """Its corners, counter-clockwise, exact."""
    slope: np.ndarray
    """``A``: one row per output, one column per input (``Fraction``)."""
    intercept: np.ndarray
    """``b``: one per output (``Fraction``)."""
    logits: bool = False
    """The laws are a classifier's logits (the input of its final softmax), not its
    probabilities."""

    @property
    def area(self) -> Fraction:
        return Fraction(area(list(self.vertices)))

    def law(self, output: int = 0) -> tuple[Fraction, Fraction, Fraction]:
        """``(a_1, a_2, b)``: output ``output`` is ``a_1 x_1 + a_2 x_2 + b`` here."""
        return (self.slope[output][0], self.slope[output][1], self.intercept[output])


def checked_box(box: Any) -> tuple[tuple[float, float], tuple[float, float]]:
    """``((x_low, x_high), (y_low, y_high))`` as floats, or an ``InvalidInputError`` saying
    what a box is."""
    x0, x1, y0, y1 = (float(Fraction(int(v.p), int(v.q))) for v in _box(box))
    return (x0, x1), (y0, y1)


def _box(box: Any) -> tuple[fmpq, fmpq, fmpq, fmpq]:
    try:
        (x0, x1), (y0, y1) = ((float(a), float(b)) for a, b in box)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"box must be ((x_low, x_high), (y_low, y_high)), received "
                                f"{box!r}") from exc
    if not all(np.isfinite(v) for v in (x0, x1, y0, y1)) or not (x0 < x1 and y0 < y1):
        raise InvalidInputError(f"box needs finite ends with low < high, received {box!r}")
    return tuple(to_fmpq(Fraction(v)) for v in (x0, x1, y0, y1))  # type: ignore[return-value]


def _cut(polygon: list[Point], values: dict[Point, list[fmpq]], unit: int, k: fmpq
         ) -> list[list[Point]]:
    """``polygon`` cut along ``values[p][unit] == k`` (affine on it): one or two polygons."""
    d = [values[p][unit] - k for p in polygon]
    if all(v >= 0 for v in d) or all(v <= 0 for v in d):
        return [polygon]
    above: list[Point] = []
    below: list[Point] = []
    n = len(polygon)
    for i in range(n):
        p, dp = polygon[i], d[i]
        if dp >= 0:
            above.append(p)
        if dp <= 0:
            below.append(p)
        q, dq = polygon[(i + 1) % n], d[(i + 1) % n]
        if dp * dq < 0:
            t = dp / (dp - dq)
            point = (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]))
            if point not in values:
                values[point] = [a + t * (b - a) for a, b in zip(values[p], values[q])]
            above.append(point)
            below.append(point)
    return [side for side in (above, below) if len(side) >= 3]


def _law(polygon: list[Point], values: dict[Point, list[fmpq]]
         ) -> tuple[list[list[fmpq]], list[fmpq]]:
    """``A`` (outputs x 2) and ``b`` with ``values[p] == A p + b`` on the polygon's vertices."""
    p0, p1 = polygon[0], polygon[1]
    for p2 in polygon[2:]:
        det = (p1[0] - p0[0]) * (p2[1] - p0[1]) - (p2[0] - p0[0]) * (p1[1] - p0[1])
        if det != 0:
            break
    slopes, intercepts = [], []
    for v0, v1, v2 in zip(values[p0], values[p1], values[p2]):
        a1 = ((v1 - v0) * (p2[1] - p0[1]) - (v2 - v0) * (p1[1] - p0[1])) / det
        a2 = ((p1[0] - p0[0]) * (v2 - v0) - (p2[0] - p0[0]) * (v1 - v0)) / det
        slopes.append([a1, a2])
        intercepts.append(v0 - a1 * p0[0] - a2 * p0[1])
    return slopes, intercepts


def regions2d(graph: Graph, box: Any, *, logits: bool = False) -> list[Region]:
    """The linear regions of a two-input network on ``box`` = ``((x_low, x_high), (y_low,
    y_high))``: convex polygons with rational vertices covering the box, each with its affine
    law. For chains of affine ops and continuous piecewise-linear activations
    (``UnsupportedLayerError`` otherwise). ``logits``: a final softmax is left out, so that a
    classifier's regions carry the laws of its logits (the softmax keeps their order)."""
    if len(graph.features) != 2 or len(graph.inputs) != 1:
        raise InvalidInputError(f"regions2d needs a network with two inputs; this one has "
                                f"{len(graph.features)}")
    x0, x1, y0, y1 = _box(box)
    nodes = chain_nodes(graph)
    if nodes is None:
        raise UnsupportedLayerError("regions2d needs a chain of layers")
    if logits:
        from ..ops.activations import Softmax

        if not nodes or not isinstance(nodes[-1].op, Softmax) or nodes[-1].op.log:
            raise UnsupportedLayerError("logits=True needs a network that ends with a softmax")
        nodes = nodes[:-1]
    steps, refused = plan(nodes)
    if steps is None:
        assert refused is not None  # plan names the node it stopped at
        raise UnsupportedLayerError(
            f"regions2d follows affine layers and continuous piecewise-linear activations; "
            f"layer {refused.layer!r} is neither", layer=refused.layer)
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    values: dict[Point, list[fmpq]] = {p: [p[0], p[1]] for p in corners}
    polygons = [corners]
    backend = ExactBackend()
    shape, name = graph.input_shapes[0], graph.inputs[0]
    for step, node in zip(steps, nodes):
        if isinstance(step, Node):
            points = list(values)
            rows = [values[p] for p in points]
            out_rows = affine_rows(step.op, rows)
            if out_rows is None:
                batch = fraction_batch(shape, rows)
                out = run_nodes((step,), (name,), backend, [batch])[step.output]
                if backend.inexact:
                    raise UnsupportedLayerError(
                        f"layer {step.layer!r} is not exact in rational arithmetic",
                        layer=step.layer)
                out_rows = fmpq_rows(out)
            values = dict(zip(points, out_rows))
        else:
            kinks, laws = step
            for unit in range(len(next(iter(values.values())))):
                for k in kinks:
                    polygons = [part for polygon in polygons
                                for part in _cut(polygon, values, unit, k)]
            used = {p for polygon in polygons for p in polygon}
            values = {p: [_apply(kinks, laws, v) for v in values[p]] for p in used}
        shape, name = graph.shapes[node.output], node.output
    regions = []
    for polygon in polygons:
        slopes, intercepts = _law(polygon, values)
        slope = np.empty((len(slopes), 2), dtype=object)
        for i, row in enumerate(slopes):
            slope[i] = [to_fraction(v) for v in row]
        intercept = np.empty(len(intercepts), dtype=object)
        intercept[:] = [to_fraction(v) for v in intercepts]
        regions.append(Region(tuple((to_fraction(a), to_fraction(b)) for a, b in polygon), slope,
                              intercept, logits))
    return regions


def _apply(kinks: list[fmpq], laws: list[tuple[fmpq, fmpq]], v: fmpq) -> fmpq:
    import bisect

    s, t = laws[bisect.bisect_right(kinks, v)]
    return s * v + t


def class_cells(regions: list[Region]) -> list[tuple[tuple[tuple[Fraction, Fraction], ...], int]]:
    """Where each class wins: every region cut, exactly, into the convex cells on which one
    output (a logit) is the largest — ``(corners, class)`` pairs; their borders are the
    decision boundary."""
    cells = []
    for region in regions:
        k = len(region.intercept)
        for c in range(k):
            polygon = list(region.vertices)
            for j in range(k):
                if j == c or not polygon:
                    continue
                # keep l_c - l_j >= 0: the cells meet on the lines of equal logits
                a = region.slope[c][0] - region.slope[j][0]
                b = region.slope[c][1] - region.slope[j][1]
                d = region.intercept[c] - region.intercept[j]
                polygon = clip(polygon, a, b, d)
            if len(polygon) >= 3 and area(polygon) > 0:
                cells.append((tuple(polygon), c))
    return cells
