"""Reading Keras 3 ``.keras`` files without Keras (and so without TensorFlow).

A ``.keras`` file is a zip archive: ``config.json`` says what every layer is, its options and
how the layers are called (:mod:`symnet.io.keras` has already checked it and refused any
``Lambda`` or custom layer), ``model.weights.h5`` holds every layer's variables, numbered in
the order the layer made them, under ``layers/<class name in snake case>[_k]/vars`` (``_k``
counting the layers of one class). For a Sequential model, or a functional model (several
inputs and outputs, merges, shared layers) of layers whose converters declare what they read
of a file (:meth:`~symnet.layers.spec.LayerSpec.reading`: the weights they expect, the shapes
of their outputs, the keys a file must state), these two files are all symnet needs, and
reading them takes milliseconds where importing TensorFlow takes seconds. Each layer becomes
the :class:`~symnet.layers.record.LayerRecord` a live model's layer gives. A model used as a
layer (:class:`NestedModel`) is read from its own config and its group of the weights file
(``layers/sequential/layers/...``) and spliced into its caller's graph at each call, its
layers named by their path (``generator/dense``), as :func:`symnet.io.keras.read_graph` reads
a live one.
A functional graph's Keras operations (``x + y``, ``x * 2.0``, ``keras.ops.mean(x, axis=1)``:
entries of a ``keras.src.ops`` module) become the :class:`~symnet.io.keras.KerasOperation` a
live model's gives, made by :mod:`symnet.io.saved_ops` for every operation symnet converts
(another is refused by name, as below).

Anything this reader does not know exactly it refuses by name (:class:`NotForThisReader`):
another layer class, an option its converter has not declared or a key a file
must state and does not, a dtype policy other than float32, a variable count, shape, dtype or
name the config does not imply, a tensor whose saved shape or dtype is not what the layers
compute, a file written by Keras 2. ``tests/test_saved_reader.py`` compares what it gives
with Keras' reading, down to every weight's bits.
"""

from __future__ import annotations

import functools
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..layers.record import LayerRecord, Weight
from ..layers.spec import Part
from . import checks, saved_ops
from .keras import KerasOperation

__all__ = ["NotForThisReader", "read_saved", "snake_case"]


#: Weights files read into memory at most (a larger model gains little from skipping Keras).
MAX_BYTES = 256 * 1024**2


class NotForThisReader(Exception):
    """The file is not one this reader knows exactly (the message says what)."""


Shape = tuple[int, ...]

#: An input's dtypes: float32, or whole numbers (an Embedding's indices; any other layer reads
#: them as Keras does, as floats).
_INPUT_DTYPES = ("float32", "int32", "int64")


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


def _spec(kind: Any) -> Any:
    """The spec of a layer class whose converter declares what it reads of a file."""
    from ..layers import spec_of, supported_layers

    declared = spec_of(kind) if isinstance(kind, str) and kind in supported_layers() else None
    if declared is None or declared.weights is None:
        raise NotForThisReader(f"layer class {str(kind)[:60]}")
    return declared


def _check_options(kind: str, config: dict[str, Any]) -> Any:
    declared = _spec(kind)
    problems = declared.problems(config)
    if problems:
        raise NotForThisReader(f"{kind}: {problems[0][:160]}")
    from ..layers.spec import Serialized

    for key, domain in declared.config.items():
        if isinstance(domain, Serialized) and key in config and not domain.rebuildable(
                config[key]):
            raise NotForThisReader(f"{kind} option {key}={str(config[key])[:60]}: not an "
                                   "object Keras rebuilds")
    missing = [key for key in declared.required if key not in config]
    if missing:
        raise NotForThisReader(f"{kind} option {missing[0]} not stated (Keras would default it)")
    if not _float32(config.get("dtype")):
        raise NotForThisReader(f"{kind} dtype {str(config.get('dtype'))[:60]}")
    if not isinstance(config.get("name"), str) or not isinstance(config.get("trainable", True),
                                                                 bool):
        raise NotForThisReader(f"{kind} name or trainable")
    return declared


def _input_shape(entry: Any) -> tuple[str, Shape]:
    config = entry.get("config") if isinstance(entry, dict) else None
    if not isinstance(config, dict) or entry.get("class_name") != "InputLayer":
        raise NotForThisReader("no InputLayer first")
    # Keras' InputLayer lets a (Keras 2) batch_input_shape override batch_shape
    shape = config.get("batch_input_shape", config.get("batch_shape"))
    if (not isinstance(shape, list) or len(shape) < 2 or shape[0] is not None
            or any(not isinstance(d, int) or isinstance(d, bool) or d < 1 for d in shape[1:])):
        raise NotForThisReader(f"input shape {str(shape)[:60]}")
    if config.get("dtype", "float32") not in _INPUT_DTYPES or config.get("sparse") or config.get(
            "ragged") or config.get("optional"):
        raise NotForThisReader("input dtype, sparse, ragged or optional")
    if set(config) - {"name", "batch_shape", "batch_input_shape", "dtype", "sparse", "ragged",
                      "optional"} or not isinstance(config.get("name"), str):
        raise NotForThisReader(f"InputLayer options {sorted(config)[:8]}")
    return str(config["name"]), tuple(shape[1:])


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


#: The classes of a model (the file's, or one used as a layer in it).
MODEL_CLASSES = ("Sequential", "Functional", "Model")
_MODEL_MODULES = (None, "keras", "keras.models", "keras.src.models.functional",
                  "keras.src.models.sequential")


def model_parts(config: dict[str, Any], kinds: tuple[str, ...] = MODEL_CLASSES
                ) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """A model's class, options and layer entries, checked to be a Sequential or functional
    model of float32 whose options this reader knows (the file's model, or a model used as a
    layer in it)."""
    kind = config.get("class_name")
    if kind not in kinds or config.get("module") not in _MODEL_MODULES or config.get(
            "registered_name") not in (None, kind):
        raise NotForThisReader(f"a {str(kind)[:60]} model")
    inner = config.get("config")
    entries = inner.get("layers") if isinstance(inner, dict) else None
    if not isinstance(entries, list) or not entries or any(
            not isinstance(e, dict) or not isinstance(e.get("config"), dict) for e in entries):
        raise NotForThisReader(f"the layers of model {str(config.get('name'))[:60]!r}")
    assert isinstance(inner, dict)
    if not _float32(inner.get("dtype")) or not isinstance(inner.get("name"), str):
        raise NotForThisReader("the model's dtype or name")
    known = ({"name", "trainable", "dtype", "layers", "build_input_shape"} if kind == "Sequential"
             else {"name", "trainable", "dtype", "layers", "input_layers", "output_layers"})
    if set(inner) - known or not isinstance(inner.get("trainable", True), bool):
        raise NotForThisReader(f"model options {sorted(inner)[:8]}")
    return str(kind), inner, entries


def read_saved(data: bytes, config: dict[str, Any], where: str
               ) -> tuple[Any, str, tuple[str, ...]]:
    """The graph of a ``.keras`` file's bytes whose config :mod:`symnet.io.keras` has checked
    (``config``), the model's name and its layers' names (``model.layers``);
    :class:`NotForThisReader` saying why when this reader does not know it exactly."""
    kind, inner, entries = model_parts(config, ("Sequential", "Functional"))
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
            def records(layers: list[dict[str, Any]], inputs: list[str] | None
                        ) -> list[Layer]:
                return _records(layers, weights, inputs)

            graph = model_graph(kind, inner, entries, records)
    return graph, str(inner["name"]), graph.names


def model_graph(kind: str, inner: dict[str, Any], entries: list[dict[str, Any]],
                make: Records, declared: tuple[str, Shape] | None = None) -> Any:
    """A Sequential or functional model's graph (:func:`model_parts` gives its parts)."""
    return (_sequential(entries, make, declared) if kind == "Sequential"
            else _functional(inner, entries, make))


@dataclass(frozen=True, eq=False)
class NestedModel:
    """A model used as a layer: its graph, read from its own config and weights, is spliced
    into its caller's at each call, as :func:`symnet.io.keras.read_graph` reads it."""

    kind: str
    config: dict[str, Any] = field(repr=False)
    graph: Any = field(repr=False)

    @property
    def name(self) -> str:
        return str(self.config["name"])

    @property
    def weights(self) -> tuple[Weight, ...]:
        """Its layers' variables, in ``model.weights``' order."""
        seen: set[int] = set()
        out: list[Weight] = []
        for _, record in self.graph.layers:
            for w in record.weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return tuple(out)


def nested_model(entry: dict[str, Any], make: Records) -> NestedModel:
    """A model entry of a model's layers: its graph, its layers' records made by ``make``
    from its weights. A model frozen whose layers are not (Keras then trains none of them,
    though their variables say trainable) is left to Keras."""
    kind, inner, entries = model_parts(entry)
    compiled = entry.get("compile_config")
    if set(entry) - {"module", "class_name", "config", "registered_name", "build_config",
                     "compile_config", "inbound_nodes", "name"} or not (
            compiled is None or (isinstance(compiled, dict) and not set(compiled) - _COMPILE)):
        raise NotForThisReader(f"model {str(inner['name'])[:60]!r} entry keys "
                               f"{sorted(entry)[:8]} or its compile_config")
    nested = NestedModel(kind, inner, model_graph(kind, inner, entries, make))
    if not inner.get("trainable", True) and any(w.trainable for w in nested.weights):
        raise NotForThisReader(f"model {nested.name[:60]!r} is frozen and its layers are not")
    return nested


Layer = LayerRecord | NestedModel | KerasOperation

#: A nested model's compile_config: Keras compiles it as it loads it (the network is the same
#: whatever it says; its objects are Keras' own, :func:`symnet.io.keras.scan_objects` sees
#: to that); keys compile() does not take, Keras would refuse.
_COMPILE = {"optimizer", "loss", "loss_weights", "metrics", "weighted_metrics", "run_eagerly",
            "steps_per_execution", "jit_compile", "auto_scale_loss"}


Records = Callable[[list[dict[str, Any]], "list[str] | None"], "list[Layer]"]


def _sequential(entries: list[dict[str, Any]], make: Records,
                declared: tuple[str, Shape] | None = None) -> Any:
    """A Sequential model's graph; ``declared``: the input (name, shape) a legacy file states
    on its first layer instead of an InputLayer (read as symnet reads it with Keras: a
    functional model whose layers list that input first)."""
    from .keras import KerasGraph, KerasNode

    if declared is None:
        input_name, shape = _input_shape(entries[0] if entries else None)
        start_config = dict(entries[0]["config"])
        entries = entries[1:]
    else:
        (input_name, shape), start_config = declared, {"name": declared[0]}
    if not entries:
        raise NotForThisReader("no layers")
    records = make(entries, None)
    start = LayerRecord("InputLayer", start_config)
    key = f"{input_name}:0:0"
    nodes = [KerasNode(start, input_name, (key,), (key,), (shape,), (shape,))]
    # Keras' model.layers: a Sequential's leaves its InputLayer out.
    listed: list[tuple[str, Any]] = [(input_name, start)] if declared is not None else []
    names = [name for name, _ in listed]
    for record in records:
        names.append(record.name)
        if isinstance(record, NestedModel):
            inner, outputs, shapes = _splice(record, record.name, f"{record.name}#0/", [key],
                                             [shape])
            if len(outputs) != 1:
                raise NotForThisReader(f"model {record.name[:60]!r} in a Sequential gives "
                                       f"{len(outputs)} outputs")
            nodes.extend(inner)
            listed.extend(_nested_layers(record))
            key, shape = outputs[0], shapes[0]
            continue
        if not isinstance(record, LayerRecord):  # an operation: a functional graph's only
            raise NotForThisReader(f"operation {record.name[:60]!r} in a Sequential model")
        layer_spec = _spec(record.kind)
        out = _output_shapes(layer_spec, record, [shape])
        nodes.append(KerasNode(record, record.name, (key,), (f"{record.name}:0:0",),
                               (shape,), tuple(out), ("0",)))
        listed.append((record.name, record))
        _check_weights(layer_spec, record, [shape])
        key, shape = nodes[-1].output, out[0]
    if len({input_name, *(r.name for r in records)}) != len(records) + 1:
        raise NotForThisReader("two layers of one name")
    return KerasGraph(tuple(nodes), (nodes[0].output,), (key,), (nodes[0].output_shape,),
                      (shape,), tuple(listed), tuple(names))


def _splice(nested: NestedModel, where: str, prefix: str, arguments: list[str],
            shapes: list[Shape]) -> tuple[list[Any], list[str], list[Shape]]:
    """A model used as a layer, at one call: its layers' calls named by their path
    (``where/dense``), its tensors keyed under ``prefix``, its inputs the call's tensors
    (``arguments``, of ``shapes``); and the keys and shapes of its outputs."""
    from .keras import KerasNode

    graph = nested.graph
    if len(arguments) != len(graph.inputs) or [tuple(s) for s in shapes] != list(
            graph.input_shapes):
        raise NotForThisReader(f"model {where[:60]!r} called on {len(arguments)} tensors of "
                               f"shapes {shapes}, its inputs are {list(graph.input_shapes)}")
    mapping = dict(zip(graph.inputs, arguments))

    def key(k: str) -> str:
        return mapping.get(k, prefix + k)

    nodes = [KerasNode(saved_ops.at_call(node.layer, f"{where}/{node.name}"),
                       f"{where}/{node.name}", tuple(key(k) for k in node.inputs),
                       tuple(key(k) for k in node.outputs), node.input_shapes,
                       node.output_shapes, node.roles, node.options)
             for node in graph.nodes if not (isinstance(node.layer, LayerRecord)
                                             and node.layer.kind == "InputLayer")]
    return nodes, [key(k) for k in graph.outputs], list(graph.output_shapes)


def _nested_layers(nested: NestedModel) -> list[tuple[str, Any]]:
    """A nested model's layers in its caller's ``layers``: each named by its path."""
    return [(f"{nested.name}/{name}", layer) for name, layer in nested.graph.layers]


def _history(value: Any) -> Any:
    """``[name, 0, 0]`` from ``[name, 0, 0]`` or ``[[name, 0, 0]]`` (one tensor)."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        value = value[0]
    return value


def _tensors(value: Any) -> list[tuple[str, int, int]]:
    """The model's input or output tensors: ``[name, node, index]`` or a list of them."""
    value = _history(value)
    items = [value] if isinstance(value, list) and value and isinstance(value[0], str) else value
    if not isinstance(items, list) or not items:
        raise NotForThisReader("the model's inputs or outputs")
    out = []
    for item in items:
        if (not isinstance(item, list) or len(item) != 3 or not isinstance(item[0], str)
                or any(not isinstance(i, int) or isinstance(i, bool) or i < 0
                       for i in item[1:])):
            raise NotForThisReader(f"the model's input or output {str(item)[:60]}")
        out.append((item[0], item[1], item[2]))
    return out


def _call(entry: dict[str, Any], node: Any
          ) -> list[tuple[tuple[str, int, int], Shape | None]]:
    """The tensors a layer is called on, in order, with the shapes the file says they have:
    positional arguments only, each a tensor or a list of tensors (a merge's). A legacy
    (Keras 2) node is a list of ``[layer, node, tensor, kwargs]``, with no shapes."""
    name = str(entry.get("name"))[:60]
    if saved_ops.is_entry(entry):  # an operation (x * 2.0): tensors among constants
        return list(saved_ops.read_call(entry, node)[0])
    nested = entry.get("class_name") in MODEL_CLASSES
    if isinstance(node, list) and nested:
        raise NotForThisReader(f"model {name!r} used as a layer in a graph of Keras 2's form "
                               "(which counts a model's calls otherwise)")
    if isinstance(node, list):
        legacy: list[tuple[tuple[str, int, int], Shape | None]] = []
        for item in node:
            if (not isinstance(item, list) or len(item) not in (3, 4)
                    or not isinstance(item[0], str)
                    or any(not isinstance(i, int) or isinstance(i, bool) or i < 0
                           for i in item[1:3]) or (len(item) == 4 and item[3] not in ({}, None))):
                raise NotForThisReader(f"the call of layer {name!r}: {str(item)[:60]}")
            legacy.append(((item[0], item[1], item[2]), None))
        if not legacy:
            raise NotForThisReader(f"layer {name!r} called on nothing")
        return legacy
    if not isinstance(node, dict) or set(node) - {"args", "kwargs"}:
        raise NotForThisReader(f"the call of layer {name!r}")
    args, kwargs = node.get("args"), node.get("kwargs", {})
    flags: tuple[str, ...] = ("training", "use_causal_mask") if entry.get(
        "class_name") in _CAUSAL else ("training",)
    if nested and isinstance(kwargs, dict):  # Keras passes a model its inputs' masks
        flags, kwargs = (), {k: v for k, v in kwargs.items() if not inert_call_argument(k, v)}
    if not isinstance(args, list) or not isinstance(kwargs, dict) or any(
            v is not None and not (k in flags and isinstance(v, bool))
            for k, v in kwargs.items()):
        raise NotForThisReader(f"the call of layer {name!r}: arguments "
                               f"{sorted(kwargs)[:4] if isinstance(kwargs, dict) else '?'}")
    if len(args) != 1 and (entry.get("class_name") not in _SEVERAL_ARGUMENTS or not args
                           or any(isinstance(a, list) for a in args)):
        raise NotForThisReader(f"layer {name!r} called with {len(args)} arguments")
    items = args if len(args) > 1 else args[0] if isinstance(args[0], list) else [args[0]]
    out: list[tuple[tuple[str, int, int], Shape | None]] = []
    for tensor in items:
        config = tensor.get("config") if isinstance(tensor, dict) and tensor.get(
            "class_name") == "__keras_tensor__" else None
        if not isinstance(config, dict):
            raise NotForThisReader(f"layer {name!r} is called on something not a tensor")
        history, shape = config.get("keras_history"), config.get("shape")
        if (not isinstance(history, list) or len(history) != 3 or not isinstance(history[0], str)
                or any(not isinstance(i, int) or isinstance(i, bool) or i < 0
                       for i in history[1:])):
            raise NotForThisReader(f"layer {name!r} is called on something not a tensor")
        if (not isinstance(shape, list) or not shape or shape[0] is not None
                or any(not isinstance(d, int) or isinstance(d, bool) for d in shape[1:])
                or config.get("dtype", "float32") not in _INPUT_DTYPES
                or set(config) - {"shape", "dtype", "keras_history", "sparse", "ragged"}
                or config.get("sparse") or config.get("ragged")):
            raise NotForThisReader(f"layer {name!r} is called on a tensor of shape "
                                   f"{str(shape)[:40]}, dtype {str(config.get('dtype'))[:20]}")
        out.append(((history[0], history[1], history[2]), tuple(shape[1:])))
    return out


def inert_call_argument(key: str, value: Any) -> bool:
    """A model's call argument that changes nothing at inference: no masks, not training."""
    if key == "mask":
        return value is None or (isinstance(value, list) and all(m is None for m in value))
    return key == "training" and value in (None, False)


#: Layers called on several tensors as positional arguments (``mha(query, value, key)``):
#: each is passed to the converter by its position.
_SEVERAL_ARGUMENTS = ("MultiHeadAttention",)
#: Layers whose call takes ``use_causal_mask`` (their converters read it).
_CAUSAL = ("Attention", "AdditiveAttention", "MultiHeadAttention")


def _roles(node: Any) -> tuple[str, ...]:
    """How each tensor of a call was passed, as :func:`symnet.io.keras.read_graph` gives it
    (``"0"``: the first argument, or an item of a list passed first)."""
    args = node.get("args") if isinstance(node, dict) else None
    if isinstance(args, list) and len(args) > 1:
        return tuple(str(i) for i in range(len(args)))
    return ()


def _options(node: Any) -> tuple[tuple[str, Any], ...]:
    """A call's arguments that are not tensors (``training=False``), as Keras' node has them
    (:func:`_call` has refused any other)."""
    kwargs = node.get("kwargs", {}) if isinstance(node, dict) else {}
    return tuple((k, v) for k, v in kwargs.items() if v is not None)


def _functional(inner: dict[str, Any], entries: list[dict[str, Any]], make: Records) -> Any:
    """A functional model's graph: its layers' calls from the config's inbound nodes, in the
    order Keras' own reading lists them (outputs first, depth first: ``read_graph``'s)."""
    from .keras import KerasGraph, KerasNode

    by_name: dict[str, dict[str, Any]] = {}
    for entry in entries:
        name = entry.get("name")
        if not isinstance(name, str) or name != entry["config"].get("name") or name in by_name:
            raise NotForThisReader(f"layer name {str(name)[:60]!r}")
        by_name[name] = entry
    inputs, outputs = _tensors(inner.get("input_layers")), _tensors(inner.get("output_layers"))
    outputs = [_output_call(t, by_name) for t in outputs]
    input_names = [t[0] for t in inputs]
    shapes: dict[tuple[str, int, int], Shape] = {}
    calls: dict[tuple[str, int], list[tuple[tuple[str, int, int], Shape | None]]] = {}
    for entry in entries:
        name, nodes = entry["name"], entry.get("inbound_nodes")
        if entry.get("class_name") == "InputLayer":
            if nodes not in ([], None) or name not in input_names:
                raise NotForThisReader(f"input layer {name[:60]!r}")
            shapes[(name, 0, 0)] = _input_shape(entry)[1]
            continue
        if not isinstance(nodes, list) or not nodes:
            raise NotForThisReader(f"layer {name[:60]!r} is never called")
        for index, node in enumerate(nodes):
            calls[(name, index)] = _call(entry, node)
    if sorted(input_names) != sorted(n for n, e in by_name.items()
                                     if e.get("class_name") == "InputLayer") or any(
            t[1:] != (0, 0) for t in inputs):
        raise NotForThisReader("the model's inputs")
    # Depth first from the outputs, each node after the nodes it reads (read_graph's order).
    order, met = _walk(outputs, calls)
    for ident in order:
        if ident not in calls and (ident[0] not in input_names or ident[1] != 0):
            raise NotForThisReader(f"a tensor of no call: {list(ident)}"[:100])
    # Keras hands the stored weights to model.layers in its own order (depth, then traversal),
    # not the config's: a config listing its layers otherwise is not read here.
    listed_order = [e["name"] for e in entries]
    keras_order = _keras_layer_order(input_names, order, met, calls)
    if keras_order != listed_order:
        raise NotForThisReader(f"the config lists its layers {listed_order[:6]} in another order "
                               f"than Keras' model.layers {keras_order[:6]}")
    records = dict(zip([e["name"] for e in entries if e.get("class_name") != "InputLayer"],
                       make([e for e in entries if e.get("class_name") != "InputLayer"],
                            input_names)))

    nodes_out: list[Any] = []
    inputs_records: dict[str, LayerRecord] = {}
    alias: dict[str, str] = {}  # a nested model's outputs -> its layers' tensors

    def ref(tensor: tuple[str, int, int]) -> str:
        k = f"{tensor[0]}:{tensor[1]}:{tensor[2]}"
        return alias.get(k, k)

    for name, index in order:
        key = f"{name}:{index}"
        if name in input_names:
            record = inputs_records.setdefault(name, LayerRecord("InputLayer",
                                                                 dict(by_name[name]["config"])))
            shape = shapes[(name, 0, 0)]
            nodes_out.append(KerasNode(record, name, (f"{key}:0",), (f"{key}:0",), (shape,),
                                       (shape,)))
            continue
        record = records[name]
        arguments = calls[(name, index)]
        in_shapes = []
        for tensor, said in arguments:
            if tensor not in shapes:
                raise NotForThisReader(f"layer {name[:60]!r} reads a tensor made after it")
            if said is not None and shapes[tensor] != said:
                raise NotForThisReader(f"layer {name[:60]!r}: its input has shape "
                                       f"{shapes[tensor]}, the file says {said}")
            in_shapes.append(shapes[tensor])
        if isinstance(record, NestedModel):
            inner_nodes, outs, out_shapes = _splice(record, name, f"{name}#{index}/",
                                                    [ref(t) for t, _ in arguments], in_shapes)
            nodes_out.extend(inner_nodes)
            for i, (k, shape) in enumerate(zip(outs, out_shapes)):
                shapes[(name, index, i)], alias[f"{key}:{i}"] = shape, k
            continue
        call = by_name[name]["inbound_nodes"][index]
        if saved_ops.is_record(record):  # an operation: no weights, shapes of its own
            out = saved_ops.output_shapes(record, in_shapes)
            roles = saved_ops.read_call(by_name[name], call)[1]
        else:
            declared = _spec(record.kind)
            out = _output_shapes(declared, record, in_shapes)
            _check_weights(declared, record, in_shapes)
            roles = _roles(call) or tuple("0" for _ in arguments)
        for i, shape in enumerate(out):
            shapes[(name, index, i)] = shape
        nodes_out.append(KerasNode(
            record, name, tuple(ref(t) for t, _ in arguments),
            tuple(f"{key}:{i}" for i in range(len(out))), tuple(in_shapes), tuple(out),
            roles, _options(call)))
    for tensor in outputs:
        if tensor not in shapes:
            raise NotForThisReader(f"the model's output {str(tensor)[:60]}")
    unused = set(calls) - set(order)
    if unused:
        raise NotForThisReader(f"calls that reach no output: {sorted(unused)[:3]}")
    listed: list[tuple[str, Any]] = []
    layer_entries = [e for e in entries if not saved_ops.is_entry(e)]  # model.layers'
    for entry in layer_entries:
        layer = inputs_records.get(entry["name"]) or records.get(entry["name"])
        if layer is None:
            raise NotForThisReader("an input that no output reads")
        listed.extend(_nested_layers(layer) if isinstance(layer, NestedModel)
                      else [(entry["name"], layer)])
    saved_ops.check_float32(tuple(nodes_out))
    return KerasGraph(tuple(nodes_out), tuple(ref(t) for t in inputs),
                      tuple(ref(t) for t in outputs), tuple(shapes[t] for t in inputs),
                      tuple(shapes[t] for t in outputs), tuple(listed),
                      tuple(e["name"] for e in layer_entries))


def _output_call(tensor: tuple[str, int, int], by_name: dict[str, dict[str, Any]]
                 ) -> tuple[str, int, int]:
    """A model output ``[name, node, index]`` as the call of ``name`` it is: Keras 3 counts
    a functional model's calls from 1 there (its first node is its own), from 0 in the
    arguments of calls; a Keras 2 graph (calls as lists), which counts otherwise, is not read
    with a model in it."""
    entry = by_name.get(tensor[0])
    if entry is None or entry.get("class_name") != "Functional":
        return tensor  # (a nested model's calls are Keras 3's: _call refuses Keras 2's)
    if tensor[1] < 1:
        raise NotForThisReader(f"the model's output {list(tensor)}: node 0 of a functional "
                               "model is its own")
    return tensor[0], tensor[1] - 1, tensor[2]


def _output_shapes(declared: Any, record: LayerRecord, shapes: list[Shape]) -> list[Shape]:
    try:
        out = [tuple(int(d) for d in s) for s in declared.output(record.config, list(shapes))]
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise NotForThisReader(f"layer {record.name[:60]!r} ({record.kind}) on inputs "
                               f"{shapes}: {str(exc)[:100]}") from None
    if not out or any(not s or any(d < 1 for d in s) for s in out):
        raise NotForThisReader(f"layer {record.name[:60]!r}: output shapes {out}")
    return out


def _check_weights(declared: Any, record: LayerRecord, shapes: list[Shape]) -> None:
    """The variables stored for a layer are those its converter expects for these inputs."""
    try:
        expected = declared.weights(record.config, list(shapes))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise NotForThisReader(f"layer {record.name[:60]!r} ({record.kind}): "
                               f"{str(exc)[:100]}") from None
    trainable = bool(record.config.get("trainable", True))
    got = [(w.name, tuple(w.value.shape), w.trainable) for w in record.weights]
    want = [(w.name, tuple(w.shape), w.trainable and trainable) for w in expected]
    if got != want:
        raise NotForThisReader(f"{record.name[:60]}: {len(got)} variables stored of shapes "
                               f"{[g[1] for g in got][:4]}, {len(want)} expected of shapes "
                               f"{[w[1] for w in want][:4]}")


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


def _array(dataset: Any, where: str, dtype: str = "float32") -> np.ndarray:
    """A variable's values: a plain dataset of the dtype its converter declares (float32 but
    for a count), stored in the file itself, uncompressed (no external, virtual or compressed
    data, no attributes); its shape is checked against the config's once the layer's inputs
    are known."""
    if (dataset.dtype != np.dtype(dtype).newbyteorder("<") or not len(dataset.shape) <= 8
            or dataset.external or dataset.is_virtual or len(dataset.attrs)
            or dataset.compression is not None
            or dataset.id.get_storage_size() != dataset.nbytes):
        raise NotForThisReader(f"{where}: {dataset.shape} {dataset.dtype}, expected {dtype} "
                               "stored plainly")
    return np.array(dataset[()])


Calls = dict[tuple[str, int], list[tuple[tuple[str, int, int], Any]]]


def _walk(outputs: list[tuple[str, int, int]], calls: Calls
          ) -> tuple[list[tuple[str, int]], dict[str, int]]:
    """The calls a depth-first walk from the outputs reaches, each after the calls it reads
    (``read_graph``'s order, and Keras' ``map_graph``'s), and the order in which it first
    meets each layer."""
    met: dict[str, int] = {}
    finished: set[tuple[str, int]] = set()
    progress: set[tuple[str, int]] = set()
    order: list[tuple[str, int]] = []
    stack: list[tuple[tuple[str, int], bool]] = [((t[0], t[1]), False) for t in reversed(outputs)]
    while stack:
        ident, expanded = stack.pop()
        if expanded:
            finished.add(ident)
            progress.discard(ident)
            order.append(ident)
            continue
        if ident in finished:
            continue
        if ident in progress:
            raise NotForThisReader(f"the model's graph has a cycle through {ident[0][:60]!r}")
        met.setdefault(ident[0], len(met))
        progress.add(ident)
        stack.append((ident, True))
        for parent, _ in reversed(calls.get(ident, [])):
            stack.append(((parent[0], parent[1]), False))
    return order, met


def _keras_layer_order(input_names: list[str], order: list[tuple[str, int]],
                       met: dict[str, int], calls: Calls) -> list[str]:
    """The order of ``model.layers`` Keras gives a functional model (its ``map_graph``): each
    call's depth from the outputs, layers deepest first, a layer's depth its calls' largest;
    within a depth, the order the walk from the outputs (:func:`_walk`) first meets them."""
    indices = dict(met)
    node_depth: dict[tuple[str, int], int] = {}
    layer_depth: dict[str, int] = {}
    for ident in reversed(order):
        depth = max(node_depth.setdefault(ident, 0), layer_depth.get(ident[0], 0))
        layer_depth[ident[0]] = node_depth[ident] = depth
        for parent, _ in calls.get(ident, []):
            key = (parent[0], parent[1])
            node_depth[key] = max(depth + 1, node_depth.get(key, 0))
    for name in input_names:
        if name not in layer_depth:  # an input no output reads
            layer_depth[name], indices[name] = 0, -1
    return sorted(layer_depth, key=lambda name: (-layer_depth[name], indices[name]))


def _variables(groups: Any, group: str, layer: str) -> Any:
    """The ``vars`` group of one layer's weights group, or None when the file has none."""
    import h5py

    if group not in groups:
        return None
    stored = _member(groups, group, h5py.Group)
    names = {layer}
    if set(stored.keys()) == {"vars", "cell"} and not len(_member(stored, "vars", h5py.Group)):
        stored = _member(stored, "cell", h5py.Group)  # a recurrent layer's: its cell's
        names |= {f"{kind}_cell" for kind in ("simple_rnn", "gru", "lstm")}
    if set(stored.keys()) != {"vars"} or len(stored.attrs):
        raise NotForThisReader(f"weights group {group!r}")
    variables = _member(stored, "vars", h5py.Group)
    if set(variables.attrs) - {"name"} or variables.attrs.get("name", layer) not in names:
        raise NotForThisReader(f"weights group {group!r} names another layer")
    return variables


def _records(entries: list[dict[str, Any]], weights: Any, input_names: list[str] | None
             ) -> list[Layer]:
    """Each layer's record with its stored variables, named as its converter expects them
    (their shapes are checked against the inputs' once those are known); the weights file
    must hold exactly one group per layer that has variables (a functional model's input
    layers none)."""
    import h5py

    top = set(weights.keys())
    if top - {"layers", "vars", "optimizer"} or len(_member(weights, "vars", h5py.Group)):
        raise NotForThisReader(f"weights file groups {sorted(top)}")
    groups = _member(weights, "layers", h5py.Group) if "layers" in top else {}
    seen: dict[str, int] = {}
    out: list[Layer] = []
    unread = set(groups.keys())
    for i, name in enumerate(input_names or []):
        group = "input_layer" if i == 0 else f"input_layer_{i}"
        if group in groups:
            if len(_variables(groups, group, name)):
                raise NotForThisReader(f"weights group {group!r}")
            unread.discard(group)
    if input_names:
        seen["input_layer"] = len(input_names) - 1
    for entry in entries:
        if saved_ops.is_entry(entry):  # an operation (x + y): no weights
            out.append(saved_ops.record(entry))
            continue
        kind, config = entry.get("class_name"), entry["config"]
        if kind in MODEL_CLASSES:  # a model used as a layer: its weights in its own group
            group = _unique(seen, snake_case(str(kind)))
            unread.discard(group)
            stored = _model_group(groups, group, str(config.get("name")))
            out.append(nested_model(entry, functools.partial(_nested_records, stored)))
            continue
        # an entry without "module" Keras reads through its legacy model_from_config, which
        # rewrites some options (an axis list dropped): left to Keras' reading
        if entry.get("module") != "keras.layers" or entry.get(
                "registered_name") not in (None, kind):
            raise NotForThisReader(f"layer class {str(kind)[:60]}")
        declared = _check_options(str(kind), config)
        group = _unique(seen, snake_case(str(kind)))
        unread.discard(group)
        if declared.wraps is not None:
            out.append(_wrapper(str(kind), config, groups, group))
            continue
        variables = _variables(groups, group, config["name"])
        count = len(variables) if variables is not None else 0
        if variables is not None and set(variables.keys()) != {str(i) for i in range(count)}:
            raise NotForThisReader(f"{config['name']}: variables {sorted(variables.keys())[:4]}")
        names = _weight_names(declared, config, count)
        # As Keras reads it: the layer's own flag (a model's does not reach its layers).
        values = tuple(
            Weight(name, _array(_member(variables, str(i), h5py.Dataset), f"{config['name']}/"
                                f"{name}", dtype), trainable)
            for i, (name, trainable, dtype, _) in enumerate(names))
        out.append(LayerRecord(str(kind), dict(config), values))
    if unread:
        raise NotForThisReader(f"weights groups of no layer {sorted(unread)[:4]}")
    return out


def _nested_records(weights: Any, entries: list[dict[str, Any]], input_names: list[str] | None
                    ) -> list[Layer]:
    return _records(entries, weights, input_names)


def _unique(seen: dict[str, int], group: str) -> str:
    """A layer's group in its model's: its class in snake case, numbered from the second layer
    of the class on (Keras' ``_get_unique_name``)."""
    if group in seen:
        seen[group] += 1
        return f"{group}_{seen[group]}"
    seen[group] = 0
    return group


def _model_group(groups: Any, group: str, name: str) -> Any:
    """A nested model's weights group: its layers' groups under ``layers``, no variables of
    its own (``vars`` empty, naming the model); its optimizer's, if it was compiled, not
    read."""
    import h5py

    if group not in groups:
        raise NotForThisReader(f"no weights group {group!r} for model {name[:60]!r}")
    stored = _member(groups, group, h5py.Group)
    own = _member(stored, "vars", h5py.Group) if "vars" in stored else None
    if set(stored.keys()) - {"vars", "layers", "optimizer"} or len(stored.attrs) or (
            own is None or len(own) or set(own.attrs) - {"name"}
            or own.attrs.get("name", name) != name):
        raise NotForThisReader(f"weights group {group!r} of model {name[:60]!r}")
    return stored


def wrapped_layers(kind: str, config: dict[str, Any]
                   ) -> list[tuple[str, str, dict[str, Any], Any]]:
    """A wrapper's layers as its converter declares them: (role, class, config, spec) of
    each, every one a Keras layer the file reader reads (no wrapper in a wrapper)."""
    declared = _spec(kind)
    try:
        entries = declared.wraps(config)
    except (ValueError, TypeError, KeyError) as exc:
        raise NotForThisReader(f"{kind} {config.get('name')!r}: {str(exc)[:80]}") from None
    out: list[tuple[str, str, dict[str, Any], Any]] = []
    for role, entry in entries:
        if isinstance(entry, Part):
            out.append((role, entry.kind, {"name": entry.name}, entry))
            continue
        inner = entry.get("config") if isinstance(entry, dict) else None
        if not isinstance(inner, dict) or entry.get("module") not in (None, "keras.layers") or (
                entry.get("registered_name") not in (None, entry.get("class_name"))) or set(
                entry) - {"module", "class_name", "config", "registered_name", "build_config"}:
            raise NotForThisReader(f"{kind} {config.get('name')!r}: its {role}")
        inner_kind = str(entry.get("class_name"))
        inner_declared = _check_options(inner_kind, inner)
        if inner_declared.wraps is not None:
            raise NotForThisReader(f"{kind} {config.get('name')!r} wraps {inner_kind}")
        out.append((role, inner_kind, inner, inner_declared))
    return out


def _wrapper(kind: str, config: dict[str, Any], groups: Any, group: str) -> LayerRecord:
    """A wrapper's record: its layers' records, each with its variables from the group its
    role names in the wrapper's (``layers/bidirectional/forward_layer``), and theirs as its
    own, in order."""
    import h5py

    layers = wrapped_layers(kind, config)
    roles = {_group(role, part) for role, _, _, part in layers}
    children = []
    if group in groups:
        stored = _member(groups, group, h5py.Group)
        own = _member(stored, "vars", h5py.Group) if "vars" in stored else None
        if set(stored.keys()) - {"vars"} - roles or len(stored.attrs) or (
                own is not None and (len(own) or set(own.attrs) - {"name"}
                                     or own.attrs.get("name", config["name"]) != config["name"])):
            raise NotForThisReader(f"weights group {group!r}")
    else:
        stored = None
    for role, inner_kind, inner, inner_declared in layers:
        group_name = _group(role, inner_declared)
        if not role:  # a part of no weights, named by Keras' counter of its class
            if stored is not None and group_name in stored:
                part = _member(stored, group_name, h5py.Group)
                if set(part.keys()) != {"vars"} or len(part.attrs) or len(
                        _member(part, "vars", h5py.Group)):
                    raise NotForThisReader(f"weights group {group!r}/{group_name!r}")
            continue
        variables = (_variables(stored, group_name, inner["name"]) if stored is not None
                     else None)
        count = len(variables) if variables is not None else 0
        if variables is not None and set(variables.keys()) != {str(i) for i in range(count)}:
            raise NotForThisReader(f"{config['name']}/{inner['name']}: variables "
                                   f"{sorted(variables.keys())[:4]}")
        values = tuple(
            Weight(name, _array(_member(variables, str(i), h5py.Dataset),
                                f"{config['name']}/{inner['name']}/{name}", dtype), trainable)
            for i, (name, trainable, dtype, _) in enumerate(
                part_names(inner_declared, config, count) if isinstance(inner_declared, Part)
                else _weight_names(inner_declared, inner, count)))
        children.append((role, LayerRecord(inner_kind, dict(inner), values)))
    return LayerRecord(kind, dict(config), tuple(w for _, c in children for w in c.weights),
                       tuple(children))


def _group(role: str, part: Any) -> str:
    """The group of a wrapped layer in a ``.keras`` weights file: its role, or the group a
    part names."""
    return part.group if isinstance(part, Part) else role


def part_names(part: Part, config: dict[str, Any], count: int
               ) -> list[tuple[str, bool, str, str | None]]:
    """The names and flags of a part's ``count`` stored variables (its declared ones)."""
    if count != len(part.weights):
        raise NotForThisReader(f"{config.get('name')}/{part.name}: {count} variables stored, "
                               f"{len(part.weights)} expected")
    trainable = bool(config.get("trainable", True))
    return [(name, trainable, "float32", None) for name in part.weights]


def _weight_names(declared: Any, config: dict[str, Any], count: int
                  ) -> list[tuple[str, bool, str, str | None]]:
    """The names, flags, dtypes and Keras 2 names of a layer's ``count`` stored variables:
    its converter's declaration on a stand-in input (the names and their number depend on the
    config only; the shapes are checked once the inputs are known)."""
    for rank in range(1, 6):
        try:
            expected = declared.weights(config, [(1,) * rank])
        except (ValueError, TypeError, KeyError, IndexError):
            continue
        if len(expected) == count:
            trainable = bool(config.get("trainable", True))
            return [(w.name, w.trainable and trainable, w.dtype, w.legacy) for w in expected]
    raise NotForThisReader(f"{config.get('name')}: {count} variables stored, not what the "
                           "config implies")
