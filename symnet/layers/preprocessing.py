"""``Rescaling`` and ``Normalization`` (adapted or given its statistics)."""

from __future__ import annotations

import numpy as np

from ..ops import Normalize, Rescale, matrix_shape
from . import LayerContext, converter
from .core import last_axis


@converter("Rescaling")
def rescaling(ctx: LayerContext) -> int:
    scale, offset = ctx.config["scale"], ctx.config.get("offset", 0.0)
    if not all(isinstance(v, (int, float)) for v in (scale, offset)):
        raise ctx.reject(f"scale={scale!r}, offset={offset!r}: only scalar scale and offset are "
                         "supported")
    ctx.constants.update(scale=scale, offset=offset)
    return ctx.apply(Rescale(float(scale), float(offset)))


@converter("Normalization")
def normalization(ctx: LayerContext) -> int:
    import keras

    last_axis(ctx, ctx.config.get("axis", -1))
    invert = bool(ctx.config.get("invert", False))
    n = matrix_shape(ctx.input_shape)[1]
    if "mean" in ctx._weights:
        mean = ctx.param("mean", "mu", f"mean, shape ({n},): the feature means (adapted)")
        var = ctx.param("variance", "sigma^2",
                        f"variance, shape ({n},): the feature variances (adapted)")
        ctx.param("count", None, "count: how many samples adapt() saw; not used at inference")
    else:
        values = [np.asarray(getattr(ctx.layer, a), np.float32).reshape(-1)
                  for a in ("mean", "variance")]
        if any(v.size != n for v in values):
            raise ctx.reject(f"mean/variance of sizes {values[0].size}/{values[1].size} for {n} "
                             "features are not supported")
        mean = ctx.config_param("mean", "mu", values[0].reshape(1, n),
                                f"mean, shape ({n},): the feature means (given in the config)")
        var = ctx.config_param("variance", "sigma^2", values[1].reshape(1, n),
                               f"variance, shape ({n},): the feature variances (given in the "
                               "config)")
    # Keras reads its global epsilon() each time the layer runs; this is its value now.
    eps = ctx.constant("epsilon", float(keras.config.epsilon()))
    ctx.constants["invert"] = invert
    ctx.note = (f"divides by max(sqrt(variance), ε) with ε = {eps.value:g}, Keras' epsilon() "
                "when the model was read")
    return ctx.apply(Normalize(mean, var, eps, invert))
