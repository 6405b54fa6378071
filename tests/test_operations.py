"""Keras operations in functional graphs (``x + y``, ``keras.ops.*``): converted exactly, or
refused naming the operation, never a KeyError."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import symnet
from symnet import UnsupportedLayerError

from .conftest import assert_faithful, randomize


def sample(*shape, seed=0):
    return np.random.default_rng(seed).normal(0, 1.5, (6, *shape)).astype(np.float32)


def one_input(keras, shape, build, seed=0):
    x = keras.Input(shape)
    model = keras.Model(x, build(x))
    randomize(model, seed)
    return model


CASES = {
    "add_tensors": lambda k, o, x: x + k.layers.Dense(4)(x),
    "subtract_constant_first": lambda k, o, x: 1.5 - x,
    "multiply_constant": lambda k, o, x: x * 0.3,
    "divide_constant": lambda k, o, x: x / 4.0,
    "divide_by_tensor": lambda k, o, x: x / (x * x + 1.0),
    "constant_array": lambda k, o, x: o.add(x, np.linspace(-1, 1, 4).astype(np.float32)),
    "negative": lambda k, o, x: -k.layers.Dense(4)(x),
    "matmul_constant": lambda k, o, x: o.matmul(x, np.arange(8, dtype=np.float32).reshape(4, 2)),
    "matmul_tensors": lambda k, o, x: o.matmul(x, o.transpose(x, (0, 2, 1))),
    "concatenate": lambda k, o, x: o.concatenate([x, 2.0 * x], axis=1),
    "reshape": lambda k, o, x: o.reshape(x, (-1, 12)),
    "transpose": lambda k, o, x: o.transpose(x, (0, 2, 1)),
    "mean": lambda k, o, x: o.mean(x, axis=1),
    "sum_keepdims": lambda k, o, x: o.sum(x, axis=(1, 2), keepdims=True),
    "mean_last": lambda k, o, x: o.mean(x, axis=-1, keepdims=True),
    "relu": lambda k, o, x: o.relu(x),
    "relu6": lambda k, o, x: o.relu6(3 * x),
    "sigmoid_tanh_exp": lambda k, o, x: o.sigmoid(x) + o.tanh(x) + o.exp(x),
    "elu_celu_leaky": lambda k, o, x: o.elu(x, 0.5) + o.celu(x, 2.0) + o.leaky_relu(x, 0.3),
    "gelu_exact": lambda k, o, x: o.gelu(x, approximate=False),
    "softplus_softsign_silu_selu": lambda k, o, x: (o.softplus(x) + o.softsign(x) + o.silu(x)
                                                    + o.selu(x)),
    "hard_and_sparse": lambda k, o, x: (o.hard_sigmoid(x) + o.hard_silu(x) + o.hard_tanh(x)
                                        + o.sparse_plus(x) + o.sparse_sigmoid(x)),
    "shrinks_and_log_sigmoid": lambda k, o, x: (o.soft_shrink(x) + o.hard_shrink(x)
                                                + o.tanh_shrink(x) + o.log_sigmoid(x)
                                                + o.squareplus(x)),
    "softmax_axis": lambda k, o, x: o.softmax(x, axis=1),
    "log_softmax": lambda k, o, x: o.log_softmax(x),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_operation_is_exact(keras, name):
    model = one_input(keras, (3, 4), lambda x: CASES[name](keras, keras.ops, x))
    net = assert_faithful(model, sample(3, 4))
    assert any(layer.kind.startswith("ops.") for layer in net.layers)


def test_residual_transformer_read_from_its_file(keras, tmp_path):
    """The issue's file: input -> MultiHeadAttention -> Dropout -> LayerNormalization -> Dense
    ... -> GlobalAveragePooling1D -> Dense, the residual sums written ``x + attention``."""
    layers = keras.layers
    inp = keras.Input((5, 8))
    attention = layers.Dropout(0.1)(layers.MultiHeadAttention(2, 4)(inp, inp))
    h = layers.LayerNormalization()(inp + attention)
    h = layers.LayerNormalization()(h + layers.Dense(8, activation="relu")(h))
    model = keras.Model(inp, layers.Dense(2)(layers.GlobalAveragePooling1D()(h)))
    randomize(model, 2)
    path = tmp_path / "transformer.keras"
    model.save(path)
    net = symnet.explain(path)
    x = sample(5, 8, seed=3)
    np.testing.assert_allclose(net.evaluate(x), model.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)
    added = [lay for lay in net.layers if lay.kind == "ops.add"]
    assert len(added) == 2 and all(len(lay.input_symbols) == 2 for lay in added)
    assert net.report("text", x[0])  # every analysis reads an operation as it reads a layer


@pytest.mark.parametrize(("build", "named"), [
    (lambda o, x: x ** 2, "keras.ops.power"),
    (lambda o, x: o.sqrt(x), "keras.ops.sqrt"),
    (lambda o, x: o.gelu(x), "approximate=True"),
    (lambda o, x: o.mean(x, axis=0), "the batch axis"),
    (lambda o, x: o.mean(x), "the batch axis does not stay first"),
    (lambda o, x: o.transpose(x), "the batch axis does not stay first"),
    (lambda o, x: o.transpose(x, (1, 0, 2)), "the batch axis does not stay first"),
    (lambda o, x: o.reshape(x, (-1, 6)), "moves numbers between samples"),
    (lambda o, x: o.concatenate([x, x], axis=0), "the batch axis"),
    (lambda o, x: o.add(x, np.ones((4,), np.float64)), "computes in float64"),
    (lambda o, x: o.matmul(x, np.ones((4,), np.float32)), "float32 matrix"),
    (lambda o, x: x + o.mean(x, axis=1), "different ranks"),
    (lambda o, x: o.multiply(x, np.ones((2, 3, 4), np.float32)), "does not stay first"),
    (lambda o, x: o.add(x, np.ones((5, 3, 4), np.float32)[None]), "does not stay first"),
    (lambda o, x: o.squareplus(x, 2.0), "b=2"),
])
def test_an_operation_without_an_exact_converter_is_refused_by_name(keras, build, named):
    model = one_input(keras, (3, 4), lambda x: build(keras.ops, x))
    with pytest.raises(UnsupportedLayerError, match=named.replace("(", r"\(").replace(
            "*", r"\*").replace(".", r"\.")):
        symnet.explain(model)


def test_a_saved_file_with_an_unknown_operation_is_refused_before_keras_reads_it(keras,
                                                                                    tmp_path):
    x = keras.Input((3,))
    model = keras.Model(x, keras.layers.Dense(2)(x) ** 3)
    path = tmp_path / "power.keras"
    model.save(path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    assert any(layer["module"] == "keras.src.ops.numpy" for layer in config["config"]["layers"])
    from symnet.io.keras import scan_config

    with pytest.raises(UnsupportedLayerError, match=r"keras\.ops\.power"):
        scan_config(config)
    with pytest.raises(UnsupportedLayerError, match=r"keras\.ops\.power"):
        symnet.explain(path)


def test_a_constant_keras_adds_along_another_axis_is_refused(keras):
    """Keras' TensorFlow backend adds a constant that squeezes to a vector with
    tf.nn.bias_add, guessing its axis: (2, 1, 1) on inputs (2, 3, 2) goes along the last
    axis there, not the first as broadcasting puts it. Refused, since model.predict is not
    x + c; where the guess is right, converted."""
    x = keras.Input((2, 3, 2))
    c = np.array([[[1.0]], [[2.0]]], np.float32)
    wrong = keras.Model(x, keras.ops.add(x, c))
    data = sample(2, 3, 2)
    assert not np.allclose(np.asarray(wrong(data)), data + c)  # Keras' own result is not x + c
    with pytest.raises(UnsupportedLayerError, match="bias_add"):
        symnet.explain(wrong)
    right = keras.Model(x, keras.ops.add(x, np.array([1.0, 2.0], np.float32)))
    assert_faithful(right, sample(2, 3, 2))
