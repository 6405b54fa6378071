"""``BatchNormalization``, ``LayerNormalization`` and ``RMSNormalization`` at inference."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..ops import BatchNormInference, LayerNorm, RMSNorm, matrix_shape
from . import LayerContext, converter
from .core import _one_axis, sample_axes
from .spec import (
    CONSTRAINT,
    INITIALIZER,
    REGULARIZER,
    Axes,
    Choice,
    Inert,
    Number,
    Shape,
    WeightSpec,
    spec,
)

FLAG = Choice((True, False))


def _norm_shape(config: Mapping[str, Any], shape: Shape) -> Shape:
    """The statistics' shape as Keras' ``LayerNormalization.build`` makes it (axes counted
    with the batch axis, a list sorted)."""
    full = (None, *shape)
    axis = config["axis"]
    axes = sorted(axis) if isinstance(axis, list) else [axis]
    if not axes or any(not isinstance(a, int) or isinstance(a, bool) for a in axes):
        raise ValueError(f"axis {axis!r}")
    try:
        out = tuple(full[a] for a in axes)
    except IndexError:
        raise ValueError(f"axis {axis!r} for inputs of shape {shape}") from None
    if any(d is None for d in out):
        raise ValueError(f"axis {axis!r} is the batch axis")
    return tuple(int(d) for d in out if d is not None)


def _ln_weights(config: Mapping[str, Any], shapes: list[Shape]) -> list[WeightSpec]:
    n = _norm_shape(config, shapes[0])
    rms = bool(config.get("rms_scaling", False))
    out = [WeightSpec("gamma", n)] if config["scale"] or rms else []
    return out + ([WeightSpec("beta", n)] if config["center"] and not rms else [])


def _rms_weights(config: Mapping[str, Any], shapes: list[Shape]) -> list[WeightSpec]:
    return [WeightSpec("scale", _norm_shape(config, shapes[0]))]


def _bn_weights(config: Mapping[str, Any], shapes: list[Shape]) -> list[WeightSpec]:
    n = (_one_axis(config, shapes[0]),)
    out = [WeightSpec(name, n) for option, name in (("scale", "gamma"), ("center", "beta"))
           if config[option]]
    return out + [WeightSpec("moving_mean", n, False), WeightSpec("moving_variance", n, False)]

_ONLY_TRAINING = "used only while training (renormalization); not part of the inference formula"


@converter("BatchNormalization", config=spec(
    axis=Axes(), epsilon=Number(0), center=FLAG, scale=FLAG, renorm=FLAG,
    momentum=Inert("how the moving statistics follow the batches while training",
                   number=True),
    renorm_clipping=Inert(_ONLY_TRAINING), renorm_momentum=Inert(_ONLY_TRAINING),
    synchronized=Inert("how training gathers batch statistics across devices"),
    beta_initializer=INITIALIZER, gamma_initializer=INITIALIZER,
    moving_mean_initializer=INITIALIZER, moving_variance_initializer=INITIALIZER,
    beta_regularizer=REGULARIZER, gamma_regularizer=REGULARIZER, beta_constraint=CONSTRAINT,
    gamma_constraint=CONSTRAINT).reading(_bn_weights, required=("axis", "epsilon", "center",
                                                                "scale")))
def batch_normalization(ctx: LayerContext) -> int:
    c = ctx.config
    axes = sample_axes(ctx, c.get("axis", -1))
    if len(axes) != 1:
        raise ctx.reject(f"axis={c.get('axis')!r}: statistics over several axes are not "
                         "supported")
    center, scale = bool(c.get("center", True)), bool(c.get("scale", True))
    n = ctx.input_shape[axes[0]]
    gamma = ctx.param("gamma", "gamma", f"gamma, shape ({n},): learned scale") if scale else None
    beta = ctx.param("beta", "beta", f"beta, shape ({n},): learned shift") if center else None
    mean = ctx.param("moving_mean", "mu", f"moving_mean, shape ({n},): the running mean of the "
                     "training batches, used at inference in place of the batch mean")
    var = ctx.param("moving_variance", "sigma^2", f"moving_variance, shape ({n},): the running "
                    "variance of the training batches, used at inference")
    for extra in ("moving_stddev", "renorm_mean", "renorm_stddev"):
        if extra in ctx._weights:
            ctx.param(extra, None, f"{extra}: {_ONLY_TRAINING}")
    eps = ctx.constant("epsilon", c["epsilon"])
    ctx.constants.update(center=center, scale=scale)
    ctx.note = "inference form: the moving statistics stand in for the batch statistics"
    if axes[0] != len(ctx.input_shape) - 1:
        ctx.note += f", one per entry of axis {axes[0] + 1}"
    return ctx.apply(BatchNormInference(mean, var, eps, gamma, beta, axis=axes[0],
                                        sample_shape=tuple(ctx.input_shape)))


@converter("LayerNormalization", config=spec(
    axis=Axes(), epsilon=Number(0), center=FLAG, scale=FLAG, rms_scaling=FLAG,
    beta_initializer=INITIALIZER, gamma_initializer=INITIALIZER, beta_regularizer=REGULARIZER,
    gamma_regularizer=REGULARIZER, beta_constraint=CONSTRAINT, gamma_constraint=CONSTRAINT
).reading(_ln_weights, required=("axis", "epsilon", "center", "scale")))
def layer_normalization(ctx: LayerContext) -> int:
    c = ctx.config
    axes = sample_axes(ctx, c.get("axis", -1))
    rms = bool(c.get("rms_scaling", False))
    n = "×".join(str(ctx.input_shape[a]) for a in axes)
    gamma = ctx.param("gamma", "gamma", f"gamma, shape ({n},): learned scale") if (
        "gamma" in ctx._weights) else None
    beta = ctx.param("beta", "beta", f"beta, shape ({n},): learned shift") if (
        "beta" in ctx._weights) else None
    eps = ctx.constant("epsilon", c["epsilon"])
    ctx.constants["rms_scaling"] = rms
    ctx.note = ("each sample is scaled by the inverse square root of its own variance over the "
                "features (rms_scaling)") if rms else (
        "each sample is standardised over its own features (mean and variance of the row)")
    return ctx.apply(LayerNorm(eps, gamma, beta, rms, axes, tuple(ctx.input_shape)))


@converter("RMSNormalization", config=spec(axis=Axes(), epsilon=Number(0)).reading(
    _rms_weights, required=("axis", "epsilon")))
def rms_normalization(ctx: LayerContext) -> int:
    if sample_axes(ctx, ctx.config.get("axis", -1)) != (len(ctx.input_shape) - 1,):
        raise ctx.reject(f"axis={ctx.config.get('axis')!r} is not supported; the last axis is")
    n = matrix_shape(ctx.input_shape)[1]
    scale = ctx.param("scale", "gamma", f"scale, shape ({n},): learned scale")
    eps = ctx.constant("epsilon", ctx.config["epsilon"])
    ctx.note = "each sample is divided by the root mean square of its own features"
    return ctx.apply(RMSNorm(scale, eps))
