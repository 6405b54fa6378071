"""LaTeX printing: SymPy's ``LatexPrinter`` plus the notation symnet's formulas need."""

from __future__ import annotations

import re
from typing import Any

from sympy.printing.latex import LatexPrinter

_PLAIN_NAME = re.compile(r"[A-Za-z0-9_^()]+")

__all__ = ["SymnetLatexPrinter", "latex"]


class SymnetLatexPrinter(LatexPrinter):
    """``𝟏`` for the all-ones matrix (``ε𝟏`` adds ε to every entry); ``∘`` for entrywise powers."""

    def _print_OneMatrix(self, expr: Any) -> str:
        return r"\mathbf{1}"

    def _print_Symbol(self, expr: Any, style: str = "plain") -> str:
        # Names symnet makes (W_1, sigma^2_2, x^(1)) and the identifiers explain() accepts go
        # through SymPy's sub/superscript handling; anything else is shown as inert text, so
        # that no name can start a TeX command.
        if _PLAIN_NAME.fullmatch(expr.name):
            return super()._print_Symbol(expr, style=style)
        shown = "".join(c if c.isascii() and c.isalnum() else "?" for c in expr.name[:64])
        return rf"\text{{{shown}}}"

    def _print_HadamardPower(self, expr: Any) -> str:
        base = self.parenthesize(expr.base, 1000)
        return rf"{base}^{{\circ\, {self._print(expr.exp)}}}"


def latex(expr: Any, **settings: Any) -> str:
    """``expr`` in LaTeX, with :class:`SymnetLatexPrinter`."""
    return SymnetLatexPrinter(settings).doprint(expr)
