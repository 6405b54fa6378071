"""What the LaTeX and text printers share: how symnet's formulas are written for people.

- an entrywise function ``ElementwiseApplyFunction(Lambda(t, body), X)`` is written as its
  body with ``X`` in place of ``t``: ``max(0, x W + b)``;
- entrywise products and quotients: ``γ ⊙ (x − μ) ⊘ √(σ² + ε)``, parameters first;
- a scalar times the all-ones matrix is the scalar (``σ² + ε``); a row repeated on every row of
  the input (``𝟙 b``) is the row (``b``): broadcasting, as a textbook leaves it implicit.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

__all__ = ["broadcast_operand", "direct_argument", "hadamard_parts", "positive_first"]


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
