"""Simplification passes: every result is the same function as the network."""

from __future__ import annotations

import numpy as np
import pytest

import symnet
from symnet import UnsupportedLayerError
from symnet.analysis.passes import evaluate_chain
from symnet.ops import Affine, Elementwise, Identity, Softmax

from .conftest import randomize


def test_seed_mlp_passes(keras):
    net = symnet.explain(symnet.examples.seed_mlp())
    results = net.simplify()
    assert [r.name for r in results] == ["remove identities", "fold BatchNorm",
                                         "merge affine maps"]
    assert sum(isinstance(s.op, Identity) for s in results[0].before) == 2
    assert len(results[1].notes) == 3 and "W' = W·diag" in results[1].notes[0]
    final = results[-1].after
    assert [type(s.op) for s in final] == [Affine, Elementwise, Affine, Elementwise, Affine,
                                           Softmax]
    x = np.random.default_rng(0).normal(size=(16, 1120))
    expected = net.evaluate(x, "float64")
    for r in results:
        np.testing.assert_allclose(evaluate_chain(r.after, x), expected, rtol=1e-9, atol=1e-12)


def test_batchnorm_first_folds_into_the_following_dense(keras):
    model = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization(),
                              keras.layers.Dense(3), keras.layers.Dense(2, activation="relu"),
                              keras.layers.BatchNormalization()])
    randomize(model, 3)
    net = symnet.explain(model)
    results = net.simplify()
    assert "following" in results[1].notes[0]
    final = results[-1].after
    assert [type(s.op) for s in final] == [Affine, Elementwise, Affine]
    x = np.random.default_rng(1).normal(size=(20, 4))
    np.testing.assert_allclose(evaluate_chain(final, x), net.evaluate(x, "float64"),
                               rtol=1e-9, atol=1e-12)


def test_pruning_dead_units_of_the_regressor(keras):
    net = symnet.explain(symnet.examples.regressor_2x_plus_5())
    results = net.simplify(domain=(0, 20))
    pruned = results[3]
    assert pruned.name == "prune constant units"
    dead = net.why(10, domain=(0, 20)).dead_units["dense"]
    assert f"removed units {dead.tolist()}" in pruned.notes[-1]
    first = pruned.after[0].op
    assert isinstance(first, Affine) and first.weight.shape == (1, 16 - dead.size)
    xs = np.linspace(0, 20, 401).reshape(-1, 1)
    np.testing.assert_allclose(evaluate_chain(results[-1].after, xs), net.evaluate(xs, "float64"),
                               rtol=1e-12, atol=1e-12)


def test_pruning_on_a_box_with_several_inputs(keras):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(24, activation="relu"),
                              keras.layers.Dense(12, activation="relu"), keras.layers.Dense(2)])
    randomize(model, 4)
    w, b = model.layers[0].get_weights()
    model.layers[0].set_weights([w, b - 2.0])  # push some units to be dead on the box
    net = symnet.explain(model)
    results = net.simplify(domain=(-0.5, 0.5))
    assert any("removed units" in n for n in results[3].notes)
    assert any("replaced by that affine piece" in n for n in results[3].notes)
    fixed = [s.op for s in results[3].after
             if isinstance(s.op, Elementwise) and s.op.fixed is not None]
    assert fixed and all(s.fixed[0].shape == s.fixed[1].shape for s in fixed)
    x = np.random.default_rng(2).uniform(-0.5, 0.5, size=(200, 3))
    np.testing.assert_allclose(evaluate_chain(results[-1].after, x), net.evaluate(x, "float64"),
                               rtol=1e-9, atol=1e-12)


def test_branching_networks_are_refused(keras):
    a = keras.Input((2,))
    out = keras.layers.Add()([keras.layers.Dense(2)(a), keras.layers.Dense(2)(a)])
    with pytest.raises(UnsupportedLayerError, match="chain"):
        symnet.explain(keras.Model(a, out)).simplify()


@pytest.mark.parametrize("activation", ["leaky_relu", "relu6", "elu", "softmax"])
def test_dense_activations_with_options(keras, activation):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation=activation),
                              keras.layers.Dense(2)])
    randomize(model, 6)
    net = symnet.explain(model)
    final = net.simplify()[-1].after
    x = np.random.default_rng(3).normal(size=(10, 3))
    np.testing.assert_allclose(evaluate_chain(final, x), net.evaluate(x, "float64"),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("conv", ["Conv2D", "Conv1D", "DepthwiseConv2D", "Conv2DTranspose"])
def test_batchnorm_folds_into_the_convolution_before_it(keras, conv):
    L = keras.layers
    shape = (6, 3) if conv == "Conv1D" else (5, 5, 3)
    layer = {"Conv2D": lambda: L.Conv2D(4, 3, padding="same"), "Conv1D": lambda: L.Conv1D(4, 2),
             "DepthwiseConv2D": lambda: L.DepthwiseConv2D(3, depth_multiplier=2),
             "Conv2DTranspose": lambda: L.Conv2DTranspose(2, 2, strides=2)}[conv]()
    model = keras.Sequential([keras.Input(shape), layer, L.BatchNormalization(),
                              L.Activation("relu"), L.Flatten(), L.Dense(2)])
    randomize(model, 11)
    net = symnet.explain(model)
    folded = net.simplify()[1]
    assert any("per output channel" in note for note in folded.notes)
    assert not any(type(n.op).__name__ == "BatchNormInference" for n in folded.after)
    x = np.random.default_rng(12).normal(size=(4, *shape))
    np.testing.assert_allclose(evaluate_chain(folded.after, x), net.evaluate(x, "float64"),
                               rtol=1e-9, atol=1e-12)
