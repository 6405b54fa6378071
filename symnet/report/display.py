"""The display hooks of symnet's records (:mod:`symnet.display`): their Jupyter display and
their summaries, printed by the report's printers. Importing this module registers them."""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np
import sympy as sp

from ..analysis.backtrace import BackwardTrace
from ..analysis.explanation import Explanation, Trace, TraceStep
from ..analysis.forms import round_floats
from ..display import register
from ..escape import html_text, tex_text
from ..graph import LayerFormula
from ..homework.verdict import Verdict
from ..network import Network
from ..printing.latex import latex
from .html import HtmlPrinter, mathml
from .json import JsonPrinter
from .printer import printer_settings
from .sections import Report
from .text import TextReportPrinter

__all__: list[str] = []


# --- the hand calculation -----------------------------------------------------------------

@register("latex", Trace)
def trace_latex(trace: Trace) -> str:
    lines = [f"{latex(s.formula.lhs)} &= {latex(s.substituted)}" for s in trace.steps]
    return r"$$\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}$$"


@register("html", Trace)
def trace_html(trace: Trace) -> str:
    """Each layer's formula and its numbers (in, before the activation, out), as the HTML
    report prints them."""
    return HtmlPrinter().doprint(trace)


@register("latex", TraceStep)
def step_latex(step: TraceStep) -> str:
    return "$$" + latex(sp.Eq(step.formula.lhs, step.substituted, evaluate=False)) + "$$"


@register("html", TraceStep)
def step_html(step: TraceStep) -> str:
    return trace_html(Trace(input=step.inputs[0] if step.inputs else np.zeros(0),
                            steps=(step,)))


@register("latex", BackwardTrace)
def backward_trace_latex(trace: BackwardTrace) -> str:
    """The backward trace's formulas: each layer's δ and each weight's gradient."""
    lines = []
    for s in trace.steps:
        for q in (s.delta, *s.parameters):
            if q.formula is None:
                continue
            left = (rf"\frac{{\partial L}}{{\partial {latex(q.symbol)}}}" if q.gradient
                    else latex(q.symbol))
            lines.append(f"{left} &= {latex(q.formula)}")
    return r"$$\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}$$"


# --- why ------------------------------------------------------------------------------------

@register("text", Explanation)
def explanation_text(explanation: Explanation) -> str:
    return "\n".join(TextReportPrinter()._print(explanation)) + "\n"


@register("data", Explanation)
def explanation_data(explanation: Explanation) -> dict[str, Any]:
    return JsonPrinter()._print(explanation)


@register("html", Explanation)
def explanation_html(explanation: Explanation) -> str:
    return f"<pre>{escape(explanation_text(explanation))}</pre>"


@register("latex", Explanation)
def explanation_latex(explanation: Explanation) -> str:
    if explanation.local_law is None:
        return f"$${latex(explanation.output)} = {explanation.value:.7g}$$"
    return f"$${latex(explanation.output)} = {latex(round_floats(explanation.local_law, 7))}$$"


# --- layers and networks --------------------------------------------------------------------

@register("latex", LayerFormula)
def layer_latex(layer: LayerFormula) -> str:
    return "$$" + latex(layer.formula) + "$$"


@register("html", LayerFormula)
def layer_html(layer: LayerFormula) -> str:
    params = "".join(f"<li>{html_text(p.symbol or p.name)}: {html_text(p.meaning, None)}</li>"
                     for p in layer.params)
    return (f"<p><code>{html_text(layer.name)}</code> ({html_text(layer.kind)}), "
            f"{layer.param_count:,} parameters</p>{mathml(latex(layer.formula))}"
            f"<ul>{params}</ul>")


@register("latex", Network)
def network_latex(net: Network) -> str:
    return "$$" + latex(net.structural_form()) + "$$"


@register("html", Network)
def network_html(net: Network) -> str:
    rows = "".join(f"<tr><td><code>{html_text(lay.name)}</code></td><td>{lay.kind}</td>"
                   f"<td>{lay.output_shape}</td><td>{lay.param_count:,}</td></tr>"
                   for lay in net.layers)
    return (f"<p><b>{html_text(net.name)}</b>: {net.param_count:,} parameters</p>"
            f"<table><tr><th>layer</th><th>kind</th><th>output</th><th>params</th></tr>"
            f"{rows}</table>{mathml(latex(net.structural_form()))}")


# --- verdicts -------------------------------------------------------------------------------

@register("text", Verdict)
def verdict_text(verdict: Verdict) -> str:
    return "\n".join(TextReportPrinter()._print(verdict)) + "\n"


@register("data", Verdict)
def verdict_data(verdict: Verdict) -> dict[str, Any]:
    return JsonPrinter()._print(verdict)


@register("html", Verdict)
def verdict_html(verdict: Verdict) -> str:
    return "<pre>" + html_text(verdict.summary(), None) + "</pre>"


@register("latex", Verdict)
def verdict_latex(verdict: Verdict) -> str:
    return r"$\text{" + ("correct" if verdict.correct else "wrong") + ": " + \
        tex_text(verdict.diagnosis.code) + "}$"


# --- the report -----------------------------------------------------------------------------

@register("data", Report)
def report_data(report: Report) -> dict[str, Any]:
    """The report as the JSON printer writes it, with the settings it was built with."""
    return JsonPrinter(printer_settings(report.settings)).report_data(report)
