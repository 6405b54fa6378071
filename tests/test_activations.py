"""The activation table: each function's numpy arithmetic is its SymPy formula (no Keras here)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symnet.ops import ACTIVATIONS, Elementwise, elu_fn, leaky_relu_fn, relu_fn

SCALARS = sorted({op.fn.key: op.fn for op in ACTIVATIONS.values()
                  if isinstance(op, Elementwise)}.items())
SCALARS += [(f.key, f) for f in (relu_fn(0.1, 6.0, 0.5), leaky_relu_fn(0.3), elu_fn(2.0))]


@pytest.mark.parametrize(("key", "fn"), SCALARS, ids=[k for k, _ in SCALARS])
@settings(max_examples=40, deadline=None)
@given(value=st.floats(-8, 8, allow_nan=False).filter(lambda v: abs(abs(v) - 1) > 1e-9))
def test_numpy_is_the_formula(key, fn, value):
    exact = float(fn.sympy(sp.Rational(value)).evalf(30))
    approx = float(fn.numpy(np.array([value], dtype=np.float64))[0])
    assert approx == pytest.approx(exact, rel=1e-12, abs=1e-12)


def test_piecewise_linear_flags():
    assert ACTIVATIONS["relu"].piecewise_linear and ACTIVATIONS["hard_sigmoid"].piecewise_linear
    assert not ACTIVATIONS["tanh"].piecewise_linear


def test_relu_options_follow_keras_order():
    fn = relu_fn(negative_slope=0.1, max_value=2.0, threshold=0.5)
    t = sp.Symbol("t", real=True)
    assert fn.sympy(sp.Integer(3)) == 2  # clipped at max_value
    assert fn.sympy(sp.Rational(1, 4)) == sp.Rational(-1, 40)  # below threshold: -0.1*(0.5-0.25)
    assert fn.textbook(t).has(sp.Heaviside) and not fn.textbook(t).has(sp.Piecewise)
