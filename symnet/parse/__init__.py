"""The safe formula parser: untrusted text such as ``2*x + 5``, ``max(0, 3x - 1)`` or LaTeX
``\\frac{1}{2}x + \\max(0, x)`` read into a SymPy expression without ``eval`` (:mod:`.formula`,
:mod:`.latex`), within the bounds of :mod:`.limits`.

A general tool: ``why``'s targets, ``check``'s formulas and the command line read user formulas
with it.
"""

from .formula import FUNCTIONS, parse_formula
from .limits import (
    MAX_DEGREE,
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_FUNCTION_NESTING,
    MAX_LENGTH,
    MAX_MAGNITUDE,
    MIN_MAGNITUDE,
)

__all__ = ["FUNCTIONS", "MAX_DEGREE", "MAX_DEPTH", "MAX_EXPONENT", "MAX_FUNCTION_NESTING",
           "MAX_LENGTH", "MAX_MAGNITUDE", "MIN_MAGNITUDE", "parse_formula"]
