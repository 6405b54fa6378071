"""Checking hand calculations. So far: the safe parser for user formulas."""

from .parse import parse_formula

__all__ = ["parse_formula"]
