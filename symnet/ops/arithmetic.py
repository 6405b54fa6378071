"""Arithmetic a graph spells with operations rather than layers.

- :class:`WithConstant`: entrywise arithmetic with a constant array, as ONNX's ``Add``,
  ``Sub``, ``Mul`` and ``Div`` compute it when one operand is a stored array (and Keras'
  ``keras.ops.add(x, c)``...): numpy's broadcasting (the constant may also enlarge the
  sample's shape), either operand first, division included. ``BiasAdd`` and ``Rescale``
  cover what Keras layers need; this op is what graphs spell with a constant
  (``(x − μ) / σ`` of a scaler, ``C − x``...).
- :class:`ConstantArithmetic`: the same with a number, shown as written (``2 x``, ``x + 1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .. import functions as fx
from ..numbers import number
from .base import Grads, Op, Param, aligned, spread, unbroadcast

__all__ = ["ConstantArithmetic", "WithConstant"]

_OPERATIONS = ("add", "subtract", "multiply", "divide")


@dataclass(frozen=True, eq=False)
class WithConstant(Op):
    """``x ∘ C`` (``constant_first``: ``C ∘ x``) for ``∘`` one of ``add``, ``subtract``,
    ``multiply``, ``divide``; ``C`` broadcast against the sample as numpy does."""

    operation: str
    constant: Param
    sample_shape: tuple[int, ...]
    """The input's per-sample shape."""
    constant_first: bool = False

    def __post_init__(self) -> None:
        if self.operation not in _OPERATIONS:
            raise ValueError(f"operation must be one of {_OPERATIONS}, received "
                             f"{self.operation!r}")

    @property
    def _out(self) -> tuple[int, ...]:
        return tuple(np.broadcast_shapes(tuple(self.sample_shape), self._shape))

    @property
    def _shape(self) -> tuple[int, ...]:
        """The constant's shape as it meets a sample (its axes counted from the end)."""
        return tuple(self.constant.shape)

    @property
    def affine(self) -> bool:  # type: ignore[override]
        return self.entrywise and not (self.operation == "divide" and self.constant_first)

    @property
    def entrywise(self) -> bool:  # type: ignore[override]
        return self._out == tuple(self.sample_shape)

    @property
    def rowwise(self) -> bool:  # type: ignore[override]
        rank = len(self._out)
        shape = aligned(self._shape, rank)
        return self.entrywise and all(d == 1 for d in shape[:-1])

    def formula(self, x: Any) -> Any:
        out = self._out
        c = spread(self.constant.symbol, aligned(self._shape, len(out)), out) if out else \
            self.constant.symbol
        if tuple(self.sample_shape) != out:
            x = fx.Broadcast(x, aligned(tuple(self.sample_shape), len(out)), out)
        a, b = (c, x) if self.constant_first else (x, c)
        if self.operation == "add":
            return a + b
        if self.operation == "subtract":
            return a - b
        if self.operation == "multiply":
            return sp.HadamardProduct(a, b)
        return sp.HadamardProduct(a, sp.HadamardPower(b, -1))

    def forward(self, backend: Any, x: Any) -> Any:
        c = backend.weight(self.constant)
        rank = len(self._out)
        c = c.reshape((1, *aligned(self._shape, rank)))
        x = x.reshape((x.shape[0], *aligned(tuple(self.sample_shape), rank)))
        a, b = (c, x) if self.constant_first else (x, c)
        if self.operation == "add":
            out = a + b
        elif self.operation == "subtract":
            out = a - b
        elif self.operation == "multiply":
            out = a * b
        else:
            out = a / b
        return np.broadcast_to(out, (x.shape[0], *self._out)) if out.shape[1:] != self._out \
            else out

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        return self._out

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return sizes[0] + 3

    def as_diagonal(self, n: int) -> tuple[np.ndarray, np.ndarray] | None:
        if not self.entrywise or not self.affine:
            return None
        c = np.broadcast_to(np.asarray(self.constant.value, np.float64).reshape(
            aligned(self._shape, len(self._out))), self._out).reshape(-1)
        if c.size != n:
            return None
        ones, zeros = np.ones(n), np.zeros(n)
        if self.operation == "add":
            return ones, c.copy()
        if self.operation == "subtract":
            return (-ones, c.copy()) if self.constant_first else (ones, -c)
        if self.operation == "multiply":
            return c.copy(), zeros
        return 1.0 / c, zeros

    def describe(self) -> str:
        sign = {"add": "+", "subtract": "−", "multiply": "⊙", "divide": "⊘"}[self.operation]
        c = str(self.constant.symbol or self.constant.name)
        return f"{c} {sign} x" if self.constant_first else f"x {sign} {c}"

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        x = xs[0]
        rank = len(self._out)
        c = backend.weight(self.constant).reshape((1, *aligned(self._shape, rank)))
        xb = x.reshape((x.shape[0], *aligned(tuple(self.sample_shape), rank)))
        op, first = self.operation, self.constant_first
        if op == "add":
            dx, dc = g, g
        elif op == "subtract":
            dx, dc = (-g, g) if first else (g, -g)
        elif op == "multiply":
            dx, dc = g * c, g * xb
        elif first:  # C / x
            dx, dc = -(g * c) / (xb * xb), g / xb
        else:  # x / C
            dx, dc = g / c, -(g * xb) / (c * c)
        dx = np.stack([unbroadcast(dx[b:b + 1], tuple(self.sample_shape))
                       for b in range(x.shape[0])]) if dx.shape[1:] != tuple(
            self.sample_shape) else dx
        return Grads((np.asarray(dx).reshape(x.shape),),
                     {self.constant: unbroadcast(dc, self._shape).reshape(self.constant.shape)})


@dataclass(frozen=True, eq=False)
class ConstantArithmetic(Op):
    """``x ∘ c`` (or ``c ∘ x`` when ``constant_first``) for ``∘`` one of ``add``,
    ``subtract``, ``multiply``, ``divide`` and ``c`` a number, shown as written (``0.1`` is
    1/10 in exact arithmetic, as a layer's config number is)."""

    operation: str
    constant: float
    constant_first: bool = False
    sample_shape: tuple[int, ...] = ()
    entrywise = True

    def __post_init__(self) -> None:
        if self.operation not in _OPERATIONS:
            raise ValueError(f"operation must be one of {_OPERATIONS}, received "
                             f"{self.operation!r}")

    @property
    def affine(self) -> bool:  # type: ignore[override]
        return not (self.operation == "divide" and self.constant_first)

    @property
    def rowwise(self) -> bool:  # type: ignore[override]
        return True

    def formula(self, x: Any) -> Any:
        c, op, first = number(self.constant), self.operation, self.constant_first
        spread_c = c * sp.OneMatrix(*x.shape)
        if op == "add":
            return spread_c + x if first else x + spread_c
        if op == "subtract":
            return spread_c - x if first else x - spread_c
        if op == "multiply":
            return c * x
        return sp.HadamardProduct(spread_c, fx.EntrywisePower(x, -1)) if first else x / c

    def forward(self, backend: Any, x: Any) -> Any:
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
        c, one, zero = float(self.constant), np.ones(n), np.zeros(n)
        if self.operation == "add":
            return one, np.full(n, c)
        if self.operation == "subtract":
            return (-one, np.full(n, c)) if self.constant_first else (one, np.full(n, -c))
        if self.operation == "multiply":
            return np.full(n, c), zero
        return np.full(n, 1.0 / c), zero

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        x, c = xs[0], backend.const(self.constant)
        op, first = self.operation, self.constant_first
        if op == "add":
            dx = g
        elif op == "subtract":
            dx = -g if first else g
        elif op == "multiply":
            dx = g * c
        else:
            dx = -(g * c) / (x * x) if first else g / c
        return Grads((dx,))

    def describe(self) -> str:
        sign = {"add": "+", "subtract": "−", "multiply": "·", "divide": "/"}[self.operation]
        shown = f"{self.constant:g}"
        return f"{shown} {sign} x" if self.constant_first else f"x {sign} {shown}"
