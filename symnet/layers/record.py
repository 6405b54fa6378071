"""What a converter reads of a layer: a :class:`LayerRecord`, whatever produced it.

A record holds a layer's Keras class name, its config (a dict as saved), its named weight
arrays with their trainable flags, the layers it wraps (a Bidirectional's two directions,
a MultiHeadAttention's projections) and, for a live model, what the layer computes with
beside its weights (an adapted Normalization's statistics). Two readers make records: a live
Keras model (:func:`symnet.io.keras.read_graph`) and a saved file read without Keras
(:mod:`symnet.io.saved`); converters see records only, never Keras objects, so one converter
serves both and the weights each converter expects are declared once, beside it
(:class:`~symnet.layers.spec.LayerSpec`'s ``weights``).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["LayerRecord", "Weight", "keras_setting"]


@dataclass(frozen=True, eq=False)
class Weight:
    """One of a layer's variables: its name (Keras' ``variable.name``), value and flag."""

    name: str
    value: np.ndarray = field(repr=False)
    trainable: bool

    def numpy(self) -> np.ndarray:
        return self.value


@dataclass(frozen=True, eq=False)
class LayerRecord:
    """A layer as converters read it (compared by identity: one record per layer)."""

    kind: str
    """The Keras class name (``Dense``)."""
    config: dict[str, Any] = field(repr=False)
    """The layer's config as ``get_config()`` gives it and a file saves it."""
    weights: tuple[Weight, ...] = field(default=(), repr=False)
    """Every variable, the wrapped layers' included (the same :class:`Weight` objects)."""
    children: tuple[tuple[str, LayerRecord], ...] = field(default=(), repr=False)
    """The layers it wraps, by role (``forward_layer``, ``layer``, ``query``...)."""
    state: dict[str, Any] = field(default_factory=dict, repr=False)
    """What a live layer computes with beside its weights (``mean``, ``variance``)."""
    builtin: bool = True
    """Keras' own class (a file's layers are: custom ones are refused before reading)."""
    origin: type | None = field(default=None, repr=False)
    """A live layer's class, for converters registered for a class explicitly."""
    compute_dtype: str = "float32"
    quantized: bool = False

    @property
    def name(self) -> str:
        return str(self.config.get("name", ""))

    def get_config(self) -> dict[str, Any]:
        """A copy of the config (as Keras' ``get_config`` gives a fresh dict)."""
        return json.loads(json.dumps(self.config, default=_plain))

    def child(self, role: str) -> LayerRecord | None:
        return dict(self.children).get(role)

    def weight(self, name: str) -> Weight | None:
        return next((w for w in self.weights if w.name == name), None)


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} in a layer config")


_DEFAULTS: dict[str, Any] = {"epsilon": 1e-7, "image_data_format": "channels_last",
                             "floatx": "float32"}


def keras_setting(name: str) -> Any:
    """One of Keras' global settings (``epsilon``, ``image_data_format``): Keras' own value
    when Keras is imported, else what Keras would read at import (``keras.json`` in
    ``$KERAS_HOME`` or ``~/.keras``, else its default), so that a file read without Keras
    computes as Keras would in this environment."""
    if "keras" in sys.modules:
        return getattr(sys.modules["keras"].config, name)()
    folder = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    value = _DEFAULTS[name]
    try:
        with open(os.path.join(folder, "keras.json"), encoding="utf-8") as handle:
            settings = json.load(handle)
        if isinstance(settings, dict) and name in settings:
            value = float(settings[name]) if name == "epsilon" else str(settings[name])
    except (OSError, ValueError, TypeError):
        pass
    return value
