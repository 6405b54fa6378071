"""Reports: the report model, built once (:func:`build_report`), then one printer per format.

Printers walk the model — text, JSON, LaTeX, Markdown, MathML (``latex2mathml`` on the LaTeX of
each formula), HTML — and none re-parses another printer's output or computes anything. Numbers
are rounded for display only (``ReportSettings.digits``); the computation never is.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInputError
from .model import SCHEMA, ReportModel, ReportSettings, build_report, matrix_latex, shape_text

__all__ = ["FORMATS", "SCHEMA", "ReportModel", "ReportSettings", "build_report", "matrix_latex",
           "print_report", "render", "shape_text"]

FORMATS = ("text", "json", "latex", "markdown", "mathml", "html")


def render(net: Any, fmt: str, x: Any = None, *, settings: ReportSettings | None = None,
           target: Any = None, domain: Any = None) -> str:
    """The report of ``net`` in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt not in FORMATS:
        raise InvalidInputError(f"format must be one of {', '.join(FORMATS)}, received {fmt!r}")
    return print_report(build_report(net, x, settings, target=target, domain=domain), fmt)


def print_report(model: ReportModel, fmt: str) -> str:
    """A report model in one format."""
    data = model.data
    if fmt == "json":
        import json

        return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    if fmt == "text":
        from .text import render_text

        return render_text(data)
    if fmt == "latex":
        from .document import render_latex

        return render_latex(data)
    if fmt == "markdown":
        from .document import render_markdown

        return render_markdown(data)
    if fmt == "mathml":
        from .document import render_mathml

        return render_mathml(data)
    if fmt == "html":
        from .html import render_html
        from .plot import plot_svg

        return render_html(data, plot=None if model.curve is None else plot_svg(model.curve))
    raise InvalidInputError(f"format must be one of {', '.join(FORMATS)}, received {fmt!r}")
