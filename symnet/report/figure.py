"""``net.plot(...)``: a matplotlib ``Figure`` an author saves as PDF, PGF or SVG.

- a network of one input: its function on an interval, with its exact breakpoints (a
  piecewise-linear network), a target and data points;
- a network of two inputs: its exact linear regions on a box — each region coloured by the
  output at its centre — or, for a classifier (a softmax after piecewise-linear layers), the
  exact cells of each predicted class with the decision boundary drawn, and data points.

Only matplotlib's object API: a ``Figure`` of its own, never pyplot's current figure or a
backend switched for the process.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidInputError, UnsupportedLayerError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..analysis.regions2d import Region
    from ..network import Network

__all__ = ["class_map", "plot"]


def plot(net: Network, box: Any = None, *, data: Any = None, labels: Any = None,
         target: Any = None, x: Any = None, output: int | None = None,
         regions: bool = True, ax: Axes | None = None,
         figsize: tuple[float, float] | None = None) -> Figure:
    """The figure of ``net``; see :meth:`symnet.Network.plot`."""
    features = len(net.inputs)
    if features == 1:
        return _function(net, box, data=data, target=target, x=x, output=output, ax=ax,
                         figsize=figsize)
    if features == 2 and len(net.input_shapes) == 1:
        if target is not None:
            raise InvalidInputError("target: a target is drawn for a network of one input")
        return _regions(net, box, data=data, labels=labels, x=x, output=output,
                        edges=regions, ax=ax, figsize=figsize)
    raise InvalidInputError(f"plot draws networks of one or two inputs; this one has "
                            f"{features}")


def _axes(ax: Axes | None, figsize: tuple[float, float] | None,
          default: tuple[float, float]) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    if ax is not None:
        if figsize is not None:
            raise InvalidInputError("give either ax (drawn into) or figsize (a new figure)")
        return ax.figure, ax  # type: ignore[return-value]
    fig = Figure(figsize=figsize or default, layout="constrained")
    return fig, fig.subplots()


def _interval(box: Any) -> tuple[float, float] | None:
    if box is None:
        return None
    try:
        low, high = (float(v) for v in box)
    except (TypeError, ValueError):
        raise InvalidInputError(f"a one-input network is drawn on an interval (low, high), "
                                f"received {box!r}") from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise InvalidInputError(f"the interval needs finite ends with low < high, received "
                                f"{box!r}")
    return low, high


def _points(data: Any, columns: int) -> np.ndarray:
    try:
        arr = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError("data: expected numbers, one row per point") from None
    if columns == 1 and arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != columns:
        raise InvalidInputError(f"data: expected points of {columns} coordinate(s), one row "
                                f"per point; received an array of shape {arr.shape}")
    return arr


def _function(net: Network, box: Any, *, data: Any, target: Any, x: Any,
              output: int | None, ax: Axes | None,
              figsize: tuple[float, float] | None) -> Figure:
    """The function of a one-input network, its breakpoints, a target, data points."""
    from ..analysis.explanation import target_function
    from ..analysis.piecewise import network_pieces
    from ..backends import FloatBackend

    graph = net.graph
    interval = _interval(box)
    outputs = range(len(net.outputs)) if output is None else [_output(net, output)]
    breaks = np.zeros(0)
    if graph.piecewise_linear:
        pieces = network_pieces(graph, interval)
        breaks = np.array([float(p.low) for p in pieces[1:]])
    if interval is None:
        span = [*breaks.tolist()]
        if x is not None:
            span.append(float(np.ravel(np.asarray(x, np.float64))[0]))
        if data is not None:
            span += _points(np.asarray(data, dtype=object)[0] if isinstance(data, tuple)
                            else data, 1)[:, 0].tolist()
        span = span or [0.0]
        interval = (min(span) - 2.0, max(span) + 2.0)
    low, high = interval
    inside = breaks[(breaks >= low) & (breaks <= high)]
    grid = np.union1d(np.linspace(low, high, 801), inside)

    def evaluate(xs: np.ndarray) -> np.ndarray:
        values = graph.run(FloatBackend(np.float64), graph.batch(xs.reshape(-1, 1)))
        return graph.output_values(values)

    fig, axes = _axes(ax, figsize, (6.4, 4.0))
    values = evaluate(grid)
    at_breaks = evaluate(inside) if inside.size else np.zeros((0, values.shape[1]))
    for k in outputs:
        name = f"${_tex(net.outputs[k])}$"
        line, = axes.plot(grid, values[:, k], label=name)
        if inside.size:
            axes.plot(inside, at_breaks[:, k], "o", color=line.get_color(), markersize=3)
    if inside.size:
        axes.plot([], [], "o", color="0.3", markersize=3, label="breakpoints (exact)")
    if target is not None:
        shown, fn = target_function(graph, target)
        axes.plot(grid, fn(grid.reshape(-1, 1)), "--", color="0.35",
                  label=f"target ${_tex(shown)}$" if not callable(shown) else "target")
    if data is not None:
        if isinstance(data, tuple) and len(data) == 2:
            xs = _points(data[0], 1)[:, 0]
            ys = np.asarray(data[1], dtype=np.float64).reshape(-1)
            if ys.size != xs.size:
                raise InvalidInputError(f"data: {xs.size} inputs but {ys.size} outputs")
        else:
            xs = _points(data, 1)[:, 0]
            ys = evaluate(xs)[:, 0 if output is None else outputs[0]]
        axes.plot(xs, ys, "o", color="black", markersize=3, alpha=0.6, label="data")
    if x is not None:
        x0 = float(np.ravel(np.asarray(x, np.float64))[0])
        axes.axvline(x0, color="0.6", linewidth=0.8)
    axes.set_xlim(low, high)
    axes.set_xlabel(f"${_tex(net.inputs[0])}$")
    axes.legend(loc="best", fontsize="small")
    axes.grid(alpha=0.3)
    return fig


def _output(net: Network, output: int) -> int:
    count = len(net.outputs)
    if isinstance(output, bool) or not isinstance(output, (int, np.integer)) or \
            not 0 <= int(output) < count:
        raise InvalidInputError(f"output must be an index from 0 to {count - 1}, received "
                                f"{output!r}")
    return int(output)


def _tex(expr: Any) -> str:
    from ..printing.latex import latex

    return latex(expr)


def _box(net: Network, box: Any, data: np.ndarray | None, x: Any
         ) -> tuple[tuple[float, float], tuple[float, float]]:
    """The box drawn: the author's, else around the data (a tenth of their span added),
    else ``x ± 2·max(1, |x|)``, else ``[-3, 3]²``."""
    from ..analysis.regions2d import checked_box

    if box is not None:
        return checked_box(box)
    if data is not None and len(data):
        low, high = data.min(axis=0), data.max(axis=0)
        pad = np.maximum(0.1 * (high - low), 0.1)
        return ((float(low[0] - pad[0]), float(high[0] + pad[0])),
                (float(low[1] - pad[1]), float(high[1] + pad[1])))
    if x is not None:
        point = np.ravel(np.asarray(x, np.float64))
        (a, b), (c, d) = ((float(v - 2 * max(1.0, abs(v))), float(v + 2 * max(1.0, abs(v))))
                          for v in point)
        return (a, b), (c, d)
    return (-3.0, 3.0), (-3.0, 3.0)


def class_map(regions: list[Region]) -> tuple[list[tuple[list[tuple[Fraction, Fraction]], int]],
                                              list[tuple[tuple[Fraction, Fraction], ...]]]:
    """A classifier's exact class cells (each region cut where another logit takes over) and
    the decision boundary: the cells' edges inside a region (segments, exact)."""
    from ..analysis.regions2d import class_cells

    cells: list[tuple[list[tuple[Fraction, Fraction]], int]] = []
    boundary: dict[frozenset[tuple[Fraction, Fraction]], tuple[tuple[Fraction, Fraction], ...]] = {}
    for region in regions:
        outline = list(region.vertices)
        for corners, c in class_cells([region]):
            polygon = list(corners)
            cells.append((polygon, c))
            for i in range(len(polygon)):
                p, q = polygon[i], polygon[(i + 1) % len(polygon)]
                if not _on_outline(p, q, outline):
                    boundary.setdefault(frozenset((p, q)), (p, q))
    return cells, list(boundary.values())


def _on_outline(p: tuple[Any, Any], q: tuple[Any, Any], outline: list[tuple[Any, Any]]) -> bool:
    """Whether the segment ``pq`` lies on an edge of the convex polygon ``outline``."""
    n = len(outline)
    for i in range(n):
        a, b = outline[i], outline[(i + 1) % n]
        ex, ey = b[0] - a[0], b[1] - a[1]
        if all(ex * (r[1] - a[1]) - ey * (r[0] - a[0]) == 0 for r in (p, q)):
            return True
    return False


def _regions(net: Network, box: Any, *, data: Any, labels: Any, x: Any, output: int | None,
             edges: bool, ax: Axes | None, figsize: tuple[float, float] | None) -> Figure:
    """The exact region map of a two-input network (a classifier: its class cells and
    decision boundary), with data points."""
    import matplotlib
    from matplotlib.collections import LineCollection, PolyCollection

    points = None if data is None else _points(data, 2)
    drawn = _box(net, box, points, x)
    try:
        regions = net.regions2d(drawn)
    except UnsupportedLayerError as exc:
        raise UnsupportedLayerError(f"plot draws the exact regions of a piecewise-linear "
                                    f"network (or of a classifier's logits): {exc}") from None
    fig, axes = _axes(ax, figsize, (5.2, 4.4))
    polygons = [[(float(u), float(v)) for u, v in r.vertices] for r in regions]
    classifier = bool(regions) and regions[0].logits
    colours = matplotlib.colormaps["tab10"]
    if classifier:
        cells, boundary = class_map(regions)
        classes = np.array([k for _, k in cells])
        cmap = matplotlib.colors.ListedColormap([colours(k % 10) for k in
                                                  range(len(net.outputs))])
        patches = PolyCollection([[(float(u), float(v)) for u, v in p] for p, _ in cells],
                                 array=classes, cmap=cmap, edgecolors="none", alpha=0.35)
        patches.set_clim(-0.5, len(net.outputs) - 0.5)
        patches.set_gid("symnet-classes")
        axes.add_collection(patches)
        if edges:
            axes.add_collection(PolyCollection(polygons, facecolors="none",
                                               edgecolors="white", linewidths=0.4))
        lines = LineCollection([[(float(p[0]), float(p[1])), (float(q[0]), float(q[1]))]
                                for p, q in boundary], colors="black", linewidths=1.2)
        lines.set_gid("symnet-boundary")
        axes.add_collection(lines)
        from matplotlib.patches import Patch

        shown = sorted({int(k) for k in classes})
        handles: list[Any] = [Patch(facecolor=colours(k % 10), alpha=0.35, label=f"class {k}")
                              for k in shown]
        handles.append(matplotlib.lines.Line2D([], [], color="black", linewidth=1.2,
                                               label="decision boundary"))
        axes.legend(handles=handles, loc="best", fontsize="small")
    else:
        k = 0 if output is None else _output(net, output)
        centres = [np.mean(np.array(p), axis=0) for p in polygons]
        values = [float(r.law(k)[0]) * c[0] + float(r.law(k)[1]) * c[1] + float(r.law(k)[2])
                  for r, c in zip(regions, centres)]
        patches = PolyCollection(polygons, array=np.array(values), cmap="coolwarm",
                                 edgecolors="white" if edges else "face", linewidths=0.5)
        patches.set_gid("symnet-regions")
        axes.add_collection(patches)
        fig.colorbar(patches, ax=axes, label=f"${_tex(net.outputs[k])}$ at the region's centre")
    if points is not None:
        if labels is not None:
            classes = np.asarray(labels).reshape(-1)
            if classes.size != len(points):
                raise InvalidInputError(f"labels: {classes.size} labels for {len(points)} "
                                        f"points")
            axes.scatter(points[:, 0], points[:, 1], c=[colours(int(c) % 10) for c in classes],
                         s=9, edgecolors="black", linewidths=0.3, zorder=3)
        else:
            axes.scatter(points[:, 0], points[:, 1], c="black", s=6, zorder=3)
    if x is not None:
        point = np.ravel(np.asarray(x, np.float64))
        axes.plot([point[0]], [point[1]], "*", color="black", markersize=9, zorder=4)
    (a, b), (c, d) = drawn
    axes.set_xlim(a, b)
    axes.set_ylim(c, d)
    axes.set_xlabel(f"${_tex(net.inputs[0])}$")
    axes.set_ylabel(f"${_tex(net.inputs[1])}$")
    return fig
