"""The only module that reads ONNX models: a file (or an ``onnx.ModelProto``) -> a checked
:class:`OnnxModel` record, nothing executed.

What is checked before anything uses the model: the file's size, the protobuf's nesting (the
parser's own limit) and size, the ONNX checker, the opset (9 to the newest ``onnx`` knows), the
domains of the nodes (``ai.onnx`` and ``ai.onnx.ml``; a custom domain is refused naming the
node), the graph's order (a cycle or a tensor read before it is written is refused), every
declared dimension and every initializer's size against limits, and external data: only a
plain file name beside the model, inside the file's bounds, of exactly the declared size.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import InvalidInputError, ModelLoadError, UnsupportedLayerError

__all__ = ["MAX_BYTES", "MAX_ELEMENTS", "OnnxModel", "OnnxNode", "import_onnx", "read_onnx"]

#: The largest ``.onnx`` file read (protobuf itself stops at 2 GiB).
MAX_BYTES = 512 * 2**20
#: The most numbers all initializers and external data may hold together, and one tensor.
MAX_ELEMENTS = 200_000_000
#: The most entries one declared input or output may have.
MAX_TENSOR = 50_000_000
#: The most nodes a graph may have.
MAX_NODES = 100_000
#: The oldest default-domain opset read (older files use semantics not implemented here).
MIN_OPSET = 9
#: Domains whose operators have converters; any other is refused naming the node.
DOMAINS = ("", "ai.onnx", "ai.onnx.ml")


def import_onnx() -> Any:
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ModelLoadError("reading ONNX models needs the onnx package (pip install onnx)"
                             ) from exc
    return onnx


@dataclass(frozen=True)
class OnnxNode:
    """One node of the graph as the file states it."""

    index: int
    name: str
    op_type: str
    domain: str
    inputs: tuple[str, ...]
    """Tensor names; ``""`` for an optional input left out."""
    outputs: tuple[str, ...]
    attributes: Mapping[str, Any] = field(repr=False)
    """Attribute values: numbers, strings, lists, numpy arrays for tensors; a subgraph is the
    string ``"<graph>"`` (control flow is refused)."""
    metadata: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        """How messages name the node: its name, else its first output."""
        return self.name or (f"output {self.outputs[0]}" if self.outputs else f"#{self.index}")


@dataclass(frozen=True)
class OnnxModel:
    """A checked ONNX model: nodes in execution order, initializers by name, the graph's
    inputs and outputs with their declared dimensions (an ``int``, a symbolic name, or
    ``None``)."""

    name: str
    nodes: tuple[OnnxNode, ...]
    initializers: Mapping[str, np.ndarray] = field(repr=False)
    inputs: tuple[tuple[str, tuple[Any, ...], int], ...]
    """(name, dims, element type) of each input that is not an initializer."""
    outputs: tuple[tuple[str, tuple[Any, ...]], ...]
    opset: int
    ml_opset: int | None
    producer: str
    proto: Any = field(repr=False)


def read_onnx(source: Any) -> OnnxModel:
    """Read and check an ONNX file (path) or an ``onnx.ModelProto``."""
    onnx = import_onnx()
    base: Path | None = None
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        where = str(path)
        model = _parse_file(onnx, path)
        base = path.resolve().parent
        name = path.stem
    elif isinstance(source, onnx.ModelProto):
        model, where = source, "the ONNX model"
        name = source.graph.name or "onnx_model"
    else:
        raise InvalidInputError(f"expected an onnx.ModelProto or a path to a .onnx file, "
                                f"received {type(source).__name__}")
    return _checked(onnx, model, where, base, name)


def _parse_file(onnx: Any, path: Path) -> Any:
    if not path.exists():
        raise ModelLoadError(f"cannot read model file {str(path)!r}: no such file")
    if path.is_dir():
        raise ModelLoadError(f"cannot read model file {str(path)!r}: it is a directory; expected "
                             "a .onnx file")
    size = path.stat().st_size
    if size == 0:
        raise ModelLoadError(f"cannot read model file {str(path)!r}: the file is empty")
    if size > MAX_BYTES:
        raise ModelLoadError(f"cannot read model file {str(path)!r}: {size:,} bytes, over the "
                             f"limit of {MAX_BYTES:,}")
    data = path.read_bytes()
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as exc:  # protobuf's DecodeError, RecursionError on deep nesting...
        raise ModelLoadError(f"cannot read model file {str(path)!r}: not a valid ONNX protobuf "
                             f"({type(exc).__name__}: {str(exc)[:160]})") from exc
    if not model.HasField("graph"):
        raise ModelLoadError(f"cannot read model file {str(path)!r}: no ONNX graph inside")
    return model


def _checked(onnx: Any, model: Any, where: str, base: Path | None, name: str) -> OnnxModel:
    graph = model.graph
    if len(graph.node) > MAX_NODES:
        raise ModelLoadError(f"{where}: {len(graph.node):,} nodes, over the limit of "
                             f"{MAX_NODES:,}")
    opsets = {o.domain: int(o.version) for o in model.opset_import}
    opset = opsets.get("", opsets.get("ai.onnx"))
    newest = onnx.defs.onnx_opset_version()
    if opset is None:
        raise ModelLoadError(f"{where}: imports no default-domain opset")
    if not MIN_OPSET <= opset <= newest:
        raise ModelLoadError(f"{where}: opset {opset} is not supported; symnet reads opsets "
                             f"{MIN_OPSET} to {newest} (the newest this onnx {onnx.__version__} "
                             "knows)")
    for node in graph.node:
        if node.domain not in DOMAINS:
            raise UnsupportedLayerError(
                f"node {node.name or node.output[0]!r} (op type {node.op_type}) is in the custom "
                f"domain {node.domain!r}: only the standard ai.onnx and ai.onnx.ml operators "
                "have exact converters", layer=node.name or None, kind=node.op_type)
    initializers = _initializers(graph, where, base)
    try:
        # The checker reads the graph only: external data was read above, by name and bounds.
        onnx.checker.check_model(_without_data(onnx, model), full_check=False)
    except Exception as exc:
        said = str(exc).strip()
        first = said.splitlines()[0][:200] if said else type(exc).__name__
        raise ModelLoadError(f"{where}: the ONNX checker refuses the model: {first}") from exc
    nodes = _ordered(onnx, graph, where, set(initializers))
    known = set(initializers)
    inputs = []
    for value in graph.input:
        if value.name in known:
            continue
        inputs.append((value.name, _dims(value, where), int(value.type.tensor_type.elem_type)))
    outputs = tuple((value.name, _dims(value, where) if value.type.WhichOneof("value") ==
                     "tensor_type" else ("<" + str(value.type.WhichOneof("value")) + ">",))
                    for value in graph.output)
    return OnnxModel(name=name, nodes=nodes, initializers=MappingProxyType(initializers),
                     inputs=tuple(inputs), outputs=outputs, opset=opset,
                     ml_opset=opsets.get("ai.onnx.ml"), producer=model.producer_name,
                     proto=model)


def _without_data(onnx: Any, model: Any) -> Any:
    """A copy of the model for the checker, tensors in external data made graph inputs (the
    checker would read them by path; they were read above, by name and within bounds)."""
    external = [t for t in model.graph.initializer
                if t.data_location == onnx.TensorProto.EXTERNAL]
    if not external:
        return model
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    kept = [t for t in copy.graph.initializer if t.data_location != onnx.TensorProto.EXTERNAL]
    del copy.graph.initializer[:]
    copy.graph.initializer.extend(kept)
    names = {v.name for v in copy.graph.input}
    for tensor in external:
        if tensor.name not in names:
            copy.graph.input.append(onnx.helper.make_tensor_value_info(
                tensor.name, tensor.data_type, list(tensor.dims)))
    return copy


def _dims(value: Any, where: str) -> tuple[Any, ...]:
    kind = value.type.WhichOneof("value")
    if kind != "tensor_type":
        raise UnsupportedLayerError(f"{where}: graph input/output {value.name!r} is a {kind}, "
                                    "not a tensor", layer=value.name)
    if not value.type.tensor_type.HasField("shape"):
        return ()
    dims: list[Any] = []
    for d in value.type.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            if d.dim_value < 0:
                raise ModelLoadError(f"{where}: {value.name!r} declares dimension {d.dim_value}")
            dims.append(int(d.dim_value))
        else:
            dims.append(d.dim_param or None)
    fixed = [d for d in dims if isinstance(d, int)]
    if fixed and math.prod(fixed) > MAX_TENSOR:
        raise ModelLoadError(f"{where}: {value.name!r} declares {math.prod(fixed):,} entries "
                             f"{tuple(dims)}, over the limit of {MAX_TENSOR:,}")
    return tuple(dims)


def _initializers(graph: Any, where: str, base: Path | None) -> dict[str, np.ndarray]:
    from onnx import TensorProto, numpy_helper

    out: dict[str, np.ndarray] = {}
    total = 0
    for tensor in graph.initializer:
        count = math.prod(int(d) for d in tensor.dims)
        if any(int(d) < 0 for d in tensor.dims) or count > MAX_ELEMENTS:
            raise ModelLoadError(f"{where}: initializer {tensor.name!r} declares shape "
                                 f"{tuple(tensor.dims)}, over the limit of {MAX_ELEMENTS:,} "
                                 "entries")
        total += count
        if total > MAX_ELEMENTS:
            raise ModelLoadError(f"{where}: the initializers hold over {MAX_ELEMENTS:,} entries")
        if tensor.data_location == TensorProto.EXTERNAL:
            array = _external(tensor, where, base)
        else:
            try:
                array = numpy_helper.to_array(tensor)
            except Exception as exc:
                raise ModelLoadError(f"{where}: initializer {tensor.name!r} cannot be read "
                                     f"({type(exc).__name__}: {str(exc)[:120]})") from exc
        if tuple(array.shape) != tuple(int(d) for d in tensor.dims):
            raise ModelLoadError(f"{where}: initializer {tensor.name!r} holds {array.size} "
                                 f"values for its declared shape {tuple(tensor.dims)}")
        if tensor.name in out:
            raise ModelLoadError(f"{where}: two initializers named {tensor.name!r}")
        array.setflags(write=False)
        out[tensor.name] = array
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type == attribute.TENSOR and attribute.t.data_location == \
                    TensorProto.EXTERNAL:
                raise ModelLoadError(f"{where}: node {node.name!r} holds a constant in external "
                                     "data; symnet reads external data of initializers only")
    return out


_DTYPES = {1: np.float32, 11: np.float64, 6: np.int32, 7: np.int64, 10: np.float16}


def _external(tensor: Any, where: str, base: Path | None) -> np.ndarray:
    """An initializer's external data: a plain file name beside the model, read within the
    file's bounds."""
    info = {e.key: e.value for e in tensor.external_data}
    location = info.get("location", "")
    shown = location[:80]
    if base is None:
        raise ModelLoadError(f"{where}: initializer {tensor.name!r} is stored in external data "
                             f"({shown!r}); pass the model's file path so that it is read from "
                             "beside the model")
    plain = (location and location == os.path.basename(location) and "/" not in location
             and "\\" not in location and location not in (".", "..") and "\x00" not in location
             and not os.path.isabs(location) and ":" not in location)
    if not plain:
        raise ModelLoadError(f"{where}: initializer {tensor.name!r} names external data "
                             f"{shown!r}; only a plain file name beside the model is read (no "
                             "folders, no '..', no absolute paths)")
    target = base / location
    if target.is_symlink() or not target.is_file() or target.resolve().parent != base:
        raise ModelLoadError(f"{where}: external data {shown!r} of initializer {tensor.name!r} "
                             "is not a regular file beside the model")
    dtype = _DTYPES.get(int(tensor.data_type))
    if dtype is None:
        raise ModelLoadError(f"{where}: initializer {tensor.name!r} has data type "
                             f"{tensor.data_type}, which symnet does not read from external data")
    count = math.prod(int(d) for d in tensor.dims)
    expected = count * np.dtype(dtype).itemsize
    try:
        offset = int(info.get("offset", 0))
        length = int(info.get("length", expected))
    except ValueError as exc:
        raise ModelLoadError(f"{where}: initializer {tensor.name!r}: bad external-data offset "
                             "or length") from exc
    size = target.stat().st_size
    if offset < 0 or length != expected or offset + length > size:
        raise ModelLoadError(f"{where}: external data of initializer {tensor.name!r} does not "
                             f"fit: offset {offset}, length {length}, {expected} bytes expected, "
                             f"the file {shown!r} has {size}")
    with open(target, "rb") as handle:
        handle.seek(offset)
        data = handle.read(length)
    return np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype).reshape(
        tuple(int(d) for d in tensor.dims))


def _attributes(onnx: Any, node: Any) -> dict[str, Any]:
    from onnx import helper, numpy_helper

    out: dict[str, Any] = {}
    for attribute in node.attribute:
        if attribute.type in (attribute.GRAPH, attribute.GRAPHS):
            out[attribute.name] = "<graph>"
            continue
        value = helper.get_attribute_value(attribute)
        if isinstance(value, onnx.TensorProto):
            value = numpy_helper.to_array(value)
        elif isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif isinstance(value, list):
            value = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
        out[attribute.name] = value
    return out


def _ordered(onnx: Any, graph: Any, where: str, initializers: set[str]
             ) -> tuple[OnnxNode, ...]:
    """The nodes in an order where each reads only what is written before it (Kahn's
    algorithm, stable: the file's order where it is valid); a cycle or a tensor nobody
    writes is refused naming the node."""
    available = set(initializers) | {v.name for v in graph.input} | {""}
    writer: dict[str, int] = {}
    for i, node in enumerate(graph.node):
        for out in node.output:
            if out and (out in writer or out in available):
                raise ModelLoadError(f"{where}: tensor {out!r} is written twice (by node "
                                     f"{node.name or i!r})")
            if out:
                writer[out] = i
    needs = []
    for i, node in enumerate(graph.node):
        missing = [t for t in node.input if t not in available and t not in writer]
        if missing:
            raise ModelLoadError(f"{where}: node {node.name or i!r} ({node.op_type}) reads "
                                 f"{missing[0]!r}, which no node writes")
        needs.append({writer[t] for t in node.input if t in writer})
    done: list[int] = []
    placed: set[int] = set()
    pending = list(range(len(graph.node)))
    while pending:
        progress = [i for i in pending if needs[i] <= placed]
        if not progress:
            stuck = graph.node[pending[0]]
            raise ModelLoadError(f"{where}: the graph has a cycle through node "
                                 f"{stuck.name or stuck.output[0]!r} ({stuck.op_type})")
        chosen = set(progress)
        done.extend(progress)
        placed |= chosen
        pending = [i for i in pending if i not in chosen]
    nodes = []
    for i in done:
        node = graph.node[i]
        nodes.append(OnnxNode(
            index=i, name=node.name, op_type=node.op_type, domain=node.domain,
            inputs=tuple(node.input), outputs=tuple(node.output),
            attributes=MappingProxyType(_attributes(onnx, node)),
            metadata=MappingProxyType({p.key: p.value for p in node.metadata_props})))
    return tuple(nodes)
