"""Layers that move, pad, crop, repeat, upsample and concatenate numbers, per-channel
scaling, statistics over any axis and broadcasting merges, against Keras."""

from __future__ import annotations

import numpy as np
import pytest

import symnet

from .conftest import assert_faithful, predict, randomize


def faithful(keras, shape, *layers, seed=0, **options):
    model = keras.Sequential([keras.Input(shape), *layers])
    randomize(model, seed)
    x = np.random.default_rng(seed + 1).normal(size=(3, *shape)).astype(np.float32)
    return assert_faithful(model, x, **options)


LAYERS = {
    "zero_padding1d": ((4, 2), lambda L: L.ZeroPadding1D((1, 2))),
    "zero_padding2d": ((3, 4, 2), lambda L: L.ZeroPadding2D(((1, 2), (0, 1)))),
    "zero_padding2d_cf": ((2, 3, 3), lambda L: L.ZeroPadding2D(1, data_format="channels_first")),
    "zero_padding3d": ((2, 2, 2, 1), lambda L: L.ZeroPadding3D(1)),
    "cropping1d": ((6, 2), lambda L: L.Cropping1D((1, 2))),
    "cropping2d": ((5, 5, 2), lambda L: L.Cropping2D(((1, 0), (2, 1)))),
    "cropping3d": ((3, 4, 4, 1), lambda L: L.Cropping3D(1)),
    "upsampling1d": ((3, 2), lambda L: L.UpSampling1D(3)),
    "upsampling2d": ((2, 3, 2), lambda L: L.UpSampling2D((2, 3))),
    "upsampling2d_bilinear": ((3, 3, 2), lambda L: L.UpSampling2D(2, interpolation="bilinear")),
    "upsampling2d_bilinear_3": ((2, 3, 1), lambda L: L.UpSampling2D(3,
                                                                    interpolation="bilinear")),
    "upsampling3d": ((2, 2, 2, 1), lambda L: L.UpSampling3D(2)),
    "permute": ((2, 3, 4), lambda L: L.Permute((3, 1, 2))),
    "repeat_vector": ((4,), lambda L: L.RepeatVector(3)),
    "flatten_channels_first": ((2, 3, 4), lambda L: L.Flatten(data_format="channels_first")),
    "rescaling_per_channel": ((3, 3), lambda L: L.Rescaling([0.5, 2.0, -1.0], [1.0, 0.0, 2.0])),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_rearranging_layers_against_keras(keras, name):
    shape, make = LAYERS[name]
    faithful(keras, shape, keras.layers.Dense(shape[-1]), make(keras.layers))


def test_rearrangements_by_hand(keras):
    """Padding puts zeros around, cropping cuts, nearest upsampling repeats, permute moves."""
    x = np.arange(12, dtype=np.float32).reshape(1, 2, 3, 2)
    L = keras.layers
    cases = [
        (L.ZeroPadding2D(((1, 0), (0, 2))), np.pad(x[0], ((1, 0), (0, 2), (0, 0)))),
        (L.Cropping2D(((1, 0), (1, 1))), x[0, 1:, 1:2]),
        (L.UpSampling2D((2, 1)), np.repeat(x[0], 2, axis=0)),
        (L.Permute((2, 1, 3)), np.transpose(x[0], (1, 0, 2))),
    ]
    for layer, expected in cases:
        net = symnet.explain(keras.Sequential([keras.Input((2, 3, 2)), layer]))
        np.testing.assert_array_equal(net.evaluate(x, "float64")[0], expected)


@pytest.mark.parametrize("axis", [1, 2, -1])
def test_concatenate_on_any_axis(keras, axis):
    a, b = keras.Input((2, 3)), keras.Input((2, 3))
    merged = keras.layers.Concatenate(axis=axis)([keras.layers.Dense(3)(a),
                                                  keras.layers.Dense(3)(b)])
    model = keras.Model([a, b], keras.layers.Dense(2)(merged))
    randomize(model, 3)
    rng = np.random.default_rng(4)
    assert_faithful(model, [rng.normal(size=(3, 2, 3)).astype(np.float32) for _ in range(2)])


@pytest.mark.parametrize(("first", "second"), [((2,), (1,)), ((3, 2), (2,)), ((3, 1), (1, 4))])
def test_broadcasting_merges(keras, first, second):
    a, b = keras.Input(first), keras.Input(second)
    out = keras.layers.Add()([a, b])
    out = keras.layers.Multiply()([out, b])
    model = keras.Model([a, b], out)
    rng = np.random.default_rng(5)
    x = [rng.normal(size=(4, *first)).astype(np.float32),
         rng.normal(size=(4, *second)).astype(np.float32)]
    net = symnet.explain(model)
    np.testing.assert_allclose(net.evaluate(x), predict(model, x), rtol=1e-6, atol=1e-6)
    rank = max(len(first), len(second))
    a_, b_ = (v.reshape(4, *(1,) * (rank - v.ndim + 1), *v.shape[1:]) for v in x)
    expected = (a_ + b_) * b_  # numpy's broadcasting, per sample, after the batch axis
    np.testing.assert_allclose(net.evaluate(x, "float64"), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("axis", [-1, (1, 2), None, 1])
def test_normalization_on_any_axis(keras, axis):
    layer = keras.layers.Normalization(axis=axis)
    data = np.random.default_rng(6).normal(2.0, 3.0, size=(40, 3, 4)).astype(np.float32)
    layer.adapt(data)
    model = keras.Sequential([keras.Input((3, 4)), layer])
    assert_faithful(model, data[:5])
