"""Each converter declares the config keys and values it understands; a key Keras' own
``get_config()`` lists that a converter has not declared fails here (a new Keras option is a
decision, not a silent default), and a layer whose config holds an undeclared key or value is
refused by name."""

from __future__ import annotations

import inspect
import re

import pytest

import symnet
from symnet import UnsupportedLayerError
from symnet.layers import spec_of, supported_layers, supported_operations
from symnet.layers.spec import Choice, Free, Inert, LayerSpec, Number

#: The constructor arguments Keras needs to make a default instance of each class.
REQUIRED = {
    "Dense": (2,), "Conv1D": (2, 2), "Conv2D": (2, 2), "Conv3D": (2, 2),
    "DepthwiseConv1D": (2,), "DepthwiseConv2D": (2,), "SeparableConv1D": (2, 2),
    "SeparableConv2D": (2, 2), "Conv1DTranspose": (2, 2), "Conv2DTranspose": (2, 2),
    "Conv3DTranspose": (2, 2), "Reshape": ((2,),), "Permute": ((1,),), "RepeatVector": (2,),
    "Embedding": (3, 2), "Rescaling": (1.0,), "SimpleRNN": (2,), "GRU": (2,), "LSTM": (2,),
    "MultiHeadAttention": (2, 2), "Dropout": (0.5,), "SpatialDropout1D": (0.5,),
    "SpatialDropout2D": (0.5,), "SpatialDropout3D": (0.5,), "GaussianNoise": (0.1,),
    "GaussianDropout": (0.1,), "AlphaDropout": (0.1,), "Activation": ("relu",),
    **{f"{k}Pooling{r}D": (2,) for k in ("Max", "Average") for r in (1, 2, 3)},
}


def default_instance(keras, name):
    layers = keras.layers
    if name == "InputLayer":
        return layers.InputLayer(shape=(3,))
    if name == "Bidirectional":
        return layers.Bidirectional(layers.LSTM(2))
    if name == "TimeDistributed":
        return layers.TimeDistributed(layers.Dense(2))
    return getattr(layers, name)(*REQUIRED.get(name, ()))


@pytest.mark.parametrize("name", supported_layers())
def test_every_key_keras_lists_is_declared(keras, name):
    declared = spec_of(name)
    assert isinstance(declared, LayerSpec), f"{name} declares no config"
    listed = set(default_instance(keras, name).get_config())
    assert listed <= set(declared.config), (
        f"{name}: Keras lists {sorted(listed - set(declared.config))}, which its converter "
        "has not declared (declare what it means, or that it is refused)")


def _operation_class(kind):
    from keras.src.ops import nn
    from keras.src.ops import numpy as knp

    from symnet.io.keras import operation_kind

    for module in (knp, nn):
        for name, cls in vars(module).items():
            if inspect.isclass(cls) and cls.__module__ == module.__name__ and (
                    operation_kind(name) == kind):
                return cls
    raise AssertionError(f"no Keras operation for {kind}")


@pytest.mark.parametrize("kind", supported_operations())
def test_every_setting_of_an_operation_is_declared(keras, kind):
    cls = _operation_class(kind)
    settings = [p for p in list(inspect.signature(cls.__init__).parameters)[1:]
                if p not in ("name", "args", "kwargs")]
    declared = spec_of(kind)
    assert set(settings) <= set(declared.config), (kind, settings)


def test_every_declared_domain_says_what_it_accepts():
    for name in [*supported_layers(), *supported_operations()]:
        for key, domain in spec_of(name).config.items():
            assert domain.describe(), (name, key)


def test_domains_accept_exactly_what_they_declare():
    assert Choice((True, False)).accepts(True) and not Choice((True, False)).accepts(1)
    assert Choice((None,)).accepts(None) and not Choice((None,)).accepts(0)
    assert Choice(("valid", "same")).accepts("same") and not Choice(("valid",)).accepts("full")
    assert Number(1, integer=True).accepts(3) and not Number(1, integer=True).accepts(0.5)
    assert not Number(0, 1).accepts(float("nan")) and not Number(0, 1).accepts(True)
    assert Inert().accepts(object()) and Free("x").accepts(None)
    problems = spec_of("Dense").problems({"units": 2, "future_option": 1})
    assert len(problems) == 1 and "future_option" in problems[0]


@pytest.mark.parametrize(("make", "named"), [
    (lambda L: L.MultiHeadAttention(2, 2, use_gate=True), "use_gate=True"),
    (lambda L: L.MultiHeadAttention(2, 2, output_shape=3), "output_shape=(3,)"),
    (lambda L: L.UpSampling2D(2, interpolation="bicubic"), "interpolation='bicubic'"),
    (lambda L: L.Embedding(5, 2, mask_zero=True), "mask_zero=True"),
    (lambda L: L.LSTM(2, stateful=True), "stateful=True"),
])
def test_a_value_the_converter_has_not_declared_is_refused_by_name(keras, make, named):
    layer = make(keras.layers)
    shape = {"MultiHeadAttention": (3, 2), "UpSampling2D": (3, 3, 1), "Embedding": (3,),
             "LSTM": (3, 2)}[type(layer).__name__]
    x = keras.Input(shape, batch_size=2 if type(layer).__name__ == "LSTM" else None)
    out = layer(x, x) if type(layer).__name__ == "MultiHeadAttention" else layer(x)
    with pytest.raises(UnsupportedLayerError, match=re.escape(named)):
        symnet.explain(keras.Model(x, out))


def test_a_saved_config_with_an_unknown_key_is_refused(keras, tmp_path):
    """A file written by a Keras that has an option this one lacks is refused, not read with
    the option dropped: by symnet's file reader naming the key, or by Keras' own reading."""
    import json
    import zipfile

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    path = tmp_path / "model.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][-1]["config"]["future_option"] = 3
    members["config.json"] = json.dumps(config).encode()
    edited = tmp_path / "edited.keras"
    with zipfile.ZipFile(edited, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(symnet.ModelLoadError):  # Keras' own reading refuses it
        symnet.explain(edited)
    with pytest.raises(symnet.ModelLoadError, match="future_option"):
        symnet.explain(edited, reader="file")
