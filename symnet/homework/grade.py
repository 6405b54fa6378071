"""Grading a class: one CSV row per student -> a verdict per row, and a summary of the class.

The CSV has the columns ``input`` and ``answer`` (``student`` and ``digits`` optional), and may
carry per-step columns named after layers (the values the student wrote for that layer, quoted
and comma-separated); a row with steps is judged step by step, with follow-through credit.
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
from .classcsv import Row, open_class_csv, read_rows, unguarded, write_csv
from .diagnose import Diagnoser
from .numbers import Numbers, Policy, read_numbers
from .steps import read_steps
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
    """Layer -> ``right``, ``consistent`` or ``wrong``."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"student": self.student, "input": self.input,
                               "answer": self.answer, "correct": self.correct,
                               "code": self.code, "message": self.message,
                               "expected": None if self.expected is None else list(
                                   self.expected)}
        if self.score is not None:
            out.update(score=self.score, steps=self.steps)
        return out


def grade_file(net: Any, path: str | Path, policy: Policy | None = None) -> list[Graded]:
    """Grade the class CSV at ``path`` (UTF-8 with or without BOM, or UTF-16)."""
    with open_class_csv(path) as text:
        return list(grade(net, text, policy, shown=repr(terminal_text(str(path), limit=120))))


def grade(net: Any, text: Any, policy: Policy | None = None, shown: str = "the answers CSV"
          ) -> Iterator[Graded]:
    """Grade every row of a class CSV (an open text stream or the CSV as a string), as the
    rows are read. A row that cannot be read is graded ``invalid`` with the reason, and the
    others are still graded."""
    import io

    policy = policy or Policy()
    stream = io.StringIO(text) if isinstance(text, str) else text
    layers = {call.layer.name for call in net.graph.calls} - {"student", "input", "answer",
                                                               "digits"}
    names, rows = read_rows(stream, ["input"], ["student", "answer", "digits"], shown)
    step_columns = [n for n in names if n in layers]
    if "answer" not in names and not step_columns:
        raise InvalidInputError(f"{shown} needs an 'answer' column or columns named after "
                                f"layers (steps); received {terminal_text(names, limit=200)}")
    grader = _Grader(net, policy, step_columns)
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield from grader.grade(chunk)
            chunk = []
    yield from grader.grade(chunk)


class _Grader:
    def __init__(self, net: Any, policy: Policy, step_columns: list[str]) -> None:
        self.net = net
        self.policy = policy
        self.step_columns = step_columns
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
                if not cells.get("answer"):
                    raise InvalidInputError("no answer given")
                key = (cells.get("input", ""), cells["answer"], policy)
                if key in self.seen or key in pending:
                    repeats.append((i, key))
                    continue
                x, got = self._input(cells), read_numbers(cells["answer"], "answer")
                answers.setdefault(policy, []).append((i, x, got))
                pending.add(key)
            except InvalidInputError as exc:
                out[i] = _invalid(student, cells, str(exc))
        for policy, group in answers.items():
            for i, graded in self._answers(chunk, group, policy):
                out[i] = graded
                self._remember((graded.input, graded.answer, policy), graded)
        for i, key in repeats:
            first = self.seen[key]
            cells = chunk[i].cells or {}
            out[i] = replace(first, student=cells.get("student") or f"row {chunk[i].line}")
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
        return Policy(int(text), self.policy.rtol, self.policy.atol)

    def _input(self, cells: dict[str, str]) -> np.ndarray:
        values = parse_vector(unguarded(cells.get("input", "")), "input")
        shape = self.net.input_shapes[0]
        if len(self.net.input_shapes) != 1 or len(values) != math.prod(shape):
            raise InvalidInputError(f"input: the model takes {math.prod(shape)} number(s), "
                                    f"received {len(values)}")
        return np.asarray(values, np.float64).reshape(shape)

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
        verdicts = answer_verdict(self.diagnoser, [arrays[0][good]],
                                  [group[k][2] for k in good], expected[good], policy)
        for k, verdict in zip(good, verdicts):
            i = group[k][0]
            cells = chunk[i].cells or {}
            yield i, Graded(cells.get("student") or f"row {chunk[i].line}", cells["input"],
                            cells["answer"], verdict.correct, verdict.diagnosis.code,
                            verdict.diagnosis.message, tuple(expected[k].tolist()))

    def _steps(self, student: str, cells: dict[str, str], x: np.ndarray,
               steps: dict[str, str], policy: Policy) -> Graded:
        if cells.get("answer") and self.output_layer and self.output_layer not in steps:
            steps = {**steps, self.output_layer: cells["answer"]}
        written = read_steps(steps, self.net.graph)
        arrays = self.net.graph.sample(x)
        verdict = steps_verdict(self.diagnoser, arrays, written, policy)
        expected = outputs(self.net.graph, arrays)[0]
        return Graded(student, cells.get("input", ""), cells.get("answer", ""), verdict.correct,
                      verdict.diagnosis.code, verdict.diagnosis.message,
                      tuple(float(v) for v in expected), verdict.score,
                      {s.layer: s.status for s in verdict.steps})


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
        header = ["student", "input", "answer", "correct", "code", "message", "expected"]
        if layers:
            header += ["score", *[f"{layer}:status" for layer in layers]]
        return write_csv(header, (
            [r.student, r.input, r.answer, "yes" if r.correct else "no", r.code, r.message,
             "" if r.expected is None else ",".join(f"{v:.7g}" for v in r.expected),
             *([] if not layers else [
                 "" if r.score is None else f"{r.score:.3g}",
                 *[r.steps.get(layer, "") for layer in layers]])] for r in rows))
    table = [["student", "input", "answer", "verdict", "diagnosis"]]
    for r in rows:
        table.append([terminal_text(r.student, limit=40), terminal_text(r.input, limit=40),
                      terminal_text(r.answer, limit=40),
                      "correct" if r.correct else "wrong", r.code])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n\n" + render_summary(summarize(rows))
