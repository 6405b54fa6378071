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
from .base import Constant, Op, Param, Rewrite, broadcast_row

__all__ = ["BatchNormInference", "LayerNorm", "Normalize", "RMSNorm"]

_INV_SQRT = Fn(fx.InverseSqrt, name="1/sqrt")


def _sqrt(m: Any) -> Any:
    return fx.Entrywise(sp.Lambda(T, sp.sqrt(T)), m)


def _over(a: Any, b: Any) -> Any:
    """``a ⊘ b``: entrywise division."""
    return sp.HadamardProduct(a, sp.HadamardPower(b, -1))


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
    affine = True
    entrywise = True

    def formula(self, x: Any) -> Any:
        rows = x.shape[0]
        mu, var = (broadcast_row(p.symbol, rows) for p in (self.mean, self.variance))
        if self.variant == "epsilon_outside_sqrt":
            denominator = _sqrt(var) + _eps(self.epsilon, var)
        elif self.variant == "epsilon_omitted":
            denominator = _sqrt(var)
        elif self.variant == "variance_squared":
            denominator = _sqrt(sp.HadamardPower(var, 2) + _eps(self.epsilon, var))
        elif self.variant == "std_for_variance":
            denominator = _sqrt(_sqrt(var) + _eps(self.epsilon, var))
        else:
            denominator = _sqrt(var + _eps(self.epsilon, var))
        out: Any = _over(x - mu, denominator)
        if self.gamma is not None:
            out = sp.HadamardProduct(broadcast_row(self.gamma.symbol, rows), out)
        if self.beta is not None:
            out = out + broadcast_row(self.beta.symbol, rows)
        return out

    def forward(self, backend: Any, x: Any) -> Any:
        mean, var = backend.weight(self.mean), backend.weight(self.variance)
        eps = backend.const(self.epsilon.value)
        if self.variant == "inference":
            # tf.nn.batch_normalization's order: x * inv + (beta - mean * inv).
            inv = backend.map(_INV_SQRT, var + eps)
            if self.gamma is not None:
                inv = inv * backend.weight(self.gamma)
            shift = -mean * inv
            if self.beta is not None:
                shift = shift + backend.weight(self.beta)
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
        if self.gamma is not None:
            out = out * backend.weight(self.gamma)
        return out + backend.weight(self.beta) if self.beta is not None else out

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

    def as_affine(self, n: int) -> tuple[np.ndarray, np.ndarray] | None:
        if self.variant != "inference":
            return None
        scale, shift = self.scale_shift()
        return np.diag(scale), shift

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
        return tuple(out)

    def describe(self) -> str:
        return "batch normalization" + ("" if self.variant == "inference" else
                                        f" ({_BN_VARIANTS[self.variant]})")


@dataclass(frozen=True, eq=False)
class BatchStatistics(Op):
    """BatchNorm with the statistics of the first ``rows`` rows of the batch (the training
    formula): a mistake at inference."""

    epsilon: Constant
    rows: int
    gamma: Param | None = None
    beta: Param | None = None

    def formula(self, x: Any) -> Any:
        return fx.Standardize(x, self.epsilon.symbol)

    def forward(self, backend: Any, x: Any) -> Any:
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

    def formula(self, x: Any) -> Any:
        rows = x.shape[0]
        out: Any = fx.Standardize(x, self.epsilon.symbol, center=not self.rms)
        if self.gamma is not None:
            out = sp.HadamardProduct(broadcast_row(self.gamma.symbol, rows), out)
        if self.beta is not None:
            out = out + broadcast_row(self.beta.symbol, rows)
        return out

    def forward(self, backend: Any, x: Any) -> Any:
        mean = backend.mean(x, -1)
        var = backend.mean((x - mean) * (x - mean), -1)
        inv = backend.map(_INV_SQRT, var + backend.const(self.epsilon.value))
        if self.rms:
            out = x * inv
            return out * backend.weight(self.gamma) if self.gamma is not None else out
        if self.gamma is not None:
            inv = inv * backend.weight(self.gamma)
        shift = -mean * inv
        if self.beta is not None:
            shift = shift + backend.weight(self.beta)
        return x * inv + shift

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return 3 * shapes[0][-1] * (sizes[0] + 2) + 10

    def describe(self) -> str:
        return "layer normalization"


@dataclass(frozen=True, eq=False)
class RMSNorm(Op):
    """Each sample divided by the root mean square of its features, times a learned scale."""

    scale: Param
    epsilon: Constant

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


@dataclass(frozen=True, eq=False)
class Normalize(Op):
    """``(x − μ) ⊘ max(√σ², ε)`` (``invert``: ``μ + x ⊙ max(√σ², ε)``), Keras' Normalization."""

    mean: Param
    variance: Param
    epsilon: Constant
    invert: bool = False
    affine = True
    entrywise = True

    def _floor(self) -> Fn:
        return Fn(fx.StdFloor, (number(self.epsilon.value),), "std_floor")

    def formula(self, x: Any) -> Any:
        rows = x.shape[0]
        mu = broadcast_row(self.mean.symbol, rows)
        sd = fx.Entrywise(sp.Lambda(T, sp.Max(sp.sqrt(T), self.epsilon.symbol)),
                                      broadcast_row(self.variance.symbol, rows))
        return mu + sp.HadamardProduct(x, sd) if self.invert else _over(x - mu, sd)

    def forward(self, backend: Any, x: Any) -> Any:
        mu = backend.weight(self.mean)
        sd = backend.map(self._floor(), backend.weight(self.variance))
        return mu + x * sd if self.invert else (x - mu) / sd

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return sizes[0] + 8

    def as_affine(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        mean = np.asarray(self.mean.value, np.float64).reshape(-1)
        sd = self._floor().numpy(np.asarray(self.variance.value, np.float64).reshape(-1))
        if self.invert:
            return np.diag(sd), mean
        return np.diag(1.0 / sd), -mean / sd

    def mistakes(self, *, last: bool = False, batch: int | None = None) -> tuple[Rewrite, ...]:
        from .shape import Identity

        return (Rewrite("normalization_omitted", "the normalization of {layer} was left out: "
                        "the inputs are standardised, (x − μ)/√σ², before the next layer.",
                        Identity("the normalization left out")),)

    def describe(self) -> str:
        return "normalization" + (" (inverted)" if self.invert else "")
