"""A weight matrix as FLINT integers built from machine words: what makes the first exact
evaluation of a network quick (the exact backend, :mod:`.exact`, defines the arithmetic; this
gives the same integers with less Python)."""

from __future__ import annotations

import numpy as np
from flint import fmpz_mat

__all__ = ["integer_form"]

#: The largest numerator kept in a machine word (int64, with room for the sign).
WORD_BITS = 62


def integer_form(array: np.ndarray) -> tuple[fmpz_mat, int] | None:
    """``(M, shift)`` with ``array == M / 2**shift`` exactly, for a 2-D float array whose
    numerators over their common power of two fit in a machine word (float32 weights almost
    always do: 24 bits of mantissa and a few dozen of exponent range); ``None`` otherwise.

    FLINT takes small Python integers several times faster than the 70-bit ones of a common
    denominator taken over 53-bit mantissas with their trailing zeros.
    """
    a = np.asarray(array, dtype=np.float64)
    if a.ndim != 2 or not np.all(np.isfinite(a)):
        return None
    mantissa, exponent = np.frexp(a)
    ints = (mantissa * 2.0**53).astype(np.int64)  # exact: |mantissa| < 1, 53 bits
    exps = exponent.astype(np.int64) - 53
    nonzero = ints != 0
    if not nonzero.any():
        return fmpz_mat(*a.shape), 0
    low = ints[nonzero] & -ints[nonzero]  # the lowest set bit of each numerator
    strip = int(np.frexp(low.astype(np.float64))[1].min()) - 1  # common trailing zeros
    ints = np.where(nonzero, ints >> strip, 0)
    exps = np.where(nonzero, exps + strip, 0)
    shift = max(-int(exps[nonzero].min()), 0)
    widths = np.frexp(np.abs(ints).astype(np.float64))[1] + exps + shift
    if int(widths[nonzero].max()) > WORD_BITS:
        return None
    numerators = np.where(nonzero, ints << (exps + shift), 0)
    rows, cols = a.shape
    return fmpz_mat(rows, cols, numerators.reshape(-1).tolist()), shift
