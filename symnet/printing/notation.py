"""What the LaTeX and text formula printers share: how symnet's formulas are written for people.

- an entrywise function ``ElementwiseApplyFunction(Lambda(t, body), X)`` is written as its
  body with ``X`` in place of ``t``: ``max(0, x W + b)``;
- entrywise products and quotients: ``γ ⊙ (x − μ) ⊘ √(σ² + ε)``, parameters first;
- a scalar times the all-ones matrix is the scalar (``σ² + ε``); a row repeated on every row of
  the input (``𝟙 b``) is the row (``b``): broadcasting, as a textbook leaves it implicit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import sympy as sp
from sympy.printing.precedence import PRECEDENCE

__all__ = ["NotationPrinter", "broadcast_operand", "direct_argument", "hadamard_parts",
           "positive_first"]


def direct_argument(body: Any, var: Any) -> bool:
    """Whether ``var`` appears in ``body`` only as a whole argument of a function call or of
    a square root, so that the argument it stands for needs no parentheses there."""
    if body == var:
        return True
    for node in sp.preorder_traversal(body):
        if not node.args or var not in node.args:
            continue
        call = isinstance(node, (sp.Function, sp.Max, sp.Min)) and not isinstance(
            node, sp.Heaviside)
        root = isinstance(node, sp.Pow) and node.exp == sp.S.Half and node.base == var
        if not (call or root):
            return False
    return True


def hadamard_parts(expr: Any) -> tuple[list[Any], list[Any]]:
    """An entrywise product as (factors, divisors): parameters first, compound factors after,
    ``HadamardPower(·, -1)`` factors as divisors."""
    factors, divisors = [], []
    for arg in expr.args:
        if isinstance(arg, sp.HadamardPower) and arg.exp == -1:
            divisors.append(arg.base)
        else:
            factors.append(arg)
    factors.sort(key=lambda a: 0 if isinstance(broadcast_operand(a), sp.MatrixSymbol) else 1)
    return factors, divisors


def broadcast_operand(expr: Any) -> Any:
    """``𝟙 b`` -> ``b`` and ``c 𝟙`` -> ``c``; anything else unchanged."""
    if isinstance(expr, sp.MatMul) and len(expr.args) == 2:
        first, second = expr.args
        if isinstance(first, sp.OneMatrix) and first.shape[1] == 1:
            return second
        if isinstance(second, sp.OneMatrix) and not getattr(first, "is_Matrix", False):
            return first
    return expr


def positive_first(terms: list[Any]) -> list[Any]:
    """The terms of a sum as a textbook orders them: products before plain symbols
    (``x W + b``), terms without a minus first (``x − μ``), constants spread over a matrix last
    (``σ² + ε``)."""
    def key(term: Any) -> tuple[int, int, int]:
        operand = broadcast_operand(term)
        spread = operand is not term and not getattr(operand, "is_Matrix", False)
        bare = isinstance(operand, (sp.MatrixSymbol, sp.Symbol))
        return (1 if term.could_extract_minus_sign() else 0, 1 if spread else 0,
                1 if bare else 0)

    return sorted(terms, key=key)


class NotationPrinter:
    """The notation above as printer methods, mixed in before one of SymPy's printers
    (``class SymnetLatexPrinter(NotationPrinter, LatexPrinter)``): each method is written once
    and prints its children with ``self._print``; a subclass gives only its symbols."""

    _ones: ClassVar[str]
    """The all-ones matrix (``𝟙``)."""
    _product: ClassVar[str]
    """Between the factors of an entrywise product (`` ⊙ ``)."""
    _quotient: ClassVar[str]
    """Before a divisor of an entrywise product (`` ⊘ ``)."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)  # type: ignore[call-arg]  # SymPy's printer, next in the MRO
        self._arguments: dict[Any, str] = {}
        """While an entrywise function's body is printed: its variable -> the printed
        argument it stands for."""

    if TYPE_CHECKING:  # provided by the SymPy printer next in the MRO
        def _print(self, expr: Any, **kwargs: Any) -> str: ...

        def parenthesize(self, item: Any, level: int, strict: bool = False) -> str: ...

    def _group(self, argument: str) -> str:
        """An argument in parentheses."""
        raise NotImplementedError

    def _print_name(self, expr: Any, *args: Any, **kwargs: Any) -> str:
        """A symbol that stands for itself."""
        return super()._print_Symbol(expr, *args, **kwargs)  # type: ignore[misc, no-any-return]

    def _print_Symbol(self, expr: Any, *args: Any, **kwargs: Any) -> str:
        shown = self._arguments.get(expr)
        return shown if shown is not None else self._print_name(expr, *args, **kwargs)

    def _print_OneMatrix(self, expr: Any) -> str:
        return self._ones

    def _print_ElementwiseApplyFunction(self, expr: Any) -> str:
        var, body = expr.function.variables[0], expr.function.expr
        arg = self._print(expr.expr)
        if not direct_argument(body, var) and isinstance(expr.expr, (sp.MatAdd, sp.MatMul,
                                                                      sp.HadamardProduct)):
            arg = self._group(arg)
        saved = dict(self._arguments)
        self._arguments[var] = arg
        try:
            return self._print(body)
        finally:
            self._arguments = saved

    def _column(self) -> bool:
        """Whether matrices are written in the column-vector convention (``W x + b``: every
        matrix shown is the transpose of the row-convention one the formula holds)."""
        return bool(self._settings.get("convention") == "column")  # type: ignore[attr-defined]

    def _print_MatMul(self, expr: Any) -> str:
        operand = broadcast_operand(expr)
        if operand is not expr:
            return self._print(operand)
        if not self._column():
            return super()._print_MatMul(expr)  # type: ignore[misc, no-any-return]
        # (A B)ᵀ = Bᵀ Aᵀ: the factors in the reverse order, the scalars first
        scalars = [a for a in expr.args if not getattr(a, "is_Matrix", False)]
        factors = [a for a in expr.args if getattr(a, "is_Matrix", False)]
        coefficient = sp.Mul(*scalars)
        parts = [self.parenthesize(a, PRECEDENCE["Mul"], strict=False)
                 for a in reversed(factors)]
        if coefficient == -1:
            return "- " + self._matmul_join(parts)
        if coefficient != 1:
            parts.insert(0, self.parenthesize(coefficient, PRECEDENCE["Mul"], strict=False))
        return self._matmul_join(parts)

    def _matmul_join(self, parts: list[str]) -> str:
        """Factors of a matrix product, printed, side by side."""
        return " ".join(parts)

    def _print_ImmutableDenseMatrix(self, expr: Any) -> str:
        shown = expr.T if self._column() else expr
        return self._print_MatrixBase(shown)  # type: ignore[attr-defined, no-any-return]

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

        out = self._product.join(part(a) for a in factors) if factors else self._ones
        return out + "".join(self._quotient + part(d) for d in divisors)
