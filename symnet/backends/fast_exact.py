"""What makes the first exact evaluation of a network quick: a weight matrix's numerators
taken from machine words, and products of a few rows by it done exactly in float64.

The exact backend (:mod:`.exact`) defines the arithmetic; these give the same integers with
less Python. A FLINT matrix of 573,440 entries (the seed MLP's first kernel) takes 0.1-0.2 s to
build from Python integers, once per process; a product of one row by it, split into limbs
small enough that float64 sums them exactly, takes a few milliseconds without it. Batches of
many rows go to FLINT (built once, then kept).
"""

from __future__ import annotations

import weakref
from fractions import Fraction
from typing import Any

import numpy as np
from flint import fmpz_mat

__all__ = ["integer_form", "limb_product", "word_numerators"]

#: The largest numerator kept in a machine word (int64, with room for the sign).
WORD_BITS = 62
#: Bits of a limb (a digit): numerators, of rows and weights, are split into 16-bit limbs,
#: so that n products of two limbs sum exactly in float64 for n up to 2^20.
LIMB = 16
#: The most row limbs (rows x limbs of a row) a limb product takes on before FLINT's product
#: is the cheaper.
MAX_ROW_LIMBS = 256


def word_numerators(array: np.ndarray) -> tuple[np.ndarray, int] | None:
    """``(N, shift)`` with ``array == N / 2**shift`` exactly and ``N`` an int64 array, for a
    float array whose numerators over their common power of two fit in ``WORD_BITS`` bits
    (float32 weights almost always do: 24 bits of mantissa and a few dozen of exponent
    range); ``None`` otherwise."""
    a = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        return None
    mantissa, exponent = np.frexp(a)
    ints = (mantissa * 2.0**53).astype(np.int64)  # exact: |mantissa| < 1, 53 bits
    exps = exponent.astype(np.int64) - 53
    nonzero = ints != 0
    if not nonzero.any():
        return np.zeros(a.shape, dtype=np.int64), 0
    low = ints[nonzero] & -ints[nonzero]  # the lowest set bit of each numerator
    strip = int(np.frexp(low.astype(np.float64))[1].min()) - 1  # common trailing zeros
    ints = np.where(nonzero, ints >> strip, 0)
    exps = np.where(nonzero, exps + strip, 0)
    shift = max(-int(exps[nonzero].min()), 0)
    widths = np.frexp(np.abs(ints).astype(np.float64))[1] + exps + shift
    if int(widths[nonzero].max()) > WORD_BITS:
        return None
    return np.where(nonzero, ints << (exps + shift), 0), shift


def integer_form(array: np.ndarray) -> tuple[fmpz_mat, int] | None:
    """``(M, shift)`` with ``array == M / 2**shift`` for a 2-D float array whose numerators
    fit machine words (:func:`word_numerators`); ``None`` otherwise. FLINT takes small Python
    integers several times faster than the 70-bit ones of a denominator common to 53-bit
    mantissas with their trailing zeros."""
    words = word_numerators(array)
    if words is None or np.ndim(array) != 2:
        return None
    numerators, shift = words
    rows, cols = np.shape(array)
    return fmpz_mat(rows, cols, numerators.reshape(-1).tolist()), shift


#: id(weight) -> (weak reference, its numerators' float64 limbs, shift).
_LIMBS: dict[int, tuple[Any, list[np.ndarray], int]] = {}


def _weight_limbs(weight: Any) -> tuple[list[np.ndarray], int] | None:
    """A 2-D weight's numerators as four float64 matrices of signed 16-bit limbs
    (``N = Σ_j L_j·2^(16 j)``), and the shift; kept while the weight lives."""
    key = id(weight)
    cached = _LIMBS.get(key)
    if cached is not None and cached[0]() is weight:
        return cached[1], cached[2]
    array = np.asarray(getattr(weight, "value", weight))
    words = word_numerators(array) if array.ndim == 2 else None
    if words is None:
        return None
    numerators, shift = words
    sign, magnitude = np.sign(numerators), np.abs(numerators)
    mask = (1 << LIMB) - 1
    limbs = [(sign * ((magnitude >> (LIMB * j)) & mask)).astype(np.float64)
             for j in range(-(-WORD_BITS // LIMB))]
    try:
        _LIMBS[key] = (weakref.ref(weight), limbs, shift)
        weakref.finalize(weight, _LIMBS.pop, key, None)
    except TypeError:  # not weakly referable: not kept
        pass
    return limbs, shift


def _row_limbs(values: list[int], width: int) -> np.ndarray:
    """Signed integers as ``(len, width)`` float64 limbs: ``v = Σ_i L_i·2^(16 i)``."""
    size = 2 * width
    data = b"".join(abs(v).to_bytes(size, "little") for v in values)
    limbs = np.frombuffer(data, dtype="<u2").reshape(len(values), width).astype(np.float64)
    signs = np.array([-1.0 if v < 0 else 1.0 for v in values])
    out: np.ndarray = limbs * signs[:, None]
    return out


def _integers(digits: np.ndarray) -> list[int]:
    """The integers ``Σ_k digits[k, c]·2^(16 k)``, one per column, from int64 digits of any
    sign: carries propagated in int64, then each column read as bytes."""
    digits = digits.copy()
    for k in range(digits.shape[0] - 1):
        carry = digits[k] >> LIMB  # floor division by 2^16: negative digits borrow
        digits[k] -= carry << LIMB
        digits[k + 1] += carry
    top = digits[-1].tolist()
    low = np.ascontiguousarray(digits[:-1].T.astype("<u2")).tobytes()
    size = 2 * (digits.shape[0] - 1)
    return [int.from_bytes(low[c * size:(c + 1) * size], "little") + (t << (LIMB * (
        digits.shape[0] - 1))) for c, t in enumerate(top)]


def limb_product(nums: list[int], dens: list[int], rows: int, weight: Any
                 ) -> np.ndarray | None:
    """``X @ W`` exactly, ``X`` given as integer numerators (``rows`` rows, one denominator
    each) and ``W`` a float weight, by float64 products of 16-bit limbs: each of the ``n``
    products of a row limb by a weight limb is under ``2^32``, their sum under ``2^53`` for
    ``n < 2^21``, so float64 computes it exactly in any order. ``None`` when FLINT's product
    is the cheaper (many rows, or long numerators) or the weight's numerators do not fit
    machine words."""
    found = _weight_limbs(weight)
    if found is None:
        return None
    limbs, shift = found
    n, m = limbs[0].shape
    if n.bit_length() + 2 * LIMB > 52:
        return None
    longest = max((abs(v).bit_length() for v in nums), default=0)
    width = max(-(-longest // LIMB), 1)
    if rows * width > MAX_ROW_LIMBS:
        return None
    den = 1 << shift
    out = np.empty((rows, m), dtype=object)
    for r in range(rows):
        x = _row_limbs(nums[r * n:(r + 1) * n], width).T  # (width, n)
        digits = np.zeros((width + len(limbs) + 2, m), dtype=np.int64)
        for j, limb in enumerate(limbs):
            # every entry a sum of n products under 2^32 each: exact in float64
            digits[j:j + width] += (x @ limb).astype(np.int64)
        out[r] = [Fraction(v, dens[r] * den) for v in _integers(digits)]
    return out
