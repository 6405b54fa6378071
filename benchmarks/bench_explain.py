"""Explanation benchmarks: why() on the 2x+5 regressor, piecewise() as the width grows.

Run: ``python benchmarks/bench_explain.py``.
"""

from __future__ import annotations

import numpy as np
from timing import best_of as timed


def main() -> dict[str, float]:
    import symnet
    from symnet.io.keras import import_keras

    keras = import_keras()
    model = symnet.examples.regressor_2x_plus_5()
    net = symnet.explain(model)
    model.predict(np.array([[10.0]], np.float32), verbose=0)
    t_predict = timed(lambda: model.predict(np.array([[10.0]], np.float32), verbose=0))
    t_why = timed(lambda: net.why(10.0, target="2*x + 5", domain=(0, 20)))
    figures = {"why_s": t_why}
    print(f"why(regressor, x=10, target, domain): {t_why * 1e3:.1f} ms "
          f"(model.predict on one sample: {t_predict * 1e3:.1f} ms, ratio {t_why / t_predict:.1f})")
    print(f"{'N':>6} {'pieces':>7} {'pieces() s':>13} {'s / (N log N)':>14} {'exact s':>9}")
    rng = np.random.default_rng(0)
    for n in (10, 100, 1000, 10_000):
        m = keras.Sequential([keras.Input((1,)), keras.layers.Dense(n, activation="relu"),
                              keras.layers.Dense(1)])
        m.set_weights([rng.normal(size=(1, n)).astype(np.float32),
                       rng.normal(size=n).astype(np.float32),
                       rng.normal(size=(n, 1)).astype(np.float32),
                       rng.normal(size=1).astype(np.float32)])
        wide = symnet.explain(m)
        t = timed(lambda wide=wide: wide.pieces(), repeat=1)
        exact = (f"{timed(lambda wide=wide: wide.pieces(exact=True), repeat=1):>9.2f}"
                 if n <= 1000 else f"{'-':>9}")
        print(f"{n:>6} {len(wide.pieces()):>7} {t:>13.3f} {t / (n * np.log(n)):>14.2e} {exact}")
        figures[f"piecewise_{n}"] = t / (n * np.log(n))
    return figures


if __name__ == "__main__":
    main()
