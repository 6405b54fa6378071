"""Reading legacy HDF5 model files (``.h5``, Keras 2.x and Keras 3's ``save("m.h5")``)
without Keras.

Such a file holds the model's config as JSON in the ``model_config`` attribute and its weights
under ``model_weights``: one group per layer (the ``layer_names`` attribute lists them), whose
``weight_names`` attribute lists its variables as paths inside the group
(``dense/kernel:0``). Keras 3 reads them by position: the k-th layer with weights in the file
gives the k-th layer with weights of the model its variables, in the order ``weight_names``
gives, as the layer's trainable then non-trainable variables. This reader takes the same
variables in the same order, and also requires every name to agree (a layer group of another
name, a variable named for another layer or weight, is refused, not matched by position).

The graph is read as :mod:`symnet.io.saved` reads a ``.keras`` file's (Keras 2's list form
of a functional model's calls included), the layers' records made by their converters'
declarations. A nested model's variables are in its group, listed by one ``weight_names``
(its trainable variables first, as Keras 3 assigns them by position), each path naming its
layer. A Sequential model whose first layer states ``batch_input_shape`` (Keras 2's
files without an InputLayer) is read on that shape, as symnet reads it with Keras. Anything
else is refused by name (:class:`~symnet.io.saved.NotForThisReader`).
"""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np

from ..layers.record import LayerRecord, Weight
from ..layers.spec import Part
from . import saved_ops
from .saved import (
    MAX_BYTES,
    MODEL_CLASSES,
    Layer,
    NotForThisReader,
    _array,
    _check_options,
    _member,
    _weight_names,
    model_graph,
    model_parts,
    nested_model,
    part_names,
    wrapped_layers,
)

__all__ = ["read_legacy"]

#: Keys of a legacy layer config that Keras 3 turns into an InputLayer (not layer options).
_INPUT_KEYS = ("batch_input_shape", "batch_size")
_FILE_ATTRIBUTES = {"keras_version", "backend", "model_config", "training_config"}


def _text(value: Any) -> str:
    """An HDF5 attribute that must be text (never an object h5py would have to rebuild)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    raise NotForThisReader(f"an attribute of type {type(value).__name__}")


def _names(group: Any, key: str) -> list[str]:
    """A list-of-names attribute (``layer_names``, ``weight_names``): strings only."""
    if key not in group.attrs:
        raise NotForThisReader(f"no {key}")
    raw = group.attrs[key]
    if isinstance(raw, np.ndarray):
        if raw.size == 0:
            return []
        if raw.dtype.kind not in "OSU" or raw.ndim != 1:
            raise NotForThisReader(f"{key} of dtype {raw.dtype}")
        return [_text(v) for v in raw.tolist()]
    raise NotForThisReader(f"{key} of type {type(raw).__name__}")


def _checked_attributes(handle: Any) -> str:
    """The file's attributes are the ones Keras writes, all text; the Keras version."""
    extra = set(handle.attrs) - _FILE_ATTRIBUTES
    if extra:
        raise NotForThisReader(f"file attributes {sorted(extra)[:4]}")
    for key in handle.attrs:
        _text(handle.attrs[key])
    version = _text(handle.attrs.get("keras_version", b""))
    if not re.fullmatch(r"[23]\.\d+\.\d+.*", version):
        raise NotForThisReader(f"written by Keras {version or '(unknown)'}")
    return version


def read_legacy(data: bytes, config: dict[str, Any], where: str
                ) -> tuple[Any, str, tuple[str, ...]]:
    """The graph of a legacy HDF5 model file's bytes whose config :mod:`symnet.io.keras` has
    checked (``config``), its name and ``model.layers``' names."""
    import io
    import json

    import h5py

    if len(data) > MAX_BYTES:
        raise NotForThisReader("a file over 256 MiB")
    kind, inner, entries = model_parts(config)
    with h5py.File(io.BytesIO(data), "r") as handle:
        _checked_attributes(handle)
        if json.loads(_text(handle.attrs["model_config"])) != config:
            raise NotForThisReader("the file changed while it was read")
        if set(handle.keys()) - {"model_weights", "optimizer_weights"}:
            raise NotForThisReader(f"file groups {sorted(handle.keys())[:4]}")
        weights = _member(handle, "model_weights", h5py.Group)

        def records(layers: list[dict[str, Any]], inputs: list[str] | None) -> list[Layer]:
            return _records(layers, weights, inputs or [])

        declared = None
        if kind == "Sequential" and entries[0].get("class_name") != "InputLayer":
            shape = entries[0]["config"].get("batch_input_shape")
            if (not isinstance(shape, list) or len(shape) < 2 or shape[0] is not None
                    or any(not isinstance(d, int) or isinstance(d, bool) or d < 1
                           for d in shape[1:])):
                raise NotForThisReader(f"input shape {str(shape)[:60]}")
            declared = ("input", tuple(shape[1:]))
        graph = model_graph(kind, inner, entries, records, declared)
    return graph, str(inner["name"]), graph.names


def _records(entries: list[dict[str, Any]], weights: Any, inputs: list[str]
             ) -> list[Layer]:
    """Each layer's record with its variables; the file's layers with variables must be the
    model's, in order and by name."""
    import h5py

    listed = _names(weights, "layer_names")
    if set(weights.attrs) - {"layer_names", "backend", "keras_version"}:
        raise NotForThisReader(f"model_weights attributes {sorted(weights.attrs)[:4]}")
    for key in weights.attrs:
        if key != "layer_names":
            _text(weights.attrs[key])
    names = [str(e["config"].get("name")) for e in entries] + list(inputs)
    stored = {}
    for name in listed:
        group = _member(weights, name, h5py.Group)
        if set(group.attrs) != {"weight_names"}:
            raise NotForThisReader(f"weights group {name[:60]!r} attributes")
        stored[name] = _names(group, "weight_names")
    holding = [n for n in listed if stored[n]]
    if set(listed) - set(names) - {"top_level_model_weights"} or stored.get(
            "top_level_model_weights"):
        raise NotForThisReader(f"weights of layers not in the model: "
                               f"{sorted(set(listed) - set(names))[:4]}")
    out = _layers(entries, {name: (weights[name], paths) for name, paths in stored.items()
                            if paths})
    with_weights = [r.name for r in out if r.weights]
    if with_weights != holding:
        raise NotForThisReader(f"the file's layers with weights {holding[:4]} are not the "
                               f"model's {with_weights[:4]}")
    return out


def _layers(entries: list[dict[str, Any]], stored: dict[str, tuple[Any, list[str]]],
            nested: bool = False) -> list[Layer]:
    """Each layer's record, its variables at the paths ``stored`` gives for its name, inside
    the group it gives; a model used as a layer read from its own group (``nested``: this is
    such a model's, which holds no other)."""
    out: list[Layer] = []
    for entry in entries:
        if saved_ops.is_entry(entry):  # an operation (x + y) whose module is stated: no weights
            out.append(saved_ops.record(entry))
            continue
        kind, config = entry.get("class_name"), dict(entry["config"])
        if kind in MODEL_CLASSES:
            name = str(config.get("name"))
            if nested:
                raise NotForThisReader(f"model {name[:60]!r} inside a model used as a layer")
            group, paths = stored.get(name, (None, []))
            out.append(nested_model(entry, functools.partial(_inner_records, name, group, paths)))
            continue
        for key in _INPUT_KEYS:
            config.pop(key, None)
        axis = config.get("axis")
        if isinstance(axis, list):  # as Keras 3's legacy reader takes it (saving_utils)
            if len(axis) != 1:
                raise NotForThisReader(f"{kind} axis {str(axis)[:40]}: Keras 3 drops an axis "
                                       "list from a legacy file and reads another layer")
            config["axis"] = axis[0]
        if entry.get("module") not in (None, "keras.layers") or entry.get(
                "registered_name") not in (None, kind):
            raise NotForThisReader(f"layer class {str(kind)[:60]}")
        declared = _check_options(str(kind), config)
        name = str(config["name"])
        group, paths = stored.get(name, (None, []))
        if declared.wraps is not None:
            out.append(_wrapper(str(kind), config, group, paths))
            continue
        expected = _weight_names(declared, config, len(paths))
        values = _values(group, name, paths, expected, (name, f"{name}_cell"))
        out.append(LayerRecord(str(kind), config, tuple(values)))
    return out


def _inner_records(model: str, group: Any, paths: list[str], entries: list[dict[str, Any]],
                   _inputs: list[str] | None) -> list[Layer]:
    """The records of a model used as a layer, from its group: ``weight_names`` lists its
    layers' variables (``dense_46/kernel:0``, or under the model's name as Keras 3 names a
    Sequential's: ``g/dense/kernel``) in the order Keras assigns them, the model's trainable
    ones, then the others, each in its layers' order; read by name, and the order checked to
    be Keras'."""
    names = [str(e["config"].get("name")) for e in entries]
    mine: dict[str, list[str]] = {}
    for path in paths:
        parts = path.split("/")
        owner = parts[1] if len(parts) > 2 and parts[0] == model and parts[1] in names else (
            parts[0])
        if owner not in names or len(parts) < 2:
            raise NotForThisReader(f"variable {path[:80]!r} of no layer of the model")
        mine.setdefault(owner, []).append(path)
    out = _layers(entries, {name: (group, found) for name, found in mine.items()}, nested=True)
    path_of = {id(w): p for r in out for w, p in zip(r.weights, mine.get(r.name, []))}
    weights = [w for r in out for w in r.weights]
    keras = [w for w in weights if w.trainable] + [w for w in weights if not w.trainable]
    if [path_of.get(id(w)) for w in keras] != paths:
        raise NotForThisReader(f"the variables {paths[:3]} are not in the order Keras assigns "
                               "them (trainable first)")
    return out


def _values(group: Any, name: str, paths: list[str],
            expected: list[tuple[str, bool, str, str | None]], owners: tuple[str, ...]
            ) -> list[Weight]:
    """A layer's variables at ``paths`` in its group, named as its converter expects them;
    each path's last group names the layer (one of ``owners``) or a cell."""
    import h5py

    values = []
    for path, (weight, trainable, dtype, keras2) in zip(paths, expected):
        parts = path.split("/")
        if parts[-1].split(":")[0] not in (weight, keras2) or (len(parts) > 1
                                                              and parts[-2] not in owners
                                                 and not parts[-2].endswith("cell")):
            raise NotForThisReader(f"{name[:60]}: variable {path[:80]!r}, expected "
                                   f"{weight!r}")
        node = group
        for part in parts[:-1]:
            node = _member(node, part, h5py.Group)
            if len(node.attrs):
                raise NotForThisReader(f"{name[:60]}: attributes on {part[:60]!r}")
        dataset = _member(node, parts[-1], h5py.Dataset)
        values.append(Weight(weight, _array(dataset, f"{name}/{weight}", dtype), trainable))
    return values


def _wrapper(kind: str, config: dict[str, Any], group: Any, paths: list[str]) -> LayerRecord:
    """A wrapper's record: its ``weight_names`` are its layers' variables one layer after the
    other, as many for each as its converter declares; each path names the wrapped layer
    (``bidirectional/forward_lstm/lstm_cell/kernel``) or, a single one's, the wrapper."""
    layers = wrapped_layers(kind, config)
    children = []
    start = 0
    for role, inner_kind, inner, inner_declared in layers:
        part = isinstance(inner_declared, Part)
        if part and not role:  # a part of no weights (a MultiHeadAttention's softmax)
            continue
        count = len(inner_declared.weights) if part else len(
            _declared_names(inner_declared, inner))
        mine = paths[start:start + count]
        start += count
        inner_name = str(inner["name"])
        if any(inner_name not in path.split("/")[:-1] and not (
                len(layers) == 1 and config["name"] in path.split("/")[:-1]) for path in mine):
            raise NotForThisReader(f"{config['name']!r}: variables {mine[:3]} are not its "
                                   f"{role} {inner_name!r}'s")
        expected = (part_names(inner_declared, config, len(mine)) if part
                    else _weight_names(inner_declared, inner, len(mine)))
        values = _values(group, f"{config['name']}/{inner_name}", mine, expected,
                         (inner_name, f"{inner_name}_cell", str(config["name"])))
        children.append((role, LayerRecord(inner_kind, dict(inner), tuple(values))))
    if start != len(paths):
        raise NotForThisReader(f"{config['name']!r}: {len(paths)} variables stored, {start} "
                               "expected")
    return LayerRecord(kind, config, tuple(w for _, c in children for w in c.weights),
                       tuple(children))


def _declared_names(declared: Any, config: dict[str, Any]) -> list[Any]:
    """The weights a layer's converter declares for its config (their number depends on the
    config only): on the first stand-in input of a rank it takes."""
    for rank in range(1, 6):
        try:
            return list(declared.weights(config, [(1,) * rank]))
        except (ValueError, TypeError, KeyError, IndexError):
            continue
    raise NotForThisReader(f"{config.get('name')}: no input it takes")
