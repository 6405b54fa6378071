"""Affine ops: ``x K`` (a kernel), ``+ b`` (a bias), ``x W + b`` (what passes make), scaling."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import sympy as sp

from ..functions import number
from .base import Grads, Op, Param, Rewrite, broadcast_row, spread, transposed, unbroadcast
from .shape import Identity

__all__ = ["Affine", "BiasAdd", "MatMul", "Rescale"]


@dataclass(frozen=True, eq=False)
class MatMul(Op):
    """``x K`` with ``K`` of shape (in, out): output unit j is the input times column j.
    ``transposed``: the array is stored (out, in), as PyTorch's ``Linear`` and ONNX's
    ``Gemm(transB=1)`` store it, and the op is ``x Kᵀ``: output unit j uses row j."""

    kernel: Param
    transposed: bool = False
    rowwise = True
    affine = True

    @cached_property
    def in_out(self) -> Param:
        """The matrix the input is multiplied by, of shape (in, out): the kernel, or its
        transpose (one object per op, so that backends convert it once)."""
        k = self.kernel
        if not self.transposed:
            return k
        return Param(k.name, k.symbol, np.ascontiguousarray(np.swapaxes(k.value, -1, -2)),
                     k.trainable, k.meaning, k.weight)

    def formula(self, x: Any) -> Any:
        return x * (self.kernel.symbol.T if self.transposed else self.kernel.symbol)

    def forward(self, backend: Any, x: Any) -> Any:
        return backend.matmul_weight(x, self.in_out)

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(shapes[0][:-1]) + (int(self.in_out.shape[-1]),)

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return int(self.in_out.shape[0]) * (sizes[0] + 2)

    def as_affine(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        kernel = np.asarray(self.in_out.value, np.float64)
        return kernel, np.zeros(kernel.shape[1])

    def scaled(self, scale: np.ndarray) -> MatMul:
        """The product with output unit j multiplied by ``scale[j]`` (float64)."""
        k = self.kernel
        value = np.asarray(k.value, np.float64)
        value = value * scale[:, None] if self.transposed else value * scale
        return MatMul(Param(k.name, k.symbol, value, k.trainable, k.meaning), self.transposed)

    def mistakes(self, *, last: bool = False, batch: int | None = None) -> tuple[Rewrite, ...]:
        k = self.kernel
        if k.value.ndim != 2 or k.value.shape[0] != k.value.shape[1]:
            return ()
        if self.transposed:
            return (Rewrite("transposed_kernel", "the weight of {layer} was used without its "
                            "transpose: PyTorch computes x·Wᵀ with W of shape (out, in), so "
                            "output unit j uses row j of W.", MatMul(k, transposed=False)),)
        flipped = Param(k.name, k.symbol, np.ascontiguousarray(k.value.T), k.trainable,
                        k.meaning, k.weight)
        return (Rewrite("transposed_kernel", "the kernel of {layer} was used transposed: Keras "
                        "computes x·W with W of shape (in, out), so output unit j uses column j.",
                        MatMul(flipped)),)

    def describe(self) -> str:
        n, m = self.in_out.shape[:2]
        return f"x·Kᵀ {n}->{m}" if self.transposed else f"x·K {n}->{m}"

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        x = xs[0]
        n, m = (int(d) for d in self.in_out.shape)
        rows_x, rows_g = x.reshape(-1, n), g.reshape(-1, m)
        if self.transposed:  # K stored (out, in): ∂L/∂K = gᵀ x, ∂L/∂x = g K
            return Grads((backend.matmul_weight(g, self.kernel),),
                         {self.kernel: backend.matmul(rows_g.T, rows_x)})
        kernel = backend.matmul(rows_x.T, rows_g)  # a view: BLAS reads it transposed
        return Grads((backend.matmul_weight(g, transposed(self.kernel)),),
                     {self.kernel: kernel})

    def backward_mistakes(self, *, learning_rate: float | None = None
                          ) -> tuple[Rewrite, ...]:
        from .backward_mistakes import OuterProductTransposed, UpdatedWeightsForDelta

        out = []
        k = self.kernel
        if k.value.ndim == 2 and min(k.value.shape) > 1:
            shown = "δᵀ x" if not self.transposed else "xᵀ δ"
            right = "xᵀ δ (in × out, shaped like W)" if not self.transposed else (
                "δᵀ x (out × in, shaped like W)")
            out.append(Rewrite("outer_product_transposed", f"the gradient of the kernel of "
                               f"{{layer}} was written transposed: ∂L/∂W = {right}, not "
                               f"{shown}.", OuterProductTransposed(k, self.transposed)))
        if learning_rate:
            out.append(Rewrite("updated_weights_for_delta", "the δ of the layer before "
                               "{layer} was computed with the weights of {layer} after the "
                               "step, δ (W − η ∂L/∂W)ᵀ: backpropagation uses the weights of the "
                               "forward pass, δ Wᵀ, and every weight is updated after it.",
                               UpdatedWeightsForDelta(k, self.transposed,
                                                      float(learning_rate))))
        return tuple(out)

    def backward_formula(self, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        k = self.kernel.symbol
        if self.transposed:
            return Grads((g * k,), {self.kernel: g.T * xs[0]})
        return Grads((g * k.T,), {self.kernel: xs[0].T * g})


@dataclass(frozen=True, eq=False)
class BiasAdd(Op):
    """``+ b``: one offset per unit of the last axis."""

    bias: Param
    rowwise = True
    affine = True
    entrywise = True

    def formula(self, x: Any) -> Any:
        return x + broadcast_row(self.bias.symbol, x.shape[0])

    def forward(self, backend: Any, x: Any) -> Any:
        return x + backend.weight(self.bias)

    def as_diagonal(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        return np.ones(n), np.asarray(self.bias.value, np.float64).reshape(-1)

    def mistakes(self, *, last: bool = False, batch: int | None = None) -> tuple[Rewrite, ...]:
        return (Rewrite("bias_omitted", "the bias of {layer} was left out: add b after x·W.",
                        Identity("the bias left out")),)

    def describe(self) -> str:
        return f"+ b ({self.bias.size})"

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        return Grads((g,), {self.bias: unbroadcast(g, self.bias.shape)})

    def backward_formula(self, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        rows = int(g.shape[0])
        return Grads((g,), {self.bias: g if rows == 1 else sp.OneMatrix(1, rows) * g})


@dataclass(frozen=True, eq=False)
class Affine(Op):
    """``x W + b`` on vectors, in float64: what the simplification passes make of affine ops.
    ``origin`` names the layers it came from."""

    weight: np.ndarray
    bias: np.ndarray
    origin: tuple[str, ...] = ()
    batchnorm: bool = False
    affine = True

    def formula(self, x: Any) -> Any:
        n, m = self.weight.shape
        w = sp.MatrixSymbol("W'", n, m)
        return x * w + sp.MatrixSymbol("b'", 1, m)

    def forward(self, backend: Any, x: Any) -> Any:
        flat = x.reshape(x.shape[0], -1)
        return backend.matmul_weight(flat, self.weight) + backend.weight(self.bias)

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        return (int(self.weight.shape[1]),)

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return int(self.weight.shape[0]) * (sizes[0] + 2) + 2

    def as_affine(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        return self.weight, self.bias

    def describe(self) -> str:
        n, m = self.weight.shape
        return f"affine {n}->{m} ({' + '.join(self.origin)})"

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        x = xs[0]
        dx = backend.matmul_weight(g.reshape(g.shape[0], -1), transposed(self.weight))
        return Grads((dx.reshape(x.shape),))


@dataclass(frozen=True, eq=False)
class Rescale(Op):
    """``scale · x + offset`` (Keras ``Rescaling``; also a dropout scaled at inference). Scale
    and offset are numbers, or arrays (:class:`Param`) broadcast over the sample."""

    scale: float | Param
    offset: float | Param = 0.0
    sample_shape: tuple[int, ...] = ()
    rowwise = True
    affine = True
    entrywise = True

    def _term(self, value: float | Param, x: Any) -> Any:
        if isinstance(value, Param):
            return spread(value.symbol, value.shape, self.sample_shape)
        return number(value)

    def formula(self, x: Any) -> Any:
        scale = self._term(self.scale, x)
        out = sp.HadamardProduct(scale, x) if isinstance(self.scale, Param) else scale * x
        if isinstance(self.offset, Param):
            out = out + self._term(self.offset, x)
        elif self.offset:
            out = out + number(self.offset) * sp.OneMatrix(*x.shape)
        return out

    def _value(self, backend: Any, value: float | Param) -> Any:
        return backend.weight(value) if isinstance(value, Param) else backend.const(value)

    def forward(self, backend: Any, x: Any) -> Any:
        return x * self._value(backend, self.scale) + self._value(backend, self.offset)

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return sizes[0] + 4

    def as_diagonal(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        def values(v: float | Param) -> np.ndarray:
            array = np.asarray(v.value if isinstance(v, Param) else v, np.float64)
            return np.broadcast_to(array.reshape(-1) if array.ndim else array, (n,)).copy()

        return values(self.scale), values(self.offset)

    def mistakes(self, *, last: bool = False, batch: int | None = None) -> tuple[Rewrite, ...]:
        return (Rewrite("normalization_omitted", f"the rescaling of {{layer}} "
                        f"({self.describe()}) was left out: the inputs are rescaled before "
                        "the next layer.", Identity("the rescaling left out")),)

    def describe(self) -> str:
        def shown(v: float | Param) -> str:
            return str(v.symbol) if isinstance(v, Param) else f"{v:g}"

        return f"{shown(self.scale)}·x + {shown(self.offset)}"

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        params: dict[Param, Any] = {}
        if isinstance(self.scale, Param):
            params[self.scale] = unbroadcast(g * xs[0], self.scale.shape)
        if isinstance(self.offset, Param):
            params[self.offset] = unbroadcast(g, self.offset.shape)
        return Grads((g * self._value(backend, self.scale),), params)

    def backward_formula(self, xs: tuple[Any, ...], y: Any, g: Any) -> Grads | None:
        if isinstance(self.scale, Param):
            return None
        return Grads((number(self.scale) * g,))
