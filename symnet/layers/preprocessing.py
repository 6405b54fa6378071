"""``Rescaling`` and ``Normalization`` (adapted or given its statistics)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..ops import Normalize, Param, Rescale
from . import LayerContext, converter
from .spec import Axes, Choice, Free, spec

_BROADCAST = Free("a number, or an array broadcast over the input")


@converter("Rescaling", config=spec(scale=_BROADCAST, offset=_BROADCAST))
def rescaling(ctx: LayerContext) -> int:
    import keras

    values = []
    for key in ("scale", "offset"):
        raw = getattr(ctx.layer, key, ctx.config.get(key, 0.0))
        array = np.asarray(raw, dtype=np.float32)
        if array.ndim == 0:
            values.append(float(array))
            continue
        if keras.config.image_data_format() == "channels_first":
            raise ctx.reject(f"a {key} array under image_data_format 'channels_first' is not "
                             "supported")
        try:
            np.broadcast_shapes(array.shape, tuple(ctx.input_shape))
        except ValueError:
            raise ctx.reject(f"{key} of shape {array.shape} does not broadcast over inputs of "
                             f"shape {ctx.input_shape}") from None
        values.append(ctx.config_param(key, "s" if key == "scale" else "o", array,
                                       f"{key}, shape {array.shape}: one per entry it runs "
                                       "along"))
    scale, offset = values
    ctx.constants.update(scale=_shown(scale), offset=_shown(offset))
    return ctx.apply(Rescale(scale, offset, tuple(ctx.input_shape)))


def _shown(value: Any) -> Any:
    return value if isinstance(value, float) else value.value.tolist()


@converter("Normalization", config=spec(
    axis=Axes(none=True), invert=Choice((True, False)),
    mean=Free("statistics given in the config: broadcast over the input"),
    variance=Free("statistics given in the config: broadcast over the input")))
def normalization(ctx: LayerContext) -> int:
    import keras

    invert = bool(ctx.config.get("invert", False))
    shape = tuple(int(d) for d in np.shape(ctx.layer.mean)[1:])
    sample = tuple(ctx.input_shape)
    if len(shape) != len(sample):
        raise ctx.reject(f"statistics of shape {shape} for inputs of shape {sample}")
    kept = "×".join(str(d) for d in shape if d != 1) or "1"
    if "mean" in ctx._weights:
        mean = ctx.param("mean", "mu", f"mean, shape ({kept}): the means (adapted)")
        var = ctx.param("variance", "sigma^2", f"variance, shape ({kept}): the variances "
                        "(adapted)")
        ctx.param("count", None, "count: how many samples adapt() saw; not used at inference")
        # Keras computes with the statistics adapt() (or loading) left in the layer, not with
        # its variables read again: weights set since (set_weights) are not what it uses.
        used = [getattr(ctx.layer, a, None) for a in ("mean", "variance")]
        if all(u is not None for u in used):
            arrays = [np.asarray(u, np.float32).reshape(p.shape) for u, p in zip(used, (mean,
                                                                                      var))]
            if any(not np.array_equal(a, p.value, equal_nan=True) for a, p in
                   zip(arrays, (mean, var))):
                mean, var = (_replaced(ctx, p, a) for p, a in zip((mean, var), arrays))
                ctx.note = ("the statistics adapt() left in the layer, which Keras computes "
                            "with: its variables were set to other values since; ")
    else:
        values = [np.asarray(getattr(ctx.layer, a), np.float32).reshape(shape)
                  for a in ("mean", "variance")]
        mean = ctx.config_param("mean", "mu", values[0],
                                f"mean, shape ({kept}): the means (given in the config)")
        var = ctx.config_param("variance", "sigma^2", values[1],
                               f"variance, shape ({kept}): the variances (given in the config)")
    # Keras reads its global epsilon() each time the layer runs; this is its value now.
    eps = ctx.constant("epsilon", float(keras.config.epsilon()))
    ctx.constants["invert"] = invert
    ctx.note += (f"divides by max(sqrt(variance), ε) with ε = {eps.value:g}, Keras' epsilon() "
                 "when the model was read")
    return ctx.apply(Normalize(mean, var, eps, invert, shape, sample))


def _replaced(ctx: LayerContext, param: Param, value: np.ndarray) -> Param:
    """``param`` with the values the layer computes with."""
    new = dataclasses.replace(param, value=value)
    ctx.params[ctx.params.index(param)] = new
    return new
