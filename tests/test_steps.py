"""Follow-through credit: each step against the network and against the network applied to the
student's own earlier values; wrong units named and explained; a score."""

from __future__ import annotations

import numpy as np
import pytest

import symnet

from .homework_models import DENSE, mlp_by_hand, seed_mlp_shape, seed_regressor, shown, weights


@pytest.fixture(scope="module")
def regressor(keras):
    return symnet.explain(seed_regressor(keras))


@pytest.fixture(scope="module")
def mlp(keras):
    return symnet.explain(seed_mlp_shape(keras))


def hand(net, x, hidden=None):
    d1, d2 = weights(net, "dense"), weights(net, "dense_1")
    pre = x * d1["kernel"][0] + d1["bias"]
    h = np.maximum(pre, 0) if hidden is None else np.asarray(hidden, np.float64)
    return pre, h, float(h @ d2["kernel"][:, 0] + d2["bias"][0])


def test_every_step_right(regressor):
    _, h, y = hand(regressor, 10.0)
    verdict = symnet.check(regressor, 10, steps={"dense": shown(h), "dense_1": shown([y])})
    assert verdict.correct and verdict.score == 1.0
    assert [(s.layer, s.status) for s in verdict.steps] == [("dense", "right"),
                                                             ("dense_1", "right")]


def test_a_wrong_first_layer_carried_forward_is_consistent(regressor):
    _pre, h, _ = hand(regressor, 10.0)
    slip = h.copy()
    slip[5] += 1.0  # one unit off by one; the next layer computed from it, correctly
    _, _, y = hand(regressor, 10.0, slip)
    verdict = symnet.check(regressor, 10, steps={"dense": shown(slip), "dense_1": shown([y])})
    assert not verdict.correct and verdict.first_wrong_step == "dense"
    first, second = verdict.steps
    assert (first.status, first.wrong_units) == ("wrong", (5,))
    assert (second.status, second.wrong_units) == ("consistent", ())
    assert verdict.score == 0.5
    np.testing.assert_allclose(second.own_expected, [y], rtol=1e-5)  # from the 6 digits shown


def test_a_bias_left_out_in_one_unit_is_named(regressor):
    pre, h, _ = hand(regressor, 10.0)
    b = weights(regressor, "dense")["bias"]
    slip = h.copy()
    slip[1] = max(pre[1] - b[1], 0)  # unit 1's bias (1.1705) forgotten
    verdict = symnet.check(regressor, 10, steps={"dense": shown(slip)})
    step = verdict.steps[0]
    assert step.wrong_units == (1,)
    assert [(n.unit, n.code) for n in step.notes] == [(1, "bias_omitted")]
    assert step.notes[0].difference == pytest.approx(-b[1], rel=1e-5)
    assert step.code == "bias_omitted"


def test_wrong_then_wrong_again(regressor):
    pre, _h, _y = hand(regressor, 10.0)
    d2 = weights(regressor, "dense_1")
    wrong_out = float(pre @ d2["kernel"][:, 0])  # no ReLU, and no output bias, from pre
    verdict = symnet.check(regressor, 10, steps={"dense": shown(pre),
                                                 "dense_1": shown([wrong_out])})
    assert [s.status for s in verdict.steps] == ["wrong", "wrong"]
    assert verdict.steps[1].notes[0].code == "bias_omitted"
    assert verdict.score == 0.0
    assert verdict.diagnosis.code in ("missing_activation", "missing_activation+bias_omitted",
                                      "bias_omitted+missing_activation")


def test_the_same_mistake_in_every_layer_is_one_diagnosis(mlp):
    x = np.random.default_rng(1).normal(size=12)
    steps = {DENSE[s]: shown(mlp_by_hand(mlp, x, bias_omitted=(0, 1, 2), stop=DENSE[s]))
             for s in range(3)}
    verdict = symnet.check(mlp, x, steps=steps)
    assert verdict.diagnosis.code == "bias_omitted"
    assert verdict.layers == DENSE
    # each later dense layer is wrong again (its own bias left out), not consistent
    assert [s.status for s in verdict.steps] == ["wrong", "wrong", "wrong"]
    assert all(s.code == "bias_omitted" for s in verdict.steps)


def test_rounded_values_carried_forward_earn_full_credit(regressor):
    _pre, h, y = hand(regressor, 10.0)
    rounded = [float(f"{v:.3g}") for v in h]  # three significant digits: right by rounding
    _, _, carried = hand(regressor, 10.0, rounded)  # the next layer from them, exactly
    verdict = symnet.check(regressor, 10, steps={"dense": [f"{v:.3g}" for v in h],
                                                 "dense_1": shown([carried])})
    assert verdict.steps[0].status == "right"
    close = abs(carried - y) <= 1e-4 * abs(y)
    assert verdict.steps[1].status == ("right" if close else "consistent")
    assert verdict.correct and verdict.score == 1.0


def test_steps_errors(regressor):
    with pytest.raises(symnet.InvalidInputError, match="has 16 value"):
        symnet.check(regressor, 10, steps={"dense": [1, 2]})
    with pytest.raises(symnet.InvalidInputError, match="not valid JSON"):
        symnet.check(regressor, 10, steps="{")
    with pytest.raises(symnet.InvalidInputError, match="mapping"):
        symnet.check(regressor, 10, steps="[1, 2]")
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(symnet.InvalidInputError):
        symnet.check(regressor, 10, steps=deep)


def test_summary_and_json_list_the_steps(regressor):
    pre, _h, y = hand(regressor, 10.0)
    verdict = symnet.check(regressor, 10, steps={"dense": shown(pre), "dense_1": shown([y])})
    text = verdict.summary()
    assert "dense: wrong" in text and "dense_1: right" in text and "score: 0.5" in text
    data = verdict.to_dict()
    assert [s["status"] for s in data["steps"]] == ["wrong", "right"] and data["score"] == 0.5
