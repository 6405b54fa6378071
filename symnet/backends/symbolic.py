"""SymPy expressions of the input symbols: how the closed form is built."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import sympy as sp

from ..functions import T
from ..numbers import number
from .base import ObjectBackend

__all__ = ["SymbolicBackend", "lattice", "put"]


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
        if not getattr(v, "free_symbols", None):
            return fn.textbook(v)  # a number: evaluated
        return put(_body(fn), T, v)


def _body(fn: Any) -> Any:
    """The function as formulas hold it, at ``t`` (once per function)."""
    try:
        return _cached_body(fn)
    except TypeError:  # not hashable
        return fn.textbook(T)


@functools.lru_cache(maxsize=256)
def _cached_body(fn: Any) -> Any:
    return sp.sympify(fn.textbook(T))


def put(expr: Any, var: Any, value: Any) -> Any:
    """``expr`` with ``value`` in place of ``var``, every node built as SymPy builds it, so
    that the result equals what ``srepr`` or ``pickle`` rebuild from it; but a ``Max`` or
    ``Min`` of expressions is not made to compare them (by factoring and by the assumptions:
    seconds on a long sum): its arguments are flattened, its numbers combined, and ordered as
    SymPy orders them, which is what SymPy makes of a ``Max`` it cannot decide."""
    if expr == var:
        return value
    if not expr.args or var not in expr.free_symbols:
        return expr
    args = [put(a, var, value) for a in expr.args]
    if isinstance(expr, (sp.Max, sp.Min)):
        return lattice(type(expr), args)
    return expr.func(*args)


def lattice(cls: Any, args: list[Any]) -> Any:
    """``Max(*args)`` or ``Min(*args)`` as SymPy evaluates it when it cannot tell which
    argument is larger, without trying to."""
    flat: list[Any] = []
    for a in args:
        flat.extend(a.args if isinstance(a, cls) else [a])
    numbers = [a for a in flat if a.is_number and a.is_comparable]
    rest = list(dict.fromkeys(a for a in flat if not (a.is_number and a.is_comparable)))
    if numbers:
        rest.append(cls(*numbers))
    if len(rest) == 1:
        return rest[0]
    return cls(*rest, evaluate=False)
