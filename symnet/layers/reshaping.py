"""Layers that move numbers without arithmetic: ``Flatten``, ``Reshape``, ``Permute``,
``RepeatVector``, zero padding, cropping, upsampling."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..ops import Rearrange, Resample, Reshape
from . import LayerContext, converter
from .convolutional import FORMAT, channels_back, channels_last
from .spec import Choice, Free, Ints, Number, Shape, spec


def _reshape(ctx: LayerContext, value: int, note: str) -> int:
    target = tuple(int(d) for d in ctx.output_shape)
    ctx.constants["target_shape"] = target
    ctx.note = note
    return ctx.apply(Reshape(tuple(ctx.shape(value)), target), value)


@converter("Flatten", config=spec(
    data_format=Choice(("channels_last", "channels_first", None))).reading(
        output=lambda config, shapes: [(math.prod(shapes[0]),)], required=("data_format",)))
def flatten(ctx: LayerContext) -> int:
    value, permuted = channels_last(ctx, ctx.x) if len(ctx.input_shape) > 1 else (ctx.x, False)
    order = "channels last, then row-major" if permuted else "row-major (C) order"
    return _reshape(ctx, value, f"the entries in {order}, as one row")


def _reshaped(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    """Keras' target shape, a -1 worked out from the input's size."""
    (shape,) = shapes
    target = [int(d) for d in config["target_shape"]]
    size = math.prod(shape)
    if target.count(-1) > 1 or any(d == 0 or d < -1 for d in target):
        raise ValueError(f"target_shape {target}")
    if -1 in target:
        known = math.prod(d for d in target if d != -1)
        if size % known:
            raise ValueError(f"target_shape {target} for {size} entries")
        target[target.index(-1)] = size // known
    if math.prod(target) != size:
        raise ValueError(f"target_shape {target} for inputs of shape {shape}")
    return [tuple(target)]


@converter("Reshape", config=spec(target_shape=Free("the same entries in a new shape")).reading(
    output=_reshaped, required=("target_shape",)))
def reshape(ctx: LayerContext) -> int:
    return _reshape(ctx, ctx.x, f"the entries in row-major (C) order, reshaped to "
                    f"{ctx.output_shape}")


def _permuted(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    (shape,) = shapes
    dims = [int(d) for d in config["dims"]]
    if sorted(dims) != list(range(1, len(shape) + 1)):
        raise ValueError(f"dims {dims} for inputs of shape {shape}")
    return [tuple(shape[d - 1] for d in dims)]


def _repeated(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    (shape,) = shapes
    if len(shape) != 1:
        raise ValueError(f"inputs of shape {shape}, expected a vector")
    return [(int(config["n"]), *shape)]


@converter("Permute", config=spec(dims=Free("a permutation of the non-batch axes")).reading(
    output=_permuted, required=("dims",)))
def permute(ctx: LayerContext) -> int:
    dims = tuple(int(d) - 1 for d in ctx.config["dims"])
    shape = ctx.input_shape
    ctx.constants["dims"] = tuple(d + 1 for d in dims)
    ctx.note = f"axes reordered: output axis k is input axis {tuple(d + 1 for d in dims)}[k]"
    return ctx.apply(Rearrange("permute", shape, tuple(shape[d] for d in dims), dims))


@converter("RepeatVector", config=spec(n=Number(1, integer=True)).reading(
    output=_repeated, required=("n",)))
def repeat_vector(ctx: LayerContext) -> int:
    n = int(ctx.config["n"])
    ctx.constants["n"] = n
    ctx.note = f"the input vector, {n} times, one row each"
    return ctx.apply(Rearrange("repeat", ctx.input_shape, (n, *ctx.input_shape)))


def _pairs(value: Any, rank: int) -> list[tuple[int, int]]:
    if isinstance(value, int):
        return [(value, value)] * rank
    items = list(value)
    if rank == 1 and len(items) == 2 and all(isinstance(v, int) for v in items):
        return [(int(items[0]), int(items[1]))]
    return [(int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1])) for v in items]


def _pad_or_crop(ctx: LayerContext, key: str, kind: str) -> int:
    rank = len(ctx.input_shape) - 1
    pairs = _pairs(ctx.config[key], rank)
    value, permuted = channels_last(ctx, ctx.x)
    shape = ctx.shape(value)
    sign = 1 if kind == "pad" else -1
    target = tuple(n + sign * (a + b) for n, (a, b) in zip(shape[:-1], pairs)) + (shape[-1],)
    before = tuple(a for a, _ in pairs) + (0,)
    value = ctx.apply(Rearrange(kind, shape, target, before), value)
    ctx.constants[key] = tuple(pairs)
    ctx.note = (f"zeros added around the spatial axes: {pairs} (before, after)" if kind == "pad"
                else f"entries cut off the spatial axes: {pairs} (before, after)")
    return channels_back(ctx, value, permuted)


def _moved(key: str, sign: int) -> Any:
    """The output shape of a padding (``sign`` 1) or cropping (-1) by ``config[key]``."""

    def output(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
        (shape,) = shapes
        first = config.get("data_format", "channels_last") == "channels_first"
        spatial, channels = (shape[1:], shape[0]) if first else (shape[:-1], shape[-1])
        pairs = _pairs(config[key], len(spatial))
        if len(pairs) != len(spatial) or len(spatial) not in (1, 2, 3):
            raise ValueError(f"{key} {config[key]} for inputs of shape {shape}")
        sizes = tuple(n + sign * (a + b) for n, (a, b) in zip(spatial, pairs))
        return [(channels, *sizes) if first else (*sizes, channels)]

    return output


def _upsampled(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    (shape,) = shapes
    first = config.get("data_format", "channels_last") == "channels_first"
    spatial, channels = (shape[1:], shape[0]) if first else (shape[:-1], shape[-1])
    size = config["size"]
    factors = [int(v) for v in size] if isinstance(size, (list, tuple)) else [int(size)] * len(
        spatial)
    if len(factors) != len(spatial) or len(spatial) not in (1, 2, 3) or (
            config.get("interpolation", "nearest") != "nearest" and len(spatial) != 2):
        raise ValueError(f"size {size} ({config.get('interpolation', 'nearest')}) for inputs "
                         f"of shape {shape}")
    sizes = tuple(n * f for n, f in zip(spatial, factors))
    return [(channels, *sizes) if first else (*sizes, channels)]


# Keras' 1-D classes: ZeroPadding1D states its data format (Keras 3.4 on), Cropping1D and
# UpSampling1D have none (channels last); the others state it, and UpSampling2D its
# interpolation. A file must state each (Keras would default it from its settings).
@converter("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
           config=spec(padding=Ints(0, pairs=True), data_format=FORMAT).reading(
               output=_moved("padding", 1), required=("padding", "data_format")))
def zero_padding(ctx: LayerContext) -> int:
    return _pad_or_crop(ctx, "padding", "pad")


_CROPPING = spec(cropping=Ints(0, pairs=True), data_format=FORMAT)


@converter("Cropping1D", config=_CROPPING.reading(output=_moved("cropping", -1),
                                                  required=("cropping",)))
@converter("Cropping2D", "Cropping3D", config=_CROPPING.reading(
    output=_moved("cropping", -1), required=("cropping", "data_format")))
def cropping(ctx: LayerContext) -> int:
    return _pad_or_crop(ctx, "cropping", "crop")


_UPSAMPLING = spec(size=Ints(1), data_format=FORMAT,
                   interpolation=Choice(("nearest", "bilinear")))


@converter("UpSampling1D", config=_UPSAMPLING.reading(output=_upsampled, required=("size",)))
@converter("UpSampling2D", config=_UPSAMPLING.reading(
    output=_upsampled, required=("size", "data_format", "interpolation")))
@converter("UpSampling3D", config=_UPSAMPLING.reading(
    output=_upsampled, required=("size", "data_format")))
def upsampling(ctx: LayerContext) -> int:
    rank = len(ctx.input_shape) - 1
    size = ctx.config["size"]
    factors = (tuple(int(v) for v in size) if isinstance(size, (list, tuple))
               else (int(size),) * rank)
    interpolation = ctx.config.get("interpolation", "nearest")
    value, permuted = channels_last(ctx, ctx.x)
    shape = ctx.shape(value)
    target = tuple(n * f for n, f in zip(shape[:-1], factors)) + (shape[-1],)
    ctx.constants.update(size=factors, interpolation=interpolation)
    if interpolation == "nearest":
        value = ctx.apply(Rearrange("upsample", shape, target, factors + (1,)), value)
        ctx.note = f"each entry repeated {'×'.join(map(str, factors))} times (nearest)"
    elif interpolation == "bilinear" and rank == 2:
        value = ctx.apply(Resample(shape, target), value)
        ctx.note = ("bilinear interpolation with half-pixel centres, as tf.image.resize: "
                    "each output is a weighted mean of the 4 nearest inputs")
    else:
        raise ctx.reject(f"interpolation={interpolation!r} is not supported; nearest (any "
                         "rank) and bilinear (2D) are")
    return channels_back(ctx, value, permuted)
