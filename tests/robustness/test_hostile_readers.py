"""Hostile files for the readers of issue 24: the known ways around Keras' ``safe_mode``
(module and function names in ``config.json``, ``__lambda__`` code, pickled data in HDF5
attributes) refused with a clear error before anything is imported; the file reader's limits
on legacy HDF5 files; hypothesis writing malformed functional configs and legacy weights:
refused by name, or read as Keras reads them."""

from __future__ import annotations

import base64
import json
import marshal
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symnet

from ..conftest import randomize
from ..test_saved_reader import same_network

EXAMPLE = Path(symnet.__file__).parent / "examples" / "regressor_2x_plus_5.keras"


def _members(path: Path = EXAMPLE) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _written(path: Path, config: dict, source: Path = EXAMPLE) -> Path:
    members = _members(source)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _code() -> dict:
    """A function serialized as Keras serializes a lambda: marshalled bytecode."""
    code = compile("open('PWNED', 'w').write('x')", "<x>", "exec")
    return {"class_name": "__lambda__", "config": {
        "code": base64.b64encode(marshal.dumps(code)).decode(), "defaults": None,
        "closure": None}}


def _bypass(kind: str) -> dict:
    config = json.loads(_members()["config.json"])
    dense = next(layer for layer in config["config"]["layers"]
                 if layer["class_name"] == "Dense")
    options = dense["config"]
    if kind == "module_os":
        dense.update(module="os", class_name="system", registered_name=None)
    elif kind == "module_lookalike":  # a module whose name starts like Keras'
        dense.update(module="keras_contrib.layers")
    elif kind == "keras_utils_get_file":  # a Keras function reached as an initializer
        options["kernel_initializer"] = {
            "module": "keras.utils", "class_name": "get_file", "registered_name": None,
            "config": {"fname": "PWNED", "origin": "http://127.0.0.1:9/x"}}
    elif kind == "keras_config":
        options["bias_initializer"] = {
            "module": "keras.config", "class_name": "enable_unsafe_deserialization",
            "registered_name": None, "config": {}}
    elif kind == "builtins_function":
        options["activation"] = {"module": "builtins", "class_name": "function",
                                 "config": "exec", "registered_name": "function"}
    elif kind == "lambda_activation":
        options["activation"] = _code()
    elif kind == "lambda_layer":
        dense.update(class_name="Lambda", config={
            "name": options["name"], "function": _code(), "output_shape": None,
            "arguments": {}})
    elif kind == "legacy_lambda":  # Keras 2's form: (bytecode, defaults, closure)
        dense.update(class_name="Lambda", module=None, config={
            "name": options["name"], "function": [_code()["config"]["code"], None, None],
            "function_type": "lambda", "arguments": {}})
    elif kind == "wrapped_lambda":  # code inside a layer symnet supports
        dense.update(class_name="TimeDistributed", config={
            "name": options["name"], "layer": {"module": "keras.layers",
                                               "class_name": "Lambda", "config": {
                                                   "name": "inner", "function": _code()}}})
    elif kind in ("wrapped_tfsm", "wrapped_torch"):  # Keras layers that load outside files
        inner = ({"class_name": "TFSMLayer", "config": {
            "name": "inner", "filepath": "/tmp/attacker/savedmodel", "call_endpoint": "serve"}}
            if kind == "wrapped_tfsm" else {"class_name": "TorchModuleWrapper", "config": {
                "name": "inner", "module": base64.b64encode(b"pickled").decode()}})
        dense.update(class_name="TimeDistributed", config={
            "name": options["name"], "layer": {"module": "keras.layers", **inner}})
    elif kind == "custom_registered":
        options["kernel_constraint"] = {"module": "keras.constraints", "class_name": "Evil",
                                        "registered_name": "evil>Evil", "config": {}}
    return config


BYPASSES = ["module_os", "module_lookalike", "keras_utils_get_file", "keras_config",
            "builtins_function", "lambda_activation", "lambda_layer", "legacy_lambda",
            "wrapped_lambda", "wrapped_tfsm", "wrapped_torch", "custom_registered"]

#: The command line on each file in a new process: its exit code, its error, what it imported.
_RUNNER = r"""
import contextlib, io, json, sys
from symnet.cli import main
out = []
for path in sys.argv[1:]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["explain", path, "--format", "text", "--reader", "auto"])
    out.append([path, code, err.getvalue(),
                sorted(m for m in ("tensorflow", "keras", "h5py") if m in sys.modules)])
print(json.dumps(out))
"""


def _refused_in_a_new_process(paths: list[Path], cwd: Path) -> list:
    done = subprocess.run([sys.executable, "-c", _RUNNER, *map(str, paths)],
                          capture_output=True, text=True, timeout=300, cwd=cwd,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
                               "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_safe_mode_bypasses_are_refused_before_anything_is_imported(tmp_path):
    paths = [_written(tmp_path / f"{kind}.keras", _bypass(kind)) for kind in BYPASSES]
    results = _refused_in_a_new_process(paths, tmp_path)
    for kind, (_path, code, err, imported) in zip(BYPASSES, results):
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("symnet: error:"), (
            kind, err)
        assert "keras" not in imported and "tensorflow" not in imported, (kind, imported)
    assert not (tmp_path / "PWNED").exists()
    shown = {kind: r[2] for kind, r in zip(BYPASSES, results)}
    assert "'os.system'" in shown["module_os"] or "system" in shown["module_os"]
    assert "get_file" in shown["keras_utils_get_file"]
    assert "enable_unsafe_deserialization" in shown["keras_config"]
    assert "builtins" in shown["builtins_function"]
    assert "__lambda__" in shown["lambda_activation"]
    assert "Lambda" in shown["lambda_layer"] and "Lambda" in shown["legacy_lambda"]
    assert "Lambda" in shown["wrapped_lambda"] or "__lambda__" in shown["wrapped_lambda"]
    assert "TFSMLayer" in shown["wrapped_tfsm"]
    assert "TorchModuleWrapper" in shown["wrapped_torch"]
    assert "evil>Evil" in shown["custom_registered"]


def _legacy(path: Path, layers: list[dict], weights: dict[str, dict[str, np.ndarray]],
            version: str = "2.10.0") -> Path:
    """A legacy HDF5 model file written by hand, as Keras 2 writes one."""
    config = {"class_name": "Sequential", "config": {"name": "m", "layers": layers}}
    with h5py.File(path, "w") as handle:
        handle.attrs["keras_version"] = version
        handle.attrs["backend"] = "tensorflow"
        handle.attrs["model_config"] = json.dumps(config)
        group = handle.create_group("model_weights")
        group.attrs["layer_names"] = [name.encode() for name in weights]
        group.attrs["backend"] = b"tensorflow"
        group.attrs["keras_version"] = version.encode()
        for name, arrays in weights.items():
            layer = group.create_group(name)
            layer.attrs["weight_names"] = [f"{name}/{k}:0".encode() for k in arrays]
            for key, value in arrays.items():
                layer.create_dataset(f"{name}/{key}:0", data=value)
    return path


def _mlp(path: Path) -> Path:
    rng = np.random.default_rng(0)
    dense = {"trainable": True, "dtype": "float32", "use_bias": True,
             "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
             "bias_initializer": {"class_name": "Zeros", "config": {}},
             "kernel_regularizer": None, "bias_regularizer": None,
             "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}
    layers = [{"class_name": "InputLayer", "config": {
                  "batch_input_shape": [None, 3], "dtype": "float32", "sparse": False,
                  "ragged": False, "name": "dense_input"}},
              {"class_name": "Dense", "config": {**dense, "name": "dense", "units": 4,
                                                 "activation": "relu"}},
              {"class_name": "Dense", "config": {**dense, "name": "dense_1", "units": 1,
                                                 "activation": "linear"}}]
    weights = {"dense": {"kernel": rng.normal(size=(3, 4)).astype(np.float32),
                         "bias": rng.normal(size=4).astype(np.float32)},
               "dense_1": {"kernel": rng.normal(size=(4, 1)).astype(np.float32),
                           "bias": rng.normal(size=1).astype(np.float32)}}
    return _legacy(path, layers, weights)


def test_a_hand_written_legacy_file_is_read_without_keras_as_numpy_computes(tmp_path):
    path = _mlp(tmp_path / "m.h5")
    net = symnet.explain(path, reader="file")
    x = np.array([[0.5, -1.0, 2.0]])
    with h5py.File(path) as handle:
        w = handle["model_weights"]
        h = np.maximum(x @ w["dense/dense/kernel:0"][()] + w["dense/dense/bias:0"][()], 0)
        y = h @ w["dense_1/dense_1/kernel:0"][()] + w["dense_1/dense_1/bias:0"][()]
    np.testing.assert_allclose(net.evaluate(x, "float64"), y, rtol=1e-12)


def _attribute(where: str, value) -> callable:
    def edit(handle):
        target = handle if where == "/" else handle[where]
        target.attrs["payload" if where == "/" else "weight_names"] = value
    return edit


PICKLE = pickle.dumps({"x": 1})
HDF5_TAMPERING = {
    "pickle_opaque_root": _attribute("/", np.void(PICKLE)),
    "pickle_opaque_weight_names": _attribute("model_weights/dense", np.void(PICKLE)),
    "pickle_bytes_array": _attribute("model_weights/dense",
                                     np.frombuffer(PICKLE, dtype=np.uint8)),
    "external_link": lambda handle: handle["model_weights"].__setitem__(
        "extra", h5py.ExternalLink("/etc/hostname", "/")),
}


@pytest.mark.parametrize("tamper", sorted(HDF5_TAMPERING))
def test_binary_attributes_and_links_out_are_refused_before_keras(tamper, tmp_path):
    path = _mlp(tmp_path / "m.h5")
    with h5py.File(path, "r+") as handle:
        HDF5_TAMPERING[tamper](handle)
    (_path, code, err, imported), = _refused_in_a_new_process([path], tmp_path)
    assert code == 2 and err.startswith("symnet: error:") and "keras" not in imported, err
    assert "HDF5" in err


# --- hypothesis: malformed functional configs and legacy weights ------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=8)


@pytest.fixture(scope="module")
def functional_file(keras, tmp_path_factory):
    """A functional model of two inputs, merges and a shared layer, saved by Keras."""
    L = keras.layers
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    shared = L.Dense(3, activation="tanh", name="shared")
    joined = L.Concatenate(name="joined")([L.Add(name="sum")([shared(a), shared(b)]),
                                          L.Multiply(name="product")([a, b])])
    model = keras.Model([a, b], L.Dense(2, name="out")(L.BatchNormalization(name="bn")(
        joined)), name="graph")
    randomize(model, 9)
    path = tmp_path_factory.mktemp("graph") / "graph.keras"
    model.save(path)
    model.save(path.with_suffix(".h5"))
    return path


@st.composite
def functional_mutations(draw):
    """Where in a functional config to put arbitrary JSON, and what."""
    target = draw(st.sampled_from(["inbound_nodes", "call", "history", "tensor_shape",
                                   "input_layers", "output_layers", "layer_config",
                                   "class_name", "merge_axis"]))
    return target, draw(st.integers(0, 7)), draw(_json)


def _mutate(config: dict, target: str, index: int, junk) -> None:
    inner = config["config"]
    layers = [entry for entry in inner["layers"] if entry["class_name"] != "InputLayer"]
    entry = layers[index % len(layers)]
    if target in ("input_layers", "output_layers"):
        inner[target] = junk
    elif target == "inbound_nodes":
        entry["inbound_nodes"] = junk
    elif target == "call":
        entry["inbound_nodes"][0]["args"] = junk
    elif target in ("history", "tensor_shape"):
        args = entry["inbound_nodes"][0]["args"][0]
        tensor = args[0] if isinstance(args, list) else args
        tensor["config"]["keras_history" if target == "history" else "shape"] = junk
    elif target == "layer_config":
        entry["config"][sorted(entry["config"])[index % len(entry["config"])]] = junk
    elif target == "class_name":
        entry["class_name"] = junk if isinstance(junk, str) else "Subtract"
    else:
        joined = next(e for e in layers if e["class_name"] == "Concatenate")
        joined["config"]["axis"] = junk


def _same_or_refused(path: Path) -> None:
    """The file reader refuses the file by name, or reads what Keras reads."""
    try:
        fast = symnet.explain(path, reader="file")
    except symnet.SymnetError as exc:
        assert str(exc).strip()
        return
    try:
        slow = symnet.explain(path, reader="keras")
    except symnet.SymnetError as exc:
        raise AssertionError(f"read without Keras, refused by Keras: {exc}") from exc
    same_network(fast, slow)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutation=functional_mutations())
def test_malformed_functional_configs_are_refused_or_read_as_keras_reads_them(
        functional_file, mutation, tmp_path_factory):
    config = json.loads(_members(functional_file)["config.json"])
    _mutate(config, *mutation)
    _same_or_refused(_written(tmp_path_factory.mktemp("m") / "m.keras", config,
                              functional_file))


@st.composite
def weight_tampering(draw):
    how = draw(st.sampled_from(["shape", "dtype", "rename", "delete", "attribute", "swap",
                                "order", "extra"]))
    return how, draw(st.integers(0, 20)), draw(st.integers(1, 4))


def _tampered_legacy(source: Path, tampering: tuple[str, int, int], folder: Path) -> Path:
    """A copy of ``source``'s legacy .h5 file with one weight dataset moved, reshaped, renamed,
    retyped, deleted, given an attribute, swapped with another, a layer's weight_names reversed
    or an extra dataset added."""
    how, index, size = tampering
    path = folder / "m.h5"
    path.write_bytes(source.with_suffix(".h5").read_bytes())
    with h5py.File(path, "r+") as handle:
        datasets: list[str] = []
        handle["model_weights"].visititems(
            lambda name, obj: datasets.append(name) if isinstance(obj, h5py.Dataset) else None)
        name = "model_weights/" + datasets[index % len(datasets)]
        data = handle[name][()]
        if how == "shape":
            del handle[name]
            handle[name] = np.zeros((*data.shape[:-1], (data.shape or (1,))[-1] + size),
                                    np.float32)
        elif how == "dtype":
            del handle[name]
            handle[name] = data.astype(np.float64)
        elif how == "rename":
            handle.move(name, name + f"_{size}")
        elif how == "delete":
            del handle[name]
        elif how == "attribute":
            handle[name].attrs["note"] = "x"
        elif how == "swap":
            other = "model_weights/" + datasets[(index + size) % len(datasets)]
            handle.move(name, name + ".tmp")
            handle.move(other, name)
            handle.move(name + ".tmp", other)
        elif how == "order":
            group = handle["model_weights/" + name.split("/")[1]]
            names = list(group.attrs.get("weight_names", []))
            group.attrs["weight_names"] = names[::-1]
        else:
            handle[name.rsplit("/", 1)[0] + "/extra"] = np.zeros(size, np.float32)
    return path


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(tampering=weight_tampering())
def test_malformed_legacy_weights_are_refused_or_read_as_keras_reads_them(
        functional_file, tampering, tmp_path_factory):
    _same_or_refused(_tampered_legacy(functional_file, tampering,
                                      tmp_path_factory.mktemp("w")))


def test_a_legacy_axis_list_keras_3_would_drop_is_refused_by_name(tmp_path):
    """Keras 3's legacy reader drops an ``axis`` list of two axes (a LayerNormalization over
    both becomes one over the last): the file reader does not read that file either way."""
    layers = [{"class_name": "InputLayer", "config": {
                  "batch_input_shape": [None, 2, 3], "dtype": "float32", "sparse": False,
                  "ragged": False, "name": "x"}},
              {"class_name": "LayerNormalization", "config": {
                  "name": "ln", "trainable": True, "dtype": "float32", "axis": [1, 2],
                  "epsilon": 0.001, "center": True, "scale": True}}]
    ones = np.ones((2, 3), np.float32)
    path = _legacy(tmp_path / "ln.h5", layers, {"ln": {"gamma": ones, "beta": ones * 0}})
    with pytest.raises(symnet.SymnetError, match=r"axis \[1, 2\].*drops"):
        symnet.explain(path, reader="file")


@pytest.fixture(scope="module")
def wrapper_file(keras, tmp_path_factory):
    """A functional model of wrappers and attention (Bidirectional, TimeDistributed,
    MultiHeadAttention, Attention) joined by a Concatenate, saved by Keras."""
    L = keras.layers
    a = keras.Input((4, 3), name="a")
    steps = L.TimeDistributed(L.Dense(3, activation="relu"), name="each")(a)
    both = L.Bidirectional(L.GRU(2, return_sequences=True), name="both")(steps)
    heads = L.MultiHeadAttention(2, 2, name="heads")(both, a)
    scores = L.Attention(score_mode="concat", name="scores")([both, both])
    joined = L.Concatenate(name="joined")([heads, scores])
    model = keras.Model(a, L.Dense(1, name="out")(L.Flatten(name="flat")(joined)),
                        name="wrappers")
    randomize(model, 11)
    path = tmp_path_factory.mktemp("wrappers") / "wrappers.keras"
    model.save(path)
    model.save(path.with_suffix(".h5"))
    for saved in (path, path.with_suffix(".h5")):  # both read without Keras as saved
        same_network(symnet.explain(saved, reader="file"), symnet.explain(saved,
                                                                          reader="keras"))
    return path


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutation=functional_mutations())
def test_malformed_wrapper_configs_are_refused_or_read_as_keras_reads_them(
        wrapper_file, mutation, tmp_path_factory):
    """Arbitrary JSON in a wrapper's, an attention's or its call's config: refused by name, or
    read as Keras reads it."""
    config = json.loads(_members(wrapper_file)["config.json"])
    _mutate(config, *mutation)
    _same_or_refused(_written(tmp_path_factory.mktemp("m") / "m.keras", config, wrapper_file))


@st.composite
def wrapped_mutations(draw):
    """Arbitrary JSON for one key of a wrapped layer's config."""
    return draw(st.integers(0, 40)), draw(_json)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutation=wrapped_mutations())
def test_malformed_wrapped_layers_are_refused_or_read_as_keras_reads_them(
        wrapper_file, mutation, tmp_path_factory):
    index, junk = mutation
    config = json.loads(_members(wrapper_file)["config.json"])
    inner = [entry["config"][key] for entry in config["config"]["layers"]
             for key in ("layer", "backward_layer") if key in entry["config"]]
    target = inner[index % len(inner)]
    keys = sorted(target["config"])
    target["config"][keys[index % len(keys)]] = junk
    _same_or_refused(_written(tmp_path_factory.mktemp("m") / "m.keras", config, wrapper_file))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(tampering=weight_tampering())
def test_malformed_wrapper_weights_are_refused_or_read_as_keras_reads_them(
        wrapper_file, tampering, tmp_path_factory):
    """A legacy file's wrapped and projection weights moved, reshaped, renamed or retyped."""
    _same_or_refused(_tampered_legacy(wrapper_file, tampering, tmp_path_factory.mktemp("w")))


@pytest.fixture(scope="module")
def nested_file(keras, tmp_path_factory):
    """A functional model calling a nested functional model twice and a nested Sequential
    with a BatchNormalization of frozen layers, saved by Keras (.keras and .h5)."""
    L = keras.layers
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    ia, ib = keras.Input((3,), name="ia"), keras.Input((3,), name="ib")
    pair = keras.Model([ia, ib], L.Dense(2, activation="relu", name="mix")(
        L.Concatenate(name="cat")([ia, ib])), name="pair")
    judge = keras.Sequential([keras.Input((2,), name="ij"), L.Dense(3, name="j1"),
                              L.BatchNormalization(name="jbn"), L.Dense(1, name="j2")],
                             name="judge")
    judge.layers[0].trainable = False
    model = keras.Model([a, b], [judge(pair([a, b])), pair([b, a])], name="nested")
    randomize(model, 13)
    path = tmp_path_factory.mktemp("nested") / "nested.keras"
    model.save(path)
    model.save(path.with_suffix(".h5"))
    return path


@st.composite
def nested_mutations(draw):
    """Arbitrary JSON in the outer graph or in a nested model's config."""
    where = draw(st.sampled_from(["outer", "pair", "judge", "model_entry", "model_option"]))
    return where, draw(functional_mutations()), draw(st.integers(0, 20)), draw(_json)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutation=nested_mutations())
def test_malformed_nested_models_are_refused_or_read_as_keras_reads_them(
        nested_file, mutation, tmp_path_factory):
    where, inner_mutation, index, junk = mutation
    config = json.loads(_members(nested_file)["config.json"])
    models = {e["name"]: e for e in config["config"]["layers"]
              if e["class_name"] in ("Functional", "Sequential")}
    target, kind = inner_mutation[0], inner_mutation[0]
    if where == "outer" and target != "merge_axis":  # (the Concatenate is pair's)
        _mutate(config, *inner_mutation)
    elif where in ("pair", "outer"):
        _mutate(models["pair"], *inner_mutation)
    elif where == "judge":  # a Sequential: a layer's options or class
        layers = models["judge"]["config"]["layers"][1:]
        entry = layers[index % len(layers)]
        keys = sorted(entry["config"])
        if kind == "class_name":
            entry["class_name"] = junk if isinstance(junk, str) else "Dropout"
        else:
            entry["config"][keys[index % len(keys)]] = junk
    elif where == "model_entry":
        entry = models[sorted(models)[index % 2]]
        keys = sorted(entry)
        entry[keys[index % len(keys)]] = junk
    else:
        inner = models[sorted(models)[index % 2]]["config"]
        keys = sorted(inner)
        inner[keys[index % len(keys)] if target != "class_name" else "trainable"] = junk
    _same_or_refused(_written(tmp_path_factory.mktemp("m") / "m.keras", config, nested_file))


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(tampering=weight_tampering())
def test_malformed_nested_weights_are_refused_or_read_as_keras_reads_them(
        nested_file, tampering, tmp_path_factory):
    """A legacy file's nested models' weights moved, reshaped, renamed, retyped, reordered."""
    _same_or_refused(_tampered_legacy(nested_file, tampering, tmp_path_factory.mktemp("w")))
