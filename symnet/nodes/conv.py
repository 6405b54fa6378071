"""``Conv``, ``ConvTranspose``, ``MaxPool``, ``AveragePool``, ``GlobalAveragePool``/
``GlobalMaxPool`` (channels first, as ONNX lays tensors out: the channels are moved last for
the window's arithmetic and back, as Keras' ``channels_first`` does), ``BatchNormalization``
and ``LayerNormalization``."""

from __future__ import annotations

import math
from typing import Any

from ..functions.convolution import Window
from ..ops import (
    BatchNormInference,
    BiasAdd,
    Conv,
    GlobalPool,
    LayerNorm,
    Pool,
    Rearrange,
    Reshape,
)
from ..ops.conv import IN_OUT_KERNEL, OUT_IN_KERNEL
from . import NodeContext, converter
from .core import f32


def _channels_last(ctx: NodeContext, x: str) -> tuple[str, tuple[int, ...]]:
    """``x`` (N, C, *spatial) as one sample (*spatial, C); returns it and the ONNX batch-free
    shape (C, *spatial)."""
    full = ctx.full_shape(x)
    if len(full) < 3:
        raise ctx.reject(f"input of shape {full}; expected (N, C, spatial...)")
    if ctx.builder.batch:
        ctx.axis(1, len(full))
    elif full[0] != 1:
        raise ctx.reject(f"input of shape {full}: a batch of {full[0]} inside one sample is "
                         "not supported")
    else:
        x = ctx.apply(Reshape(full, full[1:]), x)
    sample = tuple(full[1:])
    rank = len(sample) - 1
    perm = (*range(1, rank + 1), 0)
    moved = tuple(sample[p] for p in perm)
    return ctx.apply(Rearrange("permute", sample, moved, perm), x), sample


def _channels_back(ctx: NodeContext, x: str) -> str:
    shape = ctx.shape(x)
    rank = len(shape) - 1
    perm = (rank, *range(rank))
    back = tuple(shape[p] for p in perm)
    if all(d == 1 for d in shape[:-1]):
        out = ctx.apply(Reshape(shape, back), x)
    else:
        out = ctx.apply(Rearrange("permute", shape, back, perm), x)
    if not ctx.builder.batch:
        out = ctx.apply(Reshape(back, (1, *back)), out)
    return out


def _ints(value: Any, rank: int, default: int) -> tuple[int, ...]:
    if value is None:
        return (default,) * rank
    values = tuple(int(v) for v in value)
    if len(values) != rank:
        raise ValueError(f"expected {rank} values, received {list(values)}")
    return values


def _window(ctx: NodeContext, spatial: tuple[int, ...], kernel: tuple[int, ...],
            pooling: bool = False) -> tuple[Window, str]:
    """The window of a convolution or pooling: ``strides``, ``dilations``, ``pads`` (begin
    then end of each axis), ``auto_pad``, and for pooling ``ceil_mode``."""
    rank = len(spatial)
    try:
        strides = _ints(ctx.attr("strides"), rank, 1)
        dilation = _ints(ctx.attr("dilations"), rank, 1)
        pads = _ints(ctx.attr("pads"), 2 * rank, 0)
    except ValueError as exc:
        raise ctx.reject(str(exc)) from None
    auto = str(ctx.attr("auto_pad", "NOTSET"))
    ceil = int(ctx.attr("ceil_mode", 0)) if pooling else 0
    out, before = [], []
    for k, (n, size, s, d) in enumerate(zip(spatial, kernel, strides, dilation)):
        reach = (size - 1) * d + 1
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            o = -(-n // s)
            total = max((o - 1) * s + reach - n, 0)
            p = total // 2 if auto == "SAME_UPPER" else total - total // 2
        elif auto in ("VALID", "NOTSET"):
            pb, pe = (pads[k], pads[k + rank]) if auto == "NOTSET" else (0, 0)
            span = n + pb + pe - reach
            o = (-(-span // s) if ceil else span // s) + 1
            if ceil and (o - 1) * s >= n + pb:
                o -= 1  # the last window starts in the end padding: dropped
            p = pb
        else:
            raise ctx.reject(f"auto_pad = {auto!r} is not supported")
        if o < 1:
            raise ctx.reject(f"a window of {reach} on an axis of {n} leaves no output")
        out.append(o)
        before.append(p)
    padding = "same" if auto.startswith("SAME") or any(before) else "valid"
    return Window(tuple(spatial), tuple(out), tuple(kernel), strides, dilation,
                  tuple(before)), padding


@converter("Conv")
def conv(ctx: NodeContext) -> Any:
    x, sample = _channels_last(ctx, ctx.tensor(0))
    w = ctx.const(1, "W")
    c_in, spatial = sample[0], sample[1:]
    groups = int(ctx.attr("group", 1))
    kernel = tuple(int(k) for k in (ctx.attr("kernel_shape") or w.shape[2:]))
    if w.ndim != len(sample) + 1 or tuple(w.shape[2:]) != kernel or w.shape[1] * groups != c_in:
        raise ctx.reject(f"weight of shape {w.shape} does not fit input channels {c_in}, "
                         f"group {groups}, kernel {kernel}")
    c_out = int(w.shape[0])
    window, padding = _window(ctx, spatial, kernel)
    weight = ctx.param(1, "W", f"kernel, shape (out, in/groups, *kernel) = {tuple(w.shape)}, "
                       "as stored: output channel j, input channel c, tap a")
    h = ctx.apply(Conv(weight, window, groups, OUT_IN_KERNEL, c_in, c_out, padding), x)
    if ctx.given(2):
        h = ctx.apply(BiasAdd(ctx.param(2, "b", f"bias, shape ({c_out},): one offset per "
                                        "output channel")), h)
    return _channels_back(ctx, h)


@converter("ConvTranspose")
def conv_transpose(ctx: NodeContext) -> Any:
    x, sample = _channels_last(ctx, ctx.tensor(0))
    w = ctx.const(1, "W")
    c_in, spatial = sample[0], sample[1:]
    rank = len(spatial)
    if int(ctx.attr("group", 1)) != 1:
        raise ctx.reject("group > 1 is not supported for a transposed convolution")
    kernel = tuple(int(k) for k in (ctx.attr("kernel_shape") or w.shape[2:]))
    if w.ndim != rank + 2 or w.shape[0] != c_in or tuple(w.shape[2:]) != kernel:
        raise ctx.reject(f"weight of shape {w.shape} does not fit input channels {c_in}")
    c_out = int(w.shape[1])
    try:
        strides = _ints(ctx.attr("strides"), rank, 1)
        dilation = _ints(ctx.attr("dilations"), rank, 1)
        pads = _ints(ctx.attr("pads"), 2 * rank, 0)
        extra = _ints(ctx.attr("output_padding"), rank, 0)
    except ValueError as exc:
        raise ctx.reject(str(exc)) from None
    auto = str(ctx.attr("auto_pad", "NOTSET"))
    if auto != "NOTSET" or ctx.attr("output_shape") is not None:
        raise ctx.reject("auto_pad and output_shape are not supported; give pads")
    out = []
    for k, (n, size, s, d) in enumerate(zip(spatial, kernel, strides, dilation)):
        out.append(s * (n - 1) + extra[k] + (size - 1) * d + 1 - pads[k] - pads[k + rank])
    window = Window(tuple(spatial), tuple(out), kernel, strides, dilation, pads[:rank],
                    transpose=True)
    weight = ctx.param(1, "W", f"kernel, shape (in, out, *kernel) = {tuple(w.shape)}, as "
                       "stored")
    h = ctx.apply(Conv(weight, window, 1, IN_OUT_KERNEL, c_in, c_out, "valid"), x)
    if ctx.given(2):
        h = ctx.apply(BiasAdd(ctx.param(2, "b", f"bias, shape ({c_out},): one offset per "
                                        "output channel")), h)
    return _channels_back(ctx, h)


def _pool(ctx: NodeContext, reduction: str) -> Any:
    x, sample = _channels_last(ctx, ctx.tensor(0))
    spatial = sample[1:]
    kernel = tuple(int(k) for k in ctx.attr("kernel_shape"))
    if reduction == "max":
        ctx.attr("storage_order")  # only changes the indices output, refused if used
    if reduction == "average" and int(ctx.attr("count_include_pad", 0)):
        # The zeros of the padding count: pad them in, then pool without padding.
        rank = len(spatial)
        pads = _ints(ctx.attr("pads"), 2 * rank, 0)
        if any(pads) and str(ctx.attr("auto_pad", "NOTSET")) == "NOTSET":
            shape = ctx.shape(x)
            target = tuple(n + pads[k] + pads[k + rank] for k, n in enumerate(spatial)) + (
                shape[-1],)
            x = ctx.apply(Rearrange("pad", shape, target, (*pads[:rank], 0)), x)
            spatial = target[:-1]
            window, padding = _window(_NoPads(ctx), spatial, kernel, pooling=True)
            h = ctx.apply(Pool(window, reduction, padding), x)
            return _channels_back(ctx, h)
    window, padding = _window(ctx, spatial, kernel, pooling=True)
    h = ctx.apply(Pool(window, reduction, padding), x)
    return _channels_back(ctx, h)


class _NoPads:
    """A node context whose pads are read as zeros (they were padded in already)."""

    def __init__(self, ctx: NodeContext) -> None:
        self._ctx = ctx

    def attr(self, name: str, default: Any = None) -> Any:
        return None if name == "pads" else self._ctx.attr(name, default)

    def reject(self, why: str) -> Any:
        return self._ctx.reject(why)


@converter("MaxPool")
def max_pool(ctx: NodeContext) -> Any:
    return _pool(ctx, "max")


@converter("AveragePool")
def average_pool(ctx: NodeContext) -> Any:
    return _pool(ctx, "average")


def _global(ctx: NodeContext, reduction: str) -> Any:
    x, _ = _channels_last(ctx, ctx.tensor(0))
    h = ctx.apply(GlobalPool(reduction, keepdims=True), x)
    return _channels_back(ctx, h)


@converter("GlobalAveragePool")
def global_average_pool(ctx: NodeContext) -> Any:
    return _global(ctx, "average")


@converter("GlobalMaxPool")
def global_max_pool(ctx: NodeContext) -> Any:
    return _global(ctx, "max")


@converter("BatchNormalization")
def batch_norm(ctx: NodeContext) -> Any:
    """``γ ⊙ (x − μ) ⊘ √(σ² + ε) + β`` along the channels (axis 1), with the stored running
    statistics."""
    ctx.ignore("momentum")
    if int(ctx.attr("training_mode", 0)):
        raise ctx.reject("training_mode = 1: the batch's own statistics, not an inference "
                         "formula")
    if ctx.attr("spatial", 1) != 1:  # pragma: no cover - opset < 9
        raise ctx.reject("spatial = 0 is not supported")
    x = ctx.tensor(0)
    full = ctx.full_shape(x)
    axis = ctx.axis(1, len(full), "channel axis") if len(full) > 1 else 0
    shape = ctx.shape(x)
    n = full[1] if len(full) > 1 else full[0]
    gamma = ctx.param(1, "gamma", f"scale, shape ({n},): learned scale")
    beta = ctx.param(2, "beta", f"bias, shape ({n},): learned shift")
    mean = ctx.param(3, "mu", f"running mean, shape ({n},): the mean of the training data, "
                     "used at inference", trainable=False)
    var = ctx.param(4, "sigma^2", f"running variance, shape ({n},): the variance of the "
                    "training data, used at inference", trainable=False)
    eps = ctx.constant("epsilon", f32(ctx.attr("epsilon", 1e-5)), "epsilon")
    return ctx.apply(BatchNormInference(mean, var, eps, gamma, beta, axis=axis,
                                        sample_shape=shape), x)


@converter("LayerNormalization")
def layer_norm(ctx: NodeContext) -> Any:
    ctx.attr("stash_type")  # float32 inputs: the statistics are computed in float32 anyway
    x = ctx.tensor(0)
    full = ctx.full_shape(x)
    axis = int(ctx.attr("axis", -1)) % len(full)
    axes = tuple(ctx.axis(a, len(full)) for a in range(axis, len(full)))
    shape = ctx.shape(x)
    n = math.prod(full[axis:])
    gamma = ctx.param(1, "gamma", f"scale, {n} values: learned scale")
    beta = ctx.param(2, "beta", f"bias, {n} values: learned shift") if ctx.given(2) else None
    if gamma.size != n or (beta is not None and beta.size != n):
        raise ctx.reject("scale and bias must have the normalised axes' shape")
    eps = ctx.constant("epsilon", f32(ctx.attr("epsilon", 1e-5)), "epsilon")
    return ctx.apply(LayerNorm(eps, gamma, beta, axes=axes, sample_shape=shape), x)

