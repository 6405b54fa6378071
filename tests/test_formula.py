"""Formula equality: proven exactly for one-input piecewise-linear formulas and networks, never
the word "equal" without a proof, counterexamples that really differ."""

from __future__ import annotations

import itertools
import time
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import symnet
from symnet import InvalidInputError
from symnet.homework.pl import Budget, from_expression

from .homework_models import seed_regressor


def relu_net(keras, kernel, bias, out, out_bias=0.0, name="relu_net"):
    """``x -> Dense(n, relu) -> Dense(1)`` with the given (dyadic: exact in float32) weights."""
    n = len(kernel)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(n, activation="relu",
                                                                    name="hidden"),
                              keras.layers.Dense(1, name="out")], name=name)
    model.set_weights([np.array([kernel], np.float32), np.array(bias, np.float32),
                       np.array(out, np.float32).reshape(n, 1),
                       np.array([out_bias], np.float32)])
    return model


@pytest.fixture(scope="module")
def identity_relu(keras):
    """A network equal to relu(x): one unit, weights 1."""
    return symnet.explain(relu_net(keras, [1.0], [0.0], [1.0]))


def test_the_issues_bump_is_found(identity_relu):
    # max(0,x) + max(0, 1 - 3|max(0,x) - 1|) is relu(x) except near x = 1, where it is 1 more
    verdict = symnet.check(identity_relu, 0, formula="max(0,x) + max(0, 1 - 3*abs(max(0,x) - 1))")
    assert not verdict.correct and verdict.proven
    c = verdict.counterexample
    x = Fraction(c["exact_input"])
    assert Fraction(2, 3) < x < Fraction(4, 3)  # where the bump is
    bump = max(0, 1 - 3 * abs(max(0, x) - 1))
    assert c["formula"] == pytest.approx(float(max(0, x) + bump))
    assert c["network"] == pytest.approx(float(max(0, x)))
    assert "equal" not in verdict.diagnosis.message.replace("not equal", "")


@pytest.mark.parametrize("formula", [
    "max(0, x)", "relu(x)", "(x + abs(x))/2", "max(x, 0) + min(0, 0*x)", "-min(0, -x)",
    "max(0, max(x, x/2))", r"\max(0, x)", "max(0, x) + max(0, 1 - 3*abs(max(0, x) - 1))"
    " - max(0, 1 - 3*abs(max(0, x) - 1))",
])
def test_equal_is_proven(identity_relu, formula):
    verdict = symnet.check(identity_relu, 0, formula=formula, rtol=0, atol=0)
    assert verdict.correct and verdict.proven and verdict.diagnosis.code == "correct"
    assert "equals the network" in verdict.diagnosis.message


def test_the_seed_regressor_against_its_exact_formula(keras):
    from .homework_models import B1, B2, K1, K2

    net = symnet.explain(seed_regressor(keras))
    exact = [Fraction(float(np.float32(v))) for v in (*K1, *B1, *K2, *B2)]
    k1, b1, k2, b2 = exact[:16], exact[16:32], exact[32:48], exact[48]
    terms = " + ".join(f"({k2[i]})*max(0, ({k1[i]})*x + ({b1[i]}))" for i in range(16))
    verdict = symnet.check(net, 10, formula=f"{terms} + ({b2})", rtol=0, atol=0)
    assert verdict.correct and verdict.proven and verdict.diagnosis.code == "correct"
    wrong = symnet.check(net, 10, formula="2*x + 5")
    assert not wrong.correct and wrong.proven
    c = wrong.counterexample
    assert c["formula"] == pytest.approx(2 * c["input"] + 5)
    assert abs(c["formula"] - c["network"]) > 1e-4 * abs(c["network"])


def test_within_tolerance_is_not_called_equal(identity_relu):
    verdict = symnet.check(identity_relu, 0, formula="max(0, x) + 0.0000001", domain=(-5, 5))
    assert verdict.correct and verdict.diagnosis.code == "within_tolerance"
    assert "not equal" in verdict.diagnosis.message
    far = symnet.check(identity_relu, 0, formula="max(0, 1.001*x)")  # on all reals
    assert not far.correct and far.counterexample["input"] > 1


def test_only_the_domain_counts_when_the_network_has_no_kink_in_it(identity_relu):
    """relu(x) on [1, 5] is x: a formula equal to x there and different below 0 is right on
    that domain, and every point a verdict names lies in it (the domain's two ends were once
    lost when no breakpoint fell inside it)."""
    right = symnet.check(identity_relu, 0, formula="x + 100*Max(0, -x - 5)", domain=(1, 5))
    assert right.correct and right.proven and "equals the network" in right.diagnosis.message, \
        right.diagnosis.message
    near = symnet.check(identity_relu, 0, formula="1.00000001*x + 100*Max(0, -x)",
                        domain=(1, 5))
    assert near.correct and near.diagnosis.code == "within_tolerance"
    assert "at x = 5)" in near.diagnosis.message  # the largest difference: an end of [1, 5]
    wrong = symnet.check(identity_relu, 0, formula="2*x + 100*Max(0, -x)", domain=(1, 5))
    assert not wrong.correct and 1 <= wrong.counterexample["input"] <= 5


def test_smooth_networks_are_compared_at_points_and_say_so(keras):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, activation="tanh",
                                                                    name="d")])
    model.set_weights([np.array([[2.0]], np.float32), np.array([1.0], np.float32)])
    agrees = symnet.check(model, 0, formula="tanh(2x + 1)")
    assert agrees.correct and agrees.proven is False
    assert agrees.diagnosis.code == "agrees_at_points"
    assert "not proven" in agrees.diagnosis.message and " equal " not in agrees.diagnosis.message
    differs = symnet.check(model, 0, formula="tanh(2x)")
    assert not differs.correct
    c = differs.counterexample
    assert c["network"] == pytest.approx(np.tanh(2 * c["input"] + 1))
    assert c["formula"] == pytest.approx(np.tanh(2 * c["input"]))


def test_a_formula_not_real_on_the_domain_is_an_error(identity_relu):
    with pytest.raises(InvalidInputError, match="not a real number at x = "):
        symnet.check(identity_relu, 0, formula="sqrt(x - 100)")
    verdict = symnet.check(identity_relu, 0, formula="sqrt(x - 100) - sqrt(x - 100) + x",
                           domain=(100, 110))
    assert verdict.correct


def test_a_max_of_100_lines_is_decided_quickly(identity_relu):
    lines = ", ".join(f"{i}*x - {i * i}" for i in range(100))
    start = time.perf_counter()
    verdict = symnet.check(identity_relu, 0, formula=f"max(0, {lines})")
    assert time.perf_counter() - start < 3
    assert not verdict.correct and verdict.proven


# --- property: hypothesis builds nested piecewise-linear formulas ---------------------------

X = sp.Symbol("x", real=True)
DYADIC = st.integers(-16, 16).map(lambda n: Fraction(n, 4))


def rewrite_equal(draw, expr: str, depth: int) -> str:
    """``expr`` (a formula text) rewritten by identities that keep the function: max as
    (a + b + |a - b|)/2, relu as (t + |t|)/2, a zero added as max(t, t) - min(t, t)..."""
    if depth <= 0:
        return expr
    kind = draw(st.integers(0, 4))
    inner = rewrite_equal(draw, expr, depth - 1)
    if kind == 0:  # relu(t) + min(t, 0)
        return f"((({inner}) + abs({inner}))/2 + (({inner}) - abs({inner}))/2)"
    if kind == 1:
        return f"max({inner}, {inner})"
    if kind == 2:
        return f"-min(-({inner}), -({inner}))"
    if kind == 3:
        return f"(max({inner}, 0) + min({inner}, 0))"
    return f"(({inner}) + max(0, abs(x) - abs(x)))"


@st.composite
def network_and_formula(draw):
    n = draw(st.integers(1, 3))
    kernel = [draw(DYADIC) for _ in range(n)]
    bias = [draw(DYADIC) for _ in range(n)]
    out = [draw(DYADIC) for _ in range(n)]
    terms = [f"({out[i]})*max(0, ({kernel[i]})*x + ({bias[i]}))" for i in range(n)]
    exact = " + ".join(rewrite_equal(draw, t, draw(st.integers(0, 2))) for t in terms)
    assume(len(exact) < 1800)
    height = draw(st.sampled_from([Fraction(0), Fraction(1, 8), Fraction(-3, 2)]))
    centre = draw(DYADIC)
    width = draw(st.sampled_from([Fraction(1, 1000), Fraction(1, 3), Fraction(2)]))
    bump = f"({height})*max(0, ({width}) - abs(x - ({centre})))"
    return (kernel, bias, out), f"{exact} + {bump}", height


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(network_and_formula())
def test_equal_exactly_when_an_exact_comparison_says_so(keras, case):
    (kernel, bias, out), formula, height = case
    net = symnet.explain(relu_net(keras, [float(k) for k in kernel], [float(b) for b in bias],
                                  [float(o) for o in out]))
    verdict = symnet.check(net, 0, formula=formula, rtol=0, atol=0)
    # the formula is the network plus a bump of this height: equal exactly when it is 0
    assert verdict.proven
    assert verdict.correct == (height == 0), (formula, verdict.diagnosis.message)
    if height:
        c = verdict.counterexample
        x = Fraction(c["exact_input"])
        network = sum(o * max(0, k * x + b) for k, b, o in zip(kernel, bias, out))
        assert Fraction(c["exact_network"]) == network
        assert Fraction(c["exact_formula"]) != network


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(DYADIC, DYADIC), min_size=1, max_size=6), DYADIC)
def test_envelopes_are_exact(lines, probe):
    """max and min of lines, against the definition at a point and at every crossing."""
    text = ", ".join(f"({a})*x + ({b})" for a, b in lines)
    for name, pick in (("max", max), ("min", min)):
        expr = sp.Max(*[sp.Rational(a.numerator, a.denominator) * X
                        + sp.Rational(b.numerator, b.denominator) for a, b in lines],
                      evaluate=False) if name == "max" else sp.Min(
            *[sp.Rational(a.numerator, a.denominator) * X + sp.Rational(b.numerator,
                                                                          b.denominator)
              for a, b in lines], evaluate=False)
        f = from_expression(expr, X, Budget(time.monotonic() + 10))
        points = [probe, *f.cuts] + [(b2 - b1) / (a1 - a2) for (a1, b1), (a2, b2)
                                      in itertools.pairwise(lines) if a1 != a2]
        for p in points:
            assert f(p) == pick(a * p + b for a, b in lines), (name, text, p)
