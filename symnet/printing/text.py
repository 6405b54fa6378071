"""Plain text of formulas: SymPy's ``StrPrinter`` with symnet's notation
(:class:`~symnet.printing.notation.NotationPrinter`)."""

from __future__ import annotations

from typing import Any

from sympy.printing.str import StrPrinter

from .notation import NotationPrinter

__all__ = ["TextPrinter", "text"]


class TextPrinter(NotationPrinter, StrPrinter):  # type: ignore[misc]
    """``str`` of SymPy, with ``⊙`` / ``⊘`` for entrywise products and quotients, and entrywise
    functions written as ``Max(0, b_1 + x*W_1)``."""

    _ones = "𝟙"
    _product = " ⊙ "
    _quotient = " ⊘ "

    def _group(self, argument: str) -> str:
        return f"({argument})"

    def _print_HadamardPower(self, expr: Any) -> str:
        return f"{self.parenthesize(expr.base, 60)}^∘({self._print(expr.exp)})"

    def _print_Equality(self, expr: Any) -> str:
        return f"{self._print(expr.lhs)} = {self._print(expr.rhs)}"


def text(expr: Any) -> str:
    """One formula as plain text."""
    return str(TextPrinter().doprint(expr))
