"""Exercises worth setting: a small random network to compute by hand, one variant per student,
and the key.

``make_exercise(seed, folder)`` is deterministic per seed: the weights are multiples of 1/2
(exact in float32, friendly by hand), the input a vector of small integers. A network or an
input is drawn again until the exercise can tell mistakes apart: every hidden layer has an
active and a clipped unit, and each catalogued mistake (each in one layer, each in every layer)
gives a final answer that differs from the right one and from every other mistake's by more
than a unit in the last of the ``digits`` required.

With a roster, each student gets their own input, drawn from the seed and their name: the same
student always gets the same variant, whatever the roster's order.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ..escape import terminal_text
from .diagnose import Diagnoser

__all__ = ["Exercise", "Variant", "WrongAnswer", "build_exercise", "make_exercise",
           "read_roster"]

MAX_STUDENTS = 2000
MAX_TRIES = 2000


@dataclass(frozen=True)
class WrongAnswer:
    """A catalogued mistake's final answer for one variant."""

    code: str
    layers: tuple[str, ...]
    message: str
    value: float

    def describe(self) -> str:
        return f"{self.code} in {', '.join(self.layers)}: {self.value:g}"


@dataclass(frozen=True)
class Variant:
    """One student's exercise: the input, every step's right values and the final answer,
    the catalogued mistakes' final answers, and the choices of the multiple-choice version."""

    student: str | None
    x: np.ndarray
    pre: tuple[np.ndarray, ...]
    """Each hidden layer's values before the ReLU."""
    hidden: tuple[np.ndarray, ...]
    answer: float
    wrong: tuple[WrongAnswer, ...]
    """One per catalogued mistake whose answer differs from the others'."""
    choices: tuple[tuple[str, float, str | None], ...]
    """(letter, value, the mistake's code or ``None`` for the right answer)."""

    @property
    def letter(self) -> str:
        return next(letter for letter, _, code in self.choices if code is None)


@dataclass(frozen=True)
class Exercise:
    seed: int
    inputs: int
    widths: tuple[int, ...]
    weights: tuple[np.ndarray, ...]
    """Kernel, bias, kernel, bias..., float64 (exact halves)."""
    digits: int
    base: Variant
    """The exercise at the seed's own input."""
    variants: tuple[Variant, ...]
    """One per student (none without a roster)."""
    model: Any = None


def _draw_network(rng: np.random.Generator, inputs: int, widths: Sequence[int]
                  ) -> list[np.ndarray]:
    sizes = [inputs, *widths, 1]
    weights = []
    for n, m in itertools.pairwise(sizes):
        weights += [rng.integers(-4, 5, size=(n, m)) / 2, rng.integers(-4, 5, size=m) / 2]
    return weights


def _forward(weights: Sequence[np.ndarray], x: np.ndarray
             ) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    pre, hidden, h = [], [], x
    for k in range(len(weights) // 2 - 1):
        z = h @ weights[2 * k] + weights[2 * k + 1]
        pre.append(z)
        h = np.maximum(z, 0)
        hidden.append(h)
    return pre, hidden, float((h @ weights[-2] + weights[-1])[0])


def _interesting(pre: list[np.ndarray]) -> bool:
    """Every hidden layer has a unit the ReLU clips (so that forgetting it matters) and, when
    wider than one, a unit it passes."""
    return all(bool(np.any(z < 0)) and (z.size < 2 or bool(np.any(z > 0))) for z in pre)


def _promising(weights: Sequence[np.ndarray], x: np.ndarray, digits: int) -> bool:
    """A quick look before the catalogue is run: the answer negative (a ReLU applied to the
    output would change it) and apart from the answer without any ReLU."""
    pre, _, answer = _forward(weights, x)
    if not _interesting(pre) or answer >= 0:
        return False
    h = x
    for k in range(len(weights) // 2):
        h = h @ weights[2 * k] + weights[2 * k + 1]
    return _apart(answer, float(h[0]), digits)


def _apart(a: float, b: float, digits: int) -> bool:
    """More than one unit apart in the last of ``digits`` significant digits."""
    scale = max(abs(a), abs(b))
    if scale == 0:
        return False
    unit = 10.0 ** (math.floor(math.log10(scale)) - digits + 1)
    return abs(a - b) > unit


def _mistake_answers(diagnoser: Diagnoser, x: np.ndarray) -> list[WrongAnswer]:
    """Each catalogued mistake that changes the final answer, with its answer."""
    arrays = [x.reshape(1, -1)]
    out = []
    for mistake in diagnoser.singles:
        if mistake.changes_reported_only:
            continue  # only what is written for a layer changes: steps catch it
        values, rows = diagnoser.run(mistake, arrays)
        out.append(WrongAnswer(mistake.code, mistake.layers, mistake.message,
                               float(diagnoser.graph.output_values(values)[rows][0, 0])))
    return out


def _telling(answer: float, wrong: list[WrongAnswer], digits: int) -> bool:
    """Whether the right answer and every mistake's are pairwise apart."""
    values = [answer] + [w.value for w in wrong]
    return all(_apart(a, b, digits) for a, b in itertools.combinations(values, 2))


def _student_rng(seed: int, student: str | None) -> np.random.Generator:
    if student is None:
        return np.random.default_rng([seed, 0])
    digest = hashlib.sha256(student.encode("utf-8")).digest()
    return np.random.default_rng([seed, 1, int.from_bytes(digest[:8], "little")])


def _keras_model(seed: int, inputs: int, widths: Sequence[int], weights: Sequence[np.ndarray]
                 ) -> Any:
    from ..io.keras import import_keras

    keras = import_keras()
    layers = [keras.Input((inputs,), name="x")]
    for k, width in enumerate(widths, start=1):
        layers.append(keras.layers.Dense(width, activation="relu", name=f"hidden_{k}"))
    layers.append(keras.layers.Dense(1, name="output"))
    model = keras.Sequential(layers, name=f"exercise_{seed}")
    model.set_weights([w.astype(np.float32) for w in weights])
    return model


def _variant(diagnoser: Diagnoser, weights: Sequence[np.ndarray], x: np.ndarray,
             student: str | None, digits: int, rng: np.random.Generator) -> Variant | None:
    pre, hidden, answer = _forward(weights, x)
    if not _interesting(pre):
        return None
    wrong = _mistake_answers(diagnoser, x)
    if not _telling(answer, wrong, digits):
        return None
    distinct: list[WrongAnswer] = []
    for w in wrong:
        if all(_apart(w.value, d.value, digits) for d in distinct):
            distinct.append(w)
    options: list[tuple[float, str | None]] = [(answer, None)] + [
        (w.value, w.code) for w in distinct[:4]]
    order = rng.permutation(len(options))
    choices = tuple((chr(ord("A") + i), options[k][0], options[k][1])
                    for i, k in enumerate(order))
    return Variant(student, x, tuple(pre), tuple(hidden), answer, tuple(distinct), choices)


def build_exercise(seed: int, widths: Sequence[int] = (3,), inputs: int = 2,
                   students: Sequence[str] | None = None, digits: int = 3) -> Exercise:
    """Draw the exercise of ``seed`` (and each student's variant)."""
    from ..network import explain

    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise InvalidInputError(f"an exercise's seed is a whole number from 0 to 2^63 - 1, "
                                f"received {seed!r}")
    if not widths or any(w < 1 or w > 16 for w in widths) or not 1 <= inputs <= 8 \
            or len(widths) > 6:
        raise InvalidInputError(f"an exercise has 1 to 8 inputs and 1 to 6 hidden layers of 1 "
                                f"to 16 units; received inputs={inputs}, layers={list(widths)}")
    if not 1 <= digits <= 6:
        raise InvalidInputError(f"digits: 1 to 6 for an exercise, received {digits!r}")
    rng = np.random.default_rng(seed)
    model = None
    for _ in range(MAX_TRIES):
        weights = _draw_network(rng, inputs, widths)
        x = rng.integers(-3, 4, size=inputs).astype(np.float64)
        if not _promising(weights, x, digits):
            continue
        if model is None:
            model = _keras_model(seed, inputs, widths, weights)
        else:
            model.set_weights([w.astype(np.float32) for w in weights])
        diagnoser = Diagnoser(explain(model).graph)
        base = _variant(diagnoser, weights, x, None, digits, _student_rng(seed, None))
        if base is None:
            continue
        variants = [_student_variant(diagnoser, weights, inputs, seed, s, digits)
                    for s in students or ()]
        if all(v is not None for v in variants):
            return Exercise(seed, inputs, tuple(widths), tuple(weights), digits, base,
                            tuple(variants), model)  # type: ignore[arg-type]
    raise InvalidInputError(f"no network of {inputs} inputs and layers {list(widths)} drawn "
                            f"from seed {seed} tells every mistake apart at {digits} digits "
                            f"(with every student's input); try another seed or shape")


def _student_variant(diagnoser: Diagnoser, weights: Sequence[np.ndarray], inputs: int,
                     seed: int, student: str, digits: int) -> Variant | None:
    rng = _student_rng(seed, student)
    for _ in range(200):
        x = rng.integers(-3, 4, size=inputs).astype(np.float64)
        if not _promising(weights, x, digits):
            continue
        found = _variant(diagnoser, weights, x, student, digits, rng)
        if found is not None:
            return found
    return None


def read_roster(path: str | Path) -> list[str]:
    """Student names or ids, one per line (UTF-8 or UTF-16, as class CSVs); blank lines
    skipped; a ``student`` header line, if any, skipped."""
    from .classcsv import MAX_CELL, open_class_csv

    with open_class_csv(path) as text:
        names = []
        for number, line in enumerate(text, start=1):
            name = line.strip()
            if len(name) > MAX_CELL:
                raise InvalidInputError(f"roster line {number} is longer than {MAX_CELL:,} "
                                        "characters")
            if name and not (number == 1 and name.lower() == "student"):
                names.append(name)
            if len(names) > MAX_STUDENTS:
                raise InvalidInputError(f"a roster has at most {MAX_STUDENTS:,} students")
    if len(set(names)) != len(names):
        raise InvalidInputError("the roster names a student twice: each name must be unique")
    if not names:
        raise InvalidInputError("the roster is empty")
    return names


def make_exercise(seed: int, folder: Path, widths: Sequence[int] = (3,), inputs: int = 2,
                  pdf: bool = False, *, students: Sequence[str] | None = None, digits: int = 3,
                  multiple_choice: bool = False, moodle: bool = False) -> list[Path]:
    """Write the exercise of ``seed`` into ``folder``; returns the paths written.

    Always: the network (``exercise.keras``), the sheet (``exercise.tex``, ``exercise.html``;
    with ``pdf``, ``exercise.pdf`` through pdflatex), the key (``key.txt``, ``steps.json`` in
    the format of ``symnet check --steps``, ``input.txt``). With ``students``: one sheet per
    student under ``sheets/``, ``key.csv`` (student, input, answer) and ``class.csv``, the
    class's answer sheet to fill in and grade with ``symnet check --answers``. With
    ``multiple_choice``, the final part offers the catalogue's wrong answers as choices; with
    ``moodle``, ``moodle.xml``: the class set as Moodle questions.
    """
    from ..files import write_output
    from .classcsv import write_csv
    from .sheet import render_sheets

    if pdf:
        from ..report.pdf import require_engine

        require_engine()  # a missing engine is an error before anything is written
    exercise = build_exercise(seed, widths, inputs, students, digits)
    files = render_sheets(exercise, multiple_choice)
    base = exercise.base
    files["key.txt"] = _key_text(exercise, base)
    files["steps.json"] = json.dumps(_steps(base), indent=2) + "\n"
    files["input.txt"] = ",".join(f"{v:g}" for v in base.x) + "\n"
    if students:
        files["key.csv"] = write_csv(
            ["student", "input", "answer", *(["choice"] if multiple_choice else [])],
            ([v.student, ",".join(f"{a:g}" for a in v.x), f"{v.answer:g}",
              *([v.letter] if multiple_choice else [])] for v in exercise.variants))
        files["class.csv"] = write_csv(["student", "input", "answer"], (
            [v.student, ",".join(f"{a:g}" for a in v.x), ""] for v in exercise.variants))
    if moodle:
        from .moodle import moodle_xml

        files["moodle.xml"] = moodle_xml(exercise, multiple_choice)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if students:
            (folder / "sheets").mkdir(exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"cannot create the folder {str(folder)!r}: {exc.strerror}"
                                ) from None
    model_path = folder / "exercise.keras"
    try:
        exercise.model.save(model_path)
    except OSError as exc:
        raise InvalidInputError(f"cannot write {str(model_path)!r}: {exc.strerror}") from None
    written = [model_path]
    for name, content in files.items():
        write_output(content, str(folder / name))
        written.append(folder / name)
    if pdf:
        from ..report.pdf import latex_to_pdf

        for name in [n for n in files if n.endswith(".tex")]:
            written.append(latex_to_pdf(files[name], folder / (name[:-4] + ".pdf")))
    return written


def _steps(v: Variant) -> dict[str, list[float]]:
    steps = {f"hidden_{k}": h.tolist() for k, h in enumerate(v.hidden, start=1)}
    steps["output"] = [v.answer]
    return steps


def _key_text(exercise: Exercise, base: Variant) -> str:
    lines = [f"Exercise {exercise.seed}: answer key at x = {base.x.tolist()}"]
    for k, (z, h) in enumerate(zip(base.pre, base.hidden), start=1):
        lines.append(f"hidden_{k}: before ReLU {z.tolist()}, after {h.tolist()}")
    lines.append(f"y = {base.answer:g}")
    lines.append("the catalogue's wrong answers: " + "; ".join(w.describe() for w in base.wrong))
    for v in exercise.variants:
        lines.append(f"{terminal_text(v.student, limit=80)}: x = {v.x.tolist()}, "
                     f"y = {v.answer:g}, choice {v.letter}")
    return "\n".join(lines) + "\n"
