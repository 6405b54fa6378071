"""Activations: an elementwise function, softmax along an axis, PReLU; and Keras' activation
names, each mapped to the op it is."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import sympy as sp

from .. import functions as fx
from ..functions import T, number
from .base import Grads, Op, Param, Rewrite, broadcast_row, unbroadcast
from .shape import Identity

__all__ = ["ACTIVATIONS", "Elementwise", "Fn", "PReLU", "Softmax", "celu_fn", "elu_fn",
           "elementwise", "leaky_relu_fn", "relu_fn"]


@dataclass(frozen=True)
class Fn:
    """One elementwise function with its options: ``Fn(ReLU, (6, 0, 0))`` is relu6."""

    func: type[fx.Activation]
    options: tuple[Any, ...] = ()
    name: str = ""
    """What Keras calls it (``relu``, ``leaky_relu``...), for messages and reports."""

    def sympy(self, t: Any) -> Any:
        """The function at ``t`` (exact on rationals when piecewise linear)."""
        return self.func(t, *self.options)

    def textbook(self, t: Any) -> Any:
        """As formulas show it: ``Max(0, t)`` for the ReLU family, the named function else."""
        return self.func.textbook(t, *self.options)

    def numpy(self, x: np.ndarray) -> np.ndarray:
        """Keras' float arithmetic, in the dtype of ``x``."""
        return self.func.numeric(x, *self._floats)

    @cached_property
    def _floats(self) -> tuple[float, ...]:
        return tuple(float(o) for o in self.options)

    @property
    def piecewise_linear(self) -> bool:
        return self.func.piecewise_linear

    @cached_property
    def exact_kinks(self) -> tuple[Any, ...]:
        return tuple(self.func.kinks(*self.options))

    @cached_property
    def kinks(self) -> tuple[float, ...]:
        return tuple(float(k) for k in self.exact_kinks)

    @cached_property
    def key(self) -> str:
        """A name that spells the options: ``relu``, ``relu[max_value=1.5]``..."""
        if not self.options or self.name in ("relu6",):
            return self.name or self.func.__name__.lower()
        keys = self.func.option_keys or ("option",) * len(self.options)
        defaults = self.func.defaults or (None,) * len(self.options)
        shown = [f"{k}={float(v)!r}" for k, v, d in zip(keys, self.options, defaults) if v != d]
        return f"{self.name}[{', '.join(shown)}]"

    def definition(self) -> sp.Lambda:
        """The function as a SymPy ``Lambda`` of ``t``, as formulas show it."""
        return sp.Lambda(T, self.textbook(T))

    @cached_property
    def growth(self) -> tuple[int, int]:
        """(nodes of the textbook formula, uses of ``t`` in it): the closed form's growth."""
        body = self.textbook(T)
        nodes = sum(1 for _ in sp.preorder_traversal(body))
        uses = sum(1 for node in sp.preorder_traversal(body) if node == T)
        return nodes, max(uses, 1)


def relu_fn(negative_slope: float = 0.0, max_value: float | None = None,
            threshold: float = 0.0) -> Fn:
    """Keras ``ReLU`` with its three options."""
    options = (sp.oo if max_value is None else number(max_value), number(negative_slope),
               number(threshold))
    if options == fx.ReLU.defaults:
        return Fn(fx.ReLU, name="relu")
    name = "relu6" if options == (6, 0, 0) else "relu"
    return Fn(fx.ReLU, options, name)


def leaky_relu_fn(negative_slope: float) -> Fn:
    return Fn(fx.LeakyReLU, (number(negative_slope),), "leaky_relu")


def elu_fn(alpha: float = 1.0) -> Fn:
    return Fn(fx.ELU, () if float(alpha) == 1.0 else (number(alpha),), "elu")


def celu_fn(alpha: float = 1.0) -> Fn:
    return Fn(fx.CELU, () if float(alpha) == 1.0 else (number(alpha),), "celu")


@dataclass(frozen=True, eq=False)
class Elementwise(Op):
    """``fn`` on every entry. ``fixed`` (set by pruning) holds, per unit, the slope and
    intercept of the piece a unit is known to stay on (``NaN``: the unit keeps ``fn``)."""

    fn: Fn
    fixed: tuple[np.ndarray, np.ndarray] | None = None
    rowwise = True
    entrywise = True
    is_activation = True

    @property
    def piecewise_linear(self) -> bool:
        return self.fn.piecewise_linear

    def formula(self, x: Any) -> Any:
        return fx.Entrywise(self.fn.definition(), x)

    def forward(self, backend: Any, x: Any) -> Any:
        out = backend.map(self.fn, x)
        if self.fixed is not None:
            slope, intercept = self.fixed
            out = np.where(np.isnan(slope), out, np.nan_to_num(slope) * x
                           + np.nan_to_num(intercept))
        return out

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        nodes, uses = self.fn.growth
        return uses * sizes[0] + (nodes - uses)

    def mistakes(self, *, last: bool = False, batch: int | None = None) -> tuple[Rewrite, ...]:
        name = self.fn.name or self.fn.key
        if last and self.fn.func is fx.Sigmoid:
            return (Rewrite("logits_not_probabilities", f"the {name} of {{layer}} was not "
                            "applied: these are the logits, not the probabilities the network "
                            "outputs.", Identity("the activation left out")),)
        return (Rewrite("missing_activation", f"the {name} activation of layer {{layer}} was "
                        "forgotten: apply it to the layer's values before the next layer.",
                        Identity("the activation left out")),
                *_pre_activation(name, last))

    def describe(self) -> str:
        shown = self.fn.key
        if self.fixed is not None:
            shown += f", {int(np.sum(~np.isnan(self.fixed[0])))} units affine"
        return shown

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        from .derivatives import derivative

        x = xs[0]
        slope = backend.map(derivative(self.fn), x)
        if self.fixed is not None:
            fixed = self.fixed[0]
            kept = np.broadcast_to(np.isnan(fixed), slope.shape)
            slope = np.where(kept, slope, np.broadcast_to(backend.weight(np.nan_to_num(fixed)),
                                                          slope.shape))
        return Grads((g * slope,))

    def backward_formula(self, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        return Grads((sp.HadamardProduct(g, self.derivative_formula(xs[0])),))

    def backward_mistakes(self, *, learning_rate: float | None = None
                          ) -> tuple[Rewrite, ...]:
        from .backward_mistakes import DerivativeAtOutput, DerivativeForgotten

        name = self.fn.name or self.fn.key
        out = [Rewrite("derivative_forgotten", f"the derivative of the {name} of {{layer}} "
                       f"was left out of its δ: δ = ∂L/∂h ⊙ {name}′(z), z the values before "
                       f"the {name}.", DerivativeForgotten(self.fn, self.fixed))]
        if not (self.fn.func is fx.LeakyReLU or (self.fn.func is fx.ReLU
                                                  and not self.fn.options)):
            # (a ReLU's or a leaky ReLU's f′(h) is f′(z): h > 0 exactly where z > 0)
            shortcut = (" (σ′(z) = h(1 − h) with h = σ(z) the layer's output, not σ(h)(1 − "
                        "σ(h)))" if self.fn.func is fx.Sigmoid else
                        " (tanh′(z) = 1 − h² with h = tanh(z), not 1 − tanh²(h))"
                        if self.fn.func is fx.Tanh else "")
            out.append(Rewrite("derivative_at_output", f"the derivative of the {name} of "
                               f"{{layer}} was taken at its output h instead of its input z: "
                               f"δ = ∂L/∂h ⊙ {name}′(z){shortcut}.",
                               DerivativeAtOutput(self.fn, self.fixed)))
        return tuple(out)

    def derivative_formula(self, z: Any) -> Any:
        """``f'(z)`` entry by entry, as formulas show it (``σ'(z_1)``)."""
        from .derivatives import derivative

        return fx.Entrywise(sp.Lambda(T, derivative(self.fn).sympy(T)), z)


@dataclass(frozen=True, eq=False)
class Softmax(Op):
    """``softmax`` (or ``log_softmax``) along the last axis."""

    log: bool = False
    axis: int = -1
    """The per-sample axis it normalises along."""
    sample_shape: tuple[int, ...] = ()
    is_activation = True

    @property
    def rowwise(self) -> bool:  # type: ignore[override]
        return self._axis() is None

    def _axis(self) -> int | None:
        """The axis when it is not the last one."""
        rank = len(self.sample_shape)
        return None if not rank or self.axis % rank == rank - 1 else self.axis % rank

    def formula(self, x: Any) -> Any:
        axis = self._axis()
        if axis is not None:
            return fx.AlongAxes(x, "log_softmax" if self.log else "softmax", (axis,),
                                self.sample_shape)
        return fx.LogSoftmax(x) if self.log else fx.Softmax(x)

    def forward(self, backend: Any, x: Any) -> Any:
        axis = self._axis()
        return backend.softmax(x, -1 if axis is None else axis + 1, self.log)

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        axis = self._axis()
        width = shapes[0][axis if axis is not None else -1] if shapes[0] else 1
        return (width + 1) * (sizes[0] + 3)

    def mistakes(self, *, last: bool = False, batch: int | None = None) -> tuple[Rewrite, ...]:
        name = "log_softmax" if self.log else "softmax"
        if last:
            wrong = (Rewrite("logits_not_probabilities", f"the {name} of {{layer}} was not "
                             "applied: these are the logits, not the probabilities the network "
                             "outputs.", Identity("the softmax left out")),)
            if self.log:
                return wrong
            return (*wrong, Rewrite(
                "sigmoid_for_softmax", "a sigmoid was applied to each output of {layer} in "
                "place of the softmax: softmax(z)_i = exp(z_i) / Σ_j exp(z_j), so that the "
                "outputs sum to 1.", Elementwise(Fn(fx.Sigmoid, name="sigmoid"))))
        return (Rewrite("missing_activation", f"the {name} activation of layer {{layer}} was "
                        "forgotten: apply it to the layer's values before the next layer.",
                        Identity("the softmax left out")),
                *_pre_activation(name, last))

    def describe(self) -> str:
        return "log_softmax" if self.log else "softmax"

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        axis = self._axis()
        axis = -1 if axis is None else axis + 1
        if self.log:  # TensorFlow's LogSoftmaxGrad: g − softmax(x) Σ g
            total = _sum(g, axis)
            return Grads((g - backend.softmax(xs[0], axis) * total,))
        return Grads(((g - _sum(g * y, axis)) * y,))  # SoftmaxGrad: (g − Σ g ⊙ y) ⊙ y

    def backward_mistakes(self, *, learning_rate: float | None = None
                          ) -> tuple[Rewrite, ...]:
        if self.log:
            return ()
        from .backward_mistakes import SoftmaxDiagonal, SoftmaxJacobianDropped

        return (Rewrite("softmax_jacobian_dropped", "the softmax's derivative was left out of "
                        "the δ of {layer}: δ = ∂L/∂ŷ multiplied by the softmax's Jacobian "
                        "diag(ŷ) − ŷᵀŷ (with cross-entropy, δ = ŷ − t).",
                        SoftmaxJacobianDropped(self.log, self.axis, self.sample_shape)),
                Rewrite("softmax_not_simplified", "the softmax of {layer} was differentiated "
                        "entry by entry, ŷᵢ(1 − ŷᵢ), as a sigmoid is: its Jacobian diag(ŷ) − ŷᵀŷ "
                        "also has −ŷᵢŷⱼ off the diagonal (with cross-entropy, δ simplifies to "
                        "ŷ − t).", SoftmaxDiagonal(self.log, self.axis, self.sample_shape)))

    def backward_formula(self, xs: tuple[Any, ...], y: Any, g: Any) -> Grads | None:
        if self._axis() is not None or self.log:
            return None
        # (g − (g ⊙ y) 1 1^T) ⊙ y: each row's Σ_j g_j y_j subtracted from every entry
        cols = int(g.shape[1])
        total = sp.HadamardProduct(g, y) * sp.OneMatrix(cols, cols)
        return Grads((sp.HadamardProduct(g - total, y),))


_RELU = relu_fn()


@dataclass(frozen=True, eq=False)
class PReLU(Op):
    """``max(0, x) − α ⊙ max(0, −x)``: a learned slope for negative inputs, per unit."""

    alpha: Param
    entrywise = True
    is_activation = True
    affine = False

    @property
    def piecewise_linear(self) -> bool:
        return True

    def formula(self, x: Any) -> Any:
        rows, cols = (int(d) for d in x.shape)
        a_rows, a_cols = (int(d) for d in self.alpha.symbol.shape)
        if (a_rows, a_cols) == (rows, cols):
            slope: Any = self.alpha.symbol
        elif (a_rows, a_cols) == (1, cols):
            slope = broadcast_row(self.alpha.symbol, rows)
        else:
            slope = self.alpha.symbol * sp.OneMatrix(1, cols)
        relu = _RELU.definition()
        return fx.Entrywise(relu, x) - sp.HadamardProduct(
            slope, fx.Entrywise(relu, -x))

    def forward(self, backend: Any, x: Any) -> Any:
        return backend.map(_RELU, x) - backend.weight(self.alpha) * backend.map(_RELU, -x)

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return 2 * sizes[0] + 8

    def mistakes(self, *, last: bool = False, batch: int | None = None) -> tuple[Rewrite, ...]:
        return (Rewrite("missing_activation", "the PReLU activation of layer {layer} was "
                        "forgotten: apply it to the layer's values before the next layer.",
                        Identity("the activation left out")),
                *_pre_activation("prelu", last))

    def describe(self) -> str:
        return "prelu"

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        from .derivatives import derivative

        x = xs[0]
        relu_prime = derivative(_RELU)
        alpha = backend.weight(self.alpha)
        dx = g * (backend.map(relu_prime, x) + alpha * backend.map(relu_prime, -x))
        return Grads((dx,), {self.alpha: unbroadcast(-(g * backend.map(_RELU, -x)),
                                                     self.alpha.shape)})


def _sum(x: Any, axis: int) -> Any:
    """The sum along ``axis``, kept (length 1), in the array's own arithmetic."""
    if x.dtype != object:
        return x.sum(axis=axis, keepdims=True)
    moved = np.moveaxis(x, axis, -1)
    out = np.empty(moved.shape[:-1] + (1,), dtype=object)
    for index in np.ndindex(*moved.shape[:-1]):
        terms = list(moved[index])
        out[index + (0,)] = sum(terms[1:], terms[0]) if terms else 0
    return np.moveaxis(out, -1, axis)


def _pre_activation(name: str, last: bool) -> tuple[Rewrite, ...]:
    """The values before the activation written as the layer's output, the next layer
    computed from the right ones (at the output this is the activation forgotten)."""
    if last:
        return ()
    return (Rewrite("pre_activation_as_output", f"the values written for layer {{layer}} are "
                    f"before its {name}: the layer's output is the {name} of them.",
                    Identity("the pre-activation written as the output"),
                    reported_only=True),)


def elementwise(fn: Fn | None) -> Op | None:
    return None if fn is None else Elementwise(fn)


#: Keras activation name -> the op it is (``None``: ``linear``, the identity). Names that Keras
#: has but that are absent here (``glu``, ``sparsemax``, ``threshold``) are refused by name.
ACTIVATIONS: dict[str, Op | None] = {
    "linear": None,
    "relu": Elementwise(_RELU),
    "relu6": Elementwise(relu_fn(max_value=6.0)),
    "leaky_relu": Elementwise(leaky_relu_fn(0.2)),
    "elu": Elementwise(elu_fn(1.0)),
    "celu": Elementwise(celu_fn(1.0)),
    "selu": Elementwise(Fn(fx.SELU, name="selu")),
    "softmax": Softmax(),
    "log_softmax": Softmax(log=True),
    "sigmoid": Elementwise(Fn(fx.Sigmoid, name="sigmoid")),
    "hard_sigmoid": Elementwise(Fn(fx.HardSigmoid, name="hard_sigmoid")),
    "tanh": Elementwise(Fn(fx.Tanh, name="tanh")),
    "softplus": Elementwise(Fn(fx.Softplus, name="softplus")),
    "softsign": Elementwise(Fn(fx.Softsign, name="softsign")),
    "silu": Elementwise(Fn(fx.SiLU, name="silu")),
    "swish": Elementwise(Fn(fx.SiLU, name="silu")),
    "gelu": Elementwise(Fn(fx.GELU, name="gelu")),
    "exponential": Elementwise(Fn(fx.Exponential, name="exponential")),
    "mish": Elementwise(Fn(fx.Mish, name="mish")),
    "hard_silu": Elementwise(Fn(fx.HardSiLU, name="hard_silu")),
    "hard_swish": Elementwise(Fn(fx.HardSiLU, name="hard_silu")),
    "log_sigmoid": Elementwise(Fn(fx.LogSigmoid, name="log_sigmoid")),
    "hard_tanh": Elementwise(Fn(fx.HardTanh, name="hard_tanh")),
    "squareplus": Elementwise(Fn(fx.SquarePlus, name="squareplus")),
    "sparse_plus": Elementwise(Fn(fx.SparsePlus, name="sparse_plus")),
    "sparse_sigmoid": Elementwise(Fn(fx.SparseSigmoid, name="sparse_sigmoid")),
    "soft_shrink": Elementwise(Fn(fx.SoftShrink, name="soft_shrink")),
    "hard_shrink": Elementwise(Fn(fx.HardShrink, name="hard_shrink")),
    "tanh_shrink": Elementwise(Fn(fx.TanhShrink, name="tanh_shrink")),
}
