"""Keras operations in saved functional graphs (``x + y``, ``x * 2.0``,
``keras.ops.mean(x, axis=1)``), read without Keras.

Keras 3 saves an operation that is not a layer as an entry of the functional config beside the
layers: ``module`` (``keras.src.ops.numpy`` or ``keras.src.ops.nn``), ``class_name``
(``Add``, ``Mean``...), a ``config`` of the class's constructor arguments, and one inbound node
whose ``args`` hold the tensors it is called on and its constants (``2.0``, a ``__numpy__``
array). Keras rebuilds it as ``cls(**config)`` and calls it on those ``args``; this module
makes, from the same entry, the :class:`~symnet.io.keras.KerasOperation` that a model Keras
read gives (:func:`symnet.io.keras._operation`): its kind (``ops.add``), its attributes as the
constructor sets them (:data:`OPERATIONS`: for each class Keras' constructor, the module it
lives in and what it makes of each argument) and the call's constants by position; and the
shapes of its outputs, as the class's ``compute_output_spec`` computes them. The converters of
:mod:`symnet.layers.operations` then read it as they read an operation of a live model.

Anything else is refused by name (:class:`~symnet.io.saved.NotForThisReader`), never imported
and never evaluated: a class not in the table, or in another module than Keras' own for it; a
setting the constructor does not take, or not stated (Keras would default it), or not of the
kind of value it takes; a constant that is not a finite number or a float32 array; a tensor
input that is not float32 (Keras would then compute in another dtype); an operation called
more than once. A legacy HDF5 file whose entries state these modules is read the same way;
Keras 3 itself writes its operations into legacy files without their module, under bare class
names a layer or a custom class could have (``Add``, ``Relu``), and cannot read them back:
those entries are not taken for operations (:func:`is_entry`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .keras import KerasOperation, operation_kind

__all__ = ["OPERATIONS", "at_call", "attributes", "check_float32", "is_entry", "is_record",
           "output_shapes", "read_call", "record"]

Shape = tuple[int, ...]
Full = tuple[Any, ...]
"""A shape as Keras computes it: the batch axis first (``None``), then the sample's axes."""

_NUMPY, _NN = "keras.src.ops.numpy", "keras.src.ops.nn"

#: The kinds of value a constructor argument takes.
_INT, _BOOL, _NUMBER = "an integer", "true or false", "a finite number"
_AXES, _PERMUTATION = "null, an integer or a list of integers", "null or a list of integers"
_SHAPE = "a list of integers or nulls"

#: Each operation read: its class (as Keras saves it), the module Keras 3 defines it in, and
#: its constructor's arguments besides ``name`` with the kind of value each takes
#: (``keras/src/ops/numpy.py`` and ``nn.py``). Every argument becomes the attribute of its name
#: (``vars(op)``), as given, but for ``Mean``'s and ``Sum``'s ``axis``, which an integer makes
#: a list of one (:func:`attributes`).
OPERATIONS: dict[str, tuple[str, dict[str, str]]] = {
    **{cls: (_NUMPY, {}) for cls in ("Add", "Subtract", "Multiply", "Divide", "TrueDivide",
                                      "Matmul", "Negative", "Exp", "Tanh")},
    "Concatenate": (_NUMPY, {"axis": _INT}),
    "Reshape": (_NUMPY, {"newshape": _SHAPE}),
    "Transpose": (_NUMPY, {"axes": _PERMUTATION}),
    "Mean": (_NUMPY, {"axis": _AXES, "keepdims": _BOOL}),
    "Sum": (_NUMPY, {"axis": _AXES, "keepdims": _BOOL}),
    **{cls: (_NN, {}) for cls in ("Relu", "Relu6", "Sigmoid", "Softplus", "Softsign", "Silu",
                                   "Selu", "HardSigmoid", "HardSilu", "LogSigmoid",
                                   "SparsePlus", "SparseSigmoid", "TanhShrink", "HardTanh")},
    "Elu": (_NN, {"alpha": _NUMBER}),
    "Celu": (_NN, {"alpha": _NUMBER}),
    "LeakyRelu": (_NN, {"negative_slope": _NUMBER}),
    "Gelu": (_NN, {"approximate": _BOOL}),
    "Squareplus": (_NN, {"b": _NUMBER}),
    "SoftShrink": (_NN, {"threshold": _NUMBER}),
    "HardShrink": (_NN, {"threshold": _NUMBER}),
    "Softmax": (_NN, {"axis": _AXES}),
    "LogSoftmax": (_NN, {"axis": _AXES}),
}

#: Operations called on two arguments (tensors or constants), and on a list of tensors.
_BINARY = ("Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Matmul")
_LISTED = ("Concatenate",)

_ENTRY_KEYS = {"module", "class_name", "config", "registered_name", "name", "inbound_nodes"}


def _refuse(why: str) -> Exception:
    from .saved import NotForThisReader

    return NotForThisReader(why)


def is_entry(entry: Any) -> bool:
    """Whether a config entry is an operation, not a layer: its module is one of Keras'
    operations' (``keras.src.ops.numpy``). A legacy file's entries name no module, and Keras 3
    writes its operations there under their bare class names (``Add``, ``Relu``), which a merge
    layer or a custom class of that name would have too: those are not read as operations."""
    module = entry.get("module") if isinstance(entry, dict) else None
    return isinstance(module, str) and module.startswith("keras.src.ops.")


def is_record(layer: Any) -> bool:
    return isinstance(layer, KerasOperation)


def at_call(layer: Any, name: str) -> Any:
    """A nested model's operation at one call of that model, named by its path: a record of
    its own, as a live model's reading makes one for each call of an operation (a layer's
    record is the same at every call)."""
    return dataclasses.replace(layer, name=name) if is_record(layer) else layer


def _where(entry: dict[str, Any]) -> str:
    cls = entry.get("class_name")
    shown = (f"keras.{operation_kind(cls)}" if isinstance(cls, str) and cls in OPERATIONS
             else str(cls)[:40])
    return f"operation {str(entry.get('name'))[:60]!r} ({shown})"


def _class(entry: dict[str, Any]) -> str:
    """The entry's class, one of :data:`OPERATIONS`, in the module Keras defines it in."""
    cls, module = entry.get("class_name"), entry.get("module")
    if not isinstance(cls, str) or cls not in OPERATIONS:
        raise _refuse(f"operation class {str(cls)[:60]} (module {str(module)[:40]}): the file "
                      f"reader knows {', '.join(sorted(OPERATIONS))}")
    if module not in (None, OPERATIONS[cls][0]) or entry.get("registered_name") not in (None,
                                                                                        cls):
        raise _refuse(f"operation class {cls} of module {str(module)[:60]} registered as "
                      f"{str(entry.get('registered_name'))[:40]}: Keras defines it in "
                      f"{OPERATIONS[cls][0]}")
    if set(entry) - _ENTRY_KEYS:
        raise _refuse(f"{_where(entry)}: entry keys {sorted(set(entry) - _ENTRY_KEYS)[:4]}")
    return cls


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    """A finite number (an integer float64 holds exactly: Keras' arithmetic takes it as a
    float)."""
    if _integer(value):
        return bool(abs(value) <= 2**53)
    return isinstance(value, float) and math.isfinite(value)


_KINDS: dict[str, Callable[[Any], bool]] = {
    _INT: _integer,
    _BOOL: lambda v: isinstance(v, bool),
    _NUMBER: _number,
    _AXES: lambda v: v is None or _integer(v) or (
        isinstance(v, list) and len(v) <= 8 and all(_integer(a) for a in v)),
    _PERMUTATION: lambda v: v is None or (
        isinstance(v, list) and len(v) <= 9 and all(_integer(a) for a in v)),
    _SHAPE: lambda v: isinstance(v, list) and 0 < len(v) <= 9 and all(
        d is None or _integer(d) for d in v),
}


def attributes(cls: str, config: Any, where: str = "") -> dict[str, Any]:
    """The attributes Keras' constructor of ``cls`` gives an operation of this ``config``
    (``vars(op)`` but its name and private ones), every argument stated and of its kind."""
    where = where or f"operation class {cls}"
    if not isinstance(config, dict):
        raise _refuse(f"{where}: a config that is not an object")
    settings = OPERATIONS[cls][1]
    unknown = sorted(set(config) - set(settings) - {"name"})
    if unknown:
        raise _refuse(f"{where}: setting {str(unknown[0])[:40]!r} (Keras' {cls} takes "
                      f"{', '.join(sorted(settings)) or 'none'})")
    out = {}
    for key, kind in settings.items():
        if key not in config:
            raise _refuse(f"{where}: setting {key} not stated (Keras would default it)")
        value = config[key]
        if not _KINDS[kind](value):
            raise _refuse(f"{where}: {key}={str(value)[:40]}, expected {kind}")
        out[key] = value
    if cls in ("Mean", "Sum") and _integer(out["axis"]):  # Keras: an int axis becomes a list
        out["axis"] = [out["axis"]]
    return out


def record(entry: dict[str, Any]) -> KerasOperation:
    """The record of an operation's entry, as a model Keras read gives it: its kind, its
    attributes, the constants of its (one) call by position."""
    cls = _class(entry)
    where = _where(entry)
    config = entry.get("config")
    name = config.get("name") if isinstance(config, dict) else None
    if not isinstance(name, str) or name != entry.get("name") or "/" in name or not name:
        raise _refuse(f"{where}: its name")
    nodes = entry.get("inbound_nodes")
    if not isinstance(nodes, list) or len(nodes) != 1:
        raise _refuse(f"{where}: called {len(nodes) if isinstance(nodes, list) else '?'} "
                      "times (the file reader reads an operation called once)")
    _, _, constants = read_call(entry, nodes[0])
    return KerasOperation(None, name, operation_kind(cls), attributes(cls, config, where),
                          constants)


def _tensor(where: str, value: Any) -> tuple[tuple[str, int, int], Shape] | None:
    """A tensor argument's history and sample shape; None when it is not a tensor."""
    if not isinstance(value, dict) or value.get("class_name") != "__keras_tensor__":
        return None
    config = value.get("config")
    if not isinstance(config, dict):
        raise _refuse(f"{where} is called on something not a tensor")
    history, shape = config.get("keras_history"), config.get("shape")
    if (not isinstance(history, list) or len(history) != 3 or not isinstance(history[0], str)
            or any(not _integer(i) or i < 0 for i in history[1:])
            or set(value) - {"class_name", "config"}):
        raise _refuse(f"{where} is called on something not a tensor")
    if (not isinstance(shape, list) or not shape or shape[0] is not None
            or any(not _integer(d) or d < 1 for d in shape[1:])
            or set(config) - {"shape", "dtype", "keras_history", "sparse", "ragged"}
            or config.get("sparse") or config.get("ragged")):
        raise _refuse(f"{where} is called on a tensor of shape {str(shape)[:40]}")
    if config.get("dtype") != "float32":
        raise _refuse(f"{where} is called on a tensor of dtype {str(config.get('dtype'))[:20]}"
                      ": Keras computes it in that dtype (symnet reproduces float32)")
    return (history[0], history[1], history[2]), tuple(shape[1:])


def _leaves_are_numbers(value: Any, depth: int = 0) -> bool:
    if isinstance(value, list):
        return depth < 8 and all(_leaves_are_numbers(v, depth + 1) for v in value)
    return _number(value)


def _constant(where: str, position: int, value: Any) -> Any:
    """A constant of the call, as Keras' deserializer gives it: a Python number, or a float32
    array from a ``__numpy__`` object; anything else refused by name."""
    if _number(value):
        return value
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        config = value.get("config")
        if (not isinstance(config, dict) or set(config) != {"value", "dtype"}
                or set(value) != {"class_name", "config"}):
            raise _refuse(f"{where}: argument {position}, an array of keys "
                          f"{sorted(config) if isinstance(config, dict) else '?'}")
        if config["dtype"] != "float32":
            raise _refuse(f"{where}: argument {position}, an array of dtype "
                          f"{str(config['dtype'])[:20]}: Keras then computes in that dtype "
                          "(symnet reproduces float32)")
        if not _leaves_are_numbers(config["value"]):
            raise _refuse(f"{where}: argument {position}, an array that is not of finite "
                          "numbers")
        try:
            array = np.array(config["value"], dtype=np.float32)
        except ValueError:
            raise _refuse(f"{where}: argument {position}, a ragged array") from None
        if not np.all(np.isfinite(array)):  # a number float32 cannot hold
            raise _refuse(f"{where}: argument {position}, an array of numbers past float32's")
        return array
    shown = value.get("class_name") if isinstance(value, dict) else value
    raise _refuse(f"{where}: argument {position} is {type(value).__name__} "
                  f"{str(shown)[:40]!r}, not a tensor, a finite number or a float32 array")


def read_call(entry: dict[str, Any], node: Any
              ) -> tuple[list[tuple[tuple[str, int, int], Shape]], tuple[str, ...],
                         tuple[tuple[int, Any], ...]]:
    """An operation's call: the tensors it reads in order with the sample shapes the file
    states, how each was passed (its position, as :func:`symnet.io.keras.read_graph` gives
    it), and its constants by position."""
    cls = _class(entry)
    where = _where(entry)
    if (not isinstance(node, dict) or set(node) != {"args", "kwargs"}
            or not isinstance(node["args"], list) or node["kwargs"] != {}):
        raise _refuse(f"{where}: a call of arguments "
                      f"{sorted(node) if isinstance(node, dict) else '?'}")
    args = node["args"]
    count = 2 if cls in _BINARY else 1
    if len(args) != count:
        raise _refuse(f"{where}: called with {len(args)} arguments, Keras' {cls} takes {count}")
    tensors: list[tuple[tuple[str, int, int], Shape]] = []
    roles: list[str] = []
    constants: list[tuple[int, Any]] = []
    for position, value in enumerate(args):
        if cls in _LISTED:
            if not isinstance(value, list) or not value:
                raise _refuse(f"{where}: called on {type(value).__name__}, not a list of "
                              "tensors")
            for item in value:
                found = _tensor(where, item)
                if found is None:
                    raise _refuse(f"{where}: a list of tensors holding "
                                  f"{type(item).__name__} {str(item)[:30]!r}")
                tensors.append(found)
                roles.append(str(position))
            continue
        found = _tensor(where, value)
        if found is not None:
            tensors.append(found)
            roles.append(str(position))
        elif cls in _BINARY:
            constants.append((position, _constant(where, position, value)))
        else:
            raise _refuse(f"{where}: called on {type(value).__name__} {str(value)[:30]!r}, "
                          "not a tensor")
    if not tensors:
        raise _refuse(f"{where}: called on constants only")
    return tensors, tuple(roles), tuple(constants)


# --- output shapes, as each class's compute_output_spec computes them ------------------------


def _broadcast(first: Full, second: Full) -> Full:
    """Keras' ``operation_utils.broadcast_shapes``."""
    a, b = list(first), list(second)
    a = [1] * (len(b) - len(a)) + a
    b = [1] * (len(a) - len(b)) + b
    out = list(a)
    for i, (x, y) in enumerate(zip(a, b)):
        if x == 1:
            out[i] = y
        elif x is None:
            out[i] = None if y == 1 else y
        elif y == 1 or y is None or y == x:
            out[i] = x
        else:
            raise ValueError(f"shapes {first} and {second} do not broadcast")
    return tuple(out)


def _matmul(first: Full, second: Full) -> Full:
    """Keras' ``operation_utils.compute_matmul_output_shape``."""
    a_1d, b_1d = len(first) == 1, len(second) == 1
    a = (1, first[0]) if a_1d else first
    b = (second[0], 1) if b_1d else second
    if a[-1] is not None and b[-2] is not None and a[-1] != b[-2]:
        raise ValueError(f"inner dimensions of {first} and {second} differ")
    out = list(_broadcast(a[:-2], b[:-2])) + [a[-2], b[-1]]
    if a_1d:
        del out[-2]
    if b_1d:
        del out[-1]
    return tuple(out)


def _axis(axis: Any, rank: int) -> int:
    """Keras' ``canonicalize_axis``."""
    if not _integer(axis) or not -rank <= axis < rank:
        raise ValueError(f"axis {axis} outside a tensor of rank {rank}")
    return int(axis) % rank


def _concatenate(shapes: list[Full], axis: Any) -> Full:
    """``Concatenate.compute_output_spec``: every shape the first's but on ``axis``, summed."""
    first = shapes[0]
    at = _axis(axis, len(first))
    for shape in shapes:
        if len(shape) != len(first) or any(
                x is not None and y is not None and x != y
                for i, (x, y) in enumerate(zip(shape, first)) if i != at):
            raise ValueError(f"shapes {shapes} differ off axis {axis}")
    out = list(first)
    out[at] = None if any(s[at] is None for s in shapes) else sum(s[at] for s in shapes)
    return tuple(out)


def _reshape(shape: Full, newshape: list[Any]) -> Full:
    """``operation_utils.compute_reshape_output_shape`` (after ``validate_reshape_shape``)."""
    if any(d is not None and d < -1 for d in newshape) or newshape.count(-1) > 1:
        raise ValueError(f"newshape {newshape}: dimensions are ≥ 0, or one -1")
    # the batch axis is unknown (None): Keras leaves -1 unknown too
    return tuple(None if d == -1 else d for d in newshape)


def _transpose(shape: Full, axes: Any) -> Full:
    """``operation_utils.compute_transpose_output_shape``."""
    if axes is None:
        return tuple(reversed(shape))
    if len(axes) != len(shape):
        raise ValueError(f"axes {axes} for a tensor of rank {len(shape)}")
    order = [_axis(a, len(shape)) for a in axes]
    if len(set(order)) != len(shape):
        raise ValueError(f"axes {axes} is not a permutation")
    return tuple(shape[a] for a in order)


def _reduce(shape: Full, axis: Any, keepdims: bool) -> Full:
    """``operation_utils.reduce_shape``."""
    if axis is None:
        return (1,) * len(shape) if keepdims else ()
    axes = [_axis(a, len(shape)) for a in (axis if isinstance(axis, list) else [axis])]
    out = list(shape)
    if keepdims:
        for a in axes:
            out[a] = 1
        return tuple(out)
    for a in sorted(axes, reverse=True):
        del out[a]
    return tuple(out)


def _softmax(shape: Full, axis: Any) -> Full:
    """``Softmax.compute_output_spec``: the axes must be the tensor's (``canonicalize_axes``)."""
    for a in axis if isinstance(axis, list) else [] if axis is None else [axis]:
        _axis(a, len(shape))
    return shape


def output_shapes(layer: KerasOperation, shapes: list[Shape]) -> list[Shape]:
    """The sample shape of the operation's output on inputs of sample ``shapes``, as Keras
    computes it; refused when the batch axis would not stay first, alone of unknown size (the
    live reader's :func:`~symnet.io.keras._operation` refuses such an operation too)."""
    full: list[Full] = [(None, *s) for s in shapes]
    attrs, kind = layer.attributes, layer.kind
    try:
        if kind in ("ops.add", "ops.subtract", "ops.multiply", "ops.divide",
                    "ops.true_divide", "ops.matmul"):
            arguments: list[Full] = list(full)
            for position, value in layer.arguments:
                arguments.insert(position, tuple(np.shape(value)))
            out = (_matmul if kind == "ops.matmul" else _broadcast)(*arguments)
        elif kind == "ops.concatenate":
            out = _concatenate(full, attrs["axis"])
        elif kind == "ops.reshape":
            out = _reshape(full[0], attrs["newshape"])
            if all(_integer(d) for d in out[1:]) and math.prod(out[1:]) != math.prod(shapes[0]):
                # Keras leaves the batch axis to absorb the difference; the converter refuses
                raise ValueError(f"newshape={attrs['newshape']!r} moves numbers between "
                                 "samples")
        elif kind == "ops.transpose":
            out = _transpose(full[0], attrs["axes"])
        elif kind in ("ops.mean", "ops.sum"):
            out = _reduce(full[0], attrs["axis"], attrs["keepdims"])
        elif kind in ("ops.softmax", "ops.log_softmax"):
            out = _softmax(full[0], attrs["axis"])
        else:
            out = full[0]
    except (ValueError, IndexError) as exc:
        raise _refuse(f"operation {layer.name[:60]!r} (keras.{kind}) on inputs {shapes}: "
                      f"{str(exc)[:100]}") from None
    if not out or out[0] is not None or any(not _integer(d) or d < 1 for d in out[1:]):
        raise _refuse(f"operation {layer.name[:60]!r} (keras.{kind}): a tensor of shape {out}; "
                      "the batch axis does not stay first, alone of unknown size")
    if any(d > 2**31 for d in out[1:]):
        raise _refuse(f"operation {layer.name[:60]!r} (keras.{kind}): a tensor of shape "
                      f"{str(out)[:80]}, an axis past 2**31 numbers")
    return [tuple(int(d) for d in out[1:])]


def check_float32(nodes: tuple[Any, ...]) -> None:
    """Every operation of a graph reads float32 tensors (so computes in float32, as Keras
    would): an input's dtype is its InputLayer's; a layer's outputs are float32 when its
    inputs are (a float32 layer computes in float32) or it is an Embedding (its table's
    float32); an operation's when its inputs are (its constants are float32 or Python
    numbers). ``nodes`` in execution order."""
    float32: set[str] = set()
    for node in nodes:
        layer = node.layer
        if is_record(layer):
            wrong = [key for key in node.inputs if key not in float32]
            if wrong:
                raise _refuse(f"operation {layer.name[:60]!r} (keras.{layer.kind}) reads an "
                              f"output of {wrong[0].rsplit(':', 2)[0][:60]!r} not known to be "
                              "float32 (made from an input of another dtype): Keras would "
                              "compute it in another dtype")
            float32.update(node.outputs)
        elif getattr(layer, "kind", None) == "InputLayer":
            if layer.config.get("dtype", "float32") == "float32":
                float32.update(node.outputs)
        elif getattr(layer, "kind", None) == "Embedding" or all(
                key in float32 for key in node.inputs):
            float32.update(node.outputs)
