"""Every benchmark in one run; prints the figures and writes benchmarks/RESULTS.md.

Run: ``python benchmarks/run_all.py``. Ratios are against ``model.predict`` and a plain numpy
forward pass measured in the same run.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


from timing import best_of as best  # noqa: E402


def cli_cold_start() -> str:
    symnet = [sys.executable, "-m", "symnet"]
    regressor = str(HERE.parent / "symnet" / "examples" / "regressor_2x_plus_5.keras")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    lines = []
    for label, args in (("symnet --help", ["--help"]),
                        ("symnet explain regressor", ["explain", regressor])):
        t = best(lambda args=args: subprocess.run([*symnet, *args], capture_output=True,
                                                  check=True, env=env))
        lines.append(f"{label}: {t:.2f} s")
    return "\n".join(lines)


def closed_form_growth() -> str:
    import symnet
    from symnet import ExpressionTooLarge
    from symnet.load import import_keras

    keras = import_keras()
    rng = np.random.default_rng(0)
    lines = [f"{'inputs':>6} {'width':>6} {'depth':>6} {'estimate':>12} {'closed_form() s':>16}"]
    for inputs, width, depth in ((1, 16, 1), (4, 16, 2), (4, 32, 2), (8, 32, 3), (8, 64, 3),
                                 (32, 128, 3)):
        layers = [keras.Input((inputs,))] + [keras.layers.Dense(width, activation="relu")
                                              for _ in range(depth)] + [keras.layers.Dense(1)]
        model = keras.Sequential(layers)
        model.set_weights([rng.normal(size=w.shape).astype(np.float32)
                           for w in model.get_weights()])
        net = symnet.explain(model)
        try:
            t = best(lambda net=net: net.closed_form(), repeat=1)
            shown = f"{t:>16.3f}"
        except ExpressionTooLarge:
            shown = f"{'refused (guard)':>16}"
        lines.append(f"{inputs:>6} {width:>6} {depth:>6} {net.expression_size():>12,} {shown}")
    return "\n".join(lines)


def compiled_closed_form() -> str:
    import symnet

    model = symnet.examples.regressor_2x_plus_5()
    net = symnet.explain(model)
    fn = net.closed_form_function()
    x = np.array([[10.0]], np.float32)
    model.predict(x, verbose=0)
    t_predict = best(lambda: model.predict(x, verbose=0), 5)
    t_fn = best(lambda: fn(np.array([10.0])), 50)
    t_eval = best(lambda: net.evaluate(x), 50)
    return (f"regressor, one sample: compiled closed form {t_fn * 1e6:.1f} µs, "
            f"net.evaluate {t_eval * 1e6:.1f} µs, model.predict {t_predict * 1e3:.1f} ms "
            f"(compiled closed form {t_predict / t_fn:,.0f}x faster than predict)")


def run(label: str, fn) -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = fn()
    text = (buffer.getvalue() + (result or "")).rstrip()
    print(f"## {label}\n{text}\n", flush=True)
    return f"## {label}\n\n```\n{text}\n```\n"


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import bench_explain
    import bench_foundation
    import bench_reports
    import keras
    import sympy
    import tensorflow as tf

    sections = [
        run("explain and evaluate (seed MLP)", bench_foundation.main),
        run("compiled closed form", compiled_closed_form),
        run("closed_form() growth and the size guard", closed_form_growth),
        run("why and piecewise", bench_explain.main),
        run("reports (seed MLP)", bench_reports.main),
        run("command line, cold start", cli_cold_start),
    ]
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    header = (f"# Benchmark results\n\nMeasured {today} on {platform.platform()}, "
              f"{os.cpu_count()} CPUs, Python {platform.python_version()}, numpy "
              f"{np.__version__}, SymPy {sympy.__version__}, TensorFlow {tf.__version__}, Keras "
              f"{keras.__version__}. Regenerate with `python benchmarks/run_all.py`.\n\n")
    (HERE / "RESULTS.md").write_text(header + "\n".join(sections), encoding="utf-8")
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
