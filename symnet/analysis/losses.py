"""Losses: Keras' own (by name, with Keras' semantics) and formulas of ``y`` and ``t``.

A Keras loss is a mean over the last axis of each output, then over the batch (Keras'
``sum_over_batch_size``: the per-sample losses summed and divided by how many there are).
Its gradient follows TensorFlow: the crossentropies clip probabilities to ``[ε, 1 − ε]`` with
Keras' ``ε = 1e-7`` (the gradient is 0 where the clip bites) — except when the output comes
straight from a sigmoid or a softmax: Keras then computes the loss from their logits (whichever
of the two made them, :meth:`Loss.fuses`), and its gradient with respect to the logits is
``ŷ − t`` (the textbook's simplification of softmax + crossentropy).

A formula such as ``"(t - y)^2/2"`` is read by the safe parser, never evaluated as Python,
applied to every output entry with its target, and **summed** over the outputs and the
samples: the textbook ``E = Σ ½ (t − y)²``. Its derivative is SymPy's, with TensorFlow's
conventions at a kink (``Heaviside(0) = 0`` as for ``ReLU'(0)``, ``sign(0) = 0``).

Every computation runs on a backend (float32, float64, exact, symbolic), as the ops do.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from ..errors import InvalidInputError
from ..functions import Exponential, Sigmoid
from ..functions.activations import Activation
from ..homework.parse import parse_formula  # the one import of the safe parser
from ..ops import Elementwise, Fn, Softmax
from ..ops.derivatives import greater

__all__ = ["KERAS_LOSSES", "EPSILON", "LOSS_MISTAKES", "Loss", "LossResult", "loss_of"]

#: Keras' ``backend.epsilon()``: where the crossentropies clip probabilities.
EPSILON = 1e-7

#: Loss names Keras accepts -> the canonical name.
KERAS_LOSSES = {
    "mse": "mean_squared_error", "mean_squared_error": "mean_squared_error",
    "MeanSquaredError": "mean_squared_error",
    "mae": "mean_absolute_error", "mean_absolute_error": "mean_absolute_error",
    "MeanAbsoluteError": "mean_absolute_error",
    "binary_crossentropy": "binary_crossentropy", "BinaryCrossentropy": "binary_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "CategoricalCrossentropy": "categorical_crossentropy",
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
    "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
}

#: The variables of a loss formula: an output and its target.
Y, T = sp.Symbol("y", real=True), sp.Symbol("t", real=True)



class _Log(Activation):
    """``log``, for the backends to map (exact: evaluated to 50 digits). Not an activation."""

    nargs = 1
    alias = True

    @classmethod
    def definition(cls, t: Any) -> Any:
        return sp.log(t)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.log(x)


_SIGMOID = Fn(Sigmoid, name="sigmoid")
_LOG = Fn(_Log, name="log")
_EXP = Fn(Exponential, name="exp")


@dataclass(frozen=True, eq=False)
class Loss:
    """A loss: a Keras name or a formula of ``y`` and ``t``."""

    name: str
    """The canonical Keras name, or the formula as given."""
    formula: sp.Expr | None = None
    """For a formula loss: the loss of one entry, in ``y`` and ``t``."""
    derivative: sp.Expr | None = field(default=None, repr=False)
    """``∂/∂y`` of ``formula`` (TensorFlow's conventions at kinks)."""
    mistake: str = ""
    """A hand calculation's mistake on the loss (:data:`LOSS_MISTAKES`): ``sign`` (the
    derivative's sign flipped), ``double`` (the ½ of ½(t − y)² dropped: value and derivative
    doubled), ``half`` (the 2 of the square's derivative dropped), ``mean`` (the sum taken for
    the mean: value and derivative times the count)."""
    unfused: bool = False
    """A hand calculation of a crossentropy that goes through the final sigmoid or softmax
    rather than simplifying to ``ŷ − t``: ``∂L/∂ŷ`` as the textbook writes it (``−t/ŷ``, no
    clipping), then the activation's own backward pass."""

    @property
    def keras(self) -> bool:
        return self.formula is None

    @property
    def sparse(self) -> bool:
        return self.name == "sparse_categorical_crossentropy"

    def fuses(self, op: Any) -> bool:
        """Whether Keras computes this loss from the logits of an output made by ``op``.

        Keras' sigmoid and softmax keep their input on their output (``_keras_logits``), and
        each crossentropy then uses those logits whichever of the two made them: a
        ``binary_crossentropy`` of a softmax output is the sigmoid crossentropy of the
        softmax's input, a ``categorical_crossentropy`` of a sigmoid output the softmax
        crossentropy of the sigmoid's input (along the last axis). symnet computes what
        Keras computes."""
        if self.unfused or self.name not in ("binary_crossentropy", "categorical_crossentropy",
                                             "sparse_categorical_crossentropy"):
            return False
        if isinstance(op, Elementwise):
            return op.fn.func is Sigmoid and op.fixed is None
        return isinstance(op, Softmax) and not op.log

    def describe(self) -> str:
        return self.name if self.keras else f"Σ {self.name} over the outputs and samples"

    @property
    def factor_two(self) -> str | None:
        """How the factor 2 of a squared error is got wrong: ``double`` (a loss ½(t − y)²
        whose ½ is dropped), ``half`` (a square (t − y)², or Keras' mean squared error, whose
        derivative's 2 is dropped), ``None`` (no square)."""
        if self.keras:
            return "half" if self.name == "mean_squared_error" else None
        coeff, rest = self.formula.as_coeff_Mul()  # type: ignore[union-attr]
        if not (isinstance(rest, sp.Pow) and rest.exp == 2):
            return None
        if coeff == sp.Rational(1, 2) or float(coeff) == 0.5:
            return "double"
        return "half" if coeff == 1 else None

    def mean_count(self, shape: tuple[int, ...]) -> int:
        """What the loss divides by for an output of batch shape ``shape`` (a formula loss is
        a sum: 1)."""
        if not self.keras:
            return 1
        per_sample = int(math.prod(shape[:-1]))
        if self.name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
            return per_sample
        return per_sample * int(shape[-1])


@dataclass(frozen=True, eq=False)
class LossResult:
    """The loss on a batch and its gradient with respect to each output (or, when
    :attr:`fused`, to the logits of the output's sigmoid or softmax)."""

    value: Any
    gradients: tuple[Any, ...]
    fused: tuple[bool, ...]
    count: int
    """What a Keras loss divides by (per-sample losses); 1 for a formula."""


def loss_of(loss: Any) -> Loss:
    """A :class:`Loss` from a Keras name or a formula string; ``InvalidInputError`` else."""
    if isinstance(loss, Loss):
        return loss
    if not isinstance(loss, str):
        raise InvalidInputError(f"loss must be a Keras loss name or a formula of y and t, "
                                f"received {type(loss).__name__}")
    return _loss_of(loss)


@functools.lru_cache(maxsize=256)
def _loss_of(loss: str) -> Loss:
    name = KERAS_LOSSES.get(loss.strip())
    if name is not None:
        return Loss(name)
    text = loss.strip()
    if text.isidentifier() and text not in ("y", "t"):
        names = ", ".join(sorted(set(KERAS_LOSSES.values())))
        raise InvalidInputError(
            f"unknown loss {text!r}: expected a Keras loss name ({names}, or mse, mae) or a "
            "formula of y (an output) and t (its target) such as \"(t - y)^2/2\"")
    expr = parse_formula(text, [Y, T])
    if Y not in expr.free_symbols:
        raise InvalidInputError(f"the loss formula {text!r} does not depend on y (the output)")
    derivative = sp.diff(expr, Y)
    # TensorFlow's conventions at a kink: a step is 0 there (ReLU'(0) = 0), as is sign(0).
    derivative = derivative.replace(lambda e: isinstance(e, sp.Heaviside),
                                    lambda e: sp.Heaviside(e.args[0], 0))
    return Loss(text, expr, derivative)


def _log(backend: Any, x: Any) -> Any:
    return backend.map(_LOG, x)


def _mean_last(backend: Any, x: Any) -> Any:
    """The mean over the last axis, that axis removed."""
    return backend.mean(x, -1)[..., 0]


def _total(x: Any) -> Any:
    flat = list(np.asarray(x, dtype=object).reshape(-1)) if x.dtype == object else None
    if flat is None:
        return x.sum()
    return sum(flat[1:], flat[0]) if flat else 0


def compute(loss: Loss, backend: Any, outputs: list[Any], logits: list[Any | None],
            targets: list[Any]) -> LossResult:
    """The loss and its gradients on ``backend``. ``logits[k]``: the input of output k's
    final sigmoid or softmax when :meth:`Loss.fuses` it, else ``None``."""
    value: Any = None
    grads: list[Any] = []
    fused: list[bool] = []
    count = 1
    for y, z, t in zip(outputs, logits, targets):
        if loss.keras:
            v, g, f, count = _keras(loss.name, backend, y, z, t, loss.unfused)
        else:
            v, g, f = _formula(loss, backend, y, t), _formula_grad(loss, backend, y, t), False
        if loss.mistake:
            v, g = _mistaken(loss, backend, v, g, y)
        value = v if value is None else value + v
        grads.append(g)
        fused.append(f)
    return LossResult(value, tuple(grads), tuple(fused), count)


#: The mistakes a hand calculation makes on a loss (:attr:`Loss.mistake`).
LOSS_MISTAKES = ("sign", "double", "half", "mean")


def _mistaken(loss: Loss, backend: Any, value: Any, grad: Any, y: Any) -> tuple[Any, Any]:
    """The loss and its gradient as a hand calculation with ``loss.mistake`` finds them."""
    if loss.mistake == "sign":
        return value, -grad
    if loss.mistake == "double":
        return value * backend.const(2), grad * backend.const(2)
    if loss.mistake == "half":
        return value, grad * backend.const(0.5)
    if loss.mistake == "mean":
        count = backend.const(loss.mean_count(tuple(y.shape)))
        return value * count, grad * count
    raise InvalidInputError(f"unknown loss mistake {loss.mistake!r}; known: {LOSS_MISTAKES}")


def _keras(name: str, backend: Any, y: Any, z: Any, t: Any, textbook: bool = False
           ) -> tuple[Any, Any, bool, int]:
    """One output's Keras loss (mean over the per-sample losses) and its gradient.
    ``textbook``: a crossentropy's ``∂L/∂ŷ`` as written by hand (``−t/ŷ``, no clipping)."""
    dtype_object = y.dtype == object
    per_sample = int(math.prod(y.shape[:-1]))  # the per-sample losses: all axes but the last
    width = int(y.shape[-1])
    scale = backend.const(1) / backend.const(per_sample * width) if dtype_object else (
        y.dtype.type(1) / y.dtype.type(per_sample * width))
    one = backend.const(1)
    if name == "mean_squared_error":
        d = y - t
        value = _total(_mean_last(backend, d * d)) / backend.const(per_sample)
        return value, d * (backend.const(2) * scale), False, per_sample
    if name == "mean_absolute_error":
        d = y - t
        sign = greater(backend, d, d * backend.const(0)) - greater(backend, d * backend.const(0),
                                                                     d)
        value = _total(_mean_last(backend, d * sign)) / backend.const(per_sample)
        return value, sign * scale, False, per_sample
    if name == "binary_crossentropy":
        if z is not None:
            # max(z, 0) − z t + log(1 + e^(−|z|)), and its gradient σ(z) − t
            p = backend.map(_SIGMOID, z)
            losses = _binary_logits(backend, z, t)
            value = _total(_mean_last(backend, losses)) / backend.const(per_sample)
            return value, (p - t) * scale, True, per_sample
        p, passes = _clip(backend, y)
        losses = -(t * _log(backend, p) + (one - t) * _log(backend, one - p))
        value = _total(_mean_last(backend, losses)) / backend.const(per_sample)
        grad = -(t / p - (one - t) / (one - p)) * passes
        if textbook:
            grad = -(t / y - (one - t) / (one - y))
        return value, grad * scale, False, per_sample
    if name == "categorical_crossentropy":
        if z is not None:
            softmax = backend.softmax(z, -1)
            log_softmax = backend.softmax(z, -1, log=True)
            value = _total(-_sum_last(t * log_softmax)) / backend.const(per_sample)
            return value, (softmax - t) * scale * backend.const(width), True, per_sample
        total = _sum_last(y, keep=True)
        o = y / total
        p, passes = _clip(backend, o)
        value = _total(-_sum_last(t * _log(backend, p))) / backend.const(per_sample)
        r = -(t / p) * passes  # ∂/∂o, then through o = y / Σ y
        grad = r / total - _sum_last(r * y, keep=True) / (total * total)
        if textbook:
            grad = -(t / y)
        return value, grad * scale * backend.const(width), False, per_sample
    if name == "sparse_categorical_crossentropy":
        onehot = _one_hot(backend, t, y)
        if z is not None:
            softmax = backend.softmax(z, -1)
            log_softmax = backend.softmax(z, -1, log=True)
            value = _total(-_sum_last(onehot * log_softmax)) / backend.const(per_sample)
            return value, (softmax - onehot) * scale * backend.const(width), True, per_sample
        p, passes = _clip(backend, y)
        share = p / _sum_last(p, keep=True)
        value = _total(-_sum_last(onehot * _log(backend, share))) / backend.const(per_sample)
        grad = (share - onehot) / p * passes
        if textbook:
            grad = -(onehot / y)
        return value, grad * scale * backend.const(width), False, per_sample
    raise InvalidInputError(f"unknown Keras loss {name!r}")


def _binary_logits(backend: Any, z: Any, t: Any) -> Any:
    from ..ops import relu_fn

    zero = z * backend.const(0)
    positive = backend.map(relu_fn(), z)
    absolute = positive + backend.map(relu_fn(), zero - z)
    softplus = _log(backend, backend.const(1) + backend.map(_EXP, zero - absolute))
    return positive - z * t + softplus


def _clip(backend: Any, p: Any) -> tuple[Any, Any]:
    """``clip(p, ε, 1 − ε)`` and where the gradient passes (``ε ≤ p ≤ 1 − ε``), as
    TensorFlow's ``clip_by_value``."""
    if p.dtype == object:
        low, high = backend.const(EPSILON), backend.const(1) - backend.const(EPSILON)
    else:
        low, high = p.dtype.type(EPSILON), p.dtype.type(1.0) - p.dtype.type(EPSILON)
    below = greater(backend, low - p, p * backend.const(0))  # p < low
    above = greater(backend, p - high, p * backend.const(0))  # p > high
    passes = backend.const(1) - below - above
    clipped = backend.maximum(backend.minimum(p, _full(p, high)), _full(p, low))
    return clipped, passes


def _full(like: Any, value: Any) -> Any:
    out = np.empty(like.shape, dtype=like.dtype)
    out[...] = value
    return out


def _sum_last(x: Any, keep: bool = False) -> Any:
    if x.dtype != object:
        return x.sum(axis=-1, keepdims=keep)
    out = np.empty(x.shape[:-1] + ((1,) if keep else ()), dtype=object)
    for index in np.ndindex(*x.shape[:-1]):
        terms = list(x[index])
        out[index + ((0,) if keep else ())] = sum(terms[1:], terms[0])
    return out


def _one_hot(backend: Any, t: Any, y: Any) -> Any:
    """Integer class targets (shaped like ``y`` without its last axis, or with a last axis
    of 1) as one-hot rows of ``y``'s arithmetic."""
    labels = np.asarray(t)
    if labels.shape == y.shape[:-1] + (1,):
        labels = labels[..., 0]
    if labels.shape != y.shape[:-1]:
        raise InvalidInputError(
            f"sparse_categorical_crossentropy: expected integer class targets of shape "
            f"{y.shape[:-1]}, received shape {labels.shape}")
    classes = y.shape[-1]
    flat = []
    for v in labels.reshape(-1):
        whole = v.denominator == 1 if isinstance(v, Fraction) else float(v).is_integer()
        if not whole or not 0 <= int(v) < classes:
            raise InvalidInputError(f"sparse_categorical_crossentropy: a target is a class "
                                    f"index from 0 to {classes - 1}, received {float(v):g}")
        flat.append(int(v))
    index = np.asarray(flat, dtype=np.int64).reshape(labels.shape)
    hot = np.arange(classes) == index[..., None]
    if y.dtype == object:
        return np.where(hot, backend.const(1), backend.const(0))
    return hot.astype(y.dtype)


def _formula(loss: Loss, backend: Any, y: Any, t: Any) -> Any:
    values = _entries(loss.formula, backend, y, t)
    return _total(values)


def _formula_grad(loss: Loss, backend: Any, y: Any, t: Any) -> Any:
    return _entries(loss.derivative, backend, y, t)


def _entries(expr: sp.Expr, backend: Any, y: Any, t: Any) -> Any:
    """``expr`` at every entry of ``y`` with its target, on ``backend``."""
    if y.dtype != object:
        fn = _numeric(expr)
        with np.errstate(all="ignore"):
            out = np.asarray(fn(y, t), dtype=np.float64)
        return np.broadcast_to(out, y.shape).astype(y.dtype)
    out = np.empty(y.shape, dtype=object)
    for index in np.ndindex(*y.shape):
        yv, tv = backend.to_sympy(y[index]), backend.to_sympy(t[index])
        out[index] = backend.from_sympy(expr.xreplace({Y: yv, T: tv}))
    return out


@functools.lru_cache(maxsize=256)
def _numeric(expr: sp.Expr) -> Any:
    """``expr`` of ``y`` and ``t`` compiled to numpy, once per formula."""
    return sp.lambdify((Y, T), expr, modules=[{"Heaviside": _heaviside, "sign": np.sign},
                                              "numpy"])


def _heaviside(x: Any, h0: Any = 0.5) -> Any:
    return np.heaviside(x, h0)
