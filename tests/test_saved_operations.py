"""Keras operations in saved functional graphs (``x + y``, ``x * 2.0``, ``keras.ops.mean``),
read without Keras (symnet.io.saved_ops): for every operation symnet converts, the file
reader's network is Keras' reading of the file; anything it does not know is refused by name,
and left to Keras (which reads it or refuses it) under ``reader="auto"``."""

from __future__ import annotations

import copy
import importlib
import json
import os
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symnet
from symnet import ModelLoadError, UnsupportedLayerError
from symnet.io import saved_ops
from symnet.io.keras import KerasOperation, operation_kind
from symnet.io.saved import NotForThisReader
from symnet.layers import supported_operations

from .conftest import randomize
from .robustness.test_hostile_readers import _json, _same_or_refused
from .test_saved_reader import _edited, both_readers, same_network

SHAPE = (3, 4)
C4 = np.linspace(-1.0, 1.0, 4).astype(np.float32)
K42 = (np.arange(8, dtype=np.float32).reshape(4, 2) - 3.5) / 4

#: For each operation kind symnet converts, a graph using it on an input ``x`` of shape (3, 4)
#: and ``d``, a Dense layer's output of that shape (random weights): its outputs.
CASES = {
    "ops.add": lambda o, x, d: [x + d, o.add(d, C4), 0.5 + d],
    "ops.subtract": lambda o, x, d: [1.5 - d, o.subtract(d, x), d - C4],
    "ops.multiply": lambda o, x, d: [d * 0.3, x * d, 2 * d],
    "ops.divide": lambda o, x, d: [o.divide(d, x * x + 1.0), o.divide(3.0, d * d + 2.0),
                                   d / 4.0],
    "ops.true_divide": lambda o, x, d: o.true_divide(d, 4.0),
    "ops.negative": lambda o, x, d: -d,
    "ops.matmul": lambda o, x, d: [o.matmul(d, K42), o.matmul(d, o.transpose(x, (0, 2, 1)))],
    "ops.concatenate": lambda o, x, d: [o.concatenate([d, 2.0 * x], axis=1),
                                        o.concatenate([x, d, x], axis=-1)],
    "ops.reshape": lambda o, x, d: [o.reshape(d, (-1, 12)), o.reshape(d, (-1, 2, 6))],
    "ops.transpose": lambda o, x, d: o.transpose(d, (0, 2, 1)),
    "ops.mean": lambda o, x, d: [o.mean(d, axis=1), o.mean(d, axis=(1, 2), keepdims=True),
                                 o.mean(d, axis=-1, keepdims=True)],
    "ops.sum": lambda o, x, d: [o.sum(d, axis=(1, 2), keepdims=True), o.sum(d, axis=2)],
    "ops.exp": lambda o, x, d: o.exp(d),
    "ops.tanh": lambda o, x, d: o.tanh(d),
    "ops.relu": lambda o, x, d: o.relu(d),
    "ops.relu6": lambda o, x, d: o.relu6(3.0 * d),
    "ops.sigmoid": lambda o, x, d: o.sigmoid(d),
    "ops.softplus": lambda o, x, d: o.softplus(d),
    "ops.softsign": lambda o, x, d: o.softsign(d),
    "ops.silu": lambda o, x, d: o.silu(d),
    "ops.selu": lambda o, x, d: o.selu(d),
    "ops.hard_sigmoid": lambda o, x, d: o.hard_sigmoid(d),
    "ops.hard_silu": lambda o, x, d: o.hard_silu(d),
    "ops.hard_tanh": lambda o, x, d: o.hard_tanh(d),
    "ops.log_sigmoid": lambda o, x, d: o.log_sigmoid(d),
    "ops.sparse_plus": lambda o, x, d: o.sparse_plus(d),
    "ops.sparse_sigmoid": lambda o, x, d: o.sparse_sigmoid(d),
    "ops.tanh_shrink": lambda o, x, d: o.tanh_shrink(d),
    "ops.elu": lambda o, x, d: [o.elu(d, 0.5), o.elu(d)],
    "ops.celu": lambda o, x, d: o.celu(d, 2.0),
    "ops.leaky_relu": lambda o, x, d: [o.leaky_relu(d, 0.3), o.leaky_relu(d)],
    "ops.gelu": lambda o, x, d: o.gelu(d, approximate=False),
    "ops.squareplus": lambda o, x, d: o.squareplus(d),
    "ops.soft_shrink": lambda o, x, d: o.soft_shrink(d),
    "ops.hard_shrink": lambda o, x, d: o.hard_shrink(d),
    "ops.softmax": lambda o, x, d: [o.softmax(d, axis=1), o.softmax(d)],
    "ops.log_softmax": lambda o, x, d: [o.log_softmax(d), o.log_softmax(d, axis=1)],
}


def test_every_operation_symnet_converts_has_a_case_and_a_class():
    assert set(CASES) == set(supported_operations())
    assert {operation_kind(cls) for cls in saved_ops.OPERATIONS} == set(supported_operations())


def _model(keras, kind: str, seed: int = 0):
    x = keras.Input(SHAPE, name="x")
    d = keras.layers.Dense(4, name="dense")(x)
    outputs = CASES[kind](keras.ops, x, d)
    model = keras.Model(x, outputs, name="ops")
    randomize(model, seed)
    return model


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_operation_reads_as_keras_reads_it(keras, tmp_path, kind):
    """The file reader's network is Keras' reading of the file (every formula's srepr, weight
    bytes, names, graph), evaluates as model.predict, and never loads Keras to do so."""
    model = _model(keras, kind, seed=len(kind))
    fast, _ = both_readers(model, tmp_path / "ops.keras")
    assert fast._model is None  # read without Keras (both_readers compared with predict)
    assert kind in {layer.kind for layer in fast.layers}
    config = json.loads(zipfile.ZipFile(tmp_path / "ops.keras").read("config.json"))
    modules = {e["module"] for e in config["config"]["layers"] if e["class_name"] not in (
        "InputLayer", "Dense")}
    assert modules <= {"keras.src.ops.numpy", "keras.src.ops.nn"}


def _keras_attributes(keras, cls: str, config: dict) -> dict:
    module, _ = saved_ops.OPERATIONS[cls]
    op = getattr(importlib.import_module(module), cls).from_config(dict(config))
    return {k: v for k, v in vars(op).items() if not k.startswith("_") and k != "name"}


_SAMPLES = {"axis": [1, -1, [1, 2], None], "keepdims": [True, False], "newshape": [[-1, 12]],
            "axes": [[0, 2, 1], None], "alpha": [0.5, 2], "negative_slope": [0.3],
            "approximate": [False, True], "b": [4, 3.5], "threshold": [0.5, 1]}


@pytest.mark.parametrize("cls", sorted(saved_ops.OPERATIONS))
def test_attributes_are_those_keras_constructor_sets(keras, cls):
    """Each class of the table lives in the module it names, and the attributes made of a
    config are those of the operation Keras' from_config makes of it (Mean's int axis becomes
    a list), for each value tried."""
    _, settings_ = saved_ops.OPERATIONS[cls]
    configs = [{"name": "op"}]
    for key in settings_:
        values = _SAMPLES[key] if not (cls == "Concatenate" and key == "axis") else [1, -1]
        configs = [{**c, key: v} for c in configs for v in values]
    for config in configs:
        assert saved_ops.attributes(cls, config) == _keras_attributes(keras, cls, config)


# --- shapes: each operation's output shape as Keras' compute_output_spec gives it ------------

_SHAPES = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


@st.composite
def shaped_operations(draw):
    """An operation with settings and the sample shapes of its tensor inputs (some that Keras
    refuses, some whose batch axis moves)."""
    cls = draw(st.sampled_from(["Add", "Matmul", "Concatenate", "Reshape", "Transpose", "Mean",
                                "Sum", "Softmax"]))
    first = draw(_SHAPES)
    axis = st.integers(-4, 3)
    if cls in ("Add", "Matmul"):
        other = draw(st.one_of(st.just(first), _SHAPES, st.just(first[::-1])))
        return cls, {}, [first, other]
    if cls == "Concatenate":
        other = tuple(d if i != len(first) - 1 else draw(st.integers(1, 3))
                      for i, d in enumerate(first))
        return cls, {"axis": draw(axis)}, [first, draw(st.sampled_from([first, other]))]
    if cls == "Reshape":
        size = int(np.prod(first))
        shape = draw(st.sampled_from([[-1, size], [-1, 1, size], [None, size], [-1, size, -1],
                                      [2, -1], [-1, size + 1], [-1, -2]]))
        return cls, {"newshape": shape}, [first]
    if cls == "Transpose":
        rank = len(first) + 1
        axes = draw(st.one_of(st.none(), st.permutations(range(rank)).map(list),
                              st.lists(st.integers(-rank, rank), min_size=rank,
                                       max_size=rank)))
        return cls, {"axes": axes}, [first]
    if cls in ("Mean", "Sum"):
        return cls, {"axis": draw(st.one_of(st.none(), axis, st.lists(axis, max_size=2,
                                                                       unique=True))),
                     "keepdims": draw(st.booleans())}, [first]
    return cls, {"axis": draw(st.one_of(axis, st.lists(axis, min_size=1, max_size=2,
                                                       unique=True)))}, [first]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=shaped_operations())
def test_output_shapes_are_keras_compute_output_spec(keras, case):
    """The file reader's output shape of an operation is Keras' symbolic one, or it is refused
    where Keras refuses the call or the batch axis would not stay first alone (as the live
    reader refuses it)."""
    cls, config, shapes = case
    tensors = [keras.KerasTensor((None, *s)) for s in shapes]
    op = getattr(importlib.import_module(saved_ops.OPERATIONS[cls][0]), cls).from_config(
        {"name": "op", **config})
    try:
        spec = (op.compute_output_spec(tensors) if cls == "Concatenate"
                else op.compute_output_spec(*tensors))
        expected = tuple(spec.shape)
    except (ValueError, TypeError, IndexError):
        expected = None
    record = KerasOperation(None, "op", operation_kind(cls),
                            saved_ops.attributes(cls, {"name": "op", **config}))
    try:
        got = saved_ops.output_shapes(record, shapes)
    except NotForThisReader:
        assert expected is None or expected[:1] != (None,) or None in expected[1:] or any(
            d < 1 for d in expected[1:]) or (cls == "Reshape" and np.prod(expected[1:]) != np.prod(
                shapes[0])), (case, expected)  # (the converter refuses such a reshape)
        return
    assert expected is not None and got == [expected[1:]] and expected[0] is None, (case,
                                                                                     expected)


# --- no Keras, and legacy files ----------------------------------------------------------


def _all_operations(keras):
    """One graph of every operation kind, after a Dense, their outputs side by side."""
    x = keras.Input(SHAPE, name="x")
    d = keras.layers.Dense(4, name="dense")(x)
    outputs = []
    for kind in sorted(CASES):
        made = CASES[kind](keras.ops, x, d)
        outputs.append(keras.ops.reshape(made[0] if isinstance(made, list) else made,
                                         (-1, int(np.prod((made[0] if isinstance(made, list)
                                                           else made).shape[1:])))))
    model = keras.Model(x, keras.ops.concatenate(outputs, axis=1), name="every_op")
    randomize(model, 3)
    return model


def test_every_operation_in_one_file_reads_without_importing_keras(keras, tmp_path):
    model = _all_operations(keras)
    path = tmp_path / "every_op.keras"
    both_readers(model, path)
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(1, *SHAPE)
    np.save(tmp_path / "x.npy", x)
    code = ("import sys, numpy as np, symnet; net = symnet.explain(sys.argv[1], reader='file');"
            " y = net.evaluate(np.load(sys.argv[2]));"
            " net.report('text', sections='-agreement');"
            " print([m for m in ('tensorflow', 'keras') if m in sys.modules]); print(y.tolist())")
    done = subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "x.npy")],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stderr[-2000:]
    imported, values = done.stdout.strip().splitlines()[-2:]
    assert imported == "[]"
    np.testing.assert_allclose(np.array(json.loads(values)), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_legacy_files_keras_3_writes_with_operations(keras, tmp_path):
    """Keras 3 writes a model's operations into a legacy .h5 without their module, under bare
    class names (``Add``, ``Relu``) that a merge layer or a custom class could have, and cannot
    read the file back: the file reader does not take them for operations either (refused by
    name under ``file``; under ``auto`` refused as Keras refuses). The same file stating each
    operation's module (as Keras 3 reads it) is read as Keras reads it."""
    model = _all_operations(keras)
    path = tmp_path / "every_op.h5"
    model.save(path)
    with h5py.File(path) as handle:
        config = json.loads(handle.attrs["model_config"])
    ops = [e for e in config["config"]["layers"] if e["class_name"] in saved_ops.OPERATIONS
           and "trainable" not in e["config"]]
    assert ops and all("module" not in e for e in ops)
    with pytest.raises(UnsupportedLayerError, match="as Keras 3 writes it into a legacy"):
        symnet.explain(path, reader="file")
    with pytest.raises(symnet.SymnetError) as refused:
        symnet.explain(path)
    with pytest.raises(type(refused.value)):
        symnet.explain(path, reader="keras")
    for entry in ops:
        entry.update(module=saved_ops.OPERATIONS[entry["class_name"]][0],
                     registered_name=entry["class_name"])
    with h5py.File(path, "r+") as handle:
        handle.attrs["model_config"] = json.dumps(config)
    fast = symnet.explain(path, reader="file")
    same_network(fast, symnet.explain(path, reader="keras"))
    model.save(tmp_path / "every_op.keras")  # the network its .keras file gives
    same_network(fast, symnet.explain(tmp_path / "every_op.keras", reader="file"))


def test_operations_in_and_around_a_nested_model_read_as_keras_reads_them(keras, tmp_path):
    """An operation inside a model used as a layer (named by its path, as Keras' reading names
    it) and on that model's outputs."""
    o = keras.ops
    inner_x = keras.Input(SHAPE, name="inner_x")
    h = keras.layers.Dense(4, name="inner_dense")(inner_x)
    inner = keras.Model(inner_x, [o.relu(h) * 0.5, o.mean(h, axis=1)], name="inner")
    x = keras.Input(SHAPE, name="x")
    first, second = inner(x)
    again, _ = inner(o.tanh(x))
    model = keras.Model(x, [o.concatenate([first + again, x], axis=-1), o.softmax(second)],
                        name="outer")
    randomize(model, 8)
    fast, _ = both_readers(model, tmp_path / "nested.keras")
    assert fast._model is None
    assert {"ops.multiply", "ops.relu", "ops.mean"} <= {
        layer.kind for layer in fast.layers if layer.name.startswith("inner/")}


def test_keras_2_operation_layers_stay_refused_by_name(tmp_path):
    """Keras 2 saved ``x + y`` as a ``TFOpLambda`` layer of function ``tf.__operators__.add``
    (code, in effect): refused by name before any reader, never handed to Keras."""
    from .robustness.test_hostile_readers import _legacy

    layers = [{"class_name": "InputLayer", "config": {
                  "batch_input_shape": [None, 3], "dtype": "float32", "sparse": False,
                  "ragged": False, "name": "x"}},
              {"class_name": "TFOpLambda", "config": {
                  "name": "tf.__operators__.add", "trainable": True, "dtype": "float32",
                  "function": "__operators__.add"}}]
    path = _legacy(tmp_path / "tfop.h5", layers, {})
    for reader in ("file", "auto", "keras"):
        with pytest.raises(UnsupportedLayerError, match="TFOpLambda"):
            symnet.explain(path, reader=reader)


# --- tampered files: refused by name, or left to Keras ------------------------------------


@pytest.fixture(scope="module")
def ops_file(keras, tmp_path_factory):
    """A graph of a Dense, a mean, a constant product, a residual sum, a concatenation and a
    softmax, saved by Keras; read the same either way."""
    o = keras.ops
    x = keras.Input(SHAPE, name="x")
    d = keras.layers.Dense(4, name="dense")(x)
    scaled = o.multiply(d, 2.0)
    joined = o.concatenate([o.add(x, scaled), o.relu(d)], axis=1)
    model = keras.Model(x, [o.mean(joined, axis=1), o.softmax(joined, axis=-1)], name="ops")
    randomize(model, 5)
    path = tmp_path_factory.mktemp("ops") / "ops.keras"
    both_readers(model, path)
    return path


def _entry(config: dict, cls: str) -> dict:
    return next(e for e in config["config"]["layers"] if e["class_name"] == cls)


def _arg(cls: str, index: int, value):
    def edit(config):
        _entry(config, cls)["inbound_nodes"][0]["args"][index] = value
    return edit


def _set(cls: str, key: str, value=None, remove: bool = False):
    def edit(config):
        entry = _entry(config, cls)
        if key == "class_name":  # as Keras writes it, registered under its class name
            entry.update(class_name=value, registered_name=value)
        elif key in ("module", "registered_name"):
            entry[key] = value
        elif remove:
            del entry["config"][key]
        else:
            entry["config"][key] = value
    return edit


def _called_twice(config):
    entry = _entry(config, "Relu")
    entry["inbound_nodes"].append(copy.deepcopy(entry["inbound_nodes"][0]))


def _integer_input(config):
    _entry(config, "InputLayer")["config"]["dtype"] = "int32"
    for entry in config["config"]["layers"]:
        for node in entry["inbound_nodes"]:
            for arg in node["args"]:
                for item in arg if isinstance(arg, list) else [arg]:
                    if isinstance(item, dict) and item.get("config", {}).get(
                            "keras_history", [""])[0] == "x":
                        item["config"]["dtype"] = "int32"


def _append_reshape(newshape):
    """The model's first output reshaped to ``newshape`` (an operation after it)."""
    def edit(config):
        layers = config["config"]["layers"]
        first = config["config"]["output_layers"][0]
        mean = next(e for e in layers if e["name"] == first[0])
        tensor = {"class_name": "__keras_tensor__", "config": {
            "shape": [None, 4], "dtype": "float32", "keras_history": first}}
        layers.insert(layers.index(mean) + 1, {
            "module": "keras.src.ops.numpy", "class_name": "Reshape", "registered_name":
            "Reshape", "name": "reshaped", "config": {"name": "reshaped", "newshape": newshape},
            "inbound_nodes": [{"args": [tensor], "kwargs": {}}]})
        config["config"]["output_layers"][0] = ["reshaped", 0, 0]
    return edit


#: (edit, what the file reader's refusal names)
TAMPERING = {
    "unknown_setting": (_set("Mean", "where", True), "setting 'where'"),
    "missing_setting": (_set("Mean", "keepdims", remove=True), "keepdims not stated"),
    "setting_of_another_kind": (_set("Concatenate", "axis", "1"), "axis=1, expected an "
                                                                   "integer"),
    "string_constant": (_arg("Multiply", 1, "2.0"), "argument 1 is str"),
    "null_constant": (_arg("Multiply", 1, None), "argument 1 is NoneType"),
    "list_constant": (_arg("Multiply", 1, [1.0, 2.0, 3.0, 4.0]), "argument 1 is list"),
    "infinite_constant": (_arg("Multiply", 1, float("inf")), "not a tensor, a finite number"),
    "float64_constant": (_arg("Multiply", 1, {"class_name": "__numpy__", "config": {
        "value": [1.0, 2.0, 3.0, 4.0], "dtype": "float64"}}), "dtype float64"),
    "string_array": (_arg("Multiply", 1, {"class_name": "__numpy__", "config": {
        "value": ["1", "2", "3", "4"], "dtype": "float32"}}), "not of finite numbers"),
    "tensor_constant": (_arg("Multiply", 1, {"class_name": "__tensor__", "config": {
        "value": [1.0, 2.0, 3.0, 4.0], "dtype": "float32"}}), "__tensor__"),
    "class_changed_to_another_it_reads": (_set("Relu", "class_name", "Relu6"), None),
    "called_twice": (_called_twice, "called 2 times"),
    "integer_input": (_integer_input, "tensor of dtype int32"),
    "input_dtype_not_as_stated": (_set("InputLayer", "dtype", "int32"),
                                  "output of 'dense' not known to be float32"),
    "batch_axis_moved": (_set("Mean", "axis", 0), "the batch axis does not stay first"),
    "huge_constant": (_arg("Multiply", 1, 10**400), "argument 1 is int"),
    "huge_axis": (_set("Concatenate", "axis", 10**400), "concatenate"),
    "reshape_across_samples": (_append_reshape([-1, 3]), "moves numbers between samples"),
}


@pytest.mark.parametrize("tamper", sorted(TAMPERING))
def test_tampered_operations_are_refused_by_name_or_left_to_keras(ops_file, tmp_path, tamper):
    """The file reader refuses what it does not know, naming it; ``auto`` then gives Keras'
    reading of the file, or Keras' refusal (the same with ``reader="keras"``)."""
    edit, named = TAMPERING[tamper]
    path = _edited(ops_file, tmp_path / "m.keras", edit)
    try:
        fast = symnet.explain(path, reader="file")
    except ModelLoadError as exc:
        assert "without Keras" in str(exc)
        if named is not None:
            assert named in str(exc), str(exc)
    else:
        assert named is None, f"read without Keras: {tamper}"
        same_network(fast, symnet.explain(path, reader="keras"))
        return
    try:
        auto = symnet.explain(path)
    except symnet.SymnetError as exc:
        with pytest.raises(type(exc)):
            symnet.explain(path, reader="keras")
        return
    assert auto._model is not None  # read by Keras
    same_network(auto, symnet.explain(path, reader="keras"))


def test_a_reshape_to_a_huge_axis_is_refused_by_the_file_reader(ops_file, tmp_path):
    """Not read by Keras here: symnet's reading of Keras' model names every output number."""
    path = _edited(ops_file, tmp_path / "m.keras", _append_reshape([-1, 10**30]))
    with pytest.raises(ModelLoadError, match="moves numbers between samples"):
        symnet.explain(path, reader="file")


@pytest.mark.parametrize(("edit", "named"), [
    (_set("Mean", "class_name", "Power"), "keras.ops.power"),
    (_set("Add", "module", "os"), "module 'os'"),
    (_set("Add", "module", "keras_contrib.ops"), "module 'keras_contrib.ops'"),
    (_set("Add", "registered_name", "evil>Add"), "evil>Add"),
    (_set("Relu", "class_name", "Popen"), "keras.ops.popen"),
    (_set("Add", "module", "keras.src.ops.nn"), "Keras defines it in keras.src.ops.numpy"),
    (_set("Add", "module", "keras.src.ops.numpy.os"), "module 'keras.src.ops.numpy.os'"),
    (_set("Relu", "class_name", "RELU"), "no operation class of that name"),
])
def test_operations_keras_would_import_are_refused_before_any_reader(ops_file, tmp_path, edit,
                                                                     named):
    """An operation entry naming a class symnet has no converter for, a module outside Keras'
    operations or other than the one Keras defines its class in, a class of another spelling,
    or a registered custom name: refused by name by the config scan, before the file reader or
    Keras reads anything (nothing is imported), whichever reader is asked for."""
    path = _edited(ops_file, tmp_path / "m.keras", edit)
    for reader in ("file", "auto", "keras"):
        with pytest.raises(symnet.SymnetError, match=named.replace(".", r"\.")):
            symnet.explain(path, reader=reader)


def test_operations_keras_would_import_are_refused_without_importing_keras(ops_file, tmp_path):
    paths = [_edited(ops_file, tmp_path / f"m{i}.keras", edit) for i, edit in enumerate([
        _set("Add", "module", "os"), _set("Mean", "class_name", "Power"),
        _set("Add", "registered_name", "evil>Add")])]
    code = ("import sys, symnet\nfor p in sys.argv[1:]:\n    try:\n"
            "        symnet.explain(p)\n    except symnet.SymnetError as e:\n"
            "        print('refused', type(e).__name__)\n"
            "print([m for m in ('tensorflow', 'keras') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code, *map(str, paths)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len([line for line in lines if line.startswith("refused")]) == 3
    assert lines[-1] == "[]"


@st.composite
def operation_mutations(draw):
    """Arbitrary JSON for an operation's setting, its class, or one of its call's
    arguments."""
    target = draw(st.sampled_from(["setting", "new_setting", "argument", "class_name"]))
    return target, draw(st.integers(0, 20)), draw(_json)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutation=operation_mutations())
def test_malformed_operations_are_refused_or_read_as_keras_reads_them(ops_file, mutation,
                                                                     tmp_path_factory):
    target, index, junk = mutation

    def edit(config):
        ops = [e for e in config["config"]["layers"] if e["module"].startswith("keras.src.ops")]
        entry = ops[index % len(ops)]
        if target == "setting":
            keys = sorted(entry["config"])
            entry["config"][keys[index % len(keys)]] = junk
        elif target == "new_setting":
            entry["config"][str(junk)[:8]] = junk
        elif target == "argument":
            args = entry["inbound_nodes"][0]["args"]
            args[index % len(args)] = junk
        else:
            entry["class_name"] = entry["registered_name"] = junk if isinstance(
                junk, str) else sorted(saved_ops.OPERATIONS)[index % len(saved_ops.OPERATIONS)]

    _same_or_refused(_edited(ops_file, tmp_path_factory.mktemp("m") / "m.keras", edit))
