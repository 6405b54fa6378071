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
Check = Callable[[Any], bool]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
        value)


def _at_least_0(value: Any) -> bool:
    return _number(value) and value >= 0


def _rate(value: Any) -> bool:
    return _number(value) and 0 <= value <= 1


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def _activation(value: Any) -> bool:
    try:
        activation_name(value)
    except NotForThisReader:
        return False
    return value is not None


@dataclass(frozen=True)
class _Layer:
    options: dict[str, Check]
    """The options this reader reads (besides name, trainable, dtype and the training-only
    ones): each must be in the config and pass its check (Keras' own checks, or stricter),
    else Keras reads the file (and applies its defaults, or refuses)."""
    weights: Weights = lambda config, shape: []
    """(name, shape, trainable) of each variable, in the order Keras makes and saves them."""
    output: Callable[[dict[str, Any], Shape], Shape] = lambda config, shape: shape


def _axis_length(config: dict[str, Any], shape: Shape) -> int:
    axis = config["axis"]
    if not -len(shape) <= axis <= len(shape) or axis == 0:
        raise NotForThisReader(f"axis {axis!r}")
    return shape[axis - 1] if axis > 0 else shape[axis]


def _dense_weights(config: dict[str, Any], shape: Shape) -> list[tuple[str, Shape, bool]]:
    units = config["units"]
    out = [("kernel", (shape[-1], units), True)]
    return out + [("bias", (units,), True)] if config["use_bias"] else out


def _bn_weights(config: dict[str, Any], shape: Shape) -> list[tuple[str, Shape, bool]]:
    n = (_axis_length(config, shape),)
    out = [(name, n, True) for option, name in (("scale", "gamma"), ("center", "beta"))
           if config[option]]
    return out + [("moving_mean", n, False), ("moving_variance", n, False)]


def _axes(value: Any) -> bool:
    return _integer(value) or (isinstance(value, list) and len(value) > 0
                               and all(_integer(a) for a in value))


#: The layers this reader knows, by Keras class name.
LAYERS: dict[str, _Layer] = {
    "Dense": _Layer({"units": lambda v: _integer(v) and v >= 1, "activation": _activation,
                     "use_bias": _flag}, _dense_weights,
                    lambda c, s: (*s[:-1], int(c["units"]))),
    "BatchNormalization": _Layer({"axis": _integer, "epsilon": lambda v: _number(v) and v > 0,
                                  "center": _flag, "scale": _flag}, _bn_weights),
    "Activation": _Layer({"activation": _activation}),
    "ReLU": _Layer({"max_value": lambda v: v is None or _at_least_0(v),
                    "negative_slope": _at_least_0, "threshold": _at_least_0}),
    "LeakyReLU": _Layer({"negative_slope": _at_least_0}),
    "ELU": _Layer({"alpha": _number}),
    "Softmax": _Layer({"axis": _axes}),
    "Dropout": _Layer({"rate": _rate}),
    "AlphaDropout": _Layer({"rate": _rate}),
    "GaussianDropout": _Layer({"rate": _rate}),
    "GaussianNoise": _Layer({"stddev": _number}),
    "ActivityRegularization": _Layer({"l1": _number, "l2": _number}),
    "Flatten": _Layer({"data_format": lambda v: v == "channels_last"},
                      output=lambda c, s: (math.prod(s),)),
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
        elif key not in spec.options.keys() | _COMMON | _TRAINING_ONLY:
            raise NotForThisReader(f"{kind} option {key!r}")
    for key, valid in spec.options.items():
        if key not in config or not valid(config[key]):
            raise NotForThisReader(f"{kind} option {key}={str(config.get(key, '(none)'))[:40]}")
    if not _float32(config.get("dtype")):
        raise NotForThisReader(f"{kind} dtype {str(config.get('dtype'))[:60]}")
    if not isinstance(config.get("name"), str) or not isinstance(config.get("trainable", True),
                                                                 bool):
        raise NotForThisReader(f"{kind} name or trainable")


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


def read_saved(data: bytes, config: dict[str, Any], where: str
               ) -> tuple[Any, str, tuple[str, ...]]:
    """The graph of a ``.keras`` file's bytes whose config :mod:`symnet.io.keras` has checked
    (``config``), the model's name and its layers' names (``model.layers``);
    :class:`NotForThisReader` when Keras must read it."""
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
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if checks.parse_config(checks.read_member(archive, "config.json", where).decode(
                "utf-8"), where) != config:
            raise NotForThisReader("the file changed while it was read")
        metadata = json.loads(checks.read_member(archive, "metadata.json", where,
                                                 limit=64 * 1024))
        version = str(metadata.get("keras_version", "")) if isinstance(metadata, dict) else ""
        if not re.fullmatch(r"3\.\d+\.\d+.*", version):
            raise NotForThisReader(f"written by Keras {version or '(unknown)'}")
        with _weights_file(archive, where) as weights:
            layers = _layers(entries[1:], shape, weights,
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


def _member(group: Any, name: str, kind: type) -> Any:
    """A member of a weights file's group, reached by a hard link and of the kind expected
    (Keras' ``safe_get_h5_group`` / ``safe_get_h5_dataset`` refuse soft and external links)."""
    import h5py

    link = group.get(name, getlink=True)
    if not isinstance(link, h5py.HardLink):
        raise NotForThisReader(f"weights file member {name!r}: {type(link).__name__}")
    member = group[name]
    if not isinstance(member, kind):
        raise NotForThisReader(f"weights file member {name!r}: {type(member).__name__}")
    return member


def _array(dataset: Any, shape: Shape, where: str) -> np.ndarray:
    """A variable's values: a plain float32 dataset stored in the file itself, uncompressed, of
    the shape the config implies (no external, virtual or compressed data, no attributes)."""
    if (tuple(dataset.shape) != shape or dataset.dtype != np.dtype("<f4")
            or dataset.external or dataset.is_virtual or len(dataset.attrs)
            or dataset.compression is not None
            or dataset.id.get_storage_size() != dataset.nbytes):
        raise NotForThisReader(f"{where}: {dataset.shape} {dataset.dtype}, expected {shape} "
                               "float32 stored plainly")
    return np.array(dataset[()])


def _variables(groups: Any, group: str, layer: str) -> Any:
    """The ``vars`` group of one layer's weights group, or None when the file has none."""
    import h5py

    if group not in groups:
        return None
    stored = _member(groups, group, h5py.Group)
    if set(stored.keys()) != {"vars"} or len(stored.attrs):
        raise NotForThisReader(f"weights group {group!r}")
    variables = _member(stored, "vars", h5py.Group)
    if set(variables.attrs) - {"name"} or variables.attrs.get("name", layer) != layer:
        raise NotForThisReader(f"weights group {group!r} names another layer")
    return variables


def _layers(entries: list[Any], shape: Shape, weights: Any, input_name: str | None
            ) -> list[tuple[SavedLayer, Shape, Shape]]:
    """Each layer with its variables, input and output shapes; the weights file must hold
    exactly the variables the configs imply (a functional model's ``input_layer`` none)."""
    import h5py

    if not entries:
        raise NotForThisReader("no layers")
    top = set(weights.keys())
    if top - {"layers", "vars", "optimizer"} or len(_member(weights, "vars", h5py.Group)):
        raise NotForThisReader(f"weights file groups {sorted(top)}")
    groups = _member(weights, "layers", h5py.Group) if "layers" in top else {}
    seen: dict[str, int] = {}
    out = []
    unread = set(groups.keys())
    if input_name is not None and "input_layer" in groups:
        if len(_variables(groups, "input_layer", input_name)):
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
        variables = _variables(groups, group, config["name"])
        unread.discard(group)
        count = len(variables) if variables is not None else 0
        if count != len(expected) or (variables is not None and set(variables.keys()) != {
                str(i) for i in range(count)}):
            raise NotForThisReader(f"{config['name']}: {count} variables stored, "
                                   f"{len(expected)} expected")
        # As Keras reads it: the layer's own flag (a model's does not reach its layers).
        trainable = bool(config.get("trainable", True))
        values = tuple(
            SavedVariable(name, _array(_member(variables, str(i), h5py.Dataset), want,
                                       f"{config['name']}/{name}"), learned and trainable)
            for i, (name, want, learned) in enumerate(expected))
        out_shape = tuple(spec.output(config, shape))
        out.append((SavedLayer(kind, dict(config), values), shape, out_shape))
        shape = out_shape
    if unread:
        raise NotForThisReader(f"weights groups of no layer {sorted(unread)[:4]}")
    return out
