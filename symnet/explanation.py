"""``trace``: the hand calculation, layer by layer, for one sample.

(Not ``explain.py``: a submodule of that name would shadow the function ``symnet.explain``.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .ir import GraphNode

__all__ = ["MAX_SHOWN", "Trace", "TraceStep", "substitute"]

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


def build_trace(x: np.ndarray, nodes: tuple[GraphNode, ...], values: dict[str, np.ndarray]
                ) -> Trace:
    steps = []
    for node in nodes:
        inputs = [values[k][0] for k in node.inputs]
        steps.append(TraceStep(layer=node.layer.name, kind=node.layer.kind,
                               formula=node.layer.formula, substituted=substitute(node, inputs),
                               value=values[node.output][0]))
    return Trace(input=x, steps=tuple(steps))
