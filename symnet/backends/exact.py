"""Exact rational arithmetic: every float32 weight is a rational, so sums and products are
exact; functions such as ``exp`` and ``sqrt`` are evaluated to ``WORK_DIGITS`` digits and the
result is then marked inexact."""

from __future__ import annotations

import decimal
import math
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from ..errors import InvalidInputError
from ..functions import number
from .base import ObjectBackend

__all__ = ["OUTPUT_DIGITS", "WORK_DIGITS", "ExactBackend", "dyadic", "exact_fraction"]

#: Digits to which exact evaluation computes transcendental functions.
WORK_DIGITS = 50
#: Significant digits of an exact result that went through a transcendental function.
OUTPUT_DIGITS = 30
#: Transcendental values below 2^-MAGNITUDE_BITS count as 0 (and the result as inexact); above
#: 2^MAGNITUDE_BITS exact evaluation stops with an error: their rationals would not fit memory.
MAGNITUDE_BITS = 30_000


def exact_fraction(value: Any) -> Fraction:
    """An exact rational from a user's number, refusing what is not a finite real number."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, (bool, np.bool_)):
        raise InvalidInputError(f"expected a number, received {value!r}")
    if isinstance(value, (int, np.integer)):
        return Fraction(int(value))
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(float(value)):
            raise InvalidInputError(f"exact evaluation needs finite numbers, received {value!r}")
        return Fraction(float(value))
    if isinstance(value, sp.Basic) and value.is_Rational:
        return Fraction(int(value.p), int(value.q))
    if isinstance(value, sp.Float):
        if not value.is_finite:
            raise InvalidInputError(f"exact evaluation needs finite numbers, received {value}")
        r = sp.Rational(value)
        return Fraction(int(r.p), int(r.q))
    if isinstance(value, (str, decimal.Decimal)):
        try:
            return Fraction(value)
        except (ValueError, ZeroDivisionError, decimal.InvalidOperation) as exc:
            raise InvalidInputError(
                f"expected a number such as 0.5 or 1/3, received {value!r}") from exc
    raise InvalidInputError(f"expected a real number, received {value!r} ({type(value).__name__})")


def dyadic(array: np.ndarray) -> tuple[np.ndarray, int]:
    """``array == numerators / 2**shift`` exactly, with Python-int numerators (every float is a
    dyadic rational)."""
    shape = np.shape(array)
    a = np.array(array, dtype=np.float64, ndmin=1)
    mantissa, exponent = np.frexp(a)
    ints = (mantissa * 2.0**53).astype(np.int64)
    exps = exponent.astype(np.int64) - 53
    exps[ints == 0] = 0
    shift = max(-int(exps.min()), 0) if exps.size else 0
    return (ints.astype(object) << (exps + shift).astype(object)).reshape(shape), shift


def _int_form_of_fractions(kernel: np.ndarray) -> tuple[np.ndarray, int]:
    common = math.lcm(*(v.denominator for v in kernel.reshape(-1))) if kernel.size else 1
    q = np.empty(kernel.shape, dtype=object)
    for i, v in enumerate(kernel.reshape(-1)):
        q.reshape(-1)[i] = v.numerator * (common // v.denominator)
    return q, common


class ExactBackend(ObjectBackend):
    """``Fraction`` arithmetic; a matmul is one integer matmul over a common denominator."""

    name = "exact"

    def __init__(self) -> None:
        super().__init__()
        self.inexact = False
        self._int_forms: dict[int, tuple[np.ndarray, np.ndarray, int]] = {}

    def _convert(self, value: Any) -> np.ndarray:
        array = np.asarray(getattr(value, "value", value))
        if array.size and not np.all(np.isfinite(array)):
            raise InvalidInputError("exact evaluation needs finite weights, received NaN or Inf")
        q, shift = value.exact if hasattr(value, "exact") else dyadic(array)
        den = 1 << shift
        out = np.empty(array.shape, dtype=object)
        flat_q, flat_out = q.reshape(-1), out.reshape(-1)
        for i, v in enumerate(flat_q):
            flat_out[i] = Fraction(v, den)
        self._int_forms[id(out)] = (out, q, den)
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
            q, kernel_den = cached[1], cached[2]
        else:
            q, kernel_den = _int_form_of_fractions(kernel)
        rows = x.reshape(-1, x.shape[-1])
        common = math.lcm(*(v.denominator for v in rows.reshape(-1))) if rows.size else 1
        nums = np.empty(rows.shape, dtype=object)
        for i, v in enumerate(rows.reshape(-1)):
            nums.reshape(-1)[i] = v.numerator * (common // v.denominator)
        prod = nums @ q
        den = common * kernel_den
        out = np.empty(prod.shape, dtype=object)
        for i, v in enumerate(prod.reshape(-1)):
            out.reshape(-1)[i] = Fraction(v, den)
        return out.reshape(x.shape[:-1] + (q.shape[-1],))

    def add_all(self, terms: list[Any]) -> Any:
        return sum(terms, Fraction(0))

    def to_sympy(self, v: Fraction) -> sp.Rational:
        return sp.Rational(v.numerator, v.denominator)

    def from_sympy(self, e: Any) -> Fraction:
        if e.is_Rational:
            return Fraction(int(e.p), int(e.q))
        value = e.evalf(WORK_DIGITS)
        if value.is_Rational:  # evalf proved it exactly (a zero, say)
            return Fraction(int(value.p), int(value.q))
        if not (value.is_Float and value.is_finite):
            raise InvalidInputError(
                f"exact evaluation reached a value that is not a finite real number: {e}")
        self.inexact = True
        _, _, exponent, bits = value._mpf_
        magnitude = exponent + bits  # |value| is about 2**magnitude
        if magnitude < -MAGNITUDE_BITS:
            # e^(-10^9) and the like (a masked attention score): far below the digits kept.
            return Fraction(0)
        if magnitude > MAGNITUDE_BITS:
            raise InvalidInputError(f"exact evaluation reached a number beyond 2^{MAGNITUDE_BITS}"
                                    f" (about 10^{int(MAGNITUDE_BITS * 0.30103)}): {e}")
        r = sp.Rational(value)
        return Fraction(int(r.p), int(r.q))

    def finish(self, y: np.ndarray) -> np.ndarray:
        out = np.empty(y.shape, dtype=object)
        for i, v in enumerate(y.reshape(-1)):
            r = sp.Rational(v.numerator, v.denominator)
            out.reshape(-1)[i] = sp.Float(r, OUTPUT_DIGITS) if self.inexact else r
        return out
