"""Arithmetic a functional model writes with Keras operations rather than layers: a tensor
and a constant (``x + 1``, ``2 * x``, ``x / c``), a product of two tensors per sample
(``x @ y``), and sums and means over axes (``keras.ops.mean(x, axis=1)``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .. import functions as fx
from ..functions import number
from .base import Op, Param, aligned, spread

__all__ = ["BatchMatMul", "ConstantArithmetic", "Reduce"]

_SYMBOLS = {"add": "+", "subtract": "−", "multiply": "·", "divide": "/"}


@dataclass(frozen=True, eq=False)
class ConstantArithmetic(Op):
    """``x ∘ c`` (or ``c ∘ x`` when ``constant_first``) for ``∘`` one of ``add``,
    ``subtract``, ``multiply``, ``divide``: ``c`` a number, or an array (a :class:`Param`)
    broadcast over the sample as numpy broadcasts it."""

    operation: str
    constant: float | Param
    constant_first: bool = False
    sample_shape: tuple[int, ...] = ()
    rowwise = False
    entrywise = True

    def __post_init__(self) -> None:
        if self.operation not in _SYMBOLS:
            raise ValueError(f"operation must be one of {sorted(_SYMBOLS)}, received "
                             f"{self.operation!r}")

    @property
    def affine(self) -> bool:  # type: ignore[override]
        return not (self.operation == "divide" and self.constant_first)

    def _array(self) -> bool:
        return isinstance(self.constant, Param)

    def _term(self, x: Any) -> Any:
        """The constant as a matrix of the shape of ``x``'s view."""
        if self._array():
            c = self.constant
            return spread(c.symbol, aligned(tuple(c.shape), len(self.sample_shape)),
                          self.sample_shape)
        return number(self.constant) * sp.OneMatrix(*x.shape)

    def formula(self, x: Any) -> Any:
        c, op, first = self._term(x), self.operation, self.constant_first
        if op == "add":
            return c + x if first else x + c
        if op == "subtract":
            return c - x if first else x - c
        if op == "multiply":
            return sp.HadamardProduct(c, x) if self._array() else number(self.constant) * x
        if first:
            return sp.HadamardProduct(c, fx.EntrywisePower(x, -1))
        if self._array():
            return sp.HadamardProduct(x, fx.EntrywisePower(c, -1))
        return x / number(self.constant)

    def forward(self, backend: Any, x: Any) -> Any:
        if self._array():
            c = backend.weight(self.constant)
            c = c.reshape(aligned(tuple(np.shape(c)), x.ndim))
        else:
            c = backend.const(self.constant)
        a, b = (c, x) if self.constant_first else (x, c)
        if self.operation == "add":
            return a + b
        if self.operation == "subtract":
            return a - b
        if self.operation == "multiply":
            return a * b
        return a / b

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return sizes[0] + 3

    def as_diagonal(self, n: int) -> tuple[np.ndarray, np.ndarray] | None:
        if not self.affine:
            return None
        value = self.constant.value if self._array() else self.constant
        c = np.broadcast_to(np.broadcast_to(np.asarray(value, np.float64),
                                            aligned(np.shape(value), len(self.sample_shape))
                                            ).reshape(-1) if np.ndim(value) else value, (n,))
        one, zero = np.ones(n), np.zeros(n)
        if self.operation == "add":
            return one, np.array(c, np.float64)
        if self.operation == "subtract":
            return (-one, np.array(c, np.float64)) if self.constant_first else (
                one, -np.array(c, np.float64))
        if self.operation == "multiply":
            return np.array(c, np.float64), zero
        return 1.0 / np.array(c, np.float64), zero

    def describe(self) -> str:
        shown = str(self.constant.symbol) if self._array() else f"{self.constant:g}"
        sign = _SYMBOLS[self.operation]
        return f"{shown} {sign} x" if self.constant_first else f"x {sign} {shown}"


@dataclass(frozen=True, eq=False)
class BatchMatMul(Op):
    """``x y``: the matrix product of two inputs, sample by sample (per-sample shapes
    ``(m, k)`` and ``(k, n)``)."""

    arity = 2
    affine = False

    @property
    def piecewise_linear(self) -> bool:
        return False

    def formula(self, x: Any, y: Any) -> Any:
        return x * y

    def forward(self, backend: Any, x: Any, y: Any) -> Any:
        return np.stack([backend.matmul(x[i], y[i]) for i in range(x.shape[0])])

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        return (shapes[0][0], shapes[1][1])

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return shapes[0][-1] * (sizes[0] + sizes[1] + 2)

    def describe(self) -> str:
        return "matrix product"


@dataclass(frozen=True, eq=False)
class Reduce(Op):
    """The sum or the mean of the entries over per-sample ``axes`` (``keepdims``: those axes
    kept with length 1)."""

    kind: str
    axes: tuple[int, ...]
    keepdims: bool
    sample_shape: tuple[int, ...]
    affine = True

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        kept = [1 if a in self.axes else n for a, n in enumerate(self.sample_shape)]
        if self.keepdims:
            return tuple(kept)
        return tuple(n for a, n in enumerate(self.sample_shape) if a not in self.axes)

    def formula(self, x: Any) -> Any:
        return fx.Reduced(x, self.kind, self.axes, self.sample_shape, self.keepdims)

    def forward(self, backend: Any, x: Any) -> Any:
        axes = tuple(a + 1 for a in self.axes)
        total = np.sum(x, axis=axes, keepdims=True)
        if self.kind == "mean":
            count = math.prod(self.sample_shape[a] for a in self.axes)
            total = total / backend.const(count)
        return total.reshape((x.shape[0], *self.output_shape(self.sample_shape)))

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return math.prod(self.sample_shape[a] for a in self.axes) * (sizes[0] + 1)

    def as_affine(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(n).reshape(self.sample_shape)
        out = self.output_shape(self.sample_shape)
        columns = np.zeros(self.sample_shape, dtype=np.int64)
        kept = [a for a in range(len(self.sample_shape)) if a not in self.axes]
        index = np.indices(self.sample_shape)
        flat = np.zeros(self.sample_shape, dtype=np.int64)
        for a in kept:
            flat = flat * self.sample_shape[a] + index[a]
        columns[...] = flat
        width = math.prod(out) if out else 1
        weight = np.zeros((n, width))
        scale = 1.0 / math.prod(self.sample_shape[a] for a in self.axes) if (
            self.kind == "mean") else 1.0
        weight[rows.reshape(-1), columns.reshape(-1)] = scale
        return weight, np.zeros(width)

    def describe(self) -> str:
        return f"{self.kind} over axes {tuple(a + 1 for a in self.axes)}"
