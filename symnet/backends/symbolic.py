"""SymPy expressions of the input symbols: how the closed form is built."""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from ..numbers import number
from .base import ObjectBackend

__all__ = ["SymbolicBackend"]


class SymbolicBackend(ObjectBackend):
    """Weights become ``Float``\\ s holding the float32 values exactly; activations appear as a
    textbook writes them (ReLU as ``Max(0, t)``)."""

    name = "symbolic"

    def inputs(self, x: Any) -> np.ndarray:
        return np.asarray(x, dtype=object)

    def _convert(self, value: Any) -> np.ndarray:
        a = np.asarray(getattr(value, "value", value), dtype=np.float64)
        out = np.empty(a.shape, dtype=object)
        for i, v in enumerate(a.reshape(-1)):
            # Full double precision: the float32 value exactly, with room for the sums and
            # products SymPy folds into one number (rounding for display is the printers').
            out.reshape(-1)[i] = sp.Float(float(v), 15)
        return out

    def const(self, value: float) -> Any:
        return number(value)

    def matmul(self, x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        rows = x.reshape(-1, x.shape[-1])
        out = np.empty((rows.shape[0], kernel.shape[1]), dtype=object)
        for r, row in enumerate(rows):
            for j in range(kernel.shape[1]):
                out[r, j] = sp.Add(*[v * kernel[i, j] for i, v in enumerate(row)])
        return out.reshape(x.shape[:-1] + (kernel.shape[1],))

    def add_all(self, terms: list[Any]) -> Any:
        return sp.Add(*terms)

    def to_sympy(self, v: Any) -> Any:
        return v

    def from_sympy(self, e: Any) -> Any:
        return e

    def apply(self, fn: Any, v: Any) -> Any:
        # Unevaluated: an evaluated Max(0, t) compares t with 0 by factoring it, which takes
        # seconds on a long t; the structure is the same, t is already a flat sum.
        if not getattr(v, "free_symbols", None):
            return fn.textbook(v)  # a number: evaluated
        with sp.evaluate(False):
            return fn.textbook(v)
