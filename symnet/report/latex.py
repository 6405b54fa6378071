"""The LaTeX report: a complete document for ``pdflatex`` (TeX Live's base and recommended
packages only), long formulas broken across lines, never scaled.

Formulas are printed by :class:`symnet.printing.latex.SymnetLatexPrinter` (``latex``,
``break_lines`` and ``visible_length`` are re-exported here for callers of their earlier
home).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..escape import tex_text
from ..printing.latex import SymnetLatexPrinter, latex
from ..printing.layout import break_lines, visible_length
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
    from ..analysis.explanation import Trace, TraceStep
    from .printer import StepValues
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

__all__ = ["LatexReportPrinter", "SymnetLatexPrinter", "break_lines", "latex",
           "substituted_latex", "visible_length"]

#: About how many characters of a formula fit on a line of the LaTeX report.
WIDTH = 68


def _tabular_number(v: int) -> str:
    return f"{v:,}".replace(",", "{,}")


class LatexReportPrinter(LinePrinter):
    """A complete LaTeX document."""

    format = "latex"
    printmethod = "_latex"

    def doprint(self, obj: Any) -> str:
        return "\n".join(self._print(obj))

    def _display(self, formula: str, text: str | None = None) -> str:
        """A display formula; a long one broken across lines (never scaled). One that cannot
        be broken to fit (a wide matrix, a long remark) is printed as its plain ``text`` in a
        paragraph that wraps, or, too long for that too, replaced by a note."""
        lines = break_lines(formula, WIDTH)
        if max(visible_length(line) for line in lines) > 1.15 * WIDTH:
            if text == "":  # nothing to say instead: leave it out
                return ""
            if text is not None and len(text) <= 4000:
                return r"{\small " + tex_text(text, limit=None) + r"\par}"
            return (r"{\small (A formula too wide to typeset on the page: "
                    rf"{len(formula):,} characters of LaTeX; the HTML report scrolls it.)\par}}")
        if len(lines) == 1:
            return r"\[ " + formula + r" \]"
        return r"\begin{multline*}" + " \\\\\n".join(lines) + r"\end{multline*}"

    def _n(self, v: float | None) -> str:
        """A number in math mode."""
        shown = self._value(v)
        return {"inf": r"$\infty$", "-inf": r"$-\infty$"}.get(shown, f"${shown}$")

    def _values_latex(self, listed: Listed) -> str:
        """A flat list of numbers as a paragraph that wraps, with its truncation stated."""
        body = ", ".join(self._n(v) for v in listed.values)
        if listed.truncated:
            body += rf", \dots{{}} (first {len(listed.values)} of {listed.size:,} entries)"
        return body

    # --- the report -----------------------------------------------------------------------

    def _print_Report(self, report: Report) -> list[str]:
        e = tex_text
        inputs = ", ".join(str(s) for s in report.inputs[:6]) + \
            (", ..." if len(report.inputs) > 6 else "")
        out = [r"\documentclass[10pt]{article}", r"\usepackage[margin=2.5cm]{geometry}",
               r"\usepackage{amsmath,amssymb,booktabs,tabularx,longtable,array}",
               r"\setlength{\parindent}{0pt}", r"\setlength{\parskip}{4pt}",
               r"\setcounter{MaxMatrixCols}{64}",
               r"\allowdisplaybreaks", r"\begin{document}", r"\raggedright",
               rf"\section*{{Model {e(report.model)}}}",
               "Inputs: " + e(inputs) + r"\\"]
        out += super()._print_Report(report)
        return [*out, r"\end{document}", ""]

    def _print_Summary(self, section: Summary) -> list[str]:
        e = tex_text
        out = [rf"{_tabular_number(section.param_count)} parameters "
               rf"({_tabular_number(section.trainable_count)} trainable, "
               rf"{_tabular_number(section.non_trainable_count)} non-trainable).", "",
               r"{\small\begin{tabularx}{\linewidth}{@{}>{\raggedright\arraybackslash}X l l r r "
               r"r@{}}",
               r"\toprule layer & kind & output shape & parameters & trainable & non-trainable \\",
               r"\midrule"]
        for layer in section.layers:
            out.append(f"{e(layer.name)} & {e(layer.kind)} & {shape_text(layer.output_shape)} & "
                       f"{_tabular_number(layer.param_count)} & "
                       f"{_tabular_number(layer.trainable_count)} & "
                       f"{_tabular_number(layer.non_trainable_count)} \\\\")
        out += [rf"\midrule total & & & {_tabular_number(section.param_count)} & "
                rf"{_tabular_number(section.trainable_count)} & "
                rf"{_tabular_number(section.non_trainable_count)} \\ \bottomrule",
                r"\end{tabularx}}", ""]
        return out

    def _print_Layers(self, section: Layers) -> list[str]:
        return [r"\subsection*{Layers}",
                *(line for entry in section.entries for line in self._print(entry))]

    def _print_LayerSection(self, section: LayerSection) -> list[str]:
        e = tex_text
        layer = section.layer
        where = "" if section.keras_index is None else \
            rf" --- \texttt{{model.layers[{section.keras_index}]}}"
        out = [rf"\paragraph{{{e(layer.name)} ({e(layer.kind)}){where}}}",
               self._display(latex(layer.formula), _text(layer.formula))]
        for d in layer.definitions:
            out.append("where " + self._display(d.latex, d.text))
        if layer.note:
            out.append(e(layer.note, limit=None) + r"\par")
        if section.weights is not None:
            out += self._print(section.weights)
        return out

    def _print_WeightsTable(self, section: WeightsTable) -> list[str]:
        """The layer's arrays: a table (``get_weights()`` index, Keras name, symbol, shape,
        trainable, meaning), then their numbers."""
        if not section.rows:
            return []
        e = tex_text
        indexed = section.framework == "keras"  # ONNX, PyTorch: no get_weights() index
        heads = [r"\texttt{get\_weights()}"] if indexed else []
        out = [r"{\footnotesize\begin{tabularx}{\linewidth}{@{}" + ("r " if indexed else "")
               + r"l l l l >{\raggedright\arraybackslash}X@{}}",
               rf"\toprule {' & '.join([*heads, section.name_heading])} & symbol & shape & "
               r"trainable & meaning \\ \midrule"]
        for w in section.rows:
            p = w.param
            index = ("--" if w.index is None else f"{{[{w.index}]}}") + " & " if indexed else ""
            symbol = f"${latex(p.symbol)}$" if p.symbol is not None else "--"
            out.append(rf"{index}\texttt{{{e(w.keras_name)}}} & {symbol} & "
                       rf"{e(shape_text(p.shape))} & {'yes' if p.trainable else 'no'} & "
                       rf"{e(p.meaning, limit=None)} \\")
        out += [r"\bottomrule\end{tabularx}}", ""]
        for w in section.rows:
            p = w.param
            listed = self._listed(p.value)
            name = f"${latex(p.symbol)}$" if p.symbol is not None else \
                rf"\texttt{{{e(w.keras_name)}}}"
            if listed.truncated and p.symbol is not None and _floating(p.value):
                out.append(self._display(f"{latex(p.symbol)} = {self._matrix_latex(p.value)}"))
                out.append(rf"{{\small ({_tabular_number(p.size)} entries: the corners "
                           rf"shown.)\par}}")
            else:
                out.append(rf"{{\small\raggedright {name} $=$ {self._values_latex(listed)}\par}}")
        return out

    def _print_StructuralForm(self, section: StructuralForm) -> list[str]:
        if section.expr is None:
            return [r"\subsection*{The whole network}",
                    self._display(composition_latex(section), _composition_text(section)),
                    tex_text(structural_note(section), limit=None) + r".\par"]
        return [r"\subsection*{The whole network}",
                self._display(latex(section.expr), _text(section.expr))]

    def _print_Simplification(self, section: Simplification) -> list[str]:
        from ..analysis.passes import describe

        if not section.passes:
            return []
        e = tex_text
        out = [r"\subsection*{Simplification at inference}", r"\begin{itemize}"]
        for step in section.passes:
            for note in step.notes or ("nothing to do",):
                out.append(rf"\item {e(step.name)}: {e(note, limit=None)}")
        out.append(r"\end{itemize}")
        result = "Result: " + " -> ".join(describe(s) for s in section.passes[-1].after)
        out.append(e(result, limit=None) + r"\par")
        return out

    def _print_ClosedForm(self, section: ClosedForm) -> list[str]:
        out = [r"\subsection*{Closed form}"]
        if section.omitted is not None:
            return [*out, tex_text(section.omitted, limit=None) + r"\par"]
        for name, expr in section.outputs:
            lines = [part for line in self._closed_lines(expr)
                     for part in break_lines(line, 60)]
            body = r" \\ &\quad ".join(lines)
            out.append(r"\begin{align*}" + f"{name} &= {body}" + r"\end{align*}")
        return out

    def _print_RegionMap(self, section: RegionMap) -> list[str]:
        lines = region_lines(section, max_listed=self._settings["max_regions_listed"])
        return [r"\subsection*{Linear regions}",
                *(tex_text(line, limit=None) + r"\par" for line in lines)]

    def _print_RegionsOmitted(self, section: RegionsOmitted) -> list[str]:
        return [r"\subsection*{Linear regions}", tex_text(section.note, limit=None) + r"\par"]

    def _print_HandCalculation(self, section: HandCalculation) -> list[str]:
        values = [finite(v) for v in section.input]
        shown = ", ".join(self._n(v) for v in values[:16]) + (r", \dots" if len(values) > 16
                                                               else "")
        return [r"\subsection*{The hand calculation}",
                f"At input ({shown}); every number as {section.computes} computes it (float32).",
                *self._print(section.trace)]

    def _print_Why(self, section: Why) -> list[str]:
        e = tex_text
        out = [r"\subsection*{Why this value}",
               r"{\small\begin{tabularx}{\linewidth}{@{}l >{\raggedright\arraybackslash}X@{}}"
               r"\toprule"]
        for row in why_rows(section, self._settings["value_digits"]):
            out.append(rf"{e(row.label)} & {row.latex} \\")
        out.append(r"\bottomrule\end{tabularx}}")
        explanation = section.explanation
        if explanation.contributions:
            out.append(r"\par Contributions to the output (largest first):\par")
            out.append(r"{\small\begin{tabular}{@{}l r@{}}\toprule term & value \\ \midrule")
            for label, value in explanation.grouped_contributions(20):
                out.append(rf"{_term_latex(label)} & {self._n(finite(value))} \\")
            total = finite(sum(explanation.contributions.values()))
            out.append(rf"\midrule sum & {self._n(total)} \\ \bottomrule\end{{tabular}}}}")
        return out

    def _print_Agreement(self, section: Agreement) -> list[str]:
        return [r"\subsection*{Agreement}" + tex_text(section.text, limit=None) + r".\par"]

    # --- analysis records -----------------------------------------------------------------

    def _print_Trace(self, trace: Trace) -> list[str]:
        out = []
        for step in trace.steps:
            out.append(rf"\paragraph{{{tex_text(step.layer)} ({tex_text(step.kind)})}}")
            out.append(self._display(latex(step.formula), _text(step.formula)))
            substituted = substituted_latex(step, self._settings["digits"])
            if substituted:
                out.append(self._display(substituted, ""))
            parts = step_values(step, self._settings["max_listed"])
            for symbol, listed in parts.inputs:
                out.append(rf"{{\small\raggedright Put in: ${latex(symbol)}$ $=$ "
                           rf"{self._values_latex(listed)}\par}}")
            out += self._unit_table(step, parts)
            for w in step.worked:
                out.append(self._display(w.latex, w.text))
        return out

    def _unit_table(self, step: TraceStep, parts: StepValues) -> list[str]:
        """The values out of a layer; with an activation after other ops, unit by unit:
        before the activation, after it, and which units it clips."""
        e = tex_text
        output = parts.output
        clipped = set(parts.clipped or ())
        pre_latex = latex(parts.argument) if parts.argument is not None else \
            rf"\text{{before {parts.activation}}}"
        if parts.pre is not None and not output.truncated and len(output.shape) == 1:
            out = [r"{\small\begin{longtable}{@{}r r r l@{}}\toprule",
                   rf"unit & ${pre_latex}$ & ${latex(step.formula.lhs)}$ & \\ \midrule"]
            for j, (a, b) in enumerate(zip(parts.pre.values, output.values)):
                note = rf"clipped by {e(parts.activation)}" if j in clipped else ""
                out.append(rf"{j} & {self._n(a)} & {self._n(b)} & {note} \\")
            out.append(r"\bottomrule\end{longtable}}")
            return out
        out = []
        if parts.pre is not None:
            out.append(rf"{{\small\raggedright Before {e(parts.activation)}: ${pre_latex}$ "
                       rf"$=$ {self._values_latex(parts.pre)}\par}}")
        out.append(rf"{{\small\raggedright Out: ${latex(step.formula.lhs)}$ $=$ "
                   rf"{self._values_latex(output)}\par}}")
        if parts.clipped:
            out.append(rf"{{\small Clipped units: {', '.join(map(str, parts.clipped))}.\par}}")
        return out


def _text(expr: Any) -> str:
    from ..printing.text import text

    return text(expr)


def _composition_text(section: StructuralForm) -> str:
    from .printer import composition_text

    return composition_text(section)


def _floating(value: Any) -> bool:
    import numpy as np

    return bool(np.issubdtype(np.asarray(value).dtype, np.floating))


_SYMNET_TERM = re.compile(r"[A-Za-z]+_\d+\[[\d,]+\](·[A-Za-z]+_\d+\[[\d,]+\])?")


def _term_latex(label: str) -> str:
    """``h_1[5]·W_2[5,0]`` as mathematics when it is one of symnet's own names."""
    if _SYMNET_TERM.fullmatch(label):
        math = re.sub(r"([A-Za-z]+)_(\d+)", r"\1_{\2}", label).replace("·", r" \cdot ")
        return f"${math}$"
    return tex_text(label)
