"""Each op, alone (no Keras): its formula, made explicit with numbers, is its forward pass, on
every backend — float32, float64, exact, symbolic — and ``as_affine`` is the same map."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symnet.analysis.forms import explicit
from symnet.backends import ExactBackend, FloatBackend, SymbolicBackend
from symnet.functions import number
from symnet.ops import (
    ACTIVATIONS,
    BatchNormInference,
    BiasAdd,
    Concat,
    Constant,
    Elementwise,
    LayerNorm,
    MatMul,
    Merge,
    Normalize,
    Param,
    PReLU,
    Rescale,
    Reshape,
    RMSNorm,
    Softmax,
    matrix_shape,
    relu_fn,
)


def param(name, values, symbol=None):
    values = np.asarray(values, np.float32)
    sym = sp.MatrixSymbol(symbol or name, *matrix_shape(values.shape))
    return Param(name, sym, values, True, name)


def make_ops(rng, n):
    """One of each op on rows of ``n`` entries, with random non-trivial parameters."""
    def vec(low=-1.0, high=1.0):
        return rng.uniform(low, high, n).astype(np.float32)

    eps = Constant("epsilon", sp.Symbol("epsilon_9", positive=True), 0.01)
    bn = dict(mean=param("moving_mean", vec(), "mu"), variance=param("moving_variance",
              vec(0.3, 2.0), "sigma^2"), epsilon=eps, gamma=param("gamma", vec(0.5, 1.5)),
              beta=param("beta", vec()))
    ops = {
        "matmul": MatMul(param("kernel", rng.normal(size=(n, n)), "W")),
        "bias": BiasAdd(param("bias", vec(), "b")),
        "prelu": PReLU(param("alpha", vec(0.0, 0.5).reshape(1, n))),
        "softmax": Softmax(), "log_softmax": Softmax(log=True),
        "layer_norm": LayerNorm(eps, bn["gamma"], bn["beta"]),
        "layer_norm_rms": LayerNorm(eps, bn["gamma"], None, rms=True),
        "rms_norm": RMSNorm(bn["gamma"], eps),
        "normalize": Normalize(bn["mean"], bn["variance"], eps),
        "normalize_inverted": Normalize(bn["mean"], bn["variance"], eps, invert=True),
        "rescale": Rescale(0.5, -0.25),
        "relu_options": Elementwise(relu_fn(0.1, 1.5, 0.2)),
    }
    for variant in ("inference", "epsilon_outside_sqrt", "epsilon_omitted"):
        ops[f"bn_{variant}"] = BatchNormInference(**bn, variant=variant)
    for name, op in ACTIVATIONS.items():
        if op is not None:
            ops[f"activation_{name}"] = op
    return ops


def backends():
    return [FloatBackend(np.float32), FloatBackend(np.float64), ExactBackend(),
            SymbolicBackend()]


def numbers(values):
    return np.array([float(v) for v in np.asarray(values, dtype=object).reshape(-1)])


OP_NAMES = sorted(make_ops(np.random.default_rng(0), 3))


@pytest.mark.parametrize("name", OP_NAMES)
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(1, 4), rows=st.integers(1, 2))
def test_formula_is_the_forward_pass_on_every_backend(name, seed, n, rows):
    rng = np.random.default_rng(seed)
    op = make_ops(rng, n)[name]
    x = rng.normal(0, 2, (1, rows, n)).round(3)
    x_symbol = sp.MatrixSymbol("x", rows, n)
    subs = {x_symbol: sp.ImmutableMatrix(rows, n, [sp.Rational(str(v)) for v in x.reshape(-1)])}
    for p in op.params():
        subs[p.symbol] = p.matrix()
    subs.update({c.symbol: c.exact for c in op.constants()})
    expected = numbers(explicit(op.formula(x_symbol).xreplace(subs)).evalf(30))
    for backend in backends():
        got = op.forward(backend, backend.inputs(x))
        if isinstance(backend, SymbolicBackend):
            got = [sp.sympify(v).evalf(30) for v in np.asarray(got).reshape(-1)]
        if backend.name == "float32":
            rtol, atol = 2e-6, 8 * float(np.finfo(np.float32).eps) * float32_scale(op, x)
        else:
            rtol = atol = 1e-12
        np.testing.assert_allclose(numbers(got), expected, rtol=rtol, atol=atol,
                                   err_msg=f"{name} on {backend.name}")


def float32_scale(op, x):
    """The size of the largest intermediate an op's float32 arithmetic may round (a
    normalization computes x·(γ/√(σ² + ε)) − μ·(γ/√(σ² + ε)) + β, as Keras does: its error is
    an ulp of those terms, not of their small difference)."""
    scale = max(1.0, float(np.max(np.abs(x))))
    for p in op.params():
        scale *= max(1.0, float(np.max(np.abs(p.value))))
    for c in op.constants():
        scale *= max(1.0, abs(float(c.value)) ** -0.5) if c.value else 1.0
    return scale


@pytest.mark.parametrize("name", [n for n in OP_NAMES if n.startswith(("bn_inf", "matmul",
                                                                         "bias", "normalize",
                                                                         "rescale"))])
def test_as_affine_is_the_same_map(name):
    rng = np.random.default_rng(3)
    op = make_ops(rng, 4)[name]
    weight, bias = op.as_affine(4)
    x = rng.normal(size=(5, 4))
    np.testing.assert_allclose(x @ weight + bias, op.forward(FloatBackend(np.float64), x),
                               rtol=1e-12, atol=1e-12)


def test_merges_and_shapes():
    a, b = (sp.MatrixSymbol(s, 1, 3) for s in "ab")
    va, vb = np.array([[1.0, -2.0, 3.0]]), np.array([[0.5, 4.0, -1.0]])
    subs = {a: sp.ImmutableMatrix(va), b: sp.ImmutableMatrix(vb)}
    expected = {"add": va + vb, "subtract": va - vb, "multiply": va * vb,
                "average": (va + vb) / 2, "maximum": np.maximum(va, vb),
                "minimum": np.minimum(va, vb)}
    for operation, want in expected.items():
        op = Merge(operation)
        np.testing.assert_allclose(op.forward(FloatBackend(np.float64), va, vb), want)
        formula = explicit(op.formula(a, b).xreplace(subs))
        np.testing.assert_allclose(np.array(formula, dtype=float), want)
    concat = Concat()
    assert concat.output_shape((3,), (2,)) == (5,)
    np.testing.assert_allclose(np.array(explicit(concat.formula(a, b).xreplace(subs)), float),
                               np.concatenate([va, vb], axis=1))
    flat = Reshape((2, 3), (6,))
    assert flat.output_shape((2, 3)) == (6,) and not flat.identity
    assert Reshape((6,), (6,)).identity
    with pytest.raises(ValueError, match="merge operation"):
        Merge("power")


def test_numbers_from_configs_are_exact():
    assert number(0.001) == sp.Rational(1, 1000) and number(6.0) == 6
    with pytest.raises(ValueError):
        number(float("nan"))
