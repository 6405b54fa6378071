"""The Markdown report: GitHub-flavoured, display math between ``$$``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..escape import markdown_text
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

__all__ = ["MarkdownPrinter"]


#: Characters of the widest row up to which a matrix is shown whole (else its corners).
MATRIX_WIDTH = 100


def display(formula: str) -> list[str]:
    """A display formula between ``$$`` (a viewer scrolls a long one)."""
    return ["$$", formula, "$$", ""]


class MarkdownPrinter(LinePrinter):
    """GitHub-flavoured Markdown with ``$$`` display math."""

    format = "markdown"
    printmethod = "_markdown"

    def _values(self, listed: Listed) -> str:
        body = ", ".join(self._value(v) for v in listed.values)
        if listed.truncated:
            body += f", … (first {len(listed.values)} of {listed.size:,} entries)"
        return body

    def _heading(self, title: str) -> list[str]:
        return [f"## {title}", ""] if self.headings else []

    def _print_Report(self, report: Report) -> list[str]:
        body = super()._print_Report(report)
        return [f"# Model {markdown_text(report.model)}", "", *body] if self.standalone else body

    def _print_Notation(self, section: Notation) -> list[str]:
        def described(symbols: tuple[Any, ...], shapes: tuple[tuple[int, ...], ...]) -> str:
            return ", ".join(f"${self._tex(s)} \\in {dimension_latex(self._shape(shape))}$"
                             for s, shape in zip(symbols, shapes))

        vector, law = ("column", "W x + b") if self._column else ("row", "x W + b")
        line = (f"The input {described(section.input_symbols, section.input_shapes)} (one "
                f"sample, a {vector} vector: a layer computes ${law}$); the output "
                f"{described(section.output_symbols, section.output_shapes)}")
        if section.hidden:
            line += "; $h_{k}$ is the output of the model's $k$-th layer"
        out = [*self._heading("Notation"), line + ".", ""]
        for f in section.functions:
            out += display(f.latex)
        return out

    def _array(self, symbol: str, value: Any) -> list[str]:
        """An array's numbers: a matrix whole when its widest row fits, else its corners; a
        vector as a list."""
        arr = self._oriented(np.asarray(value))
        if arr.ndim == 2 and np.issubdtype(arr.dtype, np.floating) and arr.size:
            return display(f"{symbol} = {self._shown_matrix_latex(arr, MATRIX_WIDTH)}")
        return [f"- ${symbol}$ = {self._values(self._listed(arr))}", ""]

    def _print_Summary(self, section: Summary) -> list[str]:
        m = markdown_text
        out = [*self._heading("Layers at a glance"),
               f"{section.param_count:,} parameters ({section.trainable_count:,} trainable, "
               f"{section.non_trainable_count:,} non-trainable).", "",
               "| layer | kind | output shape | parameters | trainable | non-trainable |",
               "| --- | --- | --- | ---: | ---: | ---: |"]
        for layer in section.layers:
            out.append(f"| {m(layer.name)} | {m(layer.kind)} | "
                       f"{shape_text(layer.output_shape)} | {layer.param_count:,} | "
                       f"{layer.trainable_count:,} | {layer.non_trainable_count:,} |")
        return [*out, ""]

    def _print_Layers(self, section: Layers) -> list[str]:
        title = "Layers" if any(entry.formula for entry in section.entries) else "Weights"
        return [*self._heading(title),
                *(line for entry in section.entries for line in self._print(entry))]

    def _print_LayerSection(self, section: LayerSection) -> list[str]:
        m = markdown_text
        layer = section.layer
        where = "" if section.keras_index is None else \
            f" — `model.layers[{section.keras_index}]`"
        out = [f"### {m(layer.name)} ({m(layer.kind)}){where}", ""]
        if section.formula:
            out += display(self._tex(layer.formula))
            for d in layer.definitions:
                out += ["where", "", *display(d.latex)]
            parts = [f"${self._member(p.symbol, p.value.ndim)}$"
                     for p in layer.params if p.symbol is not None]
            parts += [f"${self._tex(c.symbol)} = {self._value_latex(c.value)}$"
                      for c in layer.constant_symbols]
            if parts:
                out += ["where " + ", ".join(parts) + ".", ""]
            if layer.note:
                out += [m(layer.note, limit=None), ""]
        if section.weights is not None:
            out += self._print(section.weights)
        return out

    def _print_WeightsTable(self, section: WeightsTable) -> list[str]:
        if not section.rows:
            return []
        m = markdown_text
        indexed = section.framework == "keras"  # ONNX, PyTorch: no get_weights() index
        heads = ["`get_weights()`"] if indexed else []
        out = [f"| {' | '.join([*heads, section.name_heading])} | symbol | shape | trainable | "
               "meaning |", "| " + ("---: | " if indexed else "") + "--- | --- | --- | --- | --- |"]
        for w in section.rows:
            p = w.param
            index = ("–" if w.index is None else f"[{w.index}]") + " | " if indexed else ""
            symbol = f"${self._tex(p.symbol)}$" if p.symbol is not None else "–"
            out.append(f"| {index}{m(w.keras_name)} | {symbol} | {shape_text(p.shape)} | "
                       f"{'yes' if p.trainable else 'no'} | {m(p.meaning, limit=None)} |")
        out.append("")
        for w in section.rows:
            p = w.param
            if p.symbol is not None:
                out += self._array(self._tex(p.symbol), p.value)
            else:
                out += [f"- {m(w.keras_name)} = {self._values(self._listed(p.value))}", ""]
        return out

    def _print_StructuralForm(self, section: StructuralForm) -> list[str]:
        if section.expr is None:
            return [*self._heading("The whole network"), *display(composition_latex(section)),
                    markdown_text(structural_note(section), limit=None) + ".", ""]
        shown = self._tex(section.expr)
        if section.lhs is not None:
            shown = f"{self._tex(section.lhs)} = {shown}"
        return [*self._heading("The whole network"), *display(shown)]

    def _print_Simplification(self, section: Simplification) -> list[str]:
        from ..analysis.passes import describe

        if not section.passes:
            return []
        m = markdown_text
        out = self._heading("Simplification at inference")
        for step in section.passes:
            out += [f"- {m(step.name)}: {m(note, limit=None)}"
                    for note in step.notes or ("nothing to do",)]
        result = " → ".join(describe(s) for s in section.passes[-1].after)
        return [*out, "", "Result: " + m(result, limit=None), ""]

    def _print_ClosedForm(self, section: ClosedForm) -> list[str]:
        out = self._heading("Closed form")
        if section.omitted is not None:
            return [*out, markdown_text(f"Closed form: {section.omitted}", limit=None), ""]
        per = self._settings["max_terms_per_line"]
        for name, expr in section.outputs:
            terms = [f"{sign} {self._tex(term)}".strip() for sign, term in closed_terms(expr)]
            lines = [" ".join(terms[i:i + per]) for i in range(0, len(terms), per)]
            out += ["$$", r"\begin{aligned}",
                    f"{self._tex(name)} &= " + r" \\ &\quad ".join(lines),
                    r"\end{aligned}", "$$", ""]
        return out

    def _print_RegionMap(self, section: RegionMap) -> list[str]:
        return [*self._heading("Linear regions"),
                *(f"- {markdown_text(row.text, limit=None)}" for row in self._region_rows(section)),
                ""]

    def _print_RegionsOmitted(self, section: RegionsOmitted) -> list[str]:
        return [*self._heading("Linear regions"), f"- {markdown_text(section.note, limit=None)}",
                ""]

    def _print_HandCalculation(self, section: HandCalculation) -> list[str]:
        values = [finite(v) for v in section.input]
        shown = ", ".join(self._value(v) for v in values[:16])
        more = ', …' if len(values) > 16 else ''
        return [*self._heading("The hand calculation"),
                f"At input ({shown}{more}); every number as {section.computes} computes it "
                "(float32).", "", *self._print(section.trace)]

    def _print_Why(self, section: Why) -> list[str]:
        m = markdown_text
        out = [*self._heading("Why this value"), "| | |", "| --- | --- |"]
        out += [f"| {m(row.label)} | {m(row.text, limit=None)} |"
                for row in why_rows(section, self)]
        out.append("")
        e = section.explanation
        if e.contributions:
            out += ["Contributions to the output (largest first):", "", "| term | value |",
                    "| --- | ---: |"]
            out += [f"| {m(label)} | {self._value(finite(v))} |"
                    for label, v in e.grouped_contributions(20)]
            out += [f"| sum | {self._value(finite(sum(e.contributions.values())))} |", ""]
        return out

    def _print_Agreement(self, section: Agreement) -> list[str]:
        return [*self._heading("Agreement"), f"*{markdown_text(section.text, limit=None)}.*", ""]

    def _print_Backprop(self, section: Backprop) -> list[str]:
        m = markdown_text
        gradient = section.gradient
        name, precision, value, batch = backprop_head(section)
        out = [*self._heading("Backpropagation"),
               f"The loss {m(name)} ({precision}): $L = {self._value_latex(value)}$.{m(batch)} "
               "From the output layer back:", ""]
        for title, items in backprop_items(section):
            out += [f"### {m(title)}", ""]
            for it in items:
                out += self._gradient_item(it)
        if gradient is None:
            return out
        out += ["| weight | shape |", "| --- | --- |"]
        out += [f"| `{key}` | {shape_text(np.shape(v))} |" for key, v in
                gradient.parameters.items()]
        out.append("")
        try:
            dx = gradient.input
        except Exception as exc:  # not defined: an Embedding's indices
            return [*out, m(f"∂L/∂x: {exc}"), ""]
        for value in (dx if isinstance(dx, list) else [dx]):
            out += self._array(r"\frac{\partial L}{\partial x}", _floats(value))
        return out

    def _gradient_item(self, item: GradientItem) -> list[str]:
        shown = self._tex(item.lhs)
        lhs = rf"\frac{{\partial L}}{{\partial {shown}}}" if item.gradient else shown
        out = []
        if item.formula is not None:
            out += display(f"{lhs} = {self._tex(item.formula)}")
        value = _floats(item.value)
        if value.size == 1:
            out += display(f"{lhs} = {self._value_latex(float(value.reshape(-1)[0]))}")
        else:
            out += self._array(lhs, value)
        if item.note:
            out += [f"({markdown_text(item.note)})", ""]
        return out

    def _print_Trace(self, trace: Trace) -> list[str]:
        m = markdown_text
        out = []
        for step in trace.steps:
            parts = step_values(step, self._settings["max_listed"])
            out += [f"### {m(step.layer)} ({m(step.kind)})", "", *display(self._tex(step.formula))]
            substituted = shown_substitution(step)
            if substituted is not None:
                out += display(f"{self._tex(step.formula.lhs)} = {self._tex(substituted)}")
            for symbol, listed in parts.inputs:
                out += [f"Put in: ${self._tex(symbol)}$ = {self._values(listed)}", ""]
            output, lhs = parts.output, self._tex(step.formula.lhs)
            clipped = set(parts.clipped or ())
            pre_latex = self._tex(parts.argument) if parts.argument is not None else \
                rf"\text{{before {parts.activation}}}"
            if parts.pre is not None and not output.truncated and len(output.shape) == 1:
                out += [f"| unit | ${pre_latex}$ | ${lhs}$ | |", "| ---: | ---: | ---: | --- |"]
                out += [f"| {j} | {self._value(a)} | {self._value(b)} | "
                        f"{'clipped by ' + m(str(parts.activation)) if j in clipped else ''} |"
                        for j, (a, b) in enumerate(zip(parts.pre.values, output.values))]
                out.append("")
            else:
                if parts.pre is not None:
                    out += [f"Before {m(str(parts.activation))}: ${pre_latex}$ = "
                            f"{self._values(parts.pre)}", ""]
                out += [f"Out: ${lhs}$ = {self._values(output)}", ""]
                if parts.clipped:
                    out += [f"Clipped units: {', '.join(map(str, parts.clipped))}", ""]
            for w in step.worked:
                out += display(w.latex)
        return out


def _floats(value: Any) -> np.ndarray:
    """An array of numbers (SymPy's exact ones too) as float64."""
    return np.asarray(np.asarray(value, dtype=object).astype(np.float64))
