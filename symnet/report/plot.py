"""The function of a one-input piecewise-linear network, as a deterministic SVG.

Drawn with matplotlib's object API (a ``Figure`` and its SVG canvas): no pyplot, no backend
switched for the process.
"""

from __future__ import annotations

import io

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from .sections import Curve, RegionMap

__all__ = ["plot_svg", "regions_svg"]


def plot_svg(curve: Curve) -> str:
    """The curve, its breakpoints, the sample and the target: SVG text with no date and stable
    ids."""
    fig = Figure(figsize=(6.4, 3.6))
    FigureCanvasSVG(fig)
    ax = fig.subplots()
    ax.plot(curve.grid, curve.values, color="#1f5fa8", label=curve.y_name)
    if curve.breakpoints.size:
        ax.plot(curve.breakpoints, curve.break_values, "o", color="#c0392b", markersize=3,
                label="breakpoints")
    if curve.target is not None:
        ax.plot(curve.grid, curve.target, "--", color="#555", label=curve.target_label)
    if curve.sample is not None and curve.sample_value is not None:
        ax.axvline(curve.sample, color="#999", linewidth=0.8)
        ax.plot([curve.sample], [curve.sample_value], "o", color="#1f5fa8", markersize=6,
                label=f"{curve.y_name}({curve.sample:g}) = {curve.sample_value:.7g}")
        if curve.target_at_sample is not None:
            ax.plot([curve.sample], [curve.target_at_sample], "s", markerfacecolor="none",
                    color="#555", markersize=7,
                    label=f"target at {curve.sample:g}: {curve.target_at_sample:.7g}")
    ax.set_xlabel(curve.x_name)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return _svg(fig)


def regions_svg(section: RegionMap) -> str:
    """The exact linear regions of a two-input network as a map: each polygon coloured by the
    output at its centre, outlined, with the input marked."""
    from matplotlib.collections import PolyCollection

    fig = Figure(figsize=(5.2, 4.4))
    FigureCanvasSVG(fig)
    ax = fig.subplots()
    polygons = [[[float(u), float(v)] for u, v in r.vertices] for r in section.regions]
    if section.classes:  # a classifier: the cells of each predicted class
        from matplotlib.patches import Patch

        colours = matplotlib.colormaps["tab10"]
        cells = [([[float(u), float(v)] for u, v in corners], k) for corners, k in section.classes]
        ax.add_collection(PolyCollection([corners for corners, _ in cells],
                                         facecolors=[colours(k % 10) for _, k in cells],
                                         edgecolors="none", alpha=0.55))
        ax.add_collection(PolyCollection(polygons, facecolors="none", edgecolors="white",
                                         linewidths=0.5))
        shown = sorted({k for _, k in cells})
        ax.legend(handles=[Patch(color=colours(k % 10), alpha=0.55, label=f"class {k}")
                           for k in shown], loc="upper left", fontsize=7,
                  bbox_to_anchor=(1.02, 1.0))
    else:
        centres = [[sum(v[0] for v in p) / len(p), sum(v[1] for v in p) / len(p)]
                   for p in polygons]
        laws = [[float(v) for v in r.law(section.output_index)] for r in section.regions]
        values = [law[0] * c[0] + law[1] * c[1] + law[2] for law, c in zip(laws, centres)]
        collection = PolyCollection(polygons, array=values, cmap="coolwarm",
                                    edgecolors="white", linewidths=0.6)
        ax.add_collection(collection)
        fig.colorbar(collection, ax=ax, label=f"{section.output} at the region's centre")
    (a, b), (c, d) = section.box
    ax.set_xlim(a, b)
    ax.set_ylim(c, d)
    if section.holding_x is not None:
        ax.add_collection(PolyCollection([polygons[section.holding_x]], facecolors="none",
                                         edgecolors="black", linewidths=1.4))
    if section.x is not None:
        ax.plot([section.x[0]], [section.x[1]], "o", color="black", markersize=5)
        ax.annotate("x", (section.x[0], section.x[1]), textcoords="offset points",
                    xytext=(4, 4), fontsize=8)
    ax.set_xlabel(str(section.inputs[0]))
    ax.set_ylabel(str(section.inputs[1]))
    ax.set_title(f"{len(section.regions)} linear regions", fontsize=10)
    return _svg(fig)


def _svg(fig: Figure) -> str:
    """The figure as SVG text for a page: no date, stable ids, no RDF metadata block."""
    buffer = io.StringIO()
    # rc_context restores the settings on exit: ids salted for byte-identical output.
    with matplotlib.rc_context({"svg.hashsalt": "symnet", "svg.fonttype": "path"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    start, end = svg.find("<metadata>"), svg.find("</metadata>")
    if 0 <= start < end:
        svg = svg[:start] + svg[end + len("</metadata>"):]
    return svg
