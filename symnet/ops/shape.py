"""Ops that move numbers without arithmetic: the identity, reshaping, concatenation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .. import functions as fx
from .base import Op, Rewrite, matrix_shape

__all__ = ["Concat", "Identity", "Reshape"]


@dataclass(frozen=True, eq=False)
class Identity(Op):
    """The output is the input: a layer that acts only while training (Dropout, noise), or
    one that does nothing. ``dropout_rate``: the rate of an (inverted) dropout."""

    note: str = ""
    dropout_rate: float | None = None
    identity = True
    affine = True
    entrywise = True

    def formula(self, x: Any) -> Any:
        return x

    def forward(self, backend: Any, x: Any) -> Any:
        return x

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return sizes[0]

    def as_affine(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        return np.eye(n), np.zeros(n)

    def mistakes(self, *, last: bool = False, batch: int | None = None) -> tuple[Rewrite, ...]:
        from .linear import Rescale

        rate = self.dropout_rate
        if not rate or not 0 < rate < 1:
            return ()
        return tuple(Rewrite("dropout_at_inference", f"{{layer}} was {how} = {factor:g} at "
                             "inference: Dropout is the identity at inference.",
                             Rescale(factor, 0.0), variant=how)
                     for factor, how in ((1 - rate, "scaled by 1 − rate"),
                                         (1 / (1 - rate), "divided by 1 − rate")))

    def describe(self) -> str:
        return "identity"


@dataclass(frozen=True, eq=False)
class Reshape(Op):
    """The same entries in row-major (C) order, in another per-sample shape."""

    input_shape: tuple[int, ...]
    target_shape: tuple[int, ...]
    affine = True
    entrywise = False

    @property
    def identity(self) -> bool:  # type: ignore[override]
        return matrix_shape(self.input_shape) == matrix_shape(self.target_shape) or (
            len(self.input_shape) <= 1 and len(self.target_shape) <= 1)

    def formula(self, x: Any) -> Any:
        rows, cols = matrix_shape(self.target_shape)
        return x if (rows, cols) == tuple(int(d) for d in x.shape) else fx.Reshape(x, rows, cols)

    def forward(self, backend: Any, x: Any) -> Any:
        return x.reshape((x.shape[0],) + tuple(self.target_shape))

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(self.target_shape)

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return sizes[0]

    def as_affine(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        return np.eye(n), np.zeros(n)

    def describe(self) -> str:
        return "identity" if self.identity else f"reshape to {self.target_shape}"


@dataclass(frozen=True, eq=False)
class Concat(Op):
    """The inputs side by side along the last axis."""

    arity = 0
    affine = True

    def formula(self, *xs: Any) -> Any:
        return sp.BlockMatrix([list(xs)])

    def forward(self, backend: Any, *xs: Any) -> Any:
        return np.concatenate(xs, axis=-1)

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(shapes[0][:-1]) + (sum(s[-1] for s in shapes),)

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return max(sizes)

    def describe(self) -> str:
        return "concatenate"
