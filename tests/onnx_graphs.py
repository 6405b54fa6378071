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
               initializers: dict[str, np.ndarray] | None = None, opset: int = 17,
               types: dict[str, int] | None = None) -> Any:
    """A model: ``inputs`` (name, dims: ints or None for the batch), float32 throughout but
    for the inputs ``types`` names (name -> ONNX element type, e.g. ``TensorProto.INT64``)."""
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(n, (types or {}).get(n, TensorProto.FLOAT),
                                                   dims) for n, dims in inputs],
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


def declared(model: Any, i: int) -> list[Any]:
    """Input ``i``'s declared dims (``None`` where symbolic)."""
    return [d.dim_value if d.HasField("dim_value") else None
            for d in model.graph.input[i].type.tensor_type.shape.dim]


def ort_outputs(model: Any, arrays: list[np.ndarray], batched: bool) -> np.ndarray:
    """ONNX Runtime's first output, one flattened row per sample of the batches ``arrays``
    (run on the whole batch when ``batched``: every input's first axis is the batch, else
    sample by sample, each in the declared shape with a free axis of 1)."""
    names = [v.name for v in model.graph.input]
    dims = [[1 if d is None else d for d in declared(model, i)] for i in range(len(names))]
    n = len(arrays[0])
    if batched:
        out = run_ort(model, dict(zip(names, arrays)))[0]
        return np.asarray(out, np.float64).reshape(n, -1)
    rows = [run_ort(model, {k: a[i].reshape(d) for k, a, d in zip(names, arrays, dims)})[0]
            for i in range(n)]
    return np.stack([np.asarray(r, np.float64).reshape(-1) for r in rows])


def assert_inputs_match_ort(model: Any, arrays: list[np.ndarray], *, exact: bool = True,
                            rtol: float = 1e-5, atol: float = 1e-5, **options: Any) -> Any:
    """As :func:`assert_matches_ort` for a model of several inputs (or integer ones): the
    float32 evaluation equals ONNX Runtime on the batches ``arrays`` (one per input, batch
    first, in the dtypes ONNX Runtime is fed), the exact one float64; returns the network."""
    import symnet

    net = symnet.explain(model, **options)
    n = len(arrays[0])
    shaped = [np.asarray(a).reshape((n, *s)) for a, s in zip(arrays, net.input_shapes)]
    feed = shaped if len(shaped) > 1 else shaped[0]
    ours = np.asarray(net.evaluate(feed), np.float64).reshape(n, -1)
    batched = all(len(s) < len(declared(model, i)) and declared(model, i)[0] is None
                  for i, s in enumerate(net.input_shapes))
    np.testing.assert_allclose(ours, ort_outputs(model, arrays, batched), rtol=rtol, atol=atol)
    if exact:
        first = [a[:1] for a in shaped]
        one = first if len(first) > 1 else first[0]
        exact_out = np.asarray(net.evaluate(one, "exact"), dtype=object)
        f64 = np.asarray(net.evaluate(one, "float64"), np.float64)
        as_float = np.vectorize(float)(exact_out).astype(np.float64)
        np.testing.assert_allclose(as_float, f64, rtol=1e-9, atol=1e-12)
    return net
