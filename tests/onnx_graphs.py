"""Helpers of the ONNX tests: a model of a few nodes built with ``onnx.helper``, ONNX
Runtime's own output for it, and the comparisons every converter is held to."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

onnx = __import__("pytest").importorskip("onnx")
ort = __import__("pytest").importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def make_model(nodes: list[Any], inputs: list[tuple[str, list[Any]]], outputs: list[str],
               initializers: dict[str, np.ndarray] | None = None, opset: int = 17) -> Any:
    """A model: ``inputs`` (name, dims: ints or None for the batch), float32 throughout."""
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, dims)
                     for n, dims in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
        initializer=[numpy_helper.from_array(np.asarray(v), name=k)
                     for k, v in (initializers or {}).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8 if opset <= 18 else 9 if opset <= 20 else 10
    # The outputs' types as ONNX infers them (exporters always write them).
    inferred = onnx.shape_inference.infer_shapes(model)
    types = {v.name: v for v in [*inferred.graph.value_info, *inferred.graph.output]}
    for out in model.graph.output:
        known = types.get(out.name)
        if known is not None and known.type.tensor_type.HasField("shape"):
            out.type.CopyFrom(known.type)
        else:
            out.type.tensor_type.shape.SetInParent()
    return model


def run_ort(model: Any, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


@functools.lru_cache(maxsize=1)
def newest_ort_opset() -> int:
    """The newest default-domain opset both onnx and ONNX Runtime know."""
    for opset in range(onnx.defs.onnx_opset_version(), 12, -1):
        model = make_model([helper.make_node("Relu", ["x"], ["y"])], [("x", [1, 2])], ["y"],
                           opset=opset)
        try:
            run_ort(model, {"x": np.zeros((1, 2), np.float32)})
            return opset
        except Exception:
            continue
    return 13


def rng_weights(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return (rng.normal(size=shape) * scale).astype(np.float32)


def assert_matches_ort(model: Any, x: np.ndarray, *, exact: bool = True, rtol: float = 1e-5,
                       atol: float = 1e-5, **options: Any) -> Any:
    """``explain(model)``: float32 equals ONNX Runtime on the batch ``x`` (run sample by
    sample when the model fixes its batch), exact equals float64; returns the network."""
    import symnet

    net = symnet.explain(model, **options)
    name = model.graph.input[0].name
    ours = np.asarray(net.evaluate(x.reshape((len(x), *net.input_shapes[0]))), np.float64)
    if net.evaluate(x[:1].reshape((1, *net.input_shapes[0]))).shape[0] != 1:
        raise AssertionError("evaluate gives one row per sample")
    dims = [d.dim_value if d.HasField("dim_value") else None
            for d in model.graph.input[0].type.tensor_type.shape.dim]
    if dims and dims[0] is None:
        theirs = run_ort(model, {name: x})[0]
    else:
        theirs = np.stack([run_ort(model, {name: x[i].reshape(dims)})[0]
                           for i in range(len(x))])
    np.testing.assert_allclose(ours.reshape(len(x), -1), np.asarray(
        theirs, np.float64).reshape(len(x), -1), rtol=rtol, atol=atol)
    if exact:
        first = x[:1].reshape((1, *net.input_shapes[0]))
        exact_out = net.evaluate(first, "exact")
        f64 = np.asarray(net.evaluate(first, "float64"), np.float64)
        as_float = np.vectorize(float)(np.asarray(exact_out, dtype=object)).astype(np.float64)
        np.testing.assert_allclose(as_float, f64, rtol=1e-9, atol=1e-12)
    return net
