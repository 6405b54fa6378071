"""``BatchNormalization`` and ``LayerNormalization`` at inference."""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..activations import RSQRT, exact_number
from ..symbolic import RMSScale, Standardize, matrix_shape
from . import Conversion, LayerContext, converter
from .core import last_axis

_ONLY_TRAINING = "used only while training (renormalization); not part of the inference formula"


@converter("BatchNormalization")
def batch_normalization(ctx: LayerContext) -> Conversion:
    c = ctx.config
    last_axis(ctx, c.get("axis", -1))
    eps = float(c["epsilon"])
    center, scale = bool(c.get("center", True)), bool(c.get("scale", True))
    n = matrix_shape(ctx.input_shape)[1]
    gamma = ctx.param("gamma", "gamma", f"gamma, shape ({n},): learned scale") if scale else None
    beta = ctx.param("beta", "beta", f"beta, shape ({n},): learned shift") if center else None
    mean = ctx.param("moving_mean", "mu", f"moving_mean, shape ({n},): the running mean of "
                     "the training batches, used at inference in place of the batch mean")
    var = ctx.param("moving_variance", "sigma^2", f"moving_variance, shape ({n},): the running "
                    "variance of the training batches, used at inference")
    for extra in ("moving_stddev", "renorm_mean", "renorm_stddev"):
        if extra in ctx._weights:
            ctx.param(extra, None, f"{extra}: {_ONLY_TRAINING}")

    row = ctx.broadcast_row
    ones = sp.OneMatrix(ctx.rows, n)
    factors = [ctx.x - row(mean), sp.HadamardPower(row(var) + exact_number(eps) * ones, -sp.S.Half)]
    rhs: Any = sp.HadamardProduct(row(gamma), *factors) if scale else sp.HadamardProduct(*factors)
    if center:
        rhs = rhs + row(beta)

    def forward(backend: Any, xs: list[Any], w: Any) -> Any:
        # tf.nn.batch_normalization's order: x * inv + (beta - mean * inv).
        inv = backend.map(RSQRT, w["moving_variance"] + backend.const(eps))
        if scale:
            inv = inv * w["gamma"]
        shift = -w["moving_mean"] * inv
        if center:
            shift = shift + w["beta"]
        return xs[0] * inv + shift

    return Conversion(
        rhs=rhs,
        forward=forward,
        size=lambda sizes: sizes[0] + 12,
        note="inference form: the moving statistics stand in for the batch statistics",
        constants={"epsilon": eps, "center": center, "scale": scale},
        piecewise_linear=True,
    )


@converter("LayerNormalization")
def layer_normalization(ctx: LayerContext) -> Conversion:
    c = ctx.config
    last_axis(ctx, c.get("axis", -1))
    eps = float(c["epsilon"])
    rms = bool(getattr(ctx.layer, "rms_scaling", False))
    n = matrix_shape(ctx.input_shape)[1]
    has_gamma = "gamma" in ctx._weights
    has_beta = "beta" in ctx._weights
    gamma = beta = None
    if has_gamma:
        gamma = ctx.param("gamma", "gamma", f"gamma, shape ({n},): learned scale")
    if has_beta:
        beta = ctx.param("beta", "beta", f"beta, shape ({n},): learned shift")

    rhs: Any = Standardize(ctx.x, exact_number(eps), center=not rms)
    if has_gamma:
        rhs = sp.HadamardProduct(ctx.broadcast_row(gamma), rhs)
    if has_beta:
        rhs = rhs + ctx.broadcast_row(beta)

    def forward(backend: Any, xs: list[Any], w: Any) -> Any:
        x = xs[0]
        mean = backend.mean(x, -1)
        var = backend.mean((x - mean) * (x - mean), -1)
        inv = backend.map(RSQRT, var + backend.const(eps))
        if rms:
            out = x * inv
            return out * w["gamma"] if has_gamma else out
        if has_gamma:
            inv = inv * w["gamma"]
        shift = -mean * inv
        if has_beta:
            shift = shift + w["beta"]
        return x * inv + shift

    return Conversion(
        rhs=rhs,
        forward=forward,
        size=lambda sizes: 3 * n * (sizes[0] + 2) + 10,
        note=("each sample is scaled by the inverse square root of its own variance over the "
              "features (rms_scaling)") if rms else
             "each sample is standardised over its own features (mean and variance of the row)",
        constants={"epsilon": eps, "rms_scaling": rms},
    )


@converter("RMSNormalization")
def rms_normalization(ctx: LayerContext) -> Conversion:
    last_axis(ctx, ctx.config.get("axis", -1))
    eps = float(ctx.config["epsilon"])
    n = matrix_shape(ctx.input_shape)[1]
    scale = ctx.param("scale", "gamma", f"scale, shape ({n},): learned scale")

    def forward(backend: Any, xs: list[Any], w: Any) -> Any:
        x = xs[0]
        inv = backend.map(RSQRT, backend.mean(x * x, -1) + backend.const(eps))
        return x * inv * w["scale"]

    return Conversion(
        rhs=sp.HadamardProduct(ctx.broadcast_row(scale), RMSScale(ctx.x, exact_number(eps))),
        forward=forward,
        size=lambda sizes: 2 * n * (sizes[0] + 2) + 8,
        note="each sample is divided by the root mean square of its own features",
        constants={"epsilon": eps},
    )
