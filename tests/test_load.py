"""Loading: files in safe mode, clear named errors for everything that is not an exact model."""

from __future__ import annotations

import re
import warnings
import zipfile

import numpy as np
import pytest

import symnet
from symnet import InvalidInputError, ModelLoadError, SymnetWarning, UnsupportedLayerError

from .conftest import assert_faithful, predict, randomize


def small_model(keras):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="relu"),
                              keras.layers.Dense(1)])
    randomize(model)
    return model


def test_keras_and_h5_files_load_like_the_object(keras, tmp_path):
    model = small_model(keras)
    x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    for suffix in (".keras", ".h5"):
        path = tmp_path / f"m{suffix}"
        model.save(path)
        net = symnet.explain(path)
        np.testing.assert_allclose(net.evaluate(x), predict(model, x), rtol=1e-6, atol=1e-6)
        assert net.evaluate(x).shape == (5, 1)
    assert symnet.explain(str(tmp_path / "m.keras")).param_count == model.count_params()


def test_lambda_layer_is_refused_by_name_without_running_it(keras, tmp_path):
    marker = tmp_path / "ran"
    inp = keras.Input((2,))
    out = keras.layers.Lambda(lambda t: t * 2, name="doubler")(inp)
    model = keras.Model(inp, keras.layers.Dense(1)(out))
    with pytest.raises(UnsupportedLayerError, match=r"'doubler'.*Lambda.*Supported layer classes"):
        symnet.explain(model)
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(UnsupportedLayerError, match=r"'doubler'.*Lambda") as info:
        symnet.explain(path)
    assert info.value.layer == "doubler" and info.value.kind == "Lambda"
    assert not marker.exists()


def test_custom_layers_are_refused(keras, tmp_path):
    @keras.saving.register_keras_serializable(package="tests")
    class Doubling(keras.layers.Layer):
        def call(self, inputs):
            return inputs * 2

    class Dense(keras.layers.Dense):  # same name as Keras' own: still a custom class
        pass

    for layer in (Doubling(name="twice"), Dense(2, name="fake_dense")):
        model = keras.Sequential([keras.Input((2,)), layer])
        with pytest.raises(UnsupportedLayerError, match=layer.name):
            symnet.explain(model)
    model = keras.Sequential([keras.Input((2,)), Doubling(name="twice")])
    path = tmp_path / "custom.keras"
    model.save(path)
    with pytest.raises(UnsupportedLayerError, match=r"'twice'.*Doubling"):
        symnet.explain(path)


def test_unsupported_keras_layer_lists_what_is_supported(keras):
    model = keras.Sequential([keras.Input((4, 1)), keras.layers.Masking(name="mask")])
    with pytest.raises(UnsupportedLayerError) as info:
        symnet.explain(model)
    message = str(info.value)
    assert "'mask'" in message and "Masking" in message and "BatchNormalization" in message
    assert "skip time steps per sample" in message


def test_nested_models_are_read_in_place_with_their_names_as_paths(keras, tmp_path):
    inner = small_model(keras)
    inner.name = "inner"
    x = keras.Input((2,))
    shared = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2, activation="tanh")],
                              name="head")
    out = keras.layers.Add()([shared(inner(x)), shared(keras.layers.Dense(1)(x))])
    outer = keras.Model(x, out, name="outer")
    randomize(outer, 4)
    data = np.random.default_rng(2).normal(size=(7, 2)).astype(np.float32)
    net = assert_faithful(outer, data)
    names = [layer.name for layer in net.layers]
    assert "inner/" + inner.layers[0].name in names and "head/" + shared.layers[0].name in names
    assert net.param_count == outer.count_params()
    path = tmp_path / "nested.keras"
    outer.save(path)
    np.testing.assert_allclose(symnet.explain(path).evaluate(data), predict(outer, data),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("name", "content", "match"), [
    ("missing.keras", None, "no such file"),
    ("empty.keras", b"", "empty"),
    ("junk.keras", b"this is not a zip archive", "not a valid Keras"),
    ("junk.h5", b"\x89HDF\r\n junk", "not a valid Keras"),
    ("model.txt", b"{}", "expected a .keras or .h5"),
])
def test_bad_files(tmp_path, name, content, match):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelLoadError, match=match):
        symnet.explain(path)


def test_directory_and_truncated_archive(keras, tmp_path):
    with pytest.raises(ModelLoadError, match="directory"):
        symnet.explain(tmp_path)
    good = tmp_path / "good.keras"
    small_model(keras).save(good)
    data = good.read_bytes()
    cut = tmp_path / "cut.keras"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="cut.keras"):
        symnet.explain(cut)
    # An archive whose config is fine but whose weights are gone.
    hollow = tmp_path / "hollow.keras"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(hollow, "w") as dst:
        for item in src.namelist():
            if item.endswith("config.json"):
                dst.writestr(item, src.read(item))
    with pytest.raises(ModelLoadError, match="hollow.keras"):
        symnet.explain(hollow)


def test_h5_with_weights_only_is_refused(keras, tmp_path):
    path = tmp_path / "only.weights.h5"
    small_model(keras).save_weights(path)
    with pytest.raises(ModelLoadError, match="model_config|not a valid"):
        symnet.explain(path)


def test_not_a_model():
    with pytest.raises(InvalidInputError, match="expected a keras.Model"):
        symnet.explain(42)


def test_unbuilt_model(keras):
    with pytest.raises(ModelLoadError, match="not built"):
        symnet.explain(keras.Sequential([keras.layers.Dense(2)]))


def test_nan_weights_warn_with_layer_and_array_and_propagate(keras):
    model = small_model(keras)
    kernel, bias = model.layers[0].get_weights()
    bias[1] = np.nan
    model.layers[0].set_weights([kernel, bias])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = symnet.explain(model)
    messages = [str(w.message) for w in caught if issubclass(w.category, SymnetWarning)]
    assert any("dense" in m and "'bias'" in m and "NaN" in m for m in messages)
    x = np.ones((2, 2), np.float32)
    np.testing.assert_array_equal(np.isnan(net.evaluate(x)), np.isnan(predict(model, x)))
    with pytest.raises(InvalidInputError, match="finite"):
        net.evaluate(x, "exact")


def test_inf_weights_are_named(keras):
    model = small_model(keras)
    kernel, bias = model.layers[1].get_weights()
    kernel[0, 0] = np.inf
    model.layers[1].set_weights([kernel, bias])
    name = re.escape(model.layers[1].name)
    with pytest.warns(SymnetWarning, match=rf"'{name}'.*'kernel'.*NaN or Inf"):
        symnet.explain(model)


def test_h5_with_a_config_but_no_weights(keras, tmp_path):
    import h5py

    path = tmp_path / "hollow.h5"
    small_model(keras).save(path)
    with h5py.File(path, "r+") as handle:
        del handle["model_weights"]
    with pytest.raises(ModelLoadError, match="hollow.h5"):
        symnet.explain(path)


def test_output_path_that_is_a_folder(capsys, tmp_path):
    from symnet.cli import main

    (tmp_path / "taken").mkdir()
    code = main(["explain", str(symnet.examples.regressor_path()), "-o", str(tmp_path / "taken")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("symnet: error: cannot write")
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]
