"""Every backpropagation mistake of the catalogue, made by hand in numpy (written here, not with
symnet) in one layer and in every layer where it applies: the loss, every δ, every gradient and
every weight after one step as the student finds them; ``symnet.check`` diagnoses that
mistake's code, names its layers, and gives follow-through credit to what is computed right
from the student's own wrong values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import symnet
from symnet.analysis.losses import loss_of
from symnet.homework.backprop import catalogue

RATE = 0.5


# --- the hand calculation, in numpy ---------------------------------------------------------

def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


ACTS = {
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1 - _sigmoid(z))),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "linear": (lambda z: z, lambda z: np.ones_like(z)),
}


def by_hand(weights, acts, x, t, *, loss="half", rate=RATE, forgot=(), at_output=(),
            transposed=(), updated_delta=(), sign=False, factor=1.0, mean=False, update=None,
            softmax=""):
    """Backpropagation by hand through a chain of dense layers (``weights``: (W, b) per layer,
    ``acts``: each layer's activation; an output ``softmax`` goes with categorical
    crossentropy, and ``softmax`` says how its δ is found: ``""`` right (ŷ − t over the batch),
    ``"dropped"`` (∂L/∂ŷ = −t/ŷ taken as δ), ``"diagonal"`` (−t/ŷ ⊙ ŷ(1 − ŷ))). Layers are
    numbered from 0 (the first). Returns symnet's parts: ``loss``, ``delta:<layer>``,
    ``gradient:<key>``, ``updated:<key>``."""
    x, t = np.atleast_2d(np.asarray(x, float)), np.atleast_2d(np.asarray(t, float))
    hs, zs = [x], []
    for (w, b), act in zip(weights, acts):
        z = hs[-1] @ w + b
        zs.append(z)
        if act == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            hs.append(e / e.sum(axis=1, keepdims=True))
        else:
            hs.append(ACTS[act][0](z))
    y, n = hs[-1], len(weights)
    if acts[-1] == "softmax":                         # categorical crossentropy, batch mean
        value = -np.sum(t * np.log(y)) / len(y)
        dy = -t / y / len(y)
    elif loss == "half":                            # E = Σ ½ (t − y)²
        value, dy = 0.5 * np.sum((t - y) ** 2), y - t
    else:                                           # Keras' mean squared error
        value, dy = np.mean((y - t) ** 2), 2 * (y - t) / y.size
    if sign:
        dy = -dy
    value, dy = value * (2.0 if factor == 2.0 else 1.0), dy * factor
    if mean:
        value, dy = value * y.size, dy * y.size
    deltas, grads = [None] * n, [None] * n
    g = dy
    for k in range(n - 1, -1, -1):
        z, out = zs[k], hs[k + 1]
        if acts[k] == "softmax":
            d = {"": (out - t) / len(out),          # the simplification ŷ − t
                 "dropped": g, "diagonal": g * out * (1 - out)}[softmax]
        elif k in forgot:
            d = g
        elif k in at_output:
            d = g * ACTS[acts[k]][1](out)
        else:
            d = g * ACTS[acts[k]][1](z)
        deltas[k] = d
        gw = hs[k].T @ d
        w = weights[k][0]
        grads[k] = (gw.T if k in transposed else gw, d.sum(axis=0))
        used = w - rate * gw if k in updated_delta else w
        g = d @ used.T
    update = update or {}
    names = [f"layer{k}" for k in range(n)]
    parts = {"loss": value}
    after = {}
    for k in range(n):
        parts[f"delta:{names[k]}"] = deltas[k]
        for j, what in enumerate(("kernel", "bias")):
            key = f"{names[k]}/{what}"
            parts[f"gradient:{key}"] = grads[k][j]
            w, gw = weights[k][j], grads[k][j]
            how = update.get(k, {}).get(what, "") if isinstance(update.get(k), dict) else \
                update.get(k, "")
            after[key] = {"": w - rate * gw, "ascent": w + rate * gw, "no_rate": w - gw,
                          "rate_twice": w - rate * rate * gw, "kept": w}[how]
            parts[f"updated:{key}"] = after[key]
    return parts


def check_parts(net, x, t, parts, loss, rate=RATE):
    gradients, updated = {}, {}
    for label, value in parts.items():
        kind, _, name = label.partition(":")
        if kind == "loss":
            gradients["loss"] = float(value)
        elif kind in ("delta", "gradient"):
            gradients[name] = np.asarray(value)
        else:
            updated[name] = np.asarray(value)
    return symnet.check(net, x, target=t, loss=loss, gradients=gradients, learning_rate=rate,
                        updated=updated)


def build(keras, widths, acts, seed, inputs=3):
    rng = np.random.default_rng(seed)
    layers = [keras.Input((inputs,))]
    weights = []
    for k, (width, act) in enumerate(zip(widths, acts)):
        layers.append(keras.layers.Dense(width, activation=act, name=f"layer{k}"))
    model = keras.Sequential(layers)
    sizes = [inputs, *widths]
    for n, m in itertools.pairwise(sizes):
        w = rng.normal(0, 1.0, (n, m)).astype(np.float32)
        b = rng.normal(0, 0.5, m).astype(np.float32)
        weights.append((w.astype(float), b.astype(float)))
    model.set_weights([a.astype(np.float32) for wb in weights for a in wb])
    return symnet.explain(model), weights


@pytest.fixture(scope="module")
def sigmoid_net(keras):
    """3 -> 3 -> 3 -> 3, sigmoids everywhere: square kernels, a δ passed back twice."""
    acts = ["sigmoid", "sigmoid", "sigmoid"]
    net, weights = build(keras, (3, 3, 3), acts, seed=3)
    return net, weights, acts


X = [0.8, -1.2, 0.5]
T = [0.0, 1.0, 0.25]

#: code -> (made in one layer, made in every layer where it applies), as by_hand's keywords
SIGMOID = {
    "derivative_forgotten": ({"forgot": (1,)}, {"forgot": (0, 1, 2)}),
    "derivative_at_output": ({"at_output": (2,)}, {"at_output": (0, 1, 2)}),
    "outer_product_transposed": ({"transposed": (0,)}, {"transposed": (0, 1, 2)}),
    "updated_weights_for_delta": ({"updated_delta": (2,)}, {"updated_delta": (1, 2)}),
    "gradient_ascent": ({"update": {1: "ascent"}}, {"update": dict.fromkeys(range(3),
                                                                           "ascent")}),
    "learning_rate_forgotten": ({"update": {0: "no_rate"}},
                                {"update": dict.fromkeys(range(3), "no_rate")}),
    "learning_rate_twice": ({"update": {2: "rate_twice"}},
                            {"update": dict.fromkeys(range(3), "rate_twice")}),
    "bias_not_updated": ({"update": {1: {"bias": "kept"}}},
                         {"update": {k: {"bias": "kept"} for k in range(3)}}),
    "loss_sign_flipped": ({"sign": True}, {"sign": True}),
    "loss_factor_two": ({"factor": 2.0}, {"factor": 2.0}),
}


def test_the_hand_calculation_is_the_network(sigmoid_net):
    net, weights, acts = sigmoid_net
    parts = by_hand(weights, acts, X, T)
    verdict = check_parts(net, X, T, parts, "(t - y)^2/2")
    assert verdict.correct and verdict.diagnosis.code == "correct", verdict.summary()
    assert verdict.score == 1.0


@pytest.mark.parametrize("scope", ["one layer", "every layer"])
@pytest.mark.parametrize("code", sorted(SIGMOID))
def test_each_mistake_on_a_sigmoid_network(sigmoid_net, code, scope):
    net, weights, acts = sigmoid_net
    made = SIGMOID[code][scope == "every layer"]
    parts = by_hand(weights, acts, X, T, **made)
    right = by_hand(weights, acts, X, T)
    assert any(not np.allclose(parts[k], right[k], rtol=1e-3) for k in parts)
    verdict = check_parts(net, X, T, parts, "(t - y)^2/2")
    assert not verdict.correct
    assert verdict.diagnosis.code == code, verdict.summary()
    assert verdict.diagnosis.confidence == "exact", verdict.summary()
    where = {k for v in made.values() if isinstance(v, (dict, tuple)) for k in v}
    if where:
        assert set(verdict.layers) == {f"layer{k}" for k in where}, verdict.layers


def test_the_mistake_made_where_it_shows(sigmoid_net):
    """Ascent everywhere and the loss's sign flipped move the weights alike: given the weights
    alone, the mistake that changes nothing else (the step's) is named; given the δs too, the
    sign."""
    net, weights, acts = sigmoid_net
    for made, code in (({"update": dict.fromkeys(range(3), "ascent")}, "gradient_ascent"),
                       ({"sign": True}, "loss_sign_flipped")):
        parts = by_hand(weights, acts, X, T, **made)
        updated = {k.partition(":")[2]: v for k, v in parts.items() if k.startswith("updated")}
        verdict = symnet.check(net, X, target=T, loss="(t - y)^2/2", learning_rate=RATE,
                               updated=updated)
        assert verdict.diagnosis.code == "gradient_ascent"
        verdict = symnet.check(net, X, target=T, loss="(t - y)^2/2", learning_rate=RATE,
                               updated=updated, gradients={"layer2": parts["delta:layer2"]})
        assert verdict.diagnosis.code == code


def test_follow_through_from_a_slip(sigmoid_net):
    """A slip in the output layer's δ (not a catalogued mistake): every part computed right
    from it is consistent, the δ itself wrong, and the score counts one part lost."""
    net, weights, acts = sigmoid_net
    right = by_hand(weights, acts, X, T)
    slip = np.array(right["delta:layer2"], float)
    slip[0, 1] += 0.0731
    # by hand, from the slipped δ: the gradients of layer2, the δ of layer1, its gradient
    h1 = _sigmoid(_sigmoid(np.atleast_2d(X) @ weights[0][0] + weights[0][1]) @ weights[1][0]
                  + weights[1][1])
    d1 = slip @ weights[2][0].T * h1 * (1 - h1)
    gradients = {"layer2": slip, "layer2/kernel": h1.T @ slip, "layer1": d1,
                 "layer2/bias": slip.sum(axis=0)}
    updated = {"layer2/kernel": weights[2][0] - RATE * (h1.T @ slip)}
    verdict = symnet.check(net, X, target=T, loss="(t - y)^2/2", gradients=gradients,
                           learning_rate=RATE, updated=updated)
    status = {s.layer: s.status for s in verdict.steps}
    assert status == {"delta:layer2": "wrong", "gradient:layer2/kernel": "consistent",
                      "gradient:layer2/bias": "consistent", "delta:layer1": "consistent",
                      "updated:layer2/kernel": "consistent"}, status
    assert verdict.first_wrong_step == "delta:layer2"
    assert verdict.score == pytest.approx(4 / 5)
    assert verdict.diagnosis.code in ("unknown", "close"), verdict.summary()


def test_a_mistake_carried_forward_is_consistent(sigmoid_net):
    """σ′ forgotten in the output layer only: the δ after it is computed right from it."""
    net, weights, acts = sigmoid_net
    parts = by_hand(weights, acts, X, T, forgot=(2,))
    verdict = check_parts(net, X, T, parts, "(t - y)^2/2")
    status = {s.layer: s.status for s in verdict.steps}
    assert status["delta:layer2"] == "wrong"
    assert status["gradient:layer2/kernel"] == "consistent"
    assert status["delta:layer1"] == "consistent"
    assert status["updated:layer0/kernel"] == "consistent"
    assert status["loss"] == "right"


@pytest.fixture(scope="module")
def mse_net(keras):
    acts = ["tanh", "linear"]
    net, weights = build(keras, (3, 2), acts, seed=8)
    return net, weights, acts


@pytest.mark.parametrize("code, made", [("loss_factor_two", {"factor": 0.5}),
                                        ("loss_mean_forgotten", {"mean": True}),
                                        ("loss_sign_flipped", {"sign": True}),
                                        ("derivative_at_output", {"at_output": (0,)}),
                                        ("derivative_forgotten", {"forgot": (0,)})])
def test_mean_squared_error_mistakes(mse_net, code, made):
    net, weights, acts = mse_net
    parts = by_hand(weights, acts, X, [0.5, -1.0], loss="mse", **made)
    verdict = check_parts(net, X, [0.5, -1.0], parts, "mse")
    assert verdict.diagnosis.code == code, verdict.summary()


@pytest.fixture(scope="module")
def softmax_net(keras):
    acts = ["relu", "softmax"]
    net, weights = build(keras, (4, 3), acts, seed=11)
    return net, weights, acts


@pytest.mark.parametrize("code, how", [("softmax_jacobian_dropped", "dropped"),
                                       ("softmax_not_simplified", "diagonal")])
def test_softmax_and_crossentropy(softmax_net, code, how):
    net, weights, acts = softmax_net
    t = [0.0, 1.0, 0.0]
    right = by_hand(weights, acts, X, t)
    assert check_parts(net, X, t, right, "categorical_crossentropy").correct
    parts = by_hand(weights, acts, X, t, softmax=how)
    verdict = check_parts(net, X, t, parts, "categorical_crossentropy")
    assert verdict.diagnosis.code == code, verdict.summary()
    assert verdict.layers == ("layer1",)


def test_relu_derivative_forgotten(softmax_net):
    net, weights, acts = softmax_net
    t = [0.0, 0.0, 1.0]
    z = np.atleast_2d(X) @ weights[0][0] + weights[0][1]
    assert np.any(z < 0) and np.any(z > 0)
    parts = by_hand(weights, acts, X, t, forgot=(0,))
    verdict = check_parts(net, X, t, parts, "categorical_crossentropy")
    assert verdict.diagnosis.code == "derivative_forgotten", verdict.summary()


def test_a_relu_derivative_at_its_output_is_not_a_mistake(softmax_net):
    """ReLU′(h) = ReLU′(z): h > 0 exactly where z > 0, so it is not catalogued there."""
    net, _, _ = softmax_net
    codes = {(m.code, m.layers) for m in catalogue(net.graph, loss_of("mse"), RATE)}
    assert ("derivative_forgotten", ("layer0",)) in codes
    assert ("derivative_at_output", ("layer0",)) not in codes


def test_bad_input(sigmoid_net):
    net = sigmoid_net[0]
    with pytest.raises(symnet.InvalidInputError, match="names nothing"):
        symnet.check(net, X, target=T, loss="mse", gradients={"layer9": [1, 2, 3]})
    with pytest.raises(symnet.InvalidInputError, match="3 number"):
        symnet.check(net, X, target=T, loss="mse", gradients={"layer1": [1, 2]})
    with pytest.raises(symnet.InvalidInputError, match="learning_rate"):
        symnet.check(net, X, target=T, loss="mse", updated={"layer1/bias": [1, 2, 3]})
    with pytest.raises(symnet.InvalidInputError, match="target"):
        symnet.check(net, X, gradients={"loss": 1.0})
    with pytest.raises(symnet.InvalidInputError, match="exactly one"):
        symnet.check(net, X, answer=1.0, target=T, loss="mse", gradients={"loss": 1.0})


def test_two_mistakes_together(sigmoid_net):
    net, weights, acts = sigmoid_net
    parts = by_hand(weights, acts, X, T, forgot=(1,),
                    update=dict.fromkeys(range(3), "rate_twice"))
    verdict = check_parts(net, X, T, parts, "(t - y)^2/2")
    assert set(verdict.diagnosis.code.split("+")) == {"derivative_forgotten",
                                                      "learning_rate_twice"}, verdict.summary()
    assert verdict.diagnosis.confidence == "pair"


def test_a_batch_and_the_mean(mse_net):
    """Four samples: Keras' mean runs over the outputs and the samples (N = 8)."""
    net, weights, acts = mse_net
    rng = np.random.default_rng(4)
    x, t = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    right = by_hand(weights, acts, x, t, loss="mse")
    assert check_parts(net, x, t, right, "mse").correct
    parts = by_hand(weights, acts, x, t, loss="mse", mean=True)
    verdict = check_parts(net, x, t, parts, "mse")
    assert verdict.diagnosis.code == "loss_mean_forgotten", verdict.summary()


def test_the_right_parts_are_the_gradient_and_the_step(keras):
    """With a BatchNormalization (the step runs in training mode), the right parts are
    ``net.gradient`` and ``net.train_step`` themselves, moving statistics included."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="d"),
                              keras.layers.BatchNormalization(name="bn"),
                              keras.layers.Activation("tanh", name="a"),
                              keras.layers.Dense(2, name="o")])
    from .conftest import randomize

    randomize(model, 2)
    net = symnet.explain(model)
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    g = net.gradient(x, t, loss="mse", precision="float64")
    step = net.train_step(x, t, loss="mse", learning_rate=0.1, precision="float64")
    gradients = {"loss": g.loss, **dict(g.deltas), **dict(g.parameters)}
    verdict = symnet.check(net, x, target=t, loss="mse", gradients=gradients,
                           learning_rate=0.1, updated=dict(step))
    assert verdict.correct, verdict.summary()
    assert any(s.layer == "updated:bn/moving_mean" for s in verdict.steps)


def test_sigmoid_and_binary_crossentropy(keras):
    """Keras simplifies the crossentropy of a sigmoid to δ = ŷ − t (over the mean); a student
    who forgets σ′ takes ∂L/∂ŷ = (−t/ŷ + (1 − t)/(1 − ŷ))/N itself as the δ."""
    acts = ["tanh", "sigmoid"]
    net, weights = build(keras, (3, 2), acts, seed=21)
    t = [1.0, 0.0]
    x = np.atleast_2d(X)
    h = np.tanh(x @ weights[0][0] + weights[0][1])
    y = _sigmoid(h @ weights[1][0] + weights[1][1])
    right = (y - np.asarray(t)) / 2
    forgot = (-np.asarray(t) / y + (1 - np.asarray(t)) / (1 - y)) / 2
    for delta, code in ((right, "correct"), (forgot, "derivative_forgotten")):
        d1 = delta @ weights[1][0].T * (1 - h ** 2)
        verdict = symnet.check(net, X, target=t, loss="binary_crossentropy",
                               gradients={"layer1": delta, "layer1/kernel": h.T @ delta,
                                          "layer0": d1})
        assert verdict.diagnosis.code == code, verdict.summary()
