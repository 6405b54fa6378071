"""``net.gradient`` against ``tf.GradientTape`` through ``model(x, training=False)`` with Keras'
own loss, for every layer family and option, on random non-trivial weights; the exact
gradient against the float64 one; the loss's semantics; what is refused."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.errors import InvalidInputError
from symnet.ops import ACTIVATIONS

from .conftest import randomize
from .gradtools import assert_gradient, tape


def sample(*shape, seed=1, scale=1.5, n=5):
    return np.random.default_rng(seed).normal(0.0, scale, (n, *shape)).astype(np.float32)


def targets(shape, seed=2, n=5, kind="real"):
    rng = np.random.default_rng(seed)
    if kind == "probability":
        t = rng.uniform(0.05, 1.0, (n, *shape))
        return (t / t.sum(axis=-1, keepdims=True)).astype(np.float32)
    if kind == "binary":
        return rng.uniform(0.0, 1.0, (n, *shape)).astype(np.float32)
    return rng.normal(0.0, 1.0, (n, *shape)).astype(np.float32)


def sequential(keras, input_shape, *layers, seed=0):
    model = keras.Sequential([keras.Input(input_shape), *layers])
    randomize(model, seed)
    return model


# --- dense and activations -------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_dense_with_every_activation(keras, name):
    model = sequential(keras, (3,), keras.layers.Dense(5, activation=name),
                       keras.layers.Dense(2, activation=name))
    piecewise = symnet.explain(model).is_piecewise_linear
    assert_gradient(keras, model, sample(3), targets((2,)), "mse", family=f"Dense({name})",
                    exact=2 if piecewise else 1)


@pytest.mark.parametrize("name", ["relu", "gelu", "softmax", "log_softmax", "hard_sigmoid",
                                  "selu"])
def test_activation_layer(keras, name):
    model = sequential(keras, (4,), keras.layers.Dense(4), keras.layers.Activation(name))
    assert_gradient(keras, model, sample(4), targets((4,)), "mse", family=f"Activation({name})",
                    exact=1)


def test_dense_without_bias_on_rank3_input(keras):
    model = sequential(keras, (2, 3), keras.layers.Dense(4, use_bias=False, activation="tanh"),
                       keras.layers.Dense(2))
    assert_gradient(keras, model, sample(2, 3), targets((2, 2)), "mse", family="Dense(rank 3)",
                    exact=1)


@pytest.mark.parametrize("options", [
    {}, {"max_value": 6.0}, {"max_value": 1.5}, {"negative_slope": 0.1},
    {"threshold": 0.5}, {"negative_slope": 0.2, "threshold": 0.3},
    {"negative_slope": 0.05, "max_value": 2.0}, {"negative_slope": 0.1, "max_value": 3.0,
                                                  "threshold": 0.4},
    {"threshold": 1.5, "max_value": 4.0}, {"negative_slope": 1.5},
])
def test_relu_options(keras, options):
    model = sequential(keras, (6,), keras.layers.Dense(6), keras.layers.ReLU(**options))
    assert_gradient(keras, model, sample(6, scale=3.0), targets((6,)), "mse",
                    family="ReLU(options)")


@pytest.mark.parametrize("slope", [0.3, 2.0])
def test_leaky_relu(keras, slope):
    model = sequential(keras, (4,), keras.layers.Dense(4), keras.layers.LeakyReLU(slope))
    assert_gradient(keras, model, sample(4), targets((4,)), "mse", family="LeakyReLU")


@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.5])
def test_elu(keras, alpha):
    model = sequential(keras, (4,), keras.layers.Dense(4), keras.layers.ELU(alpha))
    assert_gradient(keras, model, sample(4), targets((4,)), "mse", family="ELU", exact=1)


@pytest.mark.parametrize(("shape", "shared"), [((5,), None), ((3, 4), None), ((3, 4), [1]),
                                               ((3, 4), [2])])
def test_prelu(keras, shape, shared):
    model = sequential(keras, shape, keras.layers.PReLU(shared_axes=shared))
    assert_gradient(keras, model, sample(*shape), targets(shape), "mse", family="PReLU")


def test_softmax_layer_along_another_axis(keras):
    model = sequential(keras, (3, 4), keras.layers.Dense(4), keras.layers.Softmax(axis=1))
    assert_gradient(keras, model, sample(3, 4), targets((3, 4)), "mse", family="Softmax(axis)",
                    exact=1)


# --- normalization ---------------------------------------------------------------------------

@pytest.mark.parametrize("options", [{}, {"center": False}, {"scale": False},
                                     {"center": False, "scale": False, "epsilon": 0.1}])
def test_batch_normalization(keras, options):
    model = sequential(keras, (4,), keras.layers.Dense(4),
                       keras.layers.BatchNormalization(**options),
                       keras.layers.Dense(2, activation="relu"))
    assert_gradient(keras, model, sample(4), targets((2,)), "mse", family="BatchNormalization")


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_batch_normalization_axes(keras, axis):
    model = sequential(keras, (3, 4), keras.layers.BatchNormalization(axis=axis),
                       keras.layers.Dense(2))
    assert_gradient(keras, model, sample(3, 4), targets((3, 2)), "mse",
                    family="BatchNormalization(axis)")


@pytest.mark.parametrize("options", [{}, {"axis": [1, 2]}, {"rms_scaling": True},
                                     {"center": False}, {"axis": 1}])
def test_layer_normalization(keras, options):
    model = sequential(keras, (3, 4), keras.layers.LayerNormalization(**options),
                       keras.layers.Dense(2))
    assert_gradient(keras, model, sample(3, 4), targets((3, 2)), "mse",
                    family="LayerNormalization", exact=1)


def test_rms_normalization(keras):
    model = sequential(keras, (5,), keras.layers.RMSNormalization(), keras.layers.Dense(2))
    assert_gradient(keras, model, sample(5), targets((2,)), "mse", family="RMSNormalization",
                    exact=1)


@pytest.mark.parametrize("invert", [False, True])
def test_normalization_and_rescaling(keras, invert):
    data = sample(3, seed=5, n=20) * 2 + 1
    norm = keras.layers.Normalization(invert=invert)
    norm.adapt(data)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Rescaling(0.5, offset=-1.0), norm,
                              keras.layers.Dense(2)])
    dense = model.layers[-1]
    dense.set_weights([np.random.default_rng(3).normal(size=w.shape).astype(np.float32)
                       for w in dense.weights])
    g = assert_gradient(keras, model, sample(3), targets((2,)), "mse",
                        family="Normalization, Rescaling")
    assert np.all(g.parameters[f"{norm.name}/count"] == 0)


# --- convolution and pooling -------------------------------------------------------------------

@pytest.mark.parametrize("options", [
    {"filters": 3, "kernel_size": 3},
    {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same"},
    {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "same", "use_bias": False},
    {"filters": 4, "kernel_size": 2, "groups": 2, "activation": "relu"},
])
def test_conv2d(keras, options):
    model = sequential(keras, (6, 5, 2), keras.layers.Conv2D(**options), keras.layers.Flatten(),
                       keras.layers.Dense(2))
    assert_gradient(keras, model, sample(6, 5, 2), targets((2,)), "mse", family="Conv2D",
                    exact=1)


@pytest.mark.parametrize("padding", ["valid", "causal", "same"])
def test_conv1d(keras, padding):
    model = sequential(keras, (7, 3), keras.layers.Conv1D(2, 3, padding=padding,
                                                          activation="tanh"),
                       keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1))
    assert_gradient(keras, model, sample(7, 3), targets((1,)), "mse", family="Conv1D", exact=1)


def test_conv3d(keras):
    model = sequential(keras, (4, 4, 3, 1), keras.layers.Conv3D(2, 2),
                       keras.layers.GlobalMaxPooling3D(), keras.layers.Dense(1))
    assert_gradient(keras, model, sample(4, 4, 3, 1), targets((1,)), "mse", family="Conv3D")


@pytest.mark.parametrize("options", [{"strides": 2}, {"strides": 2, "padding": "same"},
                                     {"strides": 1, "use_bias": False}])
def test_conv2d_transpose(keras, options):
    model = sequential(keras, (3, 3, 2), keras.layers.Conv2DTranspose(2, 3, **options),
                       keras.layers.Flatten(), keras.layers.Dense(2))
    assert_gradient(keras, model, sample(3, 3, 2), targets((2,)), "mse",
                    family="Conv2DTranspose", exact=1)


def test_depthwise_and_separable(keras):
    model = sequential(keras, (5, 5, 2), keras.layers.DepthwiseConv2D(2, depth_multiplier=2),
                       keras.layers.SeparableConv2D(3, 2, depth_multiplier=2),
                       keras.layers.Flatten(), keras.layers.Dense(2))
    assert_gradient(keras, model, sample(5, 5, 2), targets((2,)), "mse",
                    family="DepthwiseConv2D, SeparableConv2D", exact=1)


@pytest.mark.parametrize(("layer", "options"), [
    ("MaxPooling2D", {"pool_size": 2}),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}),
    ("AveragePooling2D", {"pool_size": 2}),
    ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}),
])
def test_pooling_2d(keras, layer, options):
    model = sequential(keras, (5, 6, 2), getattr(keras.layers, layer)(**options),
                       keras.layers.Flatten(), keras.layers.Dense(2))
    assert_gradient(keras, model, sample(5, 6, 2), targets((2,)), "mse", family=layer, exact=1)


@pytest.mark.parametrize("layer", ["MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D",
                                   "GlobalAveragePooling1D"])
def test_pooling_1d(keras, layer):
    options = {"pool_size": 2} if not layer.startswith("Global") else {}
    model = sequential(keras, (6, 3), getattr(keras.layers, layer)(**options),
                       keras.layers.Flatten(),
                       keras.layers.Dense(2))
    assert_gradient(keras, model, sample(6, 3), targets((2,)), "mse", family=layer, exact=1)


def test_max_pooling_ties_go_where_tensorflow_sends_them(keras):
    """A window of equal values: TensorFlow's MaxPoolGrad gives the gradient to one tap (the
    first), reduce_max (global max pooling) shares it among them."""
    x = np.zeros((2, 4, 4, 1), np.float32)
    x[1, :2, :2, 0] = 1.0
    x[1, 2, 2, 0] = -1.0
    for layer in (keras.layers.MaxPooling2D(2), keras.layers.GlobalMaxPooling2D(keepdims=True)):
        model = sequential(keras, (4, 4, 1), layer, keras.layers.Flatten(),
                           keras.layers.Dense(1))
        assert_gradient(keras, model, x, targets((1,), n=2), "mse", family="pooling ties",
                        exact=2)


# --- shapes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("layers", [
    ("Flatten", {}), ("Reshape", {"target_shape": (4, 3)}), ("Permute", {"dims": (2, 1)}),
    ("Cropping1D", {"cropping": (1, 2)}), ("ZeroPadding1D", {"padding": 2}),
    ("UpSampling1D", {"size": 2}),
])
def test_shape_layers(keras, layers):
    name, options = layers
    model = sequential(keras, (6, 2), getattr(keras.layers, name)(**options),
                       keras.layers.Flatten(), keras.layers.Dense(2))
    assert_gradient(keras, model, sample(6, 2), targets((2,)), "mse", family="shape layers",
                    exact=1)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_upsampling_2d(keras, interpolation):
    model = sequential(keras, (3, 4, 2), keras.layers.UpSampling2D((2, 3),
                                                                   interpolation=interpolation),
                       keras.layers.ZeroPadding2D(1), keras.layers.Cropping2D(((1, 0), (0, 2))),
                       keras.layers.Flatten(), keras.layers.Dense(2))
    assert_gradient(keras, model, sample(3, 4, 2), targets((2,)), "mse",
                    family="UpSampling2D, padding, cropping", exact=1)


def test_repeat_vector_and_time_distributed_dense(keras):
    model = sequential(keras, (3,), keras.layers.RepeatVector(4),
                       keras.layers.TimeDistributed(keras.layers.Dense(2, activation="relu")),
                       keras.layers.Flatten(), keras.layers.Dense(1))
    assert_gradient(keras, model, sample(3), targets((1,)), "mse",
                    family="RepeatVector, TimeDistributed", exact=1)


def test_dropout_and_noise_are_the_identity(keras):
    model = sequential(keras, (4,), keras.layers.Dense(4), keras.layers.Dropout(0.5),
                       keras.layers.GaussianNoise(0.3), keras.layers.Dense(2))
    assert_gradient(keras, model, sample(4), targets((2,)), "mse", family="Dropout, noise")


# --- merges (functional models, several inputs) --------------------------------------------

@pytest.mark.parametrize("merge", ["Add", "Subtract", "Multiply", "Average", "Maximum",
                                   "Minimum", "Concatenate"])
def test_merges(keras, merge):
    a, b = keras.Input((4,)), keras.Input((4,))
    ha = keras.layers.Dense(3, activation="tanh")(a)
    hb = keras.layers.Dense(3)(b)
    merged = keras.layers.Dense(3)(getattr(keras.layers, merge)()([ha, hb]))
    shared = keras.layers.Dense(3)
    out = keras.layers.Dense(2)(keras.layers.Add()([shared(merged), shared(ha)]))
    model = keras.Model([a, b], out)
    randomize(model, 4)
    assert_gradient(keras, model, [sample(4), sample(4, seed=3)], targets((2,)), "mse",
                    family="merges, shared layer", exact=1)


def test_maximum_merge_ties(keras):
    a = keras.Input((3,))
    zero = keras.layers.Rescaling(0.0)(a)
    model = keras.Model(a, keras.layers.Dense(1)(keras.layers.Maximum()([a, zero, a])))
    randomize(model, 1)
    x = np.array([[1.0, -2.0, 0.0], [0.0, 3.0, -1.0]], np.float32)
    assert_gradient(keras, model, x, targets((1,), n=2), "mse", family="merges, shared layer",
                    exact=2)


def test_embedding_has_no_input_gradient(keras):
    model = sequential(keras, (3,), keras.layers.Embedding(6, 2), keras.layers.Flatten(),
                       keras.layers.Dense(1))
    x = np.array([[0, 5, 2], [2, 2, 1]], np.float32)
    g = assert_gradient(keras, model, x, targets((1,), n=2), "mse", family="Embedding",
                        exact=2, input_gradient=False)
    with pytest.raises(InvalidInputError, match="integer indices"):
        _ = g.input


# --- losses ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("loss", "activation", "kind"), [
    ("mse", "linear", "real"), ("mae", "tanh", "real"),
    ("binary_crossentropy", "sigmoid", "binary"),
    ("binary_crossentropy", "hard_sigmoid", "binary"),   # not fused: probabilities clipped
    ("categorical_crossentropy", "softmax", "probability"),
    ("categorical_crossentropy", "sigmoid", "probability"),   # not fused: normalised, clipped
    ("sparse_categorical_crossentropy", "softmax", None),
    ("sparse_categorical_crossentropy", "sigmoid", None),
])
def test_keras_losses(keras, loss, activation, kind):
    model = sequential(keras, (3,), keras.layers.Dense(4, activation="relu"),
                       keras.layers.Dense(3, activation=activation))
    t = (np.random.default_rng(3).integers(0, 3, (5,)) if kind is None else
         targets((3,), kind=kind))
    assert_gradient(keras, model, sample(3), t, loss, family=f"loss {loss}", exact=2)


def test_crossentropy_saturated_output_uses_the_logits(keras):
    """A softmax output of exactly 1 in float32: Keras computes the loss from the logits, so
    the loss and its gradient are not clipped away."""
    model = sequential(keras, (2,), keras.layers.Dense(2, activation="softmax"))
    model.set_weights([np.array([[40.0, -40.0], [0.0, 0.0]], np.float32),
                       np.zeros(2, np.float32)])
    x = np.array([[1.0, 0.5]], np.float32)
    t = np.array([[0.0, 1.0]], np.float32)
    g = assert_gradient(keras, model, x, t, "categorical_crossentropy", family="loss fused",
                        exact=1)
    assert g.loss == pytest.approx(80.0)
    dropout = sequential(keras, (2,), keras.layers.Dense(2, activation="sigmoid"),
                         keras.layers.Dropout(0.3))
    dropout.set_weights([np.array([[40.0, -40.0], [0.0, 0.0]], np.float32),
                         np.zeros(2, np.float32)])
    g = assert_gradient(keras, dropout, x, t, "binary_crossentropy", family="loss fused")
    assert g.loss == pytest.approx(40.0, rel=1e-5)


def test_multi_output_losses_add_up(keras):
    a = keras.Input((3,))
    h = keras.layers.Dense(4, activation="relu")(a)
    model = keras.Model(a, [keras.layers.Dense(2)(h), keras.layers.Dense(1)(h)])
    randomize(model, 2)
    assert_gradient(keras, model, sample(3), [targets((2,)), targets((1,), seed=4)], "mse",
                    family="multi-output", exact=2)


def test_formula_loss_is_summed(keras):
    model = sequential(keras, (3,), keras.layers.Dense(4, activation="sigmoid"),
                       keras.layers.Dense(2, activation="sigmoid"))
    assert_gradient(keras, model, sample(3), targets((2,)), lambda t, y: (t - y) ** 2 / 2,
                    symnet_loss="(t - y)^2/2", family="loss formula", exact=1)
    assert_gradient(keras, model, sample(3), targets((2,)),
                    lambda t, y: abs(t - y) + tf_max(y, t), symnet_loss="abs(t - y) + max(y, t)",
                    family="loss formula", exact=1)


def tf_max(a, b):
    import tensorflow as tf

    return tf.maximum(a, b)


def test_exact_gradient_is_rational_for_piecewise_linear_networks(keras):
    model = sequential(keras, (2,), keras.layers.Dense(3, activation="relu"),
                       keras.layers.Dense(1))
    net = symnet.explain(model)
    g = net.gradient([[0.5, -1.25]], [[2.0]], loss="mse", precision="exact")
    assert isinstance(g.loss, sp.Rational)
    assert all(isinstance(v, sp.Rational) for arr in g.parameters.values()
               for v in np.asarray(arr).reshape(-1))
    assert all(isinstance(v, sp.Rational) for v in g.input.reshape(-1))


def test_relu_kink_follows_tensorflow(keras):
    """A pre-activation of exactly 0: ReLU'(0) = 0, as TensorFlow."""
    model = sequential(keras, (1,), keras.layers.Dense(2, activation="relu"),
                       keras.layers.Dense(1))
    model.set_weights([np.array([[1.0, -1.0]], np.float32), np.array([0.0, 0.5], np.float32),
                       np.array([[2.0], [3.0]], np.float32), np.zeros(1, np.float32)])
    x = np.zeros((1, 1), np.float32)
    g = assert_gradient(keras, model, x, np.ones((1, 1), np.float32), "mse",
                        family="ReLU(options)", exact=1)
    first = model.layers[0].name
    assert g.parameters[f"{first}/kernel"][0, 0] == 0.0
    exact = symnet.explain(model).gradient(0, 1, loss="mse", precision="exact")
    assert exact.deltas[first][0, 0] == 0


def test_one_sample_and_batch_shapes(keras):
    model = sequential(keras, (3,), keras.layers.Dense(2))
    net = symnet.explain(model)
    g = net.gradient([1.0, 2.0, 3.0], [0.5, -0.5], loss="mse")
    assert g.input.shape == (1, 3) and g.deltas[model.layers[0].name].shape == (1, 2)
    batch = net.gradient(sample(3), targets((2,)), loss="mse")
    assert batch.input.shape == (5, 3)
    assert isinstance(g.loss, float)


# --- refusals ----------------------------------------------------------------------------------

def test_bad_loss_and_target_are_refused(keras):
    net = symnet.explain(sequential(keras, (3,), keras.layers.Dense(2)))
    with pytest.raises(InvalidInputError, match="unknown loss 'hinge_loss'"):
        net.gradient(sample(3), targets((2,)), loss="hinge_loss")
    with pytest.raises(InvalidInputError, match="does not depend on y"):
        net.gradient(sample(3), targets((2,)), loss="t^2")
    with pytest.raises(InvalidInputError):
        net.gradient(sample(3), targets((2,)), loss="__import__('os')")
    with pytest.raises(InvalidInputError, match="expected a target of shape"):
        net.gradient(sample(3), targets((3,)), loss="mse")
    with pytest.raises(InvalidInputError, match="class index"):
        net.gradient(sample(3), np.full(5, 2.5), loss="sparse_categorical_crossentropy")
    with pytest.raises(InvalidInputError, match="precision"):
        net.gradient(sample(3), targets((2,)), loss="mse", precision="float16")


def test_saliency_is_the_input_gradient_of_one_output(keras):
    model = sequential(keras, (3,), keras.layers.Dense(4, activation="relu"),
                       keras.layers.Dense(2))
    net = symnet.explain(model)
    x = sample(3)
    import tensorflow as tf

    xt = tf.constant(x)
    with tf.GradientTape() as tp:
        tp.watch(xt)
        y = model(xt, training=False)[:, 1]
    expected = tp.gradient(y, xt).numpy()
    np.testing.assert_allclose(net.saliency(x, output=1), expected, rtol=1e-5, atol=1e-6)
    exact = net.saliency(x[:1], output=1, precision="exact")
    assert all(isinstance(v, sp.Rational) for v in exact.reshape(-1))
    a, _ = net.local_affine(x[0])
    np.testing.assert_allclose(np.asarray(exact, np.float64)[0], a[1], rtol=1e-9)
    with pytest.raises(InvalidInputError, match="output must be an index"):
        net.saliency(x, output=2)


def test_tape_helper_sees_non_trainable_weights(keras):
    model = sequential(keras, (2,), keras.layers.BatchNormalization())
    _, weights, _ = tape(keras, model, sample(2), targets((2,)), "mse")
    assert all(w is not None for w in weights)


# --- recurrent ---------------------------------------------------------------------------------

@pytest.mark.parametrize("options", [
    {}, {"return_sequences": True}, {"go_backwards": True, "activation": "relu"},
    {"use_bias": False, "activation": "linear", "return_sequences": True},
])
def test_simple_rnn(keras, options):
    model = sequential(keras, (4, 3), keras.layers.SimpleRNN(3, **options),
                       keras.layers.Flatten(), keras.layers.Dense(2))
    assert_gradient(keras, model, sample(4, 3, scale=0.8), targets((2,)), "mse",
                    family="SimpleRNN", exact=1)


@pytest.mark.parametrize("merge_mode", ["concat", "sum"])
def test_bidirectional_simple_rnn(keras, merge_mode):
    model = sequential(keras, (3, 2), keras.layers.Bidirectional(
        keras.layers.SimpleRNN(2, return_sequences=True), merge_mode=merge_mode),
        keras.layers.Flatten(), keras.layers.Dense(1))
    assert_gradient(keras, model, sample(3, 2, scale=0.8), targets((1,)), "mse",
                    family="Bidirectional(SimpleRNN)", exact=1)


# GRU and LSTM: tests/test_recurrent_gradients.py


# --- attention ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("layer", "options", "call"), [
    ("Attention", {}, {}), ("Attention", {"use_scale": True}, {"use_causal_mask": True}),
    ("Attention", {"score_mode": "concat", "use_scale": True}, {}),
    ("AdditiveAttention", {}, {}), ("AdditiveAttention", {"use_scale": True}, {}),
])
def test_attention(keras, layer, options, call):
    q, v = keras.Input((3, 4)), keras.Input((5, 4))
    k = keras.layers.Dense(4)(v)
    out = getattr(keras.layers, layer)(**options)([q, v, k], **call)
    model = keras.Model([q, v], keras.layers.Dense(2)(keras.layers.Flatten()(out)))
    randomize(model, 5)
    assert_gradient(keras, model, [sample(3, 4, scale=0.8), sample(5, 4, seed=2, scale=0.8)],
                    targets((2,)), "mse", family="Attention, AdditiveAttention", exact=1)


@pytest.mark.parametrize("options", [{}, {"use_causal_mask": True}])
def test_multi_head_attention(keras, options):
    a = keras.Input((3, 4))
    out = keras.layers.MultiHeadAttention(2, 3)(a, a, **options)
    model = keras.Model(a, keras.layers.Dense(2)(keras.layers.Flatten()(out)))
    randomize(model, 6)
    assert_gradient(keras, model, sample(3, 4, scale=0.8), targets((2,)), "mse",
                    family="MultiHeadAttention", exact=1)


# --- the backward trace ------------------------------------------------------------------------

@pytest.mark.parametrize("precision", ["float64", "exact"])
def test_trace_formulas_with_their_numbers_are_the_values(keras, precision):
    """Each formula of the trace, with the numbers put in and made explicit, is the value the
    backward pass computed; the values are the gradient's."""
    from symnet.analysis.forms import explicit

    model = sequential(keras, (3,), keras.layers.Dense(4, activation="relu"),
                       keras.layers.BatchNormalization(),
                       keras.layers.Dense(3, activation="tanh"),
                       keras.layers.Dense(2, activation="softmax"))
    net = symnet.explain(model)
    g = net.gradient(sample(3)[:1], targets((2,), kind="probability")[:1],
                     loss="categorical_crossentropy", precision=precision)
    trace = g.trace()
    assert [s.layer for s in trace.steps] == [layer.name for layer in reversed(model.layers)]
    checked = 0
    for step in trace.steps:
        np.testing.assert_allclose(np.asarray(step.delta.value, np.float64),
                                   np.asarray(g.deltas[step.layer], np.float64)[0], rtol=1e-12)
        for q in step.parameters:
            np.testing.assert_allclose(np.asarray(q.value, np.float64),
                                       np.asarray(g.parameters[q.key], np.float64), rtol=1e-12)
        for q in (step.delta, step.output_gradient, step.slope, *step.parameters,
                  *step.input_gradient):
            if q is None or q.substituted is None:
                continue
            got = np.array(explicit(q.substituted).evalf(20), dtype=np.float64).reshape(-1)
            np.testing.assert_allclose(got, np.asarray(q.value, np.float64).reshape(-1),
                                       rtol=1e-8, atol=1e-10, err_msg=f"{step.layer} {q.symbol}")
            checked += 1
    assert checked >= 10
    first = str(trace.steps[-1].delta.formula)  # δ_1 = (γ_2 ⊙ δ_2 ⊘ √(σ²_2 + ε_2)) ⊙ relu'(z_1)
    assert "ReLUPrime" in first and "delta_2" in first and "gamma_2" in first


def test_jupyter_shows_the_formulas(keras):
    model = sequential(keras, (2,), keras.layers.Dense(3, activation="sigmoid"),
                       keras.layers.Dense(1))
    g = symnet.explain(model).gradient([0.5, -1.0], [1.0], loss="(t - y)^2/2")
    latex = g._repr_latex_()
    assert latex.startswith("$$\\begin{aligned}") and r"\sigma'" in latex
    assert r"\frac{\partial L}{\partial W_{1}}" in latex
