"""The only module that reads Keras models: files (safe mode) and in-memory models -> a graph.

Saved files are checked before Keras deserializes them: the model's config is read from the
``.keras`` archive (or the ``.h5`` attributes) and any ``Lambda``, custom or unknown layer is
refused by name at once, so nothing a file says is ever executed.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, ModelLoadError, UnsupportedLayerError
from ..layers import is_supported_class, supported_layers, unsupported

__all__ = ["KerasGraph", "KerasNode", "import_keras", "load_model", "read_graph", "scan_config"]

_MODEL_CLASSES = {"Sequential", "Functional", "Model"}
SUFFIXES = (".keras", ".h5", ".hdf5")


def import_keras() -> Any:
    """Import Keras (its backend, TensorFlow, with it)."""
    import keras

    return keras


def load_model(source: Any) -> Any:
    """A ``keras.Model`` from a model object or a ``.keras`` / ``.h5`` path (safe mode)."""
    if isinstance(source, (str, os.PathLike)):
        return _load_file(Path(source))
    keras = import_keras()

    if isinstance(source, keras.Model):
        return source
    raise InvalidInputError(
        f"expected a keras.Model or a path to a .keras/.h5 file, received {type(source).__name__}")


def _load_file(path: Path) -> Any:
    if not path.exists():
        raise ModelLoadError(f"cannot read model file {str(path)!r}: no such file")
    if path.is_dir():
        raise ModelLoadError(f"cannot read model file {str(path)!r}: it is a directory; expected "
                             "a .keras or .h5 file")
    if path.suffix.lower() not in SUFFIXES:
        raise ModelLoadError(f"cannot read model file {str(path)!r}: expected a .keras or .h5 "
                             f"file, received suffix {path.suffix or '(none)'!r}")
    if path.stat().st_size == 0:
        raise ModelLoadError(f"cannot read model file {str(path)!r}: the file is empty")
    config = _read_config(path)
    scan_config(config)
    keras = import_keras()

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except UnsupportedLayerError:
        raise
    except Exception as exc:  # Keras raises many types for a bad file; all mean the same here.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"cannot load model file {str(path)!r}: {first}") from exc
    if not isinstance(model, keras.Model):
        raise ModelLoadError(f"{str(path)!r} holds a {type(model).__name__}, not a Keras model")
    return model


def _read_config(path: Path) -> dict[str, Any]:
    try:
        if path.suffix.lower() == ".keras":
            with zipfile.ZipFile(path) as archive:
                text = archive.read("config.json").decode("utf-8")
        else:
            import h5py

            with h5py.File(path, "r") as handle:
                raw = handle.attrs.get("model_config")
                if raw is None:
                    raise ModelLoadError(f"cannot read model file {str(path)!r}: the HDF5 file "
                                         "holds no model_config (weights only?)")
                text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        config = json.loads(text)
    except ModelLoadError:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise ModelLoadError(
            f"cannot read model file {str(path)!r}: not a valid Keras {path.suffix} file "
            f"({type(exc).__name__}: {exc})") from exc
    if not isinstance(config, dict) or "class_name" not in config:
        raise ModelLoadError(f"cannot read model file {str(path)!r}: no model config inside")
    return config


def scan_config(config: dict[str, Any], top: bool = True) -> None:
    """Refuse, by name, any layer of a saved config that symnet cannot convert exactly."""
    kind = config.get("class_name")
    inner = config.get("config") or {}
    name = inner.get("name", "?") if isinstance(inner, dict) else "?"
    if kind in _MODEL_CLASSES:
        if not top:
            raise unsupported(name, str(kind), "nested models are not supported; build the model "
                              "from their layers")
        for layer in inner.get("layers", []) if isinstance(inner, dict) else []:
            scan_config(layer, top=False)
        return
    module = str(config.get("module") or "keras.layers")
    registered = config.get("registered_name")
    custom = not module.startswith("keras") or (registered not in (None, kind))
    if kind == "Lambda":
        raise unsupported(name, "Lambda", "a Lambda layer is arbitrary Python code")
    if custom or kind not in supported_layers():
        why = f"custom class registered as {registered!r}" if custom and registered else ""
        raise unsupported(name, str(kind), why)


@dataclass(frozen=True)
class KerasNode:
    """One call of a Keras layer in the model's graph."""

    layer: Any
    inputs: tuple[str, ...]
    output: str
    input_shapes: tuple[tuple[int, ...], ...]
    output_shape: tuple[int, ...]


@dataclass(frozen=True)
class KerasGraph:
    """The model as a list of layer calls in execution order, and its input/output tensors."""

    nodes: tuple[KerasNode, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    input_shapes: tuple[tuple[int, ...], ...]
    output_shapes: tuple[tuple[int, ...], ...]
    layers: tuple[Any, ...]


def _key(tensor: Any) -> str:
    op, node_index, tensor_index = tensor._keras_history
    return f"{op.name}:{node_index}:{tensor_index}"


def _sample_shape(tensor: Any, where: str) -> tuple[int, ...]:
    shape = tuple(tensor.shape)
    if not shape:
        raise InvalidInputError(f"{where}: a tensor without a batch axis is not supported")
    rest = shape[1:]
    if any(d is None for d in rest):
        raise UnsupportedLayerError(
            f"{where}: shape {shape} has unknown dimensions besides the batch; symnet needs "
            "fixed shapes", layer=where)
    return tuple(int(d) for d in rest)


def read_graph(model: Any) -> KerasGraph:
    """The layer calls of a built Sequential or functional model, in execution order."""
    try:
        inputs, outputs = list(model.inputs), list(model.outputs)
    except (AttributeError, ValueError) as exc:
        raise ModelLoadError(f"model {model.name!r} is not built (no inputs/outputs): call it "
                             "on data or give it an Input first") from exc
    for layer in model.layers:
        import keras

        if isinstance(layer, keras.Model):
            raise unsupported(layer.name, type(layer).__name__,
                              "nested models are not supported; build the model from their layers")
        if not is_supported_class(type(layer)):
            raise unsupported(layer.name, type(layer).__name__)

    order: list[tuple[Any, Any]] = []
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[Any, bool]] = [(t, False) for t in reversed(outputs)]
    while stack:
        tensor, expanded = stack.pop()
        op, node_index, _ = tensor._keras_history
        ident = (id(op), node_index)
        if ident in seen:
            continue
        node = op._inbound_nodes[node_index]
        if expanded:
            seen.add(ident)
            order.append((op, node))
            continue
        stack.append((tensor, True))
        for parent in reversed(list(node.input_tensors)):
            stack.append((parent, False))

    nodes = []
    for op, node in order:
        outs = list(node.output_tensors)
        if len(outs) != 1:
            raise unsupported(op.name, type(op).__name__, "layers with several outputs")
        ins = list(node.input_tensors) or outs  # an InputLayer's node "reads" its own tensor
        nodes.append(KerasNode(
            layer=op,
            inputs=tuple(_key(t) for t in ins),
            output=_key(outs[0]),
            input_shapes=tuple(_sample_shape(t, op.name) for t in ins),
            output_shape=_sample_shape(outs[0], op.name),
        ))
    return KerasGraph(
        nodes=tuple(nodes),
        inputs=tuple(_key(t) for t in inputs),
        outputs=tuple(_key(t) for t in outputs),
        input_shapes=tuple(_sample_shape(t, "input") for t in inputs),
        output_shapes=tuple(_sample_shape(t, "output") for t in outputs),
        layers=tuple(model.layers),
    )
