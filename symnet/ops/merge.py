"""Entrywise merges of several inputs of one shape: sum, difference, product, mean, max, min."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from typing import Any

import sympy as sp

from .. import functions as fx
from .base import Op

__all__ = ["Merge"]

#: operation -> (formula of the inputs' symbols, arithmetic on a backend, affine in its inputs).
_OPERATIONS: dict[str, tuple[Callable[..., Any], Callable[..., Any], bool]] = {
    "add": (lambda *xs: sp.MatAdd(*xs), lambda b, *xs: reduce(operator.add, xs), True),
    "subtract": (lambda a, c: a - c, lambda b, a, c: a - c, True),
    "multiply": (lambda *xs: sp.HadamardProduct(*xs), lambda b, *xs: reduce(operator.mul, xs),
                 False),
    "average": (lambda *xs: sp.MatAdd(*xs) / len(xs),
                lambda b, *xs: reduce(operator.add, xs) / b.const(len(xs)), True),
    "maximum": (lambda *xs: fx.ElementwiseMax(*xs), lambda b, *xs: reduce(b.maximum, xs), False),
    "minimum": (lambda *xs: fx.ElementwiseMin(*xs), lambda b, *xs: reduce(b.minimum, xs), False),
}


@dataclass(frozen=True, eq=False)
class Merge(Op):
    """One of ``add``, ``subtract``, ``multiply``, ``average``, ``maximum``, ``minimum``."""

    operation: str
    arity = 0

    def __post_init__(self) -> None:
        if self.operation not in _OPERATIONS:
            raise ValueError(f"merge operation must be one of {sorted(_OPERATIONS)}, received "
                             f"{self.operation!r}")

    @property
    def affine(self) -> bool:  # type: ignore[override]
        return _OPERATIONS[self.operation][2]

    @property
    def piecewise_linear(self) -> bool:
        return self.operation != "multiply"

    def formula(self, *xs: Any) -> Any:
        return _OPERATIONS[self.operation][0](*xs)

    def forward(self, backend: Any, *xs: Any) -> Any:
        return _OPERATIONS[self.operation][1](backend, *xs)

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return sum(sizes) + len(sizes)

    def describe(self) -> str:
        return self.operation
