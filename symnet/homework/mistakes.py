"""The catalogue of hand-calculation mistakes: each is the network with some ops rewritten.

Every op says how a hand calculation gets it wrong (:meth:`symnet.ops.Op.mistakes`): an
activation forgotten or its input written as the layer's output, a kernel transposed, a bias
left out, BatchNorm's ε outside the square root or left out, σ used for σ², γ and β swapped,
batch statistics in place of the moving ones, dropout applied at inference, the logits reported
instead of the probabilities, a sigmoid in place of the softmax, the input normalisation left
out. The catalogue collects those rewrites over the graph and adds two of its own: an
activation applied to an output layer that has none, and two consecutive entrywise layers
computed in the wrong order.

A misconception is made the same way wherever it applies: so besides each mistake in one
place, the catalogue holds each mistake made everywhere it applies (one code, the layers
named), and :func:`pairs` combines two *different* mistakes. Running the rewritten graph gives
the numbers the student would have found, so a mistake is diagnosed when they match.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..backends import FloatBackend
from ..graph import Graph, LayerCall, Node
from ..ops import Elementwise, Fn, Op, relu_fn
from ..ops.recurrent import Recurrent

__all__ = ["MAX_PAIRS", "Mistake", "catalogue", "pairs", "run_with"]


@dataclass(frozen=True, eq=False)
class Then(Op):
    """``second(first(x))``: an op followed by one the network does not have (an activation
    applied to an output layer that has none)."""

    first: Op
    second: Op

    def formula(self, *xs: Any) -> Any:
        return self.second.formula(self.first.formula(*xs))

    def forward(self, backend: Any, *xs: Any) -> Any:
        return self.second.forward(backend, self.first.forward(backend, *xs))

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        return self.second.output_shape(self.first.output_shape(*shapes))

    def describe(self) -> str:
        return f"{self.first.describe()}, then {self.second.describe()}"


@dataclass(frozen=True, eq=False)
class Mistake:
    """One way of getting the calculation wrong; ``code`` is the diagnosis it leads to
    (``a+b`` for two different mistakes made together)."""

    code: str
    layers: tuple[str, ...]
    """The layers it is made in, in execution order."""
    message: str
    changes: Mapping[int, Op] = field(default_factory=dict)
    """Node index -> the op as the student computed it."""
    reported: Mapping[int, Op] = field(default_factory=dict)
    """Node index -> the op that gives what the student wrote for the layer, while the next
    layers read the right value."""
    after: Mapping[int, Op] = field(default_factory=dict)
    """Node index -> an op the student applied after it."""
    swaps: tuple[tuple[LayerCall, LayerCall], ...] = ()
    """Pairs of consecutive layer calls, each computed in the opposite order."""
    uses_batch: bool = False
    """Whether the mistake needs the batch run through the network with the sample."""
    variant: str = ""
    everywhere: bool = False
    """Made in every place it applies (more than one)."""
    components: tuple[Mistake, ...] = ()
    """For two mistakes made together: the two."""

    @property
    def layer(self) -> str:
        """The first layer it is made in."""
        return self.layers[0]

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.code.split("+"))

    def touched(self) -> set[int]:
        return set(self.changes) | set(self.reported) | set(self.after)

    def compatible(self, other: Mistake) -> bool:
        """Whether both can be made at once: different mistakes, on different ops."""
        return (not set(self.parts) & set(other.parts)
                and not self.touched() & other.touched()
                and not ((self.swaps or self.reported) and (other.swaps or other.reported)))

    def __add__(self, other: Mistake) -> Mistake:
        layers = tuple(dict.fromkeys(self.layers + other.layers))
        return Mistake(f"{self.code}+{other.code}", layers,
                       f"{self.message} Also: {_lower_first(other.message)}",
                       {**self.changes, **other.changes}, {**self.reported, **other.reported},
                       {**self.after, **other.after}, self.swaps + other.swaps,
                       self.uses_batch or other.uses_batch,
                       components=(*(self.components or (self,)),
                                   *(other.components or (other,))))

    @property
    def changes_reported_only(self) -> bool:
        """Only what is written for some layers differs: the final answer is the right one."""
        return bool(self.reported) and not (self.changes or self.after or self.swaps)

    def nodes(self, graph: Graph) -> tuple[Node, ...]:
        """The graph's nodes with the mistake made."""
        nodes = list(graph.replaced(dict(self.changes)))
        for i, extra in self.after.items():
            n = nodes[i]
            nodes[i] = Node(Then(n.op, extra), n.inputs, n.output, n.layer)
        for first, second in self.swaps:
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
        if not self.reported:
            return tuple(nodes)
        # the written value keeps the tensor's name; the right one goes on as name~, which
        # every later node reads instead (one pass: a mistake reported in each of 500 layers)
        out: list[Node] = []
        rename: dict[str, str] = {}
        for i, n in enumerate(nodes):
            inputs = tuple(rename.get(k, k) for k in n.inputs) if rename else n.inputs
            if i in self.reported:
                right = n.output + "~"
                out += [Node(self.reported[i], inputs, n.output, n.layer),
                        Node(n.op, inputs, right, n.layer)]
                rename[n.output] = right
            else:
                out.append(n if inputs == n.inputs else Node(n.op, inputs, n.output, n.layer))
        return tuple(out)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


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


def _names(layers: tuple[str, ...]) -> str:
    shown = [repr(name) for name in layers]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _fill(template: str, layers: tuple[str, ...]) -> str:
    """A rewrite's message for the layers it is made in."""
    if len(layers) > 1:
        template = template.replace("layer {layer}", "layers {layer}")
    text = template.replace("{layer}", _names(layers))
    text = text[:1].upper() + text[1:]
    if len(layers) > 1:
        where = "both layers" if len(layers) == 2 else f"all {len(layers)} layers"
        text = f"{text.rstrip('.')} (the same mistake in {where} where it applies)."
    return text


def catalogue(graph: Graph, batch_rows: int | None = None) -> list[Mistake]:
    """Every mistake that applies to this network, made once: in one place, then each made in
    every place it applies (when there are several)."""
    sites: list[tuple[Mistake, str]] = []  # with their message templates
    last = _last_nodes(graph)
    for call in graph.calls:
        for i in call.nodes:
            node = graph.nodes[i]
            for rewrite in node.op.mistakes(last=i in last, batch=batch_rows):
                where = "reported" if rewrite.reported_only else "changes"
                sites.append((Mistake(rewrite.code, (node.layer,),
                                      _fill(rewrite.message, (node.layer,)),
                                      uses_batch=rewrite.uses_batch, variant=rewrite.variant,
                                      **{where: {i: rewrite.op}}), rewrite.message))
        after = _next_call(graph, call)
        if after is not None and _swappable(graph, call, after):
            first, second = call.layer, after.layer
            template = (f"{{layer}}: the later layer was applied first; the model computes "
                        f"{first.kind} first, then {second.kind}.")
            sites.append((Mistake(
                "wrong_layer_order", (first.name,),
                f"{second.name!r} was applied before {first.name!r}: the model computes "
                f"{first.name!r} ({first.kind}) first, then {second.name!r} ({second.kind}).",
                swaps=((call, after),), variant=f"{first.kind}>{second.kind}"), template))
    sites += _activations_on_outputs(graph, last)
    mistakes = [m for m, _ in sites]
    groups: dict[tuple[str, str], list[tuple[Mistake, str]]] = {}
    for m, template in sites:
        groups.setdefault((m.code, m.variant), []).append((m, template))
    for (code, variant), group in groups.items():
        if len(group) < 2:
            continue
        layers = tuple(dict.fromkeys(layer for m, _ in group for layer in m.layers))
        merged: dict[str, dict[int, Op]] = {"changes": {}, "reported": {}, "after": {}}
        for m, _ in group:
            for key in merged:
                merged[key].update(getattr(m, key))
        mistakes.append(Mistake(code, layers, _fill(group[0][1], layers),
                                swaps=tuple(pair for m, _ in group for pair in m.swaps),
                                uses_batch=any(m.uses_batch for m, _ in group),
                                variant=variant, everywhere=True, **merged))
    return mistakes


MAX_PAIRS = 2000
"""Pairs tried at most: a network of hundreds of layers has hundreds of thousands."""


def pairs(mistakes: list[Mistake], limit: int = MAX_PAIRS) -> list[Mistake]:
    """Two different mistakes made together, for every pair that can be; the likeliest
    first (two misconceptions, each made everywhere, then one of them with a slip in one
    layer, then two slips), at most ``limit``."""
    out: list[Mistake] = []
    for a, b in _ranked_pairs(mistakes):
        if a.compatible(b):
            out.append(a + b)
            if len(out) >= limit:
                break
    return out


def _ranked_pairs(mistakes: list[Mistake]) -> Iterator[tuple[Mistake, Mistake]]:
    """Every pair (in the order of ``itertools.combinations``) with both made everywhere,
    then with one, then with none: generated lazily, as the few thousand tried are wanted,
    not the million pairs of a network of 500 layers sorted."""
    for wanted in (2, 1, 0):
        for i, a in enumerate(mistakes):
            if wanted == 2 and not a.everywhere:
                continue
            for b in mistakes[i + 1:]:
                if a.everywhere + b.everywhere == wanted:
                    yield a, b


def _activations_on_outputs(graph: Graph, last: set[int]) -> list[tuple[Mistake, str]]:
    """An output layer without activation, computed as if it had the hidden layers' (or a
    ReLU, for a network without any)."""
    hidden: dict[str, Fn] = {}
    for i, node in enumerate(graph.nodes):
        if isinstance(node.op, Elementwise) and i not in last and node.op.fixed is None:
            hidden.setdefault(node.op.fn.key, node.op.fn)
        elif isinstance(node.op, Recurrent) and node.op.activation is not None:
            hidden.setdefault(node.op.activation.key, node.op.activation)
    if not hidden:
        hidden = {"relu": relu_fn()}
    found = []
    for i in sorted(last):
        node = graph.nodes[i]
        if node.op.is_activation:
            continue
        for fn in hidden.values():
            name = fn.name or fn.key
            template = (f"a {name} was applied to the output of {{layer}}, which has no "
                        "activation: the output layer is linear, y = h·W + b.")
            found.append((Mistake("activation_on_output", (node.layer,),
                                  _fill(template, (node.layer,)),
                                  after={i: Elementwise(fn)}, variant=fn.key), template))
    return found


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
