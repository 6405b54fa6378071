"""The safe formula parser, for callers of its earlier home: see :mod:`symnet.parse`."""

from ..parse import (
    FUNCTIONS,
    MAX_DEGREE,
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_FUNCTION_NESTING,
    MAX_LENGTH,
    MAX_MAGNITUDE,
    MIN_MAGNITUDE,
    parse_formula,
)

__all__ = ["FUNCTIONS", "MAX_DEGREE", "MAX_DEPTH", "MAX_EXPONENT", "MAX_FUNCTION_NESTING",
           "MAX_LENGTH", "MAX_MAGNITUDE", "MIN_MAGNITUDE", "parse_formula"]
