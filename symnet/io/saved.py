"""Reading simple Keras 3 ``.keras`` files without Keras (and so without TensorFlow).

A ``.keras`` file is a zip archive: ``config.json`` says what every layer is and its options
(:mod:`symnet.io.keras` has already checked it and refused any ``Lambda`` or custom layer),
``model.weights.h5`` holds every layer's variables, numbered in the order the layer made them,
under ``layers/<class name in snake case>[_k]/vars`` (``_k`` counting the layers of one class).
For a Sequential model of the layers in :data:`LAYERS`, or a functional model that chains them
one after the other, these two files are all symnet needs, and reading them takes milliseconds
where importing TensorFlow takes seconds.

This reader knows each of those layers' options and variables exactly, and steps aside
(:class:`NotForThisReader`) for anything else: another layer class, a model that is neither a
plain Sequential nor a chain, an option it does not list (LoRA, quantization, renormalization, a
dtype policy other than float32, an activation given as an object), a variable count, shape,
dtype or name the config does not imply, a file written by Keras 2. Keras then reads the file
as before. What it returns is the same :class:`~symnet.io.keras.KerasGraph` Keras' reading
gives, down to every weight's bits; ``tests/test_saved_reader.py`` compares the two for every
layer and option here and for the real models of ``wild-models``.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import checks

__all__ = ["LAYERS", "NotForThisReader", "SavedLayer", "SavedVariable", "read_saved"]


#: Weights files read into memory at most (a larger model gains little from skipping Keras).
MAX_BYTES = 256 * 1024**2


class NotForThisReader(Exception):
    """The file is not one this reader knows exactly; Keras must read it."""


@dataclass(frozen=True)
class SavedVariable:
    """A layer's variable as the file holds it (what converters read of a Keras variable)."""

    name: str
    value: np.ndarray = field(repr=False)
    trainable: bool

    def numpy(self) -> np.ndarray:
        return self.value


@dataclass(frozen=True)
class _Policy:
    name: str = "float32"
    compute_dtype: str = "float32"
    quantization_mode: None = None


@dataclass(frozen=True)
class SavedLayer:
    """A layer as its file states it: Keras class name, config and variables."""

    kind: str
    config: dict[str, Any] = field(repr=False)
    weights: tuple[SavedVariable, ...] = field(default=(), repr=False)
    dtype_policy: _Policy = field(default=_Policy(), repr=False)

    @property
    def name(self) -> str:
        return str(self.config["name"])

    @property
    def activation(self) -> str:
        """The activation's name, as symnet's table of activations spells it."""
        return activation_name(self.config.get("activation"))

    def get_config(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.config))  # a copy, as Keras gives


#: Keras gives these activation names the same function as the first; symnet's table, read by
#: the function, names it so (tests check it against Keras).
ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}


def activation_name(value: Any) -> str:
    from ..ops import ACTIVATIONS

    if value is None:
        return "linear"
    if not isinstance(value, str) or value not in ACTIVATIONS:
        raise NotForThisReader(f"activation {str(value)[:60]!r}")
    return ALIASES.get(value, value)


_COMMON = {"name", "trainable", "dtype"}
_TRAINING_ONLY = {"kernel_initializer", "bias_initializer", "kernel_regularizer",
                  "bias_regularizer", "activity_regularizer", "kernel_constraint",
                  "bias_constraint", "beta_initializer", "gamma_initializer",
                  "moving_mean_initializer", "moving_variance_initializer", "beta_regularizer",
                  "gamma_regularizer", "beta_constraint", "gamma_constraint", "momentum",
                  "synchronized", "renorm_clipping", "renorm_momentum", "seed",
                  "noise_shape"}
#: Options that must be off (None, False or 0) for the layer to compute what this reader says.
_OFF = {"lora_rank", "lora_alpha", "quantization_config", "renorm"}

Shape = tuple[int, ...]
Weights = Callable[[dict[str, Any], Shape], list[tuple[str, Shape, bool]]]


@dataclass(frozen=True)
class _Layer:
    keys: frozenset[str]
    """The options this reader knows (besides name, trainable, dtype and training-only ones)."""
    weights: Weights = lambda config, shape: []
    """(name, shape, trainable) of each variable, in the order Keras makes and saves them."""
    output: Callable[[dict[str, Any], Shape], Shape] = lambda config, shape: shape


def _axis(config: dict[str, Any], shape: Shape) -> int:
    axis = config.get("axis", -1)
    if isinstance(axis, list) and len(axis) == 1:
        axis = axis[0]
    if not isinstance(axis, int) or isinstance(axis, bool) or not (
            -len(shape) <= axis <= len(shape)) or axis == 0:
        raise NotForThisReader(f"axis {axis!r}")
    return shape[axis - 1] if axis > 0 else shape[axis]


def _dense_weights(config: dict[str, Any], shape: Shape) -> list[tuple[str, Shape, bool]]:
    units = config.get("units")
    if not isinstance(units, int) or isinstance(units, bool) or units < 1:
        raise NotForThisReader(f"units {units!r}")
    out = [("kernel", (shape[-1], units), True)]
    if config.get("use_bias", True) is True:
        out.append(("bias", (units,), True))
    elif config.get("use_bias") is not False:
        raise NotForThisReader(f"use_bias {config.get('use_bias')!r}")
    return out


def _bn_weights(config: dict[str, Any], shape: Shape) -> list[tuple[str, Shape, bool]]:
    n = (_axis(config, shape),)
    out = []
    for option, name in (("scale", "gamma"), ("center", "beta")):
        if config.get(option, True) is True:
            out.append((name, n, True))
        elif config.get(option) is not False:
            raise NotForThisReader(f"{option} {config.get(option)!r}")
    return out + [("moving_mean", n, False), ("moving_variance", n, False)]


#: The layers this reader knows, by Keras class name.
LAYERS: dict[str, _Layer] = {
    "Dense": _Layer(frozenset({"units", "activation", "use_bias"}), _dense_weights,
                    lambda c, s: (*s[:-1], int(c["units"]))),
    "BatchNormalization": _Layer(frozenset({"axis", "epsilon", "center", "scale"}),
                                 _bn_weights),
    "Activation": _Layer(frozenset({"activation"})),
    "ReLU": _Layer(frozenset({"max_value", "negative_slope", "threshold"})),
    "LeakyReLU": _Layer(frozenset({"negative_slope"})),
    "ELU": _Layer(frozenset({"alpha"})),
    "Softmax": _Layer(frozenset({"axis"})),
    "Dropout": _Layer(frozenset({"rate"})),
    "AlphaDropout": _Layer(frozenset({"rate"})),
    "GaussianDropout": _Layer(frozenset({"rate"})),
    "GaussianNoise": _Layer(frozenset({"stddev"})),
    "ActivityRegularization": _Layer(frozenset({"l1", "l2"})),
    "Flatten": _Layer(frozenset({"data_format"}), output=lambda c, s: (math.prod(s),)),
}


def snake_case(name: str) -> str:
    """Keras' ``naming.to_snake_case`` (the weights file's group names)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _float32(dtype: Any) -> bool:
    if dtype in (None, "float32"):
        return True
    return (isinstance(dtype, dict) and dtype.get("class_name") == "DTypePolicy"
            and dtype.get("module") in (None, "keras", "keras.src.dtype_policies")
            and (dtype.get("config") or {}).get("name") == "float32")


def _check_options(kind: str, config: dict[str, Any]) -> None:
    spec = LAYERS[kind]
    for key, value in config.items():
        if key in _OFF:
            if value not in (None, False, 0):
                raise NotForThisReader(f"{kind} option {key}={str(value)[:40]}")
        elif key not in spec.keys | _COMMON | _TRAINING_ONLY:
            raise NotForThisReader(f"{kind} option {key!r}")
    if not _float32(config.get("dtype")):
        raise NotForThisReader(f"{kind} dtype {str(config.get('dtype'))[:60]}")
    if not isinstance(config.get("name"), str) or not isinstance(config.get("trainable", True),
                                                                 bool):
        raise NotForThisReader(f"{kind} name or trainable")
    if kind == "Flatten" and config.get("data_format") != "channels_last":
        raise NotForThisReader(f"Flatten data_format {config.get('data_format')!r}")
    if "activation" in spec.keys:
        activation_name(config.get("activation"))


def _input_shape(entry: Any) -> tuple[str, Shape]:
    config = entry.get("config") if isinstance(entry, dict) else None
    if not isinstance(config, dict) or entry.get("class_name") != "InputLayer":
        raise NotForThisReader("no InputLayer first")
    shape = config.get("batch_shape", config.get("batch_input_shape"))
    if (not isinstance(shape, list) or len(shape) < 2 or shape[0] is not None
            or any(not isinstance(d, int) or isinstance(d, bool) or d < 1 for d in shape[1:])):
        raise NotForThisReader(f"input shape {str(shape)[:60]}")
    if config.get("dtype", "float32") != "float32" or config.get("sparse") or config.get(
            "ragged") or config.get("optional"):
        raise NotForThisReader("input dtype, sparse, ragged or optional")
    return str(config.get("name")), tuple(shape[1:])


def _weights_file(archive: zipfile.ZipFile, where: str) -> Any:
    import h5py

    names = set(archive.namelist())
    if "model.weights.h5" not in names or names - {"config.json", "metadata.json",
                                                   "model.weights.h5"}:
        raise NotForThisReader(f"archive members {sorted(names)[:6]}")
    if archive.getinfo("model.weights.h5").file_size > MAX_BYTES:
        raise NotForThisReader("weights over 256 MiB")
    data = checks.read_member(archive, "model.weights.h5", where, limit=MAX_BYTES)
    return h5py.File(io.BytesIO(data), "r")


def read_saved(path: Path, config: dict[str, Any]) -> tuple[Any, str, tuple[str, ...]]:
    """The graph of a checked ``.keras`` file (``config`` as :mod:`symnet.io.keras` read it),
    the model's name and its layers' names (``model.layers``); :class:`NotForThisReader` when
    Keras must read it."""
    from .keras import KerasGraph, KerasNode

    kind = config.get("class_name")
    if kind not in ("Sequential", "Functional") or config.get("module") not in (
            None, "keras", "keras.models", "keras.src.models.functional"):
        raise NotForThisReader(f"a {kind} model")
    inner = config.get("config") or {}
    entries = inner.get("layers") or []
    if not _float32(inner.get("dtype")) or not isinstance(inner.get("name"), str):
        raise NotForThisReader("the model's dtype or name")
    known = ({"name", "trainable", "dtype", "layers", "build_input_shape"} if kind == "Sequential"
             else {"name", "trainable", "dtype", "layers", "input_layers", "output_layers"})
    if set(inner) - known:
        raise NotForThisReader(f"model options {sorted(inner)}")
    input_name, shape = _input_shape(entries[0] if entries else None)
    if kind == "Functional":
        _check_chain(inner, entries)
    where = str(path)
    with zipfile.ZipFile(path) as archive:
        metadata = json.loads(checks.read_member(archive, "metadata.json", where,
                                                 limit=64 * 1024))
        version = str(metadata.get("keras_version", "")) if isinstance(metadata, dict) else ""
        if not re.fullmatch(r"3\.\d+\.\d+.*", version):
            raise NotForThisReader(f"written by Keras {version or '(unknown)'}")
        with _weights_file(archive, where) as weights:
            layers = _layers(entries[1:], shape, weights, inner.get("trainable", True),
                             input_name if kind == "Functional" else None)
    start = SavedLayer("InputLayer", dict(entries[0]["config"]))
    nodes = [KerasNode(start, input_name, (f"{input_name}:0:0",), (f"{input_name}:0:0",),
                       (shape,), (shape,))]
    for layer, in_shape, out_shape in layers:
        key = nodes[-1].output
        nodes.append(KerasNode(layer, layer.name, (key,), (f"{layer.name}:0:0",),
                               (in_shape,), (out_shape,), ("0",)))
    names = [n.name for n in nodes]
    if len(set(names)) != len(names):
        raise NotForThisReader("two layers of one name")
    # Keras' model.layers: a Sequential's leaves its InputLayer out, a functional model's not.
    listed = nodes[1:] if kind == "Sequential" else nodes
    return (KerasGraph(tuple(nodes), (nodes[0].output,), (nodes[-1].output,), (shape,),
                       (nodes[-1].output_shape,), tuple((n.name, n.layer) for n in listed)),
            str(inner["name"]), tuple(n.name for n in listed))


def _history(value: Any) -> Any:
    """``[name, 0, 0]`` from ``[name, 0, 0]`` or ``[[name, 0, 0]]`` (one tensor)."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        value = value[0]
    return value


def _check_chain(inner: dict[str, Any], entries: list[Any]) -> None:
    """A functional model this reader takes is a chain: each layer called once, on the output
    of the layer before it, with no other argument; one input, one output."""
    names = [e.get("name") if isinstance(e, dict) else None for e in entries]
    if any(not isinstance(e, dict) or e.get("name") != (e.get("config") or {}).get("name")
           for e in entries):
        raise NotForThisReader("layer names")
    if entries[0].get("inbound_nodes") not in ([], None):
        raise NotForThisReader("an InputLayer called on something")
    for before, entry in zip(names, entries[1:]):
        nodes = entry.get("inbound_nodes")
        if not isinstance(nodes, list) or len(nodes) != 1 or not isinstance(nodes[0], dict):
            raise NotForThisReader(f"layer {str(entry.get('name'))[:60]!r} called "
                                   f"{len(nodes) if isinstance(nodes, list) else '?'} times")
        args, kwargs = nodes[0].get("args"), nodes[0].get("kwargs", {})
        if set(nodes[0]) - {"args", "kwargs"} or not isinstance(args, list) or len(args) != 1 \
                or not isinstance(kwargs, dict) or any(v is not None for v in kwargs.values()):
            raise NotForThisReader(f"the call of layer {str(entry.get('name'))[:60]!r}")
        tensor = args[0]
        history = (tensor.get("config") or {}).get("keras_history") if isinstance(
            tensor, dict) and tensor.get("class_name") == "__keras_tensor__" else None
        if history != [before, 0, 0]:
            raise NotForThisReader(f"layer {str(entry.get('name'))[:60]!r} is not called on "
                                   f"the layer before it")
    if _history(inner.get("input_layers")) != [names[0], 0, 0] or _history(
            inner.get("output_layers")) != [names[-1], 0, 0]:
        raise NotForThisReader("the model's inputs or outputs")


def _layers(entries: list[Any], shape: Shape, weights: Any, model_trainable: Any,
            input_name: str | None) -> list[tuple[SavedLayer, Shape, Shape]]:
    """Each layer with its variables, input and output shapes; the weights file must hold
    exactly the variables the configs imply (a functional model's ``input_layer`` none)."""
    if not entries:
        raise NotForThisReader("no layers")
    top = set(weights.keys())
    if top - {"layers", "vars", "optimizer"} or len(weights.get("vars", {})):
        raise NotForThisReader(f"weights file groups {sorted(top)}")
    groups = weights.get("layers", {})
    seen: dict[str, int] = {}
    out = []
    unread = set(groups.keys())
    if input_name is not None and "input_layer" in groups:
        stored = groups["input_layer"]
        if set(stored.keys()) != {"vars"} or len(stored["vars"]) or stored["vars"].attrs.get(
                "name", input_name) != input_name:
            raise NotForThisReader("weights group 'input_layer'")
        unread.discard("input_layer")
    for entry in entries:
        kind = entry.get("class_name") if isinstance(entry, dict) else None
        config = entry.get("config") if isinstance(entry, dict) else None
        if kind not in LAYERS or not isinstance(config, dict) or entry.get("module") not in (
                None, "keras.layers") or entry.get("registered_name") not in (None, kind):
            raise NotForThisReader(f"layer class {str(kind)[:60]}")
        _check_options(kind, config)
        group = snake_case(kind)
        if group in seen:  # Keras' _get_unique_name
            seen[group] += 1
            group = f"{group}_{seen[group]}"
        else:
            seen[group] = 0
        spec = LAYERS[kind]
        expected = spec.weights(config, shape)
        stored = groups.get(group)
        unread.discard(group)
        variables = stored.get("vars") if stored is not None else None
        if stored is not None and (set(stored.keys()) != {"vars"} or variables is None):
            raise NotForThisReader(f"weights group {group!r}")
        if variables is not None and variables.attrs.get("name", config["name"]) != config["name"]:
            raise NotForThisReader(f"weights group {group!r} names another layer")
        count = len(variables) if variables is not None else 0
        if count != len(expected) or (variables is not None and set(variables.keys()) != {
                str(i) for i in range(count)}):
            raise NotForThisReader(f"{config['name']}: {count} variables stored, "
                                   f"{len(expected)} expected")
        trainable = bool(config.get("trainable", True)) and model_trainable is not False
        values = []
        for i, (name, want, learned) in enumerate(expected):
            dataset = variables[str(i)]
            if tuple(dataset.shape) != want or dataset.dtype != np.float32:
                raise NotForThisReader(f"{config['name']}/{name}: {dataset.shape} "
                                       f"{dataset.dtype}, expected {want} float32")
            values.append(SavedVariable(name, np.array(dataset[()]),
                                        learned and trainable))
        out_shape = tuple(spec.output(config, shape))
        out.append((SavedLayer(kind, dict(config), tuple(values)), shape, out_shape))
        shape = out_shape
    if unread:
        raise NotForThisReader(f"weights groups of no layer {sorted(unread)[:4]}")
    return out
