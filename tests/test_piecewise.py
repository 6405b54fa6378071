"""The local affine law and its region, and the trace, against Keras on random networks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp

import symnet
from symnet import UnsupportedLayerError
from symnet.backends import piece_at
from symnet.ops import ACTIVATIONS, Elementwise, leaky_relu_fn, relu_fn

from .conftest import predict, randomize

PIECEWISE = sorted({op.fn.key: op.fn for op in ACTIVATIONS.values()
                    if isinstance(op, Elementwise) and op.fn.piecewise_linear}.items())
PIECEWISE += [(f.key, f) for f in (relu_fn(0.1, 4.0, 0.5), relu_fn(0.0, None, 1.5),
                                   leaky_relu_fn(2.0))]


@pytest.mark.parametrize(("key", "fn"), PIECEWISE, ids=[k for k, _ in PIECEWISE])
def test_piece_at_gives_the_function_on_its_piece(key, fn):
    t = np.concatenate([np.linspace(-8, 8, 161), np.asarray(fn.kinks)])
    slope, intercept, lo, hi = piece_at(fn, t)
    np.testing.assert_allclose(slope * t + intercept, fn.numpy(t), atol=1e-12)
    assert np.all(lo <= t) and np.all(t <= hi)
    inside = np.clip(t + 0.3 * np.where(np.isfinite(hi), np.minimum(hi - t, 1.0), 1.0), lo, hi)
    np.testing.assert_allclose(slope * inside + intercept, fn.numpy(inside), atol=1e-12)


def one_input_net(keras, depth, width, activation, seed):
    layers = [keras.Input((1,))]
    for _ in range(depth):
        layers.append(keras.layers.Dense(width))
        layers.append(activation())
    layers.append(keras.layers.Dense(1))
    model = keras.Sequential(layers)
    randomize(model, seed)
    return model


ACTS = {
    "relu": lambda keras: keras.layers.ReLU,
    "relu6_leaky_threshold": lambda keras: lambda: keras.layers.ReLU(
        max_value=1.0, negative_slope=0.1, threshold=0.2),
    "leaky": lambda keras: lambda: keras.layers.LeakyReLU(0.2),
    "prelu": lambda keras: keras.layers.PReLU,
    "hard_sigmoid": lambda keras: lambda: keras.layers.Activation("hard_sigmoid"),
}


@pytest.mark.parametrize("act", sorted(ACTS))
@pytest.mark.parametrize(("depth", "width", "seed"), [(1, 16, 0), (2, 8, 1), (3, 6, 2)])
def test_local_affine_law_holds_on_its_interval(keras, act, depth, width, seed):
    model = one_input_net(keras, depth, width, ACTS[act](keras), seed)
    net = symnet.explain(model)
    for x0 in np.random.default_rng(seed).uniform(-4, 4, 5):
        a, b = net.local_affine(x0)
        assert a.shape == (1, 1) and b.shape == (1,)
        region = net.linear_region(x0)
        assert isinstance(region, sp.Interval) and region.contains(sp.Float(x0))
        low = max(float(region.start), x0 - 10.0)
        high = min(float(region.end), x0 + 10.0)
        xs = np.unique(np.concatenate([[x0], np.linspace(low, high, 9)[1:-1]]))
        expected = predict(model, xs.reshape(-1, 1).astype(np.float32))[:, 0]
        scale = max(1.0, float(np.abs(expected).max()))
        np.testing.assert_allclose(a[0, 0] * xs + b[0], expected, rtol=1e-5, atol=2e-6 * scale)


def test_local_affine_with_several_inputs_and_maximum(keras):
    x = keras.Input((3,))
    h1 = keras.layers.Dense(6, activation="relu")(x)
    h2 = keras.layers.Dense(6)(x)
    m = keras.layers.Maximum()([h1, h2])
    bn = keras.layers.BatchNormalization()(m)
    out = keras.layers.Dense(2)(bn)
    model = keras.Model(x, out)
    randomize(model, 8)
    net = symnet.explain(model)
    rng = np.random.default_rng(3)
    x0 = rng.normal(size=3)
    a, b = net.local_affine(x0)
    assert a.shape == (2, 3)
    conditions = net.linear_region(x0)
    point = dict(zip(net.inputs, x0))
    assert conditions and all(bool(c.subs(point)) for c in conditions)
    near = x0 + rng.normal(scale=1e-3, size=(20, 3))
    keep = [p for p in near if all(bool(c.subs(dict(zip(net.inputs, p)))) for c in conditions)]
    assert keep
    pts = np.array(keep)
    np.testing.assert_allclose(pts @ a.T + b, predict(model, pts.astype(np.float32)),
                               rtol=1e-5, atol=1e-5)


def test_local_affine_refuses_a_smooth_network(keras):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="tanh",
                                                                    name="smooth")])
    with pytest.raises(UnsupportedLayerError, match=r"'smooth'.*not piecewise linear"):
        symnet.explain(model).local_affine([0.0, 1.0])


def test_regressor_law_at_ten(keras):
    model = symnet.examples.regressor_2x_plus_5()
    net = symnet.explain(model)
    a, b = net.local_affine(10.0)
    assert a[0, 0] * 10 + b[0] == pytest.approx(float(net.evaluate(10.0)[0, 0]), rel=1e-6)
    region = net.linear_region(10.0)
    assert region.contains(10) and float(region.start) < 10


def test_trace_is_the_hand_calculation(keras):
    model = symnet.examples.regressor_2x_plus_5()
    net = symnet.explain(model)
    trace = net.trace(10.0)
    assert [s.layer for s in trace.steps] == ["dense", "dense_1"]
    assert trace.steps[0].value.shape == (16,)
    assert np.all(trace.steps[0].value >= 0)  # after the ReLU
    clipped = ~trace.steps[0].active
    np.testing.assert_array_equal(trace.steps[0].value[clipped], 0.0)
    assert np.all(trace.steps[0].value[~clipped] > 0) and trace.steps[1].active is None
    np.testing.assert_array_equal(trace.output, predict(model, np.array([[10.0]], np.float32))[0])
    shown = trace.steps[0].substituted
    assert not shown.atoms(sp.MatrixSymbol) and shown.atoms(sp.Float)
    assert "10.0" in str(shown) and trace._repr_latex_().startswith("$$")


def test_trace_keeps_large_arrays_symbolic(keras):
    model = symnet.examples.seed_mlp()
    net = symnet.explain(model)
    x = np.random.default_rng(0).normal(size=1120)
    trace = net.trace(x)
    assert len(trace.steps) == len(model.layers)
    assert {str(s) for s in trace.steps[0].substituted.atoms(sp.MatrixSymbol)} == {"x", "W_1",
                                                                                   "b_1"}
    np.testing.assert_allclose(trace.output, predict(model, x[None].astype(np.float32))[0],
                               rtol=1e-6, atol=1e-7)
    with pytest.raises(symnet.InvalidInputError, match="one input sample"):
        net.trace(np.zeros((2, 1120)))


@pytest.mark.parametrize("act", sorted(ACTS))
@pytest.mark.parametrize(("depth", "width", "seed"), [(1, 16, 3), (2, 8, 4), (3, 5, 5)])
def test_piecewise_equals_predict_and_breaks_where_units_switch(keras, act, depth, width, seed):
    from symnet.analysis.forms import lambdify

    model = one_input_net(keras, depth, width, ACTS[act](keras), seed)
    net = symnet.explain(model)
    form = net.piecewise()
    xs = np.linspace(-12, 12, 2001)
    expected = predict(model, xs.reshape(-1, 1).astype(np.float32))[:, 0]
    got = lambdify(net.inputs, form)(xs)
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=2e-6 * scale)
    points = [float(p) for p in net.breakpoints()]
    assert points == sorted(points)
    for p in points:  # the law really changes at each breakpoint
        step = 1e-6 * max(1.0, abs(p))
        left, right = net.local_affine(p - step), net.local_affine(p + step)
        assert not (np.allclose(left[0], right[0]) and np.allclose(left[1], right[1]))


def test_piecewise_on_a_domain(keras):
    net = symnet.explain(symnet.examples.regressor_2x_plus_5())
    pieces = net.pieces((0, 20))
    assert pieces[0].low == 0.0 and pieces[-1].high == 20.0
    assert all(p.high > p.low for p in pieces)
    assert all(a.high == b.low for a, b in itertools.pairwise(pieces))
    assert [float(b) for b in net.breakpoints((0, 20), exact=False)] == [
        p.low for p in pieces[1:]]
    exact = net.pieces((0, 20), exact=True)
    assert exact[0].low == 0 and exact[-1].high == 20 and len(exact) == len(pieces)
    np.testing.assert_allclose([float(p.low) for p in exact], [p.low for p in pieces],
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(symnet.InvalidInputError, match="low < high"):
        net.pieces((3, 1))


def test_exact_breakpoints_of_one_hidden_layer_are_minus_b_over_w(keras):
    from fractions import Fraction

    model = one_input_net(keras, 1, 12, ACTS["relu"](keras), 21)
    (w1, b1), (w2, _) = (layer.get_weights() for layer in model.layers[::2])
    net = symnet.explain(model)
    points = net.breakpoints()
    assert all(isinstance(p, sp.Rational) for p in points)
    expected = sorted({-Fraction(float(b)) / Fraction(float(w))
                       for w, b, v in zip(w1[0], b1, w2[:, 0]) if w != 0 and v != 0})
    assert [Fraction(int(p.p), int(p.q)) for p in points] == expected
    form = net.piecewise()
    assert not form.atoms(sp.Float)  # exact rationals throughout
    x = net.inputs[0]
    for value in (-3, 0, Fraction(1, 3), 5):
        exact = form.subs(x, sp.Rational(value))
        assert exact == net.evaluate(str(value), "exact")[0, 0]


@pytest.mark.parametrize("activation", ["relu", "relu6", "hard_sigmoid", "leaky_relu",
                                        "hard_tanh"])
@pytest.mark.parametrize("domain", [(-np.inf, np.inf), (-1.0, 2.0)])
def test_sweep_equals_the_region_walk(keras, activation, domain):
    from symnet.analysis.piecewise import Piece, linearize, sweep_pieces, walk
    from symnet.backends import interval

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(12, activation=activation),
                              keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    randomize(model, 9)
    net = symnet.explain(model)

    def piece_at_x(x):
        a, b, x0, backend = linearize(net.graph, x)
        start, end = interval(backend.decisions, float(x0[0]))
        return Piece(start, end, a[:, 0], b)

    fast, slow = sweep_pieces(net.graph, *domain), walk(piece_at_x, *domain)
    assert len(fast) == len(slow) > 1
    for f, s in zip(fast, slow):
        np.testing.assert_allclose([f.low, f.high], [s.low, s.high], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(f.slope, s.slope, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(f.intercept, s.intercept, rtol=1e-9, atol=1e-9)


def test_sweep_declines_deeper_networks(keras):
    from symnet.analysis.piecewise import sweep_pieces

    model = one_input_net(keras, 2, 4, ACTS["relu"](keras), 1)
    assert sweep_pieces(symnet.explain(model).graph, -np.inf, np.inf) is None
