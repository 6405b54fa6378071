"""The trial of ``symnet exercise --kind backprop`` (issue 23): for each kind of network and loss,
a class of 8 and a class of 30; every student's sheet worked by hand in numpy, right and with
each catalogued backpropagation mistake (``tests/test_backprop_exercise.py``'s hand
calculation), graded as ``symnet check --answers`` grades the class CSV.

It prints, per class: the time to draw the exercise, whether every input and every final answer
is distinct, how many pairs of mistakes were compared and how many give the same answers
(none may), and how many sheets were graded with the mistake's own code (all must).

Run from the repository's root: ``python benchmarks/backprop_trial.py``.
"""

from __future__ import annotations

import csv
import io
import itertools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_backprop_exercise import (
    STAGES,
    _columns,
    by_hand,
    expected_mistakes,
    vector,
)

SETTINGS = [("sigmoid", "squared_error"), ("sigmoid", "mse"), ("relu", "squared_error"),
            ("relu", "mse")]


def trial(activation: str, loss: str, size: int, seed: int, folder: Path) -> dict[str, object]:
    import symnet
    from symnet.homework.backprop_exercise import build_backprop_exercise
    from symnet.homework.designs import apart
    from symnet.homework.exercise import write_exercise
    from symnet.homework.grade import grade_file

    roster = [f"Student {k:02d}" for k in range(size)]
    start = time.perf_counter()
    ex = build_backprop_exercise(seed, roster, 3, activation, loss)
    drawn = time.perf_counter() - start
    shape = ex.design
    t, rate = shape.target, shape.rate
    inputs = {tuple(v.x) for v in ex.variants}
    answers_apart = all(apart(a.answer, b.answer, 3)
                        for a, b in itertools.combinations(ex.variants, 2))
    mistakes = expected_mistakes(activation, loss)
    keys = [k for k in STAGES if k not in ("z1", "h1", "z2", "yhat")]
    compared = collisions = 0
    rows, wanted = [], []
    written = [k for k in STAGES if k != "y" and (k != "z2" or activation == "sigmoid")]
    for v in ex.variants:
        right = by_hand(ex.weights, v.x, t, activation, loss, rate)
        made = {m: by_hand(ex.weights, v.x, t, activation, loss, rate, **kw)
                for m, kw in mistakes.items()}
        vectors = {m: vector(p, keys) for m, p in made.items()}
        for a, b in itertools.combinations([vector(right, keys), *vectors.values()], 2):
            compared += 1
            collisions += not any(apart(p, q, 3) for p, q in zip(a, b))
        for m, parts in [(("correct", ()), right), *made.items()]:
            cells = {"student": v.student, "input": ",".join(f"{a:g}" for a in v.x),
                     "answer": f"{float(parts['y']):.6g}"}
            for k in written:
                for column, value in zip(_columns(k, np.shape(parts[k])), np.ravel(parts[k])):
                    cells[column] = f"{float(value):.6g}"
            rows.append(cells)
            wanted.append(m[0])
    write_exercise(ex, folder)
    header = (folder / "class.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    (folder / "answers.csv").write_text(out.getvalue(), encoding="utf-8")
    start = time.perf_counter()
    graded = grade_file(symnet.explain(str(folder / "exercise.keras")), folder / "answers.csv")
    grading = time.perf_counter() - start
    missed = [(g.student, want, g.code) for g, want in zip(graded, wanted) if g.code != want]
    return {"drawn": drawn, "inputs": len(inputs), "answers_apart": answers_apart,
            "mistakes": len(mistakes), "compared": compared, "collisions": collisions,
            "sheets": len(graded), "recognised": len(graded) - len(missed), "missed": missed,
            "grading": grading}


def main() -> None:
    print(f"{'network, loss':<26}{'class':>6}{'draw s':>8}{'inputs':>8}{'E′ apart':>9}"
          f"{'mistakes':>9}{'pairs':>8}{'same':>6}{'sheets':>8}{'named':>7}{'grade s':>9}")
    failures = 0
    with tempfile.TemporaryDirectory() as root:
        for (activation, loss), size in itertools.product(SETTINGS, (8, 30)):
            folder = Path(root) / f"{activation}-{loss}-{size}"
            r = trial(activation, loss, size, 11, folder)
            print(f"{activation + ', ' + loss:<26}{size:>6}{r['drawn']:>8.1f}{r['inputs']:>8}"
                  f"{'yes' if r['answers_apart'] else 'NO':>9}{r['mistakes']:>9}"
                  f"{r['compared']:>8}{r['collisions']:>6}{r['sheets']:>8}"
                  f"{r['recognised']:>7}{r['grading']:>9.1f}")
            for student, want, got in r["missed"][:5]:
                print(f"    {student}: {want} graded {got}")
            failures += bool(r["missed"]) + bool(r["collisions"]) + (not r["answers_apart"]) \
                + (r["inputs"] != size)
    print("every variant distinct, no two mistakes alike, every mistake named"
          if not failures else f"{failures} failure(s)")


if __name__ == "__main__":
    main()
