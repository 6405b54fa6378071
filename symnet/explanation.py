"""``trace``: the hand calculation, layer by layer, for one sample.

(Not ``explain.py``: a submodule of that name would shadow the function ``symnet.explain``.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from . import compose
from .errors import InvalidInputError
from .escape import terminal_text
from .ir import GraphNode
from .numeric import WithoutActivations
from .symbolic import round_floats

__all__ = ["MAX_SHOWN", "Explanation", "Trace", "TraceStep", "active_units", "substitute", "why"]

#: Arrays with more entries than this stay symbols in ``TraceStep.substituted``.
MAX_SHOWN = 64


@dataclass(frozen=True, eq=False)
class TraceStep:
    """One layer of the hand calculation."""

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

    def _repr_latex_(self) -> str:
        from .report.latex import latex

        return "$$" + latex(sp.Eq(self.formula.lhs, self.substituted, evaluate=False)) + "$$"


@dataclass(frozen=True, eq=False)
class Trace:
    """The steps of :meth:`symnet.Network.trace`, in execution order."""

    input: np.ndarray
    steps: tuple[TraceStep, ...]

    @property
    def output(self) -> np.ndarray:
        return self.steps[-1].value

    def _repr_latex_(self) -> str:
        from .report.latex import latex

        lines = [f"{latex(s.formula.lhs)} &= {latex(s.substituted)}" for s in self.steps]
        return r"$$\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}$$"

    def _repr_html_(self) -> str:
        from html import escape

        from .report.html import mathml
        from .report.latex import latex

        parts = []
        for s in self.steps:
            shown = latex(sp.Eq(s.formula.lhs, s.substituted, evaluate=False))
            parts.append(f"<p><code>{escape(s.layer)}</code></p>"
                         + mathml(shown if len(shown) < 4000 else latex(s.formula)))
        return "".join(parts)


def _matrix(values: np.ndarray, shape: tuple[Any, Any]) -> sp.ImmutableMatrix:
    rows, cols = (int(d) for d in shape)
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    return sp.ImmutableMatrix(rows, cols, [sp.Float(float(v), 9) for v in flat])


def substitute(node: GraphNode, inputs: list[np.ndarray]) -> Any:
    """The layer's formula with its inputs' values and its (small) parameters put in."""
    layer = node.layer
    subs: dict[Any, Any] = {}
    for symbol, value in zip(layer.input_symbols, inputs):
        if value.size <= MAX_SHOWN:
            subs[symbol] = _matrix(value, symbol.shape)
    for p in layer.params:
        if p.symbol is not None and p.value.size <= MAX_SHOWN:
            subs[p.symbol] = _matrix(p.value, p.symbol.shape)
    return layer.formula.rhs.xreplace(subs)


def build_trace(x: np.ndarray, nodes: tuple[GraphNode, ...], values: dict[str, np.ndarray],
                active: dict[str, np.ndarray]) -> Trace:
    steps = []
    for node in nodes:
        inputs = [values[k][0] for k in node.inputs]
        value = values[node.output][0]
        mask = active.get(node.layer.name)
        steps.append(TraceStep(layer=node.layer.name, kind=node.layer.kind,
                               formula=node.layer.formula, substituted=substitute(node, inputs),
                               value=value,
                               active=None if mask is None else mask.reshape(value.shape)))
    return Trace(input=x, steps=tuple(steps))


@dataclass(frozen=True, eq=False)
class Explanation:
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

    @property
    def x_name(self) -> str:
        free = sorted(map(str, self.local_law.free_symbols)) if self.local_law is not None else []
        return free[0] if len(free) == 1 else "x"

    def summary(self) -> str:
        """The explanation as lines of plain text, for a terminal."""
        x = self.x.reshape(-1)
        shown_x = ", ".join(f"{v:g}" for v in x[:8]) + (" ..." if x.size > 8 else "")
        lines = [f"{self.output} at x = {shown_x}: {self.value:.7g} (float32, as model.predict)"]
        if self.local_law is not None:
            lines.append(f"local law: {self.output} = {round_floats(self.local_law, 7)}")
            if isinstance(self.region, sp.Interval):
                start, end = (_number(v) for v in (self.region.start, self.region.end))
                lines.append(f"  exact for {start:.6g} <= {self.x_name} <= {end:.6g}")
            else:
                lines.append(f"  exact on the region bounded by {len(self.region)} inequalities")
        for layer, mask in self.active.items():
            on = np.flatnonzero(mask)
            lines.append(f"{terminal_text(layer, limit=200)}: {on.size} of {mask.size} units active"
                         + (f" ({_indices(on)})" if 0 < on.size <= 32 else "")
                         + (f"; inactive: {_indices(np.flatnonzero(~mask))}"
                            if 0 < mask.size - on.size <= 32 else ""))
        if self.contributions:
            lines.append("contributions (largest first):")
            terms = sorted(self.contributions.items(), key=lambda kv: -abs(kv[1]))
            for label, value in terms[:20]:
                lines.append(f"  {label:>28} = {value:+.6g}")
            if len(terms) > 20:
                lines.append(f"  ... {len(terms) - 20} more terms")
            lines.append(f"  {'sum':>28} = {sum(self.contributions.values()):.7g}")
        off = self.without_activation - self.value
        lines.append(f"without the activations (e.g. forgetting the ReLU): "
                     f"{self.without_activation:.7g}, off by {off:+.6g}")
        if self.target is not None:
            lines.append(f"target {self.target}: {self.target_value:.7g} at x; "
                         f"error {self.target_error:.6g}")
            if self.law_versus_target is not None:
                c = self.law_versus_target
                lines.append(f"  local slope {c['slope']:.6g} vs {c['target_slope']:.6g} "
                             f"({c['slope'] - c['target_slope']:+.4g}); intercept "
                             f"{c['intercept']:.6g} vs {c['target_intercept']:.6g} "
                             f"({c['intercept'] - c['target_intercept']:+.4g})")
            if self.max_target_error is not None:
                lines.append(f"  largest error on [{self.domain[0]:g}, {self.domain[1]:g}]: "
                             f"{self.max_target_error:.6g} at x = {self.max_target_error_at:.6g}")
        for layer, dead in self.dead_units.items():
            if dead.size:
                lines.append(f"dead on the domain: {terminal_text(layer, limit=200)} units "
                             f"{_indices(dead)}")
        lines.extend(self.notes)
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        region: Any = None
        if isinstance(self.region, sp.Interval):
            region = [_number(self.region.start), _number(self.region.end)]
        elif self.region is not None:
            region = [str(c) for c in self.region]
        return {
            "x": self.x.reshape(-1).tolist(), "output": str(self.output), "value": self.value,
            "active": {k: v.tolist() for k, v in self.active.items()},
            "contributions": self.contributions,
            "local_law": None if self.local_law is None else str(self.local_law),
            "region": region,
            "dead_units": {k: v.tolist() for k, v in self.dead_units.items()},
            "without_activation": self.without_activation,
            "target": None if self.target is None else str(self.target),
            "target_value": self.target_value, "target_error": self.target_error,
            "max_target_error": self.max_target_error,
            "max_target_error_at": self.max_target_error_at,
            "domain": None if self.domain is None else list(self.domain),
            "law_versus_target": self.law_versus_target,
            "notes": list(self.notes),
        }

    def _repr_html_(self) -> str:
        from html import escape

        return f"<pre>{escape(self.summary())}</pre>"

    def _repr_latex_(self) -> str:
        from .report.latex import latex

        if self.local_law is None:
            return f"$${latex(self.output)} = {self.value:.7g}$$"
        return f"$${latex(self.output)} = {latex(round_floats(self.local_law, 7))}$$"


def _number(v: Any) -> float:
    return float(v) if v.is_finite else (np.inf if v > 0 else -np.inf)


def _indices(values: np.ndarray) -> str:
    return ", ".join(str(int(i)) for i in values)


# --- why -------------------------------------------------------------------------------

def active_units(net: Any, x: Any) -> dict[str, np.ndarray]:
    """Layer name -> which units are on their activation's main piece at ``x``."""
    _, _, _, backend = net._linearize(x, require=False)
    active: dict[str, np.ndarray] = {}
    for d in backend.decisions:
        if d.active is not None and d.layer not in active:
            active[d.layer] = d.active.copy()
    return active


def _contributions(net: Any, arrays: list[np.ndarray], output: int) -> dict[str, float]:
    """The last affine (linear Dense) layer's terms for this output, if it ends the path."""
    offsets = np.cumsum([0] + [math.prod(s) for s in net._graph.output_shapes])
    k = int(np.searchsorted(offsets, output, side="right")) - 1
    key, shape, start = net._graph.outputs[k], net._graph.output_shapes[k], int(offsets[k])
    if len(shape) != 1:
        return {}
    producer = {node.output: node for node in net._nodes}
    node = producer.get(key)
    while node is not None and node.layer.kind != "Dense":
        if node.layer.formula.rhs != node.layer.input_symbols[0]:
            return {}  # a non-identity layer after the last Dense
        node = producer.get(node.inputs[0])
    if node is None or node.layer.constants.get("activation") != "linear":
        return {}
    values = net._run(net._backend("float64"), arrays)
    h = np.asarray(values[node.inputs[0]], dtype=np.float64).reshape(-1)
    j = output - start
    kernel = node.layer.parameters["kernel"]
    w_name = f"W_{str(node.layer.params[0].symbol).split('_')[-1]}"
    h_name = str(node.layer.input_symbols[0])
    terms = {f"{h_name}[{i}]·{w_name}[{i},{j}]": float(h[i]) * float(kernel[i, j])
             for i in range(h.size)}
    if "bias" in node.layer.parameters:
        b_name = w_name.replace("W", "b", 1)
        terms[f"{b_name}[{j}]"] = float(node.layer.parameters["bias"][j])
    return terms


def why(net: Any, x: Any, target: Any = None, output: int = 0, domain: Any = None
        ) -> Explanation:
    """:meth:`symnet.Network.why` (documented there)."""
    if not 0 <= output < len(net.outputs):
        raise InvalidInputError(f"output must be in 0..{len(net.outputs) - 1}, received "
                                f"{output!r}")
    arrays = net._one_sample(x)
    x0 = np.concatenate([a.reshape(-1) for a in arrays])
    value = float(net._outputs_flat(net._backend("float32"), arrays)[output])
    notes = []
    law = region = None
    if net.is_piecewise_linear:
        a, b, x_lin, backend = net._linearize(x)
        law = sp.Add(*[sp.Float(float(c)) * s for c, s in zip(a[output], net.inputs)],
                     sp.Float(float(b[output])))
        region = net._region(x_lin, backend)
    else:
        notes.append("the network is not piecewise linear: no affine law holds on a region")
    dead: dict[str, np.ndarray] = {}
    bounds = None
    if len(net.inputs) == 1:
        bounds = net._domain(domain)
        if net.is_piecewise_linear:
            dead = _dead_units(net, bounds)
    elif domain is not None:
        notes.append("dead units and the largest error are computed for one-input networks")
    without = float(net._outputs_flat(WithoutActivations(), arrays)[output])
    explanation = Explanation(
        x=x0, output=net.outputs[output], value=value, active=active_units(net, x),
        contributions=_contributions(net, arrays, output), local_law=law, region=region,
        dead_units=dead, without_activation=without, notes=tuple(notes),
        domain=None if domain is None else bounds)
    if target is None:
        return explanation
    return _with_target(net, explanation, target, output, bounds if domain else None)


def _target_function(net: Any, target: Any) -> tuple[Any, Any]:
    if isinstance(target, str):
        from .homework.parse import parse_formula

        target = parse_formula(target, net.inputs)
    if isinstance(target, sp.Basic):
        expr = target
        unknown = expr.free_symbols - set(net.inputs)
        if unknown:
            raise InvalidInputError(f"target uses {sorted(map(str, unknown))}; the inputs "
                                    f"are {[str(s) for s in net.inputs]}")
        fn = compose.lambdify(net.inputs, expr)
        return expr, lambda pts: np.broadcast_to(
            np.asarray(fn(*pts.T), dtype=np.float64), (pts.shape[0],))
    if callable(target):
        return target, lambda pts: np.array([float(target(*p)) if p.size > 1
                                             else float(target(p[0])) for p in pts])
    raise InvalidInputError(f"target must be a formula, a SymPy expression or a callable, "
                            f"received {type(target).__name__}")


def _with_target(net: Any, explanation: Explanation, target: Any, output: int,
                 domain: tuple[float, float] | None) -> Explanation:
    shown, fn = _target_function(net, target)
    tv = float(fn(explanation.x.reshape(1, -1))[0])
    worst = worst_at = None
    if domain is not None and np.all(np.isfinite(domain)):
        grid = np.linspace(domain[0], domain[1], 2001)
        if net.is_piecewise_linear:
            grid = np.union1d(grid, [float(b) for b in
                                     net.breakpoints(domain, exact=False)])
        net_values = np.asarray(net.evaluate(grid.reshape(-1, 1), "float64"),
                                dtype=np.float64).reshape(grid.size, -1)[:, output]
        errors = np.abs(net_values - fn(grid.reshape(-1, 1)))
        k = int(np.argmax(errors))
        worst, worst_at = float(errors[k]), float(grid[k])
    return Explanation(**{**explanation.__dict__, "target": shown, "target_value": tv,
                          "target_error": abs(explanation.value - tv),
                          "max_target_error": worst, "max_target_error_at": worst_at,
                          "domain": domain,
                          "law_versus_target": _compare_laws(net, explanation, shown)})


def _compare_laws(net: Any, explanation: Explanation, target: Any) -> dict[str, float] | None:
    """Slope and intercept of the local law beside an affine one-input target's."""
    if explanation.local_law is None or len(net.inputs) != 1 or not isinstance(target, sp.Expr):
        return None
    x = net.inputs[0]
    if not target.is_polynomial(x) or sp.degree(target, x) > 1:
        return None
    law = explanation.local_law
    return {"slope": float(law.coeff(x, 1)), "target_slope": float(target.coeff(x, 1)),
            "intercept": float(law.subs(x, 0)), "target_intercept": float(target.subs(x, 0))}


def _dead_units(net: Any, domain: tuple[float, float]) -> dict[str, np.ndarray]:
    seen: dict[str, np.ndarray] = {}
    for piece in net.pieces(domain):
        if np.isfinite(piece.low) and np.isfinite(piece.high):
            probe = (piece.low + piece.high) / 2
        elif np.isfinite(piece.high):
            probe = piece.high - 1.0
        elif np.isfinite(piece.low):
            probe = piece.low + 1.0
        else:
            probe = 0.0
        for layer, mask in active_units(net, probe).items():
            seen[layer] = seen[layer] | mask if layer in seen else mask
    return {layer: np.flatnonzero(~mask) for layer, mask in seen.items()}
