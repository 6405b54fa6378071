"""Operators on computed tensors, as exporters write them for attention, a spelled-out
LayerNorm or GELU, a class token and an embedding: on hypothesis-drawn graphs, ``evaluate``
equals ONNX Runtime (float32) and the exact result equals float64; each new op's formula, made
explicit with numbers, is its forward pass on every backend; the formulas are ordinary SymPy
(``srepr`` rebuilds them, ``lambdify`` and ``latex`` take them, networks pickle)."""

from __future__ import annotations

import pickle
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symnet
from symnet import InvalidInputError, UnsupportedLayerError
from symnet.analysis.forms import explicit
from symnet.backends import ExactBackend, FloatBackend, SymbolicBackend
from symnet.functions import number
from symnet.ops import Fn, MatMul, Merge, Param, matrix_shape
from symnet.ops.tensors import Joined, Pointwise, Product, Reduce, Select

from .gradtools import assert_backward_is_the_difference
from .onnx_graphs import (
    TensorProto,
    assert_inputs_match_ort,
    helper,
    make_model,
    rng_weights,
)

FAST = settings(max_examples=8, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
seeds = st.integers(0, 2**16)


# --- the ops alone: formula == forward on every backend ----------------------------------------

def _param(name: str, values: np.ndarray) -> Param:
    values = np.asarray(values, np.float32)
    return Param(name, sp.MatrixSymbol(name, *matrix_shape(values.shape)), values, True, name)


def _numbers(values: Any) -> np.ndarray:
    return np.array([float(v) for v in np.asarray(values, dtype=object).reshape(-1)])


def _formula_is_forward(op: Any, inputs: list[np.ndarray]) -> None:
    """The op's formula, with the inputs' and parameters' numbers put in, equals its forward
    pass in float32, float64, exact and symbolic arithmetic (one sample)."""
    symbols = [sp.MatrixSymbol(f"x{i}", *matrix_shape(a.shape)) for i, a in enumerate(inputs)]
    subs = {s: sp.ImmutableMatrix(*matrix_shape(a.shape), [sp.Rational(str(v)) for v in
                                                            a.reshape(-1)])
            for s, a in zip(symbols, inputs)}
    subs.update({p.symbol: p.matrix() for p in op.params()})
    expected = _numbers(explicit(op.formula(*symbols).xreplace(subs)).evalf(30))
    assert tuple(op.output_shape(*[a.shape for a in inputs])) == tuple(
        op.forward(FloatBackend(np.float64), *[a[None] for a in inputs]).shape[1:])
    for backend in (FloatBackend(np.float32), FloatBackend(np.float64), ExactBackend(),
                    SymbolicBackend()):
        got = op.forward(backend, *[backend.inputs(a[None]) for a in inputs])
        if isinstance(backend, SymbolicBackend):
            got = [sp.sympify(v).evalf(30) for v in np.asarray(got).reshape(-1)]
        tolerance = 2e-5 if backend.name == "float32" else 1e-12
        np.testing.assert_allclose(_numbers(got), expected, rtol=tolerance, atol=tolerance,
                                   err_msg=f"{op.describe()} on {backend.name}")


SHAPE_PAIRS = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)),
               ((2, 2, 3), (2, 3, 2)), ((2, 2, 3), (3, 2)), ((1, 2, 3), (2, 3, 1)),
               ((3,), (2, 3, 2))]


@FAST
@given(seed=seeds, pair=st.sampled_from(SHAPE_PAIRS), constant=st.sampled_from([None, 0, 1]))
def test_product_formula_is_its_forward_pass(seed, pair, constant):
    rng = np.random.default_rng(seed)
    a, b = (rng.normal(size=s).round(2) for s in pair)
    if constant is None:
        op, inputs = Product(pair), [a, b]
    else:
        fixed = _param("C", (a, b)[constant])
        op, inputs = Product(pair, fixed, constant), [(b, a)[constant]]
        a, b = (fixed.value, b) if constant == 0 else (a, fixed.value)  # stored as float32
    _formula_is_forward(op, inputs)
    ours = op.forward(FloatBackend(np.float64), *[v[None] for v in inputs])[0]
    np.testing.assert_allclose(ours, np.matmul(a, b), rtol=1e-12)  # numpy's own matmul


@FAST
@given(seed=seeds, kind=st.sampled_from(["sum", "mean", "max", "min", "sum_square"]),
       axes=st.sampled_from([(0,), (1,), (2,), (0, 2), (0, 1, 2)]), keepdims=st.booleans())
def test_reduce_formula_is_its_forward_pass(seed, kind, axes, keepdims):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, 3, 2)).round(2)
    op = Reduce(kind, axes, keepdims, (2, 3, 2))
    _formula_is_forward(op, [x])
    numpy = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min,
             "sum_square": lambda v, **k: np.sum(v * v, **k)}[kind]
    np.testing.assert_allclose(op.forward(FloatBackend(np.float64), x[None])[0],
                               numpy(x, axis=axes, keepdims=keepdims), rtol=1e-12)


FUNCTIONS = [Fn(symnet.functions.Sqrt, name="sqrt"), Fn(symnet.functions.Erf, name="erf"),
             Fn(symnet.functions.Log, name="log"), Fn(symnet.functions.Reciprocal, name="1/t"),
             Fn(symnet.functions.Absolute, name="abs"),
             Fn(symnet.functions.Power, (number(2),), name="square"),
             Fn(symnet.functions.Power, (number(3),), name="cube"),
             Fn(symnet.functions.Power, (number(0.5),), name="root"),
             Fn(symnet.functions.Clamp, (number(-0.5), number(1.25)), name="clip")]


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.name)
def test_pointwise_formula_is_its_forward_pass(fn):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3)).round(2)
    if fn.name in ("sqrt", "log", "root"):
        x = np.abs(x) + 0.25
    if fn.name == "1/t":
        x = np.where(np.abs(x) < 0.2, 0.5, x)
    _formula_is_forward(Pointwise(fn), [x])
    assert Pointwise(fn).piecewise_linear == (fn.name in ("abs", "clip"))


def test_exact_values_stay_exact_where_they_are_rational():
    op = Pointwise(Fn(symnet.functions.Power, (number(2),)))
    backend = ExactBackend()
    out = op.forward(backend, backend.inputs(np.array([[0.5, -3.0]])))
    assert [str(v) for v in backend.finish(out).reshape(-1)] == ["1/4", "9"]
    root = Pointwise(Fn(symnet.functions.Sqrt))
    backend = ExactBackend()
    assert str(backend.finish(root.forward(backend, backend.inputs(np.array([[2.25]]))))[0, 0]
               ) == "3/2"


@FAST
@given(seed=seeds, axis=st.integers(0, 2), where=st.integers(0, 2))
def test_joined_formula_is_its_forward_pass(seed, axis, where):
    rng = np.random.default_rng(seed)
    shape = [2, 3, 2]
    fixed = list(shape)
    fixed[axis] = 1
    c = _param("c", rng.normal(size=fixed))
    parts = [None, None]
    parts.insert(min(where, 2), c)
    shapes = tuple(tuple(fixed) if p is not None else tuple(shape) for p in parts)
    op = Joined(axis, shapes, tuple(parts))
    xs = [rng.normal(size=shape).round(2) for _ in range(2)]
    _formula_is_forward(op, xs)


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple"])
def test_recurrence_options_formula_is_its_forward_pass(cell):
    """ONNX's recurrent options in the recurrence's formula: the cell clip, a stored initial
    state, two sequences in one sample, backwards."""
    from symnet.ops.activations import ACTIVATIONS
    from symnet.ops.recurrent import Recurrent

    rng = np.random.default_rng(9)
    gates = {"lstm": 4, "gru": 3, "simple": 1}[cell]
    units, features = 2, 2
    kernel = _param("W", rng.normal(size=(features, gates * units)))
    recurrent = _param("U", rng.normal(size=(units, gates * units)))
    bias = _param("b", rng.normal(size=(2, gates * units) if cell == "gru" else
                                  (gates * units,)))
    initial = tuple(_param(name, rng.normal(size=(2, units)))
                    for name in (("h0", "c0") if cell == "lstm" else ("h0",)))
    tanh, sigmoid = (ACTIVATIONS[n].fn for n in ("tanh", "sigmoid"))
    for emit in ("sequence", "last") if cell == "simple" else ("sequence",):
        op = Recurrent(cell, kernel, recurrent, bias, units, tanh,
                       None if cell == "simple" else sigmoid, go_backwards=True, emit=emit,
                       clip=0.5, initial_state=initial, sequences=2)
        x = rng.normal(0, 1.5, size=(2, 2, features)).round(2)
        _formula_is_forward(op, [x])


def test_divide_merge_formula_is_its_forward_pass():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2, 3)).round(2), rng.uniform(0.5, 2, size=(2, 1)).round(2)
    _formula_is_forward(Merge("divide", ((2, 3), (2, 1))), [a, b])


# --- ONNX graphs against ONNX Runtime -----------------------------------------------------------

@FAST
@given(seed=seeds, pair=st.sampled_from([p for p in SHAPE_PAIRS if len(p[0]) == len(p[1])
                                         and len(p[0]) >= 2]), transpose=st.booleans())
def test_matmul_of_two_computed_tensors_batched(seed, pair, transpose):
    """Two inputs with a free batch axis: the product is taken sample by sample."""
    rng = np.random.default_rng(seed)
    sa, sb = pair
    nodes = [helper.make_node("Relu", ["a"], ["ra"])]
    if transpose:  # the attention pattern: Q (K)ᵀ, the transpose written by the exporter
        perm = [0, *range(1, len(sb) - 1), len(sb), len(sb) - 1]
        nodes.append(helper.make_node("Transpose", ["b"], ["bt"], perm=perm))
        sb = (*sb[:-2], sb[-1], sb[-2])
    nodes.append(helper.make_node("MatMul", ["ra", "bt" if transpose else "b"], ["y"]))
    model = make_model(nodes, [("a", [None, *sa]), ("b", [None, *sb])], ["y"])
    assert_inputs_match_ort(model, [rng_weights(rng, 3, *sa), rng_weights(rng, 3, *sb)])


@FAST
@given(seed=seeds, pair=st.sampled_from(SHAPE_PAIRS), constant_first=st.booleans())
def test_matmul_without_a_batch_axis_and_with_constants(seed, pair, constant_first):
    """Fixed shapes (the sample is the whole tensor: vectors, stacks, broadcasting), and a
    stored constant on either side."""
    rng = np.random.default_rng(seed)
    sa, sb = pair
    model = make_model([helper.make_node("MatMul", ["a", "b"], ["y"])],
                       [("a", list(sa)), ("b", list(sb))], ["y"])
    net = assert_inputs_match_ort(model, [rng_weights(rng, 2, *sa), rng_weights(rng, 2, *sb)])
    assert not net.is_piecewise_linear
    c = rng_weights(rng, *(sa if constant_first else sb))
    inputs = ["C", "x"] if constant_first else ["x", "C"]
    model = make_model([helper.make_node("MatMul", inputs, ["y"])],
                       [("x", list(sb if constant_first else sa))], ["y"], {"C": c})
    net = assert_inputs_match_ort(model, [rng_weights(rng, 2, *(sb if constant_first else sa))])
    # A stored matrix on the right is a weight (x W); anything else a product with a constant.
    expected = Product if constant_first or len(sb) != 2 else MatMul
    assert isinstance(net.graph.nodes[0].op, expected) and net.is_piecewise_linear


def test_matmul_refusals():
    model = make_model([helper.make_node("MatMul", ["a", "b"], ["y"])],
                       [("a", [2, 3]), ("b", [4, 2])], ["y"])
    with pytest.raises((UnsupportedLayerError, symnet.ModelLoadError), match="align|MatMul"):
        symnet.explain(model)


@FAST
@given(seed=seeds, op=st.sampled_from(["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin",
                                       "ReduceSumSquare"]),
       axes=st.sampled_from([[-1], [1], [2], [1, 2], [-2, -1], None]), keepdims=st.integers(0, 1),
       opset=st.sampled_from([13, 18]))
def test_reductions(seed, op, axes, keepdims, opset):
    rng = np.random.default_rng(seed)
    inits = {}
    inputs = ["x"]
    attrs: dict[str, Any] = {"keepdims": keepdims}
    moved = 13 if op == "ReduceSum" else 18
    if axes is not None:
        if opset >= moved:
            inits["axes"] = np.array(axes, np.int64)
            inputs.append("axes")
        else:
            attrs["axes"] = axes
    model = make_model([helper.make_node(op, inputs, ["y"], **attrs)], [("x", [None, 3, 4])],
                       ["y"], inits, opset=opset)
    net = assert_inputs_match_ort(model, [rng_weights(rng, 2, 3, 4)])
    # Without axes a reduction takes the batch axis too: read with the whole input one sample.
    assert net.input_shapes == (((3, 4),) if axes is not None else ((1, 3, 4),))


@pytest.mark.parametrize(("op", "attrs", "positive"), [
    ("Sqrt", {}, True), ("Erf", {}, False), ("Log", {}, True), ("Reciprocal", {}, True),
    ("Abs", {}, False), ("Exp", {}, False), ("Neg", {}, False)])
def test_functions_of_computed_values(op, attrs, positive):
    rng = np.random.default_rng(3)
    x = rng_weights(rng, 4, 5, scale=2.0)
    if positive:
        x = (np.abs(x) + 0.3).astype(np.float32)
    model = make_model([helper.make_node(op, ["x"], ["y"], **attrs)], [("x", [None, 5])], ["y"])
    assert_inputs_match_ort(model, [x], rtol=3e-6, atol=3e-6)


@pytest.mark.parametrize("exponent", [2.0, 3.0, 0.5, -1.0, 1.5])
def test_pow_with_a_fixed_exponent(exponent):
    rng = np.random.default_rng(4)
    x = (np.abs(rng_weights(rng, 3, 4)) + 0.5).astype(np.float32)
    model = make_model([helper.make_node("Pow", ["x", "p"], ["y"])], [("x", [None, 4])], ["y"],
                       {"p": np.float32(exponent)})
    net = assert_inputs_match_ort(model, [x], rtol=2e-6)
    assert net.layers[0].formula.rhs.has(sp.Pow)  # t**p, SymPy's own power


def test_pow_refusals():
    model = make_model([helper.make_node("Pow", ["x", "x"], ["y"])], [("x", [None, 4])], ["y"])
    with pytest.raises(UnsupportedLayerError, match="exponent is computed"):
        symnet.explain(model)
    model = make_model([helper.make_node("Pow", ["x", "p"], ["y"])], [("x", [None, 2])], ["y"],
                       {"p": np.array([2.0, 3.0], np.float32)})
    with pytest.raises(UnsupportedLayerError, match="one fixed exponent"):
        symnet.explain(model)
    model = make_model([helper.make_node("Floor", ["x"], ["y"])], [("x", [None, 2])], ["y"])
    with pytest.raises(UnsupportedLayerError, match="Floor"):
        symnet.explain(model)


@FAST
@given(seed=seeds, broadcast=st.sampled_from([(3, 4), (3, 1), (1, 4), (4,)]))
def test_division_of_two_computed_tensors(seed, broadcast):
    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("ReduceMax", ["x"], ["m"], axes=[2], keepdims=1),
             helper.make_node("Abs", ["x"], ["a"]),
             helper.make_node("Add", ["a", "one"], ["d"]),
             helper.make_node("Slice", ["d", "st", "en", "ax"], ["s"]),
             helper.make_node("Div", ["x", "s"], ["y"])]
    st_, en, ax = [0, 0], list(broadcast[-2:]) if len(broadcast) == 2 else [3, broadcast[0]], \
        [1, 2]
    model = make_model(nodes, [("x", [None, 3, 4])], ["y"],
                       {"one": np.float32(1.0), "st": np.array(st_, np.int64),
                        "en": np.array(en, np.int64), "ax": np.array(ax, np.int64)}, opset=13)
    assert_inputs_match_ort(model, [rng_weights(rng, 2, 3, 4)], rtol=2e-6)


@FAST
@given(seed=seeds, axis=st.sampled_from([1, 2, -1]), first=st.booleans())
def test_concat_of_a_constant_and_a_computed_tensor(seed, axis, first):
    """A class token before the patches (batch 1 fixed, as ViT exports), or after."""
    rng = np.random.default_rng(seed)
    shape = [1, 3, 4]
    fixed = list(shape)
    fixed[axis] = 2
    inputs = ["c", "h"] if first else ["h", "c"]
    model = make_model([helper.make_node("Relu", ["x"], ["h"]),
                        helper.make_node("Concat", inputs, ["y"], axis=axis)],
                       [("x", shape)], ["y"], {"c": rng_weights(rng, *fixed)})
    net = assert_inputs_match_ort(model, [rng_weights(rng, 3, 3, 4)])
    assert [p.name for p in net.layers[1].params] == ["c"]


def test_concat_of_a_constant_needs_its_batch_axis():
    model = make_model([helper.make_node("Concat", ["c", "x"], ["y"], axis=1)],
                       [("x", [None, 3])], ["y"], {"c": np.ones((1, 2), np.float32)})
    # A free batch: the constant of one row cannot follow it; read as one sample of (1, 3).
    net = assert_inputs_match_ort(model, [np.ones((1, 1, 3), np.float32)])
    assert net.input_shapes == ((1, 3),)


def _layer_norm_spelled(eps: float) -> list[Any]:
    """LayerNorm as PyTorch 1.9 exports it (ViT): ReduceMean, Sub, Pow, ReduceMean, Add,
    Sqrt, Div, Mul, Add."""
    return [helper.make_node("ReduceMean", ["x"], ["m"], axes=[-1]),
            helper.make_node("Sub", ["x", "m"], ["d"]),
            helper.make_node("Pow", ["d", "two"], ["d2"]),
            helper.make_node("ReduceMean", ["d2"], ["v"], axes=[-1]),
            helper.make_node("Add", ["v", "eps"], ["ve"]),
            helper.make_node("Sqrt", ["ve"], ["s"]),
            helper.make_node("Div", ["d", "s"], ["n"]),
            helper.make_node("Mul", ["n", "g"], ["ng"]),
            helper.make_node("Add", ["ng", "b"], ["ln"])]


def _gelu_spelled() -> list[Any]:
    """GELU as exported with Erf: x · (1 + erf(x/√2)) · 0.5."""
    return [helper.make_node("Div", ["ln", "root2"], ["q"]),
            helper.make_node("Erf", ["q"], ["e"]),
            helper.make_node("Add", ["e", "one"], ["e1"]),
            helper.make_node("Mul", ["ln", "e1"], ["p"]),
            helper.make_node("Mul", ["p", "half"], ["y"])]


@FAST
@given(seed=seeds)
def test_spelled_out_layer_norm_and_gelu(seed):
    """Equal to ONNX Runtime, and to an independent numpy LayerNorm and GELU (float64)."""
    from scipy.special import erf

    rng = np.random.default_rng(seed)
    g, b = rng_weights(rng, 6), rng_weights(rng, 6)
    eps = 1e-5
    inits = {"two": np.float32(2.0), "eps": np.float32(eps), "g": g, "b": b,
             "root2": np.float32(np.sqrt(2.0)), "one": np.float32(1.0),
             "half": np.float32(0.5)}
    model = make_model(_layer_norm_spelled(eps) + _gelu_spelled(), [("x", [None, 5, 6])],
                       ["y"], inits, opset=13)
    x = rng_weights(rng, 3, 5, 6, scale=2.0)
    net = assert_inputs_match_ort(model, [x], rtol=2e-5, atol=2e-6)
    xd = x.astype(np.float64)
    mean = xd.mean(-1, keepdims=True)
    ln = (xd - mean) / np.sqrt(((xd - mean) ** 2).mean(-1, keepdims=True) + np.float32(eps)) \
        * g + b
    gelu = ln * (1 + erf(ln / np.float64(np.float32(np.sqrt(2))))) * 0.5
    np.testing.assert_allclose(net.evaluate(x, "float64"), gelu, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [TensorProto.INT64, TensorProto.INT32])
def test_embedding_lookup_from_integer_inputs(dtype):
    """Gather of a stored table at an integer input: the Keras Embedding's op (a lookup),
    exact; a cast and a reshape of the indices on the way are fine."""
    rng = np.random.default_rng(5)
    table, w = rng_weights(rng, 7, 3), rng_weights(rng, 3, 2)
    nodes = [helper.make_node("Unsqueeze", ["idx", "ax"], ["u"]),
             helper.make_node("Squeeze", ["u", "ax"], ["s"]),
             helper.make_node("Gather", ["emb.weight", "s"], ["e"], axis=0),
             helper.make_node("MatMul", ["e", "W"], ["y"])]
    model = make_model(nodes, [("idx", [None, 4])], ["y"],
                       {"emb.weight": table, "W": w,
                        "ax": np.array([2], np.int64)}, opset=13, types={"idx": dtype})
    indices = rng.integers(0, 7, size=(3, 4))
    np_dtype = np.int64 if dtype == TensorProto.INT64 else np.int32
    net = assert_inputs_match_ort(model, [indices.astype(np_dtype)])
    from symnet.ops.embedding import Lookup

    layer = next(lay for lay in net.layers if any(isinstance(o, Lookup) for o in lay.ops))
    assert [p.name for p in layer.params] == ["emb.weight"]
    assert "lookup" in layer.note
    from symnet.report.latex import latex

    assert r"E_{" in latex(layer.formula) and r"\left[" in latex(layer.formula)
    exact = net.evaluate(indices[:1], "exact")
    expected = [[sum(Fraction(float(table[i, k])) * Fraction(float(w[k, j])) for k in range(3))
                 for j in range(2)] for i in indices[0]]  # by hand, in rationals
    assert [sp.Rational(v.numerator, v.denominator) for row in expected for v in row] == \
        list(exact.reshape(-1))
    with pytest.raises(InvalidInputError, match="whole indices"):
        net.evaluate([[0.5, 1, 2, 3]])
    with pytest.raises(InvalidInputError, match="whole indices"):
        net.evaluate([[7, 1, 2, 3]])


def test_integer_inputs_only_index():
    model = make_model([helper.make_node("Cast", ["idx"], ["f"], to=TensorProto.FLOAT),
                        helper.make_node("Add", ["idx", "idx"], ["y"])],
                       [("idx", [None, 2])], ["y"], types={"idx": TensorProto.INT64})
    with pytest.raises(UnsupportedLayerError, match="integers from the model's input"):
        symnet.explain(model)
    model = make_model([helper.make_node("Gather", ["x", "x"], ["y"])], [("x", [None, 2])],
                       ["y"])
    with pytest.raises(UnsupportedLayerError, match="data-dependent"):
        symnet.explain(model)


# --- ordinary SymPy, end to end -----------------------------------------------------------------

@pytest.fixture(scope="module")
def attention_net():
    """A small attention block as ONNX spells it: LayerNorm, Q Kᵀ / √d, softmax, · V, a class
    token joined before the tokens, GELU, a mean over the tokens."""
    rng = np.random.default_rng(6)
    d = 4
    inits = {"two": np.float32(2.0), "eps": np.float32(1e-5), "g": rng_weights(rng, d),
             "b": rng_weights(rng, d), "root2": np.float32(np.sqrt(2.0)),
             "one": np.float32(1.0), "half": np.float32(0.5), "cls": rng_weights(rng, 1, 1, d),
             "Wq": rng_weights(rng, d, d), "Wk": rng_weights(rng, d, d),
             "Wv": rng_weights(rng, d, d), "scale": np.float32(2.0)}
    nodes = [helper.make_node("Concat", ["cls", "x"], ["x1"], axis=1),
             *[helper.make_node(n.op_type, [i.replace("x", "x1") if i == "x" else i
                                            for i in n.input], list(n.output),
                                **{a.name: helper.get_attribute_value(a) for a in n.attribute})
               for n in _layer_norm_spelled(1e-5)],
             helper.make_node("MatMul", ["ln", "Wq"], ["aq"]),
             helper.make_node("MatMul", ["ln", "Wk"], ["ak"]),
             helper.make_node("MatMul", ["ln", "Wv"], ["av"]),
             helper.make_node("Transpose", ["ak"], ["akt"], perm=[0, 2, 1]),
             helper.make_node("MatMul", ["aq", "akt"], ["as"]),
             helper.make_node("Div", ["as", "scale"], ["as2"]),
             helper.make_node("Softmax", ["as2"], ["aa"], axis=-1),
             helper.make_node("MatMul", ["aa", "av"], ["ao"]),
             helper.make_node("Div", ["ao", "root2"], ["aq2"]),
             helper.make_node("Erf", ["aq2"], ["ae"]),
             helper.make_node("Add", ["ae", "one"], ["ae1"]),
             helper.make_node("Mul", ["ao", "ae1"], ["ap"]),
             helper.make_node("Mul", ["ap", "half"], ["agl"]),
             helper.make_node("ReduceMean", ["agl"], ["y"], axes=[1], keepdims=0)]
    model = make_model(nodes, [("x", [1, 3, d])], ["y"], inits, opset=13)
    x = rng_weights(rng, 2, 3, d)
    net = assert_inputs_match_ort(model, [x], rtol=2e-5, atol=2e-6)
    return net, x


def test_formulas_rebuild_from_srepr_and_print(attention_net):
    net, _ = attention_net
    namespace: dict[str, Any] = {}
    exec("from sympy import *\nfrom symnet.functions import *", namespace)
    from symnet.report.latex import latex

    shown = []
    for layer in net.layers:
        text = sp.srepr(layer.formula)
        assert eval(text, namespace) == layer.formula, layer.name
        shown.append(latex(layer.formula))
    joined = "\n".join(shown)
    for part in (r"\operatorname{mean}_{\text{axis } 2}", r"\operatorname{erf}",
                 r"\operatorname{concat}_{\text{axis } 1}", r"\operatorname{softmax}",
                 r"\sqrt"):
        assert part in joined, part
    products = [lay.formula.rhs for lay in net.layers if isinstance(lay.formula.rhs, sp.MatMul)
                and all(str(a).startswith("h_") for a in lay.formula.rhs.args)]
    assert len(products) == 2  # Q·Kᵀ and A·V: SymPy's own matrix products of the two factors


def test_closed_form_lambdify_and_pickle(attention_net):
    """The closed form of a small block (no LayerNorm, two tokens of two numbers: the full
    block's takes seconds to compile) is the network's function."""
    rng = np.random.default_rng(7)
    inits = {"cls": rng_weights(rng, 1, 1, 2), "Wq": rng_weights(rng, 2, 2),
             "Wk": rng_weights(rng, 2, 2), "root2": np.float32(np.sqrt(2.0)),
             "one": np.float32(1.0)}
    nodes = [helper.make_node("Concat", ["cls", "x"], ["t"], axis=1),
             helper.make_node("MatMul", ["t", "Wq"], ["q"]),
             helper.make_node("MatMul", ["t", "Wk"], ["k"]),
             helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
             helper.make_node("MatMul", ["q", "kt"], ["s"]),
             helper.make_node("Softmax", ["s"], ["a"], axis=-1),
             helper.make_node("MatMul", ["a", "t"], ["o"]),
             helper.make_node("Div", ["o", "root2"], ["q2"]),
             helper.make_node("Erf", ["q2"], ["e"]),
             helper.make_node("Add", ["e", "one"], ["e1"]),
             helper.make_node("Mul", ["o", "e1"], ["p"]),
             helper.make_node("ReduceMean", ["p"], ["y"], axes=[1], keepdims=0)]
    model = make_model(nodes, [("x", [1, 1, 2])], ["y"], inits, opset=13)
    x = rng_weights(rng, 3, 1, 2)
    net = assert_inputs_match_ort(model, [x], rtol=2e-5, atol=2e-6)
    closed = net.closed_form(simplify=False)
    f = sp.lambdify(list(net.inputs), list(closed), modules="numpy")
    values = np.array([f(*row) for row in x.reshape(len(x), -1).astype(np.float64)])
    np.testing.assert_allclose(values, net.evaluate(x, "float64"), rtol=1e-9, atol=1e-12)
    clone = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(clone.evaluate(x), net.evaluate(x))
    step = net.trace(x[0]).steps[-1]
    np.testing.assert_allclose(step.value.reshape(-1), net.evaluate(x[:1]).reshape(-1),
                               rtol=1e-6)


@FAST
@given(seed=seeds, fill=st.sampled_from(["computed", "constant", "-inf"]),
       mask_shape=st.sampled_from([(3, 4), (1, 4), (3, 1), (4,)]))
def test_where_with_a_stored_condition(seed, fill, mask_shape):
    """A mask filled in (masked_fill, a causal mask), the condition fixed by the file."""
    rng = np.random.default_rng(seed)
    mask = rng.integers(0, 2, size=mask_shape).astype(bool)
    inits: dict[str, Any] = {"m": mask}
    nodes = [helper.make_node("Relu", ["x"], ["r"])]
    other = "r"
    if fill != "computed":
        inits["c"] = np.float32(-np.inf) if fill == "-inf" else rng_weights(rng, 4)
        other = "c"
    nodes += [helper.make_node("Where", ["m", "x", other], ["w"]),
              helper.make_node("Softmax", ["w"], ["y"], axis=-1)]
    model = make_model(nodes, [("x", [None, 3, 4])], ["y"], inits, opset=13)
    x = rng_weights(rng, 2, 3, 4)
    if fill == "-inf" and not np.all(mask.any(axis=-1)):
        return  # a row of only −inf: NaN everywhere
    net = assert_inputs_match_ort(model, [x], exact=fill != "-inf", rtol=2e-6, atol=1e-7)
    assert net.is_piecewise_linear is False  # the softmax
    if fill == "-inf":
        with pytest.raises(InvalidInputError, match="finite"):
            net.evaluate(x[:1], "exact")


def test_where_formula_is_its_forward_pass():
    rng = np.random.default_rng(8)
    mask = _param("M", np.array([[1, 0, 1]], np.float32))
    for branches, inputs in (((None, None), [rng.normal(size=(2, 3)).round(2),
                                             rng.normal(size=(2, 1)).round(2)]),
                             ((None, _param("c", np.float32([[-2.5]]))),
                              [rng.normal(size=(2, 3)).round(2)])):
        shapes = tuple(a.shape for a in inputs) if branches[1] is None else (
            inputs[0].shape, (1, 1))
        op = Select(mask, shapes, branches)
        _formula_is_forward(op, inputs)


def test_where_refuses_a_computed_condition():
    model = make_model([helper.make_node("Greater", ["x", "z"], ["c"]),
                        helper.make_node("Where", ["c", "x", "z"], ["y"])],
                       [("x", [None, 3])], ["y"], {"z": np.zeros(3, np.float32)})
    with pytest.raises(UnsupportedLayerError, match="Greater"):
        symnet.explain(model)


# --- backward passes ------------------------------------------------------------------------------

def _backward_ops() -> dict[str, tuple[Any, tuple[tuple[int, ...], ...]]]:
    """name -> (op, per-sample input shapes) for every op this work added."""
    from symnet.ops.activations import ACTIVATIONS
    from symnet.ops.recurrent import Recurrent

    rng = np.random.default_rng(12)
    ops: dict[str, tuple[Any, tuple[tuple[int, ...], ...]]] = {}
    for a, b in SHAPE_PAIRS:
        ops[f"product_{a}_{b}"] = (Product((a, b)), (a, b))
    ops["product_constant_left"] = (Product(((2, 3), (3, 2)), _param("C", rng.normal(
        size=(2, 3)))), ((3, 2),))
    ops["product_constant_right_stack"] = (Product(((2, 2, 3), (2, 3, 1)), _param(
        "C", rng.normal(size=(2, 3, 1))), 1), ((2, 2, 3),))
    for kind in ("sum", "mean", "max", "min", "sum_square"):
        ops[f"reduce_{kind}"] = (Reduce(kind, (0, 2), False, (2, 3, 2)), ((2, 3, 2),))
    ops["reduce_mean_keepdims"] = (Reduce("mean", (1,), True, (2, 3)), ((2, 3),))
    for fn in FUNCTIONS:
        ops[f"pointwise_{fn.name}"] = (Pointwise(fn), ((2, 3),))
    c = _param("c", rng.normal(size=(1, 2)))
    ops["joined"] = (Joined(0, ((1, 2), (3, 2), (1, 2)), (c, None, _param(
        "d", rng.normal(size=(1, 2))))), ((3, 2),))
    ops["joined_last_axis"] = (Joined(1, ((3, 2), (3, 1)), (None, None)), ((3, 2), (3, 1)))
    mask = _param("M", np.array([[1, 0, 1]], np.float32))
    ops["select"] = (Select(mask, ((2, 3), (2, 1))), ((2, 3), (2, 1)))
    ops["select_constant"] = (Select(mask, ((2, 3), (1, 3)), (None, _param(
        "f", rng.normal(size=(1, 3))))), ((2, 3),))
    ops["divide"] = (Merge("divide", ((2, 3), (2, 1))), ((2, 3), (2, 1)))
    tanh = ACTIVATIONS["tanh"].fn
    rnn = dict(cell="simple", kernel=_param("W", rng.normal(size=(2, 3))),
               recurrent_kernel=_param("U", rng.normal(size=(3, 3))),
               bias=_param("b", rng.normal(size=(3,))), units=3, activation=tanh)
    ops["rnn_clip_initial_sequences"] = (Recurrent(
        **rnn, emit="sequence", clip=0.6, sequences=2,
        initial_state=(_param("h0", rng.normal(size=(2, 3))),)), ((2, 3, 2),))
    ops["rnn_backwards_last_initial"] = (Recurrent(
        **rnn, emit="last", go_backwards=True,
        initial_state=(_param("h0", rng.normal(size=(1, 3))),)), ((3, 2),))
    return ops


BACKWARD_OPS = sorted(_backward_ops())
F64 = FloatBackend(np.float64)


def _point(rng: np.random.Generator, name: str, shapes: tuple[tuple[int, ...], ...],
           batch: int = 2) -> list[np.ndarray]:
    xs = [rng.normal(0.0, 1.5, (batch, *s)) + 1.234e-3 for s in shapes]
    if any(k in name for k in ("sqrt", "log", "root", "divide")):
        xs = [np.abs(x) + 0.3 for x in xs]
    if "1/t" in name:
        xs = [np.where(np.abs(x) < 0.3, 0.5, x) for x in xs]
    return xs


@pytest.mark.parametrize("name", BACKWARD_OPS)
@settings(max_examples=3, deadline=None, derandomize=True)
@given(seed=seeds)
def test_backward_is_the_finite_difference_of_forward(name, seed):
    op, shapes = _backward_ops()[name]
    rng = np.random.default_rng(seed)
    xs = _point(rng, name, shapes)
    y = op.forward(F64, *xs)
    g = rng.normal(size=np.shape(y))
    grads = op.backward(F64, tuple(xs), y, g)
    assert len(grads.inputs) == len(xs)
    # every array has its gradient (a mask, a condition, none: it is 0)
    assert set(grads.params) == {p for p in op.params() if p.name != "M"}, name
    assert_backward_is_the_difference(op, xs, g, grads, name, F64)


@pytest.mark.parametrize("name", BACKWARD_OPS)
def test_backward_on_every_backend(name):
    op, shapes = _backward_ops()[name]
    rng = np.random.default_rng(13)
    xs = [np.round(x, 3) + 1e-4 for x in _point(rng, name, shapes, batch=1)]
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


@pytest.mark.parametrize("name", ["product_(2, 3)_(3, 4)", "product_constant_left",
                                  "pointwise_erf", "pointwise_square", "pointwise_clip"])
def test_backward_formula_is_the_textbook_one(name):
    """g Bᵀ and Aᵀ g for a product, g ⊙ f'(x) for a function, made explicit, are the
    numbers."""
    op, shapes = _backward_ops()[name]
    rng = np.random.default_rng(14)
    xs = [rng.normal(size=(1, *s)) for s in shapes]
    y = op.forward(F64, *xs)
    g = rng.normal(size=y.shape)
    want = op.backward(F64, tuple(xs), y, g)
    symbols = [sp.MatrixSymbol(f"x{i}", *matrix_shape(s)) for i, s in enumerate(shapes)]
    ys, gs = (sp.MatrixSymbol(s, *matrix_shape(y.shape[1:])) for s in ("y", "g"))
    formula = op.backward_formula(tuple(symbols), ys, gs)
    subs = {s: sp.ImmutableMatrix(*matrix_shape(s.shape), x.reshape(-1).tolist())
            for s, x in zip(symbols, xs)}
    subs.update({ys: sp.ImmutableMatrix(*matrix_shape(y.shape[1:]), y.reshape(-1).tolist()),
                 gs: sp.ImmutableMatrix(*matrix_shape(y.shape[1:]), g.reshape(-1).tolist())})
    subs.update({p.symbol: p.matrix() for p in op.params()})
    pairs = list(zip(formula.inputs, want.inputs)) + [(formula.params[p], want.params[p])
                                                      for p in want.params]
    for ours, theirs in pairs:
        value = np.array(explicit(ours.xreplace(subs)).evalf(20), dtype=np.float64)
        np.testing.assert_allclose(value.reshape(-1), np.asarray(theirs).reshape(-1),
                                   rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("constant_shape", [(2, 3), (1, 2, 3), (1, 1, 2, 3), (2, 1, 2, 3)])
def test_constant_factor_against_the_batch_axis(constant_shape):
    """C @ x with x of a free batch axis: a constant of the batch's rank with a leading 1 is
    one matrix per sample; one of higher rank reaches the batch axis, and the model is read
    with the whole input as one sample — either way ONNX Runtime's numbers."""
    rng = np.random.default_rng(15)
    model = make_model([helper.make_node("MatMul", ["C", "x"], ["y"])], [("x", [None, 3, 4])],
                       ["y"], {"C": rng_weights(rng, *constant_shape)})
    net = assert_inputs_match_ort(model, [rng_weights(rng, 1 if len(constant_shape) > 3 else 3,
                                                      3, 4)])
    batched = len(constant_shape) <= 3
    assert net.input_shapes == (((3, 4),) if batched else ((1, 3, 4),))
    assert net.layers[0].params[0].shape == constant_shape  # as the file stores it
