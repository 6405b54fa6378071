"""Frozen records: one :class:`LayerFormula` per Keras layer, and the graph that connects them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import sympy as sp

__all__ = ["GraphNode", "LayerFormula", "Parameter"]


@dataclass(frozen=True, eq=False)
class Parameter:
    """One weight array of a layer, with the symbol that stands for it in the formula."""

    name: str
    """Keras' name of the array: ``kernel``, ``bias``, ``gamma``, ``moving_mean``..."""
    symbol: sp.MatrixSymbol | None
    """The symbol in the formula (``None`` for arrays inference does not use, e.g. a count)."""
    value: np.ndarray = field(repr=False)
    trainable: bool
    meaning: str
    """What the array is, in a sentence (the question the first seed asks)."""

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)

    @property
    def size(self) -> int:
        return int(self.value.size)


Forward = Callable[[Any, list[Any], Mapping[str, Any]], Any]


@dataclass(frozen=True, eq=False)
class LayerFormula:
    """A Keras layer as mathematics: its formula, its parameters, its shapes and counts.

    ``formula`` is a SymPy ``Eq`` whose left side is the layer's output symbol and whose right
    side is written over the input symbol(s) and the parameter symbols. ``forward`` is the same
    computation, run by :mod:`symnet.numeric` on floats, exact rationals or SymPy expressions.
    """

    name: str
    kind: str
    formula: sp.Eq
    params: tuple[Parameter, ...]
    constants: Mapping[str, Any]
    input_shape: tuple[int, ...] | list[tuple[int, ...]]
    output_shape: tuple[int, ...]
    note: str
    input_symbols: tuple[sp.MatrixSymbol, ...] = field(repr=False)
    output_symbol: sp.MatrixSymbol = field(repr=False)
    forward: Forward = field(repr=False)
    size: Callable[[list[float]], float] = field(repr=False)
    """Estimated number of SymPy nodes per output entry, given the inputs' sizes per entry."""
    piecewise_linear: bool = False

    @property
    def parameters(self) -> Mapping[str, np.ndarray]:
        """Keras weight name -> numpy array, e.g. ``kernel`` of shape (in, out)."""
        return MappingProxyType({p.name: p.value for p in self.params})

    @property
    def param_count(self) -> int:
        return sum(p.size for p in self.params)

    @property
    def trainable_count(self) -> int:
        return sum(p.size for p in self.params if p.trainable)

    @property
    def non_trainable_count(self) -> int:
        return sum(p.size for p in self.params if not p.trainable)

    def symbol_values(self) -> dict[sp.MatrixSymbol, sp.ImmutableMatrix]:
        """Each parameter symbol -> the matrix of its float32 values, as written in the formula."""
        out = {}
        for p in self.params:
            if p.symbol is None:
                continue
            rows, cols = (int(d) for d in p.symbol.shape)
            values = np.asarray(p.value, dtype=np.float64).reshape(rows, cols)
            out[p.symbol] = sp.ImmutableMatrix(
                rows, cols, [sp.Float(float(v), 9) for v in values.reshape(-1)])
        return out

    def _repr_latex_(self) -> str:
        from .report.latex import latex

        return "$$" + latex(self.formula) + "$$"

    def _repr_html_(self) -> str:
        from html import escape

        from .report.html import mathml
        from .report.latex import latex

        params = "".join(f"<li>{escape(str(p.symbol or p.name))}: {escape(p.meaning)}</li>"
                         for p in self.params)
        return (f"<p><code>{escape(self.name)}</code> ({self.kind}), {self.param_count:,} "
                f"parameters</p>{mathml(latex(self.formula))}<ul>{params}</ul>")


@dataclass(frozen=True, eq=False)
class GraphNode:
    """One call of a layer: which tensors go in, which comes out."""

    layer: LayerFormula
    inputs: tuple[str, ...]
    output: str
