"""The HTML report: one self-contained page (no CDN), math as MathML; long formulas and wide
tables scroll inside the column, never the page. ``interactive=True`` adds the explorer of
:mod:`symnet.report.explorer` (its script is in the page)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from ..escape import html_text
from ..printing.latex import latex
from .printer import (
    LinePrinter,
    Listed,
    composition_latex,
    finite,
    region_lines,
    shape_text,
    step_values,
    structural_note,
    substituted_latex,
    why_rows,
)

if TYPE_CHECKING:
    from ..analysis.explanation import Trace
    from .sections import (
        Agreement,
        ClosedForm,
        Explorer,
        FunctionPlot,
        HandCalculation,
        Layers,
        LayerSection,
        RegionMap,
        RegionsOmitted,
        Report,
        Simplification,
        StructuralForm,
        Summary,
        WeightsTable,
        Why,
    )

__all__ = ["HtmlPrinter", "mathml"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: .6rem 0; }
th, td { border-bottom: 1px solid #ccc; padding: .2rem .6rem; text-align: left;
         vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.s { white-space: nowrap; }
tr.off td { color: #888; }
.math, .scroll { overflow-x: auto; max-width: 100%; }
.math math { margin: .5rem 0; }
.note { color: #555; }
.values { font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; }
""".strip()


def mathml(tex: str, display: str = "block") -> str:
    """MathML for a LaTeX formula, by ``latex2mathml``; a block scrolls when it is wider than
    the column."""
    from latex2mathml.converter import convert

    if display == "inline":
        return str(convert(tex, display="inline"))
    return f'<div class="math">{convert(tex, display="block")}</div>'


class HtmlPrinter(LinePrinter):
    """A complete HTML page (the report), or an HTML fragment (a section, a record)."""

    format = "html"
    printmethod = "_html"

    def doprint(self, obj: Any) -> str:
        return "\n".join(self._print(obj))

    def _values(self, listed: Listed) -> str:
        body = ", ".join(self._value(v) for v in listed.values)
        if listed.truncated:
            body += f", … (first {len(listed.values)} of {listed.size:,} entries)"
        return body

    def _print_Report(self, report: Report) -> list[str]:
        e = html_text
        return ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
                '<meta name="viewport" content="width=device-width, initial-scale=1">',
                f"<title>{e(report.model)} — symnet</title>", f"<style>{_STYLE}</style>",
                "</head>", "<body>", f"<h1>Model <code>{e(report.model)}</code></h1>",
                *super()._print_Report(report), "</body>", "</html>", ""]

    def _print_Summary(self, section: Summary) -> list[str]:
        e = html_text
        out = [f"<p>{section.param_count:,} parameters ({section.trainable_count:,} trainable, "
               f"{section.non_trainable_count:,} non-trainable).</p>",
               '<div class="scroll"><table><thead><tr><th>layer</th><th>kind</th>'
               "<th>output shape</th><th class=n>parameters</th><th class=n>trainable</th>"
               "<th class=n>non-trainable</th></tr></thead><tbody>"]
        for layer in section.layers:
            out.append(f"<tr><td><code>{e(layer.name)}</code></td><td>{e(layer.kind)}</td>"
                       f"<td class=s>{shape_text(layer.output_shape)}</td>"
                       f"<td class=n>{layer.param_count:,}</td>"
                       f"<td class=n>{layer.trainable_count:,}</td>"
                       f"<td class=n>{layer.non_trainable_count:,}</td></tr>")
        out.append(f"<tr><th>total</th><td></td><td></td><td class=n>{section.param_count:,}"
                   f"</td><td class=n>{section.trainable_count:,}</td>"
                   f"<td class=n>{section.non_trainable_count:,}</td></tr>")
        out.append("</tbody></table></div>")
        return out

    def _print_Explorer(self, section: Explorer) -> list[str]:
        from .explorer import explorer_html

        return [explorer_html(section)]

    def _print_Layers(self, section: Layers) -> list[str]:
        return ["<h2>Layers</h2>",
                *(line for entry in section.entries for line in self._print(entry))]

    def _print_LayerSection(self, section: LayerSection) -> list[str]:
        e = html_text
        layer = section.layer
        where = "" if section.keras_index is None else \
            f" — <code>model.layers[{section.keras_index}]</code>"
        out = [f"<h3><code>{e(layer.name)}</code> ({e(layer.kind)}){where}</h3>",
               mathml(latex(layer.formula))]
        for d in layer.definitions:
            out.append("<p class=note>where</p>" + mathml(d.latex))
        if layer.note:
            out.append(f'<p class="note">{html_text(layer.note, limit=None)}</p>')
        if section.weights is not None:
            out += self._print(section.weights)
        return out

    def _print_WeightsTable(self, section: WeightsTable) -> list[str]:
        if not section.rows:
            return []
        e, t = html_text, partial(html_text, limit=None)
        indexed = section.framework == "keras"  # ONNX, PyTorch: no get_weights() index
        heads = ["<code>get_weights()</code>"] if indexed else []
        out = ['<div class="scroll"><table><thead><tr>'
               + "".join(f"<th>{h}</th>" for h in [*heads, section.name_heading])
               + "<th>symbol</th><th>shape</th><th>trainable</th><th>meaning</th>"
               "</tr></thead><tbody>"]
        for w in section.rows:
            p = w.param
            index = "–" if w.index is None else f"[{w.index}]"
            index = f"<td class=n>{index}</td>" if indexed else ""
            symbol = mathml(latex(p.symbol), "inline") if p.symbol is not None else "–"
            out.append(f"<tr>{index}<td><code>{e(w.keras_name)}</code></td>"
                       f"<td>{symbol}</td><td class=s>{shape_text(p.shape)}</td>"
                       f"<td>{'yes' if p.trainable else 'no'}</td><td>{t(p.meaning)}</td></tr>")
        out.append("</tbody></table></div>")
        for w in section.rows:
            p = w.param
            listed = self._listed(p.value)
            symbol = mathml(latex(p.symbol), "inline") if p.symbol is not None else \
                f"<code>{e(w.keras_name)}</code>"
            if listed.truncated and p.symbol is not None and _floating(p.value):
                out.append(mathml(f"{latex(p.symbol)} = {self._matrix_latex(p.value)}"))
                out.append(f"<p class=note>({p.size:,} entries: the corners shown.)</p>")
            else:
                out.append(f"<p class=values>{symbol} = {self._values(listed)}</p>")
        return out

    def _print_StructuralForm(self, section: StructuralForm) -> list[str]:
        if section.expr is None:
            return ["<h2>The whole network</h2>", mathml(composition_latex(section)),
                    f"<p class=note>{html_text(structural_note(section), limit=None)}.</p>"]
        return ["<h2>The whole network</h2>", mathml(latex(section.expr))]

    def _print_Simplification(self, section: Simplification) -> list[str]:
        from ..analysis.passes import describe

        if not section.passes:
            return []
        e, t = html_text, partial(html_text, limit=None)
        out = ["<h2>Simplification at inference</h2><ul>"]
        for step in section.passes:
            for note in step.notes or ("nothing to do",):
                out.append(f"<li>{e(step.name)}: {t(note)}</li>")
        result = " → ".join(describe(s) for s in section.passes[-1].after)
        out.append(f"</ul><p>Result: {t(result)}</p>")
        return out

    def _print_ClosedForm(self, section: ClosedForm) -> list[str]:
        out = ["<h2>Closed form</h2>"]
        if section.omitted is not None:
            return [*out, f"<p>{html_text(section.omitted, limit=None)}</p>"]
        for name, expr in section.outputs:  # one block a line: MathML has no reliable alignment
            lines = self._closed_lines(expr)
            out.append(mathml(f"{name} = {lines[0]}"))
            out += [mathml(r"\quad " + line) for line in lines[1:]]
        return out

    def _print_FunctionPlot(self, section: FunctionPlot) -> list[str]:
        from .plot import plot_svg

        return [f"<h2>The network's function</h2><figure>{plot_svg(section.curve)}</figure>"]

    def _print_RegionMap(self, section: RegionMap) -> list[str]:
        from .plot import regions_svg

        lines = region_lines(section, max_listed=self._settings["max_regions_listed"])
        return ["<h2>Linear regions</h2>", f"<figure>{regions_svg(section)}</figure>",
                "<ul>" + "".join(f"<li>{html_text(line, limit=None)}</li>" for line in lines)
                + "</ul>"]

    def _print_RegionsOmitted(self, section: RegionsOmitted) -> list[str]:
        return ["<h2>Linear regions</h2>",
                f"<ul><li>{html_text(section.note, limit=None)}</li></ul>"]

    def _print_HandCalculation(self, section: HandCalculation) -> list[str]:
        values = [finite(v) for v in section.input]
        shown = ", ".join(self._value(v) for v in values[:16])
        more = ", …" if len(values) > 16 else ""
        return [f"<h2>The hand calculation at input ({html_text(shown)}{more})</h2>"
                f"<p class=note>Every number as {html_text(section.computes)} computes it "
                "(float32).</p>",
                *self._print(section.trace)]

    def _print_Why(self, section: Why) -> list[str]:
        """Why this value, as a table; the contributions as a second table, zero terms
        grouped."""
        e, t = html_text, partial(html_text, limit=None)
        out = ['<h2>Why this value</h2>', '<div class="scroll"><table><tbody>']
        out += [f"<tr><th>{e(row.label)}</th><td>{t(row.text)}</td></tr>"
                for row in why_rows(section, self._settings["value_digits"])]
        out.append("</tbody></table></div>")
        explanation = section.explanation
        if explanation.contributions:
            out.append("<p>Contributions to the output (largest first):</p>"
                       '<div class="scroll"><table><thead><tr><th>term</th>'
                       "<th class=n>value</th></tr></thead><tbody>")
            out += [f"<tr><td>{e(label)}</td><td class=n>{self._value(finite(v))}</td></tr>"
                    for label, v in explanation.grouped_contributions(20)]
            total = finite(sum(explanation.contributions.values()))
            out.append(f"<tr><th>sum</th><td class=n>{self._value(total)}</td>"
                       "</tr></tbody></table></div>")
        return out

    def _print_Agreement(self, section: Agreement) -> list[str]:
        return [f'<p class="note">{html_text(section.text, limit=None)}.</p>']

    # --- analysis records -----------------------------------------------------------------

    def _print_Trace(self, trace: Trace) -> list[str]:
        """The hand calculation: per layer the formula, the numbers in, and a table of the
        units (before the activation, after it, clipped or not)."""
        e = html_text
        out = []
        for step in trace.steps:
            out.append(f"<h3><code>{e(step.layer)}</code> ({e(step.kind)})</h3>")
            out.append(mathml(latex(step.formula)))
            substituted = substituted_latex(step, self._settings["digits"])
            if substituted:
                out.append(mathml(substituted))
            parts = step_values(step, self._settings["max_listed"])
            for symbol, listed in parts.inputs:
                out.append(f"<p class=values>Put in: {mathml(latex(symbol), 'inline')} = "
                           f"{self._values(listed)}</p>")
            output, lhs = parts.output, latex(step.formula.lhs)
            clipped = set(parts.clipped or ())
            pre_latex = latex(parts.argument) if parts.argument is not None else \
                rf"\text{{before {parts.activation}}}"
            if parts.pre is not None and not output.truncated and len(output.shape) == 1:
                out.append('<div class="scroll"><table><thead><tr><th class=n>unit</th>'
                           f"<th class=n>{mathml(pre_latex, 'inline')}</th>"
                           f"<th class=n>{mathml(lhs, 'inline')}</th><th></th>"
                           "</tr></thead><tbody>")
                for j, (a, b) in enumerate(zip(parts.pre.values, output.values)):
                    off = j in clipped
                    out.append(f"<tr{' class=off' if off else ''}><td class=n>{j}</td>"
                               f"<td class=n>{self._value(a)}</td>"
                               f"<td class=n>{self._value(b)}</td>"
                               f"<td>{'clipped by ' + e(str(parts.activation)) if off else ''}"
                               f"</td></tr>")
                out.append("</tbody></table></div>")
            else:
                if parts.pre is not None:
                    out.append(f"<p class=values>Before {e(str(parts.activation))}: "
                               f"{mathml(pre_latex, 'inline')} = {self._values(parts.pre)}</p>")
                out.append(f"<p class=values>Out: {mathml(lhs, 'inline')} = "
                           f"{self._values(output)}</p>")
                if parts.clipped:
                    out.append(f"<p>Clipped units: {', '.join(map(str, parts.clipped))}</p>")
            out += [mathml(w.latex) for w in step.worked]
        return out


def _floating(value: Any) -> bool:
    import numpy as np

    return bool(np.issubdtype(np.asarray(value).dtype, np.floating))
