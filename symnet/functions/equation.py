"""A layer's formula as an equation ``h_k = …`` that SymPy's own ``latex`` prints as symnet's
reports do: ``γ ⊙ (h − μ) ⊘ √(σ² + ε) + β`` for a BatchNormalization, ``max(0, x W + b)`` for
a Dense layer with a ReLU."""

from __future__ import annotations

from typing import Any

import sympy as sp

__all__ = ["LayerEquation"]


class LayerEquation(sp.Equality):
    """SymPy's ``Eq(lhs, rhs)`` (never evaluated), whose LaTeX is symnet's notation
    (:class:`symnet.printing.latex.SymnetLatexPrinter`): ``sympy.latex(layer.formula)`` reads as
    the report does. Everything else — ``lhs``, ``rhs``, ``srepr``, ``subs`` — is SymPy's."""

    def __new__(cls, lhs: Any, rhs: Any, **options: Any) -> LayerEquation:
        return super().__new__(cls, lhs, rhs, evaluate=False)  # type: ignore[no-any-return]

    def _latex(self, printer: Any) -> str:
        from ..printing.latex import SymnetLatexPrinter

        mine = printer if isinstance(printer, SymnetLatexPrinter) else SymnetLatexPrinter()
        return f"{mine._print(self.lhs)} = {mine._print(self.rhs)}"
