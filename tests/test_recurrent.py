"""Recurrent layers, unrolled, and Embedding: against Keras for every option, against numpy
cells written from the textbook equations, exactly, and in their formulas."""

from __future__ import annotations

import numpy as np
import pytest

import symnet
from symnet import InvalidInputError, UnsupportedLayerError

from .conftest import assert_faithful, predict, randomize


def seq(shape=(4, 3), n=3, seed=1):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32)


def model_of(keras, shape, *layers, seed=0):
    model = keras.Sequential([keras.Input(shape), *layers])
    randomize(model, seed)
    return model


RNNS = {
    "simple": lambda L: L.SimpleRNN(3),
    "simple_relu_sequences_backwards": lambda L: L.SimpleRNN(
        3, activation="relu", return_sequences=True, go_backwards=True),
    "simple_no_bias": lambda L: L.SimpleRNN(2, use_bias=False),
    "gru": lambda L: L.GRU(3),
    "gru_reset_before_sequences": lambda L: L.GRU(3, reset_after=False,
                                                  return_sequences=True),
    "gru_hard_sigmoid": lambda L: L.GRU(2, recurrent_activation="hard_sigmoid",
                                        go_backwards=True),
    "lstm": lambda L: L.LSTM(3),
    "lstm_sequences_unrolled": lambda L: L.LSTM(3, return_sequences=True, unroll=True),
    "lstm_relu_backwards": lambda L: L.LSTM(2, activation="relu", go_backwards=True),
    "bidirectional_concat": lambda L: L.Bidirectional(L.LSTM(2)),
    "bidirectional_sum_sequences": lambda L: L.Bidirectional(
        L.GRU(2, return_sequences=True), merge_mode="sum"),
    "bidirectional_ave": lambda L: L.Bidirectional(L.SimpleRNN(2), merge_mode="ave"),
    "bidirectional_mul_sequences": lambda L: L.Bidirectional(
        L.SimpleRNN(2, return_sequences=True), merge_mode="mul"),
    "time_distributed": lambda L: L.TimeDistributed(L.Dense(2, activation="tanh")),
}


@pytest.mark.parametrize("name", sorted(RNNS))
def test_recurrent_layers_against_keras(keras, name):
    model = model_of(keras, (4, 3), RNNS[name](keras.layers))
    net = assert_faithful(model, seq(), closed=False)
    assert net.param_count == model.count_params()


def test_return_state_and_unmerged_bidirectional(keras):
    L = keras.layers
    x = keras.Input((4, 3))
    out, h, c = L.LSTM(3, return_state=True)(x)
    seq_out, g = L.GRU(2, return_sequences=True, return_state=True)(x)
    forward, backward = L.Bidirectional(L.SimpleRNN(2), merge_mode=None)(x)
    model = keras.Model(x, [out, h, c, seq_out, g, forward, backward])
    randomize(model, 3)
    data = seq()
    net = symnet.explain(model)
    for got, expected in zip(net.evaluate(data), predict(model, data), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def numpy_cells(kind, x, kernel, recurrent, bias, units):
    """The textbook recurrences, step by step from a zero state."""
    h = np.zeros(units)
    c = np.zeros(units)
    for x_t in x:
        if kind == "simple":
            h = np.tanh(x_t @ kernel + h @ recurrent + bias)
        elif kind == "lstm":
            z = x_t @ kernel + h @ recurrent + bias
            i, f, g, o = (z[k * units:(k + 1) * units] for k in range(4))
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
        else:  # GRU, reset after: bias rows for input and recurrent terms
            xz = x_t @ kernel + bias[0]
            hz = h @ recurrent + bias[1]
            z = sigmoid(xz[:units] + hz[:units])
            r = sigmoid(xz[units:2 * units] + hz[units:2 * units])
            candidate = np.tanh(xz[2 * units:] + r * hz[2 * units:])
            h = z * h + (1 - z) * candidate
    return h


@pytest.mark.parametrize("kind", ["simple", "gru", "lstm"])
def test_cells_are_the_textbook_equations(keras, kind):
    layer = {"simple": keras.layers.SimpleRNN, "gru": keras.layers.GRU,
             "lstm": keras.layers.LSTM}[kind](3)
    model = model_of(keras, (5, 2), layer, seed=4)
    kernel, recurrent, bias = (w.astype(np.float64) for w in model.layers[0].get_weights())
    net = symnet.explain(model)
    for x in seq((5, 2), n=2, seed=5).astype(np.float64):
        np.testing.assert_allclose(net.evaluate(x, "float64")[0],
                                   numpy_cells(kind, x, kernel, recurrent, bias, 3),
                                   rtol=1e-12, atol=1e-12)


def test_lstm_formula_names_the_gates_in_keras_order(keras):
    net = symnet.explain(model_of(keras, (4, 3), keras.layers.LSTM(2)))
    texts = [d.text for d in net.layers[0].definitions]
    assert any("i (input), f (forget), c (candidate), o (output)" in t for t in texts)
    assert any(t.startswith("c_t = f_t ⊙ c_(t−1) + i_t ⊙ c̃_t") for t in texts)
    from symnet.report.latex import latex

    assert r"\operatorname{LSTM}_{\text{last}}\left(x\right)" in latex(net.layers[0].formula)


def test_a_forgotten_recurrent_term_is_diagnosed(keras):
    model = model_of(keras, (3, 2), keras.layers.SimpleRNN(2), keras.layers.Dense(1), seed=6)
    (kernel, _, bias), (w, b) = (layer.get_weights() for layer in model.layers)
    x = seq((3, 2), n=1, seed=7)[0].astype(np.float64)
    h = np.tanh(x[-1] @ kernel + bias)  # the last step alone: h_{t-1} U forgotten
    verdict = symnet.check(symnet.explain(model), x, answer=f"{float(h @ w[:, 0] + b[0]):.6g}")
    assert verdict.diagnosis.code == "recurrent_term_forgotten"


def test_stateful_is_refused(keras):
    inp = keras.Input((4, 3), batch_size=2)
    model = keras.Model(inp, keras.layers.SimpleRNN(2, stateful=True)(inp))
    with pytest.raises(UnsupportedLayerError, match="stateful"):
        symnet.explain(model)


def test_embedding_is_a_lookup(keras):
    model = keras.Sequential([keras.Input((4,), dtype="int32"), keras.layers.Embedding(7, 3),
                              keras.layers.Flatten(), keras.layers.Dense(2)])
    randomize(model, 8)
    x = np.array([[0, 3, 6, 3], [1, 1, 2, 5]])
    net = symnet.explain(model)
    np.testing.assert_allclose(net.evaluate(x), predict(model, x), rtol=1e-6, atol=1e-6)
    table = model.layers[0].get_weights()[0].astype(np.float64)
    (w, b) = model.layers[2].get_weights()
    np.testing.assert_allclose(net.evaluate(x, "float64"),
                               table[x].reshape(2, -1) @ w + b, rtol=1e-6, atol=1e-6)
    exact = net.evaluate(x[0], "exact")
    np.testing.assert_allclose(np.array(exact, float), net.evaluate(x[:1], "float64"),
                               rtol=1e-12)
    for bad in ([0, 1, 2, 7], [0.5, 1, 2, 3], [-1, 0, 0, 0]):
        with pytest.raises(InvalidInputError, match="whole indices from 0 to 6"):
            net.evaluate(np.array([bad], dtype=float))


def test_embedding_with_mask_zero_is_refused(keras):
    model = keras.Sequential([keras.Input((4,), dtype="int32"),
                              keras.layers.Embedding(5, 2, mask_zero=True),
                              keras.layers.LSTM(2)])
    with pytest.raises(UnsupportedLayerError, match="mask_zero"):
        symnet.explain(model)


def test_lstm_gates_read_in_the_wrong_order_are_diagnosed(keras):
    model = model_of(keras, (3, 2), keras.layers.LSTM(2), keras.layers.Dense(1), seed=8)
    (kernel, recurrent, bias), (w, b) = (
        [a.astype(np.float64) for a in layer.get_weights()] for layer in model.layers)

    def i_c_f_o(a):  # the blocks read as input, candidate, forget, output
        return np.concatenate([a[..., :2], a[..., 4:6], a[..., 2:4], a[..., 6:]], axis=-1)

    x = seq((3, 2), n=1, seed=9)[0].astype(np.float64)
    h = numpy_cells("lstm", x, i_c_f_o(kernel), i_c_f_o(recurrent), i_c_f_o(bias), 2)
    verdict = symnet.check(symnet.explain(model), x, answer=f"{float(h @ w[:, 0] + b[0]):.6g}")
    assert not verdict.correct and verdict.diagnosis.code == "gates_in_wrong_order"


def test_trace_gives_the_states_step_by_step(keras):
    model = model_of(keras, (4, 2), keras.layers.SimpleRNN(3), seed=10)
    kernel, recurrent, bias = (w.astype(np.float64) for w in model.layers[0].get_weights())
    x = seq((4, 2), n=1, seed=11)[0].astype(np.float64)
    worked = symnet.explain(model).trace(x).steps[-1].worked
    assert len(worked) == 4
    h = np.zeros(3)
    for t, line in enumerate(worked):
        h = np.tanh(x[t] @ kernel + h @ recurrent + bias)
        shown = np.array([float(v) for v in line.text.split("= [")[1].rstrip("]").split(",")])
        assert line.text.startswith(f"step {t + 1} (input x[{t}]): h_{t + 1} = ")
        np.testing.assert_allclose(shown, h, rtol=1e-3, atol=1e-6)
