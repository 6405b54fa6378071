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

FIGURES: dict[str, float] = {}


def cli_cold_start() -> str:
    """Each command in a new process (best of 3), beside the import of TensorFlow alone."""
    symnet = [sys.executable, "-m", "symnet"]
    regressor = str(HERE.parent / "symnet" / "examples" / "seed_regressor.keras")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    lines = []
    runs = (("python -c 'import tensorflow'", [sys.executable, "-c", "import tensorflow"]),
            ("symnet --help", [*symnet, "--help"]),
            ("symnet why seed_regressor --input 10", [*symnet, "why", regressor, "--input",
                                                      "10"]),
            ("symnet why seed_regressor --input 10 --reader keras",
             [*symnet, "why", regressor, "--input", "10", "--reader", "keras"]),
            ("symnet check seed_regressor --input 10 --answer 25.0",
             [*symnet, "check", regressor, "--input", "10", "--answer", "25.0"]),
            ("symnet explain seed_regressor (agreement by Keras)", [*symnet, "explain",
                                                                    regressor]))
    for label, command in runs:
        t = best(lambda command=command: subprocess.run(command, capture_output=True,
                                                        env=env))
        FIGURES[label] = t
        ratio = t / FIGURES["python -c 'import tensorflow'"]
        lines.append(f"{label:<55} {t:5.2f} s   {ratio:4.2f}x the import of TensorFlow")
    return "\n".join(lines)


def closed_form_growth() -> str:
    import symnet
    from symnet import ExpressionTooLarge
    from symnet.io.keras import import_keras

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
    model(x, training=False)
    t_predict = best(lambda: model.predict(x, verbose=0), 5)
    t_call = best(lambda: model(x, training=False), 20)
    t_fn = best(lambda: fn(np.array([10.0])), 50)
    t_eval = best(lambda: net.evaluate(x), 50)
    FIGURES["compiled_speedup"] = t_predict / t_fn
    FIGURES["compiled_call_speedup"] = t_call / t_fn
    return (f"regressor, one sample: compiled closed form {t_fn * 1e6:.1f} µs, "
            f"net.evaluate {t_eval * 1e6:.1f} µs, model.predict {t_predict * 1e3:.1f} ms, "
            f"model(x, training=False) {t_call * 1e3:.2f} ms (compiled closed form "
            f"{t_predict / t_fn:,.0f}x faster than predict, {t_call / t_fn:,.0f}x than model(x))")


WHY, TF = "symnet why seed_regressor --input 10", "python -c 'import tensorflow'"


def targets() -> str:
    """Each target of the project, met or not, from this run's figures."""
    f = FIGURES
    growth = f["piecewise_10000"] / f["piecewise_1000"]
    rows = [
        ("explain() on the seed MLP <= 3 s", f"{f['explain_s']:.3f} s", f["explain_s"] <= 3),
        ("evaluate() at least as fast as model.predict (1 and 1,000 rows)",
         f"{f['predict_ratio_1']:.3f}x / {f['predict_ratio_1000']:.2f}x of predict's time",
         f["predict_ratio_1"] <= 1 and f["predict_ratio_1000"] <= 1),
        ("evaluate() within 2x of numpy (1 row)", f"{f['numpy_ratio_1']:.2f}x",
         f["numpy_ratio_1"] <= 2),
        ("float32 evaluate() of 1,000 rows <= 1.2x a plain numpy forward pass",
         f"{f['numpy_ratio_1000']:.2f}x", f["numpy_ratio_1000"] <= 1.2),
        ("float32 evaluate() of 1,000 rows <= 1x model(x, training=False)",
         f"{f['call_ratio_1000']:.2f}x of its time (1 row: {f['call_ratio_1']:.3f}x)",
         f["call_ratio_1000"] <= 1),
        ("compiled closed form >= 100x faster than predict (one sample)",
         f"{f['compiled_speedup']:,.0f}x ({f['compiled_call_speedup']:,.0f}x than model(x))",
         f["compiled_speedup"] >= 100),
        ("exact evaluate() of the seed MLP <= 0.2 s a row (1 row; 20 rows)",
         f"{f['exact_row_s']:.3f} s; {f['exact_batch_row_s']:.3f} s a row (first call in the "
         f"process {f['exact_cold_s']:.2f} s; before {f['exact_fraction_row_s']:.2f} s)",
         f["exact_row_s"] <= 0.2 and f["exact_batch_row_s"] <= 0.2),
        ("first exact evaluate() of the seed MLP in a new process <= 0.2 s",
         f"{f['exact_first_process_s']:.3f} s", f["exact_first_process_s"] <= 0.2),
        ("exact piecewise() of Dense(10,000, relu) -> Dense(1) <= 2 s",
         f"{f['exact_piecewise_10000']:.2f} s (pieces {f['exact_pieces_10000']:.2f} s)",
         f["exact_piecewise_10000"] <= 2),
        ("exact breakpoints of Dense(64, relu) x3 -> Dense(1) <= 2 s",
         f"{f['exact_depth_3']:.3f} s", f["exact_depth_3"] <= 2),
        ("why() on the regressor well under 0.2 s", f"{f['why_s'] * 1e3:.1f} ms",
         f["why_s"] < 0.2),
        ("piecewise() grows no worse than N log N (N = 1,000 -> 10,000)",
         f"time / (N log N) grew {growth:.2f}x", growth <= 1.25),
        ("symnet why on the bundled regressor <= 0.5x the import of TensorFlow",
         f"{f[WHY]:.2f} s, {f[WHY] / f[TF]:.2f}x ({f[TF]:.2f} s; with --reader keras "
         f"{f[WHY + ' --reader keras']:.2f} s)", f[WHY] <= 0.5 * f[TF]),
        ("symnet --help under 0.3 s (no TensorFlow import)",
         f"{f['symnet --help']:.2f} s", f["symnet --help"] < 0.3),
        ("float32 gradient of the seed MLP (1,000 rows) <= 1x tf.GradientTape, <= 2x numpy",
         f"{f['grad_tape_ratio']:.2f}x / {f['grad_numpy_ratio']:.2f}x",
         f["grad_tape_ratio"] <= 1 and f["grad_numpy_ratio"] <= 2),
        ("exact gradient of the seed regressor <= 50 ms",
         f"{f['grad_exact_regressor_s'] * 1e3:.1f} ms", f["grad_exact_regressor_s"] <= 0.05),
        ("HTML report of the seed MLP under 1 MB and 2 s",
         f"{f['html_bytes'] / 1e3:.0f} kB, {f['html_s']:.2f} s",
         f["html_bytes"] < 1e6 and f["html_s"] < 2),
    ]
    if "onnx_mlp_ort_ratio_1" in f:  # ../shared/onnx-models beside the project
        rows.append(("evaluate() of a real ONNX MLP against ONNX Runtime and numpy (1 and "
                     "1,000 rows; no target)",
                     f"{f['onnx_mlp_ort_ratio_1']:.2f}x / {f['onnx_mlp_ort_ratio_1000']:.2f}x "
                     f"ONNX Runtime's time, {f['onnx_mlp_numpy_ratio_1']:.2f}x / "
                     f"{f['onnx_mlp_numpy_ratio_1000']:.2f}x numpy's", True))
    lines = ["## Targets", "", "| target | measured | met |", "| --- | --- | --- |"]
    lines += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in rows]
    notes = [
        "",
        "On piecewise(): in float64, a network that reduces to affine -> one piecewise-linear "
        "activation -> affine (as Dense(N, relu) -> Dense(1)) is swept breakpoint by "
        "breakpoint, O(N log N); deeper networks are walked region by region. Exact "
        "(`exact=True`, the default of piecewise() and breakpoints()): the same sweep in exact "
        "rationals (FLINT's fmpq), O(N log N), and for deeper chains of Dense layers and "
        "continuous piecewise-linear activations the input line split layer by layer "
        "(ExactLine), pieces x width; other networks refine the float walk exactly, O(N) per "
        "piece. Exact evaluate(): FLINT integer matrix products (a weight matrix built once "
        "per process from machine-word numerators); square roots correctly rounded to 169 "
        "bits by an integer square root, once per process; other functions from SymPy's "
        "evalf.",
        "",
    ]
    return "\n".join(lines + notes) + "\n"


def run(label: str, fn) -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = fn()
    if isinstance(result, dict):
        FIGURES.update(result)
        result = None
    text = (buffer.getvalue() + (result or "")).rstrip()
    print(f"## {label}\n{text}\n", flush=True)
    return f"## {label}\n\n```\n{text}\n```\n"


START_LOAD = ", ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import bench_cold_start
    import bench_explain
    import bench_foundation
    import bench_gradients
    import bench_onnx
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
        run("gradients (seed MLP, seed regressor)", bench_gradients.main),
        run("ONNX models (../shared/onnx-models)", bench_onnx.main),
        run("command line, cold start", cli_cold_start),
        run("command line, cold start, file reader", lambda: bench_cold_start.main()[1]),
    ]
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    header = (f"# Benchmark results\n\nMeasured {today} on {platform.platform()}, "
              f"{os.cpu_count()} CPUs (load average before the run {START_LOAD}, after {load}: "
              f"other work on the machine makes float timings noisy), Python "
              f"{platform.python_version()}, numpy "
              f"{np.__version__}, SymPy {sympy.__version__}, TensorFlow {tf.__version__}, Keras "
              f"{keras.__version__}. Regenerate with `python benchmarks/run_all.py`.\n\n")
    (HERE / "RESULTS.md").write_text(header + targets() + "\n".join(sections),
                                     encoding="utf-8")
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
