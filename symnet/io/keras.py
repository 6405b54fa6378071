"""The only module that reads Keras models: files (safe mode) and in-memory models -> a graph.

Saved files are checked before Keras deserializes them: the model's config is read from the
``.keras`` archive (or the ``.h5`` attributes) and any ``Lambda``, custom or unknown layer is
refused by name at once, so nothing a file says is ever executed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidInputError, ModelLoadError, SymnetWarning, UnsupportedLayerError
from ..layers import (
    config_problems,
    is_supported_class,
    layer_kind,
    supported_layers,
    supported_operations,
    unsupported,
    unsupported_operation,
)
from ..layers.record import LayerRecord, Weight
from ..ops import ACTIVATIONS
from . import checks

__all__ = ["KerasGraph", "KerasNode", "KerasOperation", "ModelSource", "import_keras",
           "load_model", "operation_kind", "read_graph", "read_model", "scan_config"]

_MODEL_CLASSES = {"Sequential", "Functional", "Model"}
SUFFIXES = (".keras", ".h5", ".hdf5")


def import_keras() -> Any:
    """Import Keras (its backend, TensorFlow, with it)."""
    from . import QUIET_IMPORT  # the command line's choice (see symnet.io)

    if QUIET_IMPORT and "keras" not in sys.modules:
        with _native_stderr_kept_back():
            import keras
    import keras

    return keras


@contextmanager
def _native_stderr_kept_back() -> Iterator[None]:
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            except BaseException:
                os.dup2(saved, 2)
                sink.seek(0)
                sys.stderr.write(sink.read().decode("utf-8", "replace"))
                raise
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)


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
    config, hdf5 = _checked_config(path)
    return _keras_load(path, config, hdf5)


def _checked_config(path: Path) -> tuple[dict[str, Any], bool]:
    """A model file's config, checked and scanned (nothing a file says is run), and whether
    the file is HDF5."""
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
    hdf5 = _is_hdf5(path)
    config = _read_config(path, hdf5)
    scan_config(config)
    scan_objects(config, str(path))
    if isinstance(config.get("config"), list):
        raise ModelLoadError(f"cannot load model file {str(path)!r}: its config is a list of "
                             "layers, as Keras 2.0-2.2 wrote Sequential models; Keras 3 cannot "
                             "read it (load it with Keras 2 and save it again)")
    return config, hdf5


def _keras_load(path: Path, config: dict[str, Any], hdf5: bool) -> Any:
    """Keras' reading of a checked file (safe mode, no compilation)."""
    keras = import_keras()
    try:
        if hdf5 and path.suffix.lower() == ".keras":
            model = _load_hdf5_named_keras(keras, path)
        else:
            with _sequential_built_once(keras):
                model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except UnsupportedLayerError:
        raise
    except Exception as exc:  # Keras raises many types for a bad file; all mean the same here.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        version = _writer(path) if not hdf5 else None
        why = (f" (written by Keras {version}: Keras 3 cannot read .keras files of Keras 2)"
               if version and version.startswith("2.") else "")
        raise ModelLoadError(f"cannot load model file {str(path)!r}{why}: {first[:200]}"
                             ) from exc
    if not isinstance(model, keras.Model):
        raise ModelLoadError(f"{str(path)!r} holds a {type(model).__name__}, not a Keras model")
    return _declared_input(keras, model, config, path)


READERS = ("auto", "file", "keras")


@dataclass
class ModelSource:
    """A model as read: its graph of layer calls, its name, the names of ``model.layers``,
    and the Keras model (``model``), or how to load it when it is first needed (``load``)."""

    graph: KerasGraph
    name: str
    layer_names: tuple[str, ...]
    model: Any = None
    load: Callable[[], Any] | None = None


def read_model(source: Any, reader: str = "auto") -> ModelSource:
    """Read a model object or file into a :class:`ModelSource`.

    ``reader``: ``"keras"`` loads every file with Keras (and TensorFlow); ``"file"`` reads the
    file without Keras (:mod:`symnet.io.saved` for ``.keras`` files of Keras 3,
    :mod:`symnet.io.legacy` for HDF5 files of Keras 2 and 3: Sequential and functional models
    of the layers whose converters declare their weights, and of the Keras operations symnet
    converts, :mod:`symnet.io.saved_ops`), and fails for any other;
    ``"auto"`` (the default) reads without Keras when it can and with Keras otherwise. A file
    read without Keras is loaded with Keras only when the Keras model itself is asked for
    (``Network.model``, a report's agreement with ``model.predict``), and only if the file
    has not changed since.
    """
    from .legacy import read_legacy
    from .saved import MAX_BYTES, NotForThisReader, read_saved

    if reader not in READERS:
        raise InvalidInputError(f"reader must be one of {', '.join(READERS)}, received "
                                f"{str(reader)[:40]!r}")
    if not isinstance(source, (str, os.PathLike)):
        if reader == "file":
            raise InvalidInputError("reader='file' reads a .keras file; a model object is read "
                                    "by Keras")
        return _keras_source(load_model(source))
    path = Path(source)
    config, hdf5 = _checked_config(path)
    if reader != "keras":
        try:
            limit = MAX_BYTES + checks.MAX_CONFIG_BYTES
            if path.stat().st_size > limit:
                raise NotForThisReader(f"a file over {limit // 2**20} MiB")
            data = path.read_bytes()  # what is read is what the digest is of
            try:
                graph, name, names = (read_legacy if hdf5 else read_saved)(data, config,
                                                                           str(path))
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                raise NotForThisReader(f"{type(exc).__name__}: {str(exc)[:100]}") from exc
            digest = hashlib.sha256(data).hexdigest()
            return ModelSource(graph, name, names, None, lambda: _load_unchanged(path, digest))
        except NotForThisReader as why:
            if reader == "file":
                raise ModelLoadError(
                    f"cannot read model file {str(path)!r} without Keras ({why}); that reader "
                    "knows Sequential and functional models (.keras files of Keras 3, HDF5 files "
                    "of Keras 2 and 3) whose layers are "
                    f"{', '.join(file_layers())}, and the Keras operations symnet converts"
                    ) from None
    return _keras_source(_keras_load(path, config, hdf5))


def file_layers() -> list[str]:
    """The layer classes the file reader reads (their converters declare their weights)."""
    from ..layers import spec_of

    return sorted(k for k in supported_layers()
                  if getattr(spec_of(k), "weights", None) is not None)


def _keras_source(model: Any) -> ModelSource:
    return ModelSource(read_graph(model), model.name,
                       tuple(layer.name for layer in model.layers), model)


def _load_unchanged(path: Path, digest: str) -> Any:
    """Keras' model of a file symnet read without Keras, if the file is still the one read:
    Keras reads a private copy of the bytes whose digest was checked."""
    import tempfile

    try:
        data = path.read_bytes()
    except OSError:
        data = b""
    if hashlib.sha256(data).hexdigest() != digest:
        raise ModelLoadError(f"model file {str(path)!r} has changed (or gone) since symnet read "
                             "it; read it again")
    with tempfile.TemporaryDirectory(prefix="symnet-") as folder:
        copy = Path(folder) / path.name
        copy.write_bytes(data)
        try:
            config, hdf5 = _checked_config(copy)
            return _keras_load(copy, config, hdf5)
        except ModelLoadError as exc:
            raise ModelLoadError(str(exc).replace(str(copy), str(path))) from exc


_PATCH_LOCK = threading.Lock()


@contextmanager
def _sequential_built_once(keras: Any) -> Iterator[None]:
    """Keras' ``Sequential.from_config`` adds the layers one by one and rebuilds the whole
    model after each (quadratic: a Sequential of 500 layers took 38 s to load, 2.9 s here).
    While a file is read, only the last layer's ``add`` rebuilds: the model Keras ends with is
    the same, built once."""
    cls = keras.Sequential
    original, add = cls.__dict__.get("from_config"), cls.__dict__.get("add")
    if not isinstance(original, classmethod) or not callable(add):  # another Keras
        yield
        return
    calls: list[list[int]] = []  # per from_config running: [layers, adds seen, add depth]

    def deferred(self: Any, layer: Any, rebuild: bool = True) -> None:
        if not calls:
            add(self, layer, rebuild=rebuild)
            return
        top = calls[-1]
        top[2] += 1
        try:
            if top[2] == 1:  # from_config's own call, not add's nested one for an Input
                top[1] += 1
            add(self, layer, rebuild=rebuild and top[2] == 1 and top[1] >= top[0])
        finally:
            top[2] -= 1

    def from_config(klass: Any, config: Any, custom_objects: Any = None) -> Any:
        layers = config.get("layers") if isinstance(config, dict) else None
        calls.append([len(layers) if isinstance(layers, list) else 0, 0, 0])
        try:
            return original.__func__(klass, config, custom_objects)
        finally:
            calls.pop()

    with _PATCH_LOCK:
        cls.from_config, cls.add = classmethod(from_config), deferred
        try:
            yield
        finally:
            cls.from_config, cls.add = original, add


def _writer(path: Path) -> str | None:
    """The Keras version a ``.keras`` archive says wrote it."""
    try:
        with zipfile.ZipFile(path) as archive:
            text = checks.read_member(archive, "metadata.json", str(path), limit=64 * 1024)
            return str(json.loads(text).get("keras_version"))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, AttributeError,
            RecursionError):
        return None


def _is_hdf5(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(8) == b"\x89HDF\r\n\x1a\n"


def _load_hdf5_named_keras(keras: Any, path: Path) -> Any:
    """A legacy HDF5 model saved under a ``.keras`` name: Keras 3 reads it under its own."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="symnet-h5-") as folder:
        copy = Path(folder) / "model.h5"
        shutil.copyfile(path, copy)
        return keras.saving.load_model(copy, compile=False, safe_mode=True)


def _first_layer_shape(config: dict[str, Any]) -> tuple[int, ...] | None:
    layers = (config.get("config") or {}).get("layers") if isinstance(config.get("config"),
                                                                       dict) else None
    if not layers or not isinstance(layers[0], dict):
        return None
    inner = layers[0].get("config") or {}
    shape = inner.get("batch_input_shape") or inner.get("batch_shape")
    if not isinstance(shape, list) or len(shape) < 2 or any(
            not isinstance(d, int) for d in shape[1:]):
        return None
    return tuple(shape[1:])


def _declared_input(keras: Any, model: Any, config: dict[str, Any], path: Path) -> Any:
    """Keras 3 reads the ``batch_input_shape`` of a Keras 2 Sequential file with one axis too
    many (``[null, 28, 28]`` becomes ``(None, None, 28, 28)``), and then cannot run the model.
    Such a model is read again on the input shape its file declares."""
    shape = _first_layer_shape(config)
    try:
        inputs = list(model.inputs)
    except (AttributeError, ValueError):
        return model
    if shape is None or not isinstance(model, keras.Sequential) or len(inputs) != 1:
        return model
    if tuple(inputs[0].shape[1:]) == shape or None not in tuple(inputs[0].shape[1:]):
        return model
    x = start = keras.Input(shape, name="input")
    for layer in model.layers:
        x = layer(x)
    warnings.warn(f"{str(path)!r}: read on the input shape {shape} its file declares (Keras 3 "
                  f"reads it as {tuple(inputs[0].shape[1:])} and cannot run it so)",
                  SymnetWarning, stacklevel=4)
    return keras.Model(start, x, name=model.name)


def _read_config(path: Path, hdf5: bool) -> dict[str, Any]:
    """The model's config, checked (see :mod:`symnet.io.checks`) before anything uses it:
    member names and sizes, JSON size and depth, the config's shape, and the parameters it
    declares against the weights the file holds."""
    where = str(path)
    try:
        if not hdf5:
            with zipfile.ZipFile(path) as archive:
                checks.check_archive(archive, where)
                text = checks.read_member(archive, "config.json", where).decode("utf-8")
                names = set(archive.namelist())
                weights = (archive.getinfo("model.weights.h5").file_size
                           if "model.weights.h5" in names else None)
        else:
            import h5py

            with h5py.File(path, "r") as handle:
                if "model_config" not in handle.attrs:
                    raise ModelLoadError(f"cannot read model file {where!r}: the HDF5 file "
                                         "holds no model_config (weights only?)")
                size = handle.attrs.get_id("model_config").get_storage_size()
                if size > checks.MAX_CONFIG_BYTES:
                    raise ModelLoadError(f"cannot read model file {where!r}: its model_config "
                                         f"holds {size:,} bytes, over the limit of "
                                         f"{checks.MAX_CONFIG_BYTES:,}")
                checks.check_hdf5_attributes(handle, where)
                raw = handle.attrs.get("model_config")
                text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
            weights = path.stat().st_size
        config = checks.parse_config(text, where)
    except ModelLoadError:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise ModelLoadError(
            f"cannot read model file {where!r}: not a valid Keras {path.suffix} file "
            f"({type(exc).__name__}: {str(exc)[:200]})") from exc
    if not isinstance(config, dict) or "class_name" not in config:
        raise ModelLoadError(f"cannot read model file {where!r}: no model config inside")
    checks.check_shape(config, where)
    checks.check_parameters(config, where, weights)
    return config


def scan_config(config: dict[str, Any], top: bool = True) -> None:
    """Refuse, by name, any layer of a saved config that symnet cannot convert exactly."""
    kind = config.get("class_name")
    inner = config.get("config") or {}
    name = inner.get("name", "?") if isinstance(inner, dict) else "?"
    if kind in _MODEL_CLASSES:
        for layer in inner.get("layers", []) if isinstance(inner, dict) else []:
            scan_config(layer, top=False)
        return
    module = str(config.get("module") or "keras.layers")
    registered = config.get("registered_name")
    if module.startswith("keras.src.ops.") and registered in (None, kind):
        # a Keras operation in a functional graph (x + y, keras.ops.mean): no layer, no code
        operation = operation_kind(str(kind))
        if operation not in supported_operations():
            raise unsupported_operation(name, operation)
        from .saved_ops import OPERATIONS  # each converted operation's class and module

        defined = OPERATIONS.get(str(kind), (None,))[0]
        if module != defined:
            where = (f"Keras defines it in {defined}" if defined else
                     "Keras defines no operation class of that name")
            raise unsupported_operation(name, operation, f"class {str(kind)[:40]} of module "
                                        f"{module[:80]!r}: {where}")
        return
    custom = not (module == "keras" or module.startswith("keras.")) or (
        registered not in (None, kind))
    if kind == "Lambda":
        raise unsupported(name, "Lambda", "a Lambda layer is arbitrary Python code")
    if custom or kind not in supported_layers():
        from .saved_ops import OPERATIONS

        why = (f"a class of module {module[:80]!r}, not Keras'" if not (
            module == "keras" or module.startswith("keras.")) else
            f"custom class registered as {registered!r}" if custom and registered else
            "a Keras operation as Keras 3 writes it into a legacy .h5 file, without its module; "
            "Keras 3 cannot read it back either: save the model as .keras" if (
                config.get("module") is None and str(kind) in OPERATIONS) else "")
        raise unsupported(name, str(kind), why)
    # a wrapper's layers (TimeDistributed, Bidirectional) are layers too: each is held to the
    # same rules before Keras' deserializer sees any of them
    for key in ("layer", "backward_layer", "cell"):
        nested = inner.get(key) if isinstance(inner, dict) else None
        if isinstance(nested, dict) and "class_name" in nested:
            scan_config(nested, top=False)
    for key in ("activation", "recurrent_activation"):
        value = inner.get(key) if isinstance(inner, dict) else None
        shown: Any = value
        if isinstance(value, dict):
            source, cls = value.get("module"), value.get("class_name")
            if source not in (None, "keras.activations"):
                shown = f"{source}.{value.get('config') or value.get('registered_name')}"
            else:
                shown = value.get("config") if cls == "function" else cls
        if shown is not None and not (isinstance(shown, str) and shown in ACTIVATIONS):
            raise unsupported(name, str(kind), f"{key} {str(shown)[:60]!r} is not a Keras "
                              "activation symnet knows (custom activations are code)")
        if isinstance(value, dict) and value.get("module") not in (None, "keras.activations"):
            raise unsupported(name, str(kind), f"{key} from module {value.get('module')!r} "
                              "is custom code")


#: The modules a saved config may name for the objects Keras rebuilds from it (layers,
#: initializers, regularizers, constraints, activations, dtype policies, models, operations).
_MODULES = ("keras", "keras.layers", "keras.initializers", "keras.regularizers",
            "keras.constraints", "keras.activations", "keras.models", "keras.dtype_policies",
            "keras.src.models.functional", "keras.src.models.sequential",
            "keras.src.engine.functional", "keras.src.engine.sequential")
_MODULE_PREFIXES = ("keras.src.dtype_policies", "keras.src.ops.", "keras.src.layers.")
#: What a nested model's compile_config may name besides.
_TRAINING_MODULES = ("keras.optimizers", "keras.losses", "keras.metrics")
_TRAINING_PREFIXES = ("keras.src.optimizers.", "keras.src.losses.", "keras.src.metrics.")
#: Data, not objects: what Keras' serializer writes for arrays, tuples, tensors...
_DATA = {"__numpy__", "__tuple__", "__keras_tensor__", "__bytes__", "__ellipsis__",
         "__slice__", "__tensor__", "__typespec__"}


def scan_objects(config: Any, where: str) -> None:
    """Refuse, before anything is imported, every object a saved config would have Keras
    rebuild that is code or comes from outside Keras' object namespaces, wherever it is
    nested (an initializer, a wrapped layer, an activation): a module that is not one of
    Keras' (``os``, ``subprocess``, ``builtins``, ``keras.utils``, ``keras.config``...), a
    ``__lambda__`` or ``Lambda`` (marshalled Python code), a custom registered name. The model's
    ``compile_config`` is not read (models load with ``compile=False``): its losses and
    metrics are never rebuilt; a nested model's, which Keras compiles as it loads it, may
    name Keras' optimizers, losses and metrics besides. These are the ways Keras'
    ``safe_mode`` has been bypassed."""
    from ..escape import terminal_text

    def refuse(what: str) -> ModelLoadError:
        return ModelLoadError(f"cannot read model file {where!r}: its config names "
                              f"{terminal_text(what, 160)}; symnet never rebuilds code or "
                              "objects from outside Keras' layers, initializers, regularizers, "
                              "constraints and activations (nothing was imported)")

    stack: list[tuple[Any, bool]] = [(config, False)]
    while stack:
        item, compiling = stack.pop()
        if isinstance(item, list):
            stack.extend((v, compiling) for v in item)
            continue
        if not isinstance(item, dict):
            continue
        kind, module = item.get("class_name"), item.get("module")
        if "class_name" in item and kind not in _DATA:
            shown = f"{module}.{kind}" if module is not None else str(kind)
            if kind in ("__lambda__", "Lambda") or (kind == "function"
                                                    and module != "keras.activations"):
                raise refuse(f"{shown!r} (Python code)")
            if module is not None and (not isinstance(module, str) or not (
                    module in _MODULES or module.startswith(_MODULE_PREFIXES) or (
                        compiling and (module in _TRAINING_MODULES
                                       or module.startswith(_TRAINING_PREFIXES))))):
                raise refuse(f"{shown!r} (module {str(module)[:80]!r})")
            registered = item.get("registered_name")
            if registered not in (None, kind):
                raise refuse(f"{shown!r} (a custom object registered as "
                             f"{str(registered)[:80]!r})")
        inner = item.get("config")
        if isinstance(inner, dict) and ("function_type" in inner or (
                kind == "Lambda" and "function" in inner)):
            raise refuse(f"{kind!s} (marshalled Python code)")
        stack.extend((v, compiling) for k, v in item.items() if k != "compile_config")
        if item is not config and "compile_config" in item:
            stack.append((item["compile_config"], True))


def operation_kind(class_name: str) -> str:
    """``ops.`` and a Keras operation's function name: ``LeakyRelu`` -> ``ops.leaky_relu``."""
    return "ops." + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", class_name).lower()


@dataclass(frozen=True, eq=False)
class KerasOperation:
    """A Keras operation called in a functional graph that is not a layer (``x + y``,
    ``keras.ops.mean(x, axis=1)``): what its converter reads, as it reads a layer."""

    op: Any
    name: str
    kind: str
    """``ops.add``, ``ops.mean``...: ``keras.`` and this is the function."""
    attributes: dict[str, Any]
    """The operation's settings (``axis``, ``keepdims``, ``newshape``...)."""
    arguments: tuple[tuple[int, Any], ...] = ()
    """The call's positional arguments that are not tensors (``2.0`` in ``x * 2.0``), by
    position."""
    weights: tuple[Any, ...] = ()
    is_operation = True

    def get_config(self) -> dict[str, Any]:
        return dict(self.attributes)


def _operation(op: Any, node: Any, where: str) -> KerasOperation:
    """An operation of a functional graph, or the error naming it when symnet has no
    converter for it (or it computes in another dtype than float32)."""
    from keras import KerasTensor

    from ..escape import terminal_text

    kind = operation_kind(type(op).__name__)
    if kind not in supported_operations():
        raise unsupported_operation(where, kind)
    for tensor in [*node.input_tensors, *node.output_tensors]:
        shape = tuple(tensor.shape)
        if not shape or shape[0] is not None or None in shape[1:]:
            raise UnsupportedLayerError(
                f"operation {terminal_text(where, 200)!r} (keras.{kind}): a tensor of shape "
                f"{shape}; the batch axis "
                "does not stay first, alone of unknown size (the operation mixes samples)",
                layer=where, kind=kind)
    for tensor in node.output_tensors:
        if str(tensor.dtype) != "float32":
            raise UnsupportedLayerError(
                f"operation {terminal_text(where, 200)!r} (keras.{kind}): it computes in "
                f"{tensor.dtype}; symnet "
                "reproduces float32 arithmetic", layer=where, kind=kind)
    arguments = getattr(node, "arguments", None)
    constants = tuple((i, value) for i, value in enumerate(arguments.args if arguments else ())
                      if not isinstance(value, (KerasTensor, list, tuple)))
    attributes = {k: v for k, v in vars(op).items() if not k.startswith("_") and k != "name"}
    return KerasOperation(op, where, kind, attributes, constants)


@dataclass(frozen=True)
class KerasNode:
    """One call of a Keras layer in the model's graph (a layer of a nested model included)."""

    layer: Any
    name: str
    """The layer's name, as a path through nested models (``generator/dense_1``)."""
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    input_shapes: tuple[tuple[int, ...], ...]
    output_shapes: tuple[tuple[int, ...], ...]
    roles: tuple[str, ...] = ()
    """How each input was passed: its position (``"0"``) or keyword (``"query"``)."""
    options: tuple[tuple[str, Any], ...] = ()
    """The call's other arguments (``use_causal_mask=True``...)."""

    @property
    def output(self) -> str:
        return self.outputs[0]

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.output_shapes[0]


@dataclass(frozen=True)
class KerasGraph:
    """The model as a list of layer calls in execution order, and its input/output tensors."""

    nodes: tuple[KerasNode, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    input_shapes: tuple[tuple[int, ...], ...]
    output_shapes: tuple[tuple[int, ...], ...]
    layers: tuple[tuple[str, Any], ...]
    """Every layer, nested models' layers in their place: (path name, layer)."""
    names: tuple[str, ...] = ()
    """The names of ``model.layers`` (a nested model's own), as a file reader gives them."""


#: The layers a Keras layer wraps, by role in its record: (role, attribute).
_CHILDREN = {
    "Bidirectional": (("forward_layer", "forward_layer"), ("backward_layer", "backward_layer")),
    "TimeDistributed": (("layer", "layer"),),
    "MultiHeadAttention": (("query", "_query_dense"), ("key", "_key_dense"),
                           ("value", "_value_dense"), ("output", "_output_dense")),
}


def record_of(layer: Any, cache: dict[int, LayerRecord] | None = None) -> LayerRecord:
    """The :class:`~symnet.layers.record.LayerRecord` of a live Keras layer (one per layer:
    ``cache`` keeps them by identity): what converters read, and all they read."""
    cache = {} if cache is None else cache
    if id(layer) in cache:
        return cache[id(layer)]
    kind = type(layer).__name__
    config = layer.get_config()
    if getattr(layer, "lora_enabled", False) and not config.get("lora_rank"):
        config["lora_rank"] = getattr(layer, "lora_rank", True)
    children = []
    for role, attribute in _CHILDREN.get(kind, ()):
        inner = getattr(layer, attribute, None)
        if inner is not None:
            children.append((role, record_of(inner, cache)))
    known = {id(v): w for _, child in children for v, w in zip(
        _child_variables(layer, child), child.weights)}
    weights = tuple(known.get(id(v)) or Weight(str(v.name), np.array(v.numpy()),
                                                bool(v.trainable)) for v in layer.weights)
    _check_activations(layer, config, kind)
    state: dict[str, Any] = {}
    for key in {"Normalization": ("mean", "variance"), "Rescaling": ("scale", "offset")
                }.get(kind, ()):
        value = getattr(layer, key, None)
        if value is not None:
            state[key] = np.asarray(value)
    policy = getattr(layer, "dtype_policy", None)
    record = LayerRecord(
        kind, config, weights, tuple(children), state,
        builtin=type(layer).__module__.split(".")[0] == "keras", origin=type(layer),
        compute_dtype=str(getattr(policy, "compute_dtype", "float32")),
        quantized=bool(getattr(policy, "quantization_mode", None)))
    cache[id(layer)] = record
    return record


def _child_variables(layer: Any, child: LayerRecord) -> list[Any]:
    for _role, attribute in _CHILDREN.get(type(layer).__name__, ()):
        inner = getattr(layer, attribute, None)
        if inner is not None and inner.name == child.name:
            return list(inner.weights)
    return []


def _check_activations(layer: Any, config: dict[str, Any], kind: str) -> None:
    """A live layer's activations must be Keras' functions of the names its config gives
    (a converter reads the name): checked by identity, never by name alone."""
    import keras

    for owner in (layer, getattr(layer, "cell", None)):
        for key in ("activation", "recurrent_activation"):
            function = getattr(owner, key, None) if owner is not None else None
            if function is None or key not in config:
                continue
            value = config[key]
            name = value.get("config") if isinstance(value, dict) else value
            try:
                same = isinstance(name, str) and name in ACTIVATIONS and (
                    keras.activations.get(name) is function)
            except ValueError:
                same = False
            if not same:
                from ..escape import terminal_text

                shown = getattr(function, "__name__", repr(function))
                raise UnsupportedLayerError(
                    f"layer {terminal_text(layer.name, 200)!r} of class {kind}: activation "
                    f"{terminal_text(str(shown), 60)!r} is not supported (custom or lambda "
                    "activations cannot be checked); supported activations: "
                    f"{', '.join(sorted(ACTIVATIONS))}", layer=layer.name, kind=kind)


def _key(tensor: Any, prefix: str = "") -> str:
    op, node_index, tensor_index = tensor._keras_history
    return f"{prefix}{op.name}:{node_index}:{tensor_index}"


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


def _call_arguments(node: Any) -> tuple[list[Any], tuple[str, ...], tuple[tuple[str, Any], ...]]:
    """A node's input tensors in the order they were passed, how each was passed, and the
    call's other arguments."""
    from keras import KerasTensor

    arguments = getattr(node, "arguments", None)
    if arguments is None:
        return list(node.input_tensors), (), ()
    tensors, roles, options = [], [], []

    def take(role: str, value: Any) -> bool:
        found = False
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, KerasTensor):
                tensors.append(item)
                roles.append(role)
                found = True
        return found

    for i, value in enumerate(arguments.args):
        take(str(i), value)
    for key, value in arguments.kwargs.items():
        if not take(key, value) and value is not None:
            options.append((key, value))
    if len(tensors) != len(node.input_tensors):  # a structure not seen here: Keras' order
        return list(node.input_tensors), (), tuple(options)
    return tensors, tuple(roles), tuple(options)


def _is_model(layer: Any) -> bool:
    import keras

    return isinstance(layer, keras.Model)


def read_graph(model: Any, key_prefix: str = "", name_prefix: str = "",
               cache: dict[int, LayerRecord] | None = None) -> KerasGraph:
    """The layer calls of a built Sequential or functional model, in execution order.

    A model used as a layer (a nested Sequential or functional model) is read in its place:
    its layers keep their names as a path (``outer/inner``), and each of its calls gets its own
    tensors. Every layer is given as its record (:func:`record_of`).
    """
    cache = {} if cache is None else cache
    try:
        inputs, outputs = list(model.inputs), list(model.outputs)
    except (AttributeError, ValueError) as exc:
        raise ModelLoadError(f"model {model.name!r} is not built (no inputs/outputs): call it "
                             "on data or give it an Input first") from exc
    for layer in model.layers:
        if not _is_model(layer) and not is_supported_class(type(layer)):
            raise unsupported(name_prefix + layer.name, type(layer).__name__)
        problems = [] if _is_model(layer) else config_problems(layer)
        if problems:  # an option its converter has not declared: refused before anything else
            from ..escape import terminal_text

            where = name_prefix + layer.name
            raise UnsupportedLayerError(
                f"layer {terminal_text(where, 200)!r} of class {type(layer).__name__}: "
                f"{terminal_text('; '.join(problems), 600)}", layer=where,
                kind=type(layer).__name__)

    order: list[tuple[Any, int, Any]] = []
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
            order.append((op, node_index, node))
            continue
        stack.append((tensor, True))
        for parent in reversed(list(node.input_tensors)):
            stack.append((parent, False))

    nodes: list[KerasNode] = []
    rename: dict[str, str] = {}  # a nested model's tensors -> the tensors of its caller

    def key(tensor: Any) -> str:
        k = _key(tensor, key_prefix)
        return rename.get(k, k)

    from keras.layers import Layer

    for op, node_index, node in order:
        outs = list(node.output_tensors)
        ins, roles, options = _call_arguments(node)
        ins = ins or outs  # an InputLayer's node "reads" its own tensor
        where = name_prefix + op.name
        if _is_model(op):
            from .saved import inert_call_argument

            extra = [k for k, v in options if not inert_call_argument(k, v)]
            if extra:  # training=True: the model's layers compute otherwise than at inference
                raise unsupported(where, type(op).__name__, f"a nested model called with "
                                  f"{', '.join(f'{k}={dict(options)[k]!r}' for k in extra)}")
            inner = read_graph(op, f"{key_prefix}{op.name}#{node_index}/", where + "/", cache)
            if len(inner.inputs) != len(ins) or len(inner.outputs) != len(outs):
                raise unsupported(where, type(op).__name__, "a nested model called with "
                                  f"{len(ins)} inputs for its {len(inner.inputs)}")
            mapping = {k: key(t) for k, t in zip(inner.inputs, ins)}
            for inner_node in inner.nodes:
                if layer_kind(inner_node.layer) == "InputLayer":
                    continue
                nodes.append(KerasNode(
                    inner_node.layer, inner_node.name,
                    tuple(mapping.get(k, k) for k in inner_node.inputs), inner_node.outputs,
                    inner_node.input_shapes, inner_node.output_shapes, inner_node.roles,
                    inner_node.options))
            for k, t in zip(inner.outputs, outs):
                rename[_key(t, key_prefix)] = mapping.get(k, k)
            continue
        layer = record_of(op, cache) if isinstance(op, Layer) else _operation(op, node, where)
        nodes.append(KerasNode(
            layer=layer, name=where,
            inputs=tuple(key(t) for t in ins),
            outputs=tuple(_key(t, key_prefix) for t in outs),
            input_shapes=tuple(_sample_shape(t, where) for t in ins),
            output_shapes=tuple(_sample_shape(t, where) for t in outs),
            roles=roles, options=options,
        ))
    layers: list[tuple[str, Any]] = []
    for layer in model.layers:
        if _is_model(layer):
            layers.extend(read_graph(layer, "", f"{name_prefix}{layer.name}/", cache).layers)
        else:
            layers.append((name_prefix + layer.name, record_of(layer, cache)))
    return KerasGraph(
        nodes=tuple(nodes),
        inputs=tuple(key(t) for t in inputs),
        outputs=tuple(key(t) for t in outputs),
        input_shapes=tuple(_sample_shape(t, "input") for t in inputs),
        output_shapes=tuple(_sample_shape(t, "output") for t in outputs),
        layers=tuple(layers),
    )
