"""Normalization at inference: BatchNorm (moving statistics), LayerNorm and RMSNorm (the
sample's own statistics), and Keras' ``Normalization`` (adapted statistics)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import sympy as sp

from .. import functions as fx
from ..functions import T, number
from .activations import Fn
from .base import (
    Constant,
    Grads,
    Op,
    Param,
    Rewrite,
    along,
    broadcast_row,
    no_derivative,
    spread,
    unbroadcast,
)

__all__ = ["BatchNormInference", "BatchNormTraining", "LayerNorm", "Normalize", "RMSNorm"]

_INV_SQRT = Fn(fx.InverseSqrt, name="1/sqrt")


def _sqrt(m: Any) -> Any:
    return fx.Entrywise(sp.Lambda(T, sp.sqrt(T)), m)


def _over(a: Any, b: Any) -> Any:
    """``a ⊘ b``: entrywise division."""
    return sp.HadamardProduct(a, fx.EntrywisePower(b, -1))


def _eps(constant: Constant, like: Any) -> Any:
    return constant.symbol * sp.OneMatrix(*like.shape)


#: BatchNorm as it should be computed, and as students get it wrong.
_BN_VARIANTS = {
    "inference": "γ ⊙ (x − μ) ⊘ √(σ² + ε) + β",
    "epsilon_outside_sqrt": "γ ⊙ (x − μ) ⊘ (√σ² + ε) + β",
    "epsilon_omitted": "γ ⊙ (x − μ) ⊘ √σ² + β",
    "variance_squared": "γ ⊙ (x − μ) ⊘ √((σ²)² + ε) + β",
    "std_for_variance": "γ ⊙ (x − μ) ⊘ √(√σ² + ε) + β",
}


@dataclass(frozen=True, eq=False)
class BatchNormInference(Op):
    """``γ ⊙ (x − μ) ⊘ √(σ² + ε) + β`` with the moving mean and variance, along the last axis.

    ``variant`` other than ``"inference"`` is a mistake (see :meth:`mistakes`)."""

    mean: Param
    variance: Param
    epsilon: Constant
    gamma: Param | None = None
    beta: Param | None = None
    variant: str = "inference"
    axis: int = -1
    """The per-sample axis of the channels (their statistics)."""
    sample_shape: tuple[int, ...] = ()
    affine = True
    entrywise = True

    @property
    def rowwise(self) -> bool:  # type: ignore[override]
        rank = len(self.sample_shape)
        return not rank or along(self.axis, rank) == rank - 1

    def _shape(self) -> tuple[int, ...]:
        rank = len(self.sample_shape)
        a = along(self.axis, rank)
        return tuple(self.sample_shape[a] if k == a else 1 for k in range(rank))

    def _spread(self, param: Param, x: Any) -> Any:
        if not self.sample_shape:
            return broadcast_row(param.symbol, x.shape[0])
        return spread(param.symbol, self._shape(), self.sample_shape)

    def _weight(self, backend: Any, param: Param) -> Any:
        w = backend.weight(param)
        rank = len(self.sample_shape)
        if rank and along(self.axis, rank) != rank - 1:
            w = w.reshape((1, *self._shape()))
        return w

    def formula(self, x: Any) -> Any:
        mu, var = (self._spread(p, x) for p in (self.mean, self.variance))
        if self.variant == "epsilon_outside_sqrt":
            denominator = _sqrt(var) + _eps(self.epsilon, var)
        elif self.variant == "epsilon_omitted":
            denominator = _sqrt(var)
        elif self.variant == "variance_squared":
            denominator = _sqrt(fx.EntrywisePower(var, 2) + _eps(self.epsilon, var))
        elif self.variant == "std_for_variance":
            denominator = _sqrt(_sqrt(var) + _eps(self.epsilon, var))
        else:
            denominator = _sqrt(var + _eps(self.epsilon, var))
        out: Any = _over(x - mu, denominator)
        if self.gamma is not None:
            out = sp.HadamardProduct(self._spread(self.gamma, x), out)
        if self.beta is not None:
            out = out + self._spread(self.beta, x)
        return out

    def forward(self, backend: Any, x: Any) -> Any:
        mean, var = self._weight(backend, self.mean), self._weight(backend, self.variance)
        gamma = None if self.gamma is None else self._weight(backend, self.gamma)
        beta = None if self.beta is None else self._weight(backend, self.beta)
        eps = backend.const(self.epsilon.value)
        if self.variant == "inference":
            # tf.nn.batch_normalization's order: x * inv + (beta - mean * inv).
            inv = backend.map(_INV_SQRT, var + eps)
            if gamma is not None:
                inv = inv * gamma
            shift = -mean * inv
            if beta is not None:
                shift = shift + beta
            return x * inv + shift
        root = backend.map(_INV_SQRT, var)
        if self.variant == "epsilon_outside_sqrt":
            out = (x - mean) / (1 / root + eps)
        elif self.variant == "variance_squared":
            out = (x - mean) * backend.map(_INV_SQRT, var * var + eps)
        elif self.variant == "std_for_variance":
            out = (x - mean) * backend.map(_INV_SQRT, 1 / root + eps)
        else:
            out = (x - mean) * root
        if gamma is not None:
            out = out * gamma
        return out + beta if beta is not None else out

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return sizes[0] + 12

    def scale_shift(self) -> tuple[np.ndarray, np.ndarray]:
        """``scale = γ/√(σ² + ε)`` and ``shift = β − μ·scale`` (float64): the op is
        ``x·scale + shift``, as hls4ml folds it."""
        var = np.asarray(self.variance.value, np.float64).reshape(-1)
        scale = 1.0 / np.sqrt(var + self.epsilon.value)
        if self.gamma is not None:
            scale = scale * np.asarray(self.gamma.value, np.float64).reshape(-1)
        shift = -np.asarray(self.mean.value, np.float64).reshape(-1) * scale
        if self.beta is not None:
            shift = shift + np.asarray(self.beta.value, np.float64).reshape(-1)
        return scale, shift

    def as_diagonal(self, n: int) -> tuple[np.ndarray, np.ndarray] | None:
        if self.variant != "inference" or len(self.sample_shape) > 1:
            return None
        scale, shift = self.scale_shift()
        return np.broadcast_to(scale, (n,)).copy(), np.broadcast_to(shift, (n,)).copy()

    def mistakes(self, *, last: bool = False, batch: int | None = None) -> tuple[Rewrite, ...]:
        eps = self.epsilon.value
        out = [Rewrite("bn_epsilon_outside_sqrt", "in {layer} ε was added after the square "
                       "root: it goes inside, γ(x − μ)/√(σ² + ε) + β.",
                       replace(self, variant="epsilon_outside_sqrt")),
               Rewrite("bn_epsilon_omitted", "in {layer} ε was left out: the formula is "
                       f"γ(x − μ)/√(σ² + ε) + β with ε = {eps:g}.",
                       replace(self, variant="epsilon_omitted")),
               Rewrite("bn_sigma_for_variance", "in {layer} the moving variance was taken "
                       "for σ and squared: it is σ² already, γ(x − μ)/√(σ² + ε) + β.",
                       replace(self, variant="variance_squared"), variant="variance_squared"),
               Rewrite("bn_sigma_for_variance", "in {layer} σ = √(moving variance) was put "
                       "where σ² goes: γ(x − μ)/√(σ² + ε) + β takes the moving variance "
                       "itself.", replace(self, variant="std_for_variance"),
                       variant="std_for_variance")]
        if self.gamma is not None and self.beta is not None:
            out.append(Rewrite("bn_gamma_beta_swapped", "in {layer} γ and β were swapped: "
                               "the normalised value is multiplied by γ (gamma), then β (beta) "
                               "is added.", replace(self, gamma=self.beta, beta=self.gamma)))
        if batch:
            out.append(Rewrite("bn_batch_statistics", "{layer} was normalised with the "
                               "statistics of the batch: at inference BatchNorm uses its "
                               "moving mean and moving variance.",
                               BatchStatistics(self.epsilon, batch, self.gamma, self.beta),
                               uses_batch=True))
        # The training formula on a batch of one sample needs no batch to be recognised: the
        # mean is the sample, the variance 0, so every unit gives β.
        out.append(Rewrite("bn_batch_statistics", "{layer} was normalised with the "
                           "statistics of a batch of one sample (the mean is the sample "
                           "itself, the variance 0, so every unit gives β): at inference "
                           "BatchNorm uses its moving mean and moving variance.",
                           BatchStatistics(self.epsilon, 0, self.gamma, self.beta),
                           variant="batch of one"))
        return tuple(out)

    def describe(self) -> str:
        return "batch normalization" + ("" if self.variant == "inference" else
                                        f" ({_BN_VARIANTS[self.variant]})")

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        if self.variant != "inference":
            raise no_derivative(self, "the backward pass of this mistaken form is not written")
        x = xs[0]
        mean, var = self._weight(backend, self.mean), self._weight(backend, self.variance)
        root = backend.map(_INV_SQRT, var + backend.const(self.epsilon.value))
        gamma = None if self.gamma is None else self._weight(backend, self.gamma)
        scale = root if gamma is None else root * gamma
        shape = self._shape() if self.sample_shape else self.mean.shape
        # two sums over the batch carry every parameter's gradient: Σ g and Σ g ⊙ x, as
        # Σ g ⊙ (x − μ) = Σ g ⊙ x − μ Σ g
        total = unbroadcast(g, shape)
        centred = unbroadcast(g * x, shape) - total * mean.reshape(total.shape)
        r, s = root.reshape(total.shape), scale.reshape(total.shape)
        params = {self.mean: -(total * s),
                  # ∂/∂σ² of (x − μ)(σ² + ε)^(−1/2) is −½ (x − μ)(σ² + ε)^(−3/2)
                  self.variance: centred * s * r * r * backend.const(-0.5)}
        if self.gamma is not None:
            params[self.gamma] = centred * r
        if self.beta is not None:
            params[self.beta] = total
        return Grads((g * scale,), {p: v.reshape(p.shape) for p, v in params.items()})

    def backward_formula(self, xs: tuple[Any, ...], y: Any, g: Any) -> Grads | None:
        if self.variant != "inference" or len(self.sample_shape) > 1:
            return None
        x = xs[0]
        mu, var = (self._spread(p, x) for p in (self.mean, self.variance))
        root = _sqrt(var + _eps(self.epsilon, var))
        gamma = None if self.gamma is None else self._spread(self.gamma, x)
        scaled = _over(g, root) if gamma is None else _over(sp.HadamardProduct(gamma, g), root)
        params: dict[Param, Any] = {}
        rows = int(g.shape[0])

        def total(m: Any) -> Any:
            return m if rows == 1 else sp.OneMatrix(1, rows) * m

        if self.gamma is not None:
            params[self.gamma] = total(sp.HadamardProduct(g, _over(x - mu, root)))
        if self.beta is not None:
            params[self.beta] = total(g)
        return Grads((scaled,), params)


@dataclass(frozen=True, eq=False)
class BatchNormTraining(Op):
    """BatchNorm as Keras computes it while training: ``γ ⊙ (x − μ_B) ⊘ √(σ²_B + ε) + β`` with
    the batch's own mean and (biased) variance over every axis but the channels' — the
    gradient flows through them —, and the moving statistics updated as ``moving ·
    momentum + batch · (1 − momentum)`` (:meth:`moving_update`)."""

    mean: Param
    variance: Param
    epsilon: Constant
    momentum: float
    gamma: Param | None = None
    beta: Param | None = None
    axis: int = -1
    sample_shape: tuple[int, ...] = ()

    @classmethod
    def of(cls, op: BatchNormInference, momentum: float) -> BatchNormTraining:
        """The training form of a BatchNorm at inference."""
        return cls(op.mean, op.variance, op.epsilon, float(momentum), op.gamma, op.beta,
                   op.axis, op.sample_shape)

    def _channel(self, ndim: int) -> int:
        """The channels' axis in a batch of ``ndim`` axes."""
        rank = len(self.sample_shape) or ndim - 1
        return along(self.axis, rank) + 1

    def _axes(self, ndim: int) -> list[int]:
        return [a for a in range(ndim) if a != self._channel(ndim)]

    def _weight(self, backend: Any, param: Param, ndim: int) -> Any:
        shape = [1] * ndim
        shape[self._channel(ndim)] = int(param.size)
        return backend.weight(param).reshape(shape)

    def statistics(self, backend: Any, x: Any) -> tuple[Any, Any]:
        """The batch's mean and variance (axes kept), as ``tf.nn.moments`` computes them."""
        axes = self._axes(x.ndim)
        mean = _mean(backend, x, axes)
        centred = x - mean
        return mean, _mean(backend, centred * centred, axes)

    def formula(self, x: Any) -> Any:
        rows, cols = (int(d) for d in x.shape)
        mu = broadcast_row(sp.MatrixSymbol("mu_B", 1, cols), rows)
        var = broadcast_row(sp.MatrixSymbol("sigma_B^2", 1, cols), rows)
        out: Any = _over(x - mu, _sqrt(var + _eps(self.epsilon, var)))
        if self.gamma is not None:
            out = sp.HadamardProduct(broadcast_row(self.gamma.symbol, rows), out)
        if self.beta is not None:
            out = out + broadcast_row(self.beta.symbol, rows)
        return out

    def forward(self, backend: Any, x: Any) -> Any:
        mean, var = self.statistics(backend, x)
        inv = backend.map(_INV_SQRT, var + backend.const(self.epsilon.value))
        if self.gamma is not None:
            inv = inv * self._weight(backend, self.gamma, x.ndim)
        shift = -mean * inv
        if self.beta is not None:
            shift = shift + self._weight(backend, self.beta, x.ndim)
        return x * inv + shift

    def moving_update(self, backend: Any, x: Any) -> dict[Param, Any]:
        """The moving mean and variance after this batch, shaped like them."""
        batch = self.statistics(backend, x)
        momentum = backend.const(self.momentum)
        rest = backend.const(1.0) - momentum if x.dtype == object else backend.const(
            1.0 - self.momentum)
        out = {}
        for param, value in zip((self.mean, self.variance), batch):
            out[param] = (backend.weight(param) * momentum + value.reshape(param.shape) * rest)
        return out

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        x = xs[0]
        axes = self._axes(x.ndim)
        mean, var = self.statistics(backend, x)
        root = backend.map(_INV_SQRT, var + backend.const(self.epsilon.value))
        normalized = (x - mean) * root
        scaled = g if self.gamma is None else g * self._weight(backend, self.gamma, x.ndim)
        dx = root * (scaled - _mean(backend, scaled, axes)
                     - normalized * _mean(backend, scaled * normalized, axes))
        params: dict[Param, Any] = {}
        shape = tuple(int(x.shape[k]) if k == self._channel(x.ndim) else 1
                      for k in range(1, x.ndim))
        if self.gamma is not None:
            params[self.gamma] = unbroadcast(g * normalized, shape).reshape(self.gamma.shape)
        if self.beta is not None:
            params[self.beta] = unbroadcast(g, shape).reshape(self.beta.shape)
        return Grads((dx,), params)

    def describe(self) -> str:
        return "batch normalization (training: the batch's statistics)"


@dataclass(frozen=True, eq=False)
class BatchStatistics(Op):
    """BatchNorm with the statistics of the first ``rows`` rows of the batch (the training
    formula): a mistake at inference. ``rows = 0``: each sample is its own batch of one (its
    mean the sample, its variance 0)."""

    epsilon: Constant
    rows: int
    gamma: Param | None = None
    beta: Param | None = None

    def formula(self, x: Any) -> Any:
        if self.rows == 0:  # (x − x)/√(0 + ε) γ + β
            if self.beta is None:
                return sp.ZeroMatrix(*x.shape)
            return broadcast_row(self.beta.symbol, x.shape[0])
        return fx.Standardize(x, self.epsilon.symbol)

    def forward(self, backend: Any, x: Any) -> Any:
        if self.rows == 0:
            mean, var = x, np.zeros(np.shape(x))
        else:
            stats = np.asarray(x[: self.rows], dtype=np.float64)
            mean, var = stats.mean(axis=0), stats.var(axis=0)
        out = (x - mean) / np.sqrt(var + self.epsilon.value)
        if self.gamma is not None:
            out = out * backend.weight(self.gamma)
        return out + backend.weight(self.beta) if self.beta is not None else out


@dataclass(frozen=True, eq=False)
class LayerNorm(Op):
    """Each sample standardised over its own features (``rms``: divided by their root mean
    square), then scaled by γ and shifted by β."""

    epsilon: Constant
    gamma: Param | None = None
    beta: Param | None = None
    rms: bool = False
    axes: tuple[int, ...] = (-1,)
    """The per-sample axes a sample is standardised over."""
    sample_shape: tuple[int, ...] = ()

    @property
    def rowwise(self) -> bool:  # type: ignore[override]
        return self._last_only()

    def _last_only(self) -> bool:
        rank = len(self.sample_shape)
        return not rank or tuple(along(a, rank) for a in self.axes) == (rank - 1,)

    def _shape(self) -> tuple[int, ...]:
        rank = len(self.sample_shape)
        kept = {along(a, rank) for a in self.axes}
        return tuple(n if k in kept else 1 for k, n in enumerate(self.sample_shape))

    def _spread(self, param: Param, x: Any) -> Any:
        if self._last_only():
            return broadcast_row(param.symbol, x.shape[0])
        return spread(param.symbol, self._shape(), self.sample_shape)

    def _weight(self, backend: Any, param: Param) -> Any:
        w = backend.weight(param)
        return w if self._last_only() else w.reshape((1, *self._shape()))

    def formula(self, x: Any) -> Any:
        if self._last_only():
            out: Any = fx.Standardize(x, self.epsilon.symbol, center=not self.rms)
        else:
            rank = len(self.sample_shape)
            out = fx.AlongAxes(x, "rms" if self.rms else "standardize",
                               sorted(along(a, rank) for a in self.axes), self.sample_shape,
                               self.epsilon.symbol)
        if self.gamma is not None:
            out = sp.HadamardProduct(self._spread(self.gamma, x), out)
        if self.beta is not None:
            out = out + self._spread(self.beta, x)
        return out

    def forward(self, backend: Any, x: Any) -> Any:
        rank = x.ndim - 1
        axes = sorted(along(a, rank) + 1 for a in self.axes)
        mean = _mean(backend, x, axes)
        var = _mean(backend, (x - mean) * (x - mean), axes)
        inv = backend.map(_INV_SQRT, var + backend.const(self.epsilon.value))
        gamma = None if self.gamma is None else self._weight(backend, self.gamma)
        if self.rms:
            out = x * inv
            return out * gamma if gamma is not None else out
        if gamma is not None:
            inv = inv * gamma
        shift = -mean * inv
        if self.beta is not None:
            shift = shift + self._weight(backend, self.beta)
        return x * inv + shift

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return 3 * shapes[0][-1] * (sizes[0] + 2) + 10

    def describe(self) -> str:
        return "layer normalization"

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        x = xs[0]
        axes = sorted(along(a, x.ndim - 1) + 1 for a in self.axes)
        mean = _mean(backend, x, axes)
        centred = x - mean
        root = backend.map(_INV_SQRT, _mean(backend, centred * centred, axes)
                           + backend.const(self.epsilon.value))
        gamma = None if self.gamma is None else self._weight(backend, self.gamma)
        scaled = g if gamma is None else g * gamma
        params: dict[Param, Any] = {}
        shape = (int(x.shape[-1]),) if self._last_only() else self._shape()
        if self.rms:  # x (Var x + ε)^(−1/2): the variance is centred, the numerator is not
            out = x * root
            dx = scaled * root - root * root * root * centred * _mean(backend, scaled * x, axes)
        else:
            out = centred * root
            dx = root * (scaled - _mean(backend, scaled, axes)
                         - out * _mean(backend, scaled * out, axes))
        if self.gamma is not None:
            params[self.gamma] = unbroadcast(g * out, shape).reshape(self.gamma.shape)
        if self.beta is not None:
            params[self.beta] = unbroadcast(g, shape).reshape(self.beta.shape)
        return Grads((dx,), params)


def _mean(backend: Any, x: Any, axes: list[int]) -> Any:
    """The mean over several axes (batch axis included in the numbering), axes kept."""
    if len(axes) == 1:
        return backend.mean(x, axes[0])
    rest = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, rest + axes)
    flat = moved.reshape(*moved.shape[:len(rest)], -1)
    mean = backend.mean(flat, -1).reshape(*moved.shape[:len(rest)], *([1] * len(axes)))
    return np.transpose(mean, np.argsort(rest + axes))


@dataclass(frozen=True, eq=False)
class RMSNorm(Op):
    """Each sample divided by the root mean square of its features, times a learned scale."""

    scale: Param
    epsilon: Constant
    rowwise = True

    def formula(self, x: Any) -> Any:
        return sp.HadamardProduct(broadcast_row(self.scale.symbol, x.shape[0]),
                                  fx.RMSScale(x, self.epsilon.symbol))

    def forward(self, backend: Any, x: Any) -> Any:
        inv = backend.map(_INV_SQRT, backend.mean(x * x, -1)
                          + backend.const(self.epsilon.value))
        return x * inv * backend.weight(self.scale)

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return 2 * shapes[0][-1] * (sizes[0] + 2) + 8

    def describe(self) -> str:
        return "RMS normalization"

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        x = xs[0]
        root = backend.map(_INV_SQRT, backend.mean(x * x, -1)
                           + backend.const(self.epsilon.value))
        scaled = g * backend.weight(self.scale)
        dx = scaled * root - root * root * root * x * backend.mean(scaled * x, -1)
        return Grads((dx,), {self.scale: unbroadcast(g * x * root, self.scale.shape)})


@dataclass(frozen=True, eq=False)
class Normalize(Op):
    """``(x − μ) ⊘ max(√σ², ε)`` (``invert``: ``μ + x ⊙ max(√σ², ε)``), Keras' Normalization."""

    mean: Param
    variance: Param
    epsilon: Constant
    invert: bool = False
    shape: tuple[int, ...] = ()
    """The statistics' broadcast shape over a sample (1 on the axes they do not vary along)."""
    sample_shape: tuple[int, ...] = ()
    affine = True
    entrywise = True

    @property
    def rowwise(self) -> bool:  # type: ignore[override]
        return all(d == 1 for d in self.shape[:-1])

    def _floor(self) -> Fn:
        return Fn(fx.StdFloor, (number(self.epsilon.value),), "std_floor")

    def _spread(self, param: Param, x: Any) -> Any:
        if not self.sample_shape:
            return broadcast_row(param.symbol, x.shape[0])
        return spread(param.symbol, self.shape, self.sample_shape)

    def _weight(self, backend: Any, param: Param) -> Any:
        w = backend.weight(param)
        return w.reshape((1, *self.shape)) if self.shape else w

    def formula(self, x: Any) -> Any:
        mu = self._spread(self.mean, x)
        sd = fx.Entrywise(sp.Lambda(T, sp.Max(sp.sqrt(T), self.epsilon.symbol)),
                          self._spread(self.variance, x))
        return mu + sp.HadamardProduct(x, sd) if self.invert else _over(x - mu, sd)

    def forward(self, backend: Any, x: Any) -> Any:
        mu = self._weight(backend, self.mean)
        sd = backend.map(self._floor(), self._weight(backend, self.variance))
        return mu + x * sd if self.invert else (x - mu) / sd

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return sizes[0] + 8

    def as_diagonal(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        mean = np.broadcast_to(np.asarray(self.mean.value, np.float64).reshape(-1), (n,))
        sd = self._floor().numpy(np.broadcast_to(
            np.asarray(self.variance.value, np.float64).reshape(-1), (n,)))
        if self.invert:
            return np.array(sd, dtype=np.float64), mean.copy()
        return 1.0 / sd, -mean / sd

    def mistakes(self, *, last: bool = False, batch: int | None = None) -> tuple[Rewrite, ...]:
        from .shape import Identity

        return (Rewrite("normalization_omitted", "the normalization of {layer} was left out: "
                        "the inputs are standardised, (x − μ)/√σ², before the next layer.",
                        Identity("the normalization left out")),)

    def describe(self) -> str:
        return "normalization" + (" (inverted)" if self.invert else "")

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        from .derivatives import derivative

        x = xs[0]
        mu, variance = self._weight(backend, self.mean), self._weight(backend, self.variance)
        sd = backend.map(self._floor(), variance)
        slope = backend.map(derivative(self._floor()), variance)  # ∂sd/∂σ²
        shape = self.shape or self.mean.shape
        if self.invert:
            params = {self.mean: unbroadcast(g, shape),
                      self.variance: unbroadcast(g * x * slope, shape)}
            dx = g * sd
        else:
            params = {self.mean: unbroadcast(-(g / sd), shape),
                      self.variance: unbroadcast(-(g * (x - mu) / (sd * sd)) * slope, shape)}
            dx = g / sd
        return Grads((dx,), {p: v.reshape(p.shape) for p, v in params.items()})
