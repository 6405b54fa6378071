"""The bounds every formula read by the safe parser stays within, and how a received formula
is quoted in an error message."""

from __future__ import annotations

__all__ = ["MAX_DEGREE", "MAX_DEPTH", "MAX_EXPONENT", "MAX_FUNCTION_NESTING", "MAX_LENGTH",
           "MAX_MAGNITUDE", "MIN_MAGNITUDE", "quoted"]

MAX_LENGTH = 2000
"""Characters in a formula."""
MAX_DEPTH = 60
"""Levels of nesting (brackets, operators, calls)."""
MAX_EXPONENT = 64
"""Size of a numeric exponent."""
MAX_DEGREE = 64
"""Degree of a formula as a polynomial in its variables (``(x+1)^64`` is the largest power)."""
MAX_FUNCTION_NESTING = 8
"""Functions other than ``max``, ``min``, ``abs`` and ``relu`` inside one another."""
MAX_MAGNITUDE = 1e300
"""Largest size of a number in a formula, written or computed from constants (float64 holds
1.8e308: a larger one would overflow when the formula is evaluated)."""
MIN_MAGNITUDE = 1e-300
"""Smallest size of a nonzero number written in a formula (a smaller one would be 0)."""


def quoted(text: str) -> str:
    """A received formula as an error message quotes it: printable, at most 80 characters."""
    from ..escape import terminal_text

    return repr(terminal_text(text, limit=80))
