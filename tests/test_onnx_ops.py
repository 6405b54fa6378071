"""Every ONNX operator and attribute symnet converts, on graphs hypothesis draws: ``evaluate``
equals ONNX Runtime (float32 tolerance) and the exact result equals float64."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symnet import UnsupportedLayerError
from symnet.ops import MatMul

from .onnx_graphs import (
    assert_matches_ort,
    helper,
    make_model,
    newest_ort_opset,
    rng_weights,
    run_ort,
)

FAST = settings(max_examples=8, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
seeds = st.integers(0, 2**16)


@FAST
@given(seed=seeds, trans_b=st.booleans(), alpha=st.sampled_from([1.0, 0.5]),
       bias=st.sampled_from(["row", "vector", "none", "scalar"]), n_in=st.integers(1, 5),
       n_out=st.integers(1, 5))
def test_gemm(seed, trans_b, alpha, bias, n_in, n_out):
    rng = np.random.default_rng(seed)
    w = rng_weights(rng, n_out, n_in) if trans_b else rng_weights(rng, n_in, n_out)
    inits = {"W": w}
    inputs = ["x", "W"]
    if bias != "none":
        inits["C"] = {"row": rng_weights(rng, 1, n_out), "vector": rng_weights(rng, n_out),
                      "scalar": rng_weights(rng, 1)}[bias]
        inputs.append("C")
    node = helper.make_node("Gemm", inputs, ["y"], transB=int(trans_b), alpha=alpha)
    model = make_model([node], [("x", [None, n_in])], ["y"], inits)
    net = assert_matches_ort(model, rng_weights(rng, 4, n_in))
    ops = [n.op for n in net.graph.nodes]
    assert isinstance(ops[0], MatMul) and ops[0].transposed == trans_b
    assert ops[0].kernel.name == "W" and ops[0].kernel.shape == w.shape  # as stored


def test_gemm_prints_pytorch_layout():
    rng = np.random.default_rng(0)
    model = make_model([helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["y"],
                                         transB=1)], [("x", [None, 3])], ["y"],
                       {"fc1.weight": rng_weights(rng, 2, 3), "fc1.bias": rng_weights(rng, 2)})
    net = assert_matches_ort(model, rng_weights(rng, 3, 3))
    from symnet.report.latex import latex

    assert latex(net.layers[0].formula) == r"y = x W_{1}^{T} + b_{1}"
    assert [p.name for p in net.layers[0].params] == ["fc1.weight", "fc1.bias"]
    assert net.layers[0].params[0].shape == (2, 3)


def test_gemm_refuses_what_it_does_not_compute():
    model = make_model([helper.make_node("Gemm", ["x", "W", "C"], ["y"], beta=0.5)],
                       [("x", [None, 2])], ["y"], {"W": np.ones((2, 2), np.float32),
                                                   "C": np.ones(2, np.float32)})
    with pytest.raises(UnsupportedLayerError, match="beta"):
        __import__("symnet").explain(model)
    model = make_model([helper.make_node("Gemm", ["x", "W"], ["y"], gamma=2.0)],
                       [("x", [None, 2])], ["y"], {"W": np.ones((2, 2), np.float32)})
    with pytest.raises(__import__("symnet").ModelLoadError, match="gamma"):
        __import__("symnet").explain(model)  # the checker names the unknown attribute
    model = make_model([helper.make_node("LeakyRelu", ["x"], ["y"], alpha=0.1)],
                       [("x", [None, 2])], ["y"])
    model.graph.node[0].attribute.append(helper.make_attribute("beta", 1.0))
    from symnet.io import onnx as reader

    record = reader.OnnxModel(**{**reader.read_onnx(make_model(
        [helper.make_node("LeakyRelu", ["x"], ["y"], alpha=0.1)], [("x", [None, 2])],
        ["y"])).__dict__})
    node = record.nodes[0]
    extra = type(node)(node.index, node.name, node.op_type, node.domain, node.inputs,
                       node.outputs, {**node.attributes, "beta": 1.0})
    from symnet.nodes import build

    with pytest.raises(UnsupportedLayerError, match="attribute 'beta'"):
        build(type(record)(**{**record.__dict__, "nodes": (extra,)}),
              lambda n: tuple(__import__("sympy").symbols(f"x1:{n + 1}")),
              lambda n: tuple(__import__("sympy").symbols(f"y1:{n + 1}")))


@FAST
@given(seed=seeds, transposed=st.booleans(), rank=st.integers(2, 3))
def test_matmul_add(seed, transposed, rank):
    rng = np.random.default_rng(seed)
    w = rng_weights(rng, 3, 4)
    nodes = []
    if transposed:  # an exporter's x Wᵀ: Transpose of the stored weight, then MatMul
        nodes.append(helper.make_node("Transpose", ["W"], ["Wt"], perm=[1, 0]))
        w = rng_weights(rng, 4, 3)
    nodes += [helper.make_node("MatMul", ["x", "Wt" if transposed else "W"], ["h"]),
              helper.make_node("Add", ["h", "b"], ["y"])]
    shape = [None, 3] if rank == 2 else [None, 2, 3]
    model = make_model(nodes, [("x", shape)], ["y"], {"W": w, "b": rng_weights(rng, 4)})
    x = rng_weights(rng, 3, *[d for d in shape[1:]])
    net = assert_matches_ort(model, x)
    matmul = net.graph.nodes[0].op
    assert matmul.kernel.name == "W" and matmul.transposed == transposed


@FAST
@given(seed=seeds, op=st.sampled_from(["Add", "Sub", "Mul", "Div"]), first=st.booleans(),
       const_shape=st.sampled_from([(), (1,), (4,), (3, 1), (1, 3, 4)]))
def test_arithmetic_with_constants(seed, op, first, const_shape):
    rng = np.random.default_rng(seed)
    c = rng_weights(rng, *const_shape) if const_shape else np.float32(rng.normal())
    if op == "Div" and not first:
        c = np.where(np.abs(c) < 0.3, 1.0, c).astype(np.float32)
    inputs = ["C", "x"] if first else ["x", "C"]
    model = make_model([helper.make_node(op, inputs, ["y"])], [("x", [None, 3, 4])], ["y"],
                       {"C": np.asarray(c, np.float32)})
    x = rng_weights(rng, 3, 3, 4)
    if op == "Div" and first:
        x = np.where(np.abs(x) < 0.3, 1.0, x).astype(np.float32)
    assert_matches_ort(model, x, rtol=1e-5)


@FAST
@given(seed=seeds, op=st.sampled_from(["Add", "Sub", "Mul", "Max", "Min", "Sum"]),
       broadcast=st.booleans())
def test_arithmetic_of_two_tensors(seed, op, broadcast):
    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("Relu", ["x"], ["a"]),
             helper.make_node("Reshape", ["x", "s"], ["r"]) if broadcast else
             helper.make_node("Neg", ["x"], ["r"]),
             helper.make_node(op, ["a", "r"], ["y"])]
    shape = np.asarray([0, 3, 1] if broadcast else [0, 3, 2], np.int64)
    model = make_model(nodes, [("x", [None, 3, 2])], ["y"], {"s": shape})
    if broadcast:  # (3, 2) against (3, 1) would not be equal sizes: reshape to (6,)... use
        model = make_model([helper.make_node("Relu", ["x"], ["a"]),
                            helper.make_node("Slice", ["x", "st", "en", "ax"], ["r"]),
                            helper.make_node(op, ["a", "r"], ["y"])], [("x", [None, 3, 2])],
                           ["y"], {"st": np.array([0], np.int64), "en": np.array([1], np.int64),
                                   "ax": np.array([2], np.int64)})
    assert_matches_ort(model, rng_weights(rng, 3, 3, 2))


ACTIVATIONS = [("Relu", {}), ("Sigmoid", {}), ("Tanh", {}), ("LeakyRelu", {"alpha": 0.1}),
               ("LeakyRelu", {}), ("Elu", {"alpha": 0.7}), ("Selu", {}),
               ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}), ("HardSigmoid", {}),
               ("Softplus", {}), ("Softsign", {}), ("Identity", {}), ("Dropout", {})]


@pytest.mark.parametrize(("op", "attrs"), ACTIVATIONS)
def test_activations(op, attrs):
    rng = np.random.default_rng(1)
    model = make_model([helper.make_node(op, ["x"], ["y"], **attrs)], [("x", [None, 5])], ["y"])
    assert_matches_ort(model, rng_weights(rng, 6, 5, scale=3.0), rtol=2e-6, atol=2e-6)


def test_gelu_needs_opset_20():
    opset = newest_ort_opset()
    if opset < 20:
        pytest.skip(f"ONNX Runtime knows opsets up to {opset}")
    rng = np.random.default_rng(2)
    model = make_model([helper.make_node("Gelu", ["x"], ["y"])], [("x", [None, 4])], ["y"],
                       opset=20)
    assert_matches_ort(model, rng_weights(rng, 3, 4, scale=2.0))
    tanh = make_model([helper.make_node("Gelu", ["x"], ["y"], approximate="tanh")],
                      [("x", [None, 4])], ["y"], opset=20)
    with pytest.raises(UnsupportedLayerError, match="approximate"):
        __import__("symnet").explain(tanh)


@pytest.mark.parametrize(("low", "high", "ok"), [(0.0, 6.0, True), (0.0, None, True),
                                                 (-1.0, 1.0, True), (-2.0, 3.0, True),
                                                 (0.5, None, True), (None, 0.3, True)])
@pytest.mark.parametrize("opset", [9, 13])
def test_clip(low, high, ok, opset):
    """Clip to any bounds (either may be absent): ReLU/ReLU6 and hard tanh by their names,
    others as clip(t) = Min(high, Max(low, t)); piecewise linear."""
    rng = np.random.default_rng(3)
    if opset < 11:
        attrs = ({} if low is None else {"min": low}) | ({} if high is None else {"max": high})
        model = make_model([helper.make_node("Clip", ["x"], ["y"], **attrs)],
                           [("x", [None, 5])], ["y"], opset=opset)
    else:
        inits = ({} if low is None else {"lo": np.float32(low)}) | (
            {} if high is None else {"hi": np.float32(high)})
        model = make_model([helper.make_node("Clip", ["x", "lo" if low is not None else "",
                                                      "hi" if high is not None else ""],
                                             ["y"])],
                           [("x", [None, 5])], ["y"], inits, opset=opset)
    assert ok
    net = assert_matches_ort(model, rng_weights(rng, 4, 5, scale=4.0))
    assert net.is_piecewise_linear
    if low is not None and high is not None and (low, high) not in ((0.0, 6.0), (-1.0, 1.0)):
        assert net.layers[0].formula.rhs.has(sp.Min) and net.layers[0].formula.rhs.has(sp.Max)


def test_prelu_per_channel():
    rng = np.random.default_rng(4)
    model = make_model([helper.make_node("PRelu", ["x", "s"], ["y"])], [("x", [None, 3, 2, 2])],
                       ["y"], {"s": rng_weights(rng, 3, 1, 1)})
    net = assert_matches_ort(model, rng_weights(rng, 3, 3, 2, 2))
    assert net.is_piecewise_linear


@pytest.mark.parametrize("opset", [9, 11, 13, "newest"])
@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("axis", [None, 1, 2, -1])
def test_softmax_per_opset(opset, op, axis):
    """Before opset 13 the axes from ``axis`` on are one (default 1); from 13 one axis
    (default -1)."""
    opset = newest_ort_opset() if opset == "newest" else opset
    rng = np.random.default_rng(5)
    attrs = {} if axis is None else {"axis": axis}
    model = make_model([helper.make_node(op, ["x"], ["y"], **attrs)], [("x", [None, 3, 4])],
                       ["y"], opset=opset)
    assert_matches_ort(model, rng_weights(rng, 2, 3, 4, scale=2.0), rtol=2e-6, atol=1e-6)


def test_softmax_over_the_batch_is_read_without_one():
    rng = np.random.default_rng(6)
    model = make_model([helper.make_node("Softmax", ["x"], ["y"], axis=0)], [("x", [1, 4])],
                       ["y"], opset=13)
    net = assert_matches_ort(model, rng_weights(rng, 2, 1, 4))
    assert net.input_shapes == ((1, 4),)


@FAST
@given(seed=seeds, kernel=st.sampled_from([1, 2, 3]), stride=st.integers(1, 2),
       dilation=st.integers(1, 2), pads=st.tuples(*[st.integers(0, 1)] * 4),
       group=st.sampled_from([1, 2]), auto=st.sampled_from(["NOTSET", "SAME_UPPER",
                                                            "SAME_LOWER", "VALID"]),
       bias=st.booleans())
def test_conv(seed, kernel, stride, dilation, pads, group, auto, bias):
    rng = np.random.default_rng(seed)
    c_in, c_out = 2, 4
    w = rng_weights(rng, c_out, c_in // group, kernel, kernel)
    attrs = {"strides": [stride] * 2, "dilations": [dilation] * 2, "group": group,
             "auto_pad": auto}
    if auto == "NOTSET":
        attrs["pads"] = list(pads)
    if auto.startswith("SAME"):
        attrs["dilations"] = [1, 1]
    inits = {"W": w} | ({"B": rng_weights(rng, c_out)} if bias else {})
    node = helper.make_node("Conv", ["x", "W", "B"] if bias else ["x", "W"], ["y"], **attrs)
    model = make_model([node], [("x", [None, c_in, 5, 6])], ["y"], inits)
    net = assert_matches_ort(model, rng_weights(rng, 2, c_in, 5, 6))
    assert net.layers[0].params[0].shape == w.shape  # as stored


def test_conv1d_and_transpose():
    rng = np.random.default_rng(7)
    model = make_model([helper.make_node("Conv", ["x", "W", "B"], ["h"], pads=[1, 0]),
                        helper.make_node("ConvTranspose", ["h", "V", "c"], ["y"], strides=[2],
                                         pads=[0, 1], output_padding=[1])],
                       [("x", [None, 2, 7])], ["y"],
                       {"W": rng_weights(rng, 3, 2, 3), "B": rng_weights(rng, 3),
                        "V": rng_weights(rng, 3, 2, 2), "c": rng_weights(rng, 2)})
    assert_matches_ort(model, rng_weights(rng, 2, 2, 7))


@FAST
@given(seed=seeds, op=st.sampled_from(["MaxPool", "AveragePool"]), kernel=st.integers(1, 3),
       stride=st.integers(1, 3), pads=st.tuples(*[st.integers(0, 1)] * 4),
       ceil=st.integers(0, 1), include=st.integers(0, 1))
def test_pooling(seed, op, kernel, stride, pads, ceil, include):
    rng = np.random.default_rng(seed)
    pads = [min(p, kernel - 1) for p in pads]  # ONNX: pads smaller than the kernel
    attrs = {"kernel_shape": [kernel, kernel], "strides": [stride] * 2, "pads": pads,
             "ceil_mode": ceil}
    if op == "AveragePool":
        attrs["count_include_pad"] = include
    model = make_model([helper.make_node(op, ["x"], ["y"], **attrs)], [("x", [None, 2, 5, 6])],
                       ["y"])
    net = assert_matches_ort(model, rng_weights(rng, 2, 2, 5, 6))
    assert net.is_piecewise_linear


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
def test_global_pooling(op):
    rng = np.random.default_rng(8)
    model = make_model([helper.make_node(op, ["x"], ["y"])], [("x", [None, 3, 4, 2])], ["y"])
    assert_matches_ort(model, rng_weights(rng, 2, 3, 4, 2))


@pytest.mark.parametrize("shape", [[None, 4], [None, 3, 2, 2]])
def test_batch_normalization(shape):
    rng = np.random.default_rng(9)
    c = shape[1]
    inits = {"g": rng_weights(rng, c), "b": rng_weights(rng, c), "m": rng_weights(rng, c),
             "v": np.abs(rng_weights(rng, c)) + 0.5}
    model = make_model([helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["y"],
                                         epsilon=1e-3, momentum=0.8)],
                       [("x", shape)], ["y"], inits)
    net = assert_matches_ort(model, rng_weights(rng, 3, *shape[1:]))
    layer = net.layers[0]
    assert layer.constants["epsilon"] == 0.001
    assert "epsilon_1" in str(layer.formula)


@pytest.mark.parametrize("axis", [-1, 1])
def test_layer_normalization(axis):
    rng = np.random.default_rng(10)
    n = 4 if axis == -1 else 12
    inits = {"g": rng_weights(rng, *([4] if axis == -1 else [3, 4])),
             "b": rng_weights(rng, *([4] if axis == -1 else [3, 4]))}
    assert n
    model = make_model([helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"],
                                         axis=axis, epsilon=1e-4)],
                       [("x", [None, 3, 4])], ["y"], inits)
    assert_matches_ort(model, rng_weights(rng, 2, 3, 4), rtol=1e-5, atol=1e-5)


def test_shape_nodes_and_folding():
    """Flatten, Reshape with a shape computed by Shape/Gather/Unsqueeze/Concat (as exporters
    write it), Transpose, Squeeze/Unsqueeze, Concat, Slice, Gather of one index, Pad."""
    rng = np.random.default_rng(11)
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
        helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]),
        helper.make_node("Pad", ["t", "pads"], ["p"]),
        helper.make_node("Slice", ["p", "st", "en", "ax"], ["sl"]),
        helper.make_node("Gather", ["sl", "one"], ["g"], axis=1),
        helper.make_node("Unsqueeze", ["g", "axes1"], ["u"]),
        helper.make_node("Squeeze", ["u", "axes1"], ["q"]),
        helper.make_node("Concat", ["q", "q"], ["c"], axis=2),
        helper.make_node("Reshape", ["c", "shape"], ["r"]),
        helper.make_node("Flatten", ["r"], ["y"]),
    ]
    inits = {"zero": np.array(0, np.int64), "axes0": np.array([0], np.int64),
             "minus1": np.array([-1], np.int64), "pads": np.array([0, 1, 0, 0, 0, 0, 1, 0],
                                                                  np.int64),
             "st": np.array([1], np.int64), "en": np.array([3], np.int64),
             "ax": np.array([2], np.int64), "one": np.array(1, np.int64),
             "axes1": np.array([1], np.int64)}
    model = make_model(nodes, [("x", [None, 2, 3, 4])], ["y"], inits, opset=13)
    net = assert_matches_ort(model, rng_weights(rng, 2, 2, 3, 4))
    assert net.is_piecewise_linear and net.graph.piecewise_linear


def test_opset_9_attributes():
    """Opset 9: Unsqueeze's axes, Slice's starts/ends and Pad's pads are attributes."""
    rng = np.random.default_rng(12)
    nodes = [helper.make_node("Pad", ["x"], ["p"], pads=[0, 0, 1, 0, 0, 1], mode="constant",
                              value=0.0),
             helper.make_node("Slice", ["p"], ["s"], starts=[1], ends=[4], axes=[2]),
             helper.make_node("Unsqueeze", ["s"], ["u"], axes=[1]),
             helper.make_node("Flatten", ["u"], ["y"], axis=1)]
    model = make_model(nodes, [("x", [None, 2, 3])], ["y"], opset=9)
    assert_matches_ort(model, rng_weights(rng, 2, 2, 3))


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("direction", ["forward", "reverse"])
@pytest.mark.parametrize("layout", [0])  # ONNX Runtime runs no layout=1 recurrence
def test_recurrent(op, direction, layout):
    rng = np.random.default_rng(13)
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    hidden, features, steps = 3, 2, 4
    inits = {"W": rng_weights(rng, 1, gates * hidden, features, scale=0.7),
             "R": rng_weights(rng, 1, gates * hidden, hidden, scale=0.7),
             "B": rng_weights(rng, 1, 2 * gates * hidden, scale=0.5)}
    attrs = {"hidden_size": hidden, "direction": direction}
    if op == "GRU":
        attrs["linear_before_reset"] = 1
    opset = 14 if layout else 13
    if layout:
        attrs["layout"] = 1
    outputs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    node = helper.make_node(op, ["x", "W", "R", "B"], outputs, **attrs)
    shape = [1, steps, features] if layout else [steps, 1, features]
    flat = [helper.make_node("Flatten", ["Y"], ["y"], axis=0)]
    model = make_model([node, *flat], [("x", shape)], ["y"], inits, opset=opset)
    assert_matches_ort(model, rng_weights(rng, 2, *shape), exact=op == "RNN",
                       rtol=1e-5, atol=1e-6)


def test_gru_before_reset():
    rng = np.random.default_rng(14)
    inits = {"W": rng_weights(rng, 1, 9, 2), "R": rng_weights(rng, 1, 9, 3),
             "B": rng_weights(rng, 1, 18)}
    node = helper.make_node("GRU", ["x", "W", "R", "B"], ["", "Y_h"], hidden_size=3,
                            linear_before_reset=0)
    model = make_model([node, helper.make_node("Flatten", ["Y_h"], ["y"], axis=0)],
                       [("x", [5, 1, 2])], ["y"], inits)
    assert_matches_ort(model, rng_weights(rng, 2, 5, 1, 2), exact=False)


def _recurrent_model(op, rng, *, direction="forward", clip=None, initial="", inner=1,
                     emit="Y", layout=0, steps=3, features=2, hidden=2, batch_free=False):
    """One LSTM/GRU/RNN node with random weights; its output ``emit`` flattened."""
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    dirs = 2 if direction == "bidirectional" else 1
    inits = {"W": rng_weights(rng, dirs, gates * hidden, features, scale=0.8),
             "R": rng_weights(rng, dirs, gates * hidden, hidden, scale=0.8),
             "B": rng_weights(rng, dirs, 2 * gates * hidden, scale=0.5)}
    inputs = ["x", "W", "R", "B", "", "", ""]
    state = (dirs, inner, hidden) if layout == 0 else (inner, dirs, hidden)
    if "h" in initial:
        inits["h0"] = rng_weights(rng, *state)
        inputs[5] = "h0"
    if "c" in initial and op == "LSTM":
        inits["c0"] = rng_weights(rng, *state)
        inputs[6] = "c0"
    while inputs and not inputs[-1]:
        inputs.pop()
    attrs = {"hidden_size": hidden, "direction": direction}
    if clip is not None:
        attrs["clip"] = clip
    if op == "GRU":
        attrs["linear_before_reset"] = int(rng.integers(0, 2))
    if layout:
        attrs["layout"] = 1
    outputs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    node = helper.make_node(op, inputs, outputs, **attrs)
    first = None if batch_free else inner
    shape = [steps, first, features] if layout == 0 else [first, steps, features]
    flat = helper.make_node("Flatten", [emit], ["y"], axis=0 if not batch_free else 1)
    return make_model([node, flat], [("x", shape)], ["y"], inits, opset=14)


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=seeds, op=st.sampled_from(["LSTM", "GRU", "RNN"]),
       direction=st.sampled_from(["forward", "reverse", "bidirectional"]),
       clip=st.sampled_from([None, 0.4, 3.0]), initial=st.sampled_from(["", "h", "hc"]),
       inner=st.sampled_from([1, 3]), emit=st.sampled_from(["Y", "Y_h", "Y_c"]))
def test_recurrent_options(seed, op, direction, clip, initial, inner, emit):
    """Directions (bidirectional: both, side by side), the cell clip, an initial state
    stored in the file, and a batch fixed inside the model (several sequences in one
    sample), against ONNX Runtime; exact equals float64."""
    if emit == "Y_c" and op != "LSTM":
        emit = "Y_h"
    rng = np.random.default_rng(seed)
    model = _recurrent_model(op, rng, direction=direction, clip=clip, initial=initial,
                             inner=inner, emit=emit)
    x = rng_weights(rng, 2, 3, inner, 2, scale=1.5)
    net = assert_matches_ort(model, x, rtol=1e-5, atol=1e-6)
    ops = [n.op for n in net.graph.nodes if type(n.op).__name__ == "Recurrent"]
    assert len(ops) == (2 if direction == "bidirectional" else 1)
    assert all(o.clip == (None if clip is None else clip) and o.sequences == inner for o in ops)
    assert all(bool(o.initial_state) == bool(initial) for o in ops)


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("seed", [20, 21])
def test_recurrent_everything_at_once(op, seed):
    """Bidirectional, clipped (the gates' inputs often beyond ±0.4), from a stored state, three
    sequences in one sample (GRU: linear_before_reset drawn per seed)."""
    rng = np.random.default_rng(seed)
    model = _recurrent_model(op, rng, direction="bidirectional", clip=0.4, initial="hc",
                             inner=3, emit="Y", steps=4, hidden=3)
    x = rng_weights(rng, 2, 4, 3, 2, scale=2.0)
    net = assert_matches_ort(model, x, rtol=1e-5, atol=1e-6)
    import symnet

    unclipped = _recurrent_model(op, np.random.default_rng(seed), direction="bidirectional",
                                 initial="hc", inner=3, emit="Y", steps=4, hidden=3)
    other = symnet.explain(unclipped).evaluate(x)
    assert np.max(np.abs(np.asarray(net.evaluate(x)) - other)) > 1e-3  # the clip matters
    # The formula (the clip, the stored state, the sequences in its arguments) rebuilds from
    # its srepr (that it is the forward pass: tests/test_onnx_tensors.py).
    namespace: dict = {}
    exec("from sympy import *\nfrom symnet.functions import *", namespace)
    for layer in net.layers:
        assert eval(sp.srepr(layer.formula), namespace) == layer.formula, layer.name


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("emit", ["Y", "Y_h"])
def test_recurrent_layout_1(op, emit):
    """Batch first (layout 1): ONNX Runtime does not run it; checked against ONNX's reference
    implementation and against ONNX Runtime on the same weights in layout 0."""
    from onnx.reference import ReferenceEvaluator

    rng = np.random.default_rng(16)
    model = _recurrent_model(op, np.random.default_rng(17), direction="bidirectional",
                             emit=emit, layout=1, batch_free=True, initial="hc")
    import symnet

    with pytest.raises(Exception):  # noqa: B017 - ONNX Runtime refuses batch-first recurrences
        assert_matches_ort(model, rng_weights(rng, 2, 3, 2))
    net = symnet.explain(model)
    assert net.input_shapes == ((3, 2),)  # the batch axis first: read as the batch
    x = rng_weights(rng, 4, 3, 2)
    reference = ReferenceEvaluator(model).run(None, {"x": x})[0]
    np.testing.assert_allclose(np.asarray(net.evaluate(x)).reshape(4, -1),
                               np.asarray(reference).reshape(4, -1), rtol=1e-5, atol=1e-6)
    same = _recurrent_model(op, np.random.default_rng(17), direction="bidirectional",
                            emit=emit, layout=0, inner=1, initial="hc")
    for i in range(4):  # layout 0, one sample at a time: ONNX Runtime's numbers
        theirs = np.asarray(run_ort(same, {"x": x[i][:, None, :]})[0]).reshape(-1)
        ours = np.asarray(net.evaluate(x[i:i + 1])).reshape(-1)
        if emit == "Y":  # (steps, dirs, 1, H) against (1, steps, dirs, H): the same order
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
        else:  # (dirs, 1, H) against (1, dirs, H)
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", ["peepholes", "input_forget", "computed_initial",
                                 "short_sequence", "alpha", "clip_zero", "activation"])
def test_recurrent_refusals(bad):
    import symnet

    rng = np.random.default_rng(15)
    inits = {"W": rng_weights(rng, 1, 4 * 3, 2), "R": rng_weights(rng, 1, 4 * 3, 3)}
    attrs: dict = {"hidden_size": 3}
    inputs = ["x", "W", "R"]
    nodes = []
    if bad == "peepholes":
        inits["P"] = rng_weights(rng, 1, 9)
        inputs += ["", "", "", "", "P"]
    if bad == "input_forget":
        attrs["input_forget"] = 1
    if bad == "computed_initial":
        nodes.append(helper.make_node("Slice", ["x", "s0", "s1", "ax"], ["xs"]))
        nodes.append(helper.make_node("Concat", ["xs", "xs"], ["h0"], axis=2))
        inits.update(s0=np.array([0], np.int64), s1=np.array([1], np.int64),
                     ax=np.array([0], np.int64))
        inputs += ["", "", "h0"]
        attrs["hidden_size"] = 4
        inits["W"], inits["R"] = rng_weights(rng, 1, 16, 2), rng_weights(rng, 1, 16, 4)
    if bad == "short_sequence":
        inits["L"] = np.array([2], np.int32)
        inputs += ["", "L"]
    if bad == "alpha":
        attrs["activation_alpha"] = [0.5]
    if bad == "clip_zero":
        attrs["clip"] = 0.0
    if bad == "activation":
        attrs["activations"] = ["HardSigmoid", "Tanh", "Tanh"]
    nodes.append(helper.make_node("LSTM", inputs, ["Y"], **attrs))
    model = make_model(nodes, [("x", [4, 1, 2])], ["Y"], inits)
    with pytest.raises(UnsupportedLayerError, match="peephole|input_forget|initial_h|"
                       "sequence_lens|alpha|clip|activations"):
        symnet.explain(model)
