"""The Markdown report: GitHub-flavoured, display math between ``$$``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..escape import markdown_text
from ..printing.latex import latex
from ..printing.layout import break_lines
from .printer import (
    LinePrinter,
    Listed,
    composition_latex,
    finite,
    region_lines,
    shape_text,
    step_values,
    structural_note,
    why_rows,
)

if TYPE_CHECKING:
    from ..analysis.explanation import Trace
    from .sections import (
        Agreement,
        ClosedForm,
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

__all__ = ["MarkdownPrinter"]


def display(formula: str) -> list[str]:
    """A display formula between ``$$``; a long one as aligned lines."""
    lines = break_lines(formula)
    if len(lines) == 1:
        return ["$$", formula, "$$", ""]
    return ["$$", r"\begin{aligned}", r" \\ &\quad ".join(["&" + lines[0], *lines[1:]]),
            r"\end{aligned}", "$$", ""]


class MarkdownPrinter(LinePrinter):
    """GitHub-flavoured Markdown with ``$$`` display math."""

    format = "markdown"
    printmethod = "_markdown"

    def doprint(self, obj: Any) -> str:
        return "\n".join(self._print(obj))

    def _values(self, listed: Listed) -> str:
        body = ", ".join(self._value(v) for v in listed.values)
        if listed.truncated:
            body += f", … (first {len(listed.values)} of {listed.size:,} entries)"
        return body

    def _print_Report(self, report: Report) -> list[str]:
        return [f"# Model {markdown_text(report.model)}", "", *super()._print_Report(report)]

    def _print_Summary(self, section: Summary) -> list[str]:
        m = markdown_text
        out = [f"{section.param_count:,} parameters ({section.trainable_count:,} trainable, "
               f"{section.non_trainable_count:,} non-trainable).", "",
               "| layer | kind | output shape | parameters | trainable | non-trainable |",
               "| --- | --- | --- | ---: | ---: | ---: |"]
        for layer in section.layers:
            out.append(f"| {m(layer.name)} | {m(layer.kind)} | "
                       f"{shape_text(layer.output_shape)} | {layer.param_count:,} | "
                       f"{layer.trainable_count:,} | {layer.non_trainable_count:,} |")
        return [*out, ""]

    def _print_Layers(self, section: Layers) -> list[str]:
        return ["## Layers", "",
                *(line for entry in section.entries for line in self._print(entry))]

    def _print_LayerSection(self, section: LayerSection) -> list[str]:
        m = markdown_text
        layer = section.layer
        where = "" if section.keras_index is None else \
            f" — `model.layers[{section.keras_index}]`"
        out = [f"### {m(layer.name)} ({m(layer.kind)}){where}", "", *display(latex(layer.formula))]
        for d in layer.definitions:
            out += ["where", "", *display(d.latex)]
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
            symbol = f"${latex(p.symbol)}$" if p.symbol is not None else "–"
            out.append(f"| {index}{m(w.keras_name)} | {symbol} | {shape_text(p.shape)} | "
                       f"{'yes' if p.trainable else 'no'} | {m(p.meaning, limit=None)} |")
        out.append("")
        for w in section.rows:
            p = w.param
            symbol = f"${latex(p.symbol)}$" if p.symbol is not None else m(w.keras_name)
            out.append(f"- {symbol} = {self._values(self._listed(p.value))}")
        return [*out, ""]

    def _print_StructuralForm(self, section: StructuralForm) -> list[str]:
        if section.expr is None:
            return ["## The whole network", "", *display(composition_latex(section)),
                    markdown_text(structural_note(section), limit=None) + ".", ""]
        return ["## The whole network", "", *display(latex(section.expr))]

    def _print_Simplification(self, section: Simplification) -> list[str]:
        from ..analysis.passes import describe

        if not section.passes:
            return []
        m = markdown_text
        out = ["## Simplification at inference", ""]
        for step in section.passes:
            out += [f"- {m(step.name)}: {m(note, limit=None)}"
                    for note in step.notes or ("nothing to do",)]
        result = " → ".join(describe(s) for s in section.passes[-1].after)
        return [*out, "", "Result: " + m(result, limit=None), ""]

    def _print_ClosedForm(self, section: ClosedForm) -> list[str]:
        out = ["## Closed form", ""]
        if section.omitted is not None:
            return [*out, markdown_text(section.omitted, limit=None), ""]
        for name, expr in section.outputs:
            lines = self._closed_lines(expr)
            out += ["$$", r"\begin{aligned}", f"{name} &= " + r" \\ &\quad ".join(lines),
                    r"\end{aligned}", "$$", ""]
        return out

    def _print_RegionMap(self, section: RegionMap) -> list[str]:
        lines = region_lines(section, max_listed=self._settings["max_regions_listed"])
        return ["## Linear regions", "",
                *(f"- {markdown_text(line, limit=None)}" for line in lines), ""]

    def _print_RegionsOmitted(self, section: RegionsOmitted) -> list[str]:
        return ["## Linear regions", "", f"- {markdown_text(section.note, limit=None)}", ""]

    def _print_HandCalculation(self, section: HandCalculation) -> list[str]:
        values = [finite(v) for v in section.input]
        shown = ", ".join(self._value(v) for v in values[:16])
        return [f"## The hand calculation at input ({shown}{', …' if len(values) > 16 else ''})",
                "", f"Every number as {section.computes} computes it (float32).", "",
                *self._print(section.trace)]

    def _print_Why(self, section: Why) -> list[str]:
        m = markdown_text
        out = ["## Why this value", "", "| | |", "| --- | --- |"]
        out += [f"| {m(row.label)} | {m(row.text, limit=None)} |"
                for row in why_rows(section, self._settings["value_digits"])]
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
        return [f"*{markdown_text(section.text, limit=None)}.*", ""]

    def _print_Trace(self, trace: Trace) -> list[str]:
        m = markdown_text
        out = []
        for step in trace.steps:
            parts = step_values(step, self._settings["max_listed"])
            out += [f"### {m(step.layer)} ({m(step.kind)})", "", *display(latex(step.formula))]
            for symbol, listed in parts.inputs:
                out += [f"Put in: ${latex(symbol)}$ = {self._values(listed)}", ""]
            output, lhs = parts.output, latex(step.formula.lhs)
            clipped = set(parts.clipped or ())
            pre_latex = latex(parts.argument) if parts.argument is not None else \
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
