"""Plain text of formulas: SymPy's ``StrPrinter`` with symnet's notation
(:class:`~symnet.printing.notation.NotationPrinter`)."""

from __future__ import annotations

from typing import Any, ClassVar

from sympy.printing.str import StrPrinter

from .notation import NotationPrinter
from .numbers import number_text

__all__ = ["TextPrinter", "text"]


class TextPrinter(NotationPrinter, StrPrinter):  # type: ignore[misc]
    """``str`` of SymPy, with ``⊙`` / ``⊘`` for entrywise products and quotients, and entrywise
    functions written as ``Max(0, b_1 + x*W_1)``."""

    _default_settings: ClassVar[dict[str, Any]] = {
        **StrPrinter._default_settings, "digits": None, "convention": "row", "symbol_names": {}}
    """SymPy's settings and, as for :class:`~symnet.printing.latex.SymnetLatexPrinter`,
    ``digits``, ``convention`` and ``symbol_names`` (symbol -> the text shown)."""

    _ones = "𝟙"
    _product = " ⊙ "
    _quotient = " ⊘ "

    def _print_name(self, expr: Any, *args: Any, **kwargs: Any) -> str:
        shown = self._settings["symbol_names"].get(expr)
        if shown is not None:
            return str(shown)
        # Parameter symbols are Python identifiers (sigma__2_2, for lambdify); SymPy's printers
        # read ``__`` as a superscript, and so does the text: sigma^2_2.
        return str(expr.name).replace("__", "^")

    def _print_MatrixSymbol(self, expr: Any) -> str:
        return self._print_name(expr)

    def _print_Float(self, expr: Any) -> str:
        digits = self._settings["digits"]
        if digits is None:
            return str(super()._print_Float(expr))
        return number_text(expr, digits)

    def _matmul_join(self, parts: list[str]) -> str:
        return "*".join(parts)

    def _group(self, argument: str) -> str:
        return f"({argument})"

    def _print_HadamardPower(self, expr: Any) -> str:
        return f"{self.parenthesize(expr.base, 60)}^∘({self._print(expr.exp)})"

    def _print_Equality(self, expr: Any) -> str:
        return f"{self._print(expr.lhs)} = {self._print(expr.rhs)}"


def text(expr: Any, **settings: Any) -> str:
    """One formula as plain text (``settings``: :class:`TextPrinter`'s)."""
    return str(TextPrinter(settings).doprint(expr))
