"""Homework benchmarks: grading a class of 100,000 rows, checking an answer on the seed MLP, and
how often formula equality is proven.

Run: ``python benchmarks/bench_grading.py``.
"""

from __future__ import annotations

import random
import tempfile
import time
import tracemalloc
from pathlib import Path


def _class_csv(path: Path, net, distinct: bool) -> None:
    rng = random.Random(0)
    outputs = [float(net.evaluate(float(x))[0, 0]) for x in range(20)]
    with path.open("w") as f:
        f.write("student,input,answer\n")
        for i in range(100_000):
            x = i % 20
            if distinct:  # every answer different: no verdict can be reused
                answer = f"{outputs[x] + rng.uniform(-2, 2):.6f}"
            else:  # a class: a few ways of answering each input
                answer = rng.choice([f"{outputs[x]:.3g}", f"{outputs[x]:.2g}", "abc",
                                     f"{outputs[x] - 1.74:.4g}", f"{outputs[x]:.5g}"])
            f.write(f"s{i},{x},{answer}\n")


def main() -> dict[str, float]:
    import numpy as np

    import symnet
    from symnet.homework import Policy
    from symnet.homework.grade import grade_file, render_grades

    figures: dict[str, float] = {}
    net = symnet.explain(symnet.examples.regressor_path())
    with tempfile.TemporaryDirectory() as folder:
        for distinct in (False, True):
            path = Path(folder) / "class.csv"
            _class_csv(path, net, distinct)
            start = time.perf_counter()
            rows = grade_file(net, path, Policy())
            render_grades(rows, "csv")
            seconds = time.perf_counter() - start
            name = "distinct" if distinct else "class"
            figures[f"grade_100k_{name}_s"] = seconds
            print(f"100,000 rows ({name} answers): {seconds:.2f} s")
        tracemalloc.start()
        rows = grade_file(net, path, Policy())
        render_grades(rows, "csv")
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        figures["grade_100k_peak_mib"] = peak / 2**20
        print(f"peak Python memory, 100,000 distinct rows graded and written: "
              f"{peak / 2**20:.0f} MiB")

    mlp = symnet.explain(symnet.examples.seed_mlp())
    x = np.random.default_rng(0).normal(size=1120)
    wrong = mlp.evaluate(x[None], "float64")[0] * 0.9
    start = time.perf_counter()
    verdict = symnet.check(mlp, x, answer=[f"{v:.6g}" for v in wrong])
    figures["check_seed_mlp_s"] = time.perf_counter() - start
    print(f"check of a wrong answer on the seed MLP (every single mistake and pair tried): "
          f"{figures['check_seed_mlp_s']:.2f} s ({verdict.diagnosis.code})")

    from symnet.io.keras import import_keras

    keras = import_keras()
    rng = np.random.default_rng(1)
    proven = total = 0
    seconds = 0.0
    for _ in range(100):
        n = int(rng.integers(1, 6))
        k, b, o = (rng.integers(-8, 9, n) / 4 for _ in range(3))
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(n, activation="relu"),
                                  keras.layers.Dense(1)])
        model.set_weights([k.reshape(1, n).astype(np.float32), b.astype(np.float32),
                           o.reshape(n, 1).astype(np.float32), np.zeros(1, np.float32)])
        net = symnet.explain(model)
        terms = " + ".join(f"({o[i]})*max(0, ({k[i]})*x + ({b[i]}))" for i in range(n))
        bump = f"({rng.integers(0, 2)})*max(0, 0.001 - abs(x - {rng.integers(-8, 9) / 4}))"
        start = time.perf_counter()
        verdict = symnet.check(net, 0, formula=f"abs({terms}) - abs({terms}) + {terms} + "
                               f"{bump}", rtol=0, atol=0)
        seconds += time.perf_counter() - start
        proven += bool(verdict.proven)
        total += 1
    figures["formula_proven_share"] = proven / total
    figures["formula_check_mean_s"] = seconds / total
    print(f"formula checks on one-input ReLU networks proven: {proven} of {total} "
          f"({seconds / total * 1000:.0f} ms each)")
    return figures


if __name__ == "__main__":
    main()
