"""Formulas as plain text with Greek letters, ``ᵀ``, ``⊙`` and ``⊘``, as a textbook prints
them in a terminal: ``δ_1 = δ_2 W_2ᵀ ⊙ relu'(z_1)`` (the backward trace's notation)."""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

__all__ = ["UnicodeTextPrinter", "unicode_text"]

_GREEK = {"delta": "δ", "gamma": "γ", "beta": "β", "mu": "μ", "sigma": "σ", "epsilon": "ε",
          "alpha": "α"}


def _name(name: str) -> str:
    name = name.replace("__", "^")  # an identifier's superscript (sigma__2_2), as SymPy reads it
    stem, sep, rest = name.partition("_")
    power = ""
    if stem.endswith("^2"):
        stem, power = stem[:-2], "²"
    return _GREEK.get(stem, stem) + power + sep + rest


class UnicodeTextPrinter(StrPrinter):  # type: ignore[misc]
    """Formulas as a textbook prints them in plain text: ``δ_2 W_2ᵀ ⊙ σ'(z_1)``."""

    def _print_MatrixSymbol(self, expr: Any) -> str:
        return _name(expr.name)

    def _print_Symbol(self, expr: Any) -> str:
        return _name(expr.name)

    def _print_Transpose(self, expr: Any) -> str:
        return str(self.parenthesize(expr.arg, PRECEDENCE["Pow"])) + "ᵀ"

    def _print_HadamardProduct(self, expr: Any) -> str:
        return " ⊙ ".join(self.parenthesize(a, 45) for a in expr.args)

    def _print_HadamardPower(self, expr: Any) -> str:
        if expr.exp == -1:
            return "1 ⊘ " + str(self.parenthesize(expr.base, PRECEDENCE["Pow"]))
        return f"{self.parenthesize(expr.base, PRECEDENCE['Pow'])}^∘{self._print(expr.exp)}"

    def _print_MatMul(self, expr: Any) -> str:
        args = list(expr.args)
        ones = [a for a in args if isinstance(a, sp.OneMatrix)]
        if ones and args[0] is ones[0] and int(ones[0].shape[0]) == 1 and len(args) > 1:
            rest = sp.MatMul(*args[1:]) if len(args) > 2 else args[1]
            return f"Σ_rows({self._print(rest)})"  # 1ᵀ M: the sum of M's rows
        # a row or a number repeated over a matrix (1 b, ε 1): the repeated thing
        kept = [a for a in args if not isinstance(a, sp.OneMatrix)]
        coeff = [a for a in kept if not getattr(a, "is_Matrix", False)]
        mats = [a for a in kept if getattr(a, "is_Matrix", False)]
        parts = []
        if coeff:
            number = sp.Mul(*coeff)
            if number == -1:
                parts.append("−")
            elif number != 1:
                parts.append(self.parenthesize(number, 45))
        parts += [self.parenthesize(a, 45) for a in mats]
        text = " ".join(parts)
        return text.replace("− ", "−", 1) if text.startswith("− ") else text

    def _print_MatAdd(self, expr: Any) -> str:
        positive, negative = [], []
        for term in expr.args:
            coeff, rest = term.as_coeff_mmul() if hasattr(term, "as_coeff_mmul") else (
                sp.S.One, term)
            if coeff.is_number and coeff < 0:
                negative.append(self._print(sp.MatMul(-coeff, *rest.args)
                                            if isinstance(rest, sp.MatMul) else -term))
            else:
                positive.append(self._print(term))
        text = " + ".join(positive) if positive else ""
        for n in negative:
            text = f"{text} − {n}" if text else f"−{n}"
        return text

    def _print_Reshape(self, expr: Any) -> str:
        return f"reshape({self._print(expr.args[0])})"

    def _print_ElementwiseApplyFunction(self, expr: Any) -> str:
        body = expr.function.expr
        name = getattr(type(body), "__name__", "f")
        if name.endswith("Prime"):
            label = name[:-5].lower().replace("sigmoid", "σ")
            return f"{label}'({self._print(expr.expr)})"
        variable = expr.function.variables[0]
        inner = sp.Symbol(f"({self._print(expr.expr)})")
        return str(self._print(body.xreplace({variable: inner})))

    def _print_OneMatrix(self, expr: Any) -> str:
        return f"1_{expr.shape[0]}×{expr.shape[1]}"

    def _print_MatrixElement(self, expr: Any) -> str:
        i, j = expr.i, expr.j
        parent = self._print(expr.parent)
        rows = int(expr.parent.shape[0])
        return f"{parent}_{int(j) + 1}" if rows == 1 else f"{parent}[{int(i)},{int(j)}]"

    def _print_ImmutableDenseMatrix(self, expr: Any) -> str:
        rows = [", ".join(self._print(v) for v in expr.row(i)) for i in range(expr.rows)]
        return "[" + "; ".join(rows) + "]"

    _print_MutableDenseMatrix = _print_ImmutableDenseMatrix

    def _print_Float(self, expr: Any) -> str:
        return f"{float(expr):.7g}"

    def _print_Heaviside(self, expr: Any) -> str:
        return f"H({self._print(expr.args[0])})"


def unicode_text(expr: Any) -> str:
    """A formula in plain text with Greek letters and ``ᵀ`` (the backward trace's)."""
    return str(UnicodeTextPrinter({"order": "none"}).doprint(expr))
