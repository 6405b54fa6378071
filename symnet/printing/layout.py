"""Laying out printed LaTeX: how wide a formula prints, and a long one broken into lines."""

from __future__ import annotations

import re

__all__ = ["break_lines", "visible_length"]

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
