"""The two models symnet was born from, identical on every machine.

- :func:`regressor_2x_plus_5`: ``Dense(16, relu) -> Dense(1)`` trained on ``y = 2x + 5`` for
  ``x = 0 ... 19`` (the second seed question). Trained once by :mod:`symnet.examples.train` and
  shipped as ``regressor_2x_plus_5.keras`` so that its weights are the same everywhere.
- :func:`seed_regressor`: the same architecture with the weights the second seed question printed
  (``model.layers[i].get_weights()`` in the question, digit for digit). At ``x = 10`` it gives
  25.0047, and 20.4750 when the ReLU is forgotten, as the user's spreadsheet did. Shipped as
  ``seed_regressor.keras`` (made by :func:`seed_regressor`) for the command line.
- :func:`moons_classifier`: a ``2 -> Dense 8 (relu) -> Dense 8 (relu) -> Dense 3 (softmax)``
  classifier trained on :func:`moons_data` (two moons and a blob under them): the network of a
  paper's figure, whose exact decision regions ``net.plot`` draws. Trained once by
  :mod:`symnet.examples.train`, shipped as ``moons_classifier.keras``.
- :func:`seed_mlp`: the first seed question's classifier, ``1120 -> Dense 512 -> BN -> relu ->
  Dropout(0.5) -> Dense 256 -> BN -> relu -> Dropout(0.5) -> Dense 38 -> BN -> softmax``
  (718,270 parameters), with weights and moving statistics drawn from a fixed seed.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SEED_MLP_SEED", "SEED_REGRESSOR_WEIGHTS", "moons_classifier", "moons_data",
           "moons_path", "regressor_2x_plus_5", "regressor_path", "seed_mlp", "seed_regressor",
           "seed_regressor_path"]

REGRESSOR_FILE = "regressor_2x_plus_5.keras"
MOONS_FILE = "moons_classifier.keras"
SEED_REGRESSOR_FILE = "seed_regressor.keras"

#: ``[l.get_weights() for l in model.layers]`` as the second seed question printed them:
#: ``dense`` (kernel (1, 16), bias (16,)), ``dense_1`` (kernel (16, 1), bias (1,)).
SEED_REGRESSOR_WEIGHTS = (
    ([[-0.10382611, 0.48899287, -0.36912352, -0.11604425, 0.03658517, 0.546786, -0.0094437,
       0.5393126, -0.36325318, -0.20389882, -0.00112574, -0.39811927, -0.25433052, -0.16315842,
       0.6172162, -0.47300738]],
     [0.0, 1.1705374, 0.0, 0.0, -0.41323203, 0.97515434, 0.0, 0.99699414, 0.0, 0.0, -0.2316811,
      0.0, 0.0, 0.0, 1.4638424, 0.0]),
    ([[-0.30404267], [0.91265625], [0.3578334], [-0.23462006], [-0.33843294], [1.080244],
      [-0.5933689], [1.0348322], [0.47716653], [0.18852347], [-0.21219982], [0.45529807],
      [0.39576346], [-0.05013525], [0.67550814], [-0.19761673]],
     [0.7426254]),
)
SEED_MLP_SEED = 20180803


def regressor_path() -> Path:
    """Path of the shipped ``.keras`` file of the 2x+5 regressor."""
    return Path(str(resources.files(__name__).joinpath(REGRESSOR_FILE)))


def regressor_2x_plus_5() -> Any:
    """The ``Dense(16, relu) -> Dense(1)`` regressor trained on ``y = 2x + 5`` (a keras.Model)."""
    from ..io.keras import load_model

    return load_model(regressor_path())


def moons_data(n: int = 400, noise: float = 0.12, seed: int = 0
               ) -> tuple[np.ndarray, np.ndarray]:
    """Points of two interleaving half moons (classes 0 and 1) and a blob under them (class
    2), the same on every machine: ``(X, y)``, ``X`` float32 of shape ``(n, 2)``, ``y`` the
    classes."""
    rng = np.random.default_rng(seed)
    third = n // 4
    half = (n - third) // 2
    t = np.linspace(0.0, np.pi, half)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    blob = rng.normal([0.5, -0.9], 0.15, size=(n - 2 * half, 2))
    points = np.concatenate([upper, lower]) + rng.normal(0.0, noise, size=(2 * half, 2))
    x = np.concatenate([points, blob]).astype(np.float32)
    y = np.concatenate([np.zeros(half), np.ones(half), np.full(n - 2 * half, 2)]).astype(
        np.int64)
    return x, y


def moons_path() -> Path:
    """Path of the shipped ``.keras`` file of :func:`moons_classifier`."""
    return Path(str(resources.files(__name__).joinpath(MOONS_FILE)))


def moons_classifier() -> Any:
    """The 2-8-8-3 softmax classifier trained on :func:`moons_data` (a keras.Model)."""
    from ..io.keras import load_model

    return load_model(moons_path())


def seed_regressor_path() -> Path:
    """Path of the shipped ``.keras`` file of :func:`seed_regressor`."""
    return Path(str(resources.files(__name__).joinpath(SEED_REGRESSOR_FILE)))


def seed_regressor() -> Any:
    """The second seed's ``Dense(16, relu) -> Dense(1)`` with the user's own weights."""
    from ..io.keras import import_keras

    keras = import_keras()
    model = keras.Sequential([
        keras.Input(shape=(1,), name="x"),
        keras.layers.Dense(16, activation="relu", name="dense"),
        keras.layers.Dense(1, activation="linear", name="dense_1"),
    ], name="seed_regressor")
    for layer, weights in zip(model.layers, SEED_REGRESSOR_WEIGHTS, strict=True):
        layer.set_weights([np.asarray(w, dtype=np.float32) for w in weights])
    return model


def seed_mlp(seed: int = SEED_MLP_SEED) -> Any:
    """The first seed's 1120-512-256-38 classifier with BatchNorm and Dropout (a keras.Model).

    Weights are drawn with numpy from ``seed``: Glorot-uniform kernels, small biases, BatchNorm
    ``gamma`` around 1, ``beta`` around 0, moving means around 0 and moving variances between
    0.5 and 2 (not the initial 0 and 1, so that the inference formula is exercised).
    """
    from ..io.keras import import_keras

    keras = import_keras()
    layers = keras.layers

    model = keras.Sequential(name="modelbatch")
    model.add(keras.Input(shape=(1120,), name="input"))
    for i, units in enumerate((512, 256, 38)):
        suffix = "" if i == 0 else f"_{i}"
        model.add(layers.Dense(units, name=f"dense{suffix}"))
        model.add(layers.BatchNormalization(name=f"batch_normalization{suffix}"))
        activation = "relu" if units != 38 else "softmax"
        model.add(layers.Activation(activation, name=f"activation{suffix}"))
        if units != 38:
            model.add(layers.Dropout(0.5, name=f"dropout{suffix}"))
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, layers.Dense):
            fan_in, fan_out = layer.kernel.shape
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            layer.set_weights([rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32),
                               rng.normal(0.0, 0.05, fan_out).astype(np.float32)])
        elif isinstance(layer, layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n).astype(np.float32),
                               rng.normal(0.0, 0.1, n).astype(np.float32),
                               rng.normal(0.0, 0.5, n).astype(np.float32),
                               rng.uniform(0.5, 2.0, n).astype(np.float32)])
    return model
