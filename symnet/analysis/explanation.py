"""``trace`` and ``why``: the hand calculation for one sample, and why an output has its value.

(Not ``explain.py``: a submodule of that name would shadow the function ``symnet.explain``.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..backends import FloatBackend, LinearizedBackend
from ..display import Displayed, show
from ..errors import InvalidInputError
from ..graph import Graph, LayerCall
from ..ops import BiasAdd, Identity, MatMul
from .forms import lambdify
from .geometry import clip
from .piecewise import Piece, domain_of, linearize, logit_nodes, network_pieces, region

__all__ = ["MAX_SHOWN", "Explanation", "Trace", "TraceStep", "active_units",
           "inequalities_text", "substitute", "trace", "why"]

#: Arrays with more entries than this stay symbols in ``TraceStep.substituted``.
MAX_SHOWN = 64


@dataclass(frozen=True, eq=False)
class TraceStep(Displayed):
    """One layer call of the hand calculation."""

    layer: str
    kind: str
    formula: sp.Eq
    substituted: Any
    """The formula's right side with this sample's numbers in (arrays over ``MAX_SHOWN``
    entries stay symbols)."""
    value: np.ndarray = field(repr=False)
    """The layer's output for the sample (float32, the per-sample shape)."""
    active: np.ndarray | None = field(default=None, repr=False)
    """For a layer with a piecewise-linear activation: which units pass their input (``False``:
    the unit is clipped, e.g. a ReLU at 0); ``None`` for other layers."""
    inner: tuple[tuple[str, np.ndarray], ...] = field(default=(), repr=False)
    """The values between the layer's ops, each with what the op computed: for ``Dense(relu)``,
    the pre-activation ``x W + b`` before the ReLU clips it."""
    worked: tuple[Any, ...] = field(default=(), repr=False)
    """One entry computed by hand (``Worked`` lines): a convolution's window times its kernel,
    a pooling window, a recurrent layer's states step by step."""
    inputs: tuple[np.ndarray, ...] = field(default=(), repr=False)
    """The numbers put in (float32, per-sample shapes), one array per input of the layer."""
    pre_activation: np.ndarray | None = field(default=None, repr=False)
    """For a layer that ends with an activation after other ops (``Dense(relu)``): the values
    the activation receives — where a ReLU clips. ``None`` otherwise."""
    activation: str | None = None
    """The name of that activation (``relu``)."""
    input_symbols: tuple[Any, ...] = field(default=(), repr=False)
    """The symbols of ``inputs`` in the formula (``x``, ``h_1``)."""


@dataclass(frozen=True, eq=False)
class Trace(Displayed):
    """The steps of :meth:`symnet.Network.trace`, in execution order."""

    input: np.ndarray | list[np.ndarray]
    """The sample (one array per input of the network when it has several)."""
    steps: tuple[TraceStep, ...]

    @property
    def output(self) -> np.ndarray:
        return self.steps[-1].value


def _matrix(values: np.ndarray, shape: tuple[Any, Any]) -> sp.ImmutableMatrix:
    rows, cols = (int(d) for d in shape)
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    return sp.ImmutableMatrix(rows, cols, [sp.Float(float(v), 9) for v in flat])


def call_formula(graph: Graph, call: LayerCall) -> sp.Eq:
    """The layer's formula written with this call's own input and output symbols."""
    layer = call.layer
    rename = {old: graph.symbols[new] for old, new in zip(layer.input_symbols, call.inputs)}
    rename.update({old: graph.symbols[new] for old, new in zip(layer.output_symbols,
                                                              call.outputs)})
    return layer.formula.xreplace(rename)


def substitute(formula: sp.Eq, call: LayerCall, inputs: list[np.ndarray], graph: Graph) -> Any:
    """The call's formula with its inputs' values, its (small) parameters and its constants
    put in."""
    layer = call.layer
    subs: dict[Any, Any] = {}
    for name, value in zip(call.inputs, inputs):
        symbol = graph.symbols[name]
        if value.size <= MAX_SHOWN:
            subs[symbol] = _matrix(value, symbol.shape)
    for p in layer.params:
        if p.symbol is not None and p.value.size <= MAX_SHOWN:
            subs[p.symbol] = _matrix(p.value, p.symbol.shape)
    subs.update({c.symbol: sp.Float(c.value, 9) for c in layer.constant_symbols})
    return formula.rhs.xreplace(subs)


def trace(graph: Graph, x: Any) -> Trace:
    """The hand calculation for one sample (float32, as Keras computes it)."""
    arrays = graph.sample(x)
    values = graph.run(FloatBackend(np.float32), arrays)
    active = active_units(graph, x)
    steps = []
    for call in graph.calls:
        inputs = [values[k][0] for k in call.inputs]
        value = values[call.output][0]
        mask = active.get(call.layer.name)
        last = next((graph.nodes[i] for i in call.nodes
                     if graph.nodes[i].output == call.output), None)
        pre = activation = None
        if last is not None and last.op.is_activation and len(call.nodes) > 1:
            pre = values[last.inputs[0]][0]
            activation = last.op.describe()
        inner = tuple((graph.nodes[i].op.describe(), values[graph.nodes[i].output][0])
                      for i in call.nodes if graph.nodes[i].output != call.output)
        formula = call_formula(graph, call)
        worked = tuple(line for i in call.nodes for line in graph.nodes[i].op.by_hand(
            [np.asarray(values[k][0], np.float64) for k in graph.nodes[i].inputs],
            np.asarray(values[graph.nodes[i].output][0], np.float64)))
        steps.append(TraceStep(layer=call.layer.name, kind=call.layer.kind, formula=formula,
                               substituted=substitute(formula, call, inputs, graph), value=value,
                               active=None if mask is None or mask.size != value.size
                               else mask.reshape(value.shape),
                               inner=inner, worked=worked, inputs=tuple(inputs),
                               pre_activation=pre, activation=activation,
                               input_symbols=tuple(graph.symbols[k] for k in call.inputs)))
    x0 = arrays[0][0] if len(arrays) == 1 else [a[0] for a in arrays]
    return Trace(input=x0, steps=tuple(steps))


MAX_REGION_TERMS = 100_000
"""Coefficients of the region's inequalities written out in ``to_dict`` at most: the region of
a layer of 20,000 units on 2,000 inputs has 80 million; the rest are counted, not written."""


def inequalities_text(region: Any) -> tuple[list[str], int]:
    """The inequalities as text, as many as :data:`MAX_REGION_TERMS` coefficients allow, and
    how many were left out."""
    if not hasattr(region, "arrays"):
        return [str(c) for c in region], 0
    gradients = region.arrays()[1]
    counts = np.cumsum(np.count_nonzero(gradients, axis=1))
    shown = int(np.searchsorted(counts, MAX_REGION_TERMS, side="right"))
    return [region.text(i) for i in range(shown)], len(region) - shown


@dataclass(frozen=True, eq=False)
class Explanation(Displayed):
    """Why one output has its value at one input (see :meth:`symnet.Network.why`)."""

    x: np.ndarray
    output: sp.Symbol
    value: float
    """The output at ``x``, computed in float32 as Keras does."""
    active: dict[str, np.ndarray]
    """Layer name -> one bool per unit: is the unit's activation on its main piece (a ReLU
    passing its input, not clipped)?"""
    contributions: dict[str, float]
    """Readable term -> value, for the last affine layer; the terms sum to ``value``."""
    local_law: Any
    """The output as an affine expression of the inputs, exact on ``region``; ``None`` for a
    network that is not piecewise linear."""
    region: Any
    dead_units: dict[str, np.ndarray]
    """Layer name -> indices of units never active on the domain (one-input networks)."""
    without_activation: float
    """What the network gives at ``x`` when every activation is forgotten."""
    target: Any = None
    target_value: float | None = None
    target_error: float | None = None
    max_target_error: float | None = None
    max_target_error_at: float | None = None
    domain: tuple[float, float] | None = None
    law_versus_target: dict[str, float] | None = None
    """For an affine target of one input: the local law's slope and intercept beside the
    target's."""
    notes: tuple[str, ...] = ()
    law_of_logits: bool = False
    """The local law is a classifier's logit (its softmax's input), not the probability."""
    kept_activation: str | None = None
    """The output activation :attr:`without_activation` keeps (``"softmax"``, ``"sigmoid"``),
    so that a probability is compared with a probability; ``None``: every activation is
    forgotten."""
    computed_as: str = "model.predict"
    """What the float32 value reproduces: ``model.predict``, ONNX Runtime, the module's
    forward."""

    @property
    def x_name(self) -> str:
        free = sorted(map(str, self.local_law.free_symbols)) if self.local_law is not None else []
        return free[0] if len(free) == 1 else "x"

    def summary(self) -> str:
        """The explanation as lines of plain text, for a terminal."""
        return str(show(self, "text"))

    def polygon(self) -> list[tuple[float, float]] | None:
        """For a two-input network: the corners of the linear region around ``x`` (float64,
        counter-clockwise), within the box ``x_i ± 2·max(1, |x_i|)`` when the region is
        unbounded; ``None`` otherwise. (``net.regions2d`` gives every region, exactly.)"""
        if self.region is None or self.x.size != 2 or not hasattr(self.region, "arrays"):
            return None
        t0, grad, bound, upper = self.region.arrays()
        x0 = np.asarray(self.x, dtype=np.float64).reshape(-1)
        r = [2 * max(1.0, abs(float(v))) for v in x0]
        polygon = [(x0[0] - r[0], x0[1] - r[1]), (x0[0] + r[0], x0[1] - r[1]),
                   (x0[0] + r[0], x0[1] + r[1]), (x0[0] - r[0], x0[1] + r[1])]
        for t, g, b, up in zip(t0, grad, bound, upper):
            # t + g·(p − x0) >= b (lower bound) or <= b (upper): as a·p + c >= 0
            sign = -1.0 if up else 1.0
            polygon = clip(polygon, sign * g[0], sign * g[1], sign * (t - g @ x0 - b))
            if len(polygon) < 3:
                return None
        return [(float(u), float(v)) for u, v in polygon]

    def grouped_contributions(self, limit: int = 20) -> list[tuple[str, float]]:
        """The contributions, largest first, with the terms that are exactly 0 (units the
        activation switched off) grouped into one line, and the smallest beyond ``limit``
        summed into one line."""
        terms = sorted(self.contributions.items(), key=lambda kv: -abs(kv[1]))
        zero = [label for label, value in terms if value == 0]
        rows = [(label, value) for label, value in terms if value != 0]
        if len(rows) > limit:
            rest = rows[limit:]
            rows = [*rows[:limit], (f"{len(rest)} smaller terms", sum(v for _, v in rest))]
        if zero:
            rows.append((f"{len(zero)} terms equal to 0", 0.0))
        return rows

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        data: dict[str, Any] = show(self, "data")
        return data


# --- why -------------------------------------------------------------------------------

def _output_activation(graph: Graph) -> tuple[int | None, str | None]:
    """The node of the softmax or sigmoid that makes a network's only output (through
    identities), with its name: forgetting the hidden activations keeps it, so that what the
    network gives "without the activations" is a probability too."""
    from ..ops.activations import Elementwise, Softmax

    if len(graph.outputs) != 1:
        return None, None
    tensor = graph.outputs[0]
    while True:
        found = next(((i, n) for i, n in enumerate(graph.nodes) if n.output == tensor), None)
        if found is None:
            return None, None
        index, node = found
        if not node.op.identity:
            break
        tensor = node.inputs[0]
    if isinstance(node.op, Softmax) and not node.op.log:
        return index, "softmax"
    if isinstance(node.op, Elementwise) and node.op.fn.func.__name__ == "Sigmoid":
        return index, "sigmoid"
    return None, None


def active_units(graph: Graph, x: Any, backend: LinearizedBackend | None = None
                 ) -> dict[str, np.ndarray]:
    """Layer name -> which units are on their activation's main piece at ``x`` (read from
    ``backend`` when a linearization at ``x`` already ran)."""
    # which piece each unit is on depends on x alone: one row, not the n + 1 rows of the
    # linearization (a layer of 20,000 units on 2,000 inputs: 5 s)
    if backend is None:
        backend = LinearizedBackend()
        graph.run(backend, graph.sample(x))
    active: dict[str, np.ndarray] = {}
    for d in backend.decisions:
        if d.active is not None and d.layer not in active:
            active[d.layer] = d.active.copy()
    return active


def _contributions(graph: Graph, arrays: list[np.ndarray], output: int) -> dict[str, float]:
    """The terms ``h[i]·W[i,j]`` and ``b[j]`` of the last linear layer, when nothing but the
    identity follows it to the output."""
    offsets = np.cumsum([0] + [int(np.prod(s)) for s in graph.output_shapes])
    k = int(np.searchsorted(offsets, output, side="right")) - 1
    key, shape = graph.outputs[k], graph.output_shapes[k]
    if len(shape) != 1:
        return {}
    node = graph.producer(key)
    while node is not None and node.op.identity:
        node = graph.producer(node.inputs[0])
    bias = None
    if node is not None and isinstance(node.op, BiasAdd):
        bias, node = node.op.bias, graph.producer(node.inputs[0])
    if node is None or not isinstance(node.op, MatMul):
        return {}
    kernel, source = node.op.in_out, node.inputs[0]
    if kernel.value.ndim != 2 or len(graph.shapes[source]) != 1:
        return {}
    values = graph.run(FloatBackend(np.float64), arrays)
    h = np.asarray(values[source], dtype=np.float64).reshape(-1)
    j = output - int(offsets[k])
    h_name = str(graph.symbols.get(source, source))
    # The entry as the stored array names it: W[j,i] for a weight stored (out, in).
    index = "{j},{i}" if node.op.transposed else "{i},{j}"
    terms = {f"{h_name}[{i}]·{kernel.symbol}[{index.format(i=i, j=j)}]":
             float(h[i]) * float(kernel.value[i, j]) for i in range(h.size)}
    if bias is not None:
        terms[f"{bias.symbol}[{j}]"] = float(bias.value[j])
    return terms


def why(graph: Graph, x: Any, target: Any = None, output: int = 0, domain: Any = None,
        pieces: list[Piece] | None = None, computed_as: str = "model.predict") -> Explanation:
    """:meth:`symnet.Network.why` (documented there); ``pieces``: the network's pieces on
    ``domain`` when already known; ``computed_as``: what the float32 value reproduces."""
    if not 0 <= output < len(graph.targets):
        raise InvalidInputError(f"output must be in 0..{len(graph.targets) - 1}, received "
                                f"{output!r}")
    arrays = graph.sample(x)
    x0 = np.concatenate([a.reshape(-1) for a in arrays])
    value = float(graph.output_values(graph.run(FloatBackend(np.float32), arrays))[0, output])
    notes = []
    law = where = backend = None
    logits = None if graph.piecewise_linear else logit_nodes(graph)
    if graph.piecewise_linear or logits is not None:
        a, b, x_lin, backend = linearize(graph, x, nodes=logits)
        law = sp.Add(*[sp.Float(float(c)) * s for c, s in zip(a[output], graph.features)],
                     sp.Float(float(b[output])))
        where = region(graph, x_lin, backend)
        if logits is not None:
            notes.append("the local law is the logit's (the softmax's input): the softmax is "
                         "not affine, and it keeps the logits' order")
    else:
        notes.append("the network is not piecewise linear: no affine law holds on a region")
    dead: dict[str, np.ndarray] = {}
    bounds = None
    if len(graph.features) == 1:
        bounds = domain_of(graph, domain)
        if graph.piecewise_linear:
            if pieces is None:
                pieces = network_pieces(graph, bounds)
            dead = _dead_units(graph, pieces)
    elif domain is not None:
        notes.append("dead units and the largest error are computed for one-input networks")
    kept, kept_name = _output_activation(graph)
    forgotten = graph.replaced({i: Identity("activation forgotten")
                                for i, n in enumerate(graph.nodes)
                                if n.op.is_activation and i != kept})
    without = float(graph.output_values(graph.run(FloatBackend(np.float64), arrays,
                                                  forgotten))[0, output])
    explanation = Explanation(
        x=x0, output=graph.targets[output], value=value,
        active=active_units(graph, x, backend),
        contributions=_contributions(graph, arrays, output), local_law=law, region=where,
        dead_units=dead, without_activation=without, notes=tuple(notes),
        kept_activation=kept_name, law_of_logits=logits is not None,
        domain=None if domain is None else bounds, computed_as=computed_as)
    if target is None:
        return explanation
    return _with_target(graph, explanation, target, output, bounds if domain else None, pieces)


def target_function(graph: Graph, target: Any) -> tuple[Any, Any]:
    """A target (formula text, SymPy expression or callable) as (what to show, a vectorised
    function of points, one per row)."""
    if isinstance(target, str):
        from ..parse import parse_formula

        target = parse_formula(target, graph.features)
    if isinstance(target, sp.Basic):
        expr = target
        unknown = expr.free_symbols - set(graph.features)
        if unknown:
            raise InvalidInputError(f"target uses {sorted(map(str, unknown))}; the inputs "
                                    f"are {[str(s) for s in graph.features]}")
        fn = lambdify(graph.features, expr)
        return expr, lambda pts: np.broadcast_to(
            np.asarray(fn(*pts.T), dtype=np.float64), (pts.shape[0],))
    if callable(target):
        return target, lambda pts: np.array([float(target(*p)) if p.size > 1
                                             else float(target(p[0])) for p in pts])
    raise InvalidInputError(f"target must be a formula, a SymPy expression or a callable, "
                            f"received {type(target).__name__}")


def _with_target(graph: Graph, explanation: Explanation, target: Any, output: int,
                 domain: tuple[float, float] | None, pieces: list[Piece] | None
                 ) -> Explanation:
    shown, fn = target_function(graph, target)
    tv = float(fn(explanation.x.reshape(1, -1))[0])
    worst = worst_at = None
    if domain is not None and np.all(np.isfinite(domain)):
        grid = np.linspace(domain[0], domain[1], 2001)
        if graph.piecewise_linear:
            pieces = pieces if pieces is not None else network_pieces(graph, domain)
            grid = np.union1d(grid, [float(p.low) for p in pieces[1:]])
        values = graph.run(FloatBackend(np.float64), graph.batch(grid.reshape(-1, 1)))
        net_values = graph.output_values(values)[:, output]
        errors = np.abs(net_values - fn(grid.reshape(-1, 1)))
        k = int(np.argmax(errors))
        worst, worst_at = float(errors[k]), float(grid[k])
    return Explanation(**{**explanation.__dict__, "target": shown, "target_value": tv,
                          "target_error": abs(explanation.value - tv),
                          "max_target_error": worst, "max_target_error_at": worst_at,
                          "domain": domain,
                          "law_versus_target": _compare_laws(graph, explanation, shown)})


def _compare_laws(graph: Graph, explanation: Explanation, target: Any
                  ) -> dict[str, float] | None:
    """Slope and intercept of the local law beside an affine one-input target's."""
    if explanation.local_law is None or len(graph.features) != 1 or not isinstance(
            target, sp.Expr):
        return None
    x = graph.features[0]
    if not target.is_polynomial(x) or sp.degree(target, x) > 1:
        return None
    law = explanation.local_law
    return {"slope": float(law.coeff(x, 1)), "target_slope": float(target.coeff(x, 1)),
            "intercept": float(law.subs(x, 0)), "target_intercept": float(target.subs(x, 0))}


def _dead_units(graph: Graph, pieces: list[Piece]) -> dict[str, np.ndarray]:
    seen: dict[str, np.ndarray] = {}
    for piece in pieces:
        low, high = float(piece.low), float(piece.high)
        if np.isfinite(low) and np.isfinite(high):
            probe = (low + high) / 2
        elif np.isfinite(high):
            probe = high - 1.0
        elif np.isfinite(low):
            probe = low + 1.0
        else:
            probe = 0.0
        for layer, mask in active_units(graph, probe).items():
            seen[layer] = seen[layer] | mask if layer in seen else mask
    return {layer: np.flatnonzero(~mask) for layer, mask in seen.items()}
