"""Networks for the homework tests, and their hand calculations in plain numpy.

The seed regressor is built from the weights the second seed's author printed (its 49 numbers
are the user's data, copied from ``shared/seeds/001_cecf42ea4f5ca08f.txt``). The "seed MLP
shape" is the first seed's architecture (Dense -> BN -> relu -> Dropout, twice, then Dense -> BN
-> softmax) with small widths. Each hand calculation here can make any catalogued mistake in any
layer: the expected verdicts of the tests are computed with them, never by symnet.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from .conftest import randomize

K1 = [-0.10382611, 0.48899287, -0.36912352, -0.11604425, 0.03658517, 0.546786, -0.0094437,
      0.5393126, -0.36325318, -0.20389882, -0.00112574, -0.39811927, -0.25433052, -0.16315842,
      0.6172162, -0.47300738]
B1 = [0.0, 1.1705374, 0.0, 0.0, -0.41323203, 0.97515434, 0.0, 0.99699414, 0.0, 0.0,
      -0.2316811, 0.0, 0.0, 0.0, 1.4638424, 0.0]
K2 = [-0.30404267, 0.91265625, 0.3578334, -0.23462006, -0.33843294, 1.080244, -0.5933689,
      1.0348322, 0.47716653, 0.18852347, -0.21219982, 0.45529807, 0.39576346, -0.05013525,
      0.67550814, -0.19761673]
B2 = [0.7426254]


def seed_regressor(keras):
    """``Dense(16, relu) -> Dense(1)`` with the second seed's own weights."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(16, activation="relu",
                                                                    name="dense"),
                              keras.layers.Dense(1, name="dense_1")], name="seed_regressor")
    model.set_weights([np.array(K1, np.float32).reshape(1, 16), np.array(B1, np.float32),
                       np.array(K2, np.float32).reshape(16, 1), np.array(B2, np.float32)])
    return model


def regressor_by_hand(x: float, *, bias: Collection[int] = (0, 1), relu: bool = True,
                      relu_on_output: bool = False) -> float:
    """The seed regressor at ``x``; ``bias``: which layers' biases are added."""
    k1, b1, k2, b2 = (np.array(v, np.float32).astype(np.float64) for v in (K1, B1, K2, B2))
    h = x * k1 + (b1 if 0 in bias else 0)
    if relu:
        h = np.maximum(h, 0)
    y = float(h @ k2 + (b2[0] if 1 in bias else 0))
    return max(y, 0.0) if relu_on_output else y


# --- the first seed's shape ---------------------------------------------------------------

WIDTHS = (12, 10, 8, 5)
DENSE = ("dense", "dense_1", "dense_2")
BN = ("batch_normalization", "batch_normalization_1", "batch_normalization_2")
ACT = ("activation", "activation_1", "activation_2")
DROP = ("dropout", "dropout_1")


def seed_mlp_shape(keras, seed: int = 5):
    """The first seed's layers with widths 12 -> 10 -> 8 -> 5, random non-trivial weights."""
    layers = [keras.Input((WIDTHS[0],), name="input")]
    for i, units in enumerate(WIDTHS[1:]):
        layers += [keras.layers.Dense(units, name=DENSE[i]),
                   keras.layers.BatchNormalization(name=BN[i]),
                   keras.layers.Activation("relu" if i < 2 else "softmax", name=ACT[i])]
        if i < 2:
            layers.append(keras.layers.Dropout(0.5, name=DROP[i]))
    model = keras.Sequential(layers, name="modelbatch_small")
    randomize(model, seed)
    return model


def weights(net, name):
    return {k: np.asarray(v, np.float64) for k, v in net.layer(name).parameters.items()}


def mlp_by_hand(net, x, *, bias_omitted=(), bn=None, relu_missing=(), dropout=None,
                output="softmax", batch=None, stop=None, relu_first=()):
    """The seed MLP shape at ``x`` computed by hand, with mistakes.

    ``bn``: stage -> ``"outside"`` (ε after the root), ``"omitted"``, ``"squared"`` (the
    variance taken for σ and squared), ``"std"`` (σ where σ² goes), ``"swapped"`` (γ, β) or
    ``"batch"`` (the statistics of ``batch``); ``dropout``: stage -> factor; ``output``:
    ``softmax``, ``logits`` or ``sigmoid``; ``stop``: the name of a layer whose output to
    return instead of the network's; ``relu_first``: stages whose ReLU is applied before their
    BatchNorm.
    """
    bn = bn or {}
    dropout = dropout or {}
    eps = 1e-3
    h = np.asarray(x, np.float64).reshape(1, -1)
    hb = None if batch is None else np.asarray(batch, np.float64)
    for s in range(3):
        d = weights(net, DENSE[s])
        h = h @ d["kernel"] + (0 if s in bias_omitted else d["bias"])
        if hb is not None:
            hb = hb @ d["kernel"] + (0 if s in bias_omitted else d["bias"])
        if stop == DENSE[s]:
            return h.reshape(-1)
        if s in relu_first:
            h = np.maximum(h, 0)
        w = weights(net, BN[s])
        gamma, beta, mu, var = w["gamma"], w["beta"], w["moving_mean"], w["moving_variance"]
        kind = bn.get(s)
        if kind == "swapped":
            gamma, beta = beta, gamma
        if kind == "batch":
            mu, var = hb.mean(0), hb.var(0)
        root = {"outside": np.sqrt(var) + eps, "omitted": np.sqrt(var),
                "squared": np.sqrt(var**2 + eps), "std": np.sqrt(np.sqrt(var) + eps)
                }.get(kind, np.sqrt(var + eps))
        h = gamma * (h - mu) / root + beta
        if hb is not None:
            hb = gamma * (hb - mu) / root + beta
        if stop == BN[s]:
            return h.reshape(-1)
        if s < 2:
            if s not in relu_missing and s not in relu_first:
                h = np.maximum(h, 0)
                hb = None if hb is None else np.maximum(hb, 0)
            if stop == ACT[s]:
                return h.reshape(-1)
            h = h * dropout.get(s, 1.0)
            hb = None if hb is None else hb * dropout.get(s, 1.0)
            if stop == DROP[s]:
                return h.reshape(-1)
    if output == "logits":
        return h.reshape(-1)
    if output == "sigmoid":
        return (1 / (1 + np.exp(-h))).reshape(-1)
    e = np.exp(h - h.max())
    return (e / e.sum()).reshape(-1)


def shown(values, digits: int = 6) -> list[str]:
    """Numbers as a student writes them, to ``digits`` significant digits."""
    return [f"{v:.{digits}g}" for v in np.asarray(values, np.float64).reshape(-1)]
