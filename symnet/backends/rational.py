"""Exact rational linear algebra on numpy arrays: what the exact backend and the exact analyses
(``ExactLine``, ``regions2d``) share.

- Every float is a dyadic rational: :func:`dyadic` gives an array's integer numerators over one
  power of two, :func:`exact_fraction` a user's number as a ``Fraction``.
- A weight matrix becomes FLINT's ``fmpz_mat`` over a power of two once per weight object
  (:func:`integer_matrix`), and a product of ``Fraction`` rows by it is one integer matrix
  product over each row's common denominator (:func:`fraction_product`).
- A piecewise-linear function's kinks and the affine law of each piece, as ``Fraction``\\ s
  (:func:`piece_kinks`, :func:`piece_law`): the same rationals SymPy gives, found once.
- FLINT's rationals (``fmpq``) and ``Fraction``\\ s, one into the other (:func:`to_fmpq`,
  :func:`to_fraction`, :func:`fmpq_rows`, :func:`fraction_batch`).
"""

from __future__ import annotations

import decimal
import functools
import math
import weakref
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp
from flint import fmpq, fmpz_mat

from ..errors import InvalidInputError
from .base import points_inside

__all__ = ["common_denominator", "dyadic", "dyadic_list", "exact_fraction", "finite_array",
           "fmpq_rows", "fraction_batch", "fraction_product", "hashable", "integer_matrix",
           "piece_kinks", "piece_law", "row_numerators", "to_fmpq", "to_fraction"]


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


def common_denominator(kernel: np.ndarray) -> tuple[np.ndarray, int]:
    """``(Q, d)`` with ``kernel == Q / d``: a ``Fraction`` array's integer numerators over the
    least common denominator of all its entries."""
    common = math.lcm(*(v.denominator for v in kernel.reshape(-1))) if kernel.size else 1
    q = np.empty(kernel.shape, dtype=object)
    for i, v in enumerate(kernel.reshape(-1)):
        q.reshape(-1)[i] = v.numerator * (common // v.denominator)
    return q, common


def finite_array(array: np.ndarray) -> np.ndarray:
    """``array`` itself, or ``InvalidInputError`` when it holds NaN or Inf."""
    if array.size and not np.all(np.isfinite(array)):
        raise InvalidInputError("exact evaluation needs finite weights, received NaN or Inf")
    return array


#: id(weight) -> (weak reference to it, its integer matrix, shift); entries leave with the weight.
_MATRICES: dict[int, tuple[Any, fmpz_mat, int]] = {}


def integer_matrix(weight: Any) -> tuple[fmpz_mat, int]:
    """``(M, shift)`` with ``weight == M / 2**shift`` exactly, for a 2-D weight (a
    :class:`~symnet.ops.Param` or a float array); computed once per weight object and kept
    while it lives."""
    key = id(weight)
    cached = _MATRICES.get(key)
    if cached is not None and cached[0]() is weight:
        return cached[1], cached[2]
    array = finite_array(np.asarray(getattr(weight, "value", weight)))
    from .fast_exact import integer_form

    words = integer_form(array)  # machine-word numerators: several times faster to build
    if words is not None:
        matrix, shift = words
    else:
        q, shift = dyadic(array)
        rows, cols = array.shape
        matrix = fmpz_mat(rows, cols, q.reshape(-1).tolist())
    try:
        ref = weakref.ref(weight)
        weakref.finalize(weight, _MATRICES.pop, key, None)
    except TypeError:  # not weakly referable: not kept
        return matrix, shift
    _MATRICES[key] = (ref, matrix, shift)
    return matrix, shift


def row_numerators(rows: np.ndarray) -> tuple[list[int], list[int]]:
    """The entries of a 2-D ``Fraction`` array as integers over each row's least common
    denominator (one per row: rows of unrelated denominators stay small)."""
    nums: list[int] = []
    dens: list[int] = []
    for row in rows.tolist():
        common = math.lcm(*(v.denominator for v in row)) if row else 1
        nums.extend(v.numerator * (common // v.denominator) for v in row)
        dens.append(common)
    return nums, dens


def fraction_product(x: np.ndarray, matrix: fmpz_mat, den: int) -> np.ndarray:
    """``x @ (matrix / den)`` for a ``Fraction`` array ``x``: one integer matrix product."""
    rows = x.reshape(-1, x.shape[-1])
    n, m = matrix.nrows(), matrix.ncols()
    if rows.shape[1] != n:
        raise ValueError(f"matmul: shapes {x.shape} and ({n}, {m}) do not align")
    nums, dens = row_numerators(rows)
    prod: list[Any] = (fmpz_mat(rows.shape[0], n, nums) * matrix).entries() if n else [0] * (
        rows.shape[0] * m)
    out = np.empty(len(prod), dtype=object)
    out[:] = [Fraction(int(v), dens[i // m] * den) for i, v in enumerate(prod)]
    return out.reshape(x.shape[:-1] + (m,))


def hashable(fn: Any) -> bool:
    """Whether ``fn`` can key a cache (a SymPy function with array options cannot)."""
    try:
        hash(fn)
    except TypeError:
        return False
    return True


@functools.lru_cache(maxsize=1024)
def piece_kinks(fn: Any) -> tuple[Fraction, ...] | None:
    """The kinks of a piecewise-linear ``fn`` as ``Fraction``\\ s (``None`` if one is not
    rational)."""
    kinks = [sp.sympify(k) for k in fn.exact_kinks]
    if not all(k.is_Rational for k in kinks):
        return None
    return tuple(Fraction(int(k.p), int(k.q)) for k in kinks)


@functools.lru_cache(maxsize=1024)
def piece_law(fn: Any, index: int) -> tuple[Fraction, Fraction] | None:
    """Slope and intercept of piece ``index`` of a piecewise-linear ``fn`` (0: left of every
    kink), from its values at two points inside the piece; ``None`` if they are not rational.
    The value at a rational point is SymPy's exact one, so the law is the piece's own."""
    kinks = [sp.Rational(k.numerator, k.denominator) for k in piece_kinks(fn) or ()]
    a, b = points_inside(kinks, index, sp.Integer(0))
    fa, fb = (sp.sympify(fn.sympy(p)) for p in (a, b))
    if not (fa.is_Rational and fb.is_Rational):
        return None
    slope = (fb - fa) / (b - a)
    intercept = fa - slope * a
    if not (slope.is_Rational and intercept.is_Rational):
        return None
    return (Fraction(int(slope.p), int(slope.q)), Fraction(int(intercept.p), int(intercept.q)))


def to_fmpq(v: Fraction) -> fmpq:
    """A ``Fraction`` as FLINT's rational."""
    return fmpq(v.numerator, v.denominator)


def to_fraction(v: fmpq) -> Fraction:
    """FLINT's rational as a ``Fraction``."""
    return Fraction(int(v.p), int(v.q))


def fmpq_rows(values: np.ndarray) -> list[list[fmpq]]:
    """A ``Fraction`` array, one row per sample, as rows of FLINT rationals."""
    return [[to_fmpq(v) for v in row] for row in values.reshape(values.shape[0], -1)]


def fraction_batch(shape: tuple[int, ...], rows: list[list[fmpq]]) -> np.ndarray:
    """Rows of FLINT rationals as a batch of ``Fraction`` samples of ``shape``."""
    arr = np.empty((len(rows), int(np.prod(shape))), dtype=object)
    for i, row in enumerate(rows):
        arr[i] = [to_fraction(v) for v in row]
    return arr.reshape((len(rows),) + tuple(shape))


def dyadic_list(value: Any) -> list[Any]:
    """A float array's exact rationals, flat (``[None]`` if one is not finite)."""
    array = np.asarray(getattr(value, "value", value)).reshape(-1)
    if array.size and not np.all(np.isfinite(array)):
        return [None]
    q, shift = dyadic(array)
    return [Fraction(int(v), 1 << shift) for v in q]
