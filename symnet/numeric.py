"""The arithmetic a layer's forward pass runs on: float32, float64, exact rationals, or SymPy.

Each converter writes its layer's inference computation once, against the small interface of
:class:`Backend` (``matmul``, ``map``, ``vector``, ``mean``...) plus ordinary operators, and runs
unchanged on:

- :class:`FloatBackend` — numpy in float32 (Keras' own arithmetic) or float64;
- :class:`ExactBackend` — Python ``Fraction``\\ s: every float32 weight is a rational, so sums and
  products are exact; transcendental functions (``exp``, ``sqrt``...) are evaluated to
  ``WORK_DIGITS`` digits and the result is then marked inexact;
- :class:`SymbolicBackend` — SymPy expressions of the input symbols, which is how the closed form
  is built.
"""

from __future__ import annotations

import decimal
import math
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from .activations import ScalarFn, VectorFn, exact_number
from .errors import InvalidInputError

__all__ = ["Backend", "ExactBackend", "FloatBackend", "SymbolicBackend", "OUTPUT_DIGITS",
           "WORK_DIGITS"]

#: Digits to which exact evaluation computes transcendental functions.
WORK_DIGITS = 50
#: Significant digits of an exact result that went through a transcendental function.
OUTPUT_DIGITS = 30


class Backend:
    """The operations a forward pass may use besides ``+ - * /``, ``reshape``, ``concatenate``."""

    name = "abstract"
    layer = ""
    """The name of the layer being run (set by the network; some backends record per layer)."""

    def weight(self, array: np.ndarray) -> Any:
        raise NotImplementedError

    def const(self, value: float) -> Any:
        raise NotImplementedError

    def matmul(self, x: Any, kernel: Any) -> Any:
        raise NotImplementedError

    def map(self, fn: ScalarFn, x: Any) -> Any:
        raise NotImplementedError

    def vector(self, fn: VectorFn, x: Any, axis: int) -> Any:
        raise NotImplementedError

    def mean(self, x: Any, axis: int) -> Any:
        """Mean along ``axis``, keeping the axis (length 1)."""
        raise NotImplementedError

    def maximum(self, a: Any, b: Any) -> Any:
        return np.maximum(a, b)

    def minimum(self, a: Any, b: Any) -> Any:
        return np.minimum(a, b)


class FloatBackend(Backend):
    """numpy arithmetic in one float dtype; float32 reproduces Keras up to summation order."""

    def __init__(self, dtype: type[np.floating]) -> None:
        self.dtype = np.dtype(dtype)
        self.name = self.dtype.name

    def weight(self, array: np.ndarray) -> np.ndarray:
        return np.asarray(array).astype(self.dtype)

    def const(self, value: float) -> Any:
        return self.dtype.type(value)

    def inputs(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=self.dtype)

    def matmul(self, x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        return np.matmul(x, kernel)

    def map(self, fn: ScalarFn, x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return np.asarray(fn.numpy(x), dtype=self.dtype)

    def vector(self, fn: VectorFn, x: np.ndarray, axis: int) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return np.asarray(fn.numpy(x, axis), dtype=self.dtype)

    def mean(self, x: np.ndarray, axis: int) -> np.ndarray:
        return np.mean(x, axis=axis, keepdims=True, dtype=self.dtype)

    def finish(self, y: np.ndarray) -> np.ndarray:
        return y


def _along_last(x: np.ndarray, axis: int) -> tuple[np.ndarray, tuple[int, ...]]:
    moved = np.moveaxis(x, axis, -1)
    return moved.reshape(-1, moved.shape[-1]), moved.shape


def _back(rows: np.ndarray, moved_shape: tuple[int, ...], axis: int) -> np.ndarray:
    return np.moveaxis(rows.reshape(moved_shape), -1, axis)


class _ObjectBackend(Backend):
    """Shared code of the exact and symbolic backends: numpy object arrays of Python numbers."""

    def add_all(self, terms: list[Any]) -> Any:
        raise NotImplementedError

    def to_sympy(self, v: Any) -> Any:
        raise NotImplementedError

    def from_sympy(self, e: Any) -> Any:
        raise NotImplementedError

    def map(self, fn: ScalarFn, x: np.ndarray) -> np.ndarray:
        out = np.empty(x.shape, dtype=object)
        flat_in, flat_out = x.reshape(-1), out.reshape(-1)
        for i, v in enumerate(flat_in):
            flat_out[i] = self.from_sympy(fn.sympy(self.to_sympy(v)))
        return out

    def vector(self, fn: VectorFn, x: np.ndarray, axis: int) -> np.ndarray:
        rows, moved = _along_last(x, axis)
        out = np.empty(rows.shape, dtype=object)
        for r, row in enumerate(rows):
            values = fn.exact([self.to_sympy(v) for v in row])
            out[r] = [self.from_sympy(v) for v in values]
        return _back(out, moved, axis)

    def maximum(self, a: Any, b: Any) -> Any:
        return self._binary(sp.Max, a, b)

    def minimum(self, a: Any, b: Any) -> Any:
        return self._binary(sp.Min, a, b)

    def _binary(self, op: Any, a: Any, b: Any) -> Any:
        def pair(u: Any, v: Any) -> Any:
            return self.from_sympy(op(self.to_sympy(u), self.to_sympy(v)))

        return np.frompyfunc(pair, 2, 1)(a, b)

    def mean(self, x: np.ndarray, axis: int) -> np.ndarray:
        rows, moved = _along_last(x, axis)
        n = rows.shape[1]
        sums = np.empty((rows.shape[0], 1), dtype=object)
        for r, row in enumerate(rows):
            sums[r, 0] = self.add_all(list(row)) / n
        return _back(sums, moved[:-1] + (1,), axis)


def _fraction(value: Any) -> Fraction:
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


def _int_form(array: np.ndarray) -> tuple[np.ndarray, int]:
    """``array == Q / 2**E`` with ``Q`` an object array of Python ints: exact, for fast matmul."""
    a = np.asarray(array, dtype=np.float64)
    mantissa, exponent = np.frexp(a)
    ints = (mantissa * 2.0**53).astype(np.int64)
    exps = exponent.astype(np.int64) - 53
    exps[ints == 0] = 0
    shift = -int(exps.min()) if exps.size else 0
    shift = max(shift, 0)
    q = ints.astype(object) << (exps + shift).astype(object)
    return q, shift


class ExactBackend(_ObjectBackend):
    """Exact rational arithmetic on ``Fraction``; transcendentals to ``WORK_DIGITS`` digits."""

    name = "exact"

    def __init__(self) -> None:
        self.inexact = False
        self._int_forms: dict[int, tuple[np.ndarray, np.ndarray, int]] = {}

    def weight(self, array: np.ndarray) -> np.ndarray:
        a = np.asarray(array)
        if a.size and not np.all(np.isfinite(a)):
            raise InvalidInputError("exact evaluation needs finite weights, received NaN or Inf")
        q, shift = _int_form(a)
        den = 1 << shift
        out = np.empty(a.shape, dtype=object)
        flat_q, flat_out = q.reshape(-1), out.reshape(-1)
        for i, v in enumerate(flat_q):
            flat_out[i] = Fraction(v, den)
        self._int_forms[id(out)] = (out, q, shift)
        return out

    def const(self, value: float) -> Fraction:
        r = exact_number(value)
        return Fraction(int(r.p), int(r.q))

    def inputs(self, x: Any) -> np.ndarray:
        arr = np.asarray(x, dtype=object)
        out = np.empty(arr.shape, dtype=object)
        for i, v in enumerate(arr.reshape(-1)):
            out.reshape(-1)[i] = _fraction(v)
        return out

    def matmul(self, x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        cached = self._int_forms.get(id(kernel))
        if cached is not None and cached[0] is kernel:
            q, shift = cached[1], cached[2]
        else:
            q, shift = _int_form_of_fractions(kernel)
        rows = x.reshape(-1, x.shape[-1])
        common = math.lcm(*(v.denominator for v in rows.reshape(-1))) if rows.size else 1
        nums = np.empty(rows.shape, dtype=object)
        for i, v in enumerate(rows.reshape(-1)):
            nums.reshape(-1)[i] = v.numerator * (common // v.denominator)
        prod = nums @ q
        den = common << shift
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
        if not (value.is_Float and value.is_finite):
            raise InvalidInputError(
                f"exact evaluation reached a value that is not a finite real number: {e}")
        self.inexact = True
        r = sp.Rational(value)
        return Fraction(int(r.p), int(r.q))

    def finish(self, y: np.ndarray) -> np.ndarray:
        out = np.empty(y.shape, dtype=object)
        for i, v in enumerate(y.reshape(-1)):
            r = sp.Rational(v.numerator, v.denominator)
            out.reshape(-1)[i] = sp.Float(r, OUTPUT_DIGITS) if self.inexact else r
        return out


def _int_form_of_fractions(kernel: np.ndarray) -> tuple[np.ndarray, int]:
    common = math.lcm(*(v.denominator for v in kernel.reshape(-1))) if kernel.size else 1
    if common & (common - 1):
        raise AssertionError("an exact kernel must have a power-of-two denominator")
    q = np.empty(kernel.shape, dtype=object)
    for i, v in enumerate(kernel.reshape(-1)):
        q.reshape(-1)[i] = v.numerator * (common // v.denominator)
    return q, common.bit_length() - 1


class SymbolicBackend(_ObjectBackend):
    """SymPy expressions: weights become ``Float``\\ s holding the float32 value exactly."""

    name = "symbolic"

    def weight(self, array: np.ndarray) -> np.ndarray:
        a = np.asarray(array, dtype=np.float64)
        out = np.empty(a.shape, dtype=object)
        for i, v in enumerate(a.reshape(-1)):
            # Full double precision: the float32 value exactly, and room for the sums and
            # products SymPy folds into one number (rounding for display is the printers' job).
            out.reshape(-1)[i] = sp.Float(float(v), 15)
        return out

    def const(self, value: float) -> Any:
        return exact_number(value)

    def inputs(self, x: Any) -> np.ndarray:
        return np.asarray(x, dtype=object)

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

    def map(self, fn: ScalarFn, x: np.ndarray) -> np.ndarray:
        # Unevaluated: an evaluated Max(0, t) tries to compare t with 0 by factoring it, which
        # takes seconds on a long t; the structure is the same, t is already a flat sum.
        with sp.evaluate(False):
            return super().map(fn, x)

    def finish(self, y: np.ndarray) -> np.ndarray:
        return y


class WithoutActivations(FloatBackend):
    """float64 with every activation replaced by the identity: a forgotten-activation mistake."""

    def __init__(self) -> None:
        super().__init__(np.float64)
        self.name = "without_activations"

    def map(self, fn: ScalarFn, x: np.ndarray) -> np.ndarray:
        return x if fn.activation else super().map(fn, x)

    def vector(self, fn: VectorFn, x: np.ndarray, axis: int) -> np.ndarray:
        return x
