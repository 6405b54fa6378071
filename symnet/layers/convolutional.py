"""Convolutions (ordinary, grouped, dilated, causal, depthwise, separable, transposed) and
pooling, in both data formats."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..functions.convolution import Window
from ..ops import BiasAdd, Conv, GlobalPool, Pool, Rearrange
from ..ops.conv import DEPTHWISE, ORDINARY, TRANSPOSED
from . import Definition, LayerContext, converter
from .core import activate
from .spec import (
    CONSTRAINT,
    INITIALIZER,
    REGULARIZER,
    ActivationName,
    Choice,
    Ints,
    Number,
    Shape,
    WeightSpec,
    spec,
)

FLAG = Choice((True, False))
FORMAT = Choice(("channels_last", "channels_first"))
_WEIGHTS = {f"{w}_{what}": domain for w in ("kernel", "bias")
            for what, domain in (("initializer", INITIALIZER), ("regularizer", REGULARIZER),
                                 ("constraint", CONSTRAINT))}
_CONV = dict(kernel_size=Ints(1), strides=Ints(1), dilation_rate=Ints(1), data_format=FORMAT,
             activation=ActivationName(), use_bias=FLAG, activity_regularizer=REGULARIZER,
             **_WEIGHTS)
_DEPTHWISE = {f"depthwise_{what}": domain for what, domain in (
    ("initializer", INITIALIZER), ("regularizer", REGULARIZER), ("constraint", CONSTRAINT))}
_POINTWISE = {f"pointwise_{what}": domain for what, domain in (
    ("initializer", INITIALIZER), ("regularizer", REGULARIZER), ("constraint", CONSTRAINT))}


def _layout(config: Mapping[str, Any], shape: Shape) -> tuple[Shape, int, bool]:
    """The input's spatial shape, its channels and whether they come first."""
    first = config["data_format"] == "channels_first"
    return (shape[1:], shape[0], True) if first else (shape[:-1], shape[-1], False)


def _sizes(config: Mapping[str, Any], spatial: Shape, window: Shape, strides: Shape,
           dilation: Shape) -> Shape:
    """Each spatial axis' output length (Keras' arithmetic for valid, same and causal)."""
    padding = str(config["padding"]).lower()
    out = []
    for n, k, s, d in zip(spatial, window, strides, dilation, strict=True):
        if padding == "valid":
            out.append((n - d * (k - 1) - 1) // s + 1)
        elif padding in ("same", "causal"):
            out.append((n + s - 1) // s)
        else:
            raise ValueError(f"padding {padding!r}")
    return tuple(out)


def _placed(first: bool, spatial: Shape, channels: int) -> Shape:
    return (channels, *spatial) if first else (*spatial, channels)


def _conv_weights(config: Mapping[str, Any], shapes: list[Shape]) -> list[WeightSpec]:
    (shape,) = shapes
    spatial, channels, _ = _layout(config, shape)
    groups, filters = int(config.get("groups", 1)), int(config["filters"])
    if groups < 1 or channels % groups or filters % groups:
        raise ValueError(f"{channels} channels and {filters} filters in {groups} groups")
    kernel = [WeightSpec("kernel", (*_tuple(config["kernel_size"], len(spatial)),
                                    channels // groups, filters))]
    return kernel + [WeightSpec("bias", (filters,))] if config["use_bias"] else kernel


def _conv_output(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    (shape,) = shapes
    spatial, _, first = _layout(config, shape)
    rank = len(spatial)
    if rank < 1 or (config["padding"] == "causal" and rank != 1):
        raise ValueError(f"inputs of shape {shape}")
    sizes = _sizes(config, spatial, _tuple(config["kernel_size"], rank),
                   _tuple(config["strides"], rank), _tuple(config["dilation_rate"], rank))
    return [_placed(first, sizes, int(config["filters"]))]


def _pool_output(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    (shape,) = shapes
    spatial, channels, first = _layout(config, shape)
    rank = len(spatial)
    size = _tuple(config["pool_size"], rank)
    strides = _tuple(config["strides"] if config["strides"] is not None else config[
        "pool_size"], rank)
    return [_placed(first, _sizes(config, spatial, size, strides, (1,) * rank), channels)]


def _global_output(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    (shape,) = shapes
    spatial, channels, first = _layout(config, shape)
    if config["keepdims"]:
        return [_placed(first, (1,) * len(spatial), channels)]
    return [(channels,)]


def _transposed_weights(config: Mapping[str, Any], shapes: list[Shape]) -> list[WeightSpec]:
    """A transposed convolution's kernel: (*window, filters, input channels)."""
    (shape,) = shapes
    spatial, channels, _ = _layout(config, shape)
    filters = int(config["filters"])
    kernel = [WeightSpec("kernel", (*_tuple(config["kernel_size"], len(spatial)), filters,
                                    channels))]
    return kernel + [WeightSpec("bias", (filters,))] if config["use_bias"] else kernel


def _transposed_output(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    """Keras' ``deconv_output_length`` on each spatial axis (an ``output_padding`` not below
    its stride is refused, as Keras refuses it)."""
    (shape,) = shapes
    spatial, _, first = _layout(config, shape)
    rank = len(spatial)
    if rank < 1:
        raise ValueError(f"inputs of shape {shape}")
    padding = str(config["padding"])
    strides, dilation = _tuple(config["strides"], rank), _tuple(config["dilation_rate"], rank)
    if max(strides) > 1 and max(dilation) > 1:  # Keras refuses them together
        raise ValueError(f"strides {strides} with dilation_rate {dilation}")
    extra = config["output_padding"]
    extras: tuple[int | None, ...] = ((None,) * rank if extra is None
                                      else _tuple(extra, rank))
    out = []
    for n, k, s, d, e in zip(spatial, _tuple(config["kernel_size"], rank), strides, dilation,
                             extras, strict=True):
        reach = (k - 1) * d + 1
        if e is not None and e >= s:
            raise ValueError(f"output_padding {e} not below the stride {s}")
        if padding not in ("valid", "same"):
            raise ValueError(f"padding {padding!r}")
        if e is None:
            out.append(n * s + max(reach - s, 0) if padding == "valid" else n * s)
        else:
            out.append((n - 1) * s + reach - 2 * (reach // 2 if padding == "same" else 0) + e)
    return [_placed(first, tuple(out), int(config["filters"]))]


def _depthwise_weights(config: Mapping[str, Any], shapes: list[Shape]) -> list[WeightSpec]:
    """A depthwise convolution's kernel: (*window, input channels, depth multiplier)."""
    (shape,) = shapes
    spatial, channels, _ = _layout(config, shape)
    multiplier = int(config["depth_multiplier"])
    kernel = [WeightSpec("kernel", (*_tuple(config["kernel_size"], len(spatial)), channels,
                                    multiplier), legacy="depthwise_kernel")]
    return (kernel + [WeightSpec("bias", (channels * multiplier,))] if config["use_bias"]
            else kernel)


def _uncausal(config: Mapping[str, Any]) -> None:
    """Keras 3 refuses causal padding for depthwise and separable convolutions (Keras 2
    took it): a file that states it is not one Keras 3 reads."""
    if config["padding"] not in ("valid", "same"):
        raise ValueError(f"padding {config['padding']!r}")


def _depthwise_output(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    (shape,) = shapes
    _uncausal(config)
    _, channels, _ = _layout(config, shape)
    return _conv_output({**config, "filters": channels * int(config["depth_multiplier"])},
                        shapes)


def _separable_weights(config: Mapping[str, Any], shapes: list[Shape]) -> list[WeightSpec]:
    """A separable convolution's depthwise kernel, its 1×…×1 pointwise kernel, its bias."""
    (shape,) = shapes
    spatial, channels, _ = _layout(config, shape)
    rank, multiplier = len(spatial), int(config["depth_multiplier"])
    filters = int(config["filters"])
    kernels = [WeightSpec("depthwise_kernel", (*_tuple(config["kernel_size"], rank), channels,
                                               multiplier)),
               WeightSpec("pointwise_kernel", (*(1,) * rank, channels * multiplier, filters))]
    return kernels + [WeightSpec("bias", (filters,))] if config["use_bias"] else kernels


def _separable_output(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    _uncausal(config)
    return _conv_output(config, shapes)


_CONV_REQUIRED = ("filters", "kernel_size", "strides", "padding", "data_format",
                  "dilation_rate", "activation", "use_bias")


def _tuple(value: Any, rank: int) -> tuple[int, ...]:
    values = tuple(value) if isinstance(value, (list, tuple)) else (value,) * rank
    return tuple(int(v) for v in values)


def channels_last(ctx: LayerContext, value: int) -> tuple[int, bool]:
    """A channels-first value permuted to channels last (and whether it was)."""
    fmt = ctx.config.get("data_format")
    if fmt is None:  # Keras standardizes None to its global setting
        from .record import keras_setting

        fmt = keras_setting("image_data_format")
    if fmt != "channels_first":
        return value, False
    shape = ctx.shape(value)
    rank = len(shape) - 1
    perm = (*range(1, rank + 1), 0)
    return ctx.apply(Rearrange("permute", shape, tuple(shape[p] for p in perm), perm),
                     value), True


def channels_back(ctx: LayerContext, value: int, permuted: bool) -> int:
    """Undo :func:`channels_last`."""
    if not permuted:
        return value
    shape = ctx.shape(value)
    rank = len(shape) - 1
    perm = (rank, *range(rank))
    return ctx.apply(Rearrange("permute", shape, tuple(shape[p] for p in perm), perm), value)


def window(ctx: LayerContext, spatial: tuple[int, ...], kernel: tuple[int, ...],
           strides: tuple[int, ...], dilation: tuple[int, ...], padding: str) -> Window:
    """The window of an ordinary convolution or pooling, padded as TensorFlow pads."""
    out, before = [], []
    for n, k, s, d in zip(spatial, kernel, strides, dilation):
        reach = (k - 1) * d + 1
        if padding == "valid":
            o, p = (n - reach) // s + 1, 0
        elif padding == "same":
            o = -(-n // s)
            need = (o - 1) * s + reach - n
            p = max(need, 0) // 2
            if need < 0 and len(spatial) == 3:
                # TensorFlow's 3-D convolution and pooling kernels do not clip this padding
                # at 0: a window shorter than the stride starts -need/2 positions in
                # (rounded toward 0), where the 1-D and 2-D ones start at 0.
                p = -(-need // 2)
        elif padding == "causal":
            p = reach - 1
            o = (n + p - reach) // s + 1
        else:
            raise ctx.reject(f"padding={padding!r} is not supported")
        if o < 1:
            raise ctx.reject(f"a window of {reach} on an axis of {n} leaves no output")
        out.append(o)
        before.append(p)
    return Window(spatial, tuple(out), kernel, strides, dilation, tuple(before))


def _transposed_window(ctx: LayerContext, spatial: tuple[int, ...], kernel: tuple[int, ...],
                       strides: tuple[int, ...], dilation: tuple[int, ...], padding: str,
                       output_padding: Any) -> Window:
    rank = len(kernel)
    extra = [None] * rank if output_padding is None else list(_tuple(output_padding, rank))
    out, before = [], []
    for n, k, s, d, e in zip(spatial, kernel, strides, dilation, extra):
        reach = (k - 1) * d + 1
        if padding == "valid":
            o = (n - 1) * s + reach + (max(reach, s) - reach if e is None else e)
            p = 0
        elif padding == "same":
            o = n * s if e is None else (n - 1) * s + reach % 2 + e
            p = max((n - 1) * s + reach - o, 0) // 2
        else:
            raise ctx.reject(f"padding={padding!r} is not supported")
        out.append(o)
        before.append(p)
    return Window(spatial, tuple(out), kernel, strides, dilation, tuple(before),
                  transpose=True)


def _define_convolution(ctx: LayerContext, op: Conv) -> None:
    """What ``⋆`` computes, with this layer's strides, dilation and padding."""
    w, kernel, text = op.window, ctx.tex(op.kernel.symbol), str(op.kernel.symbol)
    subs = {"s": w.strides, "d": w.dilation, "p": w.pad_before}
    given = ", ".join(f"{k} = {v if len(v) > 1 else v[0]}" for k, v in subs.items())
    if w.transpose:
        ctx.define(Definition(
            rf"\left({kernel} \star^{{\top}} x\right)_{{o, j}} = \sum_{{a, i, c \,:\, "
            rf"s\,i + d\,a - p = o}} {kernel}_{{a, j, c}}\, x_{{i, c}}",
            f"({text} ⋆ᵀ x)[o, j] = Σ over a, i, c with s·i + d·a − p = o of "
            f"{text}[a, j, c]·x[i, c]; {given}"))
    elif op.layout == DEPTHWISE:
        ctx.define(Definition(
            rf"\left({kernel} \star x\right)_{{o,\, c m + q}} = \sum_{{a}} {kernel}_{{a, c, q}}"
            rf"\, x_{{s\,o + d\,a - p,\; c}}",
            f"({text} ⋆ x)[o, c·m + q] = Σ_a {text}[a, c, q]·x[s·o + d·a − p, c] (each "
            f"channel alone, x = 0 outside); {given}"))
    else:
        ctx.define(Definition(
            rf"\left({kernel} \star x\right)_{{o, j}} = \sum_{{a, c}} {kernel}_{{a, c, j}}\,"
            rf" x_{{s\,o + d\,a - p,\; c}}",
            f"({text} ⋆ x)[o, j] = Σ_(a, c) {text}[a, c, j]·x[s·o + d·a − p, c] "
            f"(Keras' cross-correlation: the kernel is not flipped; x = 0 outside); {given}"))


def convolve(ctx: LayerContext, kernel_name: str = "kernel", layout: int = ORDINARY) -> int:
    """Apply this layer's convolution (its bias and activation too) to its input."""
    c = ctx.config
    rank = len(ctx.input_shape) - 1
    value, permuted = channels_last(ctx, ctx.x)
    spatial, c_in = ctx.shape(value)[:-1], ctx.shape(value)[-1]
    kernel_size = _tuple(c["kernel_size"], rank)
    strides, dilation = _tuple(c.get("strides", 1), rank), _tuple(c.get("dilation_rate", 1), rank)
    padding = str(c.get("padding", "valid")).lower()
    transpose = layout == TRANSPOSED
    groups = int(c.get("groups", 1) or 1)
    if layout == DEPTHWISE:
        multiplier = int(c.get("depth_multiplier", 1))
        groups, c_out = c_in, c_in * multiplier
    else:
        c_out = int(c["filters"])
    if transpose:
        w = _transposed_window(ctx, spatial, kernel_size, strides, dilation, padding,
                               c.get("output_padding"))
    else:
        w = window(ctx, spatial, kernel_size, strides, dilation, padding)
    shape_in = {ORDINARY: f"{kernel_size + (c_in // groups, c_out)}",
                TRANSPOSED: f"{kernel_size + (c_out, c_in)}",
                DEPTHWISE: f"{kernel_size + (c_in, c_out // c_in)}"}[layout]
    kernel = ctx.param(kernel_name, "W", f"{kernel_name}, shape {shape_in}: the weights of "
                       f"each tap of the {'×'.join(map(str, kernel_size))} window")
    op = Conv(kernel, w, groups, layout, c_in, c_out, padding)
    value = ctx.apply(op, value)
    _define_convolution(ctx, op)
    if bool(c.get("use_bias", True)) and "bias" in ctx._weights:
        bias = ctx.param("bias", "b", f"bias, shape ({c_out},): one offset per output channel")
        value = ctx.apply(BiasAdd(bias), value)
    value = activate(ctx, value, ctx.config.get("activation"))
    ctx.constants.update(kernel_size=kernel_size, strides=strides, padding=padding,
                         dilation_rate=dilation, groups=groups)
    ctx.note = _shape_note(w, padding)
    return channels_back(ctx, value, permuted)


def _shape_note(w: Window, padding: str) -> str:
    """The output size arithmetic, axis by axis."""
    parts = []
    for n, k, s, d, p, q, o in zip(w.in_spatial, w.kernel, w.strides, w.dilation,
                                   w.pad_before, w.pad_after(), w.out_spatial):
        reach = (k - 1) * d + 1
        if w.transpose:
            parts.append(f"({n} − 1)·{s} + {reach} − 2·{p} → {o}" if padding == "valid"
                         else f"{n}·{s} → {o}")
        else:
            parts.append(f"⌊({n} + {p + q} − {reach})/{s}⌋ + 1 = {o}")
    return ("output size per axis, ⌊(n + padding − window)/stride⌋ + 1: " if not w.transpose
            else "output size per axis: ") + "; ".join(parts)


@converter("Conv1D", "Conv2D", "Conv3D", config=spec(
    filters=Number(1, integer=True), groups=Number(1, integer=True),
    padding=Choice(("valid", "same", "causal")), **_CONV).reading(
        _conv_weights, _conv_output, _CONV_REQUIRED))
def convolution(ctx: LayerContext) -> int:
    return convolve(ctx)


@converter("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose", config=spec(
    filters=Number(1, integer=True), padding=Choice(("valid", "same")),
    output_padding=Ints(0, none=True), **_CONV).reading(
        _transposed_weights, _transposed_output, (*_CONV_REQUIRED, "output_padding")))
def transposed_convolution(ctx: LayerContext) -> int:
    return convolve(ctx, layout=TRANSPOSED)


@converter("DepthwiseConv1D", "DepthwiseConv2D", config=spec(
    depth_multiplier=Number(1, integer=True), padding=Choice(("valid", "same", "causal")),
    **_CONV, **_DEPTHWISE).reading(_depthwise_weights, _depthwise_output, (
        "depth_multiplier", *_CONV_REQUIRED[1:])))
def depthwise_convolution(ctx: LayerContext) -> int:
    return convolve(ctx, layout=DEPTHWISE)


@converter("SeparableConv1D", "SeparableConv2D", config=spec(
    filters=Number(1, integer=True), depth_multiplier=Number(1, integer=True),
    padding=Choice(("valid", "same", "causal")), **_CONV, **_DEPTHWISE, **_POINTWISE).reading(
        _separable_weights, _separable_output, ("depth_multiplier", *_CONV_REQUIRED)))
def separable_convolution(ctx: LayerContext) -> int:
    c = ctx.config
    rank = len(ctx.input_shape) - 1
    value, permuted = channels_last(ctx, ctx.x)
    spatial, c_in = ctx.shape(value)[:-1], ctx.shape(value)[-1]
    multiplier, c_out = int(c.get("depth_multiplier", 1)), int(c["filters"])
    kernel_size = _tuple(c["kernel_size"], rank)
    w = window(ctx, spatial, kernel_size, _tuple(c.get("strides", 1), rank),
               _tuple(c.get("dilation_rate", 1), rank), str(c.get("padding", "valid")).lower())
    depthwise = ctx.param("depthwise_kernel", "W", f"depthwise_kernel, shape "
                          f"{kernel_size + (c_in, multiplier)}: each input channel's own window")
    pointwise = ctx.param("pointwise_kernel", "V", f"pointwise_kernel, shape "
                          f"{(1,) * rank + (c_in * multiplier, c_out)}: mixes the channels")
    value = ctx.apply(Conv(depthwise, w, c_in, DEPTHWISE, c_in, c_in * multiplier), value)
    unit = Window(w.out_spatial, w.out_spatial, (1,) * rank, (1,) * rank, (1,) * rank,
                  (0,) * rank)
    value = ctx.apply(Conv(pointwise, unit, 1, ORDINARY, c_in * multiplier, c_out), value)
    if bool(c.get("use_bias", True)):
        bias = ctx.param("bias", "b", f"bias, shape ({c_out},): one offset per output channel")
        value = ctx.apply(BiasAdd(bias), value)
    value = activate(ctx, value, ctx.config.get("activation"))
    ctx.note = "a depthwise convolution (each channel alone), then a 1×1 convolution; " + \
        _shape_note(w, str(c.get("padding", "valid")).lower())
    return channels_back(ctx, value, permuted)


_POOLS = {f"{kind}Pooling{r}D": (kind.lower().replace("max", "max"), r)
          for kind in ("Max", "Average") for r in (1, 2, 3)}


@converter(*_POOLS, config=spec(pool_size=Ints(1), strides=Ints(1, none=True),
                                 padding=Choice(("valid", "same")), data_format=FORMAT).reading(
    output=_pool_output, required=("pool_size", "strides", "padding", "data_format")))
def pooling(ctx: LayerContext) -> int:
    kind, rank = _POOLS[ctx.kind]
    kind = "max" if kind == "max" else "average"
    c = ctx.config
    value, permuted = channels_last(ctx, ctx.x)
    spatial = ctx.shape(value)[:-1]
    size = _tuple(c["pool_size"], rank)
    strides = _tuple(c.get("strides") or c["pool_size"], rank)
    padding = str(c.get("padding", "valid")).lower()
    w = window(ctx, spatial, size, strides, (1,) * rank, padding)
    value = ctx.apply(Pool(w, kind, padding), value)
    ctx.constants.update(pool_size=size, strides=strides, padding=padding)
    ctx.note = (f"the {'largest' if kind == 'max' else 'mean'} entry of each "
                f"{'×'.join(map(str, size))} window, per channel; " + _shape_note(w, padding))
    return channels_back(ctx, value, permuted)


_GLOBAL = {f"Global{kind}Pooling{r}D": kind.lower() for kind in ("Max", "Average")
           for r in (1, 2, 3)}


@converter(*_GLOBAL, config=spec(data_format=FORMAT, keepdims=FLAG).reading(
    output=_global_output, required=("data_format", "keepdims")))
def global_pooling(ctx: LayerContext) -> int:
    kind = "max" if _GLOBAL[ctx.kind] == "max" else "average"
    keepdims = bool(ctx.config.get("keepdims", False))
    value, permuted = channels_last(ctx, ctx.x)
    value = ctx.apply(GlobalPool(kind, keepdims), value)
    ctx.constants["keepdims"] = keepdims
    ctx.note = f"the {'largest' if kind == 'max' else 'mean'} entry of each channel"
    if keepdims:
        return channels_back(ctx, value, permuted)
    return value
