"""A LaTeX subset for formulas, translated token by token into the plain-math grammar.

``\\max(0, 3x - 1)``, ``\\frac{1}{2}x``, ``\\sqrt{x}``, ``x^{2}``, ``2 \\cdot x``,
``\\left( ... \\right)``, ``\\exp``, ``\\ln``, ``\\tanh``, ``\\operatorname{relu}``.
The result is read by :func:`symnet.parse.parse_formula`, so every bound and
whitelist of the plain parser applies; a command outside this subset is refused by name.
"""

from __future__ import annotations

import re

from ..errors import InvalidInputError
from .limits import MAX_DEPTH

__all__ = ["latex_to_plain"]

_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[{}]|[^\\{}]+")
_FUNCTIONS = {"max", "min", "exp", "ln", "log", "sin", "cos", "tan", "tanh", "sqrt", "erf"}
_SAME = {r"\cdot": "*", r"\times": "*", r"\left": "", r"\right": "", r"\,": " ", r"\;": " ",
         r"\!": "", r"\ ": " ", r"\pi": "pi", r"\{": "(", r"\}": ")"}


def latex_to_plain(text: str) -> str:
    """Plain math for a LaTeX formula of the supported subset; ``InvalidInputError`` else."""
    if text.count("{") > MAX_DEPTH:
        raise InvalidInputError(f"formula nested too deeply (more than {MAX_DEPTH} braces)")
    tokens = _TOKEN.findall(text)
    out, _ = _group(tokens, 0, closing=None)
    return out


def _braced(tokens: list[str], i: int) -> tuple[str, int]:
    if i >= len(tokens) or tokens[i] != "{":
        raise InvalidInputError("malformed LaTeX formula: expected '{' after a command")
    inner, i = _group(tokens, i + 1, closing="}")
    return f"({inner})", i


def _group(tokens: list[str], i: int, closing: str | None) -> tuple[str, int]:
    parts: list[str] = []
    while i < len(tokens):
        tok = tokens[i]
        if tok == closing:
            return "".join(parts), i + 1
        if tok == "}":
            raise InvalidInputError("malformed LaTeX formula: unbalanced '}'")
        if tok == "{":
            inner, i = _group(tokens, i + 1, closing="}")
            parts.append(f"({inner})")
            continue
        if tok == r"\frac":
            top, i = _braced(tokens, i + 1)
            bottom, i = _braced(tokens, i)
            parts.append(f"({top}/{bottom})")
            continue
        if tok == r"\sqrt":
            arg, i = _braced(tokens, i + 1)
            parts.append(f"sqrt{arg}")
            continue
        if tok == r"\operatorname":
            name, i = _braced(tokens, i + 1)
            parts.append(f" {name.strip('()')} ")
            continue
        if tok.startswith("\\"):
            if tok in _SAME:
                parts.append(_SAME[tok])
            elif tok[1:] in _FUNCTIONS:
                parts.append(f" {tok[1:]} ")
            else:
                raise InvalidInputError(f"LaTeX command {tok} is not supported in formulas")
            i += 1
            continue
        parts.append(tok.replace("^", "**"))
        i += 1
    if closing is not None:
        raise InvalidInputError("malformed LaTeX formula: missing '}'")
    return "".join(parts), i
