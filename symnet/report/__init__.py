"""Reports: a typed document built once (:func:`build_report`, :mod:`.sections`), then printed
by one printer per format (:mod:`.printer`).

Printers walk the sections — text, JSON, LaTeX, Markdown, MathML (``latex2mathml`` on the
LaTeX of each formula), HTML — and none re-parses another printer's output or computes an
analysis. Numbers are rounded for display only (the printers' settings); the computation never
is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError
from .model import SCHEMA, ReportSettings, build_report
from .printer import matrix_latex, shape_text
from .sections import SECTIONS, Report

if TYPE_CHECKING:
    from ..network import Network
    from .printer import ReportPrinter

__all__ = ["FORMATS", "PRINTERS", "SCHEMA", "SECTIONS", "Report", "ReportSettings",
           "build_report", "latex_preamble", "matrix_latex", "print_report", "printer", "render",
           "shape_text", "strict_json"]

FORMATS = ("text", "json", "latex", "markdown", "mathml", "html")

PRINTERS = {"text": ("text", "TextReportPrinter"), "json": ("json", "JsonPrinter"),
            "latex": ("latex", "LatexReportPrinter"), "markdown": ("markdown", "MarkdownPrinter"),
            "mathml": ("mathml", "MathMLPrinter"), "html": ("html", "HtmlPrinter")}
"""Format -> (module of :mod:`symnet.report`, printer class): imported when first used."""


def printer(fmt: str, settings: Any = None) -> ReportPrinter[Any]:
    """The printer of format ``fmt`` (one of :data:`FORMATS`) with ``settings`` (a mapping of
    printer settings, or a :class:`ReportSettings`)."""
    import importlib

    from .printer import printer_settings

    if fmt not in PRINTERS:
        raise InvalidInputError(f"format must be one of {', '.join(FORMATS)}, received {fmt!r}")
    module, name = PRINTERS[fmt]
    cls = getattr(importlib.import_module(f".{module}", __name__), name)
    if settings is None or isinstance(settings, ReportSettings):
        settings = printer_settings(settings)
    return cls(settings)  # type: ignore[no-any-return]


def render(net: Network, fmt: str, x: Any = None, *, settings: ReportSettings | None = None,
           target: Any = None, domain: Any = None, output: int | None = None,
           interactive: bool = False, standalone: bool = True, sections: Any = None,
           digits: int | None = None, box: Any = None, **options: Any) -> str:
    """The report of ``net`` in format ``fmt`` (one of :data:`FORMATS`); ``interactive`` (HTML
    only) adds the explorer; ``standalone=False`` gives a fragment for the author's own
    document; ``sections``: only these parts (:data:`SECTIONS`); ``digits``: significant
    digits of every number; ``box``: the region map's box (two inputs); ``options``: the
    printer's other settings (``numbering``, ``symbols``, ``convention``, ``headings``...)."""
    from dataclasses import replace

    from .printer import printer_settings

    if fmt not in FORMATS:
        raise InvalidInputError(f"format must be one of {', '.join(FORMATS)}, received {fmt!r}")
    if interactive and fmt != "html":
        raise InvalidInputError(f"interactive reports are HTML pages, received format {fmt!r}")
    settings = settings or ReportSettings()
    if digits is not None:
        settings = replace(settings, digits=digits)
    if box is not None:
        settings = replace(settings, box=box)
    chosen = printer(fmt, {**printer_settings(settings), "standalone": standalone, **options})
    report = build_report(net, x, settings, target=target, domain=domain, output=output,
                          interactive=interactive, sections=sections)
    return chosen.doprint(report)


def print_report(report: Report, fmt: str, **options: Any) -> str:
    """A report in one format, with the settings it was built with (and ``options``, more
    printer settings)."""
    from .printer import printer_settings

    return printer(fmt, {**printer_settings(report.settings), **options}).doprint(report)


def latex_preamble() -> str:
    """The ``\\usepackage`` lines (and three small macros) LaTeX fragments need; see
    :func:`symnet.report.latex.latex_preamble`."""
    from .latex import latex_preamble as preamble

    return preamble()


def strict_json(value: Any) -> Any:
    """``value`` with every NaN or infinite number replaced by ``None`` (JSON ``null``)."""
    from .json import strict_json as strict

    return strict(value)
