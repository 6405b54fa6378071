"""The HTML report: one self-contained page (no CDN), math as MathML; long formulas and wide
tables scroll inside the column, never the page. ``interactive=True`` adds the explorer of
:mod:`symnet.report.explorer` (its script is in the page)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from ..escape import html_text
from .notation import dimension_latex
from .printer import (
    GradientItem,
    LinePrinter,
    Listed,
    backprop_head,
    backprop_items,
    closed_terms,
    composition_latex,
    finite,
    shape_text,
    shown_substitution,
    step_values,
    structural_note,
    why_rows,
)

if TYPE_CHECKING:
    from ..analysis.explanation import Trace
    from .sections import (
        Agreement,
        Backprop,
        ClosedForm,
        Explorer,
        FunctionPlot,
        HandCalculation,
        Layers,
        LayerSection,
        Notation,
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

#: Characters of the widest row up to which a matrix is shown whole (else its corners).
MATRIX_WIDTH = 110


def _scoped(style: str, scope: str = ".symnet-report") -> str:
    """The page's style for a fragment: every rule inside ``scope`` (the page's ``body``
    rule on the element itself), so that embedding it changes nothing else of the page."""
    rules = []
    for rule in style.split("}"):
        if "{" not in rule:
            continue
        selectors, body = rule.split("{", 1)
        scoped = ", ".join(scope if s.strip() == "body" else f"{scope} {s.strip()}"
                           for s in selectors.split(","))
        rules.append(f"{scoped} {{ {' '.join(body.split())} }}")
    return "\n".join(rules)


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

    def _values(self, listed: Listed) -> str:
        body = ", ".join(self._value(v) for v in listed.values)
        if listed.truncated:
            body += f", … (first {len(listed.values)} of {listed.size:,} entries)"
        return body

    def _heading(self, title: str) -> list[str]:
        return [f"<h2>{title}</h2>"] if self.headings else []

    def _print_Report(self, report: Report) -> list[str]:
        e = html_text
        body = super()._print_Report(report)
        if not self.standalone:  # an element to embed, its style scoped to it
            return ['<div class="symnet-report">', f"<style>{_scoped(_STYLE)}</style>", *body,
                    "</div>", ""]
        return ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
                '<meta name="viewport" content="width=device-width, initial-scale=1">',
                f"<title>{e(report.model)} — symnet</title>", f"<style>{_STYLE}</style>",
                "</head>", "<body>", f"<h1>Model <code>{e(report.model)}</code></h1>",
                *body, "</body>", "</html>", ""]

    def _print_Notation(self, section: Notation) -> list[str]:
        def described(symbols: tuple[Any, ...], shapes: tuple[tuple[int, ...], ...]) -> str:
            return ", ".join(mathml(f"{self._tex(s)} \\in {dimension_latex(self._shape(shape))}",
                                    "inline") for s, shape in zip(symbols, shapes))

        vector, law = ("column", "W x + b") if self._column else ("row", "x W + b")
        line = (f"The input {described(section.input_symbols, section.input_shapes)} (one "
                f"sample, a {vector} vector: a layer computes {mathml(law, 'inline')}); the "
                f"output {described(section.output_symbols, section.output_shapes)}")
        if section.hidden:
            line += f"; {mathml('h_{k}', 'inline')} is the output of the model's k-th layer"
        out = [*self._heading("Notation"), f"<p>{line}.</p>"]
        out += [mathml(f.latex) for f in section.functions]
        return out

    def _array(self, symbol: str, value: Any) -> str:
        """An array's numbers: a matrix whole when its widest row fits the column, else its
        corners; a vector as a list."""
        arr = self._oriented(np.asarray(value))
        if arr.ndim == 2 and np.issubdtype(arr.dtype, np.floating) and arr.size:
            return mathml(f"{symbol} = {self._shown_matrix_latex(arr, MATRIX_WIDTH)}")
        listed = self._listed(arr)
        if listed.truncated and np.issubdtype(arr.dtype, np.floating):
            return mathml(f"{symbol} = {self._matrix_latex(arr, shape=True)}")
        return f"<p class=values>{mathml(symbol, 'inline')} = {self._values(listed)}</p>"

    def _print_Summary(self, section: Summary) -> list[str]:
        e = html_text
        out = [*self._heading("Layers at a glance"),
               f"<p>{section.param_count:,} parameters ({section.trainable_count:,} trainable, "
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
        title = "Layers" if any(entry.formula for entry in section.entries) else "Weights"
        return [*self._heading(title),
                *(line for entry in section.entries for line in self._print(entry))]

    def _print_LayerSection(self, section: LayerSection) -> list[str]:
        e = html_text
        layer = section.layer
        where = "" if section.keras_index is None else \
            f" — <code>model.layers[{section.keras_index}]</code>"
        out = [f"<h3><code>{e(layer.name)}</code> ({e(layer.kind)}){where}</h3>"]
        if section.formula:
            out.append(mathml(self._tex(layer.formula)))
            for d in layer.definitions:
                out.append("<p class=note>where</p>" + mathml(d.latex))
            parts = [mathml(self._member(p.symbol, p.value.ndim), "inline")
                     for p in layer.params if p.symbol is not None]
            parts += [mathml(f"{self._tex(c.symbol)} = {self._value_latex(c.value)}", "inline")
                      for c in layer.constant_symbols]
            if parts:
                out.append(f"<p class=note>where {', '.join(parts)}.</p>")
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
            symbol = mathml(self._tex(p.symbol), "inline") if p.symbol is not None else "–"
            out.append(f"<tr>{index}<td><code>{e(w.keras_name)}</code></td>"
                       f"<td>{symbol}</td><td class=s>{shape_text(p.shape)}</td>"
                       f"<td>{'yes' if p.trainable else 'no'}</td><td>{t(p.meaning)}</td></tr>")
        out.append("</tbody></table></div>")
        for w in section.rows:
            p = w.param
            if p.symbol is not None:
                out.append(self._array(self._tex(p.symbol), p.value))
            else:
                out.append(f"<p class=values><code>{e(w.keras_name)}</code> = "
                           f"{self._values(self._listed(p.value))}</p>")
        return out

    def _print_StructuralForm(self, section: StructuralForm) -> list[str]:
        if section.expr is None:
            return [*self._heading("The whole network"), mathml(composition_latex(section)),
                    f"<p class=note>{html_text(structural_note(section), limit=None)}.</p>"]
        shown = self._tex(section.expr)
        if section.lhs is not None:
            shown = f"{self._tex(section.lhs)} = {shown}"
        return [*self._heading("The whole network"), mathml(shown)]

    def _print_Simplification(self, section: Simplification) -> list[str]:
        from ..analysis.passes import describe

        if not section.passes:
            return []
        e, t = html_text, partial(html_text, limit=None)
        out = [*self._heading("Simplification at inference"), "<ul>"]
        for step in section.passes:
            for note in step.notes or ("nothing to do",):
                out.append(f"<li>{e(step.name)}: {t(note)}</li>")
        result = " → ".join(describe(s) for s in section.passes[-1].after)
        out.append(f"</ul><p>Result: {t(result)}</p>")
        return out

    def _print_ClosedForm(self, section: ClosedForm) -> list[str]:
        out = self._heading("Closed form")
        if section.omitted is not None:
            return [*out, f"<p>{html_text('Closed form: ' + section.omitted, limit=None)}</p>"]
        per = self._settings["max_terms_per_line"]
        for name, expr in section.outputs:  # one block a line: MathML has no reliable alignment
            terms = [f"{sign} {self._tex(term)}".strip() for sign, term in closed_terms(expr)]
            lines = [" ".join(terms[i:i + per]) for i in range(0, len(terms), per)]
            out.append(mathml(f"{self._tex(name)} = {lines[0]}"))
            out += [mathml(r"\quad " + line) for line in lines[1:]]
        return out

    def _print_FunctionPlot(self, section: FunctionPlot) -> list[str]:
        from .plot import plot_svg

        return [*self._heading("The network's function"),
                f"<figure>{plot_svg(section.curve)}</figure>"]

    def _print_RegionMap(self, section: RegionMap) -> list[str]:
        from .plot import regions_svg

        rows = self._region_rows(section)
        return [*self._heading("Linear regions"), f"<figure>{regions_svg(section)}</figure>",
                "<ul>" + "".join(f"<li>{html_text(row.text, limit=None)}</li>" for row in rows)
                + "</ul>"]

    def _print_RegionsOmitted(self, section: RegionsOmitted) -> list[str]:
        return [*self._heading("Linear regions"),
                f"<ul><li>{html_text(section.note, limit=None)}</li></ul>"]

    def _print_HandCalculation(self, section: HandCalculation) -> list[str]:
        values = [finite(v) for v in section.input]
        shown = ", ".join(self._value(v) for v in values[:16])
        more = ", …" if len(values) > 16 else ""
        return [*self._heading("The hand calculation"),
                f"<p class=note>At input ({html_text(shown)}{more}); every number as "
                f"{html_text(section.computes)} computes it (float32).</p>",
                *self._print(section.trace)]

    def _print_Why(self, section: Why) -> list[str]:
        """Why this value, as a table; the contributions as a second table, zero terms
        grouped."""
        e, t = html_text, partial(html_text, limit=None)
        out = [*self._heading("Why this value"), '<div class="scroll"><table><tbody>']
        out += [f"<tr><th>{e(row.label)}</th><td>{t(row.text)}</td></tr>"
                for row in why_rows(section, self)]
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
        return [*self._heading("Agreement"),
                f'<p class="note">{html_text(section.text, limit=None)}.</p>']

    def _print_Backprop(self, section: Backprop) -> list[str]:
        e = html_text
        gradient = section.gradient
        name, precision, value, batch = backprop_head(section)
        loss = mathml(f"L = {self._value_latex(value)}", "inline")
        out = [*self._heading("Backpropagation"),
               f"<p>The loss {e(name)} ({e(precision)}): {loss}.{e(batch)} From the output "
               "layer back:</p>"]
        for title, items in backprop_items(section):
            out.append(f"<h3>{e(title)}</h3>")
            for it in items:
                out += self._gradient_item(it)
        if gradient is None:
            return out
        out.append('<div class="scroll"><table><thead><tr><th>weight</th><th>shape</th>'
                   "</tr></thead><tbody>")
        out += [f"<tr><td><code>{e(key)}</code></td><td class=s>{shape_text(np.shape(v))}"
                "</td></tr>" for key, v in gradient.parameters.items()]
        out.append("</tbody></table></div>")
        try:
            dx = gradient.input
        except Exception as exc:  # not defined: an Embedding's indices
            return [*out, f"<p>{e(f'∂L/∂x: {exc}', None)}</p>"]
        out += [self._array(r"\frac{\partial L}{\partial x}", _floats(value))
                for value in (dx if isinstance(dx, list) else [dx])]
        return out

    def _gradient_item(self, item: GradientItem) -> list[str]:
        shown = self._tex(item.lhs)
        lhs = rf"\frac{{\partial L}}{{\partial {shown}}}" if item.gradient else shown
        out = []
        if item.formula is not None:
            out.append(mathml(f"{lhs} = {self._tex(item.formula)}"))
        value = _floats(item.value)
        if value.size == 1:
            out.append(mathml(f"{lhs} = {self._value_latex(float(value.reshape(-1)[0]))}"))
        else:
            out.append(self._array(lhs, value))
        if item.note:
            out.append(f"<p class=note>({html_text(item.note, None)})</p>")
        return out

    # --- analysis records -----------------------------------------------------------------

    def _print_Trace(self, trace: Trace) -> list[str]:
        """The hand calculation: per layer the formula, the numbers in, and a table of the
        units (before the activation, after it, clipped or not)."""
        e = html_text
        out = []
        for step in trace.steps:
            out.append(f"<h3><code>{e(step.layer)}</code> ({e(step.kind)})</h3>")
            out.append(mathml(self._tex(step.formula)))
            substituted = shown_substitution(step)
            if substituted is not None:
                out.append(mathml(f"{self._tex(step.formula.lhs)} = {self._tex(substituted)}"))
            parts = step_values(step, self._settings["max_listed"])
            for symbol, listed in parts.inputs:
                out.append(f"<p class=values>Put in: {mathml(self._tex(symbol), 'inline')} = "
                           f"{self._values(listed)}</p>")
            output, lhs = parts.output, self._tex(step.formula.lhs)
            clipped = set(parts.clipped or ())
            pre_latex = self._tex(parts.argument) if parts.argument is not None else \
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


def _floats(value: Any) -> np.ndarray:
    """An array of numbers (SymPy's exact ones too) as float64."""
    return np.asarray(np.asarray(value, dtype=object).astype(np.float64))
