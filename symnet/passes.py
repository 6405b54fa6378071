"""Simplification passes: a chain network, transformed step by step, each step exact.

A network whose layers form a chain (one input, one output, no branching) is read as a tuple of
steps: :class:`Affine` (``x W + b``: Dense, BatchNorm at inference, Rescaling, Normalization),
:class:`Elementwise` (an activation applied to each unit), :class:`Vector` (softmax),
:class:`Identity` (Dropout and noise at inference, Flatten of a vector) and :class:`Opaque`
(anything else, kept as it is). Each pass matches a pattern and returns a new chain and a note
of what it changed, so that a report can show "before -> after":

- :func:`remove_identities` drops the steps that are the identity at inference;
- :func:`fold_batchnorm` folds BatchNorm's ``scale = γ/√(σ²+ε)``, ``shift = β − scale·μ`` into
  the adjacent Dense (the one before it, or the one after it when nothing lies between);
- :func:`merge_affine` multiplies out consecutive affine steps;
- :func:`prune_units` propagates interval bounds of an input box through the chain and replaces
  each unit whose activation stays on one piece by that piece: a unit that is constant there
  (a dead ReLU) is removed, its constant folded into the next bias; a unit that always passes
  becomes affine.

Passes work in float64 on the float32 weights; their tests check every result against
``Network.evaluate``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .activations import RSQRT, ScalarFn, VectorFn
from .errors import UnsupportedLayerError

__all__ = ["Affine", "Elementwise", "Identity", "Opaque", "PassResult", "Vector", "chain_of",
           "evaluate_chain", "fold_batchnorm", "merge_affine", "prune_units",
           "remove_identities", "simplify"]


@dataclass(frozen=True, eq=False)
class Affine:
    """``y = x W + b`` on vectors; ``origin`` names the layers it came from."""

    weight: np.ndarray
    bias: np.ndarray
    origin: tuple[str, ...]
    batchnorm: bool = False

    def describe(self) -> str:
        n, m = self.weight.shape
        return f"affine {n}->{m} ({' + '.join(self.origin)})"


@dataclass(frozen=True, eq=False)
class Elementwise:
    """``fn`` on each unit, except units ``fixed`` to an affine piece ``slope·t + intercept``
    (``fixed`` holds the two arrays, ``NaN`` for the units that keep ``fn``)."""

    fn: ScalarFn
    origin: tuple[str, ...]
    fixed: tuple[np.ndarray, np.ndarray] | None = None

    def describe(self) -> str:
        shown = f"{self.fn.key} ({' + '.join(self.origin)})"
        if self.fixed is not None:
            shown += f", {int(np.sum(~np.isnan(self.fixed[0])))} units affine"
        return shown


@dataclass(frozen=True, eq=False)
class Vector:
    fn: VectorFn
    origin: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.fn.key} ({' + '.join(self.origin)})"


@dataclass(frozen=True, eq=False)
class Identity:
    origin: tuple[str, ...]
    note: str

    def describe(self) -> str:
        return f"identity ({' + '.join(self.origin)})"


@dataclass(frozen=True, eq=False)
class Opaque:
    """A layer the passes do not look into: evaluated by its own forward pass."""

    layer: Any
    origin: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.layer.kind} ({' + '.join(self.origin)})"


Step = Affine | Elementwise | Vector | Identity | Opaque


@dataclass(frozen=True, eq=False)
class PassResult:
    """One pass: its name, the chains before and after, and what changed."""

    name: str
    before: tuple[Step, ...]
    after: tuple[Step, ...]
    notes: tuple[str, ...]

    def describe(self) -> str:
        lines = [f"{self.name}: {len(self.before)} steps -> {len(self.after)} steps"]
        lines += [f"  {n}" for n in self.notes] or ["  (nothing to do)"]
        return "\n".join(lines)


def _f64(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def chain_of(net: Any) -> tuple[Step, ...]:
    """The network as a chain of steps; ``UnsupportedLayerError`` if it branches."""
    nodes = [n for n in net._nodes if n.layer.kind != "InputLayer"]
    if len(net._graph.inputs) != 1 or len(net._graph.outputs) != 1:
        raise UnsupportedLayerError("simplification passes need one input and one output")
    previous = net._graph.inputs[0]
    steps: list[Step] = []
    for node in nodes:
        if node.inputs != (previous,):
            raise UnsupportedLayerError(
                f"simplification passes need a chain of layers; layer {node.layer.name!r} "
                f"({node.layer.kind}) branches or merges", layer=node.layer.name,
                kind=node.layer.kind)
        steps.extend(_steps(node.layer))
        previous = node.output
    return tuple(steps)


def _steps(layer: Any) -> list[Step]:
    from .symbolic import Map, VectorMap

    name, kind, p = (layer.name,), layer.kind, layer.parameters
    vector_shaped = len(layer.output_shape) == 1
    if kind in ("Dense",) and vector_shaped:
        out: list[Step] = [Affine(_f64(p["kernel"]), _f64(p["bias"]) if "bias" in p else
                                  np.zeros(p["kernel"].shape[1]), name)]
        rhs = layer.formula.rhs  # the activation as the formula has it (options included)
        if isinstance(rhs, Map):
            out.append(Elementwise(rhs.fn, name))
        elif isinstance(rhs, VectorMap):
            out.append(Vector(rhs.fn, name))
        return out
    if kind == "BatchNormalization" and vector_shaped:
        eps = layer.constants["epsilon"]
        scale = RSQRT.numpy(_f64(p["moving_variance"]) + eps)
        if "gamma" in p:
            scale = scale * _f64(p["gamma"])
        shift = -_f64(p["moving_mean"]) * scale + (_f64(p["beta"]) if "beta" in p else 0.0)
        return [Affine(np.diag(scale), shift, name, batchnorm=True)]
    if layer.formula.rhs == layer.input_symbols[0] or (kind in ("Flatten", "Reshape")
                                                       and vector_shaped):
        return [Identity(name, layer.note)]
    if kind in ("Activation", "ReLU", "LeakyReLU", "ELU", "Softmax") and vector_shaped:
        rhs = layer.formula.rhs
        if isinstance(rhs, Map):
            return [Elementwise(rhs.fn, name)]
        if isinstance(rhs, VectorMap):
            return [Vector(rhs.fn, name)]
    return [Opaque(layer, name)]


def evaluate_chain(steps: tuple[Step, ...], x: np.ndarray, net: Any | None = None
                   ) -> np.ndarray:
    """The chain's output for a batch ``x`` (float64)."""
    from .numeric import FloatBackend

    backend = FloatBackend(np.float64)
    h = np.asarray(x, dtype=np.float64)
    for step in steps:
        if isinstance(step, Affine):
            h = h.reshape(h.shape[0], -1) @ step.weight + step.bias
        elif isinstance(step, Elementwise):
            out = backend.map(step.fn, h)
            if step.fixed is not None:
                slope, intercept = step.fixed
                out = np.where(np.isnan(slope), out, np.nan_to_num(slope) * h
                               + np.nan_to_num(intercept))
            h = out
        elif isinstance(step, Vector):
            h = backend.vector(step.fn, h, -1)
        elif isinstance(step, Opaque):
            if net is None:
                raise ValueError("an opaque step needs the network to be evaluated")
            weights = net._layer_weights(backend, step.layer)
            h = step.layer.forward(backend, [h], weights)
    return h


def remove_identities(steps: tuple[Step, ...]) -> PassResult:
    """Drop the steps that are the identity at inference (Dropout, noise, Flatten of a vector)."""
    kept = tuple(s for s in steps if not isinstance(s, Identity))
    notes = tuple(f"removed {s.origin[0]}: {s.note or 'the identity'}" for s in steps
                  if isinstance(s, Identity))
    return PassResult("remove identities", steps, kept, notes)


def _merge(first: Affine, second: Affine) -> Affine:
    return Affine(first.weight @ second.weight, first.bias @ second.weight + second.bias,
                  first.origin + second.origin, batchnorm=False)


def fold_batchnorm(steps: tuple[Step, ...]) -> PassResult:
    """Fold each BatchNorm into the Dense just before it, else into the Dense just after it."""
    out: list[Step] = []
    notes = []
    pending: Affine | None = None  # a BatchNorm with no affine step before it
    for step in steps:
        if pending is not None:
            if isinstance(step, Affine):
                out.append(_merge(pending, step))
                notes.append(f"folded {pending.origin[0]} into the following {step.origin[0]}")
                pending = None
                continue
            out.append(pending)
            pending = None
        if isinstance(step, Affine) and step.batchnorm:
            if out and isinstance(out[-1], Affine):
                notes.append(f"folded {step.origin[0]} into {out[-1].origin[-1]}: W' = W·diag(γ/√"
                             "(σ²+ε)), b' = (b − μ)·γ/√(σ²+ε) + β")
                out[-1] = _merge(out[-1], step)
            else:
                pending = step
            continue
        out.append(step)
    if pending is not None:
        out.append(pending)
    return PassResult("fold BatchNorm", steps, tuple(out), tuple(notes))


def merge_affine(steps: tuple[Step, ...]) -> PassResult:
    """Multiply out consecutive affine steps into one."""
    out: list[Step] = []
    notes = []
    for step in steps:
        if isinstance(step, Affine) and out and isinstance(out[-1], Affine):
            notes.append(f"merged {' + '.join(out[-1].origin)} with {' + '.join(step.origin)}")
            out[-1] = _merge(out[-1], step)
        else:
            out.append(step)
    return PassResult("merge affine maps", steps, tuple(out), tuple(notes))


def _monotone_bounds(fn: ScalarFn, low: np.ndarray, high: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray] | None:
    """Bounds of ``fn`` over ``[low, high]`` if ``fn`` is piecewise linear and non-decreasing."""
    from .piecewise import _piece

    kinks = np.asarray(fn.kinks, dtype=np.float64)
    slopes = _piece(fn, kinks, np.arange(kinks.size + 1))[0]
    if not fn.piecewise_linear or np.any(slopes < 0):
        return None
    values = [fn.numpy(low), fn.numpy(high)]
    if any(np.any(np.isnan(v)) for v in values):
        return None
    return values[0], values[1]


def prune_units(steps: tuple[Step, ...], low: np.ndarray, high: np.ndarray) -> PassResult:
    """On the input box ``[low, high]``: remove units whose activation is constant there.

    Bounds are propagated exactly in interval arithmetic (``W⁺``/``W⁻`` split through affine
    steps, monotone piecewise-linear activations applied to both ends). A unit whose
    pre-activation bounds lie within one piece of constant value (a ReLU that never passes:
    the unit is dead) outputs that constant on the whole box: the unit is deleted from the
    affine step before and its constant added to the next step's bias. Units that stay on one
    piece of non-zero slope are marked affine (``Elementwise.fixed``). The pass stops at the
    first step it cannot bound.
    """
    from .piecewise import piece_at

    out = list(steps)
    notes: list[str] = []
    lo, hi = np.asarray(low, np.float64).reshape(-1), np.asarray(high, np.float64).reshape(-1)
    i = 0
    while i < len(out):
        step = out[i]
        if isinstance(step, Identity):
            i += 1
            continue
        if isinstance(step, Affine):
            w_pos, w_neg = np.maximum(step.weight, 0), np.minimum(step.weight, 0)
            lo, hi = lo @ w_pos + hi @ w_neg + step.bias, hi @ w_pos + lo @ w_neg + step.bias
            i += 1
            continue
        if not isinstance(step, Elementwise):
            break
        bounds = _monotone_bounds(step.fn, lo, hi)
        if bounds is None:
            break
        s_lo, c_lo, _, piece_end = piece_at(step.fn, lo)
        one_piece = hi <= piece_end
        constant = one_piece & (s_lo == 0)
        linear = one_piece & ~constant
        if np.any(linear):
            out[i] = step = replace(step, fixed=(np.where(linear, s_lo, np.nan),
                                                 np.where(linear, c_lo, np.nan)))
            notes.append(f"{step.origin[0]}: units {np.flatnonzero(linear).tolist()} stay on one "
                         "piece on the box: replaced by that affine piece")
        before = next((j for j in range(i - 1, -1, -1) if not isinstance(out[j], Identity)),
                      None)
        if before is not None and not isinstance(out[before], Affine):
            before = None
        after = next((j for j in range(i + 1, len(out)) if isinstance(out[j], Affine)), None)
        clean_between = after is not None and all(
            isinstance(out[j], Identity) for j in range(i + 1, after))
        if np.any(constant) and before is not None and clean_between:
            keep = ~constant
            prev, nxt = out[before], out[after]
            assert isinstance(prev, Affine) and isinstance(nxt, Affine)
            folded = c_lo[constant] @ nxt.weight[constant]
            out[before] = replace(prev, weight=prev.weight[:, keep], bias=prev.bias[keep])
            out[after] = replace(nxt, weight=nxt.weight[keep], bias=nxt.bias + folded)
            if step.fixed is not None:
                out[i] = replace(step, fixed=(step.fixed[0][keep], step.fixed[1][keep]))
            notes.append(f"{step.origin[0]}: removed units {np.flatnonzero(constant).tolist()}, "
                         "constant on the box (dead)")
            lo, hi = bounds[0][keep], bounds[1][keep]
        else:
            lo, hi = bounds
        i += 1
    return PassResult("prune constant units", steps, tuple(out), tuple(notes))


def simplify(net: Any, domain: Any = None) -> list[PassResult]:
    """Every pass in turn on the network's chain; with ``domain`` (an input box: ``(low,
    high)`` for all inputs, or one pair per input), also :func:`prune_units`."""
    results = []
    steps = chain_of(net)
    for run in (remove_identities, fold_batchnorm, merge_affine):
        result = run(steps)
        results.append(result)
        steps = result.after
    if domain is not None:
        box = np.asarray(domain, dtype=np.float64)
        n = len(net.inputs)
        low, high = (np.full(n, box[0]), np.full(n, box[1])) if box.shape == (2,) else (
            box[:, 0], box[:, 1])
        result = prune_units(steps, low, high)
        results.append(result)
        steps = result.after
        results.append(merge_affine(steps))
    return results
