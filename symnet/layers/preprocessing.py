"""``Rescaling`` and ``Normalization`` (adapted or given its statistics)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..ops import Normalize, Param, Rescale
from . import LayerContext, converter
from .record import keras_setting
from .spec import Axes, Choice, Free, Shape, WeightSpec, spec

_BROADCAST = Free("a number, or an array broadcast over the input")


def _rescaled(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    """The input's shape: a ``scale`` or ``offset`` must be a number or an array of numbers
    that broadcasts over the input without growing it (Keras' output shape is the input's)."""
    (shape,) = shapes
    for key in ("scale", "offset"):
        value = config[key]
        array = np.asarray(value, dtype=np.float32)
        if array.dtype != np.float32 or _has_flags(value) or (
                array.ndim and np.broadcast_shapes(array.shape, shape) != tuple(shape)):
            raise ValueError(f"{key} {str(value)[:40]} (shape {array.shape}) for inputs of "
                             f"shape {shape}")
    return [shape]


def _has_flags(value: Any) -> bool:
    """Whether a number or nested list holds anything but plain numbers (True, text...)."""
    if isinstance(value, list):
        return any(_has_flags(v) for v in value)
    return isinstance(value, bool) or not isinstance(value, (int, float))


@converter("Rescaling", config=spec(scale=_BROADCAST, offset=_BROADCAST).reading(
    output=_rescaled, required=("scale", "offset")))
def rescaling(ctx: LayerContext) -> int:
    values = []
    for key in ("scale", "offset"):
        raw = ctx.layer.state.get(key, ctx.config.get(key, 0.0))
        array = np.asarray(raw, dtype=np.float32)
        if array.ndim == 0:
            values.append(float(array))
            continue
        if keras_setting("image_data_format") == "channels_first":
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


def _kept(config: Mapping[str, Any], shape: Shape) -> Shape:
    """The input's lengths along the axes whose statistics are kept (Keras' ``build``)."""
    axis = config["axis"]
    axes = [] if axis is None else list(axis) if isinstance(axis, (list, tuple)) else [axis]
    kept = []
    for a in axes:
        if not isinstance(a, int) or isinstance(a, bool) or a == 0 or not (
                -len(shape) <= a <= len(shape)):
            raise ValueError(f"axis {axis!r} for inputs of shape {shape}")
        kept.append(a - 1 if a > 0 else len(shape) + a)
    if len(set(kept)) != len(kept):
        raise ValueError(f"axis {axis!r} repeats an axis")
    return tuple(shape[i] for i in sorted(kept))


def _normalization_weights(config: Mapping[str, Any], shapes: list[Shape]
                           ) -> list[WeightSpec]:
    (shape,) = shapes
    kept = _kept(config, shape)
    if config["mean"] is not None or config["variance"] is not None:
        return []  # statistics given in the config
    return [WeightSpec("mean", kept, False), WeightSpec("variance", kept, False),
            WeightSpec("count", (), False, "int64")]


@converter("Normalization", config=spec(
    axis=Axes(none=True), invert=Choice((True, False)),
    mean=Free("statistics given in the config: broadcast over the input"),
    variance=Free("statistics given in the config: broadcast over the input")).reading(
        _normalization_weights, required=("axis", "mean", "variance")))
def normalization(ctx: LayerContext) -> int:
    invert = bool(ctx.config.get("invert", False))
    shape = _broadcast_shape(ctx)
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
        used = [ctx.layer.state.get(a) for a in ("mean", "variance")]
        if all(u is not None for u in used):
            arrays = [np.asarray(u, np.float32).reshape(p.shape) for u, p in zip(used, (mean,
                                                                                      var))]
            if any(not np.array_equal(a, p.value, equal_nan=True) for a, p in
                   zip(arrays, (mean, var))):
                mean, var = (_replaced(ctx, p, a) for p, a in zip((mean, var), arrays))
                ctx.note = ("the statistics adapt() left in the layer, which Keras computes "
                            "with: its variables were set to other values since; ")
    else:
        values = [_given(ctx, a, shape) for a in ("mean", "variance")]
        mean = ctx.config_param("mean", "mu", values[0],
                                f"mean, shape ({kept}): the means (given in the config)")
        var = ctx.config_param("variance", "sigma^2", values[1],
                               f"variance, shape ({kept}): the variances (given in the config)")
    # Keras reads its global epsilon() each time the layer runs; this is its value now.
    eps = ctx.constant("epsilon", float(keras_setting("epsilon")))
    ctx.constants["invert"] = invert
    ctx.note += (f"divides by max(sqrt(variance), ε) with ε = {eps.value:g}, Keras' epsilon() "
                 "when the model was read")
    return ctx.apply(Normalize(mean, var, eps, invert, shape, sample))


def _replaced(ctx: LayerContext, param: Param, value: np.ndarray) -> Param:
    """``param`` with the values the layer computes with."""
    new = dataclasses.replace(param, value=value)
    ctx.params[ctx.params.index(param)] = new
    return new


def _broadcast_shape(ctx: LayerContext) -> tuple[int, ...]:
    """The statistics' per-sample shape, as Keras' ``Normalization.build`` makes it: the
    input's length along each kept axis, 1 along the others."""
    sample = tuple(ctx.input_shape)
    axis = ctx.config.get("axis", -1)
    axes = [] if axis is None else list(axis) if isinstance(axis, (list, tuple)) else [axis]
    keep = set()
    for a in axes:
        index = int(a) - 1 if int(a) > 0 else len(sample) + int(a)
        if not 0 <= index < len(sample):
            raise ctx.reject(f"axis={axis!r} for inputs of shape {sample}")
        keep.add(index)
    shape = tuple(d if i in keep else 1 for i, d in enumerate(sample))
    live = ctx.layer.state.get("mean")
    if live is not None and tuple(np.shape(live)[1:]) != shape:
        raise ctx.reject(f"statistics of shape {np.shape(live)[1:]} for inputs of shape "
                         f"{sample}")
    return shape


def _given(ctx: LayerContext, key: str, shape: tuple[int, ...]) -> np.ndarray:
    """A statistic given in the config, as the layer computes with it (broadcast to the
    kept axes as Keras' ``build`` does)."""
    live = ctx.layer.state.get(key)
    if live is not None:
        return np.asarray(live, np.float32).reshape(shape)
    kept = tuple(d for d in shape if d != 1) or ()
    try:
        value = np.asarray(ctx.config.get(key), np.float32)
        return np.broadcast_to(value.reshape(value.shape), kept or value.shape).reshape(shape)
    except (ValueError, TypeError):
        raise ctx.reject(f"{key} of shape {np.shape(ctx.config.get(key))} for statistics of "
                         f"shape {shape}") from None
