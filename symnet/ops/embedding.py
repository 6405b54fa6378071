"""A lookup: each integer index of the input takes a row of a table (Keras ``Embedding``)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from .. import functions as fx
from ..errors import InvalidInputError
from .base import Grads, Op, Param

__all__ = ["Lookup"]


@dataclass(frozen=True, eq=False)
class Lookup(Op):
    """``E[x]``: the rows of the table ``E`` at the input's indices."""

    table: Param

    @property
    def piecewise_linear(self) -> bool:
        return False  # a step function of its input: no affine law holds around an index

    def formula(self, x: Any) -> Any:
        return fx.Lookup(self.table.symbol, x)

    def _indices(self, backend: Any, x: np.ndarray) -> np.ndarray:
        vocabulary = self.table.shape[0]
        flat = x.reshape(-1)
        out = np.empty(flat.shape, dtype=np.int64)
        for k, v in enumerate(flat):
            whole = v.denominator == 1 if isinstance(v, Fraction) else float(v).is_integer()
            if not whole or not 0 <= int(v) < vocabulary:
                raise InvalidInputError(
                    f"layer {backend.layer!r} (Embedding) takes whole indices from 0 to "
                    f"{vocabulary - 1}, received {float(v):g}")
            out[k] = int(v)
        return out.reshape(x.shape)

    def forward(self, backend: Any, x: Any) -> Any:
        table = backend.weight(self.table)
        if x.dtype == object and any(isinstance(v, sp.Basic) and v.free_symbols
                                     for v in x.reshape(-1)):
            return self._symbolic(table, x)
        return table[self._indices(backend, x)]

    def _symbolic(self, table: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Each index a symbol: the entry is the row it selects, case by case."""
        out = np.empty((*x.shape, table.shape[1]), dtype=object)
        for index in np.ndindex(*x.shape):
            v = x[index]
            for j in range(table.shape[1]):
                out[index + (j,)] = sp.Piecewise(*[(table[k, j], sp.Eq(v, k))
                                                   for k in range(table.shape[0])],
                                                 (sp.nan, True))
        return out

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        return (*shapes[0], int(self.table.shape[1]))

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return self.table.shape[0] * (sizes[0] + 4)

    def describe(self) -> str:
        return f"lookup in a {self.table.shape[0]}×{self.table.shape[1]} table"

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        """Each row of the table collects the gradient of every position that read it; the
        indices themselves have no derivative (``None``)."""
        index = self._indices(backend, xs[0]).reshape(-1)
        rows = g.reshape(-1, g.shape[-1])
        if rows.dtype == object:
            table = np.full(self.table.shape, backend.const(0), dtype=object)
        else:
            table = np.zeros(self.table.shape, dtype=rows.dtype)
        np.add.at(table, index, rows)
        return Grads((None,), {self.table: table})
