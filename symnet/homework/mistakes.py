"""The catalogue of hand-calculation mistakes, each reproduced by running the network altered.

A :class:`Mistake` changes one layer's computation the way a student would get it wrong:
an activation forgotten, a kernel transposed, a bias left out, BatchNorm's ε outside the square
root or left out, batch statistics in place of the moving ones, dropout applied at inference,
the logits reported instead of the probabilities, two entrywise layers (BatchNorm and its
activation) computed in the wrong order. Running the
network with the alteration gives the number the student would have found, so a mistake is
diagnosed when its number matches the student's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..activations import ScalarFn, VectorFn
from ..numeric import FloatBackend

__all__ = ["Mistake", "catalogue", "run_with"]


class _Backend(FloatBackend):
    """float64, with the activations of the layers in ``skip`` replaced by the identity."""

    def __init__(self, skip: frozenset[str]) -> None:
        super().__init__(np.float64)
        self.skip = skip

    def map(self, fn: ScalarFn, x: np.ndarray) -> np.ndarray:
        return x if fn.activation and self.layer in self.skip else super().map(fn, x)

    def vector(self, fn: VectorFn, x: np.ndarray, axis: int) -> np.ndarray:
        return x if self.layer in self.skip else super().vector(fn, x, axis)


Forward = Callable[[Any, list[Any], Any], Any]


@dataclass(frozen=True)
class Mistake:
    """One way of getting a layer wrong; ``code`` is the diagnosis it leads to."""

    code: str
    layer: str
    message: str
    skip: frozenset[str] = frozenset()
    weights: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    forwards: dict[str, Forward] = field(default_factory=dict)
    uses_batch: bool = False
    """Whether the mistake needs the batch run through the network with the sample."""

    def __add__(self, other: Mistake) -> Mistake:
        return Mistake(f"{self.code}+{other.code}", self.layer,
                       f"{self.message} Also: {other.message}", self.skip | other.skip,
                       {**self.weights, **other.weights}, {**self.forwards, **other.forwards},
                       self.uses_batch or other.uses_batch)


def float64_weights(layer: Any) -> dict[str, np.ndarray]:
    """The arrays a layer's forward pass uses, in float64."""
    return {p.name: np.asarray(p.value, np.float64) for p in layer.params
            if p.symbol is not None}


def run_with(net: Any, arrays: list[np.ndarray], mistake: Mistake | None) -> dict[str, Any]:
    """Every tensor's float64 value with ``mistake`` made (``None``: the correct computation)."""
    mistake = mistake or Mistake("correct", "", "")
    backend = _Backend(mistake.skip)
    values = {key: backend.inputs(a) for key, a in zip(net._graph.inputs, arrays)}
    for node in net._nodes:
        layer = node.layer
        backend.layer = layer.name
        weights = float64_weights(layer)
        weights.update(mistake.weights.get(layer.name, {}))
        forward = mistake.forwards.get(layer.name, layer.forward)
        values[node.output] = forward(backend, [values[k] for k in node.inputs], weights)
    return values


def _activation_name(layer: Any) -> str | None:
    name = layer.constants.get("activation")
    if layer.kind in ("ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax"):
        return layer.kind
    return None if name in (None, "linear") else name


def catalogue(net: Any, batch: np.ndarray | None = None) -> list[Mistake]:
    """Every single mistake that applies to this network."""
    mistakes: list[Mistake] = []
    last = net._nodes[-1].layer.name if net._nodes else ""
    for node in net._nodes:
        layer, name = node.layer, node.layer.name
        act = _activation_name(layer)
        if act is not None:
            is_output = name == last or _only_identity_after(net, node)
            if is_output and act in ("softmax", "Softmax", "sigmoid", "log_softmax"):
                mistakes.append(Mistake(
                    "logits_not_probabilities", name,
                    f"the {act} of {name!r} was not applied: these are the logits, not the "
                    "probabilities the network outputs.", skip=frozenset({name})))
            else:
                mistakes.append(Mistake(
                    "missing_activation", name,
                    f"the {act} activation of layer {name!r} was forgotten: apply it to the "
                    "layer's values before the next layer.", skip=frozenset({name})))
        p = layer.parameters
        if layer.kind == "Dense":
            kernel = np.asarray(p["kernel"], np.float64)
            if kernel.shape[0] == kernel.shape[1]:
                mistakes.append(Mistake(
                    "transposed_kernel", name,
                    f"the kernel of {name!r} was used transposed: Keras computes x·K with K of "
                    "shape (in, out), so output unit j uses column j.",
                    weights={name: {"kernel": kernel.T}}))
            if "bias" in p:
                mistakes.append(Mistake(
                    "bias_omitted", name, f"the bias of {name!r} was left out: add b after x·K.",
                    weights={name: {"bias": np.zeros_like(np.asarray(p["bias"], np.float64))}}))
        if layer.kind == "BatchNormalization":
            var = np.asarray(p["moving_variance"], np.float64)
            eps = float(layer.constants["epsilon"])
            mistakes.append(Mistake(
                "bn_epsilon_outside_sqrt", name,
                f"in {name!r} ε was added after the square root: it goes inside, "
                "γ(x − μ)/√(σ² + ε) + β.",
                weights={name: {"moving_variance": (np.sqrt(var) + eps) ** 2 - eps}}))
            mistakes.append(Mistake(
                "bn_epsilon_omitted", name,
                f"in {name!r} ε was left out: the formula is γ(x − μ)/√(σ² + ε) + β with "
                f"ε = {eps:g}.", weights={name: {"moving_variance": var - eps}}))
            if batch is not None:
                mistakes.append(Mistake(
                    "bn_batch_statistics", name,
                    f"{name!r} was normalised with the statistics of the batch: at inference "
                    "BatchNorm uses its moving mean and moving variance.",
                    forwards={name: _batch_statistics(layer, len(batch))}, uses_batch=True))
        after = _next_node(net, node)
        if after is not None and _swappable(layer, after.layer):
            mistakes.append(_swapped(layer, after.layer))
        rate = layer.constants.get("rate")
        if layer.kind.endswith("Dropout") and rate:
            for factor, how in ((1 - rate, "scaled by 1 − rate"), (1 / (1 - rate),
                                                                   "divided by 1 − rate")):
                mistakes.append(Mistake(
                    "dropout_at_inference", name,
                    f"{name!r} was {how} = {factor:g} at inference: Dropout is the identity at "
                    "inference.", forwards={name: _scaled(factor)}))
    return mistakes


_ELEMENTWISE = {"BatchNormalization", "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU",
                "Rescaling"}


def _next_node(net: Any, node: Any) -> Any:
    """The node that reads this node's output, if it is the only one and reads only it."""
    readers = [n for n in net._nodes if node.output in n.inputs]
    return readers[0] if len(readers) == 1 and readers[0].inputs == (node.output,) else None


def _swappable(first: Any, second: Any) -> bool:
    return (first.kind in _ELEMENTWISE and second.kind in _ELEMENTWISE and first.kind !=
            second.kind and first.input_shape == second.input_shape)


def _swapped(first: Any, second: Any) -> Mistake:
    """``first`` and ``second`` computed in the opposite order (both act entry by entry)."""
    w_first, w_second = float64_weights(first), float64_weights(second)
    return Mistake(
        "wrong_layer_order", first.name,
        f"{second.name!r} was applied before {first.name!r}: the model computes "
        f"{first.name!r} ({first.kind}) first, then {second.name!r} ({second.kind}).",
        forwards={first.name: lambda b, xs, w: second.forward(b, xs, w_second),
                  second.name: lambda b, xs, w: first.forward(b, xs, w_first)})


def _only_identity_after(net: Any, node: Any) -> bool:
    later = list(net._nodes)[list(net._nodes).index(node) + 1:]
    return all(n.layer.formula.rhs == n.layer.input_symbols[0] for n in later)


def _scaled(factor: float) -> Forward:
    return lambda backend, xs, w: xs[0] * factor


def _batch_statistics(layer: Any, rows: int) -> Forward:
    eps = float(layer.constants["epsilon"])

    def forward(backend: Any, xs: list[Any], w: Any) -> Any:
        x = xs[0]
        stats = x[:rows]  # the batch; the rows after it are the samples being checked
        mean, var = stats.mean(axis=0), stats.var(axis=0)
        out = (x - mean) / np.sqrt(var + eps)
        if "gamma" in w:
            out = out * w["gamma"]
        return out + w["beta"] if "beta" in w else out

    return forward
