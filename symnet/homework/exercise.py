"""Exercises worth setting: a small random network to compute by hand, one variant per student,
and the key.

``make_exercise(seed, folder)`` is deterministic per seed: the weights are multiples of 1/2
(exact in float32, friendly by hand), the input small integers. Three kinds (``designs``): a
dense ReLU network, a small convolution with max pooling, a small RNN. A network or an input is
drawn again until the exercise can tell mistakes apart: every step is worth computing (a ReLU
clips a unit and passes another; no tanh saturates) and each catalogued mistake (each in one
layer, each in every layer) gives a final answer that differs from the right one and from every
other mistake's by more than a unit in the last of the ``digits`` required.

With a roster, each student gets their own input, drawn from the seed and their name: the same
student always gets the same variant, whatever the roster's order.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ..escape import terminal_text
from .decide import rounded_digits
from .designs import Design, Stage, apart, design
from .diagnose import Diagnoser
from .numbers import read_numbers

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
    """One student's exercise: the input, every stage of the hand calculation and the final
    answer, the catalogued mistakes' final answers, and the choices of the multiple-choice
    version."""

    student: str | None
    x: np.ndarray
    stages: tuple[Stage, ...]
    """The hand calculation, the network's output last."""
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
    design: Design
    weights: tuple[np.ndarray, ...]
    """The Keras model's weights in its order, float64 (exact halves)."""
    digits: int
    base: Variant
    """The exercise at the seed's own input."""
    variants: tuple[Variant, ...]
    """One per student (none without a roster)."""
    model: Any = None

    @property
    def kind(self) -> str:
        return self.design.kind


def _mistake_answers(diagnoser: Diagnoser, x: np.ndarray, notation: Any = None
                     ) -> list[WrongAnswer]:
    """Each catalogued mistake that changes the final answer, with its answer and its
    sentence in the sheet's notation."""
    from .messages import mistake_message
    from .notation import Notation

    notation = notation or Notation()
    arrays = [x.reshape((1,) + diagnoser.graph.shapes[diagnoser.graph.inputs[0]])]
    out = []
    for mistake in diagnoser.singles:
        if mistake.changes_reported_only:
            continue  # only what is written for a layer changes: steps catch it
        values, rows = diagnoser.run(mistake, arrays)
        if not all(k in values for k in diagnoser.graph.outputs):
            continue  # the mistake changes a shape the network cannot go on with
        out.append(WrongAnswer(mistake.code, mistake.layers, mistake_message(mistake, notation),
                               float(diagnoser.graph.output_values(values)[rows][0, 0])))
    return out


def _telling(answer: float, wrong: list[WrongAnswer], digits: int) -> bool:
    """Whether the right answer and every mistake's are pairwise apart, and no mistake's
    answer, written as it comes out (``-12``), is also another answer rounded (-11.5 to two
    digits): a student who makes that mistake and writes what they found must not be told
    that their number is the right one rounded."""
    values = [answer] + [w.value for w in wrong]
    if not all(apart(a, b, digits) for a, b in itertools.combinations(values, 2)):
        return False
    for w in wrong:
        written = read_numbers(f"{w.value:.10g}", "answer")
        if rounded_digits(written, np.array([answer])) is not None:
            return False
    return True


def _student_rng(seed: int, student: str | None) -> np.random.Generator:
    if student is None:
        return np.random.default_rng([seed, 0])
    digest = hashlib.sha256(student.encode("utf-8")).digest()
    return np.random.default_rng([seed, 1, int.from_bytes(digest[:8], "little")])


def _variant(diagnoser: Diagnoser, shape: Design, weights: Sequence[np.ndarray],
             x: np.ndarray, student: str | None, digits: int, rng: np.random.Generator
             ) -> Variant | None:
    stages = shape.stages(weights, x)
    if not shape.interesting(stages):
        return None
    answer = float(stages[-1].values.reshape(-1)[0])
    from .notation import Notation

    wrong = _mistake_answers(diagnoser, x, Notation.from_dict(shape.notation()))
    if not shape.every_mistake_apart:  # a given network: what a mistake cannot change, it
        wrong = [w for w in wrong if apart(w.value, answer, digits)]  # cannot be asked about
        values: list[WrongAnswer] = []
        for w in wrong:
            if all(apart(w.value, v.value, digits) for v in values):
                values.append(w)
        wrong = values
    if not _telling(answer, wrong, digits):
        return None
    distinct: list[WrongAnswer] = []
    for w in wrong:
        if all(apart(w.value, d.value, digits) for d in distinct):
            distinct.append(w)
    options: list[tuple[float, str | None]] = [(answer, None)] + [
        (w.value, w.code) for w in distinct[:4]]
    order = rng.permutation(len(options))
    choices = tuple((chr(ord("A") + i), options[k][0], options[k][1])
                    for i, k in enumerate(order))
    return Variant(student, x, tuple(stages), answer, tuple(distinct), choices)


def build_exercise(seed: int, widths: Sequence[int] = (3,), inputs: int = 2,
                   students: Sequence[str] | None = None, digits: int = 3,
                   kind: str = "dense") -> Exercise:
    """Draw the exercise of ``seed`` (and each student's variant). ``kind``: ``dense`` (a ReLU
    network of ``inputs`` and hidden ``widths``), ``conv`` (a 5×5 image, a 2×2 filter, max
    pooling) or ``rnn`` (a simple RNN of 2 units over 3 steps)."""
    from ..network import explain

    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise InvalidInputError(f"an exercise's seed is a whole number from 0 to 2^63 - 1, "
                                f"received {seed!r}")
    if kind == "dense" and (not widths or any(w < 1 or w > 16 for w in widths)
                            or not 1 <= inputs <= 8 or len(widths) > 6):
        raise InvalidInputError(f"an exercise has 1 to 8 inputs and 1 to 6 hidden layers of 1 "
                                f"to 16 units; received inputs={inputs}, layers={list(widths)}")
    if not 1 <= digits <= 6:
        raise InvalidInputError(f"digits: 1 to 6 for an exercise, received {digits!r}")
    shape = design(kind, widths, inputs)
    rng = np.random.default_rng(seed)
    model = None
    too_large: ClassTooLarge | None = None
    networks = 0
    for _ in range(MAX_TRIES):
        if too_large is not None and networks >= 12:
            raise too_large
        weights = shape.draw(rng)
        x = shape.draw_input(rng)
        if not shape.promising(weights, x, digits):
            continue
        if model is None:
            model = shape.model(seed, weights)
        else:
            model.set_weights([w.astype(np.float32) for w in weights])
        diagnoser = Diagnoser(explain(model).graph)
        base = _variant(diagnoser, shape, weights, x, None, digits, _student_rng(seed, None))
        if base is None:
            continue
        networks += 1
        try:
            variants = _class_variants(diagnoser, shape, weights, seed, students or (), digits)
        except ClassTooLarge as exc:  # another network of the seed may have more variants
            too_large = too_large or exc
            continue
        if variants is not None:
            return Exercise(seed, shape, tuple(weights), digits, base,
                            tuple(variants), model)
    if too_large is not None:
        raise too_large
    raise InvalidInputError(f"no network of {shape.describe()} drawn from seed {seed} tells "
                            f"every mistake apart at {digits} digits (with every student's "
                            f"input); try another seed or shape")


#: Tries per student at each spread of the inputs (the usual range, then twice and four
#: times as wide): a large class needs more distinct inputs than the usual range holds.
TRIES = ((1, 150), (2, 150), (4, 150))


class ClassTooLarge(InvalidInputError):
    """More students than the shape has distinct variants at the digits asked."""


def _class_variants(diagnoser: Any, shape: Design, weights: Sequence[np.ndarray],
                    seed: int, students: Sequence[str], digits: int,
                    variant: Callable[..., Variant | None] | None = None
                    ) -> list[Variant] | None:
    """One variant per student, every input and every answer distinct from every other
    student's (answers more than a unit apart in the last of ``digits``). Students are served
    in the order of their names' digests, so the roster's order changes nothing; each draws
    from a stream of their own (seed and name). ``None`` when a student's own calculation
    cannot tell the mistakes apart with this network (the caller draws another); a
    :class:`ClassTooLarge` error when the class is too large for the shape. ``variant``: what
    makes a student's variant (from ``diagnoser``, the design, the weights, the input, the
    student, the digits and their random stream), by default the forward kinds'
    (:func:`_variant`)."""
    order = sorted(students, key=lambda s: hashlib.sha256(s.encode("utf-8")).digest())
    chosen: dict[str, Variant] = {}
    inputs: set[bytes] = set()
    answers: list[float] = []
    for student in order:
        found = _student_variant(diagnoser, shape, weights, seed, student, digits, inputs,
                                 answers, variant or _variant)
        if found is None:
            if not chosen:
                return None
            raise ClassTooLarge(
                f"the class is too large for the shape: {shape.describe()} at {digits} "
                f"digits gave {len(chosen)} students distinct inputs and answers, and none is "
                f"left for student {len(chosen) + 1} of {len(students)}; set a "
                "shape with more inputs or units, or fewer digits, or split the class between "
                "two seeds")
        chosen[student] = found
        inputs.add(found.x.tobytes())
        answers.append(found.answer)
    return [chosen[s] for s in students]


def _student_variant(diagnoser: Any, shape: Design, weights: Sequence[np.ndarray],
                     seed: int, student: str, digits: int, inputs: set[bytes],
                     answers: list[float], variant: Callable[..., Variant | None] | None = None
                     ) -> Variant | None:
    rng = _student_rng(seed, student)
    for spread, tries in TRIES:
        for _ in range(tries):
            x = shape.draw_input(rng, spread)
            if x.tobytes() in inputs or not shape.promising(weights, x, digits):
                continue
            answer = float(shape.stages(weights, x)[-1].values.reshape(-1)[0])
            if not all(apart(answer, a, digits) for a in answers):
                continue
            found = (variant or _variant)(diagnoser, shape, weights, x, student, digits, rng)
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
                  multiple_choice: bool = False, moodle: bool = False, kind: str = "dense",
                  qti: bool = False, decimal_comma: bool = False,
                  backprop: dict[str, Any] | None = None) -> list[Path]:
    """Write the exercise of ``seed`` into ``folder``; returns the paths written. ``kind``,
    ``widths`` and ``inputs`` as for :func:`build_exercise`.

    Always: the network (``exercise.keras``) and its key for grading (``exercise.json``), the
    sheet (``exercise.tex``, ``exercise.html``; with ``pdf``, every ``.tex`` compiled by
    pdflatex), the key (``key.csv`` and ``key.tex``: every value the sheet asks for, per
    student; ``key.txt``, ``steps.json`` in the format of ``symnet check --steps``,
    ``input.txt``). With ``students``: one sheet per student under ``sheets/``, all of them in
    ``sheets.tex`` for printing, and ``class.csv``, the class's answer sheet (a column per
    number asked) to fill in and grade with ``symnet check --answers``. With
    ``multiple_choice``, the final part offers the catalogue's wrong answers as choices; with
    ``moodle``, ``moodle.xml``, with ``qti``, ``canvas-qti.zip``: the class set as Moodle or
    Canvas questions. ``kind="backprop"``: the backpropagation exercise
    (:mod:`~symnet.homework.backprop_exercise`; ``backprop``: its ``activation`` and ``loss``).
    """
    if pdf:
        from ..pdf import require_engine

        require_engine()  # a missing engine is an error before anything is written
    if kind == "backprop":
        from .backprop_exercise import build_backprop_exercise

        exercise = build_backprop_exercise(seed, students, digits, **(backprop or {}))
    else:
        exercise = build_exercise(seed, widths, inputs, students, digits, kind)
    return write_exercise(exercise, folder, pdf=pdf, multiple_choice=multiple_choice,
                          moodle=moodle, qti=qti, decimal_comma=decimal_comma)


def write_exercise(exercise: Exercise, folder: Path, *, pdf: bool = False,
                   multiple_choice: bool = False, moodle: bool = False, qti: bool = False,
                   decimal_comma: bool = False) -> list[Path]:
    """Write an exercise's files into ``folder`` (see :func:`make_exercise`)."""
    from ..files import staged_folder, write_output
    from .keys import check_names, key_csv, key_latex, sheets_latex
    from .sheet import render_sheets

    if pdf:
        from ..pdf import require_engine

        require_engine()  # a missing engine is an error before anything is written
    check_names([v.student for v in exercise.variants if v.student], pdf)
    files = render_sheets(exercise, multiple_choice)
    base = exercise.base
    files["key.txt"] = _key_text(exercise, base)
    files["steps.json"] = json.dumps(_steps(base), indent=2) + "\n"
    extra = getattr(exercise.design, "extra_files", None)
    if extra is not None:
        files.update(extra(base))
    files["input.txt"] = _flat(base.x) + "\n"
    variants = exercise.variants or (base,)
    files["key.csv"] = key_csv(exercise, variants, multiple_choice)
    files["key.tex"] = key_latex(exercise, variants, multiple_choice)
    if exercise.variants:
        files["sheets.tex"] = sheets_latex(exercise, multiple_choice)
        files["class.csv"] = class_template(exercise, decimal_comma)
    if moodle:
        from .moodle import moodle_xml

        files["moodle.xml"] = moodle_xml(exercise, multiple_choice)
    qti_bytes = None
    if qti:
        from .qti import qti_zip

        qti_bytes = qti_zip(exercise, multiple_choice)
    # written into a folder beside it, then moved in: the whole set or nothing (a full disk,
    # a failing pdflatex leave no half exercise)
    with staged_folder(folder) as stage:
        if exercise.variants:
            (stage / "sheets").mkdir()
        try:
            exercise.model.save(stage / "exercise.keras")
        except OSError as exc:
            raise InvalidInputError(f"cannot write {str(folder / 'exercise.keras')!r}: "
                                    f"{exc.strerror}") from None
        names = ["exercise.keras"]
        from .key import file_sha256

        files["exercise.json"] = exercise_key(exercise, multiple_choice,
                                              file_sha256(stage / "exercise.keras")).to_json()
        for name, content in files.items():
            write_output(content, str(stage / name))
            names.append(name)
        if qti_bytes is not None:
            write_output(qti_bytes, str(stage / "canvas-qti.zip"))
            names.append("canvas-qti.zip")
        if pdf:
            from ..pdf import latex_to_pdf

            for name in [n for n in files if n.endswith(".tex")]:
                latex_to_pdf(files[name], stage / (name[:-4] + ".pdf"))
                names.append(name[:-4] + ".pdf")
    written = [folder / name for name in names]
    return written


def exercise_key(exercise: Exercise, multiple_choice: bool, sha256: str = "") -> Any:
    """The exercise's key (:class:`~symnet.homework.key.ExerciseKey`)."""
    from .key import ExerciseKey, KeyStage, KeyVariant
    from .notation import Notation

    base = exercise.base
    stages = tuple(KeyStage(s.key, s.text, s.name, s.what, s.layer, tuple(s.values.shape),
                            s.columns(), s.entry_texts()) for s in base.stages)
    variants = tuple(KeyVariant(v.student, tuple(float(a) for a in v.x.reshape(-1)), v.answer,
                                {s.key: tuple(float(a) for a in s.values.reshape(-1))
                                 for s in v.stages},
                                {letter: value for letter, value, _ in v.choices}
                                if multiple_choice else {}, v.letter if multiple_choice else "")
                     for v in (exercise.variants or (base,)))
    return ExerciseKey(exercise.seed, exercise.kind, exercise.digits,
                       exercise.design.key_shape(), tuple(exercise.weights),
                       Notation.from_dict(exercise.design.notation()), stages, variants, sha256)


def class_template(exercise: Exercise, decimal_comma: bool = False) -> str:
    """The class's answer sheet: a row per student with the input filled in, and a column for
    every number the sheet asks for (each entry of each stage, then ``answer``). With
    ``decimal_comma``, ``;``-separated and the input's numbers separated by spaces."""
    from .classcsv import write_csv

    columns = [c for s in exercise.base.stages for c in s.columns() if c != "answer"]
    header = ["student", "input", *columns, "answer"]
    rows = ([v.student, _flat(v.x, " " if decimal_comma else ","), *[""] * len(columns), ""]
            for v in exercise.variants)
    return write_csv(header, rows, delimiter=";" if decimal_comma else ",")


def _flat(x: np.ndarray, separator: str = ",") -> str:
    """An input as ``symnet check --input`` reads it: its entries in row-major order."""
    return separator.join(f"{v:g}" for v in np.asarray(x).reshape(-1))


def _steps(v: Variant) -> dict[str, list[float]]:
    """The values of each layer, in the format of ``symnet check --steps``."""
    return {s.layer: s.values.reshape(-1).tolist() for s in v.stages if s.layer is not None}


def _key_text(exercise: Exercise, base: Variant) -> str:
    lines = [f"Exercise {exercise.seed} ({exercise.design.describe()}): answer key at "
             f"x = {_flat(base.x)}"]
    for stage in base.stages[:-1]:
        shown = ", ".join(f"{v:.6g}" for v in stage.values.reshape(-1))
        where = f" ({stage.layer})" if stage.layer else ""
        lines.append(f"{stage.what}{where}: [{shown}]")
    lines.append(f"{getattr(exercise.design, 'answer_name', 'y')} = {base.answer:g}")
    lines.append("the catalogue's wrong answers: " + "; ".join(w.describe() for w in base.wrong))
    for v in exercise.variants:
        lines.append(f"{terminal_text(v.student, limit=80)}: x = {_flat(v.x)}, "
                     f"{getattr(exercise.design, 'answer_name', 'y')} = {v.answer:g}, "
                     f"choice {v.letter}")
    return "\n".join(lines) + "\n"
