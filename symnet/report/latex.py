"""LaTeX printing: SymPy's ``LatexPrinter`` plus the notation of :mod:`symnet.report.notation`."""

from __future__ import annotations

import re
from typing import Any

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from .notation import broadcast_operand, direct_argument, hadamard_parts, positive_first

__all__ = ["SymnetLatexPrinter", "latex"]

_PLAIN_NAME = re.compile(r"[A-Za-z0-9_^()]+")


class SymnetLatexPrinter(LatexPrinter):
    """Entrywise functions as ``max(0, x W + b)``, ``⊙``/``⊘`` for entrywise products and
    quotients, broadcasting implicit, ``ε`` as ``\\varepsilon``, names that could start a TeX
    command shown as inert text."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self._arguments: dict[Any, str] = {}

    def _print_Symbol(self, expr: Any, style: str = "plain") -> str:
        if expr in self._arguments:
            return self._arguments[expr]
        # Names symnet makes (W_1, sigma^2_2, x^(1)) and the identifiers explain() accepts go
        # through SymPy's sub/superscript handling; anything else is shown as inert text.
        if _PLAIN_NAME.fullmatch(expr.name):
            shown = super()._print_Symbol(expr, style=style)
            return shown.replace(r"\epsilon", r"\varepsilon")
        safe = "".join(c if c.isascii() and c.isalnum() else "?" for c in expr.name[:64])
        return rf"\text{{{safe}}}"

    def _print_OneMatrix(self, expr: Any) -> str:
        return r"\mathbf{1}"

    def _print_ElementwiseApplyFunction(self, expr: Any) -> str:
        var, body = expr.function.variables[0], expr.function.expr
        arg = self._print(expr.expr)
        if not direct_argument(body, var) and isinstance(expr.expr, (sp.MatAdd, sp.MatMul,
                                                                      sp.HadamardProduct)):
            arg = rf"\left({arg}\right)"
        saved = dict(self._arguments)
        self._arguments[var] = arg
        try:
            return self._print(body)
        finally:
            self._arguments = saved

    def _print_MatMul(self, expr: Any) -> str:
        operand = broadcast_operand(expr)
        return self._print(operand) if operand is not expr else super()._print_MatMul(expr)

    def _print_MatAdd(self, expr: Any) -> str:
        terms = positive_first(list(expr.args))
        out = self._print(terms[0])
        for term in terms[1:]:
            if term.could_extract_minus_sign():
                out += " - " + self.parenthesize(-term, PRECEDENCE["Add"], strict=True)
            else:
                out += " + " + self.parenthesize(term, PRECEDENCE["Add"], strict=False)
        return out

    def _print_HadamardProduct(self, expr: Any) -> str:
        factors, divisors = hadamard_parts(expr)

        def part(a: Any) -> str:
            return self.parenthesize(broadcast_operand(a), PRECEDENCE["Mul"], strict=True)

        out = r" \odot ".join(part(a) for a in factors) if factors else r"\mathbf{1}"
        for d in divisors:
            out += r" \oslash " + part(d)
        return out

    def _print_HadamardPower(self, expr: Any) -> str:
        if expr.exp == -1:
            return r"\mathbf{1} \oslash " + self.parenthesize(expr.base, PRECEDENCE["Mul"], True)
        base = self.parenthesize(expr.base, 1000)
        return rf"{base}^{{\circ\, {self._print(expr.exp)}}}"

    def _print_Heaviside(self, expr: Any, exp: Any = None) -> str:
        # The Iverson bracket: 1 where the argument is positive, else 0 (H(0) = 0 here).
        shown = rf"\left[{self._print(expr.args[0])} > 0\right]"
        return shown if exp is None else rf"{shown}^{{{exp}}}"


def latex(expr: Any, **settings: Any) -> str:
    """``expr`` in LaTeX, with :class:`SymnetLatexPrinter`."""
    return SymnetLatexPrinter(settings).doprint(expr)
