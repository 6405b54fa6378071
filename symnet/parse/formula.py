"""A safe parser for untrusted formulas such as ``2*x + 5``, ``max(0, 3x - 1)`` or LaTeX
``\\max(0, 3x - 1)`` (a subset, translated by :mod:`symnet.parse.latex`).

No ``eval``, ``sympify`` or ``parse_expr`` (all of which evaluate Python): the text is tokenized
with Python's own tokenizer (to insert the implicit products of ``3x`` and ``2(x+1)``), parsed
by ``ast`` into a tree, and the tree is converted node by node, accepting only numbers, the
allowed variable names, arithmetic operators and a whitelist of math functions, each with its
number of arguments.

Everything a formula could use to exhaust time or memory is bounded while it is read: its
length, its nesting, the nesting of functions such as ``exp``, its degree as a polynomial, its
exponents and the size of every number in it (a constant part such as ``exp(exp(99))`` is
estimated in floating point before SymPy is asked for it). A constant part that is not a real
number (``sqrt(-1)``, ``log(0)``, ``1/0``, ``(-8)^(1/3)``) is refused. Each refusal is an
:class:`~symnet.errors.InvalidInputError` that quotes what was received.
"""

from __future__ import annotations

import ast
import io
import math
import re
import tokenize
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..errors import InvalidInputError
from .limits import (
    MAX_DEGREE,
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_FUNCTION_NESTING,
    MAX_LENGTH,
    MAX_MAGNITUDE,
    MIN_MAGNITUDE,
    quoted,
)

__all__ = ["FUNCTIONS", "MAX_DEGREE", "MAX_DEPTH", "MAX_EXPONENT", "MAX_FUNCTION_NESTING",
           "MAX_LENGTH", "MAX_MAGNITUDE", "MIN_MAGNITUDE", "parse_formula"]

@dataclass(frozen=True)
class _Function:
    build: Callable[..., Any]
    """SymPy expression of the arguments."""
    value: Callable[..., float] | None
    """float64 value of constant arguments (raises ValueError/OverflowError outside)."""
    arity: tuple[int, int | None]
    """Least and most arguments (``None``: no most)."""
    piecewise_linear: bool = False


def _max(*args: Any) -> Any:
    # evaluate=False: SymPy's Max compares every pair of arguments symbolically, 9 s for 100
    return sp.Max(*args, evaluate=False)


def _min(*args: Any) -> Any:
    return sp.Min(*args, evaluate=False)


def _sigmoid_value(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t)) if t > -700 else 0.0


#: The functions a formula may call, by the names users write.
FUNCTIONS: dict[str, _Function] = {
    "max": _Function(_max, max, (2, None), True),
    "min": _Function(_min, min, (2, None), True),
    "abs": _Function(sp.Abs, abs, (1, 1), True),
    "relu": _Function(lambda t: _max(0, t), lambda t: max(0.0, t), (1, 1), True),
    "exp": _Function(sp.exp, math.exp, (1, 1)),
    "log": _Function(sp.log, math.log, (1, 1)),
    "ln": _Function(sp.log, math.log, (1, 1)),
    "sqrt": _Function(sp.sqrt, math.sqrt, (1, 1)),
    "sin": _Function(sp.sin, math.sin, (1, 1)),
    "cos": _Function(sp.cos, math.cos, (1, 1)),
    "tan": _Function(sp.tan, math.tan, (1, 1)),
    "tanh": _Function(sp.tanh, math.tanh, (1, 1)),
    "erf": _Function(sp.erf, math.erf, (1, 1)),
    "sigmoid": _Function(lambda t: 1 / (1 + sp.exp(-t)), _sigmoid_value, (1, 1)),
}
# as SymPy prints them, so that a printed closed form reads back
FUNCTIONS.update(Max=FUNCTIONS["max"], Min=FUNCTIONS["min"], Abs=FUNCTIONS["abs"])

_DECIMAL = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_UNDEFINED = (sp.zoo, sp.nan, sp.oo, -sp.oo)
_CONSTANTS = {"pi": (sp.pi, math.pi), "e": (sp.E, math.e)}


@dataclass(frozen=True)
class _Term:
    """A converted node: its SymPy expression, its degree as a polynomial (functions such as
    ``exp`` count as one variable), how many non-linear functions it nests, and its float value
    when it is a constant."""

    expr: Any
    degree: float
    nesting: int
    value: float | None


def _implicit_products(text: str) -> str:
    """``3x`` -> ``3*x``, ``2(x+1)`` -> ``2*(x+1)``, ``(a)(b)`` -> ``(a)*(b)``, ``^`` -> ``**``."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise InvalidInputError(f"malformed formula {quoted(text)}: {exc}") from None
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
    """The SymPy expression of ``text``, over ``variables`` only.

    Raises:
        InvalidInputError: the text is not a formula of the grammar (numbers, the variables,
            ``+ - * / ^``, the functions of :data:`FUNCTIONS` with their numbers of arguments,
            ``pi``, ``e``), exceeds a bound, or has a constant part that is not a real number.
            The message quotes what was received.
    """
    if not isinstance(text, str):
        raise InvalidInputError(f"expected a formula as text, received {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise InvalidInputError(f"formula too long: {len(text)} characters (at most "
                                f"{MAX_LENGTH})")
    if not text.strip():
        raise InvalidInputError("empty formula")
    original = text
    names = {str(v): v for v in variables}
    if "\\" in text or "{" in text:
        from .latex import latex_to_plain

        text = latex_to_plain(text)
    source = _implicit_products(text.strip())
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        reason = getattr(exc, "msg", None) or type(exc).__name__
        raise InvalidInputError(f"malformed formula {quoted(original)}: {reason}") from None
    return _Reader(names, source, original).read(tree.body, 0).expr


class _Reader:
    """Converts an ``ast`` tree node by node, checking every bound on the way up."""

    def __init__(self, names: dict[str, sp.Symbol], source: str, original: str) -> None:
        self.names = names
        self.source = source
        self.encoded = source.encode("utf-8")
        self.original = original

    def segment(self, node: ast.AST) -> str | None:
        """The text of a node (one line: its offsets are UTF-8 byte offsets in it)."""
        start, end = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        if start is None or end is None:
            return None
        return self.encoded[start:end].decode("utf-8", errors="replace")

    def refuse(self, what: str, node: ast.AST | None = None) -> InvalidInputError:
        part = self.segment(node) if node is not None else None
        whole = "".join(self.original.split())
        where = f" at {quoted(part)}" if part and "".join(part.split()) != whole else ""
        return InvalidInputError(f"{what}{where} in the formula {quoted(self.original)}")

    def read(self, node: ast.AST, depth: int) -> _Term:
        if depth > MAX_DEPTH:
            raise InvalidInputError(f"formula nested too deeply (more than {MAX_DEPTH} "
                                    f"levels): {quoted(self.original)}")
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            t = self.read(node.operand, depth + 1)
            if isinstance(node.op, ast.UAdd):
                return t
            return _Term(-t.expr, t.degree, t.nesting, None if t.value is None else -t.value)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult,
                                                                ast.Div)):
            return self.arithmetic(node, self.read(node.left, depth + 1),
                                   self.read(node.right, depth + 1))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return self.power(node, self.read(node.left, depth + 1),
                              self.read(node.right, depth + 1))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in FUNCTIONS:
            return self.call(node, depth)
        shown = self.segment(node) or type(node).__name__
        names = ", ".join(sorted(n for n in FUNCTIONS if n.islower()))
        raise InvalidInputError(
            f"not allowed in a formula: {quoted(shown)} (only numbers, the variables, "
            f"+ - * / ^ and the functions {names})")

    def number(self, node: ast.Constant) -> _Term:
        text = self.segment(node) or repr(node.value)
        if not _DECIMAL.fullmatch(text):
            raise self.refuse("numbers are written in decimal (such as 10, -2.5 or 1e-3)", node)
        exact = sp.Rational(text) if isinstance(node.value, float) else sp.Integer(node.value)
        if abs(exact) > MAX_MAGNITUDE:
            raise self.refuse(f"number too large (at most {MAX_MAGNITUDE:g})", node)
        if exact != 0 and abs(exact) < MIN_MAGNITUDE:
            raise self.refuse(f"number too small (nonzero numbers are at least "
                              f"{MIN_MAGNITUDE:g})", node)
        return _Term(exact, 0, 0, float(exact))

    def name(self, node: ast.Name) -> _Term:
        if node.id in self.names:
            return _Term(self.names[node.id], 1, 0, None)
        if node.id in _CONSTANTS:
            expr, value = _CONSTANTS[node.id]
            return _Term(expr, 0, 0, value)
        allowed = ", ".join(sorted(self.names)) or "(none)"
        if node.id in FUNCTIONS:
            raise self.refuse(f"function {node.id!r} used without its argument(s)", node)
        raise InvalidInputError(f"unknown name {quoted(node.id)} in the formula "
                                f"{quoted(self.original)}; the variables are {allowed}")

    def arithmetic(self, node: ast.BinOp, a: _Term, b: _Term) -> _Term:
        op = node.op
        if isinstance(op, ast.Div) and b.value == 0:
            raise self.refuse("division by zero", node)
        value = None
        u, v = a.value, b.value
        if u is not None and v is not None:
            value = self.estimate(node, lambda: {ast.Add: u + v, ast.Sub: u - v,
                                                 ast.Mult: u * v, ast.Div: u / v}[type(op)])
        if isinstance(op, (ast.Add, ast.Sub)):
            expr = a.expr + b.expr if isinstance(op, ast.Add) else a.expr - b.expr
            degree = max(a.degree, b.degree)
        elif isinstance(op, ast.Mult):
            expr, degree = a.expr * b.expr, a.degree + b.degree
        else:
            expr, degree = a.expr / b.expr, a.degree + b.degree
        return self.checked(node, _Term(expr, degree, max(a.nesting, b.nesting), value))

    def power(self, node: ast.BinOp, base: _Term, exponent: _Term) -> _Term:
        if exponent.value is None or exponent.degree:
            hint = " (write exp(...) for e^...)" if base.expr == sp.E else ""
            raise self.refuse(f"exponent with a variable not allowed: exponents must be "
                              f"numbers{hint}", node.right)
        if not (abs(exponent.value) <= MAX_EXPONENT):
            raise self.refuse(f"exponent {exponent.value:g} not allowed (exponents are at "
                              f"most {MAX_EXPONENT} in size)", node.right)
        degree = base.degree * abs(exponent.value)
        if degree > MAX_DEGREE:
            raise self.refuse(f"power of degree {degree:g} not allowed (the degree is at most "
                              f"{MAX_DEGREE})", node)
        value = None
        if base.value is not None:
            b, e = base.value, exponent.value
            if b == 0 and e < 0:
                raise self.refuse("division by zero (0 to a negative power)", node)
            if b < 0 and e != int(e):
                raise self.refuse("not a real number (a negative number to a fractional "
                                  "power: write -(8^(1/3)) for the real cube root of -8)", node)
            value = self.estimate(node, lambda: math.pow(b, e))
        return self.checked(node, _Term(base.expr**exponent.expr, degree,
                                        max(base.nesting, exponent.nesting), value))

    def call(self, node: ast.Call, depth: int) -> _Term:
        name = node.func.id  # type: ignore[attr-defined]
        fn = FUNCTIONS[name]
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.refuse(f"{name}() takes plain arguments only", node)
        least, most = fn.arity
        given = len(node.args)
        if given < least or (most is not None and given > most):
            wanted = (f"exactly {least} argument{'s' if least > 1 else ''}" if least == most
                      else f"at least {least} arguments")
            raise self.refuse(f"{name}() takes {wanted}, received {given}", node)
        args = [self.read(a, depth + 1) for a in node.args]
        nesting = max(t.nesting for t in args) + (0 if fn.piecewise_linear else 1)
        if nesting > MAX_FUNCTION_NESTING:
            raise self.refuse(f"functions nested too deeply (more than "
                              f"{MAX_FUNCTION_NESTING} of exp, log, sqrt, sin... inside one "
                              "another)", node)
        value = None
        if all(t.value is not None for t in args):
            values = [t.value for t in args]
            if name in ("log", "ln") and values[0] == 0:
                raise self.refuse("log(0) is not defined", node)
            value = self.estimate(node, lambda: fn.value(*values))  # type: ignore[misc]
        if fn.piecewise_linear:
            degree = max(t.degree for t in args)
        elif name == "sqrt":
            degree = args[0].degree / 2
        else:
            degree = 1 if any(t.degree for t in args) else 0
        return self.checked(node, _Term(fn.build(*[t.expr for t in args]), degree, nesting,
                                        value))

    def estimate(self, node: ast.AST, compute: Callable[[], float]) -> float | None:
        """The float64 value of a constant part, refused when too large; ``None`` when float64
        cannot tell (e.g. a square root of a rounding error below 0): SymPy decides then."""
        try:
            value = compute()
        except OverflowError:
            raise self.refuse(f"number too large (beyond {MAX_MAGNITUDE:g})", node) from None
        except (ValueError, ZeroDivisionError):
            return None
        if isinstance(value, complex):
            return None
        if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
            raise self.refuse(f"number too large (beyond {MAX_MAGNITUDE:g})", node)
        return value

    def checked(self, node: ast.AST, term: _Term) -> _Term:
        """Refuse an undefined or non-real result; give a constant its value."""
        expr = term.expr
        # SymPy makes zoo where a division by zero or log(0) happens: in the node or its args
        if any(e in _UNDEFINED for e in (expr, *expr.args)):
            raise self.refuse("not defined (division by zero or log(0))", node)
        if term.degree == 0 and not expr.free_symbols:
            if expr.has(sp.I) or expr.is_extended_real is False:
                raise self.refuse("not a real number", node)
            if term.value is None:
                value = complex(expr.evalf(30))
                if value.imag:
                    raise self.refuse("not a real number", node)
                return _Term(expr, term.degree, term.nesting, value.real)
        return term
