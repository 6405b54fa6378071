"""The two models symnet was born from, identical on every machine.

- :func:`regressor_2x_plus_5`: ``Dense(16, relu) -> Dense(1)`` trained on ``y = 2x + 5`` for
  ``x = 0 ... 19`` (the second seed question). Trained once by :mod:`symnet.examples.train` and
  shipped as ``regressor_2x_plus_5.keras`` so that its weights are the same everywhere.
- :func:`seed_mlp`: the first seed question's classifier, ``1120 -> Dense 512 -> BN -> relu ->
  Dropout(0.5) -> Dense 256 -> BN -> relu -> Dropout(0.5) -> Dense 38 -> BN -> softmax``
  (718,270 parameters), with weights and moving statistics drawn from a fixed seed.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SEED_MLP_SEED", "regressor_2x_plus_5", "regressor_path", "seed_mlp"]

REGRESSOR_FILE = "regressor_2x_plus_5.keras"
SEED_MLP_SEED = 20180803


def regressor_path() -> Path:
    """Path of the shipped ``.keras`` file of the 2x+5 regressor."""
    return Path(str(resources.files(__name__).joinpath(REGRESSOR_FILE)))


def regressor_2x_plus_5() -> Any:
    """The ``Dense(16, relu) -> Dense(1)`` regressor trained on ``y = 2x + 5`` (a keras.Model)."""
    from ..io.keras import load_model

    return load_model(regressor_path())


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
