"""Convolutions and pooling against Keras (every option, random weights), against a naive
numpy implementation written from the textbook definitions, and in exact arithmetic."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import symnet

from .conftest import assert_faithful, predict, randomize


def model_of(keras, shape, *layers, seed=0):
    model = keras.Sequential([keras.Input(shape), *layers])
    randomize(model, seed)
    return model


def data(shape, n=3, seed=1):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32)


CONVOLUTIONS = {
    "conv2d": ((6, 6, 3), lambda L: L.Conv2D(4, 3)),
    "conv2d_same_stride": ((7, 7, 2), lambda L: L.Conv2D(3, 3, strides=2, padding="same")),
    "conv2d_groups": ((6, 5, 4), lambda L: L.Conv2D(6, (3, 2), strides=(2, 1), groups=2,
                                                    padding="same", activation="relu")),
    "conv2d_dilated": ((7, 7, 2), lambda L: L.Conv2D(2, 2, dilation_rate=2, padding="same")),
    "conv2d_no_bias": ((5, 5, 2), lambda L: L.Conv2D(2, 2, use_bias=False,
                                                     activation="tanh")),
    "conv1d_causal": ((8, 3), lambda L: L.Conv1D(2, 3, padding="causal", dilation_rate=2)),
    "conv1d_stride": ((9, 2), lambda L: L.Conv1D(3, 4, strides=3, activation="sigmoid")),
    "conv3d": ((4, 4, 4, 2), lambda L: L.Conv3D(2, 2, strides=(2, 1, 2), padding="same")),
    "depthwise2d": ((6, 6, 3), lambda L: L.DepthwiseConv2D(3, depth_multiplier=2,
                                                           padding="same")),
    "depthwise1d": ((8, 2), lambda L: L.DepthwiseConv1D(3, strides=2)),
    "separable2d": ((6, 6, 2), lambda L: L.SeparableConv2D(3, 3, depth_multiplier=2,
                                                           activation="relu")),
    "separable1d": ((8, 3), lambda L: L.SeparableConv1D(2, 3, padding="same")),
    "transpose2d": ((4, 4, 2), lambda L: L.Conv2DTranspose(3, 3)),
    "transpose2d_same_stride": ((3, 3, 2), lambda L: L.Conv2DTranspose(2, 3, strides=2,
                                                                       padding="same")),
    "transpose2d_output_padding": ((3, 3, 2), lambda L: L.Conv2DTranspose(
        2, 3, strides=2, output_padding=1)),
    "transpose1d": ((5, 2), lambda L: L.Conv1DTranspose(2, 4, strides=3, padding="same")),
}


@pytest.mark.parametrize("name", sorted(CONVOLUTIONS))
def test_convolutions_against_keras(keras, name):
    shape, make = CONVOLUTIONS[name]
    model = model_of(keras, shape, make(keras.layers))
    small = int(np.prod(model.output_shape[1:])) <= 64
    net = assert_faithful(model, data(shape), closed=small)
    for layer, formula in zip(model.layers, net.layers):
        assert formula.param_count == layer.count_params()


POOLS = {
    "max2d": ((6, 6, 2), lambda L: L.MaxPooling2D(2)),
    "max2d_same_stride": ((7, 7, 2), lambda L: L.MaxPooling2D(3, strides=2, padding="same")),
    "avg2d_same_stride": ((7, 5, 2), lambda L: L.AveragePooling2D((3, 2), strides=(2, 3),
                                                                  padding="same")),
    "avg1d": ((9, 2), lambda L: L.AveragePooling1D(4, strides=3, padding="same")),
    "max1d": ((9, 2), lambda L: L.MaxPooling1D(3)),
    "max3d": ((4, 4, 4, 1), lambda L: L.MaxPooling3D(2, padding="same")),
    "avg3d": ((4, 4, 4, 1), lambda L: L.AveragePooling3D((2, 1, 2))),
    "global_avg2d": ((4, 5, 3), lambda L: L.GlobalAveragePooling2D()),
    "global_max1d_keepdims": ((6, 3), lambda L: L.GlobalMaxPooling1D(keepdims=True)),
    "global_max3d": ((3, 3, 3, 2), lambda L: L.GlobalMaxPooling3D()),
}


@pytest.mark.parametrize("name", sorted(POOLS))
def test_pooling_against_keras(keras, name):
    shape, make = POOLS[name]
    model = model_of(keras, shape, keras.layers.Dense(2), make(keras.layers))
    assert_faithful(model, data(shape), closed=int(np.prod(shape)) <= 40)


# --- independent numpy, from the textbook definitions --------------------------------------

def naive_conv2d(x, kernel, bias, stride, pad):
    """Cross-correlation: out[o1, o2, j] = sum_{a, b, c} K[a, b, c, j] x[s o1 + a - p, ...]."""
    (kh, kw, cin, cout), (h, w) = kernel.shape, x.shape[:2]
    padded = np.zeros((h + 2 * pad, w + 2 * pad, cin))
    padded[pad:pad + h, pad:pad + w] = x
    oh, ow = (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1
    out = np.zeros((oh, ow, cout))
    for o1, o2, j in itertools.product(range(oh), range(ow), range(cout)):
        patch = padded[stride * o1:stride * o1 + kh, stride * o2:stride * o2 + kw]
        out[o1, o2, j] = np.sum(patch * kernel[..., j]) + bias[j]
    return out


def naive_pool2d(x, size, stride, kind):
    h, w, c = x.shape
    out = np.zeros(((h - size) // stride + 1, (w - size) // stride + 1, c))
    for o1, o2 in itertools.product(range(out.shape[0]), range(out.shape[1])):
        window = x[stride * o1:stride * o1 + size, stride * o2:stride * o2 + size]
        out[o1, o2] = window.max(axis=(0, 1)) if kind == "max" else window.mean(axis=(0, 1))
    return out


@pytest.mark.parametrize(("stride", "padding"), [(1, "valid"), (2, "valid"), (1, "same")])
def test_convolution_is_the_textbook_cross_correlation(keras, stride, padding):
    model = model_of(keras, (7, 7, 2), keras.layers.Conv2D(3, 3, strides=stride,
                                                           padding=padding))
    kernel, bias = (w.astype(np.float64) for w in model.layers[0].get_weights())
    x = data((7, 7, 2), n=2, seed=5)
    net = symnet.explain(model)
    for sample in x:
        expected = naive_conv2d(sample.astype(np.float64), kernel, bias, stride,
                                1 if padding == "same" else 0)
        np.testing.assert_allclose(net.evaluate(sample, "float64")[0], expected, rtol=1e-12,
                                   atol=1e-12)


@pytest.mark.parametrize("kind", ["max", "average"])
def test_pooling_is_the_textbook_window(keras, kind):
    layer = (keras.layers.MaxPooling2D if kind == "max" else keras.layers.AveragePooling2D)(
        3, strides=2)
    net = symnet.explain(model_of(keras, (7, 7, 2), layer))
    x = data((7, 7, 2), n=1, seed=6)[0]
    np.testing.assert_allclose(net.evaluate(x, "float64")[0],
                               naive_pool2d(x.astype(np.float64), 3, 2, kind), rtol=1e-12)


def test_channels_first_is_channels_last_permuted(keras):
    first = model_of(keras, (2, 6, 6), keras.layers.Conv2D(3, 3, padding="same",
                                                           data_format="channels_first"),
                     keras.layers.MaxPooling2D(2, data_format="channels_first"))
    last = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Conv2D(3, 3, padding="same"),
                             keras.layers.MaxPooling2D(2)])
    last.set_weights(first.get_weights())
    x = data((6, 6, 2), n=2, seed=7)
    got = symnet.explain(first).evaluate(np.moveaxis(x, -1, 1))
    np.testing.assert_allclose(np.moveaxis(got, 1, -1), predict(last, x), rtol=1e-6, atol=1e-6)


def test_lenet_sized_network_exact_and_in_order(keras):
    L = keras.layers
    model = model_of(keras, (8, 8, 1), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(2),
                     L.Conv2D(6, 2, activation="relu"), L.Flatten(),
                     L.Dense(5, activation="relu"), L.Dense(3, activation="softmax"), seed=3)
    net = assert_faithful(model, data((8, 8, 1), n=4), closed=False)
    assert net.param_count == model.count_params()
    conv = net.layers[0]
    assert "⌊(8 + 0 − 3)/1⌋ + 1 = 6" in conv.note
    assert any("cross-correlation" in d.text for d in conv.definitions)
    from symnet.report.latex import latex

    assert r"W_{1} \star x" in latex(conv.formula)


def test_flipped_kernel_is_a_diagnosed_mistake(keras):
    model = model_of(keras, (5, 5, 1), keras.layers.Conv2D(1, 3), keras.layers.Flatten(),
                     keras.layers.Dense(1))
    (kernel, bias), (w2, b2) = (layer.get_weights() for layer in (model.layers[0],
                                                                  model.layers[2]))
    x = data((5, 5, 1), n=1, seed=8)[0].astype(np.float64)
    flipped = naive_conv2d(x, kernel[::-1, ::-1].astype(np.float64), bias, 1, 0)
    answer = float(flipped.reshape(-1) @ w2[:, 0] + b2[0])
    verdict = symnet.check(symnet.explain(model), x, answer=f"{answer:.6g}")
    assert not verdict.correct and verdict.diagnosis.code == "kernel_flipped"


# --- a student's window: padding, stride, pooling kind, flattening order --------------------

def _head(keras, conv, pool):
    """A convolution, a pooling of the whole map and one output unit: any map size fits."""
    L = keras.layers
    return model_of(keras, (6, 6, 1), conv, pool, L.Dense(1), seed=11)


def _answer(model, feature):
    w, b = model.layers[-1].get_weights()
    return f"{float(feature @ w[:, 0].astype(np.float64) + b[0]):.6g}"


def test_a_padding_left_out_is_diagnosed(keras):
    L = keras.layers
    model = _head(keras, L.Conv2D(1, 3, padding="same"), L.GlobalAveragePooling2D())
    kernel, bias = (w.astype(np.float64) for w in model.layers[0].get_weights())
    x = data((6, 6, 1), n=1, seed=12)[0].astype(np.float64)
    unpadded = naive_conv2d(x, kernel, bias, 1, 0)  # 4×4: the zeros around x forgotten
    assert unpadded.shape == (4, 4, 1)
    net = symnet.explain(model)
    verdict = symnet.check(net, x, answer=_answer(model, unpadded.mean(axis=(0, 1))))
    assert not verdict.correct and verdict.diagnosis.code == "padding_ignored"
    # The same mistake written as a step: 16 values where the layer has 36.
    verdict = symnet.check(net, x, steps={model.layers[0].name: unpadded.reshape(-1).tolist()})
    assert not verdict.correct
    assert verdict.steps[0].status == "wrong" and verdict.steps[0].code == "padding_ignored"


def test_a_stride_taken_as_one_is_diagnosed(keras):
    L = keras.layers
    model = _head(keras, L.Conv2D(2, 3, strides=2), L.GlobalMaxPooling2D())
    kernel, bias = (w.astype(np.float64) for w in model.layers[0].get_weights())
    x = data((6, 6, 1), n=1, seed=13)[0].astype(np.float64)
    stride_one = naive_conv2d(x, kernel, bias, 1, 0)
    verdict = symnet.check(symnet.explain(model), x,
                           answer=_answer(model, stride_one.max(axis=(0, 1))))
    assert not verdict.correct and verdict.diagnosis.code == "stride_ignored"


def test_average_for_max_pooling_is_diagnosed(keras):
    L = keras.layers
    model = model_of(keras, (6, 6, 1), L.MaxPooling2D(3), L.Flatten(), L.Dense(1), seed=14)
    x = data((6, 6, 1), n=1, seed=15)[0].astype(np.float64)
    averaged = naive_pool2d(x, 3, 3, "average")
    verdict = symnet.check(symnet.explain(model), x, answer=_answer(model, averaged.reshape(-1)))
    assert not verdict.correct and verdict.diagnosis.code == "wrong_pooling"


def test_flattening_channel_by_channel_is_diagnosed(keras):
    L = keras.layers
    model = model_of(keras, (3, 3, 2), L.Flatten(), L.Dense(1), seed=16)
    x = data((3, 3, 2), n=1, seed=17)[0].astype(np.float64)
    right = _answer(model, x.reshape(-1))
    channel_major = _answer(model, np.moveaxis(x, -1, 0).reshape(-1))
    assert right != channel_major
    verdict = symnet.check(symnet.explain(model), x, answer=channel_major)
    assert not verdict.correct and verdict.diagnosis.code == "flatten_order"
    assert symnet.check(symnet.explain(model), x, answer=right).correct


def test_trace_works_one_convolution_entry_by_hand(keras):
    model = model_of(keras, (5, 5, 2), keras.layers.Conv2D(2, 3), seed=18)
    kernel, _ = (w.astype(np.float64) for w in model.layers[0].get_weights())
    x = data((5, 5, 2), n=1, seed=19)[0].astype(np.float64)
    step = symnet.explain(model).trace(x).steps[-1]
    texts = [w.text for w in step.worked]
    no_bias = naive_conv2d(x, kernel, np.zeros(2), 1, 0)
    o1, o2, j = np.unravel_index(np.argmax(np.abs(no_bias)), no_bias.shape)
    assert texts[0].startswith(f"output position ({o1}, {o2}), channel {j}")
    for c in range(2):  # each input channel's window times its kernel slice
        part = np.sum(x[o1:o1 + 3, o2:o2 + 3, c] * kernel[:, :, c, j])
        assert texts[1 + c].startswith(f"input channel {c}: Σ")
        assert texts[1 + c].endswith(f"= {part:.6g}")
    assert texts[-1] == f"sum over the window: {no_bias[o1, o2, j]:.6g}"
