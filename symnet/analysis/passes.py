"""Simplification passes: a chain network, transformed step by step, each step exact.

A network whose nodes form a chain (one input, one output, no branching) is a tuple of
:class:`~symnet.graph.Node`\\ s. Each pass matches a pattern of ops and returns a new chain and
notes of what it changed, so that a report can show "before -> after". The passes read what ops
say of themselves — ``identity``, ``as_affine``, ``Elementwise.fn`` — never layer kinds:

- :func:`remove_identities` drops the ops that are the identity at inference (Dropout, noise,
  Flatten of a vector);
- :func:`fold_batchnorm` folds each BatchNorm (``scale = γ/√(σ²+ε)``, ``shift = β − scale·μ``)
  into the affine ops next to it (the Dense before it, or the one after it);
- :func:`merge_affine` multiplies out consecutive affine ops;
- :func:`prune_units` propagates interval bounds of an input box through the chain and replaces
  each unit whose activation stays on one piece by that piece: a unit constant there (a dead
  ReLU) is removed, its constant folded into the next bias; a unit that always passes becomes
  affine.

Passes work in float64 on the float32 weights; their tests check every result against
``Network.evaluate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..backends import FloatBackend, piece_at
from ..graph import Graph, Node, run_nodes
from ..ops import Affine, BatchNormInference, BiasAdd, Elementwise, Param

__all__ = ["PassResult", "describe", "evaluate_chain", "fold_batchnorm", "merge_affine",
           "prune_units", "remove_identities", "simplify"]

Shapes = Mapping[str, tuple[int, ...]]


@dataclass(frozen=True, eq=False)
class PassResult:
    """One pass: its name, the chains before and after, and what changed."""

    name: str
    before: tuple[Node, ...]
    after: tuple[Node, ...]
    notes: tuple[str, ...]

    def describe(self) -> str:
        lines = [f"{self.name}: {len(self.before)} steps -> {len(self.after)} steps"]
        lines += [f"  {n}" for n in self.notes] or ["  (nothing to do)"]
        return "\n".join(lines)


def describe(node: Node) -> str:
    """A node in a few words, with the layers it came from."""
    if isinstance(node.op, Affine):
        return node.op.describe()
    return f"{node.op.describe()} ({node.layer})"


def evaluate_chain(nodes: tuple[Node, ...], x: np.ndarray) -> np.ndarray:
    """The chain's output for a batch ``x`` (float64)."""
    values = run_nodes(nodes, [nodes[0].inputs[0]], FloatBackend(np.float64),
                       [np.asarray(x, np.float64)])
    return np.asarray(values[nodes[-1].output])


def _relink(nodes: list[Node], first_input: str) -> tuple[Node, ...]:
    """The nodes as a chain again: each reads the one before."""
    out, previous = [], first_input
    for node in nodes:
        out.append(node if node.inputs == (previous,) else replace(node, inputs=(previous,)))
        previous = node.output
    return tuple(out)


def remove_identities(nodes: tuple[Node, ...], shapes: Shapes) -> PassResult:
    """Drop the ops that are the identity at inference."""
    kept = [n for n in nodes if not n.op.identity]
    notes, seen = [], set()
    for n in nodes:
        if n.op.identity and n.layer not in seen:
            seen.add(n.layer)
            notes.append(f"removed {n.layer}: {getattr(n.op, 'note', '') or 'the identity'}")
    return PassResult("remove identities", nodes, _relink(kept, nodes[0].inputs[0]),
                      tuple(notes))


def _affine(node: Node, shapes: Shapes) -> Affine | None:
    """The node as one ``Affine`` op, if it is affine on vectors."""
    if isinstance(node.op, Affine):
        return node.op
    n_in = shapes[node.inputs[0]]
    if len(n_in) != 1 or len(shapes[node.output]) != 1:
        return None
    # an op affine entry by entry keeps its diagonal (a 1-D weight) until it is merged
    form = node.op.as_diagonal(n_in[0]) or node.op.as_affine(n_in[0])
    if form is None:
        return None
    return Affine(np.asarray(form[0], np.float64), np.asarray(form[1], np.float64),
                  (node.layer,), batchnorm=isinstance(node.op, BatchNormInference))


def _dense(op: Affine) -> Affine:
    """The op with its weight as a matrix (a diagonal one given as its diagonal)."""
    return replace(op, weight=np.diag(op.weight)) if op.weight.ndim == 1 else op


def _merge(nodes: list[Node], ops: list[Affine]) -> Node:
    weight, bias, origin = ops[0].weight, ops[0].bias, list(ops[0].origin)
    for op in ops[1:]:
        if op.weight.ndim == 1:  # x W ⊙ d: the columns scaled, no n×n product
            weight = weight * op.weight if weight.ndim == 1 else weight * op.weight[None, :]
            bias = bias * op.weight + op.bias
        else:
            weight = weight[:, None] * op.weight if weight.ndim == 1 else weight @ op.weight
            bias = bias @ op.weight + op.bias
        origin += [o for o in op.origin if o not in origin]
    merged = _dense(Affine(weight, bias, tuple(origin)))
    return Node(merged, nodes[0].inputs, nodes[-1].output, " + ".join(origin))


def _runs(nodes: tuple[Node, ...], shapes: Shapes) -> list[tuple[list[Node], list[Affine]]]:
    """The chain cut into runs of consecutive affine nodes (and single other nodes)."""
    runs: list[tuple[list[Node], list[Affine]]] = []
    for node in nodes:
        op = _affine(node, shapes)
        if op is not None and runs and runs[-1][1]:
            runs[-1][0].append(node)
            runs[-1][1].append(op)
        else:
            runs.append(([node], [op] if op is not None else []))
    return runs


def fold_batchnorm(nodes: tuple[Node, ...], shapes: Shapes) -> PassResult:
    """Fold each BatchNorm into the Dense (or convolution) just before it, else into the
    Dense just after it."""
    out: list[Node] = []
    notes: list[str] = []
    nodes_in = nodes
    nodes = _relink(list(_fold_into_kernel(nodes, shapes, notes)), nodes[0].inputs[0])
    for run, ops in _runs(nodes, shapes):
        folded = [i for i, op in enumerate(ops) if op.batchnorm]
        if not folded or len(ops) < 2:
            out.extend(run)  # plain affine ops are merged by the next pass
            continue
        for i in folded:
            bn = ops[i].origin[0]
            notes.append(f"folded {bn} into {ops[i - 1].origin[-1]}: W' = W·diag(γ/√(σ²+ε)), "
                         "b' = (b − μ)·γ/√(σ²+ε) + β" if i > 0 else
                         f"folded {bn} into the following {ops[1].origin[0]}")
        out.append(_merge(run, ops))
    return PassResult("fold BatchNorm", nodes_in, _relink(out, nodes[0].inputs[0]),
                      tuple(notes))


def _fold_into_kernel(nodes: tuple[Node, ...], shapes: Shapes,
                      notes: list[str]) -> tuple[Node, ...]:
    """Conv (or x·K on more than vectors), its bias, then a BatchNorm of the channels: one
    kernel scaled per output channel and one bias, ``K' = K·diag(s)``, ``b' = b·s + t``."""
    kept: list[Node] = []
    i = 0
    while i < len(nodes):
        node = nodes[i]
        scaled = getattr(node.op, "scaled", None)
        bias_node = nodes[i + 1] if i + 1 < len(nodes) and isinstance(nodes[i + 1].op,
                                                                       BiasAdd) else None
        j = i + (2 if bias_node is not None else 1)
        bn = nodes[j] if j < len(nodes) else None
        if (scaled is not None and bn is not None and isinstance(bn.op, BatchNormInference)
                and bn.op.variant == "inference" and bn.op.rowwise
                and len(shapes[node.output]) > 1):
            scale, shift = bn.op.scale_shift()
            bias = (np.asarray(bias_node.op.bias.value, np.float64)
                    if bias_node is not None and isinstance(bias_node.op, BiasAdd)
                    else np.zeros(scale.size))
            param = Param("bias", None, bias * scale + shift, True, "bias with BatchNorm folded")
            kept.append(Node(scaled(scale), node.inputs, node.output, node.layer))
            kept.append(Node(BiasAdd(param), (node.output,), bn.output, bn.layer))
            notes.append(f"folded {bn.layer} into {node.layer}: K' = K·diag(γ/√(σ²+ε)) per "
                         "output channel, b' = (b − μ)·γ/√(σ²+ε) + β")
            i = j + 1
            continue
        kept.append(node)
        i += 1
    return tuple(kept)


def merge_affine(nodes: tuple[Node, ...], shapes: Shapes) -> PassResult:
    """Multiply out consecutive affine ops into one."""
    out: list[Node] = []
    notes = []
    for run, ops in _runs(nodes, shapes):
        if len(ops) > 1:
            layers = list(dict.fromkeys(o for op in ops for o in op.origin))
            if len(layers) > 1:
                notes.append(f"merged {' + '.join(layers[:-1])} with {layers[-1]}")
            out.append(_merge(run, ops))
        elif ops and not isinstance(run[0].op, Affine):
            out.append(Node(_dense(ops[0]), run[0].inputs, run[0].output, run[0].layer))
        else:
            out.extend(run)
    return PassResult("merge affine maps", nodes, _relink(out, nodes[0].inputs[0]),
                      tuple(notes))


def _monotone_bounds(fn: Any, low: np.ndarray, high: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray] | None:
    """Bounds of ``fn`` over ``[low, high]`` if ``fn`` is piecewise linear and non-decreasing."""
    from ..backends.linearized import pieces_of

    if not fn.piecewise_linear:
        return None
    slopes = pieces_of(fn, np.arange(len(fn.kinks) + 1))[0]
    if np.any(slopes < 0):
        return None
    values = [fn.numpy(low), fn.numpy(high)]
    if any(np.any(np.isnan(v)) for v in values):
        return None
    return values[0], values[1]


def prune_units(nodes: tuple[Node, ...], shapes: Shapes, low: np.ndarray, high: np.ndarray
                ) -> PassResult:
    """On the input box ``[low, high]``: remove units whose activation is constant there.

    Bounds are propagated exactly in interval arithmetic (``W⁺``/``W⁻`` split through affine
    ops, monotone piecewise-linear activations applied to both ends). A unit whose
    pre-activation bounds lie within one piece of constant value (a ReLU that never passes:
    the unit is dead) outputs that constant on the whole box: the unit is deleted from the
    affine op before and its constant added to the next op's bias. Units that stay on one
    piece of non-zero slope are marked affine (``Elementwise.fixed``). The pass stops at the
    first op it cannot bound.
    """
    out = list(nodes)
    notes: list[str] = []
    lo, hi = np.asarray(low, np.float64).reshape(-1), np.asarray(high, np.float64).reshape(-1)
    i = 0
    while i < len(out):
        node = out[i]
        if isinstance(node.op, Affine):
            w_pos, w_neg = np.maximum(node.op.weight, 0), np.minimum(node.op.weight, 0)
            lo, hi = (lo @ w_pos + hi @ w_neg + node.op.bias,
                      hi @ w_pos + lo @ w_neg + node.op.bias)
            i += 1
            continue
        if not isinstance(node.op, Elementwise):
            break
        step = node.op
        bounds = _monotone_bounds(step.fn, lo, hi)
        if bounds is None:
            break
        s_lo, c_lo, _, piece_end = piece_at(step.fn, lo)
        one_piece = hi <= piece_end
        constant = one_piece & (s_lo == 0)
        linear = one_piece & ~constant
        if np.any(linear):
            step = replace(step, fixed=(np.where(linear, s_lo, np.nan),
                                        np.where(linear, c_lo, np.nan)))
            out[i] = replace(node, op=step)
            notes.append(f"{node.layer}: units {np.flatnonzero(linear).tolist()} stay on one "
                         "piece on the box: replaced by that affine piece")
        before = i - 1 if i > 0 and isinstance(out[i - 1].op, Affine) else None
        after = i + 1 if i + 1 < len(out) and isinstance(out[i + 1].op, Affine) else None
        if np.any(constant) and before is not None and after is not None:
            keep = ~constant
            prev, nxt = out[before].op, out[after].op
            assert isinstance(prev, Affine) and isinstance(nxt, Affine)
            folded = c_lo[constant] @ nxt.weight[constant]
            out[before] = replace(out[before], op=replace(prev, weight=prev.weight[:, keep],
                                                          bias=prev.bias[keep]))
            out[after] = replace(out[after], op=replace(nxt, weight=nxt.weight[keep],
                                                        bias=nxt.bias + folded))
            if step.fixed is not None:
                out[i] = replace(out[i], op=replace(step, fixed=(step.fixed[0][keep],
                                                                 step.fixed[1][keep])))
            notes.append(f"{node.layer}: removed units {np.flatnonzero(constant).tolist()}, "
                         "constant on the box (dead)")
            lo, hi = bounds[0][keep], bounds[1][keep]
        else:
            lo, hi = bounds
        i += 1
    return PassResult("prune constant units", nodes, tuple(out), tuple(notes))


def simplify(graph: Graph, domain: Any = None) -> list[PassResult]:
    """Every pass in turn on the graph's chain; with ``domain`` (an input box: ``(low, high)``
    for all inputs, or one pair per input), also :func:`prune_units`."""
    results = []
    nodes = graph.chain()
    for run in (remove_identities, fold_batchnorm, merge_affine):
        result = run(nodes, graph.shapes)
        results.append(result)
        nodes = result.after
    if domain is not None:
        box = np.asarray(domain, dtype=np.float64)
        n = len(graph.features)
        low, high = (np.full(n, box[0]), np.full(n, box[1])) if box.shape == (2,) else (
            box[:, 0], box[:, 1])
        result = prune_units(nodes, graph.shapes, low, high)
        results.append(result)
        nodes = result.after
        results.append(merge_affine(nodes, graph.shapes))
    return results
