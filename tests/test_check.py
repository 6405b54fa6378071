"""Homework checking: each mistake of the catalogue, made by hand in numpy, is diagnosed."""

from __future__ import annotations

import json

import numpy as np
import pytest

import symnet
from symnet import InvalidInputError
from symnet.cli import main

from .conftest import randomize


def relu(v):
    return np.maximum(v, 0)


@pytest.fixture(scope="module")
def regressor(keras):
    return symnet.explain(symnet.examples.regressor_2x_plus_5())


def weights(net, name):
    return {k: np.asarray(v, np.float64) for k, v in net.layer(name).parameters.items()}


@pytest.fixture(scope="module")
def seed(keras):
    from .homework_models import seed_regressor

    return symnet.explain(seed_regressor(keras))


@pytest.mark.parametrize(("answer", "correct", "code"), [
    ("30", False, "too_imprecise"), ("25", False, "too_imprecise"), (25, False, "too_imprecise"),
    ("25.1", False, "close"), ("25.0", True, "rounding"), (25.0, True, "rounding"),
    ("25.005", True, "correct"), ("25.00", True, "rounding"), ("25.0047", True, "correct"),
    ("25.01", False, "close"), ("2.50e1", True, "rounding"), ("3e1", False, "too_imprecise"),
    ("20.5", False, "missing_activation"),
    # 20 is not 25.00466 rounded (that is 30): not too imprecise but wrong, and only a guess
    # at a mistake (the biases left out give 19.996, the ReLU forgotten 20.475)
    ("20", False, "bias_omitted"), ("26", False, "unknown"),
    ("25.004", True, "correct"),  # within rtol = 1e-4 whatever it shows
])
def test_the_rounding_policy_on_the_seed_regressor(seed, answer, correct, code):
    # 25.00466 at x = 10 (numpy: tests/homework_models.regressor_by_hand); 20.475 without ReLU
    verdict = symnet.check(seed, 10, answer=answer)
    assert (verdict.correct, verdict.diagnosis.code) == (correct, code), verdict.summary()
    if code == "too_imprecise":
        assert "at least 3 significant digits are required" in verdict.diagnosis.message
        assert verdict.diagnosis.confidence == "certain"
    if answer == "20":  # a hypothesis, worded as one, the other one named
        assert verdict.diagnosis.confidence == "rounding"
        assert verdict.diagnosis.message.startswith("Perhaps")
        assert "missing_activation" in verdict.diagnosis.also
    if code == "close":
        assert verdict.diagnosis.confidence == "distance"
        assert f"{abs(float(answer) - 25.00466):.3g}"[:4] in verdict.diagnosis.message


def test_digits_and_tolerance_are_the_teachers(seed):
    assert symnet.check(seed, 10, answer="25", digits=2).diagnosis.code == "rounding"
    assert not symnet.check(seed, 10, answer="25.0", digits=4).correct
    assert symnet.check(seed, 10, answer="25.0", digits=4).diagnosis.code == "too_imprecise"
    assert symnet.check(seed, 10, answer="25.1", rtol=0.01).diagnosis.code == "correct"
    for bad in ({"digits": 0}, {"digits": 2.5}, {"rtol": -1}, {"atol": float("nan")}):
        with pytest.raises(InvalidInputError):
            symnet.check(seed, 10, answer="25.0", **bad)


def test_a_tie_accepts_both_neighbours(keras):
    # an output of exactly -9.75: to two digits both -9.7 and -9.8 are roundings of it; -10
    # gives one digit of it (the tens); with digits=3, only -9.75 is right
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, name="d")])
    model.set_weights([np.array([[-0.5]], np.float32), np.array([-4.75], np.float32)])
    for answer, digits, code in (("-9.7", 2, "rounding"), ("-9.8", 2, "rounding"),
                                 ("-10", 2, "too_imprecise"), ("-10", 3, "too_imprecise"),
                                 ("-9.7", 3, "too_imprecise"), ("-9.75", 3, "correct"),
                                 ("-9.76", 3, "close"), ("-11", 3, "unknown"),
                                 ("0", 3, "bias_omitted"),
                                 # one digit, but exactly the bias left out (-5), and not a
                                 # rounding of -9.75: that mistake, not "too imprecise"
                                 ("-5", 3, "bias_omitted"), ("-5.0", 3, "bias_omitted")):
        # at x = 0 the output is -4.75, and "0" (exact, never too imprecise) the bias left out
        x = 10 if answer != "0" else 0
        verdict = symnet.check(model, x, answer=answer, digits=digits)
        assert verdict.diagnosis.code == code, (answer, digits, verdict.summary())


def test_correct_and_rounded_answers(regressor):
    exact = float(regressor.evaluate(10.0)[0, 0])
    assert symnet.check(regressor, 10, answer=exact).diagnosis.code == "correct"
    for shown in (f"{exact:.3g}", round(exact, 2), f"{exact:.4g}"):
        verdict = symnet.check(regressor, 10, answer=shown)
        assert verdict.correct and verdict.diagnosis.code in ("rounding", "correct"), shown
    assert not symnet.check(regressor, 10, answer=exact + 0.3).correct


def test_the_second_seeds_mistake_is_a_forgotten_relu(regressor):
    d1, d2 = weights(regressor, "dense"), weights(regressor, "dense_1")
    by_hand = 10.0 * d1["kernel"][0] + d1["bias"]  # ... and no ReLU
    answer = float(by_hand @ d2["kernel"][:, 0] + d2["bias"][0])
    verdict = symnet.check(regressor, 10, answer=round(answer, 4))
    assert not verdict.correct
    assert verdict.diagnosis.code == "missing_activation" and verdict.layer == "dense"
    assert "relu" in verdict.diagnosis.message


def test_bias_omitted_and_steps(regressor):
    d1, d2 = weights(regressor, "dense"), weights(regressor, "dense_1")
    hidden = relu(10.0 * d1["kernel"][0])  # bias of the first layer left out
    verdict = symnet.check(regressor, 10, steps={"dense": hidden.tolist(),
                                                 "dense_1": [float(hidden @ d2["kernel"][:, 0])]})
    assert verdict.first_wrong_step == "dense" and verdict.diagnosis.code == "bias_omitted"
    right = relu(10.0 * d1["kernel"][0] + d1["bias"])
    wrong_out = float(right @ d2["kernel"][:, 0])  # second bias forgotten
    verdict = symnet.check(regressor, 10, steps={"dense": right.round(4).tolist(),
                                                 "dense_1": [wrong_out]})
    assert verdict.first_wrong_step == "dense_1" and verdict.diagnosis.code == "bias_omitted"
    ok = symnet.check(regressor, 10, steps=json.dumps({"dense": right.tolist()}))
    assert ok.correct


@pytest.fixture(scope="module")
def bn_net(keras):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3, name="d1"),
                              keras.layers.BatchNormalization(epsilon=0.1, name="bn"),
                              keras.layers.Activation("relu", name="act"),
                              keras.layers.Dropout(0.5, name="drop"),
                              keras.layers.Dense(3, name="d2"),
                              keras.layers.Dense(2, activation="softmax", name="out")])
    randomize(model, 13)
    return symnet.explain(model)


def by_hand(net, x, *, bn=None, transpose=None, drop=1.0, logits=False, batch=None,
            relu_first=False):
    w = {n: weights(net, n) for n in ("d1", "bn", "d2", "out")}
    h = x @ w["d1"]["kernel"] + w["d1"]["bias"]
    if relu_first:
        h = relu(h)
    mu, var, eps = w["bn"]["moving_mean"], w["bn"]["moving_variance"], 0.1
    if bn == "outside":
        h = w["bn"]["gamma"] * (h - mu) / (np.sqrt(var) + eps) + w["bn"]["beta"]
    elif bn == "omitted":
        h = w["bn"]["gamma"] * (h - mu) / np.sqrt(var) + w["bn"]["beta"]
    elif bn == "batch":
        hb = batch @ w["d1"]["kernel"] + w["d1"]["bias"]
        h = w["bn"]["gamma"] * (h - hb.mean(0)) / np.sqrt(hb.var(0) + eps) + w["bn"]["beta"]
    else:
        h = w["bn"]["gamma"] * (h - mu) / np.sqrt(var + eps) + w["bn"]["beta"]
    h = (h if relu_first else relu(h)) * drop
    k2 = w["d2"]["kernel"].T if transpose else w["d2"]["kernel"]
    h = h @ k2 + w["d2"]["bias"]
    z = h @ w["out"]["kernel"] + w["out"]["bias"]
    return z if logits else np.exp(z) / np.exp(z).sum()


@pytest.mark.parametrize(("mistake", "code", "layer"), [
    ({"bn": "outside"}, "bn_epsilon_outside_sqrt", "bn"),
    ({"bn": "omitted"}, "bn_epsilon_omitted", "bn"),
    ({"transpose": True}, "transposed_kernel", "d2"),
    ({"drop": 0.5}, "dropout_at_inference", "drop"),
    ({"logits": True}, "logits_not_probabilities", "out"),
    ({"relu_first": True}, "wrong_layer_order", "bn"),
])
def test_mistake_catalogue(bn_net, mistake, code, layer):
    x = np.array([0.7, -1.2, 2.0])
    assert np.allclose(by_hand(bn_net, x), bn_net.evaluate(x)[0], rtol=1e-5)
    answer = by_hand(bn_net, x, **mistake)
    verdict = symnet.check(bn_net, x, answer=[float(f"{v:.6g}") for v in answer])
    assert not verdict.correct and verdict.diagnosis.code == code and verdict.layer == layer


def test_batch_statistics(bn_net):
    batch = np.random.default_rng(4).normal(size=(8, 3))
    x = batch[2]
    answer = by_hand(bn_net, x, bn="batch", batch=batch)
    verdict = symnet.check(bn_net, x, answer=answer.tolist(), batch=batch)
    assert verdict.diagnosis.code == "bn_batch_statistics"


def test_two_mistakes_at_once(bn_net):
    x = np.array([0.2, 0.4, -0.9])
    answer = by_hand(bn_net, x, bn="omitted", logits=True)
    verdict = symnet.check(bn_net, x, answer=answer.tolist())
    assert set(verdict.diagnosis.code.split("+")) == {"bn_epsilon_omitted",
                                                      "logits_not_probabilities"}


def test_formulas(regressor):
    wrong = symnet.check(regressor, 10, formula="2*x + 5")
    assert not wrong.correct and wrong.counterexample is not None
    c = wrong.counterexample
    assert c["network"] == pytest.approx(float(regressor.evaluate(c["input"], "float64")[0, 0]))
    assert c["formula"] == pytest.approx(2 * c["input"] + 5)
    # the closed form prints the float32 weights to 15 digits: within tolerance, proven, not
    # equal (the word is kept for a proof of equality)
    printed = symnet.check(regressor, 10, formula=str(regressor.closed_form()[0]))
    assert printed.correct and printed.proven and printed.diagnosis.code == "within_tolerance"
    assert "not equal" in printed.diagnosis.message
    assert not symnet.check(regressor, 10, formula=str(regressor.closed_form()[0]), rtol=0,
                            atol=0).correct
    latex = symnet.check(regressor, 10, formula=r"\frac{43}{20} x + \max(0, 3)")
    assert not latex.correct and latex.counterexample["formula"] == pytest.approx(
        2.15 * latex.counterexample["input"] + 3)
    with pytest.raises(InvalidInputError):
        symnet.check(regressor, 10, formula="__import__('os')")
    with pytest.raises(InvalidInputError, match="exactly one"):
        symnet.check(regressor, 10, answer=1, formula="x")


def test_bad_answers(regressor):
    for bad in ("twenty", "nan", [1, 2]):
        with pytest.raises(InvalidInputError):
            symnet.check(regressor, 10, answer=bad)
    with pytest.raises(InvalidInputError, match="no layer named"):
        symnet.check(regressor, 10, steps={"nope": [1]})


def test_cli_exit_codes(capsys, tmp_path):
    model = str(symnet.examples.regressor_path())
    assert main(["check", model, "--input", "10", "--answer", "24.6"]) == 0
    capsys.readouterr()
    assert main(["check", model, "--input", "10", "--answer", "22.86"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("wrong: Reproduced exactly by one mistake (it gives 22.85751): the "
                          "relu activation of layer 'dense' was forgotten")
    steps = tmp_path / "steps.json"
    steps.write_text(json.dumps({"dense_1": [24.597]}))
    assert main(["check", model, "--input", "10", "--steps", str(steps)]) == 0
    capsys.readouterr()
    assert main(["check", model, "--input", "10", "--formula", "2x+5", "--format",
                 "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["correct"] is False and data["counterexample"]["formula"] == pytest.approx(
        2 * data["counterexample"]["input"] + 5)
    assert main(["check", model, "--input", "10", "--answer", "abc"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symnet: error:") and err.count("\n") == 1


def test_batch_of_one_is_recognised_without_a_batch(bn_net):
    """BatchNorm computed with the statistics of the sample alone (mean = the sample,
    variance 0): every unit of the layer gives β, and no batch is needed to say so."""
    x = np.array([0.7, -1.2, 2.0])
    w = {n: weights(bn_net, n) for n in ("bn", "d2", "out")}
    h = relu(w["bn"]["beta"])  # (h − h)/√(0 + ε)·γ + β, then the ReLU
    z = (h @ w["d2"]["kernel"] + w["d2"]["bias"]) @ w["out"]["kernel"] + w["out"]["bias"]
    answer = np.exp(z) / np.exp(z).sum()
    verdict = symnet.check(bn_net, x, answer=[float(f"{v:.6g}") for v in answer])
    assert not verdict.correct and verdict.diagnosis.code == "bn_batch_statistics"
    assert verdict.layer == "bn" and "batch of one" in verdict.diagnosis.message


def test_the_answer_is_echoed_as_written(seed):
    """25.0 shows three digits; the verdict says "got 25.0", not the float's "25"."""
    net = seed
    verdict = symnet.check(net, 10, answer="25.0")
    assert verdict.written == ("25.0",) and verdict.got == pytest.approx([25.0])
    assert "got 25.0 (" in verdict.summary()
    assert verdict.to_dict()["written"] == ["25.0"]
    assert symnet.check(net, 10, answer=[25.0]).written == ("25.0",)
