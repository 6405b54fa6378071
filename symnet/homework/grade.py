"""Grading a class: one row per student (input and answer) -> a verdict per row."""

from __future__ import annotations

import csv
import io
from typing import Any

from ..errors import InvalidInputError
from ..escape import terminal_text
from ..files import parse_vector
from .verdict import check

__all__ = ["grade", "render_grades"]


def grade(net: Any, text: str) -> list[dict[str, Any]]:
    """Check every row of a CSV with columns ``input`` and ``answer`` (``student`` optional).

    ``input`` is a number or comma-separated numbers (quoted); ``answer`` likewise. A row that
    cannot be read is graded ``invalid`` with the reason, and the others are still graded.
    """
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    if "input" not in fields or "answer" not in fields:
        raise InvalidInputError(f"the answers CSV needs the columns 'input' and 'answer' (and "
                                f"optionally 'student'); received {reader.fieldnames}")
    rows = []
    for number, raw in enumerate(reader, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        student = row.get("student") or f"row {number}"
        try:
            x = parse_vector(row["input"], "input")
            verdict = check(net, x if len(x) > 1 else x[0], answer=row["answer"])
        except InvalidInputError as exc:
            rows.append({"student": student, "input": row.get("input"),
                         "answer": row.get("answer"), "correct": False, "code": "invalid",
                         "message": str(exc), "expected": None})
            continue
        rows.append({"student": student, "input": row["input"], "answer": row["answer"],
                     "correct": verdict.correct, "code": verdict.diagnosis.code,
                     "message": verdict.diagnosis.message,
                     "expected": [float(v) for v in verdict.expected]})
    return rows


def render_grades(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of the grades, and the count of correct answers."""
    table = [["student", "input", "answer", "verdict", "diagnosis"]]
    for r in rows:
        table.append([terminal_text(r["student"], limit=60),
                      terminal_text(r["input"] or "", limit=60),
                      terminal_text(r["answer"] or "", limit=60),
                      "correct" if r["correct"] else "wrong", r["code"]])
    widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    correct = sum(r["correct"] for r in rows)
    lines.append(f"{correct} of {len(rows)} correct")
    return "\n".join(lines) + "\n"
