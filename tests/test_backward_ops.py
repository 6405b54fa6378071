"""Each op's backward pass, alone: central finite differences of its forward pass (float64),
SymPy's ``diff`` of its formula, and the same numbers on every backend (float32, float64,
exact, symbolic) — by hypothesis, on random inputs and upstream gradients."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symnet.analysis.forms import explicit
from symnet.backends import ExactBackend, FloatBackend, SymbolicBackend
from symnet.ops import BatchNormInference, Merge, Rearrange, Softmax
from symnet.ops.normalization import BatchNormTraining

from .gradtools import assert_backward_is_the_difference
from .test_ops import make_ops

F64 = FloatBackend(np.float64)


def keras_ops():
    """Ops that only Keras layers make conveniently (convolutions, pooling, reshaping...):
    name -> (op, per-sample input shapes)."""
    import symnet
    from symnet.io.keras import import_keras

    from .conftest import randomize

    keras = import_keras()
    L = keras.layers
    models = {
        "conv2d_same_stride": ((5, 5, 2), L.Conv2D(3, 3, strides=2, padding="same")),
        "conv2d_groups_dilated": ((6, 5, 4), L.Conv2D(4, 2, groups=2, dilation_rate=2)),
        "conv1d_causal": ((6, 2), L.Conv1D(2, 3, padding="causal")),
        "depthwise2d": ((4, 4, 2), L.DepthwiseConv2D(2, depth_multiplier=2)),
        "transpose2d": ((3, 3, 2), L.Conv2DTranspose(2, 3, strides=2, padding="same")),
        "transpose1d_output_padding": ((3, 2), L.Conv1DTranspose(2, 3, strides=2,
                                                                 output_padding=1)),
        "max_pool_same": ((5, 5, 2), L.MaxPooling2D(3, strides=2, padding="same")),
        "avg_pool_same": ((5, 4, 2), L.AveragePooling2D(3, strides=2, padding="same")),
        "global_max": ((4, 3), L.GlobalMaxPooling1D()),
        "global_avg_keepdims": ((3, 3, 2), L.GlobalAveragePooling2D(keepdims=True)),
        "zero_padding": ((3, 2), L.ZeroPadding1D((1, 2))),
        "cropping": ((4, 4, 1), L.Cropping2D(((1, 0), (0, 2)))),
        "upsampling_bilinear": ((2, 3, 2), L.UpSampling2D(2, interpolation="bilinear")),
        "upsampling_nearest": ((3, 2), L.UpSampling1D(2)),
        "permute": ((3, 2, 2), L.Permute((3, 1, 2))),
        "layer_norm_axes": ((3, 4), L.LayerNormalization(axis=[1, 2])),
        "batch_norm_axis1": ((3, 4), L.BatchNormalization(axis=1)),
        "prelu_shared": ((3, 4), L.PReLU(shared_axes=[1])),
        "simple_rnn_sequence": ((3, 2), L.SimpleRNN(2, return_sequences=True)),
        "simple_rnn_backwards_relu": ((3, 2), L.SimpleRNN(3, go_backwards=True,
                                                          activation="relu")),
    }
    out = {}
    for name, (shape, layer) in models.items():
        model = keras.Sequential([keras.Input(shape), layer])
        randomize(model, 7)
        net = symnet.explain(model)
        node = net.graph.nodes[0]  # the layer's first op (a convolution before its bias)
        out[name] = (node.op, (shape,))
    return out


@functools.lru_cache(maxsize=1)
def all_ops():
    rng = np.random.default_rng(11)
    ops = {name: (op, ((2, 3),)) for name, op in make_ops(rng, 3).items()
           if not (isinstance(op, BatchNormInference) and op.variant != "inference")}
    bn = ops["bn_inference"][0]
    ops["bn_training"] = (BatchNormTraining.of(bn, 0.9), ((2, 3),))
    ops["softmax_axis0"] = (Softmax(axis=0, sample_shape=(2, 3)), ((2, 3),))
    for operation in ("add", "subtract", "multiply", "average", "maximum", "minimum"):
        ops[f"merge_{operation}"] = (Merge(operation), ((2, 3), (2, 3)))
    ops["merge_broadcast"] = (Merge("multiply", ((2, 3), (3,))), ((2, 3), (3,)))
    ops["repeat"] = (Rearrange("repeat", (3,), (2, 3), (2,)), ((3,),))
    ops.update(keras_ops())
    return ops


def point(rng, shapes, batch=2):
    # a small offset keeps inputs away from the kinks at round numbers (0, ±0.5, ±1, ±3)
    return [rng.normal(0.0, 1.5, (batch, *s)) + 1.234e-3 for s in shapes]


OP_NAMES = sorted(make_ops(np.random.default_rng(11), 3)) + [
    "bn_training", "softmax_axis0", "merge_add", "merge_subtract", "merge_multiply",
    "merge_average", "merge_maximum", "merge_minimum", "merge_broadcast", "repeat",
    "conv2d_same_stride", "conv2d_groups_dilated", "conv1d_causal", "depthwise2d",
    "transpose2d", "transpose1d_output_padding", "max_pool_same", "avg_pool_same",
    "global_max", "global_avg_keepdims", "zero_padding", "cropping", "upsampling_bilinear",
    "upsampling_nearest", "permute", "layer_norm_axes", "batch_norm_axis1", "prelu_shared",
    "simple_rnn_sequence", "simple_rnn_backwards_relu"]
OP_NAMES = [n for n in OP_NAMES if not n.startswith(("bn_epsilon", "bn_variance",
                                                      "bn_std"))]


@pytest.mark.parametrize("name", OP_NAMES)
@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_backward_is_the_finite_difference_of_forward(name, seed):
    op, shapes = all_ops()[name]
    rng = np.random.default_rng(seed)
    xs = point(rng, shapes)
    y = op.forward(F64, *xs)
    g = rng.normal(size=np.shape(y))
    grads = op.backward(F64, tuple(xs), y, g)
    assert_backward_is_the_difference(op, xs, g, grads, name, F64)


@pytest.mark.parametrize("name", OP_NAMES)
@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_backward_on_every_backend(name, seed):
    op, shapes = all_ops()[name]
    rng = np.random.default_rng(seed)
    xs = [np.round(x, 3) + 1e-4 for x in point(rng, shapes, batch=1)]
    g = np.round(rng.normal(size=np.shape(op.forward(F64, *xs))), 3)
    want = op.backward(F64, tuple(xs), op.forward(F64, *xs), g)
    for backend in (FloatBackend(np.float32), ExactBackend(), SymbolicBackend()):
        ins = [backend.inputs(x) for x in xs]
        gb = backend.inputs(g) if not isinstance(backend, FloatBackend) else g.astype(np.float32)
        got = op.backward(backend, tuple(ins), op.forward(backend, *ins), gb)
        tolerance = 5e-5 if backend.name == "float32" else 1e-12
        pairs = list(zip(got.inputs, want.inputs)) + [(got.params[p], want.params[p])
                                                      for p in want.params]
        for ours, theirs in pairs:
            values = np.array([float(sp.sympify(v).evalf(30)) if backend.name == "symbolic"
                               else float(v) for v in np.asarray(ours).reshape(-1)])
            np.testing.assert_allclose(values, np.asarray(theirs, np.float64).reshape(-1),
                                       rtol=tolerance, atol=tolerance,
                                       err_msg=f"{name} on {backend.name}")


VECTOR_OPS = [n for n in sorted(make_ops(np.random.default_rng(11), 3))
              if not n.startswith(("bn_epsilon", "bn_variance", "bn_std"))]


@pytest.mark.parametrize("name", VECTOR_OPS)
@settings(max_examples=1, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_backward_is_sympys_diff_of_the_formula(name, seed):
    """∂/∂x of Σ g ⊙ formula(x), SymPy's derivative of the printed formula, at a point."""
    op, _ = all_ops()[name]
    rng = np.random.default_rng(seed)
    rows, n = 1, 3  # rows of the matrix view: the finite differences cover (2, 3)
    x_values = np.round(rng.normal(0.0, 1.5, (rows, n)), 2) + sp.Rational(1, 997)
    entries = sp.symbols(f"u0:{rows * n}", real=True)
    x_symbol = sp.MatrixSymbol("x", rows, n)
    subs = {x_symbol: sp.ImmutableMatrix(rows, n, entries)}
    for p in op.params():
        subs[p.symbol] = p.matrix()
    subs.update({c.symbol: c.exact for c in op.constants()})
    out = explicit(op.formula(x_symbol).xreplace(subs))
    g = np.round(rng.normal(size=(rows, n)), 2)
    total = sum(sp.Rational(str(g[i, j])) * out[i, j] for i in range(rows) for j in range(n))
    at = dict(zip(entries, [sp.nsimplify(v) for v in np.asarray(x_values).reshape(-1)]))
    expected = np.array([float(sp.diff(total, u).xreplace(at).evalf(30)) for u in entries])
    xs = np.array([[float(v) for v in row] for row in x_values])[None]
    got = op.backward(F64, (xs,), op.forward(F64, xs), g[None]).inputs[0]
    np.testing.assert_allclose(np.asarray(got).reshape(-1), expected, rtol=1e-9, atol=1e-10,
                               err_msg=name)


def test_backward_formula_is_the_textbook_one():
    """``δ W^T``, ``x^T δ``, ``δ ⊙ f'(z)`` made explicit equal the numbers."""
    ops = make_ops(np.random.default_rng(5), 3)
    rng = np.random.default_rng(6)
    for name in ("matmul", "bias", "activation_relu", "activation_sigmoid", "bn_inference",
                 "softmax"):
        op = ops[name]
        x = rng.normal(size=(1, 3))
        y = op.forward(F64, x)
        g = rng.normal(size=y.shape)
        want = op.backward(F64, (x,), y, g)
        xs, ys, gs = (sp.MatrixSymbol(s, 1, 3) for s in ("x", "y", "g"))
        formula = op.backward_formula((xs,), ys, gs)
        subs = {xs: sp.ImmutableMatrix(x), ys: sp.ImmutableMatrix(y), gs: sp.ImmutableMatrix(g)}
        for p in op.params():
            subs[p.symbol] = p.matrix()
        subs.update({c.symbol: c.exact for c in op.constants()})
        for ours, theirs in [(formula.inputs[0], want.inputs[0])] + [
                (formula.params[p], want.params[p]) for p in want.params if p in formula.params]:
            value = np.array(explicit(ours.xreplace(subs)).evalf(20), dtype=np.float64)
            np.testing.assert_allclose(value.reshape(-1), np.asarray(theirs).reshape(-1),
                                       rtol=1e-9, atol=1e-12, err_msg=name)
