"""Numbers as symnet reads them from a layer's config: exact, as written (a leaf module that
ops, backends and functions share)."""

from __future__ import annotations

import numpy as np
import sympy as sp

__all__ = ["number"]


def number(value: float | int) -> sp.Rational:
    """A hyperparameter from a layer's config, exactly as written there (``0.001`` is 1/1000)."""
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"expected a finite number, received {value!r}")
    if value == int(value):
        return sp.Integer(int(value))
    return sp.Rational(repr(value))
