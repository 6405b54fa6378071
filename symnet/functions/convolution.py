"""Sliding windows: convolution (Keras' cross-correlation), transposed convolution, pooling.

A :class:`Window` says which input position each kernel tap reads for each output position —
the index arithmetic of strides, dilation and padding, defined once. The formula classes
(``Convolution``, ``Pooling``, ``GlobalPooling``) give each output entry from it, and the ops of
:mod:`symnet.ops.conv` compute with it; a tensor of per-sample shape ``(*spatial, channels)``
is the matrix ``(positions, channels)``, positions in row-major order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from .arrays import ArrayCode, ints

__all__ = ["Convolution", "GlobalPooling", "Pooling", "Window"]


@dataclass(frozen=True)
class Window:
    """The geometry of a sliding window over ``rank`` spatial axes.

    For an ordinary window (convolution, pooling), output position ``o`` and tap ``a`` read
    input position ``s·o + d·a − p`` on each axis (zero, or nothing, outside the input). For a
    transposed convolution, input position ``i`` and tap ``a`` write output position
    ``s·i + d·a − p``: output ``o`` reads ``i = (o + p − d·a)/s`` when that is a whole input
    position.
    """

    in_spatial: tuple[int, ...]
    out_spatial: tuple[int, ...]
    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilation: tuple[int, ...]
    pad_before: tuple[int, ...]
    transpose: bool = False

    @property
    def rank(self) -> int:
        return len(self.kernel)

    @property
    def positions(self) -> int:
        return math.prod(self.out_spatial)

    @property
    def size(self) -> int:
        """Taps per window."""
        return math.prod(self.kernel)

    def to_tuple(self) -> sp.Tuple:
        return sp.Tuple(*[sp.Integer(v) for v in (
            self.rank, int(self.transpose), *self.in_spatial, *self.out_spatial, *self.kernel,
            *self.strides, *self.dilation, *self.pad_before)])

    @classmethod
    def from_tuple(cls, values: Any) -> Window:
        v = [int(a) for a in values]
        r = v[0]
        parts = [tuple(v[2 + k * r: 2 + (k + 1) * r]) for k in range(6)]
        return cls(*parts, transpose=bool(v[1]))

    def taps(self) -> np.ndarray:
        """``(positions, taps)``: the flat input position each tap reads, ``-1`` outside."""
        return _taps(self)

    def redrawn(self, padding: str, strides: tuple[int, ...] | None = None) -> Window:
        """The window with another padding (``valid`` or ``same``) or strides: a student's
        version of it."""
        strides = strides or self.strides
        out, before = [], []
        for n, k, s, d in zip(self.in_spatial, self.kernel, strides, self.dilation):
            reach = (k - 1) * d + 1
            if padding == "same":
                o = -(-n // s)
                before.append(max((o - 1) * s + reach - n, 0) // 2)
            else:
                o = (n - reach) // s + 1
                before.append(0)
            out.append(max(o, 1))
        return Window(self.in_spatial, tuple(out), self.kernel, tuple(strides), self.dilation,
                      tuple(before))

    def pad_after(self) -> tuple[int, ...]:
        """Zeros the window reaches past the end of each input axis."""
        if self.transpose:
            return tuple(0 for _ in self.kernel)
        return tuple(max((o - 1) * s + (k - 1) * d + 1 - n - p, 0) for o, s, k, d, n, p in zip(
            self.out_spatial, self.strides, self.kernel, self.dilation, self.in_spatial,
            self.pad_before))


@lru_cache(maxsize=64)
def _taps(window: Window) -> np.ndarray:
    out = np.indices(window.out_spatial).reshape(window.rank, -1).T
    taps = np.indices(window.kernel).reshape(window.rank, -1).T
    s, d, p = (np.asarray(v) for v in (window.strides, window.dilation, window.pad_before))
    n = np.asarray(window.in_spatial)
    if window.transpose:
        numerator = out[:, None, :] + p - d * taps[None, :, :]
        coords = numerator // s
        valid = np.all((numerator % s == 0) & (coords >= 0) & (coords < n), axis=-1)
    else:
        coords = s * out[:, None, :] + d * taps[None, :, :] - p
        valid = np.all((coords >= 0) & (coords < n), axis=-1)
    clipped = np.clip(coords, 0, n - 1).transpose(2, 0, 1)
    flat = np.ravel_multi_index(tuple(clipped), window.in_spatial)
    result = np.where(valid, flat, -1)
    result.setflags(write=False)
    return result


class Convolution(ArrayCode, MatrixExpr):
    """``W ⋆ x``: each output position is the sum, over the taps of its window and the input
    channels of its group, of kernel entry times input entry (Keras' cross-correlation).

    ``layout`` says how the kernel symbol's matrix holds the kernel: ``0`` Keras' ordinary
    ``(taps·in/groups, out)``, ``1`` transposed ``(taps·out, in)``, ``2`` depthwise
    ``(taps·in, multiplier)``; ``3`` and ``4`` ONNX's (PyTorch's) ``(out, in/groups, *taps)``
    and, transposed, ``(in, out, *taps)``, row-major in the symbol's matrix.
    """

    array_function = "convolution"

    def __new__(cls, x: Any, kernel: Any, window: Any, channels: Any) -> Convolution:
        return super().__new__(cls, x, kernel, sp.Tuple(*window), sp.Tuple(*channels))

    def array_arguments(self) -> list[Any]:
        return [self.args[0], self.args[1], ints(self.args[2]), ints(self.args[3])]

    @property
    def window(self) -> Window:
        return Window.from_tuple(self.args[2])

    @property
    def shape(self) -> tuple[Any, Any]:
        return (sp.Integer(self.window.positions), self.args[3][2])

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        x, kernel = self.args[0], self.args[1]
        groups, c_in, c_out, layout = (int(v) for v in self.args[3])
        per_in, per_out = c_in // groups, c_out // groups
        group, j = int(j) // per_out, int(j)
        terms = []
        for a, position in enumerate(self.window.taps()[int(i)]):
            if position < 0:
                continue
            for c in range(per_in):
                channel = group * per_in + c
                if layout in (3, 4):  # (out, in/groups, *taps) or (in, out, *taps)
                    flat = ((j * per_in + c) if layout == 3 else (channel * c_out + j)) * \
                        self.window.size + a
                    cols = int(kernel.shape[1])
                    w = kernel._entry(flat // cols, flat % cols, **kwargs)
                elif layout == 1:
                    w = kernel._entry(a * c_out + j, channel, **kwargs)
                elif layout == 2:
                    w = kernel._entry(a * c_in + channel, j - channel * (c_out // c_in),
                                      **kwargs)
                else:
                    w = kernel._entry(a * per_in + c, j, **kwargs)
                terms.append(w * x._entry(int(position), channel, **kwargs))
        return sp.Add(*terms)

    def _latex(self, printer: Any) -> str:
        star = r"\star^{\top}" if self.window.transpose else r"\star"
        x = printer.parenthesize(self.args[0], 50) if isinstance(self.args[0], sp.MatAdd) \
            else printer._print(self.args[0])
        return rf"{printer._print(self.args[1])} {star} {x}"

    def _sympystr(self, printer: Any) -> str:
        star = "⋆ᵀ" if self.window.transpose else "⋆"
        return f"{printer._print(self.args[1])} {star} {printer._print(self.args[0])}"


class Pooling(ArrayCode, MatrixExpr):
    """The maximum (``kind`` max) or the mean (average) of each window's entries, per channel;
    padding is left out of both, as Keras does."""

    array_function = "pooling"

    def __new__(cls, x: Any, window: Any, kind: Any) -> Pooling:
        return super().__new__(cls, x, sp.Tuple(*window), sp.Symbol(str(kind)))

    def array_arguments(self) -> list[Any]:
        return [self.args[0], ints(self.args[1]), str(self.args[2])]

    @property
    def window(self) -> Window:
        return Window.from_tuple(self.args[1])

    @property
    def shape(self) -> tuple[Any, Any]:
        return (sp.Integer(self.window.positions), self.args[0].shape[1])

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        values = [self.args[0]._entry(int(p), j, **kwargs) for p in self.window.taps()[int(i)]
                  if p >= 0]
        return sp.Max(*values) if str(self.args[2]) == "max" else sp.Add(*values) / len(values)

    def _latex(self, printer: Any) -> str:
        w = self.window
        size = r"\times ".join(str(k) for k in w.kernel)
        name = "maxpool" if str(self.args[2]) == "max" else "avgpool"
        return rf"\operatorname{{{name}}}_{{{size}}}\left({printer._print(self.args[0])}\right)"


class GlobalPooling(ArrayCode, MatrixExpr):
    """The maximum or the mean of each channel over all positions: one row."""

    array_function = "global_pooling"

    def __new__(cls, x: Any, kind: Any) -> GlobalPooling:
        return super().__new__(cls, x, sp.Symbol(str(kind)))

    def array_arguments(self) -> list[Any]:
        return [self.args[0], str(self.args[1])]

    @property
    def shape(self) -> tuple[Any, Any]:
        return (sp.Integer(1), self.args[0].shape[1])

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        rows = int(self.args[0].shape[0])
        values = [self.args[0]._entry(r, j, **kwargs) for r in range(rows)]
        return sp.Max(*values) if str(self.args[1]) == "max" else sp.Add(*values) / rows

    def _latex(self, printer: Any) -> str:
        name = r"\max" if str(self.args[1]) == "max" else r"\operatorname{mean}"
        return rf"{name}_{{\text{{positions}}}}\left({printer._print(self.args[0])}\right)"
