"""What a converter understands of its layer's config, declared beside it.

Each converter is registered with a :class:`LayerSpec`: every key of the config it knows
(``get_config()``'s keys) and the values it converts exactly for each. A layer whose config
holds a key the converter has not declared, or a value outside the declared ones, is refused
by name before its converter runs, so a new Keras option is a decision (declare it, or let
it be refused), never a silent default. The same declarations tell the tests which options
to draw (``tests/test_differential.py``) and which keys Keras' own ``get_config()`` may list.

A spec also declares, for the layers symnet reads from a file without Keras, the weights the
converter expects (their names, order, shapes and trainable flags, from the config and the
input's shape), the shapes of the layer's outputs and the keys a file must state (Keras would
put a default for a missing one, which a reader must not guess): :meth:`LayerSpec.reading`.
:mod:`symnet.io.saved` has no table of its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

__all__ = ["ActivationName", "Axes", "Choice", "Domain", "Free", "Inert", "Ints", "LayerSpec",
           "Nested", "Number", "Part", "Serialized", "Setting", "WeightSpec", "spec"]

Shape = tuple[int, ...]


@dataclass(frozen=True)
class WeightSpec:
    """A weight a converter expects: its name, shape and whether training changes it
    (a layer's own ``trainable`` flag aside)."""

    name: str
    shape: Shape
    trainable: bool = True
    dtype: str = "float32"
    legacy: str | None = None
    """The name Keras 2 gave it in a legacy HDF5 file, where that differs (Keras 3 reads such
    a file's weights by position)."""


WeightsFn = Callable[[Mapping[str, Any], list[Shape]], list[WeightSpec]]
OutputFn = Callable[[Mapping[str, Any], list[Shape]], list[Shape]]
WrapsFn = Callable[[Mapping[str, Any]], list[tuple[str, Any]]]


@dataclass(frozen=True)
class Part:
    """A layer a wrapper makes itself rather than saving its config (a MultiHeadAttention's
    projections): its class, name, group in a ``.keras`` weights file and weights' names, in
    order (their shapes are the wrapper's declaration)."""

    kind: str
    name: str
    group: str
    weights: tuple[str, ...] = ()


def no_weights(config: Mapping[str, Any], shapes: list[Shape]) -> list[WeightSpec]:
    return []


def same_shape(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    if len(shapes) != 1:
        raise ValueError(f"{len(shapes)} inputs, expected one")
    return [shapes[0]]


class Domain:
    """The values a converter understands for one key."""

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Choice(Domain):
    """One of these values (lists compare as tuples)."""

    values: tuple[Any, ...]

    def accepts(self, value: Any) -> bool:
        value = tuple(value) if isinstance(value, list) else value
        return any(_same(value, v) for v in self.values)

    def describe(self) -> str:
        return " or ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class Number(Domain):
    """A real number (``integer``: a whole one) in ``[low, high]``; ``none``: or ``None``."""

    low: float = -math.inf
    high: float = math.inf
    integer: bool = False
    none: bool = False

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.none
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if not math.isfinite(value) or not self.low <= value <= self.high:
            return False
        return not self.integer or float(value) == int(value)

    def describe(self) -> str:
        kind = "a whole number" if self.integer else "a number"
        return f"{kind} from {self.low:g} to {self.high:g}" + (" or None" if self.none else "")


@dataclass(frozen=True)
class Ints(Domain):
    """A whole number in ``[low, high]``, or a list of them (one per spatial axis), as
    ``kernel_size`` and ``strides`` are; ``pairs``: each item may be a (before, after) pair."""

    low: int = 0
    high: int = 1 << 30
    pairs: bool = False
    none: bool = False

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.none
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        flat: list[Any] = []
        for item in items:
            if self.pairs and isinstance(item, (list, tuple)):
                if len(item) != 2:
                    return False
                flat.extend(item)
            else:
                flat.append(item)
        return bool(flat) and all(isinstance(v, int) and not isinstance(v, bool)
                                  and self.low <= v <= self.high for v in flat)

    def describe(self) -> str:
        return (f"a whole number from {self.low} to {self.high}, or one per axis"
                + (" (or (before, after) pairs)" if self.pairs else ""))


@dataclass(frozen=True)
class Axes(Domain):
    """An axis (a whole number, the batch axis 0 and negatives counted from the end) or a
    list of them; the converter places them against the input's rank."""

    none: bool = False

    def accepts(self, value: Any) -> bool:
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if value is None or not items:  # Keras writes axis=None as ()
            return self.none
        return all(isinstance(v, int) and not isinstance(v, bool) for v in items)

    def describe(self) -> str:
        return "an axis or a list of axes" + (" or None (no axis)" if self.none else "")


@dataclass(frozen=True)
class ActivationName(Domain):
    """A Keras activation symnet knows, by name (or as Keras serializes a built-in one)."""

    def accepts(self, value: Any) -> bool:
        from ..ops import ACTIVATIONS

        if isinstance(value, dict):
            if value.get("module") not in (None, "keras.activations"):
                return False
            value = value.get("config")
        return isinstance(value, str) and value in ACTIVATIONS

    def describe(self) -> str:
        from ..ops import ACTIVATIONS

        return "one of " + ", ".join(sorted(ACTIVATIONS))


@dataclass(frozen=True)
class Inert(Domain):
    """Read, but not part of inference: any value (initializers, regularizers, constraints,
    a seed, the rate of a dropout inside a layer...)."""

    why: str = "not used at inference"
    number: bool = field(default=False, kw_only=True)
    """Keras takes it as a number (``float(momentum)``): any other value is refused, as
    Keras would refuse it."""

    def accepts(self, value: Any) -> bool:
        return not self.number or (isinstance(value, (int, float))
                                   and not isinstance(value, bool))

    def describe(self) -> str:
        return f"any {'number' if self.number else 'value'} ({self.why})"


@dataclass(frozen=True)
class Free(Domain):
    """Used at inference, with values the converter checks itself against the layer's
    shapes (``target_shape``, ``dims``...), refusing by name what it cannot convert."""

    why: str

    def accepts(self, value: Any) -> bool:
        return True

    def describe(self) -> str:
        return f"checked by the converter ({self.why})"


@dataclass(frozen=True)
class Nested(Domain):
    """The config of a layer wrapped in this one (``Bidirectional``'s ``layer``), checked by
    its own converter's spec."""

    none: bool = False

    def accepts(self, value: Any) -> bool:
        return (value is None and self.none) or isinstance(value, dict)

    def describe(self) -> str:
        return "a layer's config" + (" or None" if self.none else "")


#: Keys every layer's config has: its name, whether it trains, its dtype policy (checked for
#: every layer: float32 only).
COMMON: dict[str, Domain] = {
    "name": Inert("a name"),
    "trainable": Inert("whether training changes the weights"),
    "dtype": Free("the dtype policy: float32, checked for every layer"),
}

@dataclass(frozen=True)
class Serialized(Inert):
    """Not part of inference (any value of a live layer), but an object Keras rebuilds when
    it reads a file (an initializer, a regularizer, a constraint): a file symnet reads itself
    must give ``None``, one of Keras' names for it, or Keras' serialized form of one
    (:meth:`rebuildable`), so that a file symnet reads is one Keras reads."""

    names: frozenset[str] = frozenset()

    def rebuildable(self, value: Any) -> bool:
        if value is None:
            return True
        if isinstance(value, str):
            return value in self.names
        if not isinstance(value, dict) or set(value) - {"module", "class_name", "config",
                                                         "registered_name", "shared_object_id"}:
            return False
        return value.get("class_name") in self.names and isinstance(value.get("config", {}),
                                                                     dict)

    def describe(self) -> str:
        return f"any value ({self.why}); in a file: None or an object Keras names"


@dataclass(frozen=True)
class Setting(Serialized):
    """Not part of inference (a dropout's rate, a seed), but a value Keras checks when it
    rebuilds the layer: a file symnet reads itself must give a number (``integer``: a whole
    one; ``none``: or ``None``)."""

    integer: bool = False
    none: bool = False

    def rebuildable(self, value: Any) -> bool:
        if value is None:
            return self.none
        if self.integer:
            return isinstance(value, int) and not isinstance(value, bool)
        return Number().accepts(value)

    def describe(self) -> str:
        kind = "a whole number" if self.integer else "a number"
        return f"any value ({self.why}); in a file: {kind}" + (" or None" if self.none else "")


INITIALIZER = Serialized("how the weights were first drawn", frozenset((
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
    "IdentityInitializer", "LecunNormal", "LecunUniform", "Ones", "Orthogonal",
    "OrthogonalInitializer", "RandomNormal", "RandomUniform", "STFT", "STFTInitializer",
    "TruncatedNormal", "VarianceScaling", "Zeros", "constant", "glorot_normal",
    "glorot_uniform", "he_normal", "he_uniform", "identity", "lecun_normal", "lecun_uniform",
    "normal", "one", "ones", "orthogonal", "random_normal", "random_uniform", "stft",
    "truncated_normal", "uniform", "variance_scaling", "zero", "zeros")))
REGULARIZER = Serialized("a penalty added to the training loss", frozenset((
    "L1", "L1L2", "L2", "OrthogonalRegularizer", "l1", "l1l2", "l2",
    "orthogonal_regularizer")))
CONSTRAINT = Serialized("a projection applied after each training step", frozenset((
    "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm", "min_max_norm", "non_neg",
    "unit_norm")))
SEED = Setting("the seed of a random draw while training", integer=True, none=True)


@dataclass(frozen=True)
class LayerSpec:
    """What a converter understands of its layer: ``config`` maps each key it knows to the
    values it converts exactly."""

    config: Mapping[str, Domain] = field(default_factory=dict)
    weights: WeightsFn | None = None
    """The weights the converter takes, in the order Keras makes and saves them, from the
    config and the input shapes (``None``: not declared; the file reader refuses the layer)."""
    output: OutputFn = same_shape
    """The shapes of the layer's outputs from the config and the input shapes (``ValueError``
    when they do not fit)."""
    required: tuple[str, ...] = ()
    """Keys a saved config must state for the file reader (Keras would default a missing
    one)."""
    wraps: WrapsFn | None = None
    """A wrapper's layers from its config: (role, the saved entry of each), in the order of
    their weights; the role is the wrapper's attribute (``forward_layer``), the name of each
    one's group in a ``.keras`` weights file."""

    def reading(self, weights: WeightsFn = no_weights, output: OutputFn = same_shape,
                required: tuple[str, ...] = (), wraps: WrapsFn | None = None) -> LayerSpec:
        """This spec with what a file reader needs: the weights, output shapes, the keys
        a file must state and, for a wrapper, the layers it wraps."""
        return replace(self, weights=weights, output=output, required=tuple(required),
                       wraps=wraps)

    def problems(self, config: Mapping[str, Any]) -> list[str]:
        """Why this config is not one the converter understands (empty: it is)."""
        out = []
        for key, value in config.items():
            domain = self.config.get(key)
            if domain is None:
                out.append(f"option {key}={_shown(value)} is not one symnet knows for this "
                           f"layer (known: {', '.join(sorted(self.config))})")
            elif not domain.accepts(value):
                out.append(f"{key}={_shown(value)} is not supported; supported: "
                           f"{domain.describe()}")
        return out

    def drawn(self) -> list[str]:
        """The keys that change what the layer computes (everything but inert ones)."""
        return sorted(k for k, d in self.config.items() if not isinstance(d, Inert))


def spec(**config: Domain) -> LayerSpec:
    """A layer's spec: the common keys (name, trainable, dtype) and these."""
    return LayerSpec(MappingProxyType({**COMMON, **config}))


def _same(a: Any, b: Any) -> bool:
    """Equal, and a flag only equal to a flag (True is not 1 here)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
