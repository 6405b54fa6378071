"""LaTeX of formulas: SymPy's ``LatexPrinter`` with symnet's notation
(:class:`~symnet.printing.notation.NotationPrinter`)."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from .notation import NotationPrinter
from .numbers import number_latex

__all__ = ["SymnetLatexPrinter", "latex"]

_PLAIN_NAME = re.compile(r"[A-Za-z0-9_^()]+")


class SymnetLatexPrinter(NotationPrinter, LatexPrinter):  # type: ignore[misc]
    """Entrywise functions as ``max(0, x W + b)``, ``⊙``/``⊘`` for entrywise products and
    quotients, broadcasting implicit, ``ε`` as ``\\varepsilon``, names that could start a TeX
    command shown as inert text."""

    _default_settings: ClassVar[dict[str, Any]] = {**LatexPrinter._default_settings,
                                                   "digits": None, "convention": "row"}
    """SymPy's settings and symnet's: ``digits`` (significant digits of every number, e.g.
    ``7.88 \\times 10^{-18}``; ``None``: as SymPy prints them), ``convention`` (``"row"``:
    ``x W + b`` as Keras computes; ``"column"``: every matrix transposed, ``W x + b``).
    SymPy's own ``symbol_names`` renames symbols."""

    _ones = r"\mathbf{1}"
    _product = r" \odot "
    _quotient = r" \oslash "

    def _print_Float(self, expr: Any) -> str:
        digits = self._settings["digits"]
        if digits is None:
            return str(super()._print_Float(expr))
        return number_latex(expr, digits)

    def _group(self, argument: str) -> str:
        return rf"\left({argument}\right)"

    def _print_name(self, expr: Any, *args: Any, **kwargs: Any) -> str:
        # Names symnet makes (W_1, sigma^2_2, x^(1)) and the identifiers explain() accepts go
        # through SymPy's sub/superscript handling; anything else is shown as inert text.
        if _PLAIN_NAME.fullmatch(expr.name):
            return super()._print_name(expr, *args, **kwargs).replace(r"\epsilon",
                                                                      r"\varepsilon")
        safe = "".join(c if c.isascii() and c.isalnum() else "?" for c in expr.name[:64])
        return rf"\text{{{safe}}}"

    def _print_HadamardPower(self, expr: Any) -> str:
        if expr.exp == -1:
            return r"\mathbf{1} \oslash " + self.parenthesize(expr.base, PRECEDENCE["Mul"], True)
        base = self.parenthesize(expr.base, 1000)
        if "^" in base and not base.startswith(r"\left("):
            base = "{" + base + "}"  # x^{(1)} squared: {x^{(1)}}^{∘2}, never x^{(1)}^{∘2}
        return rf"{base}^{{\circ\, {self._print(expr.exp)}}}"

    def _print_Heaviside(self, expr: Any, exp: Any = None) -> str:
        # The Iverson bracket: 1 where the argument is positive, else 0 (H(0) = 0 here).
        shown = rf"\left[{self._print(expr.args[0])} > 0\right]"
        return shown if exp is None else rf"{shown}^{{{exp}}}"


def latex(expr: Any, **settings: Any) -> str:
    """``expr`` in LaTeX, with :class:`SymnetLatexPrinter`."""
    return str(SymnetLatexPrinter(settings).doprint(expr))
