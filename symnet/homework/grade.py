"""Grading a class: one CSV row per student -> a verdict per row, and a summary of the class.

The CSV has the columns ``input`` and ``answer`` (``student`` and ``digits`` optional), and may
carry step columns: the sheet's (``z1_1``, ``h1_2``... one number a cell, as the class CSV of
``symnet exercise`` has them, read through the exercise's key) or columns named after layers
(the values the student wrote for that layer, quoted and comma-separated); a row with steps is
judged step by step, with follow-through credit. A column that names nothing is an error.
Numbers are read as a student writes them: ``-26``, ``-2.6e1``, the Unicode minus ``−26``, and
with a ``;``-separated CSV (or ``decimal_comma``) ``-26,0``; a letter circled on a
multiple-choice sheet is the number beside it on that student's sheet.
Rows are read as a stream and graded in chunks: the network runs once per chunk for every
answer in it, and the mistakes are tried on the wrong answers of the chunk all at once.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ..escape import terminal_text
from ..files import parse_vector
from .classcsv import Row, number_cell, open_class_csv, read_table, write_csv
from .diagnose import Diagnoser
from .key import ExerciseKey
from .notation import Notation
from .numbers import Numbers, Policy, read_numbers
from .steps import read_steps
from .variants import VariantIndex, input_key
from .verdict import answer_verdict, outputs, steps_verdict

__all__ = ["Graded", "Summary", "grade", "grade_file", "render_grades", "summarize"]

CHUNK = 4096


@dataclass(frozen=True, eq=False)
class Graded:
    """One student's row, graded."""

    student: str
    input: str
    answer: str
    correct: bool
    code: str
    message: str
    expected: tuple[float, ...] | None = None
    score: float | None = None
    steps: dict[str, str] = field(default_factory=dict)
    """Step (a layer, or a stage of the sheet) -> ``right``, ``consistent``, ``too_imprecise``
    or ``wrong``."""
    confidence: str = "certain"
    """How sure the diagnosis is (:data:`symnet.homework.decide.CONFIDENCES`)."""
    other: str | None = None
    """For ``other_variant``: whose answer it is."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"student": self.student, "input": self.input,
                               "answer": self.answer, "correct": self.correct,
                               "code": self.code, "confidence": self.confidence,
                               "message": self.message, "other_student": self.other,
                               "expected": None if self.expected is None else list(
                                   self.expected)}
        if self.score is not None:
            out.update(score=self.score, steps=self.steps)
        return out


BASE_COLUMNS = ("student", "input", "answer", "digits")


def grade_file(net: Any, path: str | Path, policy: Policy | None = None, *,
               key: ExerciseKey | None = None, decimal_comma: bool | None = None,
               interface: str = "class") -> list[Graded]:
    """Grade the class CSV at ``path`` (UTF-8 with or without BOM, or UTF-16): first its
    inputs are read, to know every variant of the class (``other_variant``), then its rows
    are graded as they are read. ``key``: the exercise's key; by default the
    ``exercise.json`` beside the CSV, when it is this network's exercise."""
    from .key import key_beside

    shown = repr(terminal_text(str(path), limit=120))
    if key is None:
        key = key_beside(path, net)
    variants = class_variants(net, path, key, decimal_comma)
    with open_class_csv(path) as text:
        return list(grade(net, text, policy, shown=shown, key=key, variants=variants,
                          decimal_comma=decimal_comma, interface=interface))


def class_variants(net: Any, path: str | Path, key: ExerciseKey | None = None,
                   decimal_comma: bool | None = None) -> VariantIndex:
    """Every variant of the class: the key's students, and every input of the class CSV with
    the students who have it (rows that cannot be read are left to the grading)."""
    index = VariantIndex()
    if key is not None:
        for v in key.variants:
            index.add(v.student or "the exercise's own input", input_key(v.input),
                      np.array([v.answer]))
    shape = net.input_shapes[0]
    found: dict[tuple[float, ...], list[str]] = {}
    counts: dict[tuple[float, ...], int] = {}
    with open_class_csv(path) as text:
        try:
            _, rows, delimiter = read_table(text, ["input"], (), "the answers CSV")
        except InvalidInputError:
            return index  # the grading says why
        comma = delimiter == ";" if decimal_comma is None else decimal_comma
        read: dict[str, tuple[float, ...] | None] = {}  # a class shares its inputs
        for row in rows:
            cells = row.cells or {}
            text = cells.get("input", "")
            if text not in read:
                try:
                    values = parse_vector(number_cell(text, comma), "input")
                    read[text] = input_key(values) if len(values) == math.prod(shape) \
                        else None
                except InvalidInputError:
                    read[text] = None
                if len(read) > 200_000:
                    read.clear()
            k = read[text] if text in read else None
            if k is not None and (len(found) < 200_000 or k in found):
                names = found.setdefault(k, [])
                if len(names) < 4:
                    names.append(cells.get("student") or f"row {row.line}")
                counts[k] = counts.get(k, 0) + 1
    if found:
        keys = [k for k in found if k not in index.outputs]
        for start in range(0, len(keys), CHUNK):
            part = keys[start:start + CHUNK]
            arrays = [np.asarray(part, np.float64).reshape((-1,) + tuple(shape))]
            for k, row in zip(part, outputs(net.graph, arrays)):
                if np.all(np.isfinite(row)):
                    index.outputs[k] = np.asarray(row, np.float64)
        for k, who in found.items():
            if k in index.outputs:
                for student in who[:3]:
                    index.add(student, k, index.outputs[k])
                index.counts[k] = max(index.counts.get(k, 0), counts[k])
    return index


def grade(net: Any, text: Any, policy: Policy | None = None, shown: str = "the answers CSV",
          *, key: ExerciseKey | None = None, variants: VariantIndex | None = None,
          decimal_comma: bool | None = None, interface: str = "class") -> Iterator[Graded]:
    """Grade every row of a class CSV (an open text stream or the CSV as a string), as the
    rows are read. A row that cannot be read is graded ``invalid`` with the reason, and the
    others are still graded.

    ``key``: the exercise's key (``exercise.json``): the sheet's notation, the columns of its
    stages, the letters of its multiple choice. ``variants``: every variant of the class, to
    name an answer that is another student's. ``decimal_comma``: read ``-26,5`` as -26.5
    (default: when the CSV is ``;``-separated)."""
    import io

    policy = policy or Policy()
    stream = io.StringIO(text) if isinstance(text, str) else text
    layers = {call.layer.name for call in net.graph.calls} - set(BASE_COLUMNS)
    stage_columns = key.columns() if key is not None else {}
    names, rows, delimiter = read_table(
        stream, ["input"], [*BASE_COLUMNS[:1], *BASE_COLUMNS[2:]], shown)
    comma = delimiter == ";" if decimal_comma is None else decimal_comma
    unknown = [n for n in names if n not in BASE_COLUMNS and n not in layers
               and n not in stage_columns]
    if unknown:
        known = [*BASE_COLUMNS, *(list(stage_columns)[:8] if stage_columns else sorted(
            layers)[:8])]
        raise InvalidInputError(
            f"{shown} has {len(unknown)} column"
            f"{'s that name' if len(unknown) > 1 else ' that names'} no part of the exercise: "
            f"{terminal_text(unknown[:10], limit=200)}; the columns are "
            f"{', '.join(repr(k) for k in known)}"
            + (" ... (the class CSV written by symnet exercise has them all)"
               if stage_columns else " (and the layers' names for steps)"))
    step_columns = [n for n in names if n in layers]
    sheet_columns = [n for n in names if n in stage_columns]
    if "answer" not in names and not step_columns and not sheet_columns:
        raise InvalidInputError(f"{shown} needs an 'answer' column or columns of the steps; "
                                f"received {terminal_text(names, limit=200)}")
    notation = key.notation.speaking(interface) if key is not None else Notation(interface)
    grader = _Grader(net, policy, step_columns, sheet_columns, key, variants, comma, notation)
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield from grader.grade(chunk)
            chunk = []
    yield from grader.grade(chunk)


_LETTER = re.compile(r"\(?([A-Za-z])\)?")


class _Grader:
    def __init__(self, net: Any, policy: Policy, step_columns: list[str],
                 sheet_columns: list[str], key: ExerciseKey | None,
                 variants: VariantIndex | None, decimal_comma: bool, notation: Notation
                 ) -> None:
        self.net = net
        self.policy = policy
        self.step_columns = step_columns
        self.sheet_columns = sheet_columns
        self.key = key
        self.variants = variants
        self.comma = decimal_comma
        self.notation = notation
        self.diagnoser = Diagnoser(net.graph)
        self.output_layer = net.graph.calls[-1].layer.name if len(net.graph.outputs) == 1 \
            else None
        self.seen: dict[tuple[str, str, Policy], Graded] = {}
        """(input, answer, policy) -> its verdict: the same answer to the same input, written
        the same way, is graded once (a class often shares its inputs and its answers)."""

    def grade(self, chunk: list[Row]) -> list[Graded]:
        out: list[Graded | None] = [None] * len(chunk)
        answers: dict[Policy, list[tuple[int, np.ndarray, Numbers]]] = {}
        repeats: list[tuple[int, tuple[str, str, Policy]]] = []
        pending: set[tuple[str, str, Policy]] = set()
        keys: dict[int, tuple[str, str, Policy]] = {}
        for i, row in enumerate(chunk):
            cells = row.cells or {}
            student = cells.get("student") or f"row {row.line}"
            if row.cells is None:
                out[i] = _invalid(student, cells, f"line {row.line}: {row.problem}")
                continue
            try:
                policy = self._policy(cells)
                steps = {k: cells[k] for k in self.step_columns if cells.get(k)}
                if steps:
                    out[i] = self._steps(student, cells, self._input(cells), steps, policy)
                    continue
                if any(cells.get(k) for k in self.sheet_columns) or (
                        self.key is not None and self.key.kind == "backprop"):
                    out[i] = self._stages(student, cells, self._input(cells), policy)
                    continue
                if not cells.get("answer"):
                    raise InvalidInputError("no answer given")
                letter = _LETTER.fullmatch(cells["answer"].strip()) is not None
                x = self._input(cells) if letter else None
                answer = self._answer(student, cells["answer"], x)
                key = (cells.get("input", ""), answer, policy)
                keys[i] = key
                if key in self.seen or key in pending:
                    repeats.append((i, key))
                    continue
                if x is None:
                    x = self._input(cells)
                got = read_numbers(answer, "answer")
                answers.setdefault(policy, []).append((i, x, got))
                pending.add(key)
            except InvalidInputError as exc:
                out[i] = _invalid(student, cells, str(exc))
        for policy, group in answers.items():
            for i, graded in self._answers(chunk, group, policy):
                out[i] = graded
                self._remember(keys[i], graded)
        for i, key in repeats:
            first = self.seen[key]
            cells = chunk[i].cells or {}
            out[i] = replace(first, student=cells.get("student") or f"row {chunk[i].line}",
                             answer=cells.get("answer", ""))
        return out  # type: ignore[return-value]

    def _remember(self, key: tuple[str, str, Policy], graded: Graded) -> None:
        if len(self.seen) > 100_000:  # bounded: a class of distinct answers streams on
            self.seen.clear()
        self.seen[key] = graded

    def _policy(self, cells: dict[str, str]) -> Policy:
        if not cells.get("digits"):
            return self.policy
        text = cells["digits"]
        if not re.fullmatch(r"[0-9]{1,2}", text):
            raise InvalidInputError(f"digits: expected a whole number, received "
                                    f"{terminal_text(text, limit=40)!r}")
        return Policy(int(text), self.policy.rtol, self.policy.atol, self.policy.close)

    def _input(self, cells: dict[str, str]) -> np.ndarray:
        values = parse_vector(number_cell(cells.get("input", ""), self.comma), "input")
        shape = self.net.input_shapes[0]
        if len(self.net.input_shapes) != 1 or len(values) != math.prod(shape):
            raise InvalidInputError(f"input: the model takes {math.prod(shape)} number(s), "
                                    f"received {len(values)}"
                                    + (" (with decimal commas, separate the input's numbers "
                                       "by spaces)" if self.comma else ""))
        return np.asarray(values, np.float64).reshape(shape)

    def _answer(self, student: str, cell: str, x: np.ndarray | None) -> str:
        """The answer as numbers: a letter circled on a multiple-choice sheet is the number
        printed beside it on that student's sheet (from the key)."""
        letter = _LETTER.fullmatch(cell.strip())
        if letter is None:
            return number_cell(cell, self.comma)
        if self.key is None or not any(v.choices for v in self.key.variants):
            raise InvalidInputError(f"answer: {terminal_text(cell, limit=20)!r} is a letter; "
                                    "a multiple-choice answer is graded through the key "
                                    "(exercise.json beside the model, or --key)")
        variant = self.key.variant(student, x) if x is not None else self.key.by_student(
            student)
        if variant is None:
            raise InvalidInputError("answer: a letter, but the key has no sheet with this "
                                    "input (for this student)")
        value = variant.choices.get(letter.group(1).upper())
        if value is None:
            raise InvalidInputError(f"answer: the sheet has no choice "
                                    f"{terminal_text(cell, limit=20)!r} (its letters are "
                                    f"{', '.join(sorted(variant.choices))})")
        return repr(float(value))

    def _answers(self, chunk: list[Row], group: list[tuple[int, np.ndarray, Numbers]],
                 policy: Policy) -> Iterator[tuple[int, Graded]]:
        arrays = [np.stack([x for _, x, _ in group])]
        expected = outputs(self.net.graph, arrays)
        good = [k for k, (_, _, got) in enumerate(group)
                if got.size == expected.shape[1] and np.all(np.isfinite(expected[k]))]
        kept = set(good)
        for k, (i, _, got) in enumerate(group):
            if k not in kept:
                cells = chunk[i].cells or {}
                reason = (f"answer: the network has {expected.shape[1]} output(s), received "
                          f"{got.size} number(s)" if got.size != expected.shape[1] else
                          "the network's output at this input is not a finite number")
                yield i, _invalid(cells.get("student") or f"row {chunk[i].line}", cells, reason)
        if not good:
            return
        own = [input_key(group[k][1]) for k in good]
        verdicts = answer_verdict(self.diagnoser, [arrays[0][good]],
                                  [group[k][2] for k in good], expected[good], policy,
                                  self.notation, self.variants, own)
        for k, verdict in zip(good, verdicts):
            i = group[k][0]
            cells = chunk[i].cells or {}
            yield i, _graded(cells.get("student") or f"row {chunk[i].line}", cells,
                             verdict, tuple(expected[k].tolist()))

    def _steps(self, student: str, cells: dict[str, str], x: np.ndarray,
               steps: dict[str, str], policy: Policy) -> Graded:
        steps = {k: number_cell(v, self.comma) for k, v in steps.items()}
        if cells.get("answer") and self.output_layer and self.output_layer not in steps:
            steps = {**steps, self.output_layer: self._answer(student, cells["answer"], x)}
        written = read_steps(steps, self.net.graph)
        arrays = self.net.graph.sample(x)
        verdict = steps_verdict(self.diagnoser, arrays, written, policy)
        expected = outputs(self.net.graph, arrays)[0]
        return replace(_graded(student, cells, verdict, tuple(float(v) for v in expected)),
                       score=verdict.score, steps={s.layer: s.status for s in verdict.steps})

    def _stages(self, student: str, cells: dict[str, str], x: np.ndarray, policy: Policy
                ) -> Graded:
        """A row with the sheet's stage columns: each stage judged against the key and
        against the stage computed from the student's own earlier values (follow-through);
        the final answer diagnosed as any answer is."""
        from .stages import judge_stages

        assert self.key is not None
        written = self._stage_values(cells)
        if not written and not cells.get("answer"):
            raise InvalidInputError("no answer given")
        answer = self._answer(student, cells["answer"], x) if cells.get("answer") else None
        statuses, first, score = judge_stages(self.key, self.net, x, written, answer, policy,
                                              self.notation)
        if self.key.kind == "backprop":
            return self._backprop(student, cells, x, written, answer, policy, statuses,
                                  first, score)
        expected = outputs(self.net.graph, self.net.graph.sample(x))[0]
        if answer is not None:
            got = read_numbers(answer, "answer")
            verdict = answer_verdict(self.diagnoser, self.net.graph.sample(x), [got],
                                     expected[None], policy, self.notation, self.variants,
                                     [input_key(x)])[0]
            graded = _graded(student, cells, verdict, tuple(expected.tolist()))
        else:
            graded = Graded(student, cells.get("input", ""), "", False, "no_answer",
                            "No final answer given; the steps are graded.",
                            tuple(expected.tolist()))
        if first is not None:
            graded = replace(graded, message=f"{graded.message} First wrong step: {first}.")
        return replace(graded, score=score, steps=statuses)

    def _backprop(self, student: str, cells: dict[str, str], x: np.ndarray,
                  written: dict[str, Any], answer: str | None, policy: Policy,
                  statuses: dict[str, str], first: str | None, score: float) -> Graded:
        """A row of a backpropagation exercise: its stages with follow-through, and the
        backpropagation diagnosed as ``symnet.check(..., gradients=, updated=)`` does."""
        from .backgrade import sheet_verdict

        assert self.key is not None
        right = self.key.recompute(self.net, x, {})["y"]
        verdict = sheet_verdict(self.net, x, self.key, written, answer, policy,
                                self.notation)
        if verdict is None:  # forward values only
            ok = all(s in ("right", "consistent") for s in statuses.values())
            graded = Graded(student, cells.get("input", ""), "", ok,
                            "correct" if ok else "unknown",
                            "The values given are right." if ok else
                            "The values given match none of the known mistakes.",
                            tuple(right.tolist()))
        else:
            graded = _graded(student, cells, verdict, tuple(right.tolist()))
            ok = verdict.correct and all(s in ("right", "consistent")
                                         for s in statuses.values())
            graded = replace(graded, correct=ok)
        if first is not None:
            graded = replace(graded, message=f"{graded.message} First wrong step: {first}.")
        return replace(graded, score=score, steps=statuses)

    def _stage_values(self, cells: dict[str, str]) -> dict[str, np.ndarray]:
        assert self.key is not None
        columns = self.key.columns()
        out: dict[str, np.ndarray] = {}
        for stage in self.key.stages:
            if stage.key == "y":
                continue
            whole = cells.get(stage.key) if stage.key in self.sheet_columns else None
            if whole:
                got = read_numbers(number_cell(whole, self.comma), stage.key)
                if got.size != len(stage.columns):
                    raise InvalidInputError(f"{stage.key}: {len(stage.columns)} number(s), "
                                            f"received {got.size}")
                out[stage.key] = got  # type: ignore[assignment]
                continue
            mine = [c for c in stage.columns if c in self.sheet_columns]
            given = [c for c in mine if cells.get(c)]
            if not given:
                continue
            if len(given) != len(stage.columns):
                missing = [c for c in stage.columns if not cells.get(c)]
                raise InvalidInputError(f"stage {stage.key} is partly filled in: "
                                        f"{', '.join(missing[:6])} "
                                        f"{'is' if len(missing) == 1 else 'are'} empty")
            text = ",".join(number_cell(cells[c], self.comma).replace(",", " ")
                            for c in stage.columns)
            got = read_numbers(text, stage.key)
            if got.size != len(stage.columns):
                raise InvalidInputError(f"stage {stage.key}: one number per cell")
            out[stage.key] = got  # type: ignore[assignment]
        del columns
        return out  # type: ignore[return-value]


def _graded(student: str, cells: dict[str, str], verdict: Any,
            expected: tuple[float, ...]) -> Graded:
    d = verdict.diagnosis
    return Graded(student, cells.get("input", ""), cells.get("answer", ""), verdict.correct,
                  d.code, d.message, expected, confidence=d.confidence, other=d.student)


def _invalid(student: str, cells: dict[str, str], reason: str) -> Graded:
    return Graded(student, cells.get("input", ""), cells.get("answer", ""), False, "invalid",
                  reason)


# --- the class as a whole ------------------------------------------------------------------

@dataclass(frozen=True)
class Summary:
    """How the class did: counts, and each mistake with the students who made it (a pair of
    mistakes counts for both), the most common first."""

    rows: int
    correct: int
    invalid: int
    mistakes: tuple[tuple[str, tuple[str, ...]], ...]
    """(code, students), the most common first."""
    mean_score: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "correct": self.correct, "invalid": self.invalid,
                "mean_score": self.mean_score,
                "mistakes": [{"code": code, "count": len(who), "students": list(who)}
                             for code, who in self.mistakes]}


def summarize(rows: Iterable[Graded]) -> Summary:
    """The class summary of graded rows."""
    who: dict[str, list[str]] = {}
    counts: Counter[str] = Counter()
    total = correct = invalid = 0
    scores = []
    for r in rows:
        total += 1
        correct += r.correct
        if r.score is not None:
            scores.append(r.score)
        if r.code == "invalid":
            invalid += 1
            continue
        if r.correct:
            continue
        for part in dict.fromkeys(r.code.split("+")):
            counts[part] += 1
            who.setdefault(part, []).append(r.student)
    ordered = sorted(counts, key=lambda c: (-counts[c], c))
    return Summary(total, correct, invalid, tuple((c, tuple(who[c])) for c in ordered),
                   sum(scores) / len(scores) if scores else None)


def render_summary(summary: Summary, names: int = 10) -> str:
    """The summary as text for a terminal (names escaped, long lists shortened)."""
    lines = [f"{summary.correct} of {summary.rows} correct"
             + (f", {summary.invalid} invalid row{'s' if summary.invalid > 1 else ''}"
                if summary.invalid else "")
             + (f"; mean step score {summary.mean_score:.2f}" if summary.mean_score is not None
                else "")]
    if summary.mistakes:
        lines.append("most common mistakes:")
        width = max(len(code) for code, _ in summary.mistakes)
        for code, students in summary.mistakes:
            shown = ", ".join(terminal_text(s, limit=40) for s in students[:names])
            more = f" and {len(students) - names} more" if len(students) > names else ""
            share = 100 * len(students) / max(summary.rows, 1)
            lines.append(f"  {code.ljust(width)}  {len(students):>5}  ({share:.0f}%)  "
                         f"{shown}{more}")
    return "\n".join(lines) + "\n"


def render_grades(rows: list[Graded], format: str = "text") -> str:
    """The grades as ``text`` (a table and the summary), ``json`` (rows and summary) or ``csv``
    (one row per student, safe to open in a spreadsheet)."""
    if format == "json":
        return json.dumps({"rows": [r.to_dict() for r in rows],
                           "summary": summarize(rows).to_dict()}, indent=2) + "\n"
    layers = list(dict.fromkeys(k for r in rows for k in r.steps))
    if format == "csv":
        header = ["student", "input", "answer", "correct", "code", "confidence", "message",
                  "expected"]
        if layers:
            header += ["score", *[f"{layer}:status" for layer in layers]]
        return write_csv(header, (
            [r.student, r.input, r.answer, "yes" if r.correct else "no", r.code, r.confidence,
             r.message,
             "" if r.expected is None else ",".join(f"{v:.7g}" for v in r.expected),
             *([] if not layers else [
                 "" if r.score is None else f"{r.score:.3g}",
                 *[r.steps.get(layer, "") for layer in layers]])] for r in rows))
    from .classcsv import unguarded

    table = [["student", "input", "answer", "verdict", "diagnosis", "how sure"]]
    for r in rows:
        table.append([terminal_text(r.student, limit=40),
                      terminal_text(unguarded(r.input), limit=40),
                      terminal_text(r.answer, limit=40),
                      "correct" if r.correct else "wrong", r.code,
                      "" if r.correct or r.code == "invalid" else r.confidence])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n\n" + render_summary(summarize(rows))
