"""Foundation benchmarks: explain() and evaluate() on the seed MLP, against Keras and numpy.

Run: ``python benchmarks/bench_foundation.py``. Prints times and ratios measured in one run.
"""

from __future__ import annotations

import time

import numpy as np
from timing import best_of


def numpy_steps(model) -> list[tuple[str, list[np.ndarray]]]:
    """The seed MLP's layers as (kind, weights), read from Keras once, outside the timings."""
    steps = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Activation":
            kind = layer.get_config()["activation"]
        weights = layer.get_weights()
        if kind == "BatchNormalization":
            weights.append(np.float32(layer.epsilon))
        steps.append((kind, weights))
    return steps


def numpy_forward(steps, x: np.ndarray) -> np.ndarray:
    """An independent float32 forward pass of the seed MLP, written out by hand."""
    h = x
    for kind, w in steps:
        if kind == "Dense":
            h = h @ w[0] + w[1]
        elif kind == "BatchNormalization":
            g, beta, mu, var, eps = w
            h = g * (h - mu) / np.sqrt(var + eps) + beta
        elif kind == "relu":
            h = np.maximum(h, 0)
        elif kind == "softmax":
            e = np.exp(h - h.max(axis=1, keepdims=True))
            h = e / e.sum(axis=1, keepdims=True)
    return h


def exact_figures(net, rng) -> dict[str, float]:
    """Exact evaluation, new and old arithmetic (same rationals), on the seed MLP."""
    from symnet.backends.exact import FractionBackend

    figures: dict[str, float] = {}
    x1 = rng.normal(size=(1, 1120))
    start = time.perf_counter()
    net.evaluate(x1, "exact")  # the first in this process: weights' matrices and roots made
    figures["exact_cold_s"] = time.perf_counter() - start
    figures["exact_row_s"] = best_of(lambda: net.evaluate(x1, "exact"), repeat=3)
    rows = 20
    xs = rng.normal(size=(rows, 1120))
    figures["exact_batch_row_s"] = best_of(lambda: net.evaluate(xs, "exact"), repeat=1) / rows

    def old() -> None:
        backend = FractionBackend()
        values = net.graph.run(backend, net.graph.batch(x1, exact=True))
        backend.finish(values[net.graph.outputs[0]])

    figures["exact_fraction_row_s"] = best_of(old, repeat=1)
    print(f"evaluate exact, 1 row: {figures['exact_row_s']:.3f} s (first call in the process "
          f"{figures['exact_cold_s']:.2f} s: weight matrices made, BatchNorm's square roots "
          f"taken); {rows} rows: {figures['exact_batch_row_s']:.3f} s a row | before (Fraction "
          f"arithmetic, same rationals): {figures['exact_fraction_row_s']:.2f} s a row "
          f"(ratio {figures['exact_fraction_row_s'] / figures['exact_row_s']:.0f}x)")
    return figures


#: Run in a new process: the seed MLP read, then its first exact evaluation timed alone (the
#: weights' integer matrices made, BatchNorm's 806 square roots taken).
FIRST_EXACT = """
import time, numpy as np, symnet
net = symnet.explain(symnet.examples.seed_mlp())
x = np.random.default_rng(0).normal(size=(1, 1120))
start = time.perf_counter()
net.evaluate(x, "exact")
print(time.perf_counter() - start)
"""


def first_exact_in_new_process(repeat: int = 5) -> float:
    """The first exact evaluate of the seed MLP in a new process (best of ``repeat``)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    times = []
    for _ in range(repeat):
        done = subprocess.run([sys.executable, "-c", FIRST_EXACT], capture_output=True,
                              text=True, env=env, check=True)
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return min(times)


def main() -> dict[str, float]:
    import symnet

    figures: dict[str, float] = {}
    model = symnet.examples.seed_mlp()
    t_explain = best_of(lambda: symnet.explain(model), repeat=3)
    net = symnet.explain(model)
    params = net.param_count
    figures["explain_s"] = t_explain
    print(f"explain(seed MLP, {params:,} parameters): {t_explain * 1e3:.1f} ms "
          f"({t_explain / params * 1e9:.1f} ns/parameter)")
    rng = np.random.default_rng(0)
    figures.update(exact_figures(net, rng))
    figures["exact_first_process_s"] = first_exact_in_new_process()
    print(f"evaluate exact, the first call in a new process (the seed MLP read first): "
          f"{figures['exact_first_process_s']:.3f} s (best of 5 processes)")
    steps = numpy_steps(model)
    for rows in (1, 1000):
        x = rng.normal(size=(rows, 1120)).astype(np.float32)
        model.predict(x, verbose=0)
        model(x, training=False)
        t_keras = best_of(lambda x=x: model.predict(x, verbose=0))
        # the three float32 forward passes interleaved, best of 15 each: the machine's other
        # work then slows all three alike
        t_call = t_numpy = t_ours = float("inf")
        for _ in range(15):
            t_call = min(t_call, best_of(lambda x=x: model(x, training=False), repeat=1))
            t_numpy = min(t_numpy, best_of(lambda x=x: numpy_forward(steps, x), repeat=1))
            t_ours = min(t_ours, best_of(lambda x=x: net.evaluate(x), repeat=1))
        diff = np.abs(net.evaluate(x) - model.predict(x, verbose=0)).max()
        figures[f"predict_ratio_{rows}"] = t_ours / t_keras
        figures[f"call_ratio_{rows}"] = t_ours / t_call
        figures[f"numpy_ratio_{rows}"] = t_ours / t_numpy
        print(f"evaluate float32, {rows:>4} rows: {t_ours * 1e3:8.2f} ms | predict "
              f"{t_keras * 1e3:8.2f} ms (ratio {t_ours / t_keras:5.2f}) | model(x) "
              f"{t_call * 1e3:8.2f} ms (ratio {t_ours / t_call:5.2f}) | numpy "
              f"{t_numpy * 1e3:8.2f} ms (ratio {t_ours / t_numpy:5.2f}) | max |diff| {diff:.2e}")
    return figures


if __name__ == "__main__":
    main()
