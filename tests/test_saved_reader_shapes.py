"""The file reader (symnet.io.saved, symnet.io.legacy) on padding, cropping, upsampling,
rescaling and the transposed, depthwise and separable convolutions: the same network as Keras'
reading of the same file (every formula's srepr, weight bytes, names, trainable flags), in
``.keras`` and in Keras 3's legacy ``.h5``, on random non-trivial weights; and what such a file
states that the reader cannot know exactly is refused by name."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symnet
from symnet import ModelLoadError
from symnet.io.keras import file_layers

from .robustness.test_hostile_readers import _json, _members, _same_or_refused, _written
from .test_saved_reader import _edit_config, _frozen, both_readers, same_network, sequential


def _models(keras):
    L = keras.layers
    def head():  # new layers for each model
        return L.Flatten(), L.Dense(1)

    return {
        "transposed_1d": lambda: sequential(
            keras, (4, 2), L.Conv1DTranspose(3, 3, strides=2, activation="tanh"),
            L.Conv1DTranspose(2, 2, strides=2, padding="same", output_padding=1,
                              use_bias=False), *head()),
        "transposed_2d": lambda: sequential(
            keras, (3, 3, 2), L.Conv2DTranspose(2, (2, 3), strides=(2, 1), padding="same"),
            L.Conv2DTranspose(1, 2, strides=2, output_padding=(1, 0), activation="relu"), *head()),
        "transposed_3d": lambda: sequential(
            keras, (2, 2, 1, 1), L.Conv3DTranspose(2, 2, strides=(1, 2, 1)), *head()),
        "depthwise": lambda: sequential(
            keras, (6, 2), L.DepthwiseConv1D(3, depth_multiplier=2, padding="same"),
            L.DepthwiseConv1D(2, strides=2, padding="same", use_bias=False,
                              activation="relu"), L.Reshape((3, 2, 2)),
            L.DepthwiseConv2D((2, 1), depth_multiplier=3, dilation_rate=1), *head()),
        "separable": lambda: sequential(
            keras, (7, 2), L.SeparableConv1D(3, 2, depth_multiplier=2, dilation_rate=2,
                                             activation="tanh"),
            L.Reshape((5, 3, 1)), L.SeparableConv2D(2, 2, strides=2, padding="same",
                                                    use_bias=False), *head()),
        "frozen_convolutions": lambda: _frozen(sequential(
            keras, (3, 3, 2), L.SeparableConv2D(2, 2), L.DepthwiseConv2D(1),
            L.Conv2DTranspose(1, 2), *head()), [0, 2]),
        "moves_1d": lambda: sequential(
            keras, (5, 2), L.ZeroPadding1D((1, 2)), L.Cropping1D((2, 1)), L.UpSampling1D(2),
            L.ZeroPadding1D(1), *head()),
        "moves_2d": lambda: sequential(
            keras, (3, 3, 2), L.ZeroPadding2D(((1, 0), (2, 1))),
            L.Cropping2D(((1, 1), (0, 2))), L.UpSampling2D((2, 1)),
            L.UpSampling2D(2, interpolation="bilinear"), *head()),
        "moves_3d": lambda: sequential(
            keras, (2, 2, 2, 1), L.ZeroPadding3D(1), L.Cropping3D(((1, 0), (0, 1), (1, 1))),
            L.UpSampling3D((1, 2, 1)), *head()),
        "moves_channels_first": lambda: sequential(
            keras, (2, 3, 3), L.ZeroPadding2D(1, data_format="channels_first"),
            L.Cropping2D(((1, 0), (0, 2)), data_format="channels_first"),
            L.UpSampling2D((1, 2), data_format="channels_first"), *head()),
        "rescaling": lambda: sequential(
            keras, (2, 3), L.Rescaling(0.5, -0.25), L.Rescaling([0.5, 2.0, -1.0],
                                                                [0.1, 0.2, 0.3]),
            L.Rescaling([[2.0], [-0.5]]), *head()),
    }


CASES = ["transposed_1d", "transposed_2d", "transposed_3d", "depthwise", "separable",
         "frozen_convolutions", "moves_1d", "moves_2d", "moves_3d", "moves_channels_first",
         "rescaling"]


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("case", CASES)
def test_shapes_and_convolutions_read_as_keras_reads_them(keras, tmp_path, case, suffix):
    model = _models(keras)[case]()
    kinds = {type(layer).__name__ for layer in model.layers}
    assert kinds <= set(file_layers())
    fast, _ = both_readers(model, tmp_path / f"{case}{suffix}")
    assert fast._model is None and [layer.kind for layer in fast.layers] == [
        type(layer).__name__ for layer in model.layers]


def _refusable(keras):
    """Input (3, 3, 2); each layer's index in the saved config (the InputLayer is 0)."""
    L = keras.layers
    return sequential(keras, (3, 3, 2), L.Conv2DTranspose(2, 2, strides=2),  # 1: (6, 6, 2)
                      L.DepthwiseConv2D(2), L.SeparableConv2D(2, 2),  # 2, 3: (4, 4, 2)
                      L.Cropping2D(1), L.ZeroPadding2D(1), L.UpSampling2D(2),  # 4, 5, 6
                      L.Rescaling(0.5, 0.25), L.GlobalAveragePooling2D())  # 7, 8


@pytest.mark.parametrize("case", [
    ("output_padding_not_below_stride", 1, "output_padding", [2, 2], False),
    ("strided_and_dilated", 1, "dilation_rate", [2, 2], False),
    ("transposed_causal", 1, "padding", "causal", False),
    ("no_output_padding", 1, "output_padding", None, True),
    ("depthwise_causal", 2, "padding", "causal", False),
    ("depthwise_no_multiplier", 2, "depth_multiplier", None, True),
    ("separable_causal", 3, "padding", "causal", False),
    ("separable_no_bias_flag", 3, "use_bias", None, True),
    ("cropped_to_nothing", 4, "cropping", [[2, 2], [0, 0]], False),
    ("cropping_no_format", 4, "data_format", None, True),
    ("padding_of_three_axes", 5, "padding", [[1, 1], [1, 1], [1, 1]], False),
    ("padding_no_format", 5, "data_format", None, True),
    ("size_of_three_axes", 6, "size", [2, 2, 2], False),
    ("no_interpolation", 6, "interpolation", None, True),
    ("scale_that_grows_the_input", 7, "scale", [[[[1.0]]], [[[2.0]]]], False),
    ("scale_not_numbers", 7, "offset", ["a", "b"], False),
    ("scale_flags", 7, "scale", [True, False], False),
    ("no_offset", 7, "offset", None, True)], ids=lambda c: c[0])
def test_what_the_file_reader_cannot_know_exactly_is_refused(keras, tmp_path, case):
    """Options Keras refuses, shapes that do not fit, keys Keras would default: refused by
    name, never read another way."""
    from .test_saved_reader import _set_option

    _, index, key, value, remove = case
    path = tmp_path / "m.keras"
    _refusable(keras).save(path)
    symnet.explain(path, reader="file")  # as saved: read
    _edit_config(path, _set_option(index, key, value, remove))
    with pytest.raises(ModelLoadError, match="without Keras"):
        symnet.explain(path, reader="file")


def test_a_keras_2_depthwise_kernel_is_read_by_its_keras_2_name(keras, tmp_path):
    """Keras 2 saved a DepthwiseConv2D's kernel as ``depthwise_kernel:0`` (Keras 3: ``kernel``)
    in a legacy file; Keras 3 reads it by position, and so does the file reader, the name
    checked to be the one Keras 2 gave it. A name of another weight is still refused."""
    import h5py
    import numpy as np

    L = keras.layers
    model = sequential(keras, (4, 4, 2), L.DepthwiseConv2D(2, depth_multiplier=2,
                                                           name="dw"), L.Flatten(), L.Dense(1))
    path = tmp_path / "m.h5"
    model.save(path)

    def rename(new: str) -> None:
        with h5py.File(path, "r+") as handle:
            group = handle["model_weights/dw"]
            names = [n.decode() if isinstance(n, bytes) else str(n)
                     for n in group.attrs["weight_names"]]
            data = group[names[0]][()]
            del group[names[0]]
            group[f"dw/{new}"] = data
            names[0] = f"dw/{new}"
            group.attrs["weight_names"] = np.array([n.encode() for n in names])

    rename("depthwise_kernel:0")
    fast = symnet.explain(path, reader="file")
    same_network(fast, symnet.explain(path, reader="keras"))
    assert fast.layers[0].params[0].value.tobytes() == model.layers[0].kernel.numpy().tobytes()
    rename("pointwise_kernel:0")
    with pytest.raises(ModelLoadError, match="without Keras"):
        symnet.explain(path, reader="file")


_VALUES = (st.integers(-1, 4) | st.lists(st.integers(0, 3), min_size=1, max_size=4)
           | st.lists(st.lists(st.integers(0, 2), min_size=1, max_size=3), min_size=1,
                      max_size=4)
           | st.sampled_from(["valid", "same", "causal", "channels_first", "channels_last",
                              "nearest", "bilinear", "relu", None, True, False, 0.5, [0.5]])
           | _json)


@pytest.fixture(scope="module")
def refusable_file(keras, tmp_path_factory):
    path = tmp_path_factory.mktemp("shapes") / "m.keras"
    _refusable(keras).save(path)
    return path


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(where=st.integers(1, 7), key=st.integers(0, 40), value=_VALUES)
def test_malformed_options_are_refused_or_read_as_keras_reads_them(
        refusable_file, tmp_path_factory, where, key, value):
    """Any value (or none) for any option of these layers: the file reader refuses the file
    by name, or reads the network Keras reads."""
    config = json.loads(_members(refusable_file)["config.json"])
    options = config["config"]["layers"][where]["config"]
    name = sorted(options)[key % len(options)]
    if key >= 20:
        del options[name]
    else:
        options[name] = value
    _same_or_refused(_written(tmp_path_factory.mktemp("m") / "m.keras", config,
                              refusable_file))


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_channels_first_convolutions_read_as_keras_reads_them(keras, tmp_path, suffix):
    """Channels first: the same network as Keras' reading (TensorFlow's CPU kernels do not run
    these convolutions channels first, so model.predict is not compared here)."""
    L = keras.layers
    first = {"data_format": "channels_first"}
    model = sequential(keras, (2, 4, 3), L.Conv2DTranspose(2, 2, strides=2, **first),
                       L.DepthwiseConv2D(2, depth_multiplier=2, **first),
                       L.SeparableConv2D(3, 2, **first),
                       L.Flatten(), L.Dense(1), name="first")
    path = tmp_path / f"first{suffix}"
    model.save(path)
    fast = symnet.explain(path, reader="file")
    same_network(fast, symnet.explain(path, reader="keras"))
    assert fast.output_shapes == ((1,),) and fast.layers[0].output_shape == (2, 8, 6)
