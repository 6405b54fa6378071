"""Every converter, every option, against Keras itself on random non-trivial weights."""

from __future__ import annotations

import numpy as np
import pytest

import symnet
from symnet.errors import UnsupportedLayerError
from symnet.ops import ACTIVATIONS

from .conftest import assert_faithful, randomize


def sample(*shape, seed=1, scale=2.0):
    return (np.random.default_rng(seed).normal(0.0, scale, (12, *shape))).astype(np.float32)


def sequential(keras, input_shape, *layers, seed=0):
    model = keras.Sequential([keras.Input(input_shape), *layers])
    randomize(model, seed)
    return model


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_dense_with_every_activation(keras, name):
    model = sequential(keras, (3,), keras.layers.Dense(5, activation=name),
                       keras.layers.Dense(2, activation=name))
    x = sample(3, scale=1.0)
    assert_faithful(model, x)


@pytest.mark.parametrize("name", ["relu", "gelu", "softmax", "log_softmax", "hard_sigmoid", "selu"])
def test_activation_layer(keras, name):
    model = sequential(keras, (4,), keras.layers.Dense(4), keras.layers.Activation(name))
    assert_faithful(model, sample(4))


def test_dense_without_bias_on_rank3_input(keras):
    model = sequential(keras, (2, 3), keras.layers.Dense(4, use_bias=False, activation="tanh"),
                       keras.layers.Dense(2))
    net = assert_faithful(model, sample(2, 3))
    assert [p.name for p in net.layers[0].params] == ["kernel"]


@pytest.mark.parametrize("options", [
    {}, {"max_value": 6.0}, {"max_value": 1.5}, {"negative_slope": 0.1},
    {"threshold": 0.5}, {"negative_slope": 0.2, "threshold": 0.3},
    {"negative_slope": 0.05, "max_value": 2.0}, {"negative_slope": 0.1, "max_value": 3.0,
                                                  "threshold": 0.4},
    {"threshold": 1.5, "max_value": 4.0}, {"negative_slope": 1.5},
])
def test_relu_options(keras, options):
    model = sequential(keras, (6,), keras.layers.Dense(6), keras.layers.ReLU(**options))
    assert_faithful(model, sample(6, scale=3.0))


@pytest.mark.parametrize("slope", [0.3, 0.01, 2.0])
def test_leaky_relu(keras, slope):
    model = sequential(keras, (4,), keras.layers.Dense(4), keras.layers.LeakyReLU(slope))
    assert_faithful(model, sample(4))


@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.5])
def test_elu(keras, alpha):
    model = sequential(keras, (4,), keras.layers.Dense(4), keras.layers.ELU(alpha))
    assert_faithful(model, sample(4))


@pytest.mark.parametrize(("shape", "shared"), [((5,), None), ((3, 4), None), ((3, 4), [1]),
                                               ((3, 4), [2])])
def test_prelu(keras, shape, shared):
    model = sequential(keras, shape, keras.layers.PReLU(shared_axes=shared))
    assert_faithful(model, sample(*shape))


def test_softmax_layer(keras):
    model = sequential(keras, (5,), keras.layers.Dense(5), keras.layers.Softmax())
    assert_faithful(model, sample(5))


@pytest.mark.parametrize("axis", [1, -2, 2])
def test_softmax_over_any_axis(keras, axis):
    assert_faithful(sequential(keras, (3, 4), keras.layers.Softmax(axis=axis)), sample(3, 4))


@pytest.mark.parametrize("options", [
    {}, {"epsilon": 0.1}, {"epsilon": 1e-5}, {"center": False}, {"scale": False},
    {"center": False, "scale": False}, {"renorm": True}, {"axis": 1},
])
def test_batch_normalization(keras, options):
    model = sequential(keras, (6,), keras.layers.Dense(6),
                       keras.layers.BatchNormalization(**options), seed=3)
    net = assert_faithful(model, sample(6))
    bn = net.layers[1]
    assert bn.constants["epsilon"] == options.get("epsilon", 1e-3)
    stats = bn.parameters["moving_variance"]
    assert not np.allclose(stats, 1.0)  # the inference formula is really exercised


def test_batch_normalization_on_rank3_input(keras):
    model = sequential(keras, (3, 4), keras.layers.BatchNormalization(), seed=4)
    assert_faithful(model, sample(3, 4))


@pytest.mark.parametrize(("shape", "axis"), [((3, 4), 1), ((2, 3, 4), 2), ((2, 3, 4), 1)])
def test_batch_normalization_on_any_axis(keras, shape, axis):
    model = sequential(keras, shape, keras.layers.BatchNormalization(axis=axis), seed=4)
    assert_faithful(model, sample(*shape))


@pytest.mark.parametrize("axis", [1, [1, 2], -2, [2]])
def test_layer_normalization_on_any_axes(keras, axis):
    model = sequential(keras, (3, 4), keras.layers.LayerNormalization(axis=axis), seed=5)
    assert_faithful(model, sample(3, 4))


def test_batch_axis_is_refused(keras):
    with pytest.raises(UnsupportedLayerError, match="batch"):
        symnet.explain(keras.Sequential([keras.Input((3, 4)), keras.layers.Softmax(axis=0)]))


@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
@pytest.mark.parametrize("options", [{}, {"center": False}, {"scale": False},
                                     {"epsilon": 0.5}, {"rms_scaling": True}])
def test_layer_normalization(keras, options):
    model = sequential(keras, (5,), keras.layers.Dense(5),
                       keras.layers.LayerNormalization(**options), seed=5)
    assert_faithful(model, sample(5))


@pytest.mark.parametrize("epsilon", [1e-6, 0.3])
def test_rms_normalization(keras, epsilon):
    model = sequential(keras, (2, 5), keras.layers.Dense(5),
                       keras.layers.RMSNormalization(epsilon=epsilon), seed=6)
    assert_faithful(model, sample(2, 5))


def test_identity_layer(keras):
    model = sequential(keras, (3,), keras.layers.Dense(3), keras.layers.Identity(),
                       keras.layers.Dense(1))
    net = assert_faithful(model, sample(3))
    assert net.layers[1].formula.rhs == net.layers[0].output_symbol


@pytest.mark.parametrize("layer", ["Dropout", "SpatialDropout1D", "GaussianNoise",
                                   "GaussianDropout", "AlphaDropout"])
def test_noise_layers_are_identity_at_inference(keras, layer):
    cls = getattr(keras.layers, layer)
    noise = cls(0.4)
    model = sequential(keras, (3, 4), keras.layers.Dense(4), noise, keras.layers.Dense(2))
    net = assert_faithful(model, sample(3, 4))
    formula = net.layers[1].formula
    assert formula.rhs == net.layers[0].output_symbol
    assert "identity" in net.layers[1].note and "training" in net.layers[1].note


def test_flatten_and_reshape(keras):
    model = sequential(keras, (2, 3, 2), keras.layers.Dense(3), keras.layers.Flatten(),
                       keras.layers.Dense(6), keras.layers.Reshape((3, 2)),
                       keras.layers.Dense(2), keras.layers.Flatten())
    assert_faithful(model, sample(2, 3, 2))


@pytest.mark.parametrize(("scale", "offset"), [(1 / 255, 0.0), (2.0, -1.0)])
def test_rescaling(keras, scale, offset):
    model = sequential(keras, (4,), keras.layers.Rescaling(scale, offset), keras.layers.Dense(2))
    assert_faithful(model, sample(4, scale=50.0))


@pytest.mark.parametrize("invert", [False, True])
def test_normalization_adapted(keras, invert):
    layer = keras.layers.Normalization(invert=invert)
    data = np.random.default_rng(2).normal(3.0, 2.0, (50, 4)).astype(np.float32)
    data[:, 0] = 7.0  # a constant feature: variance 0, so max(sqrt(var), epsilon) matters
    layer.adapt(data)
    model = keras.Sequential([keras.Input((4,)), layer, keras.layers.Dense(2)])
    randomize_dense(model)
    assert_faithful(model, sample(4))


def test_normalization_with_given_statistics(keras):
    layer = keras.layers.Normalization(mean=[1.0, -2.0, 0.5], variance=[4.0, 0.25, 1.0])
    model = keras.Sequential([keras.Input((3,)), layer, keras.layers.Dense(2)])
    randomize_dense(model)
    net = assert_faithful(model, sample(3))
    assert net.layers[0].param_count == 0 == model.layers[0].count_params()


def randomize_dense(model):
    rng = np.random.default_rng(9)
    for layer in model.layers:
        if layer.__class__.__name__ == "Dense":
            layer.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in layer.weights])


@pytest.mark.parametrize("merge", ["Add", "Subtract", "Multiply", "Average", "Maximum",
                                   "Minimum", "Concatenate"])
def test_merge_layers(keras, merge):
    a = keras.Input((3,), name="a")
    b = keras.Input((3,), name="b")
    ha = keras.layers.Dense(4, activation="relu")(a)
    hb = keras.layers.Dense(4)(b)
    merged = getattr(keras.layers, merge)()([ha, hb])
    out = keras.layers.Dense(2)(merged)
    model = keras.Model([a, b], out)
    randomize(model, 7)
    net = assert_faithful(model, [sample(3, seed=1), sample(3, seed=2)], structural=True)
    assert len(net.inputs) == 6 and str(net.inputs[0]) == "x_1"


def test_three_way_add_and_two_outputs(keras):
    x = keras.Input((4,))
    h = [keras.layers.Dense(3, activation="sigmoid")(x) for _ in range(3)]
    s = keras.layers.Add()(h)
    out1 = keras.layers.Dense(2, activation="softmax", name="probs")(s)
    out2 = keras.layers.Dense(1, name="score")(h[0])
    model = keras.Model(x, [out1, out2])
    randomize(model, 11)
    net = assert_faithful(model, sample(4))
    assert [str(s) for s in net.outputs] == ["y_1", "y_2", "y_3"]


def test_shared_layer_called_twice(keras):
    x = keras.Input((3,))
    shared = keras.layers.Dense(3, activation="tanh", name="shared")
    out = keras.layers.Dense(1)(shared(shared(x)))
    model = keras.Model(x, out)
    randomize(model, 12)
    net = assert_faithful(model, sample(3))
    assert [lay.name for lay in net.layers].count("shared") == 1
