"""How a hand calculation of backpropagation gets an op wrong: each mistake is the op itself,
with the same forward pass and the backward pass the student computed.

These are what :meth:`symnet.ops.Op.backward_mistakes` returns, wrapped in a
:class:`~symnet.ops.Rewrite`; the catalogue of backpropagation mistakes
(:mod:`symnet.homework.backprop`) runs the backward pass with them in place. Each is a subclass
of the op it rewrites, so that whatever reads the op (the loss fused with a final softmax, the
δ taken at the input of an activation) still sees it.

- :class:`DerivativeForgotten`: ``δ = g``, the activation's derivative ``f′(z)`` left out.
- :class:`DerivativeAtOutput`: ``δ = g ⊙ f′(h)``, the derivative taken at the activation's output
  ``h = f(z)`` instead of its input (``σ′(h) = a(1 − a)`` with ``a = σ(h)``, not the sigmoid's
  output).
- :class:`SoftmaxJacobianDropped`: ``δ = g``, the softmax's Jacobian left out.
- :class:`SoftmaxDiagonal`: ``δ = g ⊙ ŷ ⊙ (1 − ŷ)``, the softmax differentiated entry by entry as
  a sigmoid is, its Jacobian's off-diagonal terms ``−ŷᵢŷⱼ`` dropped.
- :class:`OuterProductTransposed`: ``∂L/∂W = δᵀ x`` written in the boxes of ``xᵀ δ``.
- :class:`UpdatedWeightsForDelta`: δ propagated to the layer before through the weights *after*
  the step, ``δ (W − η ∂L/∂W)ᵀ``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .activations import Elementwise, Softmax
from .base import Grads
from .linear import MatMul

__all__ = ["DerivativeAtOutput", "DerivativeForgotten", "OuterProductTransposed",
           "SoftmaxDiagonal", "SoftmaxJacobianDropped", "UpdatedWeightsForDelta"]


@dataclass(frozen=True, eq=False)
class DerivativeForgotten(Elementwise):
    """The activation with its derivative left out of δ: ``∂L/∂z = ∂L/∂h``."""

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        return Grads((g,))


@dataclass(frozen=True, eq=False)
class DerivativeAtOutput(Elementwise):
    """The activation's derivative taken at its output: ``∂L/∂z = ∂L/∂h ⊙ f′(h)``."""

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        from .derivatives import derivative

        return Grads((g * backend.map(derivative(self.fn), y),))


@dataclass(frozen=True, eq=False)
class SoftmaxJacobianDropped(Softmax):
    """The softmax with its Jacobian left out: ``∂L/∂z = ∂L/∂ŷ``."""

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        return Grads((g,))


@dataclass(frozen=True, eq=False)
class SoftmaxDiagonal(Softmax):
    """The softmax differentiated entry by entry: ``∂L/∂z = ∂L/∂ŷ ⊙ ŷ ⊙ (1 − ŷ)``."""

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        return Grads((g * y * (backend.const(1) - y),))


@dataclass(frozen=True, eq=False)
class OuterProductTransposed(MatMul):
    """``x K`` with the kernel's gradient transposed: ``δᵀ x`` (out × in) read row by row into
    the kernel's (in × out) boxes."""

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        right = super().backward(backend, xs, y, g)
        shape = self.kernel.shape
        grad = np.asarray(right.params[self.kernel]).reshape(shape)
        flipped = np.ascontiguousarray(np.swapaxes(grad, -1, -2)).reshape(shape)
        return Grads(right.inputs, {self.kernel: flipped})


@dataclass(frozen=True, eq=False)
class UpdatedWeightsForDelta(MatMul):
    """``x K``, its δ passed to the layer before through the kernel after one step of gradient
    descent at ``rate``: ``∂L/∂x = δ (K − rate ∂L/∂K)ᵀ`` (the kernel's own gradient is
    right)."""

    rate: float = 0.0

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        right = super().backward(backend, xs, y, g)
        grad = np.asarray(right.params[self.kernel]).reshape(self.kernel.shape)
        new = backend.weight(self.kernel) - grad * backend.const(self.rate)
        m = int(self.in_out.shape[1])
        # x Kᵀ (a kernel stored (out, in)): ∂L/∂x = g K; x K: ∂L/∂x = g Kᵀ
        by = new if self.transposed else np.ascontiguousarray(np.swapaxes(new, -1, -2))
        rows = backend.matmul(np.asarray(g).reshape(-1, m), by)
        return Grads((rows.reshape(np.shape(xs[0])),), right.params)
