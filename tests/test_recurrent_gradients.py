"""Backpropagation through time of GRU and LSTM layers against ``tf.GradientTape`` (float32,
float64), every option that changes the arithmetic; the exact gradient against the float64 one;
the ``ops`` backward against central differences of the forward pass in float64."""

from __future__ import annotations

import numpy as np
import pytest

import symnet

from .gradtools import assert_gradient
from .test_gradients import sample, sequential, targets

GRU_OPTIONS = [
    {}, {"reset_after": False}, {"return_sequences": True}, {"go_backwards": True},
    {"use_bias": False}, {"reset_after": False, "use_bias": False, "return_sequences": True},
    {"activation": "relu", "recurrent_activation": "hard_sigmoid"},
    {"activation": "linear", "recurrent_activation": "tanh", "go_backwards": True,
     "reset_after": False},
]
LSTM_OPTIONS = [
    {}, {"return_sequences": True}, {"go_backwards": True}, {"use_bias": False},
    {"activation": "relu", "recurrent_activation": "hard_sigmoid", "return_sequences": True},
    {"unit_forget_bias": False, "activation": "linear"},
]


@pytest.mark.parametrize("options", GRU_OPTIONS)
def test_gru(keras, options):
    model = sequential(keras, (4, 3), keras.layers.GRU(3, **options), keras.layers.Flatten(),
                       keras.layers.Dense(2))
    assert_gradient(keras, model, sample(4, 3, scale=0.8), targets((2,)), "mse",
                    family="GRU", exact=1)


@pytest.mark.parametrize("options", LSTM_OPTIONS)
def test_lstm(keras, options):
    model = sequential(keras, (4, 3), keras.layers.LSTM(3, **options), keras.layers.Flatten(),
                       keras.layers.Dense(2))
    assert_gradient(keras, model, sample(4, 3, scale=0.8), targets((2,)), "mse",
                    family="LSTM", exact=1)


def test_lstm_return_state(keras):
    """The last output, the last state and the last carry all reach the loss."""
    x = keras.Input((4, 2))
    out, h, c = keras.layers.LSTM(3, return_state=True)(x)
    y = keras.layers.Dense(2)(keras.layers.Concatenate()([out, h, c]))
    model = keras.Model(x, y)
    from .conftest import randomize

    randomize(model, 3)
    assert_gradient(keras, model, sample(4, 2, scale=0.8), targets((2,)), "mse",
                    family="LSTM", exact=1)


@pytest.mark.parametrize("layer", ["GRU", "LSTM"])
def test_bidirectional_and_stacked(keras, layer):
    cls = getattr(keras.layers, layer)
    model = sequential(keras, (3, 2), keras.layers.Bidirectional(cls(2, return_sequences=True)),
                       cls(2), keras.layers.Dense(1, activation="sigmoid"))
    assert_gradient(keras, model, sample(3, 2, scale=0.8), targets((1,), kind="binary"),
                    "binary_crossentropy", family=f"{layer} (bidirectional, stacked)", exact=1)


@pytest.mark.parametrize("layer", ["GRU", "LSTM"])
def test_train_step_is_keras_step(keras, layer):
    """One step of SGD through the recurrent layer, as ``train_on_batch`` takes it."""
    model = sequential(keras, (3, 2), getattr(keras.layers, layer)(3), keras.layers.Dense(2))
    x, t = sample(3, 2, scale=0.8), targets((2,))
    net = symnet.explain(model)
    step = net.train_step(x, t, loss="mse", learning_rate=0.1)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse",
                  jit_compile=False)
    model.train_on_batch(x, t)
    for key, want in zip(step, model.get_weights()):
        np.testing.assert_allclose(step[key], want, rtol=2e-5, atol=2e-6, err_msg=key)


@pytest.mark.parametrize("cell, options", [("gru", {"reset_after": True}),
                                           ("gru", {"reset_after": False}),
                                           ("lstm", {})])
def test_central_differences(keras, cell, options):
    """float64 backward against the forward pass's central differences, weight by weight."""
    layer = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}[cell]
    model = sequential(keras, (3, 2), layer(2, return_sequences=True, **options),
                       keras.layers.Flatten(), keras.layers.Dense(1))
    net = symnet.explain(model)
    x, t = sample(3, 2, scale=0.8, n=2).astype(float), targets((1,), n=2).astype(float)
    g = net.gradient(x, t, loss="mse", precision="float64")
    rng = np.random.default_rng(0)
    weights = {f"{lay.name}/{p.name}": np.asarray(p.value, float) for lay in net.layers
               for p in lay.params}

    def loss(key, step):
        moved = dict(weights)
        moved[key] = weights[key] + step
        return net.with_weights(moved).gradient(x, t, loss="mse", precision="float64").loss

    for key, grad in g.parameters.items():
        direction = rng.normal(size=grad.shape)
        h = 1e-6
        numeric = (loss(key, h * direction) - loss(key, -h * direction)) / (2 * h)
        assert numeric == pytest.approx(float(np.sum(grad * direction)), rel=1e-6, abs=1e-9), key


def _gated_ops():
    """GRU and LSTM ops with what ONNX brings: the cell clip (gates' inputs often beyond it),
    a stored initial state (h_0, c_0) and two sequences in one sample."""
    import sympy as sp

    from symnet.ops import Param
    from symnet.ops.activations import ACTIVATIONS
    from symnet.ops.recurrent import Recurrent

    rng = np.random.default_rng(5)

    def param(name, *shape):
        return Param(name, sp.MatrixSymbol(name, *(shape if len(shape) == 2 else (1, shape[0]))),
                     rng.normal(0, 0.9, shape), True, name)

    tanh, sigmoid = ACTIVATIONS["tanh"].fn, ACTIVATIONS["sigmoid"].fn
    u, f = 2, 3
    ops = {}
    for cell, gates in (("gru", 3), ("lstm", 4)):
        for reset_after in ((True, False) if cell == "gru" else (True,)):
            bias = param("b", 2, gates * u) if cell == "gru" and reset_after else param(
                "b", gates * u)
            states = (param("h0", 2, u),) + ((param("c0", 2, u),) if cell == "lstm" else ())
            for emit in ("sequence", "last", "carry") if cell == "lstm" else ("sequence",
                                                                             "last"):
                name = f"{cell}_{'after' if reset_after else 'before'}_{emit}"
                ops[name] = Recurrent(cell, param("W", f, gates * u), param("U", u, gates * u),
                                      bias, u, tanh, sigmoid, reset_after=reset_after,
                                      go_backwards=emit == "last", emit=emit, clip=0.6,
                                      initial_state=states, sequences=2)
    return ops


GATED = _gated_ops()


@pytest.mark.parametrize("name", sorted(GATED))
def test_clip_initial_state_and_sequences_are_central_differences(name):
    import dataclasses

    from symnet.backends import FloatBackend
    from symnet.ops import Param

    op = GATED[name]
    f64 = FloatBackend(np.float64)
    rng = np.random.default_rng(8)
    x = rng.normal(0, 1.5, (2, 2, 4, 3))  # 2 samples, 2 sequences, 4 steps, 3 features
    y = op.forward(f64, x)
    g = rng.normal(size=np.shape(y))
    grads = op.backward(f64, (x,), y, g)
    assert set(grads.params) == set(op.params())

    def loss(o, a):
        return float(np.sum(np.asarray(o.forward(f64, a)) * g))

    h = 1e-6
    numeric = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[index] += h
        down[index] -= h
        numeric[index] = (loss(op, up) - loss(op, down)) / (2 * h)
    np.testing.assert_allclose(grads.inputs[0], numeric, rtol=1e-5, atol=1e-7)

    def replaced(param, value):
        new = Param(param.name, param.symbol, value, True, param.name)
        changes = {}
        for field in dataclasses.fields(op):
            current = getattr(op, field.name)
            if current is param:
                changes[field.name] = new
            elif isinstance(current, tuple) and any(c is param for c in current):
                changes[field.name] = tuple(new if c is param else c for c in current)
        return dataclasses.replace(op, **changes)

    for param, got in grads.params.items():
        value = np.asarray(param.value, np.float64)
        numeric = np.zeros_like(value)
        for index in np.ndindex(*value.shape):
            up, down = value.copy(), value.copy()
            up[index] += h
            down[index] -= h
            numeric[index] = (loss(replaced(param, up), x) - loss(replaced(param, down), x)) \
                / (2 * h)
        np.testing.assert_allclose(np.asarray(got, np.float64), numeric, rtol=1e-5, atol=1e-7,
                                   err_msg=param.name)
        assert np.shape(got) == param.shape
    # the clip bites: some gate's input lies beyond ±0.6
    assert not np.allclose(y, dataclasses.replace(op, clip=None).forward(f64, x))
