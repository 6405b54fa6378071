"""The exercise sheet: what to compute, in numbered parts with room to answer, with a diagram of
the network. One model of a sheet, printed as a self-contained HTML page (MathML, inline SVG
and CSS: no CDN) and as a LaTeX document that pdflatex compiles with the base packages only."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..escape import html_text, tex_script_preamble, tex_text
from .diagram import diagram, diagram_latex, diagram_svg

__all__ = ["Part", "Sheet", "render_sheets", "sheet_html", "sheet_latex"]


@dataclass(frozen=True)
class Part:
    """One numbered question: a formula to evaluate and a box per number to write."""

    what: str
    """In words."""
    formula: str
    """LaTeX."""
    boxes: int
    names: tuple[str, ...]
    """LaTeX of each number's name, one per box."""
    per_line: int = 0
    """Boxes per line (a matrix's row length); 0: as many as fit."""


@dataclass(frozen=True)
class Sheet:
    title: str
    student: str | None
    task: str
    definitions: tuple[str, ...]
    """LaTeX: the network's formulas, its parameters, the input."""
    parts: tuple[Part, ...]
    choices: tuple[tuple[str, str], ...]
    """(letter, value) of the multiple-choice final part; empty for a box."""
    sizes: tuple[int, ...] | None
    """Layer widths for the diagram; ``None``: no diagram."""
    activation: str = "ReLU"
    """The hidden layers' activation, as the diagram names it."""
    output: tuple[str, str] = ("y", "y")
    """The outputs' name in the diagram (LaTeX, plain text)."""


def _number(value: float) -> str:
    return f"{value:.6g}".replace("-", "−") if value else "0"


def build_sheet(exercise: Any, variant: Any, multiple_choice: bool) -> Sheet:
    shape = exercise.design
    parts = tuple(Part(s.what, s.formula, s.values.size, s.entry_names(),
                       s.values.shape[1] if s.values.ndim == 2 and s.values.shape[0] > 1
                       else 0) for s in variant.stages)
    choices = tuple((letter, _number(value)) for letter, value, _ in variant.choices) \
        if multiple_choice else ()
    task = shape.task(exercise.digits)
    return Sheet(f"Exercise {exercise.seed}", variant.student, task,
                 tuple(shape.definitions(exercise.weights, variant.x)), parts, choices,
                 shape.sizes, getattr(shape, "diagram_activation", "ReLU"),
                 getattr(shape, "diagram_output", ("y", "y")))


def _diagram(sheet: Sheet) -> Any:
    return diagram(sheet.sizes or (), sheet.activation, sheet.output)


# --- HTML ---------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 46rem;
       margin: 2rem auto; padding: 0 1.2rem; color: #1d2330; line-height: 1.5; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
.student { color: #445; font-size: 1.05rem; margin-top: 0; }
.task { background: #f3f6fb; border-left: 4px solid #1f5fa8; padding: .6rem .9rem; }
figure { margin: 1rem 0; text-align: center; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #556; font-size: .9rem; }
math[display=block] { margin: .5rem 0; }
ol.parts { padding-left: 1.6rem; }
ol.parts > li { margin: 1rem 0; }
.boxes { display: flex; flex-wrap: wrap; gap: .6rem; margin-top: .4rem; }
.box { display: inline-flex; align-items: flex-end; gap: .3rem; }
.box span.blank { display: inline-block; width: 6.5rem; height: 1.8rem;
                  border: 1px solid #7a8699; border-radius: 3px; background: #fff; }
.choices { list-style: none; padding: 0; display: flex; gap: 1.2rem; flex-wrap: wrap; }
.choices li { border: 1px solid #7a8699; border-radius: 3px; padding: .2rem .6rem; }
@media print { .task { background: none; } }
""".strip()


def _mathml(latex: str, display: str = "block") -> str:
    from latex2mathml.converter import convert

    return convert(latex, display=display)


def sheet_html(sheet: Sheet) -> str:
    """A complete, self-contained HTML page."""
    title = sheet.title + (f" — {sheet.student}" if sheet.student else "")
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html_text(title)}</title>", f"<style>{_STYLE}</style>", "</head>",
           "<body>", f"<h1>{html_text(sheet.title)}</h1>"]
    if sheet.student:
        out.append(f'<p class="student">for {html_text(sheet.student)}</p>')
    out += [f'<p class="task">{html_text(sheet.task, None)}</p>',
            *([f"<figure>{diagram_svg(_diagram(sheet))}<figcaption>The network: every "
               "unit of a layer feeds every unit of the next.</figcaption></figure>"]
              if sheet.sizes else []), "<h2>The network</h2>"]
    out += [_mathml(line) for line in sheet.definitions]
    out += ["<h2>Your answers</h2>", '<ol class="parts" type="a">']
    for i, part in enumerate(sheet.parts):
        last = i == len(sheet.parts) - 1
        out.append(f"<li>{html_text(part.what)}: {_mathml(part.formula, 'inline')}")
        if last and sheet.choices:
            out.append('<ul class="choices">' + "".join(
                f"<li>({letter}) {html_text(value)}</li>" for letter, value in sheet.choices)
                + "</ul><p>Circle one letter.</p>")
        else:
            grid = (f' style="display: grid; grid-template-columns: repeat({part.per_line}, '
                    'max-content)"' if part.per_line else "")
            out.append(f'<div class="boxes"{grid}>' + "".join(
                f'<span class="box">{_mathml(name, "inline")} = <span class="blank"></span>'
                "</span>" for name in part.names) + "</div>")
        out.append("</li>")
    out += ["</ol>", "</body>", "</html>", ""]
    return "\n".join(out)


# --- LaTeX --------------------------------------------------------------------------------

def latex_preamble(names: Sequence[object] = ()) -> list[str]:
    """The preamble of a sheet or a key: amsmath and geometry, text extractable from the PDF
    (pdfTeX's glyph-to-Unicode table), and the font encodings of the Greek or Cyrillic
    names in ``names``."""
    out = [r"\documentclass[11pt]{article}", r"\usepackage[margin=2.2cm]{geometry}",
           r"\usepackage{amsmath,amssymb}", r"\setlength{\parindent}{0pt}",
           r"\input{glyphtounicode}\pdfgentounicode=1",
           r"\newcommand{\answerbox}{\framebox[2.6cm]{\rule{0pt}{1.4em}}}"]
    encodings = tex_script_preamble([str(n) for n in names])
    if encodings:
        out.append(encodings)
    return out


def sheet_body(sheet: Sheet) -> list[str]:
    """The sheet's LaTeX, between ``\\begin{document}`` and ``\\end{document}``."""
    out = [rf"\section*{{{tex_text(sheet.title)}}}"]
    if sheet.student:
        out.append(rf"\textit{{for {tex_text(sheet.student, scripts=True)}}}\par\medskip")
    out += [tex_text(sheet.task, None), r"\par\medskip"]
    if sheet.sizes:
        out += [r"\begin{center}", diagram_latex(_diagram(sheet)), r"\end{center}"]
    out.append(r"\subsection*{The network}")
    out += [rf"\[ {line} \]" for line in sheet.definitions]
    out += [r"\subsection*{Your answers}", r"\renewcommand{\labelenumi}{(\alph{enumi})}",
            r"\begin{enumerate}"]
    for i, part in enumerate(sheet.parts):
        last = i == len(sheet.parts) - 1
        out.append(rf"\item {tex_text(part.what)}: ${part.formula}$\par\smallskip")
        if last and sheet.choices:
            out.append(r"\quad ".join(rf"({letter})~${value.replace('−', '-')}$"
                                      for letter, value in sheet.choices)
                       + r"\par\smallskip Circle one letter.")
        else:
            boxes = [rf"${name} = $\,\answerbox" for name in part.names]
            step = part.per_line or len(boxes)
            out.append(r"\par\smallskip ".join(r"\quad ".join(boxes[i:i + step])
                                                for i in range(0, len(boxes), step)))
    out.append(r"\end{enumerate}")
    return out


def sheet_latex(sheet: Sheet) -> str:
    """A complete LaTeX document (amsmath and geometry only; Greek or Cyrillic names in
    their standard font encodings)."""
    return "\n".join([*latex_preamble([sheet.student or ""]), r"\begin{document}",
                      *sheet_body(sheet), r"\end{document}", ""])


# --- files --------------------------------------------------------------------------------

def slug(name: str) -> str:
    """A file name part from a student's name: ASCII letters, digits and '-' only (the name
    itself never reaches a path)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:32]
    return cleaned or "student"


def render_sheets(exercise: Any, multiple_choice: bool) -> dict[str, str]:
    """File name -> text: the sheet of the seed's input, and one per student."""
    files = {}
    base = build_sheet(exercise, exercise.base, multiple_choice)
    files["exercise.tex"] = sheet_latex(base)
    files["exercise.html"] = sheet_html(base)
    for i, variant in enumerate(exercise.variants, start=1):
        sheet = build_sheet(exercise, variant, multiple_choice)
        stem = f"sheets/{i:03d}-{slug(variant.student)}"
        files[f"{stem}.tex"] = sheet_latex(sheet)
        files[f"{stem}.html"] = sheet_html(sheet)
    return files
