"""Exact pieces without the walk: the sweep (one layer) and splitting (any depth) equal the
exact region walk and the network evaluated exactly, on hypothesis-generated networks."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symnet
from symnet.analysis.exactline import split, sweep
from symnet.analysis.piecewise import network_pieces, walked_pieces

from .conftest import randomize

ACTIVATIONS = {
    "relu": lambda k: k.layers.ReLU(),
    "leaky": lambda k: k.layers.LeakyReLU(0.2),
    "relu6": lambda k: k.layers.ReLU(max_value=6.0),
    "hard_sigmoid": lambda k: k.layers.Activation("hard_sigmoid"),
}
DOMAINS = [None, (-2.0, 3.0), (-np.inf, 0.5), (-1.0, np.inf)]


def network(keras, depth: int, width: int, act: str, outputs: int, seed: int):
    layers = [keras.Input((1,))]
    for _ in range(depth):
        layers += [keras.layers.Dense(width), ACTIVATIONS[act](keras)]
    layers.append(keras.layers.Dense(outputs))
    model = keras.Sequential(layers)
    randomize(model, seed)
    return symnet.explain(model)


def laws(pieces):
    """Breakpoints and laws (the walk may end its outer pieces where a unit that does not
    change the law kinks: only the ends differ then)."""
    return ([(p.high, list(p.slope), list(p.intercept)) for p in pieces[:-1]],
            (list(pieces[-1].slope), list(pieces[-1].intercept)))


def assert_exact_law(net, pieces, low, high, ends=True):
    """Each piece's law is the network, exactly, at points inside it and at its ends (not
    at the ends of a network that jumps)."""
    assert pieces[0].low == low and pieces[-1].high == high
    assert all(a.high == b.low for a, b in itertools.pairwise(pieces))
    points, owners = [], []
    for i, p in enumerate(pieces):
        lo, hi = p.low, p.high
        if not np.isfinite(float(lo)):
            lo = Fraction(hi) - 5 if np.isfinite(float(hi)) else Fraction(-5)
        if not np.isfinite(float(hi)):
            hi = Fraction(lo) + 5
        lo, hi = Fraction(lo), Fraction(hi)
        inside = [Fraction(1, 7), Fraction(1, 2), Fraction(6, 7)]
        for t in inside + [Fraction(0), Fraction(1)] if ends else inside:
            points.append(lo + t * (hi - lo))
            owners.append(i)
    x = np.empty((len(points), 1), dtype=object)
    x[:, 0] = points
    y = net.evaluate(x, "exact").reshape(len(points), -1)
    for point, i, row in zip(points, owners, y):
        p = pieces[i]
        assert [sp.Rational(s * point + t) for s, t in zip(p.slope, p.intercept)] == list(row)


@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(depth=st.integers(1, 4), width=st.integers(1, 6), act=st.sampled_from(sorted(ACTIVATIONS)),
       outputs=st.integers(1, 2), seed=st.integers(0, 10_000), domain=st.sampled_from(DOMAINS))
def test_exact_pieces_equal_the_walk_and_the_network(keras, depth, width, act, outputs, seed,
                                                     domain):
    net = network(keras, depth, width, act, outputs, seed)
    low, high = (-np.inf, np.inf) if domain is None else domain
    found = sweep(net.graph, low, high) if depth == 1 else split(net.graph, low, high)
    assert found is not None
    assert laws(found) == laws(network_pieces(net.graph, domain, exact=True))
    assert laws(found) == laws(walked_pieces(net.graph, low, high, exact=True))
    assert_exact_law(net, found, low, high)
    if depth == 1:  # splitting covers one layer too
        assert laws(split(net.graph, low, high)) == laws(found)


def test_the_sweep_at_width_120_equals_the_walk(keras):
    net = network(keras, 1, 120, "relu", 1, 5)
    found = sweep(net.graph, -np.inf, np.inf)
    assert len(found) > 100
    assert laws(found) == laws(walked_pieces(net.graph, -np.inf, np.inf, exact=True))
    assert_exact_law(net, found, -np.inf, np.inf)


def test_splitting_runs_other_affine_layers_exactly(keras):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(5, activation="relu"),
                              keras.layers.Rescaling(0.3, offset=0.25), keras.layers.Dense(4),
                              keras.layers.LeakyReLU(0.1), keras.layers.Dense(1)])
    randomize(model, 9)
    net = symnet.explain(model)
    found = split(net.graph, -np.inf, np.inf)
    assert found is not None
    assert laws(found) == laws(walked_pieces(net.graph, -np.inf, np.inf, exact=True))
    assert_exact_law(net, found, -np.inf, np.inf)


def test_jumps_and_other_layers_fall_back_to_the_walk(keras):
    """A ReLU with a threshold jumps: splitting, which interpolates between vertices, does not
    take it (the sweep, which only counts pieces, does); BatchNorm's square root is not exact."""
    jump = keras.Sequential([keras.Input((1,)), keras.layers.Dense(4),
                             keras.layers.ReLU(threshold=0.3), keras.layers.Dense(4),
                             keras.layers.ReLU(threshold=0.3), keras.layers.Dense(1)])
    randomize(jump, 1)
    net = symnet.explain(jump)
    assert split(net.graph, -np.inf, np.inf) is None
    assert_exact_law(net, net.pieces(exact=True), -np.inf, np.inf, ends=False)
    one = keras.Sequential([keras.Input((1,)), keras.layers.Dense(5),
                            keras.layers.ReLU(threshold=0.3), keras.layers.Dense(1)])
    randomize(one, 2)
    net = symnet.explain(one)
    found = sweep(net.graph, -np.inf, np.inf)
    assert laws(found) == laws(walked_pieces(net.graph, -np.inf, np.inf, exact=True))
    bn = keras.Sequential([keras.Input((1,)), keras.layers.Dense(4),
                           keras.layers.BatchNormalization(), keras.layers.ReLU(),
                           keras.layers.Dense(1)])
    randomize(bn, 3)
    net = symnet.explain(bn)
    assert sweep(net.graph, -np.inf, np.inf) is None and split(net.graph, -np.inf, np.inf) is None
    assert len(net.pieces(exact=True)) == len(net.pieces())


def test_piecewise_merges_equal_laws_of_its_output(keras):
    net = network(keras, 2, 4, "relu", 2, 7)
    pieces = net.pieces(exact=True)
    for output in (0, 1):
        formula = net.piecewise(output=output)
        distinct = [pieces[0]] + [p for a, p in itertools.pairwise(pieces)
                                  if (a.slope[output], a.intercept[output])
                                  != (p.slope[output], p.intercept[output])]
        assert len(formula.args) == len(distinct)
        x = net.inputs[0]
        for p in pieces:
            if np.isfinite(float(p.low)) and np.isfinite(float(p.high)):
                mid = (sp.Rational(p.low) + sp.Rational(p.high)) / 2
                assert formula.subs(x, mid) == sp.Rational(p.slope[output]) * mid + sp.Rational(
                    p.intercept[output])
    single = network(keras, 1, 6, "relu", 1, 8)
    built = single.piecewise()
    x = single.inputs[0]
    pieces = single.pieces(exact=True)
    rebuilt = sp.Piecewise(*[(sp.Rational(p.slope[0]) * x + sp.Rational(p.intercept[0]),
                              x <= sp.Rational(p.high)) for p in pieces[:-1]],
                           (sp.Rational(pieces[-1].slope[0]) * x
                            + sp.Rational(pieces[-1].intercept[0]), True))
    assert built == rebuilt and sp.srepr(built) == sp.srepr(rebuilt)  # as SymPy builds it


@pytest.mark.parametrize("domain", [None, (0.0, 20.0)])
def test_regressor_pieces(domain):
    net = symnet.explain(symnet.examples.regressor_2x_plus_5())
    low, high = (-np.inf, np.inf) if domain is None else domain
    found = net.pieces(domain, exact=True)
    assert laws(found) == laws(walked_pieces(net.graph, low, high, exact=True))
    assert_exact_law(net, found, low, high)
