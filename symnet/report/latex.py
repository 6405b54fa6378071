"""LaTeX printing: SymPy's ``LatexPrinter`` plus the notation symnet's formulas need."""

from __future__ import annotations

from typing import Any

from sympy.printing.latex import LatexPrinter

__all__ = ["SymnetLatexPrinter", "latex"]


class SymnetLatexPrinter(LatexPrinter):
    """``𝟏`` for the all-ones matrix (``ε𝟏`` adds ε to every entry); ``∘`` for entrywise powers."""

    def _print_OneMatrix(self, expr: Any) -> str:
        return r"\mathbf{1}"

    def _print_HadamardPower(self, expr: Any) -> str:
        base = self.parenthesize(expr.base, 1000)
        return rf"{base}^{{\circ\, {self._print(expr.exp)}}}"


def latex(expr: Any, **settings: Any) -> str:
    """``expr`` in LaTeX, with :class:`SymnetLatexPrinter`."""
    return SymnetLatexPrinter(settings).doprint(expr)
