"""Every activation's derivative: TensorFlow's gradient at each kink and around it, in float32
and exactly; SymPy's ``diff`` of the definition away from the kinks."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from symnet import functions as fx
from symnet.backends import ExactBackend, FloatBackend, SymbolicBackend
from symnet.functions import T
from symnet.ops import ACTIVATIONS, Fn, celu_fn, elu_fn, leaky_relu_fn, relu_fn
from symnet.ops.derivatives import DERIVATIVES, derivative, derivative_class

RELU_OPTIONS = [
    {}, {"max_value": 6.0}, {"max_value": 1.5}, {"negative_slope": 0.1}, {"threshold": 0.5},
    {"negative_slope": 0.2, "threshold": 0.3}, {"negative_slope": 0.05, "max_value": 2.0},
    {"negative_slope": 0.1, "max_value": 3.0, "threshold": 0.4},
    {"threshold": 1.5, "max_value": 4.0}, {"threshold": -0.5}, {"negative_slope": 1.5},
]


def cases(keras):
    """(label, our Fn, the Keras callable on a tensor)."""
    out = [(name, op.fn, keras.activations.get(name)) for name, op in sorted(ACTIVATIONS.items())
           if op is not None and hasattr(op, "fn")]
    for options in RELU_OPTIONS:
        out.append((f"ReLU{options}", relu_fn(**options),
                    lambda x, o=options: keras.activations.relu(x, **o)))
    for slope in (0.3, 2.0):
        out.append((f"LeakyReLU({slope})", leaky_relu_fn(slope), keras.layers.LeakyReLU(slope)))
    for alpha in (0.5, 2.5):
        out.append((f"ELU({alpha})", elu_fn(alpha), keras.layers.ELU(alpha)))
        out.append((f"celu({alpha})", celu_fn(alpha),
                    lambda x, a=alpha: keras.activations.celu(x, alpha=a)))
    return out


def points(fn: Fn) -> list[float]:
    kinks = [float(k) for k in fn.exact_kinks]
    near = [k + d for k in kinks for d in (-0.25, -1e-3, 1e-3, 0.25)]
    return sorted({round(v, 6) for v in kinks + near + [0.0, -2.7, -0.6, 0.4, 1.3, 3.9, -4.2]})


def test_every_activation_has_a_derivative():
    assert set(fx.ACTIVATION_CLASSES.values()) <= set(DERIVATIVES)


def test_at_and_around_every_kink_as_tensorflow(keras):
    import tensorflow as tf

    for label, fn, keras_fn in cases(keras):
        decimals = points(fn)
        xs = np.array(decimals, np.float32)
        x = tf.constant(xs)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = keras_fn(x)
        expected = tape.gradient(y, x).numpy()
        prime = derivative(fn)
        got32 = prime.numpy(xs)
        assert got32.dtype == np.float32
        np.testing.assert_allclose(got32, expected, rtol=2e-6, atol=2e-7, err_msg=label)
        # exactly at the decimals (a kink at 0.3 is 3/10, as TensorFlow's float32(0.3) is
        # the threshold's own float32)
        exact = ExactBackend().map(prime, ExactBackend().inputs([repr(v) for v in decimals]))
        np.testing.assert_allclose(np.array([float(v) for v in exact]), expected, rtol=2e-6,
                                   atol=2e-7, err_msg=f"{label} exact")
        for k in fn.exact_kinks:  # at a rational kink the exact derivative is a rational
            value = prime.sympy(sp.Rational(k))
            assert value.is_Rational, (label, k, value)


@pytest.mark.parametrize("cls", sorted(DERIVATIVES, key=lambda c: c.__name__))
def test_derivative_is_sympys_diff_away_from_kinks(cls):
    options = {fx.LeakyReLU: (sp.Rational(3, 10),), fx.StdFloor: (sp.Rational(1, 5),),
               fx.Power: (sp.Rational(5, 2),), fx.Clamp: (sp.Rational(-1, 2), sp.Rational(5, 4))
               }.get(cls, ())
    prime = derivative_class(cls)
    definition = cls.definition(T, *options)
    expected = sp.diff(definition, T)
    low = 0.05 if cls in (fx.InverseSqrt, fx.StdFloor, fx.Sqrt, fx.Power, fx.Log) else -4.0
    for v in np.linspace(low, 4.1, 23):
        if any(abs(v - float(k)) < 1e-9 for k in cls.kinks(*options)):
            continue
        point = sp.Rational(str(round(float(v), 6))) + sp.Rational(1, 7919)
        want = expected.subs(T, point).evalf(30)
        got = prime(point, *options).evalf(30)
        assert abs(float(got - want)) < 1e-20 + 1e-20 * abs(float(want)), (cls, v, got, want)


def test_derivative_on_the_symbolic_backend_is_a_formula():
    prime = derivative(Fn(fx.Sigmoid, name="sigmoid"))
    z = sp.Symbol("z", real=True)
    value = SymbolicBackend().map(prime, np.array([z], dtype=object))[0]
    assert sp.simplify(value.rewrite(sp.exp) - sp.exp(-z) / (1 + sp.exp(-z)) ** 2) == 0
    relu = derivative(relu_fn()).sympy(z)
    assert relu.rewrite(sp.Max) == sp.Heaviside(z, 0)


def test_float64_and_float32_agree():
    for name, op in ACTIVATIONS.items():
        if op is None or not hasattr(op, "fn"):
            continue
        xs = np.linspace(-3.3, 3.7, 41)
        prime = derivative(op.fn)
        got64 = FloatBackend(np.float64).map(prime, xs)
        got32 = FloatBackend(np.float32).map(prime, xs.astype(np.float32))
        np.testing.assert_allclose(got32, got64, rtol=1e-5, atol=1e-6, err_msg=name)
