"""Exact rational arithmetic: every float32 weight is a rational, so sums and products are
exact; functions such as ``exp`` and ``sqrt`` are evaluated to ``WORK_DIGITS`` digits and the
result is then marked inexact.

Values are ``Fraction``\\ s in numpy object arrays, as every op expects; what costs is done
elsewhere:

- A matrix product is one integer product over a common denominator, computed by FLINT
  (python-flint's ``fmpz_mat``). Measured on the seed MLP's 1120 x 512 kernel (72-bit
  numerators) against one row of 63-bit numerators: numpy's object matmul of Python ints
  46 ms, the same on gmpy2 ``mpz`` 63 ms (the cost is numpy's per-element dispatch, not the
  multiplication), ``fmpz_mat`` 16 ms; at 100 rows 4.7 s against 0.18 s (FLINT multiplies
  blocks, multimodular for large entries). A weight matrix is converted to ``fmpz_mat`` once
  and kept beside the weight (:func:`integer_matrix`) instead of becoming 573,440 ``Fraction``
  objects on every run.
- A piecewise-linear function (ReLU...) is its piece's affine law, found once per piece:
  the same rational SymPy would give, without SymPy.
- A transcendental value (BatchNorm's ``1/sqrt(variance + eps)``) is still SymPy's
  ``evalf``: its digits define the result, and another library would round differently in
  the last place. It is remembered per (function, argument), so weights' square roots are
  taken once per process.
"""

from __future__ import annotations

import bisect
import functools
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp
from flint import fmpz_mat

from ..errors import InvalidInputError
from ..numbers import number
from .base import ObjectBackend
from .rational import common_denominator as _int_form_of_fractions
from .rational import dyadic, exact_fraction, integer_matrix
from .rational import finite_array as _finite
from .rational import fraction_product as _product
from .rational import hashable as _hashable
from .rational import piece_kinks as _fraction_kinks
from .rational import piece_law as _piece_law

__all__ = ["OUTPUT_DIGITS", "WORK_DIGITS", "ExactBackend", "FractionBackend", "dyadic",
           "exact_fraction", "integer_matrix"]

#: Digits to which exact evaluation computes transcendental functions.
WORK_DIGITS = 50
#: Significant digits of an exact result that went through a transcendental function.
OUTPUT_DIGITS = 30
#: Transcendental values below 2^-MAGNITUDE_BITS count as 0 (and the result as inexact); above
#: 2^MAGNITUDE_BITS exact evaluation stops with an error: their rationals would not fit memory.
MAGNITUDE_BITS = 30_000


def _fraction_of(e: Any) -> tuple[Fraction, bool]:
    """A SymPy number as a ``Fraction``, and whether it was rounded (to ``WORK_DIGITS``)."""
    if e.is_Rational:
        return Fraction(int(e.p), int(e.q)), False
    value = e.evalf(WORK_DIGITS)
    if value.is_Rational:  # evalf proved it exactly (a zero, say)
        return Fraction(int(value.p), int(value.q)), False
    if not (value.is_Float and value.is_finite):
        raise InvalidInputError(
            f"exact evaluation reached a value that is not a finite real number: {e}")
    _, _, exponent, bits = value._mpf_
    magnitude = exponent + bits  # |value| is about 2**magnitude
    if magnitude < -MAGNITUDE_BITS:
        # e^(-10^9) and the like (a masked attention score): far below the digits kept.
        return Fraction(0), True
    if magnitude > MAGNITUDE_BITS:
        raise InvalidInputError(f"exact evaluation reached a number beyond 2^{MAGNITUDE_BITS}"
                                f" (about 10^{int(MAGNITUDE_BITS * 0.30103)}): {e}")
    r = sp.Rational(value)
    return Fraction(int(r.p), int(r.q)), True


@functools.lru_cache(maxsize=1 << 16)
def _function_value(fn: Any, v: Fraction) -> tuple[Fraction, bool]:
    """``fn(v)`` as SymPy evaluates it, and whether it was rounded: remembered, as ``Fn`` and
    ``Fraction`` are immutable."""
    return _fraction_of(fn.sympy(sp.Rational(v.numerator, v.denominator)))


class ExactBackend(ObjectBackend):
    """``Fraction`` arithmetic; a matmul is one integer matmul over a common denominator."""

    name = "exact"

    def __init__(self) -> None:
        super().__init__()
        self.inexact = False
        self._int_forms: dict[int, tuple[np.ndarray, Any]] = {}
        """id(converted weight) -> (it, the weight it came from): its product is FLINT's."""

    def _convert(self, value: Any) -> np.ndarray:
        array = _finite(np.asarray(getattr(value, "value", value)))
        q, shift = value.exact if hasattr(value, "exact") else dyadic(array)
        den = 1 << shift
        out = np.empty(array.shape, dtype=object)
        flat_q, flat_out = q.reshape(-1), out.reshape(-1)
        for i, v in enumerate(flat_q):
            flat_out[i] = Fraction(v, den)
        if array.ndim == 2:
            self._int_forms[id(out)] = (out, value)
        return out

    def const(self, value: float) -> Fraction:
        r = number(value)
        return Fraction(int(r.p), int(r.q))

    def inputs(self, x: Any) -> np.ndarray:
        arr = np.asarray(x, dtype=object)
        out = np.empty(arr.shape, dtype=object)
        for i, v in enumerate(arr.reshape(-1)):
            out.reshape(-1)[i] = exact_fraction(v)
        return out

    def matmul(self, x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        cached = self._int_forms.get(id(kernel))
        if cached is not None and cached[0] is kernel:
            return self.matmul_weight(x, cached[1])
        q, den = _int_form_of_fractions(kernel)
        rows, cols = q.shape
        return _product(x, fmpz_mat(rows, cols, q.reshape(-1).tolist()), den)

    def matmul_weight(self, x: np.ndarray, weight: Any) -> np.ndarray:
        array = getattr(weight, "value", weight)
        if np.ndim(array) != 2:
            return super().matmul_weight(x, weight)
        matrix, shift = integer_matrix(weight)
        return _product(x, matrix, 1 << shift)

    def apply(self, fn: Any, v: Fraction) -> Fraction:
        if not _hashable(fn):
            return self.from_sympy(fn.sympy(self.to_sympy(v)))
        if fn.piecewise_linear:
            law = self._law(fn, v)
            if law is not None:
                return law[0] * v + law[1]
        value, inexact = _function_value(fn, v)
        self.inexact = self.inexact or inexact
        return value

    def _law(self, fn: Any, v: Fraction) -> tuple[Fraction, Fraction] | None:
        """The affine law of the piece of ``fn`` strictly containing ``v`` (``None`` on a kink,
        where a jump may decide, or when a piece is not rational: SymPy decides there)."""
        kinks = _fraction_kinks(fn)
        if kinks is None:
            return None
        index = bisect.bisect_right(kinks, v)
        if index and v == kinks[index - 1]:
            return None
        return _piece_law(fn, index)

    def add_all(self, terms: list[Any]) -> Any:
        return sum(terms, Fraction(0))

    def to_sympy(self, v: Fraction) -> sp.Rational:
        return sp.Rational(v.numerator, v.denominator)

    def from_sympy(self, e: Any) -> Fraction:
        value, inexact = _fraction_of(e)
        self.inexact = self.inexact or inexact
        return value

    def finish(self, y: np.ndarray) -> np.ndarray:
        out = np.empty(y.shape, dtype=object)
        for i, v in enumerate(y.reshape(-1)):
            r = sp.Rational(v.numerator, v.denominator)
            out.reshape(-1)[i] = sp.Float(r, OUTPUT_DIGITS) if self.inexact else r
        return out


class FractionBackend(ExactBackend):
    """The plain ``Fraction`` arithmetic :class:`ExactBackend` replaced, kept as the reference
    it is tested and measured against: every weight a ``Fraction`` array, products by numpy's
    object matmul of Python ints over one common denominator, every function value from
    SymPy. The same rationals, 10-30x slower."""

    name = "exact-fraction"

    def _convert(self, value: Any) -> np.ndarray:
        array = _finite(np.asarray(getattr(value, "value", value)))
        q, shift = dyadic(array)
        out = np.empty(array.shape, dtype=object)
        out.reshape(-1)[:] = [Fraction(v, 1 << shift) for v in q.reshape(-1)]
        return out

    def matmul(self, x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        q, kernel_den = _int_form_of_fractions(kernel)
        rows = x.reshape(-1, x.shape[-1])
        nums, common = _int_form_of_fractions(rows)
        prod = nums @ q
        out = np.empty(prod.shape, dtype=object)
        out.reshape(-1)[:] = [Fraction(v, common * kernel_den) for v in prod.reshape(-1)]
        return out.reshape(x.shape[:-1] + (q.shape[-1],))

    def matmul_weight(self, x: np.ndarray, weight: Any) -> np.ndarray:
        return self.matmul(x, self.weight(weight))

    def apply(self, fn: Any, v: Fraction) -> Fraction:
        return self.from_sympy(fn.sympy(self.to_sympy(v)))
