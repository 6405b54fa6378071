"""The catalogue of hand-calculation mistakes: each is the network with some ops rewritten.

Every op says how a hand calculation gets it wrong (:meth:`symnet.ops.Op.mistakes`): an
activation forgotten, a kernel transposed, a bias left out, BatchNorm's ε outside the square
root or left out, batch statistics in place of the moving ones, dropout applied at inference,
the logits reported instead of the probabilities. The catalogue collects those rewrites over the
graph and adds one of its own: two consecutive entrywise layers computed in the wrong order.
Running the rewritten graph gives the number the student would have found, so a mistake is
diagnosed when its number matches the student's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..backends import FloatBackend
from ..graph import Graph, LayerCall, Node
from ..ops import Op

__all__ = ["Mistake", "catalogue", "run_with"]


@dataclass(frozen=True)
class Mistake:
    """One way of getting the calculation wrong; ``code`` is the diagnosis it leads to."""

    code: str
    layer: str
    message: str
    changes: Mapping[int, Op] = field(default_factory=dict)
    """Node index -> the op as the student computed it."""
    swap: tuple[LayerCall, LayerCall] | None = None
    """Two consecutive layer calls computed in the opposite order."""
    uses_batch: bool = False
    """Whether the mistake needs the batch run through the network with the sample."""

    def __add__(self, other: Mistake) -> Mistake:
        return Mistake(f"{self.code}+{other.code}", self.layer,
                       f"{self.message} Also: {other.message}",
                       {**self.changes, **other.changes}, self.swap or other.swap,
                       self.uses_batch or other.uses_batch)

    def compatible(self, other: Mistake) -> bool:
        """Whether both can be made at once (they rewrite different ops)."""
        return not (set(self.changes) & set(other.changes)) and not (self.swap and other.swap)

    def nodes(self, graph: Graph) -> tuple[Node, ...]:
        nodes = list(graph.replaced(dict(self.changes)))
        if self.swap is not None:
            first, second = self.swap
            a, b = list(first.nodes), list(second.nodes)
            source, target = graph.nodes[a[0]].inputs[0], graph.nodes[b[-1]].output
            ops = [nodes[i].op for i in b] + [nodes[i].op for i in a]
            layers = [nodes[i].layer for i in b] + [nodes[i].layer for i in a]
            names = [nodes[i].output for i in a + b]
            names[-1] = target
            chain, previous = [], source
            for op, layer, name in zip(ops, layers, names):
                chain.append(Node(op, (previous,), name, layer))
                previous = name
            nodes[a[0]:b[-1] + 1] = chain
        return tuple(nodes)


def run_with(graph: Graph, arrays: list[np.ndarray], mistake: Mistake | None) -> dict[str, Any]:
    """Every tensor's float64 value with ``mistake`` made (``None``: the correct computation)."""
    nodes = graph.nodes if mistake is None else mistake.nodes(graph)
    return graph.run(FloatBackend(np.float64), arrays, nodes)


def _last_nodes(graph: Graph) -> set[int]:
    """The nodes that make an output: only the identity lies between them and it."""
    index = {node.output: i for i, node in enumerate(graph.nodes)}
    last = set()
    for tensor in graph.outputs:
        i = index.get(tensor)
        while i is not None and graph.nodes[i].op.identity:
            i = index.get(graph.nodes[i].inputs[0])
        if i is not None:
            last.add(i)
    return last


def catalogue(graph: Graph, batch_rows: int | None = None) -> list[Mistake]:
    """Every single mistake that applies to this network."""
    mistakes: list[Mistake] = []
    last = _last_nodes(graph)
    for call in graph.calls:
        for i in call.nodes:
            node = graph.nodes[i]
            for rewrite in node.op.mistakes(last=i in last, batch=batch_rows):
                mistakes.append(Mistake(rewrite.code, node.layer,
                                        rewrite.message.replace("{layer}", repr(node.layer)),
                                        {i: rewrite.op}, uses_batch=rewrite.uses_batch))
        after = _next_call(graph, call)
        if after is not None and _swappable(graph, call, after):
            first, second = call.layer, after.layer
            mistakes.append(Mistake(
                "wrong_layer_order", first.name,
                f"{second.name!r} was applied before {first.name!r}: the model computes "
                f"{first.name!r} ({first.kind}) first, then {second.name!r} ({second.kind}).",
                swap=(call, after)))
    return mistakes


def _next_call(graph: Graph, call: LayerCall) -> LayerCall | None:
    """The call that reads this call's output, if it is the only one and reads only it."""
    readers = [c for c in graph.calls if call.output in c.inputs]
    return readers[0] if len(readers) == 1 and readers[0].inputs == (call.output,) else None


def _swappable(graph: Graph, first: LayerCall, second: LayerCall) -> bool:
    """Two layers that act entry by entry on the same shape, doing different things."""
    def ops(call: LayerCall) -> list[Op]:
        return [graph.nodes[i].op for i in call.nodes]

    both = ops(first) + ops(second)
    return (all(op.entrywise for op in both)
            and not all(op.identity for op in ops(first))
            and not all(op.identity for op in ops(second))
            and [type(op) for op in ops(first)] != [type(op) for op in ops(second)]
            and graph.shapes[first.inputs[0]] == graph.shapes[second.output])
