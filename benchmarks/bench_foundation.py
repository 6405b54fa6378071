"""Foundation benchmarks: explain() and evaluate() on the seed MLP, against Keras and numpy.

Run: ``python benchmarks/bench_foundation.py``. Prints times and ratios measured in one run.
"""

from __future__ import annotations

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
    steps = numpy_steps(model)
    for rows in (1, 1000):
        x = rng.normal(size=(rows, 1120)).astype(np.float32)
        model.predict(x, verbose=0)
        t_keras = best_of(lambda x=x: model.predict(x, verbose=0))
        t_numpy = best_of(lambda x=x: numpy_forward(steps, x))
        t_ours = best_of(lambda x=x: net.evaluate(x))
        diff = np.abs(net.evaluate(x) - model.predict(x, verbose=0)).max()
        figures[f"predict_ratio_{rows}"] = t_ours / t_keras
        figures[f"numpy_ratio_{rows}"] = t_ours / t_numpy
        print(f"evaluate float32, {rows:>4} rows: {t_ours * 1e3:8.2f} ms | predict "
              f"{t_keras * 1e3:8.2f} ms (ratio {t_ours / t_keras:5.2f}) | numpy "
              f"{t_numpy * 1e3:8.2f} ms (ratio {t_ours / t_numpy:5.2f}) | max |diff| {diff:.2e}")
    x1 = rng.normal(size=(1, 1120))
    t_exact = best_of(lambda: net.evaluate(x1, "exact"), repeat=2)
    print(f"evaluate exact, 1 row: {t_exact:.2f} s")
    return figures


if __name__ == "__main__":
    main()
