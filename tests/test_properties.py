"""Property tests: random architectures and weights against Keras (hypothesis).

Profiles: ``ci`` (default, bounded for CI's time) and ``thorough`` (``HYPOTHESIS_PROFILE=thorough``
for longer local runs).
"""

from __future__ import annotations

import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symnet

from .conftest import randomize

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ACTIVATIONS = ["linear", "relu", "tanh", "sigmoid", "elu", "selu", "softplus", "gelu",
               "leaky_relu", "hard_sigmoid", "silu", "relu6"]


def layer_specs():
    dense = st.tuples(st.just("dense"), st.integers(1, 6), st.sampled_from(ACTIVATIONS),
                      st.booleans())
    relu = st.tuples(st.just("relu"), st.sampled_from([None, 1.0, 6.0]),
                     st.sampled_from([0.0, 0.1]), st.sampled_from([0.0, 0.5]))
    simple = st.sampled_from([("bn",), ("ln",), ("dropout",), ("prelu",), ("leaky",),
                              ("elu",), ("rescale",), ("softmax",)])
    return st.lists(st.one_of(dense, relu, simple), min_size=1, max_size=4)


def build(keras, inputs, specs):
    layers = [keras.Input((inputs,))]
    for spec in specs:
        kind = spec[0]
        if kind == "dense":
            layers.append(keras.layers.Dense(spec[1], activation=spec[2], use_bias=spec[3]))
        elif kind == "relu":
            layers.append(keras.layers.ReLU(max_value=spec[1], negative_slope=spec[2],
                                            threshold=spec[3]))
        else:
            layers.append({"bn": keras.layers.BatchNormalization,
                           "ln": keras.layers.LayerNormalization,
                           "dropout": lambda: keras.layers.Dropout(0.3),
                           "prelu": keras.layers.PReLU,
                           "leaky": keras.layers.LeakyReLU,
                           "elu": keras.layers.ELU,
                           "rescale": lambda: keras.layers.Rescaling(0.5, 0.25),
                           "softmax": keras.layers.Softmax}[kind]())
    return keras.Sequential(layers)


@given(inputs=st.integers(1, 4), specs=layer_specs(), seed=st.integers(0, 2**16))
def test_random_networks_evaluate_like_keras(keras, inputs, specs, seed):
    model = build(keras, inputs, specs)
    randomize(model, seed)
    x = np.random.default_rng(seed).normal(0, 2, (6, inputs)).astype(np.float32)
    expected = np.asarray(model(x, training=False))
    net = symnet.explain(model)
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(net.evaluate(x), expected, rtol=1e-5, atol=2e-6 * scale)
    np.testing.assert_allclose(net.evaluate(x, "float64"), expected, rtol=1e-4, atol=2e-6 * scale)


@given(widths=st.lists(st.integers(1, 8), min_size=1, max_size=3), seed=st.integers(0, 2**16))
def test_random_relu_networks_equal_their_piecewise_form(keras, widths, seed):
    from symnet.analysis.forms import lambdify

    layers = [keras.Input((1,))] + [keras.layers.Dense(w, activation="relu") for w in widths]
    model = keras.Sequential([*layers, keras.layers.Dense(1)])
    randomize(model, seed)
    net = symnet.explain(model)
    xs = np.linspace(-6, 6, 601)
    expected = np.asarray(model(xs.reshape(-1, 1).astype(np.float32), training=False))[:, 0]
    got = np.broadcast_to(lambdify(net.inputs, net.piecewise(exact=False))(xs), xs.shape)
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=2e-6 * scale)
