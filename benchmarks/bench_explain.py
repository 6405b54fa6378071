"""Explanation benchmarks: why() on the 2x+5 regressor, piecewise() as width and depth grow,
regions2d() of two-input networks.

Run: ``python benchmarks/bench_explain.py``.
"""

from __future__ import annotations

import numpy as np
from timing import best_of as timed


def wide(keras, n: int, rng):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(n, activation="relu"),
                              keras.layers.Dense(1)])
    model.set_weights([rng.normal(size=(1, n)).astype(np.float32),
                       rng.normal(size=n).astype(np.float32),
                       rng.normal(size=(n, 1)).astype(np.float32),
                       rng.normal(size=1).astype(np.float32)])
    return model


def deep(keras, depth: int, rng, width: int = 64):
    layers = [keras.Input((1,))] + [keras.layers.Dense(width, activation="relu")
                                    for _ in range(depth)] + [keras.layers.Dense(1)]
    model = keras.Sequential(layers)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32)
                       for w in model.get_weights()])
    return model


def main() -> dict[str, float]:
    import symnet
    from symnet.analysis.piecewise import walked_pieces
    from symnet.io.keras import import_keras

    keras = import_keras()
    model = symnet.examples.regressor_2x_plus_5()
    net = symnet.explain(model)
    x = np.array([[10.0]], np.float32)
    model.predict(x, verbose=0)
    model(x, training=False)
    t_predict = timed(lambda: model.predict(x, verbose=0))
    t_call = timed(lambda: model(x, training=False))
    t_why = timed(lambda: net.why(10.0, target="2*x + 5", domain=(0, 20)))
    figures = {"why_s": t_why}
    print(f"why(regressor, x=10, target, domain): {t_why * 1e3:.1f} ms (model.predict on one "
          f"sample: {t_predict * 1e3:.1f} ms, ratio {t_why / t_predict:.2f}; model(x, "
          f"training=False): {t_call * 1e3:.2f} ms, ratio {t_why / t_call:.1f})")
    print("Dense(N, relu) -> Dense(1) on all reals. float: pieces(); exact: pieces(exact=True) "
          "(the exact sweep); piecewise(): the exact SymPy Piecewise; walk: the exact "
          "refinement of the float pieces used before (O(N) per piece)")
    print(f"{'N':>6} {'pieces':>7} {'float s':>9} {'s / (N log N)':>14} {'exact s':>9} "
          f"{'piecewise() s':>14} {'walk s':>8}")
    rng = np.random.default_rng(0)
    for n in (10, 100, 1000, 10_000):
        w = symnet.explain(wide(keras, n, rng))
        t = timed(lambda w=w: w.pieces(), repeat=1)
        t_exact = timed(lambda w=w: w.pieces(exact=True), repeat=1)
        t_formula = timed(lambda w=w: w.piecewise(), repeat=1)
        walk = (f"{timed(lambda w=w: walked_pieces(w.graph, -np.inf, np.inf, True), 1):>8.2f}"
                if n <= 100 else f"{'-':>8}")
        print(f"{n:>6} {len(w.pieces()):>7} {t:>9.3f} {t / (n * np.log(n)):>14.2e} "
              f"{t_exact:>9.3f} {t_formula:>14.3f} {walk}")
        figures[f"piecewise_{n}"] = t / (n * np.log(n))
        figures[f"exact_pieces_{n}"] = t_exact
        figures[f"exact_piecewise_{n}"] = t_formula
    print("Dense(64, relu) x depth -> Dense(1) on all reals. exact: breakpoints() (splitting); "
          "walk: the exact refinement used before")
    print(f"{'depth':>6} {'pieces':>7} {'float s':>9} {'exact s':>9} {'walk s':>8}")
    for depth in (1, 2, 3, 4):
        d = symnet.explain(deep(keras, depth, rng))
        t = timed(lambda d=d: d.pieces(), repeat=1)
        t_exact = timed(lambda d=d: d.breakpoints(), repeat=1)
        t_walk = timed(lambda d=d: walked_pieces(d.graph, -np.inf, np.inf, True), repeat=1)
        print(f"{depth:>6} {len(d.breakpoints()) + 1:>7} {t:>9.3f} {t_exact:>9.3f} "
              f"{t_walk:>8.2f}")
        figures[f"exact_depth_{depth}"] = t_exact
    print("two inputs, Dense(width, relu) x depth -> Dense(1): regions2d(box) on "
          "[-3, 3] x [-2, 4], exact")
    print(f"{'width':>6} {'depth':>6} {'regions':>8} {'s':>8}")
    for width, depth in ((8, 1), (8, 2), (16, 2), (16, 3)):
        layers = [keras.Input((2,))] + [keras.layers.Dense(width, activation="relu")
                                        for _ in range(depth)] + [keras.layers.Dense(1)]
        model = keras.Sequential(layers)
        model.set_weights([rng.normal(size=w.shape).astype(np.float32)
                           for w in model.get_weights()])
        net2 = symnet.explain(model)
        box = ((-3.0, 3.0), (-2.0, 4.0))
        t = timed(lambda net2=net2, box=box: net2.regions2d(box), repeat=1)
        print(f"{width:>6} {depth:>6} {len(net2.regions2d(box)):>8} {t:>8.3f}")
    return figures


if __name__ == "__main__":
    main()
