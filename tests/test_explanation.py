"""why(): the second seed's question answered, checked by independent numpy arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symnet
from symnet import InvalidInputError

from .conftest import predict, randomize


@pytest.fixture(scope="module")
def regressor(keras):
    model = symnet.examples.regressor_2x_plus_5()
    return model, symnet.explain(model)


def weights(model):
    (k1, b1), (k2, b2) = (layer.get_weights() for layer in model.layers)
    as64 = np.float64
    return k1[0].astype(as64), b1.astype(as64), k2[:, 0].astype(as64), float(b2[0])


def test_why_at_ten_answers_the_second_seed(regressor):
    model, net = regressor
    w1, b1, w2, b2 = weights(model)
    e = net.why(10.0, target="2*x + 5", domain=(0, 20))
    assert e.value == pytest.approx(float(predict(model, np.array([[10.0]], np.float32))[0, 0]))
    pre = 10.0 * w1 + b1
    np.testing.assert_array_equal(e.active["dense"], pre > 0)
    assert sum(e.contributions.values()) == pytest.approx(e.value, rel=1e-6)
    assert e.contributions["b_2[0]"] == pytest.approx(b2)
    # The seed user's hand calculation: the ReLU forgotten.
    assert e.without_activation == pytest.approx(float(np.dot(pre, w2) + b2), rel=1e-12)
    assert abs(e.without_activation - e.value) > 0.5
    slope = float(e.local_law.coeff(net.inputs[0]))
    assert slope == pytest.approx(float(np.dot(w1 * (pre > 0), w2)), rel=1e-12)
    assert e.region.contains(10)
    assert e.target_value == 25.0 and e.target_error == pytest.approx(abs(e.value - 25.0))
    c = e.law_versus_target
    assert c["target_slope"] == 2 and c["target_intercept"] == 5
    assert c["slope"] == pytest.approx(slope) and c["slope"] * 10 + c["intercept"] == pytest.approx(
        e.value, rel=1e-6)
    assert 0 <= e.max_target_error_at <= 20 and e.max_target_error >= e.target_error
    # Dead on [0, 20]: the pre-activation is affine in x, so its ends decide.
    never = (w1 * 0 + b1 <= 0) & (w1 * 20 + b1 <= 0)
    np.testing.assert_array_equal(e.dead_units["dense"], np.flatnonzero(never))
    text = e.summary()
    assert "local law" in text and "without the activations" in text and "2*x + 5" in text


def test_why_target_as_callable_and_expression(regressor):
    _, net = regressor
    x = net.inputs[0]
    by_string = net.why(3.0, target="2x+5")
    assert net.why(3.0, target=lambda v: 2 * v + 5).target_error == pytest.approx(
        by_string.target_error)
    assert net.why(3.0, target=2 * x + 5).target_error == pytest.approx(by_string.target_error)
    with pytest.raises(InvalidInputError, match="unknown name 'z'"):
        net.why(3.0, target="2*z")
    with pytest.raises(InvalidInputError, match="output must be"):
        net.why(3.0, output=1)


def test_why_on_the_seed_mlp(keras):
    model = symnet.examples.seed_mlp()
    net = symnet.explain(model)
    x = np.random.default_rng(1).normal(size=1120)
    e = net.why(x, output=5)
    assert e.contributions == {}
    assert set(e.active) == {"activation", "activation_1"}
    h = x.astype(np.float64)
    for k, layer in enumerate(model.layers[:-1]):  # up to the logits, by hand (no dropout)
        w = [v.astype(np.float64) for v in layer.get_weights()]
        if len(w) == 2:
            h = h @ w[0] + w[1]
        elif len(w) == 4:
            h = w[0] * (h - w[2]) / np.sqrt(w[3] + layer.epsilon) + w[1]
        elif layer.name.startswith("activation"):
            if k == 2:
                np.testing.assert_array_equal(e.active["activation"], h > 0)
            h = np.maximum(h, 0)
    # the softmax is not affine: the local law is the logit's, and says so
    assert e.law_of_logits and any("logit" in note for note in e.notes)
    at_x = float(e.local_law.xreplace({s: sp.Float(v) for s, v in zip(net.inputs, x)}))
    assert at_x == pytest.approx(h[5], rel=1e-9, abs=1e-9)
    assert e.value == pytest.approx(float(predict(model, x[None].astype(np.float32))[0, 5]))


def test_summary_of_a_wide_input_stays_readable(keras):
    from .conftest import randomize

    model = keras.Sequential([keras.Input((40,)), keras.layers.Dense(5, activation="relu"),
                              keras.layers.Dense(1)])
    randomize(model, 1)
    net = symnet.explain(model)
    x = np.linspace(-1, 1, 40)
    explanation = net.why(x)
    law = next(line for line in explanation.summary().splitlines() if line.startswith("local"))
    assert "smaller terms" in law and len(law) < 400
    a, b = net.local_affine(x)
    assert float(np.ravel(a) @ x + np.ravel(b)[0]) == pytest.approx(explanation.value,
                                                                        rel=1e-5)


def test_why_gives_the_polygon_around_x_of_a_two_input_network(keras):
    from matplotlib.path import Path as Polygon

    from .conftest import randomize

    L = keras.layers
    model = keras.Sequential([keras.Input((2,)), L.Dense(8, activation="relu"),
                              L.Dense(6, activation="relu"), L.Dense(1)])
    randomize(model, 3)
    net = symnet.explain(model)
    x = [0.5, -0.2]
    corners = net.why(x).polygon()
    box = ((x[0] - 2, x[0] + 2), (x[1] - 2, x[1] + 2))
    exact = [r for r in net.regions2d(box)
             if Polygon([(float(a), float(b)) for a, b in r.vertices]).contains_point(x)]
    assert len(exact) == 1
    expected = sorted((float(a), float(b)) for a, b in exact[0].vertices)
    np.testing.assert_allclose(sorted(corners), expected, atol=1e-9)
    assert "the polygon with corners" in net.why(x).summary()


def test_why_explains_the_predicted_class_of_a_softmax_after_batchnorm(keras):
    """The first seed's ending, Dense -> BatchNormalization -> Activation("softmax"): a
    classifier, so ``why(x)`` explains its predicted class (the largest output)."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5),
                              keras.layers.BatchNormalization(),
                              keras.layers.Activation("softmax")])
    randomize(model, 3)
    net = symnet.explain(model)
    for seed in range(4):
        x = np.random.default_rng(seed).normal(size=4)
        probabilities = model.predict(x[None], verbose=0)[0]
        assert net.why(x).value == pytest.approx(float(probabilities.max()), rel=1e-6)
        assert net.why(x, output=0).value == pytest.approx(float(probabilities[0]), rel=1e-6)
