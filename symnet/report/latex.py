"""The LaTeX report: a complete document for ``pdflatex``, or (``standalone=False``) a fragment
to ``\\input`` into the author's own document after :func:`latex_preamble`.

Widths are left to LaTeX, which alone knows the line: a formula is displayed whole when it fits
the line and otherwise broken by TeX across lines (``\\symnetdisplay``); a matrix is shown
whole when it fits, else its corners (``\\symnetfit`` measures each candidate against
``\\linewidth``); tables span ``\\linewidth`` with columns that wrap. So the same fragment
typesets without an overfull line in a one-column article, in a two-column paper and in
symnet's own page. TeX Live's base and recommended packages only.

Formulas are printed by :class:`symnet.printing.latex.SymnetLatexPrinter` (``latex`` is
re-exported here for callers of its earlier home).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from ..escape import tex_text
from ..printing.latex import SymnetLatexPrinter, latex
from .notation import dimension_latex
from .printer import (
    GradientItem,
    LinePrinter,
    Listed,
    backprop_head,
    backprop_items,
    breakable,
    composition_latex,
    finite,
    shape_text,
    shown_substitution,
    step_values,
    structural_note,
    why_rows,
)

if TYPE_CHECKING:
    from ..analysis.explanation import Trace, TraceStep
    from .printer import StepValues
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

__all__ = ["LatexReportPrinter", "SymnetLatexPrinter", "latex", "latex_preamble"]

PACKAGES = ("amsmath", "amssymb", "booktabs", "tabularx")
"""The packages a fragment needs (TeX Live's base and recommended; ``tabularx`` loads
``array``)."""

MACROS = r"""\makeatletter
% symnet: a display formula, centred when it fits the line, else broken across lines by TeX
\providecommand\symnetdisplay[1]{\begingroup\setbox\z@\hbox{$\displaystyle#1$}%
  \ifdim\wd\z@>\linewidth\gdef\symnet@pick{\symnet@broken}\else
  \gdef\symnet@pick{\symnet@centred}\fi\endgroup\symnet@pick{#1}}
\providecommand\symnet@centred[1]{\[#1\]}
\providecommand\symnet@broken[1]{\par\addvspace{\abovedisplayskip}%
  {\def\left##1{\ifx.##1\else\mathopen{##1}\fi}\def\right##1{\ifx.##1\else\mathclose{##1}\fi}%
   \noindent\leftskip1em\rightskip\z@\@plus1fil\parfillskip\z@\@plus1fil\relax
   \hangindent2em\hangafter\@ne$\displaystyle#1$\par}%
  \addvspace{\belowdisplayskip}\everypar{{\setbox\z@\lastbox}\everypar{}}}
% symnet: a display formula too long to measure (TeX's widths stop near 5.8 m), broken by TeX
\providecommand\symnetbreak[1]{\symnet@broken{#1}}
% symnet: the first of two displays that fits the line (an empty one is skipped), else #3
\providecommand\symnetfit[3]{\begingroup\setbox\z@\hbox{$\displaystyle#1$}%
  \ifdim\wd\z@>\linewidth\gdef\symnet@pick{\symnet@other}%
    \if\relax\detokenize{#2}\relax\else\setbox\z@\hbox{$\displaystyle#2$}%
      \ifdim\wd\z@>\linewidth\else\gdef\symnet@pick{\symnet@second}\fi\fi
  \else\gdef\symnet@pick{\symnet@first}\fi\endgroup\symnet@pick{#1}{#2}{#3}}
\providecommand\symnet@first[3]{\[#1\]}
\providecommand\symnet@second[3]{\[#2\]}
\providecommand\symnet@other[3]{#3}
\makeatother"""
"""Three macros, defined with ``\\providecommand`` (an author's own definitions win):
``\\symnetdisplay{formula}``, ``\\symnetbreak{formula}`` and
``\\symnetfit{whole}{corners}{otherwise}``."""

#: LaTeX longer than this is broken across lines without being measured first: a box wider
#: than TeX's largest dimension (16,383 pt) is an error, and no reader wants such a line.
MEASURED = 3000

#: Columns amsmath's matrices take (``MaxMatrixCols`` in :func:`latex_preamble`).
MATRIX_COLUMNS = 64


def _too_wide(tex: str) -> bool:
    """Whether a formula is too long to measure, or holds a matrix of more columns than
    amsmath takes: printed as its text instead, or broken unmeasured."""
    rows = re.findall(r"\\begin\{[bp]?matrix\}(.*?)(?:\\\\|\\end\{)", tex)
    return len(tex) > MEASURED or any(row.count("&") >= MATRIX_COLUMNS for row in rows)


def latex_preamble() -> str:
    """The lines a document needs before ``\\begin{document}`` to ``\\input`` symnet's LaTeX
    fragments: four standard packages (``amsmath``, ``amssymb``, ``booktabs``, ``tabularx``),
    amsmath's matrices allowed 64 columns, and the three macros that let LaTeX fit formulas and
    matrices to the line (``\\symnetdisplay``, ``\\symnetfit``)."""
    lines = [rf"\usepackage{{{name}}}" for name in PACKAGES]
    lines.append(rf"\setcounter{{MaxMatrixCols}}{{{MATRIX_COLUMNS}}}")
    return "\n".join([*lines, MACROS]) + "\n"


def _number(v: int) -> str:
    """A count with thousands separated (``573{,}952``)."""
    return f"{v:,}".replace(",", "{,}")


def tex_name(name: object) -> str:
    """An identifier (a layer's or an array's name) as LaTeX text that may break after an
    underscore or a slash, so that a narrow column wraps it."""
    return breakable(tex_text(name))


def prose(text: object) -> str:
    """A sentence as LaTeX text that wraps in a narrow column (identifiers in it may break)."""
    return breakable(tex_text(text, limit=None))


def tex_kind(kind: str) -> str:
    """A class name that may break between its words (``Batch\\-Normalization``)."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", r"\\allowbreak{}", tex_text(kind))


#: Rows of a table of units set in one ``tabular`` (a page or column may break between two).
UNIT_ROWS = 16


class LatexReportPrinter(LinePrinter):
    """A complete LaTeX document, or with ``standalone=False`` its body."""

    format = "latex"
    printmethod = "_latex"

    def doprint(self, obj: Any) -> str:
        return super().doprint(obj) + ("\n" if not self.standalone else "")

    # --- pieces -------------------------------------------------------------------------

    def _heading(self, title: str) -> list[str]:
        return [rf"\subsection*{{{title}}}"] if self.headings else []

    def _n(self, v: float | None) -> str:
        """A number in inline math."""
        return f"${self._value_latex(v)}$"

    def _values_latex(self, listed: Listed) -> str:
        """A flat list of numbers as a paragraph that wraps, with its truncation stated."""
        body = ", ".join(self._n(v) for v in listed.values)
        if listed.truncated:
            body += rf", \dots{{}} (first {len(listed.values)} of {listed.size:,} entries)"
        return body

    def _display(self, formula: str, text: str | None = None) -> str:
        """A display formula, broken by TeX when it is wider than the line; one too wide to
        measure is broken unmeasured, or (given ``text``, as for a matrix of hundreds of
        columns worked by hand) shown as that text in a paragraph that wraps."""
        if _too_wide(formula):
            if text is not None:
                return rf"{{\small\raggedright {prose(text)}\par}}"
            return r"\symnetbreak{" + formula + "}"
        return r"\symnetdisplay{" + formula + "}"

    def _array(self, symbol_tex: str, value: Any, name: str) -> list[str]:
        """An array's numbers: a matrix whole when it fits the line, else its corners (with
        its shape); a short vector whole or as a list that wraps; a long one by its
        corners."""
        arr = self._oriented(np.asarray(value))
        floating = np.issubdtype(arr.dtype, np.floating)
        transposed = self._column and arr.ndim == 1
        post = r"^{\top}" if transposed else ""
        head = f"{symbol_tex} = "
        if not floating or arr.ndim > 2 or arr.size == 0:
            listed = self._listed(arr)
            return [rf"{{\raggedright {name} $=$ {self._values_latex(listed)}\par}}"]
        rows, cols = (1, arr.size) if arr.ndim <= 1 else arr.shape

        def matrix(r: int | None = None, c: int | None = None, small: bool = False) -> str:
            shown = r"{\setlength{\arraycolsep}{3pt}" + self._matrix_latex(arr, r, c,
                                                                          shape=True) + "}"
            if small:  # a narrow column: the whole matrix in footnote size before its corners
                shown = r"\text{\footnotesize$" + shown + "$}"
            return head + shown + post

        corners = matrix()
        whole = matrix(rows, cols) if rows <= 16 and cols <= 16 else ""
        whole_small = matrix(rows, cols, small=True) if whole and whole != corners else ""
        smaller = r"\[" + matrix(3, 3) + r"\]"
        if arr.ndim == 2 and min(rows, cols) > 3:
            smaller = rf"\symnetfit{{{matrix(4, 4)}}}{{}}{{{smaller}}}"
        if arr.ndim <= 1 and arr.size <= self._settings["max_listed"]:
            listed = self._listed(arr)
            wrapped = rf"{{\raggedright {name} $=$ {self._values_latex(listed)}\par}}"
            return [rf"\symnetfit{{{whole or corners}}}{{{whole_small}}}{{{wrapped}}}"]
        if whole_small:
            rest = rf"\symnetfit{{{corners}}}{{}}{{{smaller}}}"
            return [rf"\symnetfit{{{whole}}}{{{whole_small}}}{{{rest}}}"]
        return [rf"\symnetfit{{{whole or corners}}}{{}}{{{smaller}}}"]

    # --- the report -----------------------------------------------------------------------

    def _print_Report(self, report: Report) -> list[str]:
        body = super()._print_Report(report)
        if not self.standalone:
            return body
        return [r"\documentclass[10pt]{article}", r"\usepackage[margin=2.5cm]{geometry}",
                *latex_preamble().rstrip("\n").split("\n"),
                r"\setlength{\parindent}{0pt}", r"\setlength{\parskip}{4pt}",
                r"\allowdisplaybreaks", r"\begin{document}",
                rf"\section*{{Model {tex_text(report.model)}}}", *body, r"\end{document}", ""]

    def _print_Summary(self, section: Summary) -> list[str]:
        out = [*self._heading("Layers at a glance"),
               rf"{_number(section.param_count)} parameters "
               rf"({_number(section.trainable_count)} trainable, "
               rf"{_number(section.non_trainable_count)} non-trainable).\par", "",
               r"\noindent{\small\setlength{\tabcolsep}{3pt}%",
               r"\begin{tabularx}{\linewidth}{@{}>{\raggedright\arraybackslash}X l r r r@{}}",
               r"\toprule layer (kind) & output & param. & \shortstack[r]{train-\\able} & "
               r"\shortstack[r]{non-\\train.} \\ \midrule"]
        for layer in section.layers:
            out.append(rf"{tex_name(layer.name)} ({tex_kind(layer.kind)}) & "
                       f"{shape_text(layer.output_shape)} & {_number(layer.param_count)} & "
                       f"{_number(layer.trainable_count)} & "
                       rf"{_number(layer.non_trainable_count)} \\")
        out += [rf"\midrule total & & {_number(section.param_count)} & "
                rf"{_number(section.trainable_count)} & "
                rf"{_number(section.non_trainable_count)} \\ \bottomrule",
                r"\end{tabularx}}", ""]
        return out

    def _print_Notation(self, section: Notation) -> list[str]:
        vector = "column" if self._column else "row"
        law = "W x + b" if self._column else "x W + b"

        def described(symbols: tuple[Any, ...], shapes: tuple[tuple[int, ...], ...],
                      what: str) -> str:
            parts = [f"${self._tex(symbol)} \\in {dimension_latex(self._shape(shape))}$"
                     for symbol, shape in zip(symbols, shapes)]
            return f"{what} " + ", ".join(parts)

        out = [*self._heading("Notation")]
        sentence = (described(section.input_symbols, section.input_shapes, "The input")
                    + f" (one sample, a {vector} vector: a layer computes ${law}$); "
                    + described(section.output_symbols, section.output_shapes, "the output"))
        if section.hidden:
            sentence += "; $h_{k}$ is the output of the model's $k$-th layer"
        out.append(sentence + r".\par")
        if section.functions:
            out.append("The functions the formulas use:")
            out += [self._display(f.latex) for f in section.functions]
        return out

    def _print_Layers(self, section: Layers) -> list[str]:
        title = "Layers" if any(entry.formula for entry in section.entries) else "Weights"
        return [*self._heading(title),
                *(line for entry in section.entries for line in self._print(entry))]

    def _print_LayerSection(self, section: LayerSection) -> list[str]:
        layer = section.layer
        where = "" if section.keras_index is None else \
            rf" --- \texttt{{model.layers[{section.keras_index}]}}"
        out = [rf"\paragraph{{{tex_name(layer.name)} ({tex_kind(layer.kind)}){where}}}"]
        if section.formula:
            out.append(self._display(self._tex(layer.formula)))
            for d in layer.definitions:
                out.append("where " + self._display(d.latex, d.text))
            clause = self._where(section)
            if clause:
                out.append(clause)
            if layer.note:
                out.append(prose(layer.note) + r"\par")
        if section.weights is not None:
            out += self._print(section.weights)
        return out

    def _where(self, section: LayerSection) -> str:
        """What the layer's symbols are: the dimensions of its arrays and output, the value
        of each constant (``\\varepsilon_2 = 0.001``)."""
        layer = section.layer
        parts = [f"${self._member(p.symbol, p.value.ndim)}$"
                 for p in layer.params if p.symbol is not None]
        parts.append(f"${self._member(layer.output_symbol)}$")
        parts += [f"${self._tex(c.symbol)} = {self._value_latex(c.value)}$"
                  for c in layer.constant_symbols]
        return "where " + ", ".join(parts) + r".\par" if parts else ""

    def _print_WeightsTable(self, section: WeightsTable) -> list[str]:
        """The layer's arrays: a table (``get_weights()`` index, Keras name, symbol, shape,
        trainable, meaning), then their numbers."""
        if not section.rows:
            return []
        indexed = section.framework == "keras"  # ONNX, PyTorch: no get_weights() index
        out = []
        if indexed:
            out.append(r"{\small Its arrays, $i$ as in \texttt{get\_weights()[$i$]}:\par}")
        out += [r"\noindent{\footnotesize\setlength{\tabcolsep}{3pt}%",
                r"\begin{tabularx}{\linewidth}{@{}" + ("r " if indexed else "")
                + r">{\raggedright\arraybackslash\hsize=1.1\hsize}X l l l "
                  r">{\raggedright\arraybackslash\hsize=.9\hsize}X@{}}",
                r"\toprule " + ("$i$ & " if indexed else "")
                + rf"{section.name_heading} & symbol & shape & train. & meaning \\ \midrule"]
        for w in section.rows:
            p = w.param
            index = ("--" if w.index is None else f"{w.index}") + " & " if indexed else ""
            symbol = f"${self._tex(p.symbol)}$" if p.symbol is not None else "--"
            out.append(rf"{index}\texttt{{{tex_name(w.keras_name)}}} & {symbol} & "
                       rf"{tex_text(shape_text(p.shape))} & {'yes' if p.trainable else 'no'} & "
                       rf"{prose(p.meaning)} \\")
        out += [r"\bottomrule\end{tabularx}}", ""]
        if self._column and any(p.param.symbol is not None and p.param.value.ndim == 2
                                for p in section.rows):
            out.append(r"{\small (Column-vector convention: each matrix shown is the "
                       r"transpose of the array Keras stores.)\par}")
        for w in section.rows:
            p = w.param
            name = f"${self._tex(p.symbol)}$" if p.symbol is not None else \
                rf"\texttt{{{tex_name(w.keras_name)}}}"
            symbol = self._tex(p.symbol) if p.symbol is not None else \
                rf"\texttt{{{tex_name(w.keras_name)}}}"
            out += self._array(symbol, p.value, name)
        return out

    def _print_StructuralForm(self, section: StructuralForm) -> list[str]:
        if section.expr is None:
            return [*self._heading("The whole network"),
                    self._display(composition_latex(section)),
                    tex_text(structural_note(section), limit=None) + r".\par"]
        shown = self._tex(section.expr)
        if section.lhs is not None:
            shown = f"{self._tex(section.lhs)} = {shown}"
        return [*self._heading("The whole network"), self._display(shown)]

    def _print_Simplification(self, section: Simplification) -> list[str]:
        from ..analysis.passes import describe

        if not section.passes:
            return []
        out = [*self._heading("Simplification at inference"),
               r"{\raggedright The passes at inference:\begin{itemize}"]
        for step in section.passes:
            for note in step.notes or ("nothing to do",):
                out.append(rf"\item {prose(step.name)}: {prose(note)}")
        out.append(r"\end{itemize}")
        result = "Result: " + " -> ".join(describe(s) for s in section.passes[-1].after)
        out.append(prose(result) + r"\par}")
        return out

    def _print_ClosedForm(self, section: ClosedForm) -> list[str]:
        out = self._heading("Closed form")
        if section.omitted is not None:
            return [*out, prose(f"Closed form: {section.omitted}") + r"\par"]
        for name, expr in section.outputs:
            out.append(self._display(f"{self._tex(name)} = {self._tex(expr)}"))
        return out

    def _print_RegionMap(self, section: RegionMap) -> list[str]:
        return [*self._heading("Linear regions"),
                *(r"{\raggedright " + row.latex + r"\par}" for row in self._region_rows(section))]

    def _print_RegionsOmitted(self, section: RegionsOmitted) -> list[str]:
        return [*self._heading("Linear regions"), prose(section.note) + r"\par"]

    def _print_HandCalculation(self, section: HandCalculation) -> list[str]:
        values = [finite(v) for v in section.input]
        shown = ", ".join(self._n(v) for v in values[:16]) + (r", \dots" if len(values) > 16
                                                               else "")
        return [*self._heading("The hand calculation"),
                rf"{{\raggedright At input ({shown}); every number as {section.computes} "
                r"computes it (float32).\par}",
                *self._print(section.trace)]

    def _print_Why(self, section: Why) -> list[str]:
        out = [*self._heading("Why this value"),
               r"\noindent{\small\setlength{\tabcolsep}{3pt}%",
               r"\begin{tabularx}{\linewidth}{@{}>{\raggedright\arraybackslash}p{.3\linewidth} "
               r">{\raggedright\arraybackslash}X@{}}\toprule"]
        for row in why_rows(section, self):
            out.append(rf"{prose(row.label)} & {row.latex} \\")
        out.append(r"\bottomrule\end{tabularx}\par}")
        explanation = section.explanation
        if explanation.contributions:
            out.append(r"\par Contributions to the output (largest first):\par")
            out.append(r"{\small\begin{tabular}{@{}l r@{}}\toprule term & value \\ \midrule")
            for label, value in explanation.grouped_contributions(20):
                out.append(rf"{_term_latex(label)} & {self._n(finite(value))} \\")
            total = finite(sum(explanation.contributions.values()))
            out.append(rf"\midrule sum & {self._n(total)} \\ \bottomrule\end{{tabular}}\par}}")
        return out

    def _print_Agreement(self, section: Agreement) -> list[str]:
        return [*self._heading("Agreement"),
                prose(f"The formulas' numbers against the framework's: {section.text}")
                + r".\par"]

    def _print_Backprop(self, section: Backprop) -> list[str]:
        gradient, trace = section.gradient, section.trace
        name, precision, loss, batch = backprop_head(section)
        out = [*self._heading("Backpropagation"),
               rf"{{\raggedright The loss {prose(name)} ({prose(precision)}): "
               rf"$L = {self._value_latex(loss)}$.{prose(batch)} From the output layer "
               r"back:\par}"]
        for title, items in backprop_items(section):
            out.append(rf"\paragraph{{{tex_name(title)}}}")
            for it in items:
                out += self._gradient_item(it)
        if gradient is None:
            return out
        out.append(r"{\small The gradient of each weight array, by its name:\par}")
        out += [r"\noindent{\footnotesize\setlength{\tabcolsep}{3pt}%",
                r"\begin{tabularx}{\linewidth}{@{}>{\raggedright\arraybackslash}X l l@{}}",
                r"\toprule weight & symbol & shape \\ \midrule"]
        symbols = {q.key: q.symbol for step in (trace.steps if trace is not None else ())
                   for q in step.parameters}
        for key, value in gradient.parameters.items():
            symbol = symbols.get(key)
            shown = rf"$\partial L / \partial {self._tex(symbol)}$" if symbol is not None else "--"
            out.append(rf"\texttt{{{tex_name(key)}}} & {shown} & "
                       rf"{tex_text(shape_text(np.shape(value)))} \\")
        out.append(r"\bottomrule\end{tabularx}\par}")
        if trace is None:
            for key, value in gradient.parameters.items():
                out += self._array(rf"\frac{{\partial L}}{{\partial\,\mathtt{{{tex_text(key)}}}}}",
                                   _floats(value), tex_name(key))
        try:
            dx = gradient.input
        except Exception as exc:  # not defined: an Embedding's indices
            out.append(prose(f"∂L/∂x: {exc}") + r"\par")
        else:
            for value in (dx if isinstance(dx, list) else [dx]):
                lhs = r"\frac{\partial L}{\partial x}"
                out += self._array(lhs, _floats(value)[0] if np.ndim(value) > 1 and
                                   np.shape(value)[0] == 1 else _floats(value), f"${lhs}$")
        return out

    def _gradient_lhs(self, item: GradientItem) -> str:
        shown = self._tex(item.lhs)
        return rf"\frac{{\partial L}}{{\partial {shown}}}" if item.gradient else shown

    def _gradient_item(self, item: GradientItem) -> list[str]:
        """A quantity: its formula, the numbers put in (when that fits the line), its
        value."""
        lhs = self._gradient_lhs(item)
        out = []
        if item.formula is not None:
            out.append(self._display(f"{lhs} = {self._tex(item.formula)}"))
            if item.substituted is not None and item.substituted != item.formula:
                shown = f"{lhs} = {self._tex(item.substituted)}"
                if not _too_wide(shown):
                    out.append(rf"\symnetfit{{{shown}}}{{}}{{}}")
        value = _floats(item.value)
        if value.size == 1:
            out.append(self._display(f"{lhs} = {self._value_latex(float(value.reshape(-1)[0]))}"))
        else:
            out += self._array(lhs, value, f"${lhs}$")
        if item.note:
            out.append(rf"{{\small ({prose(item.note)})\par}}")
        return out

    # --- analysis records -----------------------------------------------------------------

    def _print_Trace(self, trace: Trace) -> list[str]:
        out = []
        for step in trace.steps:
            out.append(rf"\paragraph{{{tex_name(step.layer)} ({tex_kind(step.kind)})}}")
            out.append(self._display(self._tex(step.formula)))
            substituted = shown_substitution(step)
            if substituted is not None:
                shown = f"{self._tex(step.formula.lhs)} = {self._tex(substituted)}"
                if not _too_wide(shown):
                    out.append(rf"\symnetfit{{{shown}}}{{}}{{}}")
            parts = step_values(step, self._settings["max_listed"])
            for symbol, listed in parts.inputs:
                out.append(rf"{{\small\raggedright Put in: ${self._tex(symbol)}$ $=$ "
                           rf"{self._values_latex(listed)}\par}}")
            out += self._unit_table(step, parts)
            for w in step.worked:
                out.append(self._display(w.latex, w.text))
        return out

    def _unit_table(self, step: TraceStep, parts: StepValues) -> list[str]:
        """The values out of a layer; with an activation after other ops, unit by unit:
        before the activation, after it, and which units it clips (in tables of at most
        :data:`UNIT_ROWS` rows, so that a page or a column may break between them)."""
        e = tex_text
        output = parts.output
        clipped = set(parts.clipped or ())
        pre_latex = self._tex(parts.argument) if parts.argument is not None else \
            rf"\text{{before {e(str(parts.activation))}}}"
        lhs = self._tex(step.formula.lhs)
        if parts.pre is not None and not output.truncated and len(output.shape) == 1:
            rows = list(enumerate(zip(parts.pre.values, output.values)))
            out = []
            for start in range(0, len(rows), UNIT_ROWS):
                out += [r"{\small\setlength{\tabcolsep}{3pt}"
                        r"\begin{tabular}{@{}r r r l@{}}\toprule",
                        rf"unit & ${pre_latex}$ & ${lhs}$ & \\ \midrule"]
                for j, (a, b) in rows[start:start + UNIT_ROWS]:
                    note = rf"clipped by {e(str(parts.activation))}" if j in clipped else ""
                    out.append(rf"{j} & {self._n(a)} & {self._n(b)} & {note} \\")
                out.append(r"\bottomrule\end{tabular}\par}")
            return out
        out = []
        if parts.pre is not None:
            out.append(rf"{{\small\raggedright Before {e(str(parts.activation))}: "
                       rf"${pre_latex}$ $=$ {self._values_latex(parts.pre)}\par}}")
        out.append(rf"{{\small\raggedright Out: ${lhs}$ $=$ {self._values_latex(output)}\par}}")
        if parts.clipped:
            out.append(rf"{{\small\raggedright Clipped units: "
                       rf"{', '.join(map(str, parts.clipped))}.\par}}")
        return out


def _floats(value: Any) -> np.ndarray:
    """An array of numbers (SymPy's exact ones too) as float64."""
    return np.asarray(np.asarray(value, dtype=object).astype(np.float64))


_SYMNET_TERM = re.compile(r"[A-Za-z]+_\d+\[[\d,]+\](·[A-Za-z]+_\d+\[[\d,]+\])?")


def _term_latex(label: str) -> str:
    """``h_1[5]·W_2[5,0]`` as mathematics when it is one of symnet's own names."""
    if _SYMNET_TERM.fullmatch(label):
        math = re.sub(r"([A-Za-z]+)_(\d+)", r"\1_{\2}", label).replace("·", r" \cdot ")
        return f"${math}$"
    return tex_text(label)
