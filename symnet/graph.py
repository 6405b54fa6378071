"""The network as a typed graph of ops: what every analysis reads.

- :class:`LayerFormula`: one Keras layer as mathematics (its formula, parameters, shapes,
  counts) and its *program*: the few ops its converter made, as :class:`Step`\\ s.
- :class:`Node`: one op applied to named tensors; :class:`LayerCall`: the nodes of one call of a
  layer (a shared layer is called several times).
- :class:`Graph`: the nodes in execution order, every tensor's per-sample shape, the input and
  output tensors, and the symbols that name them. ``run`` computes every tensor on a backend.

Tensors are named after their symbols: ``x`` (or ``x^(1)``, ``x^(2)``...), each layer call's
output ``h_1``, ``h_2``... (``y`` for the only output), and ``h_1.0``, ``h_1.1``... for the values
between a layer's ops (the pre-activation ``x W + b`` of a Dense layer, for instance).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from .display import Displayed
from .errors import InvalidInputError, UnsupportedLayerError
from .ops import Constant, Identity, Op, Param

if TYPE_CHECKING:
    from .backends import Backend

__all__ = ["Graph", "LayerCall", "LayerFormula", "Node", "Step", "run_nodes"]


@dataclass(frozen=True)
class Step:
    """One op of a layer's program; ``inputs`` index the layer's inputs, then earlier steps."""

    op: Op
    inputs: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class LayerFormula(Displayed):
    """A Keras layer as mathematics: its formula, its parameters, its shapes and counts.

    ``formula`` is a SymPy ``Eq`` whose left side is the layer's output symbol and whose right
    side is written over the input symbol(s), the parameter symbols and the constants' symbols
    (BatchNorm's ε). ``steps`` are the ops that compute it.
    """

    name: str
    kind: str
    formula: sp.Eq
    params: tuple[Param, ...]
    constants: Mapping[str, Any]
    """The layer's hyperparameters as its config gives them (``epsilon``, ``activation``...)."""
    input_shape: tuple[int, ...] | list[tuple[int, ...]]
    output_shape: tuple[int, ...]
    note: str
    input_symbols: tuple[sp.MatrixSymbol, ...] = field(repr=False)
    output_symbols: tuple[sp.MatrixSymbol, ...] = field(repr=False)
    steps: tuple[Step, ...] = field(default=(), repr=False)
    outputs: tuple[int, ...] = (0,)
    """Which values are the layer's outputs (indices as in :attr:`Step.inputs`)."""
    constant_symbols: tuple[Constant, ...] = field(default=(), repr=False)
    is_input: bool = False
    """An ``InputLayer``: no op, its formula names the input's entries."""
    definitions: tuple[Any, ...] = field(default=(), repr=False)
    """Equations that define the notation of the formula (what ``⋆`` computes, a recurrence's
    step), for reports."""
    training_config: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """What of the layer's Keras config acts only while training, as plain data: regularizers,
    constraints, BatchNorm's momentum and renorm, dropout rates (a wrapped layer's under its
    key); read by one training step."""

    @property
    def output_symbol(self) -> sp.MatrixSymbol:
        return self.output_symbols[0]

    @property
    def ops(self) -> tuple[Op, ...]:
        return tuple(step.op for step in self.steps)

    @property
    def parameters(self) -> Mapping[str, np.ndarray]:
        """Keras weight name -> numpy array, e.g. ``kernel`` of shape (in, out)."""
        return MappingProxyType({p.name: p.value for p in self.params})

    @property
    def param_count(self) -> int:
        return sum(p.size for p in self.params if p.weight)

    @property
    def trainable_count(self) -> int:
        return sum(p.size for p in self.params if p.weight and p.trainable)

    @property
    def non_trainable_count(self) -> int:
        return sum(p.size for p in self.params if p.weight and not p.trainable)

    @property
    def piecewise_linear(self) -> bool:
        """Every op is affine or piecewise linear in its input."""
        return all(op.piecewise_linear for op in self.ops)

    def symbol_values(self) -> dict[Any, Any]:
        """Each parameter symbol -> the matrix of its values, each constant's symbol -> its
        exact value: what to substitute to make the formula numeric."""
        out: dict[Any, Any] = {p.symbol: p.matrix() for p in self.params if p.symbol is not None}
        out.update({c.symbol: c.exact for c in self.constant_symbols})
        return out


@dataclass(frozen=True, eq=False)
class Node:
    """One op applied: its input tensors, its output tensor, and the layer it belongs to."""

    op: Op
    inputs: tuple[str, ...]
    output: str
    layer: str


@dataclass(frozen=True, eq=False)
class LayerCall:
    """One call of a layer: the tensors it reads and writes, and its nodes."""

    layer: LayerFormula
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    nodes: tuple[int, ...]
    """Indices into :attr:`Graph.nodes`."""

    @property
    def output(self) -> str:
        return self.outputs[0]


def run_nodes(nodes: Sequence[Node], inputs: Sequence[str], backend: Backend,
              arrays: Sequence[Any]) -> dict[str, Any]:
    """Every tensor's value: ``nodes`` run in order on ``backend`` from the input arrays."""
    values = {name: backend.inputs(a) for name, a in zip(inputs, arrays)}
    # Overflow to inf and NaN propagate as in Keras; numpy's warnings about them are not news.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for node in nodes:
            backend.layer = node.layer
            values[node.output] = node.op.forward(backend, *[values[k] for k in node.inputs])
    return values


@dataclass(frozen=True, eq=False)
class Graph:
    """The network: ops on named tensors, in execution order."""

    layers: tuple[LayerFormula, ...]
    """One per Keras layer, in ``model.layers`` order."""
    calls: tuple[LayerCall, ...]
    """The layer calls in execution order (an ``InputLayer`` is not called)."""
    nodes: tuple[Node, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    shapes: Mapping[str, tuple[int, ...]]
    """The per-sample shape (no batch axis) of every tensor."""
    symbols: Mapping[str, sp.MatrixSymbol]
    """The matrix symbol of each input tensor and each layer call's output."""
    features: tuple[sp.Symbol, ...]
    """One symbol per input number, in row-major order across the inputs."""
    targets: tuple[sp.Symbol, ...]
    """One symbol per output number."""

    # --- shapes and structure -----------------------------------------------------------

    @property
    def input_shapes(self) -> tuple[tuple[int, ...], ...]:
        return tuple(self.shapes[k] for k in self.inputs)

    @property
    def output_shapes(self) -> tuple[tuple[int, ...], ...]:
        return tuple(self.shapes[k] for k in self.outputs)

    def producer(self, tensor: str) -> Node | None:
        """The node that writes ``tensor`` (``None`` for an input)."""
        for node in self.nodes:
            if node.output == tensor:
                return node
        return None

    def readers(self, tensor: str) -> list[Node]:
        return [node for node in self.nodes if tensor in node.inputs]

    def call_of(self, tensor: str) -> LayerCall | None:
        """The layer call that outputs ``tensor``."""
        for call in self.calls:
            if tensor in call.outputs:
                return call
        return None

    @property
    def piecewise_linear(self) -> bool:
        """Whether every op is affine or piecewise linear in its input."""
        return all(node.op.piecewise_linear for node in self.nodes)

    def require_piecewise_linear(self, what: str) -> None:
        for call in self.calls:
            if not call.layer.piecewise_linear:
                layer = call.layer
                shown = layer.constants.get("activation", "nonlinear")
                raise UnsupportedLayerError(
                    f"{what} needs a piecewise-linear network; layer {layer.name!r} "
                    f"({layer.kind}, {shown}) is not piecewise linear", layer=layer.name,
                    kind=layer.kind)

    def chain(self) -> tuple[Node, ...]:
        """The nodes, when each reads the one before (one input, one output, no branch);
        ``UnsupportedLayerError`` otherwise."""
        if len(self.inputs) != 1 or len(self.outputs) != 1:
            raise UnsupportedLayerError("this needs a chain of layers with one input and one "
                                        "output")
        previous = self.inputs[0]
        for node in self.nodes:
            if node.inputs != (previous,):
                raise UnsupportedLayerError(
                    f"this needs a chain of layers; layer {node.layer!r} branches or merges",
                    layer=node.layer)
            previous = node.output
        return self.nodes

    # --- numbers --------------------------------------------------------------------------

    def run(self, backend: Backend, arrays: Sequence[Any], nodes: Sequence[Node] | None = None
            ) -> dict[str, Any]:
        """Every tensor's value on ``backend`` (``nodes``: a rewritten list, e.g. a mistake)."""
        return run_nodes(self.nodes if nodes is None else nodes, self.inputs, backend, arrays)

    def output_values(self, values: Mapping[str, Any]) -> np.ndarray:
        """The outputs of a run as one float64 row per sample (all outputs side by side)."""
        return np.concatenate([np.asarray(values[k], dtype=np.float64).reshape(
            np.shape(values[k])[0], -1) for k in self.outputs], axis=1)

    def batch(self, x: Any, exact: bool = False, dtype: Any = np.float64) -> list[np.ndarray]:
        """``x`` (one sample, a batch, or a list of arrays for several inputs) as one batch
        array per input (of ``dtype``: a float32 run converts once, or not at all);
        ``InvalidInputError`` when it does not fit the input shapes."""
        shapes = self.input_shapes
        parts = list(x) if len(shapes) > 1 and isinstance(x, (list, tuple)) else [x]
        if len(parts) != len(shapes):
            raise InvalidInputError(f"expected {len(shapes)} input arrays, received {len(parts)}")
        batches = []
        for part, shape in zip(parts, shapes):
            try:
                arr = np.asarray(part, dtype=object if exact else dtype)
            except (TypeError, ValueError, OverflowError) as exc:
                dims = ", ".join(map(str, shape))
                raise InvalidInputError(f"expected numbers for an input of shape (None, {dims}), "
                                        f"received {_shown(part)}") from exc
            if arr.shape == shape or (arr.ndim == 0 and math.prod(shape) == 1):
                arr = arr.reshape((1,) + shape)
            elif shape == (1,) and arr.ndim == 1:
                arr = arr.reshape(-1, 1)
            if arr.shape[1:] != shape:
                raise InvalidInputError(
                    f"expected input of shape (None, {', '.join(map(str, shape))}), received an "
                    f"array of shape {arr.shape}")
            batches.append(arr)
        return batches

    def sample(self, x: Any) -> list[np.ndarray]:
        """One sample, as a batch of one per input, in float64."""
        arrays = self.batch(x)
        if any(a.shape[0] != 1 for a in arrays):
            raise InvalidInputError(f"expected one input sample, received a batch of "
                                    f"{arrays[0].shape[0]}")
        return arrays

    # --- rewriting ------------------------------------------------------------------------

    def replaced(self, changes: Mapping[int, Op]) -> tuple[Node, ...]:
        """The nodes with the ops at some indices replaced (for mistakes and passes)."""
        return tuple(Node(changes[i], n.inputs, n.output, n.layer) if i in changes else n
                     for i, n in enumerate(self.nodes))

    def without_activations(self) -> tuple[Node, ...]:
        """The nodes with every activation replaced by the identity: the network as computed
        by someone who forgot the activations."""
        return self.replaced({i: Identity("activation forgotten")
                              for i, n in enumerate(self.nodes) if n.op.is_activation})


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
