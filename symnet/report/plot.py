"""The function of a one-input piecewise-linear network, as a deterministic SVG."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

__all__ = ["plot_svg"]


def plot_svg(net: Any, x: Any = None, target: Any = None, domain: Any = None) -> str:
    """The network on ``domain`` (default: around its breakpoints), its breakpoints, the sample
    ``x`` and the ``target`` when given; SVG text with no date and stable ids."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [float(b) for b in net.breakpoints(exact=False)]
    if domain is not None:
        low, high = (float(v) for v in domain)
    else:
        span = [*points, *([] if x is None else [float(np.ravel(x)[0])])] or [0.0]
        low, high = min(span) - 2.0, max(span) + 2.0
    grid = np.union1d(np.linspace(low, high, 801), [p for p in points if low <= p <= high])
    values = np.asarray(net.evaluate(grid.reshape(-1, 1), "float64"), np.float64)[:, 0]
    with matplotlib.rc_context({"svg.hashsalt": "symnet", "svg.fonttype": "path"}):
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        ax.plot(grid, values, color="#1f5fa8", label=str(net.outputs[0]))
        inside = [p for p in points if low <= p <= high]
        if inside:
            ys = np.asarray(net.evaluate(np.reshape(inside, (-1, 1)), "float64"))[:, 0]
            ax.plot(inside, ys, "o", color="#c0392b", markersize=3, label="breakpoints")
        if target is not None:
            _, fn = _target(net, target)
            ax.plot(grid, fn(grid.reshape(-1, 1)), "--", color="#555", label=f"target {target}")
        if x is not None:
            x0 = float(np.ravel(x)[0])
            ax.axvline(x0, color="#999", linewidth=0.8)
        ax.set_xlabel(str(net.inputs[0]))
        ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
        plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def _target(net: Any, target: Any) -> Any:
    from ..explanation import _target_function

    return _target_function(net, target)
