"""Every mistake of the catalogue, made by hand in numpy in one layer and in every layer, on
the first seed's shape and on the second seed's network: the diagnosis is that mistake's code."""

from __future__ import annotations

import numpy as np
import pytest

import symnet
from symnet.homework.mistakes import catalogue, pairs

from .homework_models import (
    mlp_by_hand,
    regressor_by_hand,
    seed_mlp_shape,
    seed_regressor,
    shown,
    weights,
)


@pytest.fixture(scope="module")
def mlp(keras):
    return symnet.explain(seed_mlp_shape(keras))


@pytest.fixture(scope="module")
def regressor(keras):
    return symnet.explain(seed_regressor(keras))


X = np.random.default_rng(1).normal(size=12)

#: code -> (one layer, every layer) as keyword arguments of mlp_by_hand.
MLP_MISTAKES = {
    "bias_omitted": ({"bias_omitted": (1,)}, {"bias_omitted": (0, 1, 2)}),
    "bn_epsilon_outside_sqrt": ({"bn": {1: "outside"}},
                                {"bn": dict.fromkeys(range(3), "outside")}),
    "bn_epsilon_omitted": ({"bn": {2: "omitted"}}, {"bn": dict.fromkeys(range(3), "omitted")}),
    "bn_sigma_for_variance": ({"bn": {0: "squared"}},
                              {"bn": dict.fromkeys(range(3), "squared")}),
    "bn_sigma_for_variance ": ({"bn": {1: "std"}}, {"bn": dict.fromkeys(range(3), "std")}),
    "bn_gamma_beta_swapped": ({"bn": {1: "swapped"}},
                              {"bn": dict.fromkeys(range(3), "swapped")}),
    "missing_activation": ({"relu_missing": (0,)}, {"relu_missing": (0, 1)}),
    "dropout_at_inference": ({"dropout": {1: 0.5}}, {"dropout": {0: 0.5, 1: 0.5}}),
    "dropout_at_inference ": ({"dropout": {0: 2.0}}, {"dropout": {0: 2.0, 1: 2.0}}),
    "logits_not_probabilities": ({"output": "logits"}, {"output": "logits"}),
    "sigmoid_for_softmax": ({"output": "sigmoid"}, {"output": "sigmoid"}),
    "wrong_layer_order": ({"relu_first": (1,)}, {"relu_first": (0, 1)}),
}


def test_the_hand_calculation_is_the_network(mlp):
    np.testing.assert_allclose(mlp_by_hand(mlp, X), mlp.evaluate(X[None], "float64")[0],
                               rtol=1e-12)


@pytest.mark.parametrize("scope", ["one layer", "every layer"])
@pytest.mark.parametrize("code", sorted(MLP_MISTAKES))
def test_each_mistake_on_the_seed_mlp_shape(mlp, code, scope):
    made = MLP_MISTAKES[code][scope == "every layer"]
    answer = mlp_by_hand(mlp, X, **made)
    assert not np.allclose(answer, mlp_by_hand(mlp, X), rtol=1e-4)
    verdict = symnet.check(mlp, X, answer=shown(answer))
    assert not verdict.correct
    assert verdict.diagnosis.code == code.strip(), verdict.diagnosis.message
    stages = {k for v in made.values() if isinstance(v, (dict, tuple)) for k in v}
    if scope == "every layer" and len(stages) > 1:
        assert len(verdict.layers) == len(stages)
        assert all(repr(layer) in verdict.diagnosis.message for layer in verdict.layers)


def test_pre_activation_written_as_the_output_on_the_seed_mlp_shape(mlp):
    from .homework_models import ACT, BN

    for stages in ((1,), (0, 1)):
        steps = {}
        for s in range(2):
            stop = BN[s] if s in stages else ACT[s]  # the values before the ReLU, written
            steps[ACT[s]] = shown(mlp_by_hand(mlp, X, stop=stop))
        steps[ACT[2]] = shown(mlp_by_hand(mlp, X))  # and the output, computed right
        verdict = symnet.check(mlp, X, steps=steps)
        assert verdict.diagnosis.code == "pre_activation_as_output"
        assert verdict.layers == tuple(ACT[s] for s in stages)
        assert [v.status for v in verdict.steps] == [
            "wrong" if s in stages else "right" for s in range(3)]


@pytest.mark.parametrize("every", [False, True])
def test_batch_statistics_on_the_seed_mlp_shape(mlp, every):
    batch = np.random.default_rng(2).normal(size=(6, 12))
    stages = range(3) if every else (1,)
    answer = mlp_by_hand(mlp, X, bn=dict.fromkeys(stages, "batch"), batch=batch)
    verdict = symnet.check(mlp, X, answer=shown(answer), batch=batch)
    assert verdict.diagnosis.code == "bn_batch_statistics"


def test_two_different_mistakes_and_never_a_repeated_code(mlp):
    answer = mlp_by_hand(mlp, X, bias_omitted=(0, 1, 2), bn=dict.fromkeys(range(3), "omitted"))
    verdict = symnet.check(mlp, X, answer=shown(answer))
    assert sorted(verdict.diagnosis.code.split("+")) == ["bias_omitted", "bn_epsilon_omitted"]
    for mistake in pairs(catalogue(mlp.graph)):
        parts = mistake.code.split("+")
        assert len(parts) == 2 and len(set(parts)) == 2, mistake.code


def test_the_same_mistake_in_two_layers_is_one_code(mlp):
    answer = mlp_by_hand(mlp, X, bias_omitted=(0, 2))
    verdict = symnet.check(mlp, X, answer=shown(answer))
    # in two of the three layers: not "everywhere", and never bias_omitted+bias_omitted
    assert "bias_omitted+bias_omitted" not in verdict.diagnosis.code


# --- the second seed's network --------------------------------------------------------------

def test_the_seed_regressor_is_the_authors(regressor):
    assert float(regressor.evaluate(10.0)[0, 0]) == pytest.approx(25.0047, abs=5e-5)
    assert regressor_by_hand(10.0, relu=False) == pytest.approx(20.4750, abs=5e-5)


@pytest.mark.parametrize(("code", "made", "x"), [
    ("missing_activation", {"relu": False}, 10.0),
    ("bias_omitted", {"bias": (1,)}, 10.0),
    ("bias_omitted", {"bias": (0,)}, 10.0),
    ("bias_omitted", {"bias": ()}, 10.0),
])
def test_each_mistake_on_the_seed_regressor(regressor, code, made, x):
    right = regressor_by_hand(x)
    wrong = regressor_by_hand(x, **made)
    assert abs(wrong - right) > 1e-3
    verdict = symnet.check(regressor, x, answer=f"{wrong:.6g}")
    assert not verdict.correct and verdict.diagnosis.code == code, verdict.diagnosis.message


def test_a_relu_on_the_seed_regressors_output_changes_nothing(regressor):
    # its output is positive on all reals (its least value is 1.85 near x = -2.4): a ReLU
    # applied to it is no mistake in effect, and the answer is right
    codes = {m.code for m in catalogue(regressor.graph)}
    assert "activation_on_output" in codes
    for x in (-10.0, -2.4, 10.0):
        answer = regressor_by_hand(x, relu_on_output=True)
        assert answer == regressor_by_hand(x) > 0
        assert symnet.check(regressor, x, answer=f"{answer:.6g}").correct


def test_pre_activation_written_as_the_output(regressor):
    d1, d2 = weights(regressor, "dense"), weights(regressor, "dense_1")
    pre = 10.0 * d1["kernel"][0] + d1["bias"]
    out = np.maximum(pre, 0) @ d2["kernel"][:, 0] + d2["bias"][0]
    verdict = symnet.check(regressor, 10, steps={"dense": shown(pre), "dense_1": shown([out])})
    assert verdict.diagnosis.code == "pre_activation_as_output"
    assert [s.status for s in verdict.steps] == ["wrong", "right"]
    forgot = pre @ d2["kernel"][:, 0] + d2["bias"][0]  # the ReLU really forgotten
    verdict = symnet.check(regressor, 10, steps={"dense": shown(pre), "dense_1": shown([forgot])})
    assert verdict.diagnosis.code == "missing_activation"
    assert [s.status for s in verdict.steps] == ["wrong", "consistent"]


# --- the input normalisation and the rewritten ops, against numpy ----------------------------

@pytest.fixture(scope="module")
def normalized(keras):
    norm = keras.layers.Normalization(mean=[1.0, -2.0, 0.5], variance=[4.0, 0.25, 2.0],
                                      name="norm")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Rescaling(0.5, offset=1.0,
                                                                        name="scale"),
                              norm, keras.layers.Dense(2, activation="tanh", name="d"),
                              keras.layers.Dense(1, name="out")])
    from .conftest import randomize

    randomize(model, 8)
    return symnet.explain(model)


def normalized_by_hand(net, x, *, rescale=True, normalize=True, tanh_on_output=False):
    h = np.asarray(x, np.float64)
    if rescale:
        h = 0.5 * h + 1.0
    if normalize:
        h = (h - np.array([1.0, -2.0, 0.5])) / np.sqrt([4.0, 0.25, 2.0])
    d, o = weights(net, "d"), weights(net, "out")
    y = float(np.tanh(h @ d["kernel"] + d["bias"]) @ o["kernel"][:, 0] + o["bias"][0])
    return np.tanh(y) if tanh_on_output else y


@pytest.mark.parametrize(("made", "code", "layers"), [
    ({"rescale": False}, "normalization_omitted", ("scale",)),
    ({"normalize": False}, "normalization_omitted", ("norm",)),
    ({"rescale": False, "normalize": False}, "normalization_omitted", ("scale", "norm")),
    ({"tanh_on_output": True}, "activation_on_output", ("out",)),
])
def test_input_normalisation_forgotten_and_activation_on_output(normalized, made, code, layers):
    x = np.array([2.0, -1.0, 3.0])
    assert normalized_by_hand(normalized, x) == pytest.approx(
        float(normalized.evaluate(x[None], "float64")[0, 0]), rel=1e-12)
    answer = normalized_by_hand(normalized, x, **made)
    verdict = symnet.check(normalized, x, answer=f"{answer:.7g}")
    assert verdict.diagnosis.code == code and verdict.layers == layers


def test_each_rewritten_op_is_its_hand_calculation(mlp):
    """Each BatchNorm rewrite, run alone on one layer's input, against numpy."""
    from symnet.backends import FloatBackend

    h = np.random.default_rng(3).normal(size=(4, 10))
    w = weights(mlp, "batch_normalization")
    g, b, mu, var = w["gamma"], w["beta"], w["moving_mean"], w["moving_variance"]
    eps = 1e-3
    expected = {
        "epsilon_outside_sqrt": g * (h - mu) / (np.sqrt(var) + eps) + b,
        "epsilon_omitted": g * (h - mu) / np.sqrt(var) + b,
        "variance_squared": g * (h - mu) / np.sqrt(var**2 + eps) + b,
        "std_for_variance": g * (h - mu) / np.sqrt(np.sqrt(var) + eps) + b,
        "swapped": b * (h - mu) / np.sqrt(var + eps) + g,
        "batch of one": g * (h - h) / np.sqrt(0 + eps) + b,  # each sample its own batch
    }
    index = next(i for i, n in enumerate(mlp.graph.nodes) if n.layer == "batch_normalization")
    rewrites = mlp.graph.nodes[index].op.mistakes()
    seen = set()
    for rewrite in rewrites:
        key = getattr(rewrite.op, "variant", "inference")
        key = "swapped" if rewrite.code == "bn_gamma_beta_swapped" else key
        key = rewrite.variant if rewrite.variant == "batch of one" else key
        got = rewrite.op.forward(FloatBackend(np.float64), h)
        np.testing.assert_allclose(got, expected[key], rtol=1e-12)
        seen.add(key)
    assert seen == set(expected)


@pytest.mark.slow
def test_every_mistake_on_the_seed_mlp_itself(keras):
    """The first seed's own 718,270-parameter network: each mistake in one layer and in every
    layer, computed by hand in numpy, is diagnosed as itself."""
    net = symnet.explain(symnet.examples.seed_mlp())
    x = np.random.default_rng(7).normal(size=1120)
    np.testing.assert_allclose(mlp_by_hand(net, x), net.evaluate(x[None], "float64")[0],
                               rtol=1e-9)
    for code, scopes in sorted(MLP_MISTAKES.items()):
        for made in scopes:
            answer = mlp_by_hand(net, x, **made)
            verdict = symnet.check(net, x, answer=shown(answer, 8))
            assert verdict.diagnosis.code == code.strip(), (code, made)
