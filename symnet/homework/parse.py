"""A safe parser for untrusted formulas such as ``2*x + 5``, ``max(0, 3x - 1)`` or LaTeX
``\\max(0, 3x - 1)`` (a subset, translated by :mod:`symnet.homework.latex`).

No ``eval``, ``sympify`` or ``parse_expr`` (all of which evaluate Python): the text is tokenized
with Python's own tokenizer (to insert the implicit products of ``3x`` and ``2(x+1)``), parsed
by ``ast`` into a tree, and the tree is converted node by node, accepting only numbers, the
allowed variable names, arithmetic operators and a whitelist of math functions. Length, nesting
depth and numeric exponents are bounded, so nothing a user types can run code, or exhaust time
or memory.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Sequence
from typing import Any

import sympy as sp

from ..errors import InvalidInputError

__all__ = ["FUNCTIONS", "MAX_DEPTH", "MAX_EXPONENT", "MAX_LENGTH", "parse_formula"]

MAX_LENGTH = 2000
MAX_DEPTH = 60
MAX_EXPONENT = 64
MAX_NUMBER_BITS = 4096

#: The functions a formula may call, by the names users write.
FUNCTIONS: dict[str, Any] = {
    "max": sp.Max, "min": sp.Min, "abs": sp.Abs, "exp": sp.exp, "log": sp.log, "ln": sp.log,
    "sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "tanh": sp.tanh,
    "erf": sp.erf, "relu": lambda t: sp.Max(0, t), "sigmoid": lambda t: 1 / (1 + sp.exp(-t)),
    # as SymPy prints them, so that a printed closed form reads back
    "Max": sp.Max, "Min": sp.Min, "Abs": sp.Abs,
}
_CONSTANTS = {"pi": sp.pi, "e": sp.E}
_BINARY = {ast.Add: sp.Add, ast.Sub: lambda a, b: a - b, ast.Mult: sp.Mul,
           ast.Div: lambda a, b: a / b}


def _implicit_products(text: str) -> str:
    """``3x`` -> ``3*x``, ``2(x+1)`` -> ``2*(x+1)``, ``(a)(b)`` -> ``(a)*(b)``, ``^`` -> ``**``."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise InvalidInputError(f"malformed formula {text!r}: {exc}") from None
    out: list[str] = []
    previous: tokenize.TokenInfo | None = None
    for tok in tokens:
        if tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT,
                        tokenize.DEDENT):
            continue
        value = "**" if tok.string == "^" else tok.string
        if previous is not None:
            ends_value = previous.type in (tokenize.NUMBER, tokenize.NAME) or previous.string == ")"
            starts_value = tok.type in (tokenize.NUMBER, tokenize.NAME) or tok.string == "("
            is_call = previous.type == tokenize.NAME and previous.string in FUNCTIONS
            if ends_value and starts_value and not (is_call and tok.string == "("):
                out.append("*")
        out.append(value)
        previous = tok
    return " ".join(out)


def parse_formula(text: str, variables: Sequence[sp.Symbol]) -> sp.Expr:
    """The SymPy expression of ``text``, over ``variables`` only; ``InvalidInputError`` else."""
    if not isinstance(text, str):
        raise InvalidInputError(f"expected a formula as text, received {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise InvalidInputError(f"formula too long: {len(text)} characters (at most "
                                f"{MAX_LENGTH})")
    if not text.strip():
        raise InvalidInputError("empty formula")
    names = {str(v): v for v in variables}
    if "\\" in text or "{" in text:
        from .latex import latex_to_plain

        text = latex_to_plain(text)
    try:
        tree = ast.parse(_implicit_products(text.strip()), mode="eval")
    except InvalidInputError:
        raise
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        reason = getattr(exc, "msg", None) or type(exc).__name__
        raise InvalidInputError(f"malformed formula {text[:80]!r}: {reason}") from None
    return _convert(tree.body, names, 0, text)


def _convert(node: ast.AST, names: dict[str, sp.Symbol], depth: int, text: str) -> Any:
    if depth > MAX_DEPTH:
        raise InvalidInputError(f"formula nested too deeply (more than {MAX_DEPTH} levels)")
    again = lambda child: _convert(child, names, depth + 1, text)  # noqa: E731
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return sp.Rational(repr(node.value)) if isinstance(node.value, float) else sp.Integer(
            node.value)
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        allowed = ", ".join(sorted(names)) or "(none)"
        raise InvalidInputError(f"unknown name {node.id!r} in formula; the variables are "
                                f"{allowed}")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = again(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](again(node.left), again(node.right))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        base, exponent = again(node.left), again(node.right)
        if not (exponent.is_number and abs(exponent) <= MAX_EXPONENT):
            raise InvalidInputError(f"exponent {exponent} not allowed: exponents must be numbers "
                                    f"of size at most {MAX_EXPONENT}")
        if base.is_Rational and exponent.is_Rational:
            bits = max(int(base.p).bit_length(), int(base.q).bit_length())
            if bits * abs(exponent) > MAX_NUMBER_BITS:
                raise InvalidInputError(f"number too large in formula: {base}^{exponent}")
        return base**exponent
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords \
            and node.func.id in FUNCTIONS:
        return FUNCTIONS[node.func.id](*[again(a) for a in node.args])
    shown = ast.get_source_segment(_implicit_products(text), node) or type(node).__name__
    raise InvalidInputError(f"not allowed in a formula: {shown!r} (only numbers, the variables, "
                            f"+ - * / ^ and the functions {', '.join(sorted(FUNCTIONS))})")
