"""Backpropagation over the graph: the loss, ``∂L/∂`` every parameter array, ``∂L/∂x``, each
layer's δ, and the saliency ``∂y_k/∂x``.

The forward pass runs the ops on a backend; the backward pass visits the nodes in reverse and
asks each op for its vector–Jacobian product (:meth:`symnet.ops.Op.backward`), on the same
backend: float32 as TensorFlow computes it, float64, exact rationals (piecewise-linear
networks: the gradient is a rational), symbolic. A tensor read by several ops gets the sum of
their gradients; a parameter used by several calls of a shared layer likewise.

A layer's δ is the gradient with respect to the input of its final activation — its
pre-activation ``z``, the textbook's ``δ = ∂L/∂z`` — or, for a layer without one, with respect
to its output. When Keras computes the loss from the logits of a final sigmoid or softmax
(:attr:`symnet.analysis.losses.Loss.fuses`), the output layer's δ is ``ŷ − t`` (scaled by the
loss's mean).

The textbook formulas of the backward trace (:mod:`symnet.analysis.backtrace`) come from the
same ops (:meth:`symnet.ops.Op.backward_formula`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from ..backends import Backend, ExactBackend, FloatBackend
from ..backends.exact import exact_fraction
from ..errors import InvalidInputError, UnsupportedLayerError
from ..graph import Graph, LayerCall, Node, run_nodes
from ..ops import Identity, Param
from .losses import Loss, LossResult, compute, loss_of

__all__ = ["BackwardRun", "Gradient", "backward", "gradient", "parameter_keys", "saliency",
           "targets_of"]

PRECISIONS = ("float32", "float64", "exact")


def backend_for(precision: str) -> Backend:
    if precision not in PRECISIONS:
        raise InvalidInputError(f"precision must be one of {PRECISIONS}, received "
                                f"{precision!r}")
    return ExactBackend() if precision == "exact" else FloatBackend(getattr(np, precision))


def parameter_keys(graph: Graph, framework: str = "keras") -> dict[Param, str]:
    """Each weight array -> its key: ``"layer_name/weight_name"`` for a Keras model, as
    ``weights[j].path`` names it after the model's own name (``get_weights()`` order); the
    framework's own name for ONNX and PyTorch (``fc1.weight``, the ``state_dict`` key)."""
    keys: dict[Param, str] = {}
    for layer in graph.layers:
        for p in layer.params:
            if p.weight:
                keys[p] = f"{layer.name}/{p.name}" if framework == "keras" else p.name
    return keys


@dataclass(frozen=True, eq=False)
class BackwardRun:
    """Every number of one forward and backward pass, on one backend (batch first)."""

    nodes: tuple[Node, ...]
    values: Mapping[str, Any]
    """Each tensor's value."""
    grads: Mapping[str, Any]
    """``∂L/∂`` each tensor the loss depends on."""
    params: Mapping[Param, Any]
    """``∂L/∂`` each parameter array (summed over the batch)."""
    undefined: Mapping[str, str]
    """Tensors whose gradient is not defined -> why (an index read by an Embedding)."""
    loss: LossResult
    logits: Mapping[str, str]
    """Output tensor -> the tensor its loss gradient was taken at (its logits when fused)."""
    targets: tuple[Any, ...]
    backend: Any


def _add(store: dict[Any, Any], key: Any, value: Any) -> None:
    store[key] = value if key not in store else store[key] + value


def _final_op(nodes: Sequence[Node], producer: Mapping[str, int], tensor: str) -> int | None:
    """The node that makes ``tensor``, looking through identities (a Dropout at inference
    returns its very input in Keras, so the output keeps its logits)."""
    i = producer.get(tensor)
    while i is not None and isinstance(nodes[i].op, Identity):
        i = producer.get(nodes[i].inputs[0])
    return i


def backward(graph: Graph, backend: Any, arrays: Sequence[Any], targets: Sequence[Any],
             loss: Loss, nodes: Sequence[Node] | None = None,
             seeds: Sequence[Any] | None = None,
             overrides: Mapping[str, Any] | None = None) -> BackwardRun:
    """Run forward, then backward from the loss (or from ``seeds``: ``∂L/∂`` each output
    given outright, e.g. a one-hot row for a saliency). ``overrides``: tensor -> the gradient
    to pass on from it in place of the one computed (a student's own δ, for follow-through
    credit); ``grads`` keeps the computed one."""
    nodes = tuple(graph.nodes if nodes is None else nodes)
    values = run_nodes(nodes, graph.inputs, backend, arrays)
    producer = {n.output: i for i, n in enumerate(nodes)}
    grads: dict[str, Any] = {}
    logits: dict[str, str] = {}
    if seeds is None:
        outs, zs, at = [], [], []
        for k in graph.outputs:
            i = _final_op(nodes, producer, k)
            fused = loss.keras and i is not None and loss.fuses(nodes[i].op)
            z = nodes[i].inputs[0] if fused else None  # type: ignore[index]
            outs.append(values[k])
            zs.append(None if z is None else values[z])
            at.append(z or k)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            result = compute(loss, backend, outs, zs, list(targets))
        for k, tensor, g in zip(graph.outputs, at, result.gradients):
            logits[k] = tensor
            _add(grads, tensor, g)
    else:
        result = LossResult(None, tuple(seeds), (False,) * len(seeds), 1)
        for k, g in zip(graph.outputs, seeds):
            logits[k] = k
            _add(grads, k, g)
    params: dict[Param, Any] = {}
    undefined: dict[str, str] = {}
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for node in reversed(nodes):
            g = grads.get(node.output)
            if overrides and node.output in overrides:
                g = overrides[node.output]
            if g is None:
                continue
            backend.layer = node.layer
            try:
                step = node.op.backward(backend, tuple(values[k] for k in node.inputs),
                                        values[node.output], g)
            except UnsupportedLayerError as exc:
                kind = next((c.layer.kind for c in graph.calls if c.layer.name == node.layer),
                            type(node.op).__name__)
                raise UnsupportedLayerError(
                    f"layer {node.layer!r} ({kind}): no gradient: {exc}", layer=node.layer,
                    kind=kind) from None
            for k, d in zip(node.inputs, step.inputs):
                if d is None:
                    undefined[k] = (f"layer {node.layer!r} reads it as integer indices, which "
                                    "have no derivative")
                else:
                    _add(grads, k, d)
            for p, d in step.params.items():
                _add(params, p, d)
    return BackwardRun(nodes, MappingProxyType(values), MappingProxyType(grads),
                       MappingProxyType(params), MappingProxyType(undefined), result,
                       MappingProxyType(logits), tuple(targets), backend)


def targets_of(graph: Graph, target: Any, batch: int, loss: Loss, exact: bool,
               dtype: Any = np.float64) -> list[Any]:
    """The targets as one batch array per output (class indices for a sparse loss),
    checked against the outputs' shapes."""
    shapes = graph.output_shapes
    parts = list(target) if len(shapes) > 1 and isinstance(target, (list, tuple)) else [target]
    if len(parts) != len(shapes):
        raise InvalidInputError(f"expected {len(shapes)} target arrays (one per output), "
                                f"received {len(parts)}")
    out = []
    for part, shape in zip(parts, shapes):
        want = tuple(shape[:-1]) if loss.sparse else tuple(shape)
        try:
            arr = np.asarray(part, dtype=object if exact or loss.sparse else np.float64)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidInputError(f"expected numbers for a target of shape (None, "
                                    f"{', '.join(map(str, shape))}), received {part!r}") from exc
        full = (batch,) + want
        if loss.sparse and arr.ndim and arr.shape[-1] == 1 and arr.shape[:-1] in (full, want):
            arr = arr[..., 0]
        if arr.shape != full and (
                (batch == 1 and arr.shape == want)
                or (arr.ndim <= 1 and arr.size == math.prod(full) and math.prod(want) <= 1)):
            arr = arr.reshape(full)
        if loss.sparse:
            if arr.shape != full:
                raise InvalidInputError(
                    f"sparse_categorical_crossentropy: expected class indices of shape "
                    f"({batch}, {', '.join(map(str, want))}), received shape {arr.shape}")
            out.append(arr)
            continue
        if arr.shape != (batch,) + want:
            raise InvalidInputError(
                f"expected a target of shape ({batch}, {', '.join(map(str, want))}) for an "
                f"output of shape (None, {', '.join(map(str, shape))}), received shape "
                f"{arr.shape}")
        if exact:
            conv = np.empty(arr.shape, dtype=object)
            for index in np.ndindex(*arr.shape):
                conv[index] = exact_fraction(arr[index])
            out.append(conv)
        else:
            values = arr.astype(np.float64)
            if not np.all(np.isfinite(values)):
                raise InvalidInputError("targets must be finite numbers")
            out.append(values.astype(dtype))
    return out


@dataclass(frozen=True, eq=False)
class Gradient:
    """What :meth:`symnet.Network.gradient` gives: the loss and its derivatives.

    Arrays are batch first (``input``, ``deltas``, ``outputs``); ``parameters`` are summed over
    the batch and shaped like the weight. Float precisions give numpy arrays of that dtype;
    ``"exact"`` gives object arrays of SymPy numbers (``Rational`` for a piecewise-linear
    network and a rational loss, else 30-digit ``Float``).
    """

    loss: Any
    """The loss on the batch: a float (``"exact"``: a SymPy number)."""
    parameters: Mapping[str, np.ndarray]
    """``"layer_name/weight_name"`` -> ``∂L/∂`` that array (every weight, trainable or not, in
    ``get_weights()`` order)."""
    deltas: Mapping[str, np.ndarray]
    """Layer name -> its δ: ``∂L/∂z`` at the input of its final activation (else at its
    output)."""
    outputs: Mapping[str, np.ndarray]
    """Layer name -> ``∂L/∂`` its output."""
    precision: str
    loss_name: str
    inputs_gradient: tuple[Any, ...] = field(repr=False, default=())
    keys: Mapping[Param, str] = field(repr=False, default_factory=dict)
    """Each weight array -> its key in ``parameters``."""
    undefined: Mapping[str, str] = field(repr=False, default_factory=dict)
    run: BackwardRun | None = field(repr=False, default=None)
    graph: Graph | None = field(repr=False, default=None)

    @property
    def input(self) -> Any:
        """``∂L/∂x`` (a list for a model with several inputs); an error when the input is read
        as indices (an Embedding), where it is not defined."""
        names = self.graph.inputs if self.graph is not None else ()
        for name in names:
            if name in self.undefined:
                raise InvalidInputError(f"∂L/∂{name} is not defined: {self.undefined[name]}")
        return self.inputs_gradient[0] if len(self.inputs_gradient) == 1 else list(
            self.inputs_gradient)

    def trace(self, sample: int = 0) -> Any:
        """The hand calculation of backpropagation for one sample of the batch: per layer the
        formula of its δ and gradients, the numbers put in, the values
        (:class:`symnet.analysis.backtrace.BackwardTrace`)."""
        from .backtrace import backward_trace

        if self.run is None or self.graph is None:
            raise InvalidInputError("this gradient keeps no record of its run")
        return backward_trace(self.graph, self, sample)

    def __repr__(self) -> str:
        return (f"<Gradient {self.loss_name}: loss {self.loss}, {len(self.parameters)} "
                f"parameter arrays, {self.precision}>")

    def report(self, format: str, *, sample: int = 0, standalone: bool = True,
               digits: int | None = None, **options: Any) -> str:
        """Backpropagation as a report (``"latex"``, ``"html"``, ``"markdown"``, ``"mathml"``,
        ``"json"``, ``"text"``): the loss, then for sample ``sample`` each layer from the output
        back — ``∂L/∂h``, ``z``, ``f'(z)``, ``δ``, each weight's gradient, ``∂L/∂`` its input:
        formula, numbers put in, value — then every weight's gradient and ``∂L/∂x``.
        ``standalone=False``: a fragment for your own document; ``digits``: significant digits
        of every number; ``options``: the report printers' other settings."""
        from ..display import hook_for

        hook = hook_for(self, "report")
        if hook is None:  # pragma: no cover - the report package registers it
            raise InvalidInputError("the report printers are not available")
        return str(hook(self, format, sample=sample, standalone=standalone, digits=digits,
                        **options))

    def _repr_latex_(self) -> str | None:
        """Jupyter: the backward trace's formulas (of the first sample)."""
        return self.trace()._repr_latex_()

    def _repr_html_(self) -> str | None:
        """Jupyter: the backward trace (of the first sample), as the HTML report shows it."""
        return self.trace()._repr_html_()


def finish(backend: Any, value: Any) -> Any:
    """A backend's array as returned to the user (exact: SymPy numbers)."""
    if value is None:
        return None
    arr = np.asarray(value)
    if arr.dtype == object:
        return backend.finish(arr)
    return arr


def finish_scalar(backend: Any, value: Any, precision: str) -> Any:
    if precision == "exact":
        return backend.finish(np.array([value], dtype=object))[0]
    return float(value)


def deltas_of(graph: Graph, run: BackwardRun) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each layer call's δ and ``∂L/∂`` its output, as the backend computed them."""
    deltas: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    for call in graph.calls:
        out = run.grads.get(call.output)
        at = delta_tensor(run.nodes, call)
        delta = run.grads.get(at)
        if out is None and delta is None:
            continue
        zeros = np.zeros_like(run.values[call.output]) if out is None else out
        outputs[call.layer.name] = zeros if out is None else out
        deltas[call.layer.name] = delta if delta is not None else zeros
    return deltas, outputs


def delta_tensor(nodes: Sequence[Node], call: LayerCall) -> str:
    """The tensor a layer's δ is taken at: the input of its final activation, else its
    output."""
    last = next((nodes[i] for i in call.nodes if nodes[i].output == call.output), None)
    if last is not None and last.op.is_activation:
        return last.inputs[0]
    return call.output


def gradient(graph: Graph, x: Any, target: Any, loss: Any, precision: str = "float32",
             nodes: Sequence[Node] | None = None, framework: str = "keras") -> Gradient:
    """The loss on ``(x, target)`` and its gradients (see :meth:`symnet.Network.gradient`)."""
    spec = loss_of(loss)
    backend = backend_for(precision)
    exact = precision == "exact"
    arrays = graph.batch(x, exact=exact)
    batch = int(arrays[0].shape[0])
    targets = targets_of(graph, target, batch, spec, exact,
                         np.float64 if exact else getattr(np, precision))
    run = backward(graph, backend, arrays, targets, spec, nodes)
    return _gradient_of(graph, run, spec, precision, framework)


def _gradient_of(graph: Graph, run: BackwardRun, spec: Loss, precision: str,
                 framework: str = "keras") -> Gradient:
    backend = run.backend
    keys = parameter_keys(graph, framework)
    parameters: dict[str, Any] = {}
    for p, key in keys.items():
        value = run.params.get(p)
        if value is None:  # not reached by the loss: its derivative is 0
            value = np.zeros(p.shape, dtype=object if precision == "exact" else precision)
            if precision == "exact":
                value[...] = 0
        parameters[key] = finish(backend, np.asarray(value).reshape(p.shape))
    deltas, outputs = deltas_of(graph, run)
    inputs = []
    for name in graph.inputs:
        g = run.grads.get(name)
        if g is None:
            g = np.zeros_like(run.values[name])
        inputs.append(finish(backend, g))
    loss_value = finish_scalar(backend, run.loss.value, precision)
    return Gradient(
        loss=loss_value, parameters=MappingProxyType(parameters),
        deltas=MappingProxyType({k: finish(backend, v) for k, v in deltas.items()}),
        outputs=MappingProxyType({k: finish(backend, v) for k, v in outputs.items()}),
        precision=precision, loss_name=spec.name, inputs_gradient=tuple(inputs),
        keys=MappingProxyType(keys), undefined=run.undefined, run=run, graph=graph)


def saliency(graph: Graph, x: Any, output: int = 0, precision: str = "float32") -> Any:
    """``∂y_k/∂x`` for output ``k`` (an index into the outputs' numbers, row-major across
    the outputs), for every sample: an array shaped like the input batch (a list for several
    inputs). Exact rationals for a piecewise-linear network with ``precision="exact"``."""
    backend = backend_for(precision)
    exact = precision == "exact"
    arrays = graph.batch(x, exact=exact)
    batch = int(arrays[0].shape[0])
    sizes = [math.prod(s) for s in graph.output_shapes]
    if not isinstance(output, (int, np.integer)) or not 0 <= int(output) < sum(sizes):
        raise InvalidInputError(f"output must be an index from 0 to {sum(sizes) - 1}, "
                                f"received {output!r}")
    seeds = []
    start = 0
    for shape, size in zip(graph.output_shapes, sizes):
        seed = np.zeros((batch, size), dtype=np.float64)
        if start <= output < start + size:
            seed[:, output - start] = 1.0
        start += size
        seeds.append(backend.inputs(seed).reshape((batch, *shape)))
    run = backward(graph, backend, arrays, (), Loss("saliency"), seeds=seeds)
    out = []
    for name in graph.inputs:
        if name in run.undefined:
            raise InvalidInputError(f"∂y/∂{name} is not defined: {run.undefined[name]}")
        g = run.grads.get(name)
        out.append(finish(backend, np.zeros_like(run.values[name]) if g is None else g))
    return out[0] if len(out) == 1 else out
