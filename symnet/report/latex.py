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
        if "^" in base and not base.startswith(r"\left("):
            base = "{" + base + "}"  # x^{(1)} squared: {x^{(1)}}^{∘2}, never x^{(1)}^{∘2}
        return rf"{base}^{{\circ\, {self._print(expr.exp)}}}"

    def _print_Heaviside(self, expr: Any, exp: Any = None) -> str:
        # The Iverson bracket: 1 where the argument is positive, else 0 (H(0) = 0 here).
        shown = rf"\left[{self._print(expr.args[0])} > 0\right]"
        return shown if exp is None else rf"{shown}^{{{exp}}}"


def latex(expr: Any, **settings: Any) -> str:
    """``expr`` in LaTeX, with :class:`SymnetLatexPrinter`."""
    return SymnetLatexPrinter(settings).doprint(expr)


_WORD = re.compile(r"\\(?:mathrm|operatorname|text|mathbf)\{([^{}]*)\}|\\([A-Za-z]+)|(.)", re.S)
_SPELLED = {"max", "min", "exp", "log", "tanh", "sqrt", "sin", "cos", "ln"}
_INVISIBLE = {"left", "right", "bigl", "bigr", "Bigl", "Bigr", "begin", "end", "quad",
              "displaystyle", "circ"}


def visible_length(latex_text: str) -> float:
    """About how many characters wide a formula prints: commands count as what they show,
    braces, sub- and superscript marks as nothing, sub- and superscripts as less."""
    width, depth = 0.0, 0
    for m in _WORD.finditer(latex_text):
        word, command, char = m.groups()
        if word is not None:
            width += len(word)
        elif command is not None:
            width += len(command) if command in _SPELLED else 0 if command in _INVISIBLE else 1
        elif char in "{}":
            depth += 1 if char == "{" else -1
        elif char in "^_ &":
            continue
        else:
            width += 0.7 if depth > 0 else 1
    return width


_SIZED = (("\\left(", "\\bigl("), ("\\right)", "\\bigr)"), ("\\left[", "\\bigl["),
          ("\\right]", "\\bigr]"), ("\\left\\{", "\\bigl\\{"), ("\\right\\}", "\\bigr\\}"),
          ("\\left|", "\\bigl|"), ("\\right|", "\\bigr|"))
_BREAKS = (" + ", " - ", " \\odot ", " \\oslash ", ", ")


def break_lines(latex_text: str, width: float = 68) -> list[str]:
    """A long formula as lines of at most about ``width`` characters, broken before ``+``,
    ``-``, ``⊙``, ``⊘`` or after a comma, outside braces and environments; ``\\left`` and
    ``\\right`` become fixed sizes so that a bracket may open on one line and close on another.
    A formula that fits is one line."""
    if visible_length(latex_text) <= width:
        return [latex_text]
    text = latex_text
    for old, new in _SIZED:
        text = text.replace(old, new)
    pieces, start, depth, env, i = [], 0, 0, 0, 0
    while i < len(text):
        if text.startswith("\\begin{", i):
            env += 1
        elif text.startswith("\\end{", i):
            env -= 1
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            i += 2 if not text[i + 1].isalpha() else 1
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0 and env == 0:
            for mark in _BREAKS:
                if text.startswith(mark, i) and i > start:
                    cut = i + 2 if mark == ", " else i
                    pieces.append(text[start:cut])
                    start = cut
                    break
        i += 1
    pieces.append(text[start:])
    lines, current = [], ""
    for piece in pieces:
        if current and visible_length(current + piece) > width:
            lines.append(current.rstrip())
            current = piece.lstrip()
        else:
            current += piece
    lines.append(current.rstrip())
    return [line for line in lines if line]
