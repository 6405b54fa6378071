"""One training step, exactly as Keras takes it: ``model.train_on_batch(x, target)`` with a
fresh optimizer.

The network runs in training mode (:func:`training_nodes`): a BatchNormalization whose layer is
trainable normalises with the batch's own mean and variance (the gradient flows through them)
and its moving statistics move by ``momentum``; layers whose training behaviour is random
(Dropout, GaussianNoise...) are refused by name unless the caller asks to leave them out;
options that act only while training and that symnet does not reproduce (weight regularizers,
constraints, BatchNorm's renormalization, activity regularization) are refused by name.

The gradient of the loss (:mod:`symnet.analysis.gradients`) then goes through the optimizer's
update, as Keras writes it, for one step from fresh state: SGD (with momentum and Nesterov),
Adam (``amsgrad`` too) and RMSprop (momentum, centered), with Keras' gradient clipping
(``clipnorm``, ``clipvalue``, ``global_clipnorm``) and decoupled ``weight_decay``. Only
trainable weights move; a weight frozen in Keras (``trainable=False``) or named in ``frozen``
keeps its value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .analysis.gradients import (
    Gradient,
    _gradient_of,
    backend_for,
    backward,
    parameter_keys,
    targets_of,
)
from .analysis.losses import loss_of
from .errors import InvalidInputError, UnsupportedLayerError
from .functions.activations import Activation
from .graph import Graph, LayerCall, LayerFormula, Node
from .ops import BatchNormInference, Fn, Op, Param
from .ops.normalization import BatchNormTraining

__all__ = ["OPTIMIZERS", "TrainStep", "train_step", "training_nodes", "with_weights"]

#: Optimizer -> its options and their Keras defaults.
OPTIMIZERS: dict[str, dict[str, Any]] = {
    "sgd": {"momentum": 0.0, "nesterov": False},
    "adam": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
    "rmsprop": {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False},
}
#: Options every Keras optimizer takes (``None``: off).
COMMON = {"clipnorm": None, "clipvalue": None, "global_clipnorm": None, "weight_decay": None}

#: Config options that make a layer act at random while training (Dropout's and the noise
#: layers' ``rate`` or ``stddev``, a recurrent layer's ``dropout`` and ``recurrent_dropout``).
RANDOM_OPTIONS = ("rate", "stddev", "dropout", "recurrent_dropout")


class _Sqrt(Activation):
    """``√t``, for the backends to map (exact: 50 digits). Not an activation."""

    nargs = 1
    alias = True

    @classmethod
    def definition(cls, t: Any) -> Any:
        return sp.sqrt(t)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.sqrt(x)


_SQRT = Fn(_Sqrt, name="sqrt")


def training_nodes(graph: Graph, random_layers: str = "refuse",
                   framework: str = "keras") -> tuple[Node, ...]:
    """The graph's nodes as Keras runs them while training (see the module's docstring). A
    network read from ONNX or PyTorch has no Keras training mode: its BatchNorms are refused
    (PyTorch's own differs: momentum counted the other way, unbiased running variance)."""
    if random_layers not in ("refuse", "omit"):
        raise InvalidInputError(f"random_layers must be 'refuse' or 'omit', received "
                                f"{random_layers!r}")
    by_name = {layer.name: layer for layer in graph.layers}
    checked: set[str] = set()
    nodes = []
    for node in graph.nodes:
        layer = by_name.get(node.layer)
        config = dict(layer.training_config) if layer is not None else {}
        kind = layer.kind if layer is not None else ""
        if layer is not None and layer.name not in checked:
            checked.add(layer.name)
            _refuse_training_options(layer.name, kind, config)
            randomness = _random_options(config)
            if randomness and random_layers == "refuse":
                raise UnsupportedLayerError(
                    f"layer {node.layer!r} ({kind}, {randomness}) acts at random while "
                    "training, which no exact step reproduces; pass random_layers='omit' to "
                    "leave it out (the step Keras takes when it happens to keep every unit)",
                    layer=node.layer, kind=kind)
        op = node.op
        if isinstance(op, BatchNormInference) and framework != "keras":
            raise UnsupportedLayerError(
                f"layer {node.layer!r} ({kind}): a batch normalization read from {framework} "
                "has no Keras training mode; symnet's training step is Keras'",
                layer=node.layer, kind=kind)
        if isinstance(op, BatchNormInference) and config.get("trainable", True):
            op = BatchNormTraining.of(op, float(config.get("momentum", 0.99)))
        nodes.append(node if op is node.op else Node(op, node.inputs, node.output, node.layer))
    return tuple(nodes)


def _configs(config: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """A layer's config and those of the layers it wraps (Bidirectional, TimeDistributed)."""
    yield config
    for value in config.values():
        if isinstance(value, dict):
            inner = value.get("config") if isinstance(value.get("config"), dict) else None
            if inner is not None and "class_name" in value:
                yield from _configs(inner)


def _random_options(config: Mapping[str, Any]) -> str:
    """What makes a layer act at random while training (``""``: nothing)."""
    for inner in _configs(config):
        for key in RANDOM_OPTIONS:
            value = inner.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                return f"{key}={float(value):g}"
    return ""


def _refuse_training_options(name: str, kind: str, config: Mapping[str, Any]) -> None:
    for inner in _configs(config):
        for key, value in inner.items():
            if value is None or not isinstance(key, str):
                continue
            if key.endswith(("_regularizer", "_constraint")):
                what = "regularizer adds to the loss" if key.endswith("r") else (
                    "constraint rewrites the weight after the step")
                raise UnsupportedLayerError(
                    f"layer {name!r} ({kind}) has {key}={_shown(value)}: Keras' {what} while "
                    "training, which symnet does not reproduce", layer=name, kind=kind)
    if config.get("renorm"):
        raise UnsupportedLayerError(f"layer {name!r} ({kind}) uses renorm=True while "
                                    "training, which symnet does not reproduce",
                                    layer=name, kind=kind)
    if config.get("l1") or config.get("l2"):  # ActivityRegularization
        raise UnsupportedLayerError(f"layer {name!r} ({kind}) adds l1/l2 of its output to the "
                                    "loss while training, which symnet does not reproduce",
                                    layer=name, kind=kind)


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("class_name", value))
    return repr(value)


@dataclass(frozen=True, eq=False)
class TrainStep(Mapping[str, Any]):
    """The weights after one step: ``"layer/weight"`` -> the new array (every weight, in
    ``get_weights()`` order; those the step does not move keep their value)."""

    weights: Mapping[str, Any]
    loss: Any
    """The loss on the batch before the step, in training mode."""
    gradient: Gradient = field(repr=False)
    """The gradient the optimizer applied (training mode: BatchNorm's batch statistics)."""
    updated: tuple[str, ...]
    """The weights the optimizer moved (trainable, not frozen)."""
    optimizer: str
    options: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.weights[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.weights)

    def __len__(self) -> int:
        return len(self.weights)

    def __repr__(self) -> str:
        return (f"<TrainStep {self.optimizer}: loss {self.loss}, {len(self.updated)} of "
                f"{len(self.weights)} weight arrays updated>")


def train_step(graph: Graph, x: Any, target: Any, *, loss: Any, optimizer: str = "sgd",
               learning_rate: Any, precision: str = "float32",
               frozen: Iterable[str] = (), random_layers: str = "refuse",
               framework: str = "keras", **options: Any) -> TrainStep:
    """The weights after ``model.train_on_batch(x, target)`` with a fresh Keras optimizer.

    Args:
        x, target, loss: as for :func:`symnet.analysis.gradients.gradient`.
        optimizer: ``"sgd"``, ``"adam"`` or ``"rmsprop"``.
        learning_rate: the step size (a number; ``"exact"``: as written, 0.1 is 1/10).
        precision: ``"float32"`` (Keras' arithmetic), ``"float64"`` or ``"exact"``.
        frozen: weights (``"layer/weight"``) or whole layers (``"layer"``) to keep as they
            are, as if Keras had them ``trainable=False``.
        random_layers: ``"refuse"`` (default) or ``"omit"``: Dropout and noise layers left out.
        options: the optimizer's own (SGD: ``momentum``, ``nesterov``; Adam: ``beta_1``,
            ``beta_2``, ``epsilon``, ``amsgrad``; RMSprop: ``rho``, ``momentum``,
            ``epsilon``, ``centered``) and Keras' ``clipnorm``, ``clipvalue``,
            ``global_clipnorm``, ``weight_decay``; unknown ones are refused by name.
    """
    name, settings = optimizer_settings(optimizer, options)
    rate = _number(learning_rate, "learning_rate")
    spec = loss_of(loss)
    backend = backend_for(precision)
    exact = precision == "exact"
    nodes = training_nodes(graph, random_layers, framework)
    arrays = graph.batch(x, exact=exact)
    batch = int(arrays[0].shape[0])
    targets = targets_of(graph, target, batch, spec, exact,
                         np.float64 if exact else getattr(np, precision))
    run = backward(graph, backend, arrays, targets, spec, nodes)
    gradient = _gradient_of(graph, run, spec, precision, framework)

    keys = parameter_keys(graph, framework)
    frozen = set(frozen)
    known = set(keys.values()) | {layer.name for layer in graph.layers}
    missing = sorted(frozen - known)
    if missing:
        raise InvalidInputError(f"frozen names no weight or layer: {missing}")
    moving = _moving_statistics(graph, nodes, run)
    layer_of = {p: layer.name for layer in graph.layers for p in layer.params}
    trainable = [p for p, key in keys.items() if p.trainable and key not in frozen
                 and layer_of[p] not in frozen]
    grads = []
    for p in trainable:
        g = run.params.get(p)
        # a weight the loss does not reach: its gradient is 0
        grads.append(backend.weight(p) * backend.const(0) if g is None
                     else np.asarray(g).reshape(p.shape))
    new = dict(zip(trainable, optimizer_step(backend, name, settings,
                                              [backend.weight(p) for p in trainable], grads,
                                              rate)))
    weights: dict[str, Any] = {}
    for p, key in keys.items():
        value = new.get(p, moving.get(p))
        if value is None:
            weights[key] = np.asarray(p.value).copy() if not exact else _exact_copy(backend, p)
        else:
            weights[key] = backend.finish(value) if exact else np.asarray(
                value, dtype=precision).reshape(p.shape)
    return TrainStep(weights, gradient.loss, gradient, tuple(keys[p] for p in trainable), name,
                     dict(settings, learning_rate=learning_rate))


def optimizer_settings(optimizer: Any, options: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The optimizer's name and every setting (Keras' defaults, then ``options``); an unknown
    optimizer or option is refused by name."""
    name = str(optimizer).lower()
    if name not in OPTIMIZERS:
        raise InvalidInputError(f"optimizer must be one of {sorted(OPTIMIZERS)}, received "
                                f"{optimizer!r}")
    settings = {**OPTIMIZERS[name], **COMMON}
    unknown = sorted(set(options) - set(settings))
    if unknown:
        raise InvalidInputError(f"unknown option(s) {unknown} for optimizer {name!r}; it takes "
                                f"{sorted(settings)}")
    settings.update(options)
    return name, settings


def plain_descent(name: str, settings: Mapping[str, Any]) -> bool:
    """Whether the first step is ``w − η g`` (SGD; with momentum but not Nesterov's, the
    first step is the same), no clipping, no weight decay."""
    return name == "sgd" and not (settings["momentum"] and settings["nesterov"]) and all(
        settings[k] is None for k in COMMON)


def optimizer_step(backend: Any, name: str, settings: Mapping[str, Any], weights: list[Any],
                   grads: list[Any], rate: Any) -> list[Any]:
    """The weights after one step of the optimizer from fresh state: Keras' clipping, weight
    decay, then its ``update_step``."""
    grads = _clip(backend, grads, settings)
    out = []
    for w, g in zip(weights, grads):
        if settings["weight_decay"]:
            w = w - w * _c(backend, settings["weight_decay"]) * _c(backend, rate)
        out.append(_update(backend, name, settings, w, g, _c(backend, rate)))
    return out


def _exact_copy(backend: Any, p: Param) -> Any:
    return backend.finish(backend.weight(p))


def _number(value: Any, what: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"{what} must be a number, received {value!r}")
    if not np.isfinite(float(value)) or float(value) < 0:
        raise InvalidInputError(f"{what} must be a finite number ≥ 0, received {value!r}")
    return value


def _c(backend: Any, value: Any) -> Any:
    """A hyperparameter in the backend's numbers (exact: as written)."""
    return backend.const(float(value))


def _rest(backend: Any, value: Any) -> Any:
    """``1 − value`` as Keras computes it: in Python floats, then in the variable's dtype
    (exact: ``1 − value`` as written)."""
    if isinstance(backend.const(0.5), np.floating):
        return backend.const(1.0 - float(value))
    return backend.const(1.0) - backend.const(float(value))


def _moving_statistics(graph: Graph, nodes: tuple[Node, ...], run: Any) -> dict[Param, Any]:
    out: dict[Param, Any] = {}
    for node in nodes:
        if isinstance(node.op, BatchNormTraining):
            x = run.values[node.inputs[0]]
            out.update(node.op.moving_update(run.backend, x))
    return out


def _clip(backend: Any, grads: list[Any], settings: Mapping[str, Any]) -> list[Any]:
    """Keras' gradient clipping, in its order of precedence."""
    if settings["clipnorm"]:
        clip = _c(backend, settings["clipnorm"])
        out = []
        for g in grads:
            norm = _norm(backend, [g])
            out.append(g if not norm > 0 else g * clip / _maximum(norm, clip))
        return out
    if settings["global_clipnorm"]:
        clip = _c(backend, settings["global_clipnorm"])
        norm = _norm(backend, grads)
        one = _c(backend, 1.0)
        scale = clip * min(one / norm if norm > 0 else float("inf"), one / clip)
        return [g * scale for g in grads]
    if settings["clipvalue"]:
        v = _c(backend, settings["clipvalue"])
        return [backend.maximum(backend.minimum(g, _full(g, v)), _full(g, -v)) for g in grads]
    return grads


def _full(like: Any, value: Any) -> Any:
    out = np.empty(np.shape(like), dtype=np.asarray(like).dtype)
    out[...] = value
    return out


def _maximum(a: Any, b: Any) -> Any:
    return a if a > b else b


def _norm(backend: Any, grads: list[Any]) -> Any:
    total = None
    for g in grads:
        flat = np.asarray(g).reshape(-1)
        part = (flat * flat).sum() if flat.dtype != object else sum(v * v for v in flat)
        total = part if total is None else total + part
    return backend.map(_SQRT, np.array([total], dtype=np.asarray(grads[0]).dtype))[0]


def _update(backend: Any, name: str, s: Mapping[str, Any], w: Any, g: Any, lr: Any) -> Any:
    """One step of Keras' ``update_step`` from fresh state (momenta and velocities 0,
    ``iterations`` 0)."""
    one = _c(backend, 1.0)
    if name == "sgd":
        if s["momentum"]:
            m = -(g * lr)  # m·momentum − g·lr with m = 0
            if s["nesterov"]:
                return w + (m * _c(backend, s["momentum"]) - g * lr)
            return w + m
        return w - g * lr
    if name == "adam":
        b1, b2 = _c(backend, s["beta_1"]), _c(backend, s["beta_2"])
        # β^t at t = 1 is β: alpha = lr √(1 − β₂) / (1 − β₁), in the variable's dtype
        alpha = lr * backend.map(_SQRT, np.array([one - b2], dtype=np.asarray(g).dtype))[0] / (
            one - b1)
        m = g * _rest(backend, s["beta_1"])
        v = g * g * _rest(backend, s["beta_2"])  # amsgrad: max(0, v) = v on the first step
        return w - (m * alpha) / (backend.map(_SQRT, v) + _c(backend, s["epsilon"]))
    # rmsprop
    velocity = _rest(backend, s["rho"]) * (g * g)
    if s["centered"]:
        average = _rest(backend, s["rho"]) * g
        denominator = velocity - average * average + _c(backend, s["epsilon"])
    else:
        denominator = velocity + _c(backend, s["epsilon"])
    increment = (lr * g) / backend.map(_SQRT, denominator)
    return w - increment  # with momentum: 0·momentum + increment, the same on the first step


def with_weights(graph: Graph, weights: Mapping[str, Any], framework: str = "keras") -> Graph:
    """The graph with some weights replaced (``"layer/weight"`` -> array of the weight's
    shape): the network after a training step, or with a textbook's numbers. Float arrays keep
    their dtype (float64 numbers stay float64 in the float64 and exact computations; float32
    runs round them as Keras would)."""
    keys = parameter_keys(graph, framework)
    by_key = {key: p for p, key in keys.items()}
    unknown = sorted(set(weights) - set(by_key))
    if unknown:
        raise InvalidInputError(f"no weight named {unknown}; the weights are "
                                f"{sorted(by_key)}")
    new: dict[int, Param] = {}
    for key, value in weights.items():
        p = by_key[key]
        arr = np.asarray(value)
        if arr.dtype == object:
            arr = arr.astype(np.float64)
        elif arr.dtype.kind != "f":
            arr = arr.astype(np.float64)
        if arr.shape != p.shape:
            raise InvalidInputError(f"weight {key!r} has shape {p.shape}, received an array of "
                                    f"shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise InvalidInputError(f"weight {key!r}: expected finite numbers")
        new[id(p)] = Param(p.name, p.symbol, np.array(arr), p.trainable, p.meaning, p.weight)

    def op_with(op: Op) -> Op:
        if not dataclasses.is_dataclass(op):
            return op
        changes = {}
        for f in dataclasses.fields(op):
            value = getattr(op, f.name)
            if isinstance(value, Param) and id(value) in new:
                changes[f.name] = new[id(value)]
            elif isinstance(value, Op):
                inner = op_with(value)
                if inner is not value:
                    changes[f.name] = inner
        return dataclasses.replace(op, **changes) if changes else op

    layers: dict[int, LayerFormula] = {}
    for layer in graph.layers:
        params = tuple(new.get(id(p), p) for p in layer.params)
        steps = tuple(dataclasses.replace(step, op=op_with(step.op)) for step in layer.steps)
        layers[id(layer)] = dataclasses.replace(layer, params=params, steps=steps)
    nodes = tuple(Node(op_with(n.op), n.inputs, n.output, n.layer) for n in graph.nodes)
    calls = tuple(LayerCall(layers[id(c.layer)], c.inputs, c.outputs, c.nodes)
                  for c in graph.calls)
    used = {id(p) for n in nodes for p in _params_of(n.op)}
    left = [by_key[k] for k in weights if id(new[id(by_key[k])]) not in used]
    if left:
        raise UnsupportedLayerError(f"weights {[keys[p] for p in left]} could not be replaced "
                                    "in their ops")
    return dataclasses.replace(graph, layers=tuple(layers[id(lay)] for lay in graph.layers),
                               calls=calls, nodes=nodes)


def _params_of(op: Op) -> list[Param]:
    out = list(op.params())
    for f in dataclasses.fields(op):  # type: ignore[arg-type]
        value = getattr(op, f.name)
        if isinstance(value, Op):
            out.extend(_params_of(value))
    return out
