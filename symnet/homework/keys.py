"""The teacher's side of a class set: the answer key of every student, with every value the
sheet asks for (CSV and LaTeX), and all the sheets in one document for printing."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ..escape import terminal_text, tex_scripts, tex_text, tex_unsettable
from .classcsv import write_csv
from .sheet import build_sheet, latex_preamble, sheet_body

__all__ = ["check_names", "key_csv", "key_latex", "sheets_latex"]


def _number(value: float) -> str:
    return f"{float(value):.7g}"


def key_csv(exercise: Any, variants: Sequence[Any], multiple_choice: bool) -> str:
    """One row per student: the input, every entry of every stage (the class CSV's columns),
    the answer and, for multiple choice, the right letter and the number beside each letter."""
    stages = exercise.base.stages
    columns = [c for s in stages for c in s.columns() if c != "answer"]
    letters = [letter for letter, _, _ in exercise.base.choices] if multiple_choice else []
    header = ["student", "input", *columns, "answer",
              *(["choice", *[f"choice {letter}" for letter in sorted(letters)]]
                if multiple_choice else [])]
    rows = []
    for v in variants:
        values = [_number(a) for s in v.stages[:-1] for a in s.values.reshape(-1)]
        choices = {letter: value for letter, value, _ in v.choices}
        rows.append([v.student or "", ",".join(f"{a:g}" for a in v.x.reshape(-1)), *values,
                     _number(v.answer),
                     *([v.letter, *[_number(choices[letter]) for letter in sorted(choices)]]
                       if multiple_choice else [])])
    return write_csv(header, rows)


def _matrix(values: np.ndarray) -> str:
    arr = np.asarray(values, np.float64)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    arr = arr.reshape(1, -1) if arr.ndim <= 1 else arr.reshape(-1, arr.shape[-1])
    if arr.size == 1:
        return _number(arr[0, 0]).replace("-", "-")
    rows = [" & ".join(_number(v) for v in row) for row in arr]
    return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"


def key_latex(exercise: Any, variants: Sequence[Any], multiple_choice: bool) -> str:
    """The answer key as a LaTeX document: per student, the input and every value the sheet
    asks for, to the 7 significant digits of float32, and the right letter."""
    names = [v.student or "" for v in variants]
    out = [*latex_preamble(names), r"\begin{document}",
           rf"\section*{{{tex_text(f'Exercise {exercise.seed}: answer key')}}}",
           tex_text(f"{exercise.design.describe()}; every value to 7 significant digits; "
                    f"answers need {exercise.digits} significant digits.", None)]
    for v in variants:
        title = v.student if v.student else "the exercise's own input"
        out += [rf"\subsection*{{{tex_text(title, scripts=True)}}}",
                rf"\[ x = {_matrix(v.x)} \]"]
        for stage in v.stages:
            out.append(rf"\[ {stage.name} = {_matrix(stage.values)} \]")
        if multiple_choice:
            out.append(rf"Right letter: \textbf{{{v.letter}}}.\par")
        out.append(r"\medskip")
    out += [r"\end{document}", ""]
    return "\n".join(out)


def sheets_latex(exercise: Any, multiple_choice: bool) -> str:
    """Every student's sheet in one document, one after the other from a new page: print
    it once."""
    sheets = [build_sheet(exercise, v, multiple_choice) for v in exercise.variants]
    out = [*latex_preamble([s.student or "" for s in sheets]), r"\begin{document}"]
    for i, sheet in enumerate(sheets):
        if i:
            out.append(r"\clearpage")
        out += sheet_body(sheet)
    out += [r"\end{document}", ""]
    return "\n".join(out)


def check_names(names: Sequence[str], pdf: bool) -> None:
    """Refuse, before anything is written, a name that the LaTeX sheets cannot set: a script
    with no standard font encoding (CJK, Arabic...), or — with ``pdf`` — Greek or Cyrillic
    when the TeX installation lacks their encoding."""
    for number, name in enumerate(names, start=1):
        bad = tex_unsettable(name)
        if bad:
            shown = "".join(dict.fromkeys(bad))
            raise InvalidInputError(
                f"student {number}'s name {terminal_text(name, limit=80)!r} has characters "
                f"that pdflatex cannot set with the standard packages "
                f"({terminal_text(shown, limit=40)!r}); the LaTeX sheets would print them as "
                "'?'. Write the name in Latin, Greek or Cyrillic letters in the roster")
        if pdf:
            for script, encoding, package, _, _ in tex_scripts(name):
                if not _has_encoding(encoding):
                    raise InvalidInputError(
                        f"student {number}'s name {terminal_text(name, limit=80)!r} is in "
                        f"{script}, which this TeX installation cannot set: it lacks the "
                        f"{encoding} font encoding ({encoding.lower()}enc.def; on Debian, "
                        f"install {package}). The .tex and HTML sheets are right; only the "
                        "PDF needs it")


def _has_encoding(encoding: str) -> bool:
    """Whether TeX finds the font encoding's definition file (``t2aenc.def``)."""
    kpsewhich = shutil.which("kpsewhich")
    if kpsewhich is None:
        return False
    try:
        found = subprocess.run([kpsewhich, f"{encoding.lower()}enc.def"], capture_output=True,
                               text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return bool(found.stdout.strip())
