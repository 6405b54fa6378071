"""Converters of ONNX nodes: one function per operator, turning a node into symnet's ops.

A converter receives a :class:`NodeContext` (the node, its attributes, its inputs as tensors
or constants, their per-sample shapes), applies ops with :meth:`NodeContext.apply` and returns
the tensor(s) that are the node's outputs — or constants, when the node only computes shapes
and other numbers fixed by the file (``Shape``, ``Gather`` on a shape, ``Concat`` of constants:
folded here, with numpy, as an exporter's shape arithmetic). Every attribute a node carries is
read by its converter or the node is refused naming it; an operator without a converter is
refused naming the node and its op type.

Tensors keep a batch axis first, as everywhere in symnet. A model whose inputs have a first
axis of unknown size (or 1, with outputs to match) is read with that axis as the batch: its
ONNX axes are the per-sample axes plus one, and a node that mixes the samples (an axis 0
softmax, a reshape across the batch) makes the reading start again with the whole input as one
sample. :func:`build` lays the ops out as the :class:`~symnet.graph.Graph` every analysis reads,
one layer per node, or per module for a PyTorch export (``group``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..errors import UnsupportedLayerError
from ..functions import LayerEquation, canonical
from ..graph import Graph, LayerCall, LayerFormula, Node
from ..io.onnx import OnnxModel, OnnxNode
from ..ops import Constant, Identity, Op, Param, matrix_shape

__all__ = ["BatchTouched", "NodeContext", "build", "converter", "supported_operators"]

Converter = Callable[["NodeContext"], Any]
_CONVERTERS: dict[tuple[str, str], Converter] = {}

#: Operators refused on purpose, with the reason.
REFUSED = {
    "Loop": "control flow: the number of steps and the state depend on values at run time",
    "If": "control flow: which branch runs depends on a value at run time",
    "Scan": "control flow over a sequence (a subgraph per step)",
    "RandomNormal": "random numbers: no formula gives the same value twice",
    "RandomUniform": "random numbers: no formula gives the same value twice",
    "RandomNormalLike": "random numbers", "RandomUniformLike": "random numbers",
    "Multinomial": "random sampling", "Bernoulli": "random sampling",
    "TopK": "the indices it selects depend on the input's values (a data-dependent selection)",
    "NonZero": "its output's shape depends on the input's values",
    "NonMaxSuppression": "its output's shape depends on the input's values",
    "Unique": "its output's shape depends on the input's values",
    "StringNormalizer": "it maps strings, not numbers",
    "TreeEnsembleClassifier": "a tree ensemble is a lookup of thresholds, not a network",
    "TreeEnsembleRegressor": "a tree ensemble is a lookup of thresholds, not a network",
}


def converter(*op_types: str, domain: str = "") -> Callable[[Converter], Converter]:
    """Register a function as the converter of ONNX operators (of ``domain``)."""

    def register(fn: Converter) -> Converter:
        for op_type in op_types:
            key = (domain, op_type)
            if key in _CONVERTERS:
                raise RuntimeError(f"two converters for {op_type}")
            _CONVERTERS[key] = fn
        return fn

    return register


def _load() -> None:
    from . import arithmetic, conv, core, ml, recurrent, shape, tensors  # noqa: F401


def supported_operators() -> list[str]:
    """The ONNX operators symnet converts (``ai.onnx.ml`` ones prefixed ``ml:``), sorted."""
    _load()
    return sorted(("ml:" if d else "") + op for d, op in _CONVERTERS)


class BatchTouched(Exception):
    """A node acts across the batch axis: read the model again without one."""


@dataclass
class _Run:
    """A layer being laid out: consecutive nodes of one group (one ONNX node, or one PyTorch
    module)."""

    key: str
    kind: str
    index: int
    nodes: list[int] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    constants: dict[str, Any] = field(default_factory=dict)
    constant_symbols: list[Constant] = field(default_factory=list)
    symbols: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


#: ONNX element types of inputs read: float32, and integers as the indices of a lookup.
_INPUT_TYPES = {1: np.float32, 7: np.int64, 6: np.int32}
#: Nodes that move integers without computing with them.
_INTEGER_MOVES = ("Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose",
                  "Slice", "Gather")

#: The value a batch axis of unknown size takes in shape arithmetic folded here: a number no
#: real axis has, so that a reshape that keeps the batch is told from one that does not.
SENTINEL_BATCH = 9973


class Builder:
    """The state of one reading of a model: tensors, constants, ops, layers."""

    def __init__(self, model: OnnxModel, batch: bool, grouping: Callable[[OnnxNode], tuple[
            str, str]] | None = None, fixed: dict[str, int] | None = None,
                 trainable: Callable[[str], bool] | None = None) -> None:
        self.model = model
        self.batch = batch
        self.trainable = trainable or (lambda name: name in model.initializers)
        """Whether an array (by the name :meth:`NodeContext.source_name` gives) is one the
        framework trains: by default a stored initializer; a constant the graph computes (a
        ``Constant`` node, a folded expression) is not."""
        self.grouping = grouping
        self.constants: dict[str, np.ndarray] = {k: v for k, v in model.initializers.items()}
        self.recipes: dict[str, tuple[OnnxNode, int]] = {}
        """A folded constant -> the node (and output) that made it."""
        self.tensors: dict[str, str] = {}
        """An ONNX tensor name -> the graph tensor holding it."""
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.nodes: list[Node] = []
        self.runs: list[_Run] = []
        self.params: dict[tuple[str, int], Param] = {}
        self.batch_value = 1
        self.inputs: list[str] = []
        self.input_shapes: list[tuple[int, ...]] = []
        self.onnx_inputs: list[str] = []
        self.counter = 0
        self.fixed = fixed or {}
        self.labels: dict[str, Any] = {}
        """Tensors that are a classifier's label (see :mod:`.ml`): not computed, described."""
        self.dropped_outputs: dict[str, str] = {}
        """Graph outputs left out of the network, with why (a classifier's label)."""
        self.integer: set[str] = set()
        """Graph tensors that hold integers from an integer input (indices of a lookup)."""
        self.input_types: list[Any] = []
        """The numpy dtype of each input as the file declares it (float32, int64, int32)."""

    # --- the graph's inputs ---------------------------------------------------------------

    def add_inputs(self) -> None:
        many = len(self.model.inputs) > 1
        for i, (name, dims, elem) in enumerate(self.model.inputs):
            if elem not in _INPUT_TYPES:
                raise UnsupportedLayerError(
                    f"input {name!r} has ONNX element type {elem}; symnet reads float32 inputs "
                    "(type 1), and int64 or int32 inputs (types 7, 6) as the indices of a "
                    "lookup", layer=name)
            dims = tuple(self.fixed.get(d, d) if isinstance(d, str) else d for d in dims)
            if self.batch:
                first = dims[0]
                self.batch_value = 1 if first == 1 else SENTINEL_BATCH
                rest = dims[1:]
            else:
                rest = tuple(1 if k == 0 and not isinstance(d, int) else d
                             for k, d in enumerate(dims))
            bad = [d for d in rest if not isinstance(d, int)]
            if bad:
                raise UnsupportedLayerError(
                    f"input {name!r} has shape {tuple(d if d is not None else '?' for d in dims)}"
                    f": dimension {bad[0] or '?'!r} has no fixed size, and symnet needs fixed "
                    "shapes besides the batch (give it one with explain(..., "
                    f"dims={{{bad[0] or 'name'!r}: N}}))", layer=name)
            tensor = f"x^({i + 1})" if many else "x"
            self.tensors[name] = tensor
            self.shapes[tensor] = tuple(int(d) for d in rest)
            self.inputs.append(tensor)
            self.input_shapes.append(tuple(int(d) for d in rest))
            self.onnx_inputs.append(name)
            self.input_types.append(np.dtype(_INPUT_TYPES[elem]))
            if elem != 1:
                self.integer.add(tensor)

    # --- converting ---------------------------------------------------------------------

    def convert(self) -> None:
        _load()
        for node in self.model.nodes:
            # What no converter could ever compute is said first, before a node earlier in
            # the order is refused for a lesser reason (a shape symnet does not take yet).
            if node.op_type in REFUSED and node.domain in ("", "ai.onnx", "ai.onnx.ml"):
                raise unsupported(node)
        for node in self.model.nodes:
            ctx = NodeContext(self, node)
            if node.domain == "ai.onnx" and (("", node.op_type) in _CONVERTERS):
                key = ("", node.op_type)
            else:
                key = ("ai.onnx.ml" if node.domain == "ai.onnx.ml" else "", node.op_type)
            fn = _CONVERTERS.get(key)
            if fn is None:
                raise unsupported(node)
            integer = self._integer_result(ctx)
            result = fn(ctx)
            results = list(result) if isinstance(result, (list, tuple)) else [result]
            wanted = [o for o in node.outputs]
            for k, out in enumerate(wanted):
                if not out:
                    continue
                if k >= len(results) or results[k] is None:
                    if self._read_later(out):
                        raise ctx.reject(f"its output {k} is used, and symnet computes only "
                                         "its first output")
                    continue
                value = results[k]
                from .ml import Label

                if isinstance(value, Label):
                    self.labels[out] = value
                elif isinstance(value, (np.ndarray, np.generic)):
                    self.constants[out] = np.asarray(value)
                    self.recipes[out] = (node, k)
                else:
                    self.tensors[out] = value
                    if integer:
                        self.integer.add(value)
            ctx.check_attributes()

    def is_integer(self, tensor: str) -> bool:
        """Whether a graph tensor holds integers read from an integer input."""
        return tensor in self.integer

    def _integer_result(self, ctx: NodeContext) -> bool:
        """Whether the node's outputs hold integers from an integer input; a node that
        computes with such integers (other than moving them, casting them or looking rows up
        by them) is refused: ONNX Runtime would compute in integer arithmetic."""
        node = ctx.node
        read = [k for k, name in enumerate(node.inputs)
                if name in self.tensors and self.tensors[name] in self.integer]
        if not read:
            return False
        if node.op_type == "Gather" and read == [1]:
            return False  # a lookup: the rows of a float table
        if node.op_type == "Cast":
            from onnx import helper

            to = np.dtype(helper.tensor_dtype_to_np_dtype(int(node.attributes.get("to", 1))))
            return to.kind in "iu"
        if node.op_type in _INTEGER_MOVES and read == [0]:
            return True
        raise ctx.reject(f"input {read[0]} ({_shown(node.inputs[read[0]])}) holds integers "
                         "from the model's input; symnet uses integer inputs only as the "
                         "indices of a lookup (Gather of a stored table), moved, reshaped or "
                         "cast on the way")

    def _read_later(self, tensor: str) -> bool:
        return any(tensor in n.inputs for n in self.model.nodes) or any(
            tensor == name for name, _ in self.model.outputs)

    def run_for(self, node: OnnxNode) -> _Run:
        key, kind = self.grouping(node) if self.grouping else (node.label, node.op_type)
        if self.runs and self.runs[-1].key == key:
            return self.runs[-1]
        run = _Run(key, kind, len(self.runs) + 1)
        self.runs.append(run)
        return run

    def new_tensor(self) -> str:
        self.counter += 1
        return f"t{self.counter}"


def unsupported(node: OnnxNode) -> UnsupportedLayerError:
    from ..escape import terminal_text

    why = REFUSED.get(node.op_type, "")
    reason = f" ({why})" if why else ""
    return UnsupportedLayerError(
        f"node {terminal_text(node.label, 200)!r} of op type {terminal_text(node.op_type, 80)}"
        f"{' (domain ' + node.domain + ')' if node.domain else ''} has no exact converter"
        f"{reason}. Supported operators: {', '.join(supported_operators())}. symnet does not "
        "approximate or skip nodes.", layer=node.label, kind=node.op_type)


class NodeContext:
    """One node being converted."""

    def __init__(self, builder: Builder, node: OnnxNode) -> None:
        self.builder = builder
        self.node = node
        self.used: set[str] = set()
        self.run: _Run | None = None

    # --- attributes ---------------------------------------------------------------------

    @property
    def opset(self) -> int:
        return self.builder.model.opset

    def attr(self, name: str, default: Any = None) -> Any:
        """An attribute's value (``default`` when absent); reading it marks it honoured."""
        self.used.add(name)
        return self.node.attributes.get(name, default)

    def ignore(self, *names: str) -> None:
        """Attributes that do not change the inference result (a BatchNorm's momentum)."""
        self.used.update(names)

    def check_attributes(self) -> None:
        extra = sorted(set(self.node.attributes) - self.used)
        if extra:
            raise self.reject(f"attribute {extra[0]!r} = {_shown(self.node.attributes[extra[0]])}"
                              " is not supported")

    def reject(self, why: str) -> UnsupportedLayerError:
        from ..escape import terminal_text

        return UnsupportedLayerError(
            f"node {terminal_text(self.node.label, 200)!r} ({self.node.op_type}): {why}",
            layer=self.node.label, kind=self.node.op_type)

    # --- inputs -------------------------------------------------------------------------

    @property
    def count(self) -> int:
        """How many inputs are given (trailing optional ones left out do not count)."""
        inputs = list(self.node.inputs)
        while inputs and not inputs[-1]:
            inputs.pop()
        return len(inputs)

    def given(self, i: int) -> bool:
        return i < len(self.node.inputs) and bool(self.node.inputs[i])

    def is_const(self, i: int) -> bool:
        return self.given(i) and self.node.inputs[i] in self.builder.constants

    def const(self, i: int, what: str = "") -> np.ndarray:
        """Input ``i`` as the constant array it is (shape arithmetic folded), or a refusal:
        its value would depend on the input's values."""
        if not self.given(i):
            raise self.reject(f"input {i} ({what or 'a constant'}) is missing")
        name = self.node.inputs[i]
        if name not in self.builder.constants:
            raise self.reject(f"input {i} ({what or name!r}) is computed from the model's input "
                              "(a data-dependent value); symnet needs it fixed by the file")
        return self.builder.constants[name]

    def tensor(self, i: int) -> str:
        """Input ``i`` as a graph tensor (a value that depends on the model's input)."""
        if not self.given(i):
            raise self.reject(f"input {i} is missing")
        name = self.node.inputs[i]
        if name not in self.builder.tensors:
            raise self.reject(f"input {i} ({name!r}) is a constant where symnet expects a "
                              "value computed from the model's input")
        return self.builder.tensors[name]

    def shape(self, tensor: str) -> tuple[int, ...]:
        """A graph tensor's per-sample shape."""
        return self.builder.shapes[tensor]

    def full_shape(self, tensor: str) -> tuple[int, ...]:
        """A graph tensor's shape as ONNX sees it (the batch axis first, when there is one)."""
        shape = self.builder.shapes[tensor]
        return (self.builder.batch_value, *shape) if self.builder.batch else shape

    def rank(self, tensor: str) -> int:
        return len(self.full_shape(tensor))

    def axis(self, axis: int, rank: int, what: str = "axis") -> int:
        """An ONNX axis of a tensor of ``rank`` axes as a per-sample axis; the batch axis
        itself starts the reading again without one."""
        if not -rank <= int(axis) < rank:
            raise self.reject(f"{what} {axis} is out of range for a tensor of rank {rank}")
        a = int(axis) % rank
        if self.builder.batch:
            if a == 0:
                raise BatchTouched(f"node {self.node.label!r} ({self.node.op_type}) acts "
                                   f"along the batch axis ({what} {axis})")
            return a - 1
        return a

    # --- results ------------------------------------------------------------------------

    def apply(self, op: Op, *tensors: str) -> str:
        """Apply ``op`` to graph tensors; returns the new tensor."""
        b = self.builder
        run = self.layer()
        shape = tuple(op.output_shape(*[b.shapes[t] for t in tensors]))
        out = b.new_tensor()
        b.shapes[out] = shape
        run.nodes.append(len(b.nodes))
        b.nodes.append(Node(op, tuple(tensors), out, run.key))
        return out

    def layer(self) -> _Run:
        if self.run is None:
            self.run = self.builder.run_for(self.node)
        return self.run

    def param(self, i: int | None, symbol: str | None, meaning: str, *,
              value: np.ndarray | None = None, name: str | None = None,
              trainable: bool = True) -> Param:
        """A constant input (or ``value``) as a parameter of this layer: named as the file
        names it (a constant the exporter derived from one initializer by moving its entries
        keeps that initializer's name), its symbol ``{symbol}_{layer}``."""
        b = self.builder
        if value is None:
            assert i is not None
            value = self.const(i)
            name = name or self.source_name(self.node.inputs[i])
        value = np.asarray(value)
        if value.dtype != np.float32:
            if value.dtype.kind == "f" and value.dtype != np.float32:
                raise self.reject(f"parameter {name!r} has dtype {value.dtype}; symnet "
                                  "reproduces float32 models")
            value = value.astype(np.float32)
        run = self.layer()
        key = (name or "", id(value))
        if key in b.params and b.params[key] in run.params:
            return b.params[key]
        sym = None
        if symbol is not None:
            base = f"{symbol}_{run.index}"
            text, n = base, 1
            while text in run.symbols:
                n += 1
                text = f"{base}^({n})"
            run.symbols.add(text)
            sym = sp.MatrixSymbol(text, *matrix_shape(tuple(value.shape)))
        param = Param(name or "", sym, value, trainable and b.trainable(name or ""), meaning)
        b.params[key] = param
        run.params.append(param)
        return param

    def constant(self, key: str, value: float, symbol: str) -> Constant:
        """A hyperparameter the formula shows as a symbol (``epsilon_2``)."""
        run = self.layer()
        constant = Constant(key, sp.Symbol(f"{symbol}_{run.index}", positive=True), float(value))
        run.constant_symbols.append(constant)
        run.constants[key] = float(value)
        return constant

    def note(self, text: str) -> None:
        self.layer().notes.append(text)

    def source_name(self, tensor: str) -> str:
        """The initializer a constant was derived from by moving entries only (a transpose,
        a slice, a reshape...), else the tensor's own name."""
        sources = self._sources(tensor)
        return sources[0] if len(sources) == 1 else tensor

    def _sources(self, tensor: str, depth: int = 0) -> list[str]:
        b = self.builder
        if tensor in b.model.initializers:
            return [tensor]
        recipe = b.recipes.get(tensor)
        if recipe is None or depth > 50:
            return []
        node = recipe[0]
        if node.op_type not in ("Transpose", "Reshape", "Slice", "Concat", "Unsqueeze",
                                "Squeeze", "Identity", "Cast", "Flatten", "Expand", "Tile"):
            return []
        found: list[str] = []
        for k, name in enumerate(node.inputs):
            if name and (k == 0 or node.op_type == "Concat"):
                for s in self._sources(name, depth + 1):
                    if s not in found:
                        found.append(s)
        return found

    def recipe(self, i: int) -> OnnxNode | None:
        """The node that folded input ``i``, when it is a folded constant."""
        found = self.builder.recipes.get(self.node.inputs[i]) if self.given(i) else None
        return None if found is None else found[0]


def _shown(value: Any) -> str:
    text = repr(value.tolist() if isinstance(value, np.ndarray) else value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- the graph ---------------------------------------------------------------------------

def build(model: OnnxModel, features: Callable[[int], tuple[sp.Symbol, ...]],
          targets: Callable[[int], tuple[sp.Symbol, ...]], *,
          grouping: Callable[[OnnxNode], tuple[str, str]] | None = None,
          dims: dict[str, int] | None = None,
          trainable: Callable[[str], bool] | None = None) -> tuple[Graph, Builder]:
    """The graph of an ONNX model (``features``/``targets``: the input and output symbols for
    a count of numbers; ``grouping``: a node -> (layer name, kind), default one layer per
    node; ``trainable``: which arrays are trained, by name, default the initializers)."""
    eligible = _batch_eligible(model)
    reasons = []
    for batch in ((True, False) if eligible else (False,)):
        builder = Builder(model, batch, grouping, dims, trainable)
        try:
            builder.add_inputs()
            builder.convert()
            return _graph(builder, features, targets), builder
        except BatchTouched as exc:
            reasons.append(str(exc))
            continue
    raise UnsupportedLayerError(f"{model.name}: {reasons[-1]}")


def _batch_eligible(model: OnnxModel) -> bool:
    """Whether the inputs' first axis can be the batch: of unknown size or 1 in every input,
    with every output's first axis likewise."""
    if not model.inputs:
        return False
    for _, dims, _ in model.inputs:
        if len(dims) < 1 or (dims[0] != 1 and isinstance(dims[0], int)):
            return False
    for _, dims in model.outputs:
        if dims and isinstance(dims[0], str) and dims[0].startswith("<"):
            continue
        if len(dims) < 1 or (dims[0] != 1 and isinstance(dims[0], int)):
            return False
    return True


def _graph(b: Builder, features: Callable[[int], tuple[sp.Symbol, ...]],
           targets: Callable[[int], tuple[sp.Symbol, ...]]) -> Graph:
    outputs = []
    for name, _ in b.model.outputs:
        if name in b.labels:
            b.dropped_outputs[name] = b.labels[name].describe()
            continue
        if name in b.dropped_outputs:
            continue
        if name not in b.tensors:
            if name in b.constants:
                raise UnsupportedLayerError(f"output {name!r} is a constant: it does not depend "
                                            "on the input", layer=name)
            continue
        outputs.append(b.tensors[name])
    if not outputs:
        raise UnsupportedLayerError(f"{b.model.name}: no output depends on the input")
    # Tensors read outside their run (or returned) are the runs' outputs.
    run_of = {}
    for run in b.runs:
        for k in run.nodes:
            run_of[b.nodes[k].output] = run.index
    exported: dict[int, list[str]] = {run.index: [] for run in b.runs}
    for node in b.nodes:
        here = run_of.get(node.output)
        for t in node.inputs:
            r = run_of.get(t)
            if r is not None and r != here and t not in exported[r]:
                exported[r].append(t)
    for t in outputs:
        r = run_of.get(t)
        if r is not None and t not in exported[r]:
            exported[r].append(t)
    # An output that is an input (or read twice) gets its own identity in the last run.
    final: list[str] = []
    for t in outputs:
        if t in b.inputs or t in final:
            raise UnsupportedLayerError(f"output {t!r} is an input of the model or another "
                                        "output; symnet needs each output computed")
        final.append(t)
    rename: dict[str, str] = {t: t for t in b.inputs}
    symbols: dict[str, sp.MatrixSymbol] = {t: sp.MatrixSymbol(t, *matrix_shape(b.shapes[t]))
                                           for t in b.inputs}
    only = final[0] if len(final) == 1 else None
    names_used: dict[str, int] = {}
    layers: list[LayerFormula] = []
    calls: list[LayerCall] = []
    new_nodes: list[Node] = []
    shapes: dict[str, tuple[int, ...]] = {t: b.shapes[t] for t in b.inputs}
    for run in b.runs:
        outs = exported[run.index]
        if not outs:
            continue  # nothing of it reaches an output
        stem = "y" if outs == [only] else f"h_{run.index}"
        out_names = [stem] + [f"{stem}^({chr(ord('a') + i)})" for i in range(1, len(outs))]
        local: dict[str, str] = {}
        for j, k in enumerate(run.nodes):
            t = b.nodes[k].output
            local[t] = out_names[outs.index(t)] if t in outs else f"{stem}~{j}"
        run_inputs: list[str] = []
        for k in run.nodes:
            for t in b.nodes[k].inputs:
                if t not in local and t not in run_inputs:
                    run_inputs.append(t)
        in_names = [rename[t] for t in run_inputs]
        out_symbols = tuple(sp.MatrixSymbol(n, *matrix_shape(b.shapes[t]))
                            for n, t in zip(out_names, outs))
        # The layer's formula: its ops over its input symbols.
        values: dict[str, Any] = {t: symbols[rename[t]] for t in run_inputs}
        first = len(new_nodes)
        from ..graph import Step

        position = {t: i for i, t in enumerate(run_inputs)}
        steps = []
        for j, k in enumerate(run.nodes):
            node = b.nodes[k]
            values[node.output] = node.op.formula(*[values[t] for t in node.inputs])
            steps.append(Step(node.op, tuple(position[t] for t in node.inputs)))
            position[node.output] = len(run_inputs) + j
            new_nodes.append(Node(node.op, tuple(rename.get(t, local.get(t)) for t in
                                                 node.inputs), local[node.output], ""))
            shapes[local[node.output]] = b.shapes[node.output]
        if len(outs) == 1:
            formula = LayerEquation(out_symbols[0], canonical(values[outs[0]]))
        else:
            formula = sp.Eq(sp.Tuple(*out_symbols), sp.Tuple(*[canonical(values[t])
                                                               for t in outs]), evaluate=False)
        name = run.key or f"node_{run.index}"
        if name in names_used:
            names_used[name] += 1
            name = f"{name} ({names_used[name]})"
        else:
            names_used[name] = 1
        new_nodes[first:] = [Node(n.op, n.inputs, n.output, name) for n in new_nodes[first:]]
        shape_in = [b.shapes[t] for t in run_inputs]
        layer = LayerFormula(
            name=name, kind=run.kind, formula=formula, params=tuple(run.params),
            constants=dict(run.constants),
            input_shape=shape_in[0] if len(shape_in) == 1 else shape_in,
            output_shape=b.shapes[outs[0]], note=" ".join(run.notes),
            input_symbols=tuple(symbols[rename[t]] for t in run_inputs),
            output_symbols=out_symbols, steps=tuple(steps),
            outputs=tuple(position[t] for t in outs),
            constant_symbols=tuple(run.constant_symbols))
        layers.append(layer)
        calls.append(LayerCall(layer, tuple(in_names), tuple(out_names),
                               tuple(range(first, len(new_nodes)))))
        for n, t, s in zip(out_names, outs, out_symbols):
            rename[t] = n
            symbols[n] = s
    out_tensors = tuple(rename[t] for t in final)
    n_in = sum(math.prod(s) for s in b.input_shapes)
    n_out = sum(math.prod(shapes[t]) for t in out_tensors)
    return Graph(layers=tuple(layers), calls=tuple(calls), nodes=tuple(new_nodes),
                 inputs=tuple(b.inputs), outputs=out_tensors, shapes=shapes,
                 symbols=symbols, features=features(n_in), targets=targets(n_out))


def identity(ctx: NodeContext, tensor: str, note: str = "") -> str:
    return ctx.apply(Identity(note), tensor)


def per_sample(ctx: NodeContext, shape: Sequence[int], what: str) -> tuple[int, ...]:
    """A full ONNX shape (with the batch axis, when there is one) as a per-sample shape; a
    shape that does not keep the batch axis in front starts the reading again."""
    shape = tuple(int(d) for d in shape)
    if not ctx.builder.batch:
        return shape
    if not shape or shape[0] != ctx.builder.batch_value:
        raise BatchTouched(f"node {ctx.node.label!r} ({ctx.node.op_type}): {what} {shape} does "
                           "not keep the batch axis first")
    return shape[1:]
