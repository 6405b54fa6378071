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
           "print_report", "render", "shape_text", "strict_json"]

FORMATS = ("text", "json", "latex", "markdown", "mathml", "html")


def render(net: Any, fmt: str, x: Any = None, *, settings: ReportSettings | None = None,
           target: Any = None, domain: Any = None, output: int | None = None,
           interactive: bool = False) -> str:
    """The report of ``net`` in format ``fmt`` (one of :data:`FORMATS`); ``interactive`` (HTML
    only) adds the explorer."""
    if fmt not in FORMATS:
        raise InvalidInputError(f"format must be one of {', '.join(FORMATS)}, received {fmt!r}")
    if interactive and fmt != "html":
        raise InvalidInputError(f"interactive reports are HTML pages, received format {fmt!r}")
    return print_report(build_report(net, x, settings, target=target, domain=domain,
                                     output=output, interactive=interactive), fmt)


def strict_json(value: Any) -> Any:
    """``value`` with every NaN or infinite number replaced by ``None`` (JSON ``null``): strict
    JSON, which ``NaN`` and ``Infinity`` are not."""
    import math

    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def print_report(model: ReportModel, fmt: str) -> str:
    """A report model in one format."""
    data = model.data
    if fmt == "json":
        import json

        return json.dumps(strict_json(data), indent=2, sort_keys=False, ensure_ascii=False,
                          allow_nan=False) + "\n"
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

        explorer = None
        if model.explorer is not None:
            from .explorer import explorer_html

            explorer = explorer_html(model.explorer)
        regions = None
        if data.get("regions") and "regions" in data["regions"]:
            from .plot import regions_svg

            regions = regions_svg(data["regions"])
        return render_html(data, plot=None if model.curve is None else plot_svg(model.curve),
                           explorer=explorer, regions=regions)
    raise InvalidInputError(f"format must be one of {', '.join(FORMATS)}, received {fmt!r}")
