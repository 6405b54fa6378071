"""Entrywise merges of several inputs of one shape: sum, difference, product, quotient, mean,
max, min."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np
import sympy as sp

from .. import functions as fx
from .base import Grads, Op, aligned

__all__ = ["Merge"]

#: operation -> (formula of the inputs' symbols, arithmetic on a backend, affine in its inputs).
_OPERATIONS: dict[str, tuple[Callable[..., Any], Callable[..., Any], bool]] = {
    "add": (lambda *xs: sp.MatAdd(*xs), lambda b, *xs: reduce(operator.add, xs), True),
    "subtract": (lambda a, c: a - c, lambda b, a, c: a - c, True),
    "multiply": (lambda *xs: sp.HadamardProduct(*xs), lambda b, *xs: reduce(operator.mul, xs),
                 False),
    "divide": (lambda a, c: sp.HadamardProduct(a, fx.EntrywisePower(c, -1)),
               lambda b, a, c: a / c, False),
    "average": (lambda *xs: sp.MatAdd(*xs) / len(xs),
                lambda b, *xs: reduce(operator.add, xs) / b.const(len(xs)), True),
    "maximum": (lambda *xs: fx.ElementwiseMax(*xs), lambda b, *xs: reduce(b.maximum, xs), False),
    "minimum": (lambda *xs: fx.ElementwiseMin(*xs), lambda b, *xs: reduce(b.minimum, xs), False),
}


@dataclass(frozen=True, eq=False)
class Merge(Op):
    """One of ``add``, ``subtract``, ``multiply``, ``divide`` (two inputs: an ONNX ``Div``),
    ``average``, ``maximum``, ``minimum``."""

    operation: str
    shapes: tuple[tuple[int, ...], ...] = ()
    """The inputs' per-sample shapes, when they differ (broadcast as Keras does)."""
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
        return self.operation not in ("multiply", "divide")

    def _out(self) -> tuple[int, ...]:
        return tuple(np.broadcast_shapes(*self.shapes))

    def formula(self, *xs: Any) -> Any:
        if self.shapes and len(set(self.shapes)) > 1:
            out = self._out()
            xs = tuple(x if tuple(s) == out else fx.Broadcast(x, aligned(s, len(out)), out)
                       for x, s in zip(xs, self.shapes))
        return _OPERATIONS[self.operation][0](*xs)

    def forward(self, backend: Any, *xs: Any) -> Any:
        if self.shapes and len(set(self.shapes)) > 1:
            rank = len(self._out())
            # Keras expands a lower-rank input right after the batch axis, then broadcasts.
            xs = tuple(x.reshape((x.shape[0], *aligned(s, rank))) for x, s in zip(xs, self.shapes))
            out = (xs[0].shape[0], *self._out())
            xs = tuple(np.broadcast_to(x, out) for x in xs)
        return _OPERATIONS[self.operation][1](backend, *xs)

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(np.broadcast_shapes(*shapes))

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return sum(sizes) + len(sizes)

    def describe(self) -> str:
        return self.operation

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        from .derivatives import greater_equal

        shapes = [x.shape for x in xs]
        if self.shapes and len(set(self.shapes)) > 1:
            rank = len(self._out())
            xs = tuple(np.broadcast_to(x.reshape((x.shape[0], *aligned(s, rank))), g.shape)
                       for x, s in zip(xs, self.shapes))
        op = self.operation
        if op == "add":
            grads = [g for _ in xs]
        elif op == "subtract":
            grads = [g, -g]
        elif op == "average":
            share = g / backend.const(len(xs))
            grads = [share for _ in xs]
        elif op == "multiply":
            grads = [g * reduce(operator.mul, [x for j, x in enumerate(xs) if j != i])
                     for i in range(len(xs))]
        elif op == "divide":  # a / c: g / c and −g a / c²
            grads = [g / xs[1], -(g * xs[0]) / (xs[1] * xs[1])]
        else:
            # Keras folds the inputs pairwise, maximum(maximum(x_0, x_1), x_2)...; TensorFlow
            # gives a tie to the first argument (x ≥ y), so the earliest input wins a tie.
            wins = greater_equal if op == "maximum" else _less_equal
            masks: list[Any] = [None] * len(xs)
            best = xs[0]
            for i in range(1, len(xs)):
                kept = wins(backend, best, xs[i])
                for j in range(i):
                    masks[j] = kept if masks[j] is None else masks[j] * kept
                masks[i] = backend.const(1) - kept
                best = backend.maximum(best, xs[i]) if op == "maximum" else backend.minimum(
                    best, xs[i])
            grads = [g * m for m in masks]
        return Grads(tuple(_to_shape(d, s) for d, s in zip(grads, shapes)))


def _less_equal(backend: Any, a: Any, b: Any) -> Any:
    from .derivatives import greater_equal

    return greater_equal(backend, b, a)


def _to_shape(grad: Any, shape: tuple[int, ...]) -> Any:
    """A gradient of the broadcast output summed back to an input's (batch first) shape."""
    if grad.shape == shape:
        return grad
    from .base import unbroadcast

    batch = grad.shape[0]
    out = np.stack([unbroadcast(grad[b:b + 1], shape[1:]) for b in range(batch)])
    return out.reshape(shape)
