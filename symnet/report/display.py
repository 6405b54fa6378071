"""The display hooks of symnet's records (:mod:`symnet.display`): their Jupyter display and
their summaries, printed by the report's printers. Importing this module registers them."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis.backtrace import BackwardTrace
from ..analysis.explanation import Explanation, Trace, TraceStep
from ..analysis.gradients import Gradient
from ..display import register
from ..escape import html_text, tex_text
from ..graph import LayerFormula
from ..homework.verdict import Verdict
from ..network import Network
from ..printing.latex import latex
from ..printing.numbers import default_digits, number_latex
from .html import HtmlPrinter, mathml
from .json import JsonPrinter
from .printer import law_parts, matrix_latex, printer_settings, shown_substitution
from .sections import Backprop, Report, Why
from .text import TextReportPrinter

__all__: list[str] = []


# --- the hand calculation -----------------------------------------------------------------

def _values_latex(value: Any) -> str:
    """A layer's values as a matrix a notebook shows whole when small, else by its corners
    (a 6 x 6 corner at most: never wider than the page)."""
    return matrix_latex(value, default_digits(), 6, 6, shape=True)


def _step_lines(step: TraceStep) -> list[str]:
    """A step of the hand calculation: its formula, the numbers put in when that says more
    (small arrays only), and its values."""
    digits = default_digits()
    lhs = latex(step.formula.lhs)
    lines = [f"{lhs} &= {latex(step.formula.rhs, digits=digits)}"]
    substituted = shown_substitution(step)
    if substituted is not None and np.size(step.value) <= 16 and all(
            np.size(v) <= 16 for v in step.inputs):
        lines.append(f"&= {latex(substituted, digits=digits)}")
    lines.append(f"&= {_values_latex(step.value)}")
    return lines


@register("latex", Trace)
def trace_latex(trace: Trace) -> str:
    lines = [line for s in trace.steps for line in _step_lines(s)]
    return r"$$\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}$$"


@register("html", Trace)
def trace_html(trace: Trace) -> str:
    """Each layer's formula and its numbers (in, before the activation, out), as the HTML
    report prints them."""
    return HtmlPrinter().doprint(trace)


@register("latex", TraceStep)
def step_latex(step: TraceStep) -> str:
    return r"$$\begin{aligned}" + r" \\ ".join(_step_lines(step)) + r"\end{aligned}$$"


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


@register("html", BackwardTrace)
def backward_trace_html(trace: BackwardTrace) -> str:
    """Backpropagation layer by layer, as the HTML report prints it."""
    return HtmlPrinter({"headings": False}).doprint(Backprop(None, trace))


@register("report", Gradient)
def gradient_report(gradient: Gradient, fmt: str, *, sample: int = 0, standalone: bool = True,
                    digits: int | None = None, **options: Any) -> str:
    """:meth:`Gradient.report`: a report holding the backpropagation section."""
    from . import printer

    graph = gradient.graph
    chosen = printer(fmt, {**printer_settings(None), "standalone": standalone,
                           "digits": digits, **options})
    trace = gradient.trace(sample) if gradient.run is not None else None
    report = Report(model="backpropagation", inputs=tuple(graph.features) if graph else (),
                    outputs=tuple(graph.targets) if graph else (),
                    input_shapes=tuple(graph.input_shapes) if graph else (),
                    output_shapes=tuple(graph.output_shapes) if graph else (),
                    sections=(Backprop(gradient, trace),))
    return chosen.doprint(report)


# --- why ------------------------------------------------------------------------------------

@register("text", Explanation)
def explanation_text(explanation: Explanation) -> str:
    return "\n".join(TextReportPrinter()._print(explanation)) + "\n"


@register("data", Explanation)
def explanation_data(explanation: Explanation) -> dict[str, Any]:
    return JsonPrinter()._print(explanation)


@register("html", Explanation)
def explanation_html(explanation: Explanation) -> str:
    """The table of the report's "why this value" (value, law, active units, what forgetting
    the activations gives, target, contributions)."""
    return HtmlPrinter({"headings": False}).doprint(Why(explanation))


@register("latex", Explanation)
def explanation_latex(explanation: Explanation) -> str:
    """The value, the local law and where it holds, and what the network gives without its
    activations."""
    digits = default_digits()
    out = latex(explanation.output)
    lines = [f"{out} &= {number_latex(explanation.value, digits)}"]
    if explanation.local_law is not None:
        head, left, constant = law_parts(explanation.local_law)
        law = latex(head, digits=digits) if not left else (
            rf"{latex(head, digits=digits)} + \dots + {latex(constant, digits=digits)}"
            rf"\quad\text{{({left:,} smaller terms left out)}}")
        what = "the local law of the logit" if explanation.law_of_logits else "the local law"
        lines.append(rf"{out} &= {law} \quad\text{{({what})}}")
    w = explanation.without_activation
    if w is not None:
        kept = "" if explanation.kept_activation is None else \
            f", the {explanation.kept_activation} kept"
        lines.append(rf"&\phantom{{=}}\text{{without the activations{kept}: }}"
                     rf"{number_latex(w, digits)}")
    return r"$$\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}$$"


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
