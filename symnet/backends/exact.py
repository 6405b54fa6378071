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
- A product of a few rows by a weight is done exactly in float64 on 16-bit limbs
  (:func:`~symnet.backends.fast_exact.limb_product`): no FLINT matrix to build on the first
  call (0.1-0.2 s for the seed MLP's first kernel); batches take FLINT's.
- A square root (BatchNorm's and LayerNorm's ``1/sqrt(variance + eps)``, Normalization's
  ``max(sqrt(variance), eps)``) is *correctly rounded*: the rational with ``ROOT_BITS``
  significant bits nearest to the true root, from an integer square root (exact when the
  root is rational). It is defined to the last bit, and fast: the seed MLP's 806 BatchNorm
  roots took 1.5-3 s through SymPy, which also decides whether each is a perfect square by
  factoring. Another transcendental value (``exp``, ``erf``...) is SymPy's ``evalf`` to
  ``WORK_DIGITS`` digits. Both are remembered per (function, argument), so weights' square
  roots are taken once per process.
"""

from __future__ import annotations

import bisect
import functools
import math
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp
from flint import fmpz_mat

from ..errors import InvalidInputError
from ..numbers import number
from .base import ObjectBackend, along_last, back
from .fast_exact import limb_product
from .rational import common_denominator as _int_form_of_fractions
from .rational import dyadic, exact_fraction, integer_matrix
from .rational import finite_array as _finite
from .rational import fraction_product as _product
from .rational import hashable as _hashable
from .rational import piece_kinks as _fraction_kinks
from .rational import piece_law as _piece_law
from .rational import row_numerators as _numerators

__all__ = ["OUTPUT_DIGITS", "ROOT_BITS", "WORK_DIGITS", "ExactBackend", "FractionBackend",
           "correctly_rounded_root", "dyadic", "exact_fraction", "integer_matrix"]

#: Digits to which exact evaluation computes transcendental functions.
WORK_DIGITS = 50
#: Significant digits of an exact result that went through a transcendental function.
OUTPUT_DIGITS = 30
#: Significant bits of a correctly rounded square root: what SymPy's evalf keeps for
#: WORK_DIGITS digits (169).
ROOT_BITS = 169
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


def correctly_rounded_root(v: Fraction, bits: int = ROOT_BITS) -> tuple[Fraction, bool]:
    """``sqrt(v)`` for ``v >= 0``: exact when it is rational, else the number of ``bits``
    significant bits nearest to it (and whether it was rounded).

    With ``A = v·4^k`` for the ``k`` that gives the root ``bits`` bits, the nearest integer
    ``n`` to ``sqrt(A)`` is the largest with ``(2n - 1)² <= 4A``, that is
    ``(isqrt(floor(4A)) + 1) // 2``; no tie can occur, as ``sqrt(A)`` is irrational.
    """
    if v < 0:
        raise ValueError(f"the square root of a negative number, {v}")
    num, den = v.numerator, v.denominator
    root_num, root_den = math.isqrt(num), math.isqrt(den)
    if root_num * root_num == num and root_den * root_den == den:
        return Fraction(root_num, root_den), False
    k = bits - (num.bit_length() - den.bit_length()) // 2
    while True:
        top, bottom = (num << 2 * k, den) if k >= 0 else (num, den << -2 * k)
        n = (math.isqrt((4 * top) // bottom) + 1) // 2
        if n.bit_length() > bits:
            k -= 1
        elif n.bit_length() < bits:
            k += 1
        else:
            return (Fraction(n, 1 << k) if k >= 0 else Fraction(n << -k)), True


def _root_of(fn: Any, v: Fraction) -> tuple[Fraction, bool] | None:
    """A square root's function at ``v`` (``1/sqrt``, Normalization's ``max(sqrt, eps)``),
    correctly rounded; ``None`` for any other function, or where the root is not a finite
    real number (SymPy then says what it is)."""
    from ..functions import InverseSqrt, StdFloor

    func = getattr(fn, "func", None)
    if func is InverseSqrt and v > 0:
        return correctly_rounded_root(1 / v)
    if func is StdFloor and v >= 0:
        root, rounded = correctly_rounded_root(v)
        floor = Fraction(int(fn.options[0].p), int(fn.options[0].q))
        return (root, rounded) if root >= floor else (floor, False)
    return None


@functools.lru_cache(maxsize=1 << 16)
def _function_value(fn: Any, v: Fraction) -> tuple[Fraction, bool]:
    """``fn(v)``, and whether it was rounded: a square root correctly rounded, any other
    function as SymPy evaluates it; remembered, as ``Fn`` and ``Fraction`` are immutable."""
    root = _root_of(fn, v)
    if root is not None:
        return root
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
        rows = x.reshape(-1, x.shape[-1])
        if rows.shape[1] == np.shape(array)[0]:
            nums, dens = _numerators(rows)  # a few rows: exact float64 limb products
            out = limb_product(nums, dens, rows.shape[0], weight)
            if out is not None:
                return out.reshape(x.shape[:-1] + (out.shape[-1],))
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

    def softmax(self, x: np.ndarray, axis: int, log: bool = False) -> np.ndarray:
        """Each exponential evaluated once (to ``WORK_DIGITS`` digits), the quotients exact:
        SymPy would evaluate every quotient's whole sum again (38 × 38 exponentials for the
        seed MLP's 38 classes)."""
        rows, moved = along_last(x, axis)
        out = np.empty(rows.shape, dtype=object)
        for r, row in enumerate(rows):
            exps = [self.apply(_EXP, v) for v in row]
            total = sum(exps, Fraction(0))
            if log:
                lse = self.from_sympy(sp.log(self.to_sympy(total)))
                out[r] = [v - lse for v in row]
            else:
                out[r] = [e / total for e in exps]
        return back(out, moved, axis)

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


class _Exp:
    """``exp`` where ``apply`` expects an elementwise function (hashable: remembered)."""

    piecewise_linear = False

    @staticmethod
    def sympy(v: Any) -> Any:
        return sp.exp(v)


_EXP = _Exp()


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
        reference = _reference_root(fn, v)
        if reference is not None:
            root, rounded = reference
            self.inexact = self.inexact or rounded
            return root
        return self.from_sympy(fn.sympy(self.to_sympy(v)))


def _reference_root(fn: Any, v: Fraction) -> tuple[Fraction, bool] | None:
    """The reference of :func:`correctly_rounded_root`, computed another way: mpmath's root
    at four times the bits, rounded to ``ROOT_BITS`` by mpmath (exact roots come out exact:
    a rational root of a dyadic argument has few bits)."""
    import mpmath  # type: ignore[import-untyped]

    from ..functions import InverseSqrt, StdFloor

    func = getattr(fn, "func", None)
    if not ((func is InverseSqrt and v > 0) or (func is StdFloor and v >= 0)):
        return None
    with mpmath.workprec(4 * ROOT_BITS):
        arg = mpmath.mpf(v.numerator) / v.denominator
        wide = 1 / mpmath.sqrt(arg) if fn.func is InverseSqrt else mpmath.sqrt(arg)
    with mpmath.workprec(ROOT_BITS):
        man, exp = (+wide).man_exp
    root = Fraction(int(man)) * (Fraction(2) ** int(exp))
    rounded = root * root * v != 1 if fn.func is InverseSqrt else root * root != v
    if fn.func is StdFloor:
        floor = Fraction(int(fn.options[0].p), int(fn.options[0].q))
        if root < floor:
            return floor, False
    return root, rounded
