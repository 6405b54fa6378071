"""A published, widely followed backpropagation walk-through reproduced from its own numbers:
Matt Mazur, "A Step by Step Backpropagation Example" (2015,
mattmazur.com/2015/03/17/a-step-by-step-backpropagation-example/).

A 2-2-2 network of sigmoids; inputs 0.05, 0.10; targets 0.01, 0.99; hidden weights
w1…w4 = 0.15, 0.20, 0.25, 0.30 and bias 0.35; output weights w5…w8 = 0.40, 0.45, 0.50, 0.55
and bias 0.60; the squared error with ½, summed; one step of gradient descent with learning
rate 0.5 — the biases are not updated (frozen here). Every figure the post prints is checked to
the digits it prints, from symnet's exact (and float64) numbers. In Keras' layout a kernel is
(in, out): net_h1 = w1·i1 + w2·i2 + b1 puts w1, w2 in column 0.

Two figures of the post are not what its own rule gives: the error after the step, printed
0.291027924, is 0.29102777369… (a drift of 1.5e-7, noted by other reproductions too), and the
figures after 10,000 steps drift likewise; both are checked against the exact computation and
shown to lie within that drift of the printed ones.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
import sympy as sp

import symnet

WEIGHTS = {"hidden/kernel": [[0.15, 0.25], [0.20, 0.30]], "hidden/bias": [0.35, 0.35],
           "output/kernel": [[0.40, 0.50], [0.45, 0.55]], "output/bias": [0.60, 0.60]}
X, TARGET, RATE = [0.05, 0.10], [0.01, 0.99], 0.5
LOSS = "(t - y)^2/2"
FROZEN = ["hidden/bias", "output/bias"]


def printed(value, figure: str) -> None:
    """``value`` rounded to the decimals ``figure`` shows is ``figure``."""
    decimals = -Decimal(figure).as_tuple().exponent
    got = round(float(value), decimals)
    assert got == pytest.approx(float(figure), abs=0.5 * 10.0 ** -decimals), (value, figure)
    assert f"{got:.{decimals}f}" == f"{float(figure):.{decimals}f}", (value, figure)


@pytest.fixture(scope="module")
def network(keras):
    model = keras.Sequential([keras.Input((2,)),
                              keras.layers.Dense(2, activation="sigmoid", name="hidden"),
                              keras.layers.Dense(2, activation="sigmoid", name="output")])
    model.set_weights([np.asarray(WEIGHTS[k], np.float32) for k in
                       ("hidden/kernel", "hidden/bias", "output/kernel", "output/bias")])
    # the post's own numbers, in double precision (float32 cannot hold 0.15)
    return symnet.explain(model).with_weights({k: np.asarray(v, np.float64)
                                               for k, v in WEIGHTS.items()})


@pytest.mark.parametrize("precision", ["exact", "float64"])
def test_every_printed_figure_of_the_step(network, precision):
    g = network.gradient(X, TARGET, loss=LOSS, precision=precision)
    if precision == "exact":
        assert isinstance(g.loss, sp.Float)
    trace = g.trace()
    output, hidden = trace.step("output"), trace.step("hidden")
    # the forward pass
    printed(hidden.pre_activation.value[0], "0.3775")                   # net_h1
    printed(hidden.inputs[0][0], "0.05")
    printed(output.inputs[0][0], "0.593269992")                         # out_h1
    printed(output.inputs[0][1], "0.596884378")                         # out_h2
    printed(output.pre_activation.value[0], "1.105905967")              # net_o1
    y = g.run.values["y"][0]
    printed(y[0], "0.75136507")                                         # out_o1
    printed(y[1], "0.772928465")                                        # out_o2
    # the error
    t = np.asarray(TARGET)
    errors = [(t[j] - float(y[j])) ** 2 / 2 for j in range(2)]
    printed(errors[0], "0.274811083")                                   # E_o1
    printed(errors[1], "0.023560026")                                   # E_o2
    printed(g.loss, "0.298371109")                                      # E_total
    # the output layer
    printed(output.output_gradient.value[0], "0.74136507")              # ∂E/∂out_o1
    printed(output.slope.value[0], "0.186815602")                       # ∂out_o1/∂net_o1
    printed(output.delta.value[0], "0.138498562")                       # ∂E/∂net_o1 = δ_o1
    kernel = dict((q.key, q) for q in output.parameters)["output/kernel"].value
    printed(kernel[0, 0], "0.082167041")                                # ∂E/∂w5
    # the hidden layer: ∂E_o1/∂out_h1 = δ_o1·w5, ∂E_o2/∂out_h1 = δ_o2·w7
    w = np.asarray(WEIGHTS["output/kernel"])
    printed(output.delta.value[0] * sp.Float(w[0, 0]), "0.055399425")
    # printed −0.019049119: the post multiplies a rounded δ_o2 by w7; the exact product is
    # −0.01904911826, within 1e-9 of it
    assert abs(float(output.delta.value[1] * sp.Float(w[0, 1])) + 0.019049119) < 1e-9
    printed(hidden.output_gradient.value[0], "0.036350306")             # ∂E_total/∂out_h1
    printed(hidden.slope.value[0], "0.241300709")                       # ∂out_h1/∂net_h1
    hidden_kernel = dict((q.key, q) for q in hidden.parameters)["hidden/kernel"].value
    printed(hidden_kernel[0, 0], "0.000438568")                         # ∂E/∂w1
    # the formulas are the textbook's
    assert str(output.delta.formula.args[1].function.expr) == "SigmoidPrime(t)"
    assert str(hidden.output_gradient.formula) == "delta_2*W_2.T"
    assert str(dict((q.key, q) for q in hidden.parameters)["hidden/kernel"].formula) == (
        "x.T*delta_1")


@pytest.mark.parametrize("precision", ["exact", "float64"])
def test_the_updated_weights(network, precision):
    step = network.train_step(X, TARGET, loss=LOSS, learning_rate=RATE, frozen=FROZEN,
                              precision=precision)
    out, hid = np.asarray(step["output/kernel"]), np.asarray(step["hidden/kernel"])
    for value, figure in ((out[0, 0], "0.35891648"), (out[1, 0], "0.408666186"),
                          (out[0, 1], "0.511301270"), (out[1, 1], "0.561370121"),
                          (hid[0, 0], "0.149780716"), (hid[1, 0], "0.19956143"),
                          (hid[0, 1], "0.24975114"), (hid[1, 1], "0.29950229")):
        printed(value, figure)
    np.testing.assert_array_equal(np.asarray(step["hidden/bias"], np.float64), [0.35, 0.35])
    after = network.with_weights({k: np.asarray(v, np.float64) for k, v in step.items()})
    error = after.gradient(X, TARGET, loss=LOSS, precision="float64").loss
    assert error == pytest.approx(0.29102777369359933, abs=1e-15)
    assert abs(error - 0.291027924) < 2e-7  # the post's figure, drifted by 1.5e-7


def test_the_float32_network_agrees_within_float32(keras, network):
    """The same network as Keras holds it (float32 weights), in Keras' arithmetic."""
    model = keras.Sequential([keras.Input((2,)),
                              keras.layers.Dense(2, activation="sigmoid", name="hidden"),
                              keras.layers.Dense(2, activation="sigmoid", name="output")])
    model.set_weights([np.asarray(WEIGHTS[k], np.float32) for k in WEIGHTS])
    step32 = symnet.explain(model).train_step(X, TARGET, loss=LOSS, learning_rate=RATE,
                                              frozen=FROZEN)
    step64 = network.train_step(X, TARGET, loss=LOSS, learning_rate=RATE, frozen=FROZEN,
                                precision="float64")
    for key in step64:
        np.testing.assert_allclose(step32[key], step64[key], rtol=3e-7, atol=3e-8)


@pytest.mark.slow
def test_ten_thousand_steps(network):
    """The post's figures after 10,000 steps drift from its own rule as the post-step error
    does; symnet's run equals an independent numpy run of the rule."""
    net = network
    for _ in range(10_000):
        net = net.with_weights(net.train_step(X, TARGET, loss=LOSS, learning_rate=RATE,
                                              frozen=FROZEN, precision="float64"))
    g = net.gradient(X, TARGET, loss=LOSS, precision="float64")
    y = np.asarray(g.run.values["y"][0], np.float64)
    # the rule, by hand in numpy
    w1, b1 = np.asarray(WEIGHTS["hidden/kernel"]), np.asarray(WEIGHTS["hidden/bias"])
    w2, b2 = np.asarray(WEIGHTS["output/kernel"]), np.asarray(WEIGHTS["output/bias"])
    x, t = np.asarray(X), np.asarray(TARGET)

    def sigma(z):
        return 1 / (1 + np.exp(-z))

    for _ in range(10_000):
        h = sigma(x @ w1 + b1)
        o = sigma(h @ w2 + b2)
        d2 = (o - t) * o * (1 - o)
        d1 = (d2 @ w2.T) * h * (1 - h)
        w1, w2 = w1 - RATE * np.outer(x, d1), w2 - RATE * np.outer(h, d2)
    o = sigma(sigma(x @ w1 + b1) @ w2 + b2)
    np.testing.assert_allclose(y, o, rtol=1e-12)
    assert g.loss == pytest.approx(float(((t - o) ** 2 / 2).sum()), rel=1e-10)
    assert abs(g.loss - 0.0000351085) < 1e-8        # printed 0.0000351085
    np.testing.assert_allclose(y, [0.015912196, 0.984065734], atol=2e-6)
