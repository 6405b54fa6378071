"""Moving entries without arithmetic: zero padding, cropping, nearest upsampling, axis
permutations, repetition. Each is an index map — which input entry (or a zero) every output
entry is — defined once here and used by the formula and by the op."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from .arrays import ArrayCode

__all__ = ["Rearranged", "Resampled", "bilinear_taps", "rearrangement"]

KINDS = ("pad", "crop", "upsample", "permute", "repeat", "reverse", "flatten")


def _ints(values: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


@lru_cache(maxsize=128)
def rearrangement(kind: str, in_shape: tuple[int, ...], out_shape: tuple[int, ...],
                  params: tuple[int, ...]) -> np.ndarray:
    """For each entry of the output (row-major), the flat index of the input entry it is, or
    ``-1`` for a zero.

    ``params``: ``pad`` and ``crop``: the amount before each axis (all axes, the channels'
    included); ``upsample``: the factor of each axis; ``permute``: the output's axes as input
    axes; ``repeat``: nothing (the input is the last axis, repeated along the first).
    """
    out = np.indices(out_shape).reshape(len(out_shape), -1)
    if kind == "pad":
        coords = out - np.asarray(params)[:, None]
        valid = np.all((coords >= 0) & (coords < np.asarray(in_shape)[:, None]), axis=0)
    elif kind == "crop":
        coords, valid = out + np.asarray(params)[:, None], None
    elif kind == "upsample":
        coords, valid = out // np.asarray(params)[:, None], None
    elif kind == "permute":
        coords, valid = np.empty_like(out), None
        coords[list(params)] = out
    elif kind == "repeat":
        coords, valid = out[1:], None
    elif kind == "flatten":
        order = list(params)
        coords = np.empty((len(in_shape), out.shape[1]), dtype=np.int64)
        coords[order] = np.indices([in_shape[a] for a in order]).reshape(len(order), -1)
        valid = None
    elif kind == "reverse":
        flags = np.asarray(params)[:, None]
        coords, valid = np.where(flags == 1, np.asarray(in_shape)[:, None] - 1 - out, out), None
    else:
        raise ValueError(f"unknown rearrangement {kind!r}; expected one of {KINDS}")
    clipped = np.clip(coords, 0, np.asarray(in_shape)[:, None] - 1)
    flat = np.ravel_multi_index(tuple(clipped), in_shape)
    result = flat if valid is None else np.where(valid, flat, -1)
    result.setflags(write=False)
    return result


class Rearranged(ArrayCode, MatrixExpr):
    """``x`` rearranged: ``Rearranged(x, kind, in_shape, out_shape, params)``."""

    array_function = "rearranged"

    def array_arguments(self) -> list[Any]:
        return [self.args[0], *self._spec()]

    def __new__(cls, x: Any, kind: Any, in_shape: Any, out_shape: Any, params: Any
                ) -> Rearranged:
        return super().__new__(cls, x, sp.Symbol(str(kind)), sp.Tuple(*in_shape),
                               sp.Tuple(*out_shape), sp.Tuple(*params))

    def _spec(self) -> tuple[str, tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        return (str(self.args[1]), _ints(self.args[2]), _ints(self.args[3]),
                _ints(self.args[4]))

    @property
    def shape(self) -> tuple[Any, Any]:
        out = _ints(self.args[3])
        return (sp.Integer(math.prod(out[:-1]) if len(out) > 1 else 1), sp.Integer(out[-1]))

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        kind, in_shape, out_shape, params = self._spec()
        flat = int(i) * out_shape[-1] + int(j)
        source = int(rearrangement(kind, in_shape, out_shape, params)[flat])
        if source < 0:
            return sp.Integer(0)
        cols = in_shape[-1]
        return self.args[0]._entry(source // cols, source % cols, **kwargs)

    def _latex(self, printer: Any) -> str:
        kind, in_shape, out_shape, params = self._spec()
        if kind == "permute":
            sub = "(" + ", ".join(str(p + 1) for p in params) + ")"
        elif kind == "upsample":
            sub = r"\times ".join(str(p) for p in params if True)
        elif kind == "repeat":
            sub = str(out_shape[0])
        elif kind == "reverse":
            sub = r"\text{axis } " + ", ".join(str(k + 1) for k, f in enumerate(params) if f)
        else:
            sub = r"\to ".join(r"\times ".join(str(d) for d in s) for s in (in_shape, out_shape))
        return rf"\operatorname{{{kind}}}_{{{sub}}}\left({printer._print(self.args[0])}\right)"


@lru_cache(maxsize=64)
def bilinear_taps(n_in: int, n_out: int
                  ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[Any, ...]]:
    """For each output index: the two input indices around it and the weight of the second
    (``tf.image.resize`` bilinear, half-pixel centres): ``x = (o + ½)·n_in/n_out − ½``."""
    from fractions import Fraction

    lows, highs, weights = [], [], []
    for o in range(n_out):
        x = (o + Fraction(1, 2)) * Fraction(n_in, n_out) - Fraction(1, 2)
        floor = math.floor(x)
        lows.append(max(floor, 0))
        highs.append(min(math.ceil(x), n_in - 1))
        weights.append(x - floor)
    return tuple(lows), tuple(highs), tuple(weights)


class Resampled(ArrayCode, MatrixExpr):
    """Bilinear upsampling of a ``(height, width, channels)`` tensor to a larger one."""

    array_function = "resampled"

    def array_arguments(self) -> list[Any]:
        return [self.args[0], _ints(self.args[1]), _ints(self.args[2])]

    def __new__(cls, x: Any, in_shape: Any, out_shape: Any) -> Resampled:
        return super().__new__(cls, x, sp.Tuple(*in_shape), sp.Tuple(*out_shape))

    @property
    def shape(self) -> tuple[Any, Any]:
        out = _ints(self.args[2])
        return (sp.Integer(out[0] * out[1]), sp.Integer(out[2]))

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        (h_in, w_in, _), (h_out, w_out, _) = _ints(self.args[1]), _ints(self.args[2])
        row, col = divmod(int(i), w_out)
        (lo_h, hi_h, w_h), (lo_w, hi_w, w_w) = (
            (t[0][k], t[1][k], sp.Rational(t[2][k])) for t, k in
            ((bilinear_taps(h_in, h_out), row), (bilinear_taps(w_in, w_out), col)))

        def at(r: int, c: int) -> Any:
            return self.args[0]._entry(r * w_in + c, j, **kwargs)

        top = at(lo_h, lo_w) + (at(lo_h, hi_w) - at(lo_h, lo_w)) * w_w
        bottom = at(hi_h, lo_w) + (at(hi_h, hi_w) - at(hi_h, lo_w)) * w_w
        return top + (bottom - top) * w_h

    def _latex(self, printer: Any) -> str:
        (h_in, w_in, _), (h_out, w_out, _) = _ints(self.args[1]), _ints(self.args[2])
        return (rf"\operatorname{{bilinear}}_{{{h_in}\times {w_in} \to {h_out}\times "
                rf"{w_out}}}\left({printer._print(self.args[0])}\right)")
