"""Models used as layers (a GAN's generator and discriminator, a shared encoder) read from
``.keras`` and legacy ``.h5`` files without Keras: the network Keras reads, every formula,
weight, name and flag; what the reader does not know exactly is refused by name and left to
Keras."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

import symnet
from symnet import ModelLoadError

from .conftest import randomize
from .test_no_keras import _no_keras
from .test_saved_reader import _edit_config, both_readers


def _sequential_in_functional(keras):
    """A Sequential with a BatchNormalization, called by a functional model."""
    L = keras.layers
    inp = keras.Input((3,))
    inner = keras.Sequential([keras.Input((3,)), L.Dense(4, activation="tanh"),
                              L.BatchNormalization()], name="inner")
    return keras.Model(inp, L.Dense(1)(inner(inp)), name="outer")


def _functional_twice(keras):
    """A functional model of two inputs called twice (the second time on its inputs swapped),
    a Sequential reading its first call, both outputs of the model (one a nested model's)."""
    L = keras.layers
    a, b = keras.Input((3,)), keras.Input((3,))
    ia, ib = keras.Input((3,)), keras.Input((3,))
    inner = keras.Model([ia, ib], L.Dense(2, activation="relu")(L.Concatenate()([ia, ib])),
                        name="g")
    judge = keras.Sequential([keras.Input((2,)), L.Dense(1, activation="sigmoid")], name="d")
    return keras.Model([a, b], [judge(inner([a, b])), inner([b, a])], name="pair")


def _gan(keras):
    """A Sequential of two Sequentials, the second frozen (a GAN's combined model)."""
    L = keras.layers
    g = keras.Sequential([keras.Input((5,)), L.Dense(4, activation="relu", name="g1"),
                          L.Dense(2, name="g2")], name="g")
    d = keras.Sequential([keras.Input((2,)), L.Dense(3, activation="relu", name="d1"),
                          L.Dense(1, activation="sigmoid", name="d2")], name="d")
    d.trainable = False
    return keras.Sequential([keras.Input((5,)), g, d], name="gan")


def _mixed_flags(keras):
    """A nested model whose trainable and frozen variables interleave: a legacy file lists
    its trainable ones first, Keras' weights order does not."""
    L = keras.layers
    inner = keras.Sequential([keras.Input((3,)), L.BatchNormalization(name="bn"),
                              L.Dense(3, name="d1"), L.Dense(2, name="d2")], name="inner")
    inner.layers[1].trainable = False
    inp = keras.Input((3,))
    return keras.Model(inp, L.Dense(1)(inner(inp)))


def _two_deep(keras):
    """A model in a model in a model."""
    L = keras.layers
    core = keras.Sequential([keras.Input((3,)), L.Dense(3, activation="elu")], name="core")
    mid_in = keras.Input((3,))
    mid = keras.Model(mid_in, L.Add()([mid_in, core(mid_in)]), name="mid")
    inp = keras.Input((3,))
    return keras.Model(inp, L.Dense(2)(mid(inp)), name="top")


def _recurrent_inside(keras):
    """Wrapped recurrent layers inside a nested Sequential."""
    L = keras.layers
    inner = keras.Sequential([keras.Input((4, 2)), L.Bidirectional(L.LSTM(2)),
                              L.Dense(2)], name="encoder")
    inp = keras.Input((4, 2))
    return keras.Model(inp, L.Dense(1)(inner(inp)))


MODELS = {"sequential_in_functional": _sequential_in_functional,
          "functional_twice": _functional_twice, "gan": _gan, "mixed_flags": _mixed_flags,
          "two_deep": _two_deep, "recurrent_inside": _recurrent_inside}


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("case", sorted(MODELS))
def test_nested_models_read_as_keras_reads_them(keras, tmp_path, case, suffix):
    model = MODELS[case](keras)
    randomize(model, seed=len(case))
    if case == "two_deep" and suffix == ".h5":  # a model in a nested model of a legacy file
        model.save(tmp_path / "m.h5")
        with pytest.raises(ModelLoadError, match="inside a model used as a layer"):
            symnet.explain(tmp_path / "m.h5", reader="file")
        return
    fast, _ = both_readers(model, tmp_path / f"m{suffix}")
    assert fast._model is None and any("/" in layer.name for layer in fast.layers)
    assert fast.keras_layer_names == tuple(layer.name for layer in model.layers)


def test_a_nested_network_is_the_numpy_calculation_of_its_arrays(keras, tmp_path):
    """Independent of both readers: the GAN's output from the file's own arrays by numpy,
    the generator's relu and the discriminator's sigmoid included."""
    model = _gan(keras)
    randomize(model, seed=3)
    model.save(tmp_path / "gan.h5")
    net = symnet.explain(tmp_path / "gan.h5", reader="file")
    with h5py.File(tmp_path / "gan.h5") as handle:
        g, d = handle["model_weights/g"], handle["model_weights/d"]
        k1, b1 = g["g/g1/kernel"][()], g["g/g1/bias"][()]
        k2, b2 = g["g/g2/kernel"][()], g["g/g2/bias"][()]
        k3, b3 = d["d/d1/kernel"][()], d["d/d1/bias"][()]
        k4, b4 = d["d/d2/kernel"][()], d["d/d2/bias"][()]
    x = np.random.default_rng(0).normal(size=(7, 5))
    h = np.maximum(x @ k1 + b1, 0) @ k2 + b2
    want = 1 / (1 + np.exp(-(np.maximum(h @ k3 + b3, 0) @ k4 + b4)))
    np.testing.assert_allclose(net.evaluate(x.astype(np.float32)), want, rtol=1e-5, atol=1e-6)
    flags = {(layer.name, p.name): p.trainable for layer in net.layers for p in layer.params}
    assert flags[("g/g1", "kernel")] and not flags[("d/d2", "bias")]


def _frozen_model_of_trainable_layers(config):
    for entry in config["config"]["layers"]:
        if entry["class_name"] == "Sequential":
            entry["config"]["trainable"] = False


def _output_at_node_zero(config):
    config["config"]["output_layers"][1][1] = 0


def _training_call(config):
    for entry in config["config"]["layers"]:
        if entry["class_name"] == "Functional":
            entry["inbound_nodes"][0]["kwargs"]["training"] = True


def _keras_2_calls(config):
    for entry in config["config"]["layers"]:
        if entry["class_name"] == "Sequential":
            entry["inbound_nodes"] = [[["g", 0, 0, {}]]]


def _unknown_model_option(config):
    for entry in config["config"]["layers"]:
        if entry["class_name"] == "Functional":
            entry["config"]["steps_per_execution"] = 2


@pytest.mark.parametrize("edit, model, why", [
    (_frozen_model_of_trainable_layers, _functional_twice, "frozen and its layers are not"),
    (_output_at_node_zero, _functional_twice, "node 0 of a functional model"),
    (_training_call, _functional_twice, "arguments"),
    (_keras_2_calls, _functional_twice, "Keras 2's form"),
    (_unknown_model_option, _functional_twice, "model options"),
])
def test_nested_models_the_reader_does_not_know_exactly_are_refused(keras, tmp_path, edit,
                                                                    model, why):
    """An edited file the reader would have to guess about: refused by name under
    ``reader="file"``, never read otherwise than Keras reads it."""
    made = model(keras)
    randomize(made, seed=5)
    path = tmp_path / "m.keras"
    made.save(path)
    _edit_config(path, edit)
    with pytest.raises(ModelLoadError, match=why):
        symnet.explain(path, reader="file")


def _legacy_weights(path, edit) -> None:
    with h5py.File(path, "r+") as handle:
        edit(handle["model_weights"])


def _reordered(weights) -> None:
    """The nested model's variables listed in Keras' weights order, not trainable first
    (each name still its own variable's)."""
    group = weights["inner"]
    names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
    by_layer = sorted(names, key=lambda n: ["bn", "d1", "d2"].index(n.split("/")[-2]))
    assert by_layer != names
    group.attrs["weight_names"] = np.array(by_layer, dtype=h5py.string_dtype())


def _foreign(weights) -> None:
    group = weights["inner"]
    names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
    names[0] = "inner/elsewhere/" + names[0].split("/")[-1]
    group.attrs["weight_names"] = np.array(names, dtype=h5py.string_dtype())


@pytest.mark.parametrize("edit, why", [(_reordered, "not in the order Keras assigns"),
                                       (_foreign, "of no layer of the model")])
def test_legacy_nested_weights_are_matched_by_name_and_keras_order(keras, tmp_path, edit,
                                                                   why):
    model = _mixed_flags(keras)
    randomize(model, seed=2)
    path = tmp_path / "m.h5"
    model.save(path)
    _legacy_weights(path, edit)
    with pytest.raises(ModelLoadError, match=why):
        symnet.explain(path, reader="file")


def test_nested_models_never_import_keras(keras, tmp_path):
    """Every command on a file with nested models (.keras and .h5) runs without Keras."""
    paths = []
    for case in ("functional_twice", "gan"):
        model = MODELS[case](keras)
        randomize(model, seed=1)
        for suffix in (".keras", ".h5"):
            model.save(tmp_path / f"{case}{suffix}")
            paths.append(tmp_path / f"{case}{suffix}")
    _no_keras(paths)


def test_the_nested_config_keras_writes_is_what_the_reader_reads(keras, tmp_path):
    """The forms the reader relies on, as this Keras writes them: a functional model's calls
    counted from 1 in the model's outputs and from 0 in calls; a Sequential's from 0."""
    model = _functional_twice(keras)
    model.save(tmp_path / "m.keras")
    import zipfile

    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))["config"]
    assert config["output_layers"] == [["d", 0, 0], ["g", 2, 0]]
    calls = {e["name"]: e["inbound_nodes"] for e in config["layers"]}
    history = calls["d"][0]["args"][0]["config"]["keras_history"]
    assert history == ["g", 0, 0]


def _compiled(keras):
    """A discriminator compiled before it is nested (as GAN code does): Keras compiles it
    again as it loads it; its optimizer's variables are in the file."""
    L = keras.layers
    inner = keras.Sequential([keras.Input((3,)), L.Dense(2, activation="sigmoid")], name="d")
    inner.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy",
                  metrics=["mae", keras.metrics.AUC()])
    inp = keras.Input((3,))
    return keras.Model(inp, L.Dense(1)(inner(inp)))


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_compiled_nested_model_reads_as_keras_reads_it(keras, tmp_path, suffix):
    model = _compiled(keras)
    randomize(model, seed=4)
    fast, _ = both_readers(model, tmp_path / f"m{suffix}")
    assert fast._model is None


@pytest.mark.parametrize("reader", ["file", "keras", "auto"])
def test_code_in_a_nested_models_compile_config_is_refused_before_any_import(
        keras, tmp_path, reader):
    """Keras compiles a nested model from its compile_config as it loads it: a loss naming
    another module than Keras' is refused, whichever reader, before anything is imported."""
    model = _compiled(keras)
    path = tmp_path / "m.keras"
    model.save(path)

    def hostile(config):
        for entry in config["config"]["layers"]:
            if entry["class_name"] == "Sequential":
                entry["compile_config"]["loss"] = {"module": "os", "class_name": "system",
                                                   "config": "true", "registered_name": None}

    _edit_config(path, hostile)
    with pytest.raises(ModelLoadError, match="'os.system'.*nothing was imported"):
        symnet.explain(path, reader=reader)


def test_a_live_nested_model_called_in_training_mode_is_refused(keras):
    """``inner(x, training=True)``: Keras computes its Dropout and BatchNormalization as in
    training even in predict; symnet's inference formula would not be Keras' number."""
    L = keras.layers
    inp = keras.Input((3,))
    inner = keras.Sequential([keras.Input((3,)), L.Dense(2), L.Dropout(0.5)], name="inner")
    with pytest.raises(symnet.UnsupportedLayerError, match="training=True"):
        symnet.explain(keras.Model(inp, L.Dense(1)(inner(inp, training=True))))
    assert symnet.explain(keras.Model(inp, L.Dense(1)(inner(inp, training=False))))
