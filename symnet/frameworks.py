"""ONNX models and PyTorch modules: ``symnet.explain("model.onnx")``, ``explain(proto)``,
``explain(module, example_input=x)``.

An ONNX model is read by :mod:`symnet.io.onnx` (checked, nothing executed) and its nodes become
symnet's ops (:mod:`symnet.nodes`); the network's numbers are checked against ONNX Runtime.
A PyTorch module is exported with PyTorch's own exporter (``torch.onnx.export``, the
``torch.export`` path, without its optimiser so that BatchNorm stays a BatchNorm and every
weight keeps its ``state_dict`` name) and read the same way, one layer per module (``fc1``,
``relu``), and checked against the module's own forward. PyTorch is imported only here, and
only when a module is passed.
"""

from __future__ import annotations

import ast
import io
import math
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidInputError, ModelLoadError

__all__ = ["OnnxRuntimeReference", "TorchReference", "computed_as", "explain_other",
           "framework_of"]


def computed_as(net: Any) -> str:
    """What a network's float32 numbers reproduce: ``model.predict``, ``ONNX Runtime`` or
    ``the module's forward``."""
    return {"onnx": OnnxRuntimeReference.name, "pytorch": TorchReference.name}.get(
        getattr(net, "framework", "keras"), "model.predict")


def framework_of(model: Any) -> str:
    """``"onnx"``, ``"pytorch"`` or ``"keras"`` (anything else: Keras' reader says what it
    expected)."""
    if isinstance(model, (str, os.PathLike)):
        return "onnx" if Path(model).suffix.lower() == ".onnx" else "keras"
    cls = type(model)
    if cls.__name__ == "ModelProto" and cls.__module__.startswith("onnx"):
        return "onnx"
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        return "pytorch"
    return "keras"


def explain_other(model: Any, framework: str, *, input_names: Sequence[str] | None,
                  output_names: Sequence[str] | None, reader: str, example_input: Any,
                  dims: Mapping[str, int] | None) -> Any:
    if reader not in ("auto",):
        raise InvalidInputError(f"reader={reader!r} is for Keras files; {framework} models "
                                "have one reader")
    if framework == "onnx":
        if example_input is not None:
            raise InvalidInputError("example_input is for a PyTorch module; an ONNX model "
                                    "declares its input shapes")
        return explain_onnx(model, input_names, output_names, dims)
    if framework == "pytorch":
        return explain_torch(model, example_input, input_names, output_names)
    raise InvalidInputError("example_input and dims are for PyTorch modules and ONNX models; "
                            f"received a {type(model).__name__}")


def _symbols(given: Sequence[str] | None, stem: str, what: str) -> Any:
    from .network import _names

    return lambda count: _names(given, count, stem, what)


def explain_onnx(model: Any, input_names: Sequence[str] | None = None,
                 output_names: Sequence[str] | None = None,
                 dims: Mapping[str, int] | None = None, *, grouping: Any = None,
                 reference: Any = None, framework: str = "onnx", name: str | None = None,
                 trainable: Any = None) -> Any:
    from .io.onnx import read_onnx
    from .network import Network
    from .nodes import build

    record = read_onnx(model)
    graph, builder = build(record, _symbols(input_names, "x", "input"),
                           _symbols(output_names, "y", "output"), grouping=grouping,
                           dims=dict(dims or {}), trainable=trainable)
    if reference is None:
        reference = OnnxRuntimeReference(record.proto, builder, Path(model).resolve().parent
                                         if isinstance(model, (str, os.PathLike)) else None)
    net = Network(graph, name or record.name, record.proto, layer_names=(),
                  framework=framework, reference=reference)
    net.dropped_outputs = dict(builder.dropped_outputs)  # type: ignore[attr-defined]
    return net


class OnnxRuntimeReference:
    """ONNX Runtime on the model: what ``evaluate`` is checked against. A model read without
    a batch axis is run one sample at a time."""

    name = "ONNX Runtime"

    def __init__(self, proto: Any, builder: Any, folder: Path | None) -> None:
        self._bytes = proto.SerializeToString()
        self._folder = folder
        self.batch = builder.batch
        self.inputs = list(builder.onnx_inputs)
        self.input_shapes = list(builder.input_shapes)
        self.input_types = list(builder.input_types)
        names = [n for n, _ in builder.model.outputs if n not in builder.dropped_outputs]
        self.outputs = names
        self._session: Any = None

    def session(self) -> Any:
        if self._session is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            options.intra_op_num_threads = 1
            options.log_severity_level = 3
            self._session = ort.InferenceSession(self._bytes, options,
                                                 providers=["CPUExecutionProvider"])
        return self._session

    def __call__(self, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The outputs, one flattened row per sample, for one float32 batch per input (each
        sample run alone, as the model may fix its batch to 1)."""
        session = self.session()
        rows: list[list[np.ndarray]] = []
        for i in range(int(arrays[0].shape[0])):
            feed = {}
            for k, a, shape, dtype in zip(self.inputs, arrays, self.input_shapes,
                                          self.input_types):
                sample = _as_dtype(a[i], dtype)
                feed[k] = sample.reshape((1, *shape)) if self.batch else sample.reshape(shape)
            rows.append([_numbers(v) for v in session.run(self.outputs, feed)])
        return [np.stack([r[k] for r in rows]) for k in range(len(self.outputs))]


def _as_dtype(values: Any, dtype: Any) -> np.ndarray:
    """A sample as the model's input type: float32, or whole numbers as integers (indices)."""
    values = np.asarray(values)
    if np.dtype(dtype).kind in "iu":
        as_float = np.asarray(values, np.float64)
        if not np.all(np.isfinite(as_float) & (as_float == np.round(as_float))):
            raise InvalidInputError("an integer input (indices) takes whole numbers")
        return np.ascontiguousarray(as_float.astype(dtype))
    return np.ascontiguousarray(values, np.float32)


def _numbers(value: Any) -> np.ndarray:
    """An output as one row of numbers (a ZipMap's list of maps: the values, in class
    order)."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return np.asarray([list(d.values()) for d in value], np.float64).reshape(-1)
    return np.asarray(value, np.float64).reshape(-1)


# --- PyTorch ---------------------------------------------------------------------------------

def explain_torch(module: Any, example_input: Any, input_names: Sequence[str] | None,
                  output_names: Sequence[str] | None) -> Any:
    import torch

    if example_input is None:
        raise InvalidInputError("explain(module, example_input=...) needs an example input: "
                                "PyTorch modules do not declare their input shape")
    examples = tuple(example_input) if isinstance(example_input, (list, tuple)) else (
        example_input,)
    examples = tuple(e if isinstance(e, torch.Tensor) else torch.as_tensor(
        np.asarray(e, np.float32)) for e in examples)
    kinds = {torch.float32: np.float32, torch.int64: np.int64, torch.int32: np.int32}
    if any(e.dtype not in kinds for e in examples):
        raise InvalidInputError("example_input must be float32 tensors (or int64/int32 "
                                "tensors of indices for an embedding), received "
                                f"{', '.join(str(e.dtype) for e in examples)}")
    proto = export_module(module, examples)
    names = _module_kinds(module)
    reference = TorchReference(module, [tuple(e.shape) for e in examples],
                               [kinds[e.dtype] for e in examples])
    # what the module's optimizer trains: its parameters (not its buffers, nor the constants
    # of its forward, which the export stores beside them)
    trained = {n for n, p in module.named_parameters() if p.requires_grad}
    return explain_onnx(proto, input_names, output_names, grouping=_grouping(names),
                        reference=reference, framework="pytorch",
                        name=type(module).__name__, trainable=trained.__contains__)


def export_module(module: Any, examples: tuple[Any, ...]) -> Any:
    """The module as ONNX, by ``torch.onnx.export`` (the ``torch.export`` path) in eval mode,
    without the optimiser (which folds BatchNorm into the layer before it and renames
    weights)."""
    import logging

    import torch

    was_training = module.training
    module.eval()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quiet = [logging.getLogger(n) for n in ("torch.onnx", "torch._dynamo", "torch.export",
                                                     "onnxscript", "torch.fx")]
            levels = [q.level for q in quiet]
            for q in quiet:
                q.setLevel(logging.ERROR)
            stdout, stderr = sys.stdout, sys.stderr
            try:
                sys.stdout = sys.stderr = io.StringIO()
                program = torch.onnx.export(module, examples, dynamo=True, optimize=False,
                                            verbose=False, external_data=False)
            finally:
                sys.stdout, sys.stderr = stdout, stderr
                for q, level in zip(quiet, levels):
                    q.setLevel(level)
    except Exception as exc:  # the exporter raises many kinds for a module it cannot trace
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"PyTorch could not export module {type(module).__name__}: "
                             f"{first[:200]}") from exc
    finally:
        module.train(was_training)
    return program.model_proto


def _module_kinds(module: Any) -> dict[str, str]:
    """Each submodule's path -> its class name."""
    return {name: type(sub).__name__ for name, sub in module.named_modules()}


def _grouping(kinds: Mapping[str, str]) -> Any:
    """A node -> (the module it was exported from, its class), from the exporter's name
    scopes (``['', 'fc1', 'linear']``); nodes of no module are grouped under their op."""

    def group(node: Any) -> tuple[str, str]:
        scopes = node.metadata.get("pkg.torch.onnx.name_scopes")
        path = ""
        if scopes:
            try:
                parts = [str(p) for p in ast.literal_eval(scopes)]
            except (ValueError, SyntaxError):
                parts = []
            names = [p for p in parts[1:-1] if p]
            # name_scopes give each module's attribute name; the path joins them.
            for k in range(len(names), 0, -1):
                candidate = ".".join(names[:k])
                if candidate in kinds:
                    path = candidate
                    break
            if not path and parts:
                return parts[-1], node.op_type
        if path:
            return path, kinds.get(path, node.op_type)
        return node.label, node.op_type

    return group


class TorchReference:
    """The module's own forward (in eval mode, no gradients): what ``evaluate`` is checked
    against for a PyTorch network."""

    name = "the module's forward"

    def __init__(self, module: Any, shapes: list[tuple[int, ...]],
                 types: list[Any] | None = None) -> None:
        self.module = module
        self.shapes = shapes
        self.types = types or [np.float32] * len(shapes)

    def __call__(self, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The outputs, one flattened row per sample (each sample run alone)."""
        import torch

        was_training = self.module.training
        self.module.eval()
        rows: list[list[np.ndarray]] = []
        try:
            with torch.no_grad():
                for i in range(int(arrays[0].shape[0])):
                    xs = [torch.as_tensor(_as_dtype(a[i], t)).reshape(s)
                          for a, s, t in zip(arrays, self.shapes, self.types)]
                    y = self.module(*xs)
                    ys = y if isinstance(y, (list, tuple)) else (y,)
                    rows.append([t.detach().numpy().reshape(-1) for t in ys])
        finally:
            self.module.train(was_training)
        return [np.stack([r[k] for r in rows]) for k in range(len(rows[0]))]


def max_difference(net: Any, samples: Sequence[np.ndarray]) -> float:
    """The largest |evaluate − reference| on a batch per input (float32)."""
    ours = net.evaluate(list(samples) if len(samples) > 1 else samples[0])
    theirs = net.reference(samples)
    ours = ours if isinstance(ours, list) else [ours]
    return max(float(np.max(np.abs(np.asarray(a, np.float64).reshape(-1) -
                                   np.asarray(b, np.float64).reshape(-1))))
               for a, b in zip(ours, theirs)) if ours else math.nan
