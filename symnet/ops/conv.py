"""Sliding-window ops: convolution (ordinary, grouped, depthwise, transposed), pooling, global
pooling. Each reads its windows from a :class:`~symnet.functions.convolution.Window`."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import reduce
from typing import Any

import numpy as np

from .. import functions as fx
from ..functions.convolution import Window
from .base import Grads, Op, Param, Rewrite, Worked, numbers_latex, numbers_text

__all__ = ["Conv", "GlobalPool", "Pool", "gather_windows"]

#: How a kernel's array is laid out: Keras' own shapes, and ONNX's (PyTorch's), which put the
#: output channels first, ``(out, in/groups, *kernel)``, or for a transposed convolution
#: ``(in, out, *kernel)``.
ORDINARY, TRANSPOSED, DEPTHWISE, OUT_IN_KERNEL, IN_OUT_KERNEL = 0, 1, 2, 3, 4


def scatter_windows(backend: Any, patches: Any, window: Window, like: Any) -> Any:
    """The transpose of :func:`gather_windows`: each window's entries ``(batch, positions,
    taps, channels)`` added back into the input position they were read from (taps outside
    the input dropped), shaped like the input ``like``."""
    batch, channels = like.shape[0], like.shape[-1]
    size = math.prod(window.in_spatial)
    if patches.dtype == object:
        out = np.full((batch, size, channels), backend.const(0), dtype=object)
    else:
        out = np.zeros((batch, size, channels), dtype=patches.dtype)
    taps = window.taps()
    kept = taps >= 0
    np.add.at(out, (slice(None), taps[kept]), patches[:, kept, :])
    return out.reshape(like.shape)


def gather_windows(backend: Any, x: Any, window: Window) -> tuple[Any, np.ndarray]:
    """``(batch, positions, taps, channels)``: each window's inputs, zero outside the input;
    and the taps table (``-1`` where a tap falls outside)."""
    batch, channels = x.shape[0], x.shape[-1]
    flat = x.reshape(batch, math.prod(window.in_spatial), channels)
    if flat.dtype == object:
        zero = np.full((batch, 1, channels), backend.const(0), dtype=object)
    else:
        zero = np.zeros((batch, 1, channels), dtype=flat.dtype)
    padded = np.concatenate([flat, zero], axis=1)
    taps = window.taps()
    return padded[:, np.where(taps < 0, flat.shape[1], taps), :], taps


@dataclass(frozen=True, eq=False)
class Conv(Op):
    """``W ⋆ x``: a convolution as Keras computes it (a cross-correlation), channels last."""

    kernel: Param
    window: Window
    groups: int = 1
    layout: int = ORDINARY
    in_channels: int = 0
    out_channels: int = 0
    padding: str = "valid"
    affine = True

    def formula(self, x: Any) -> Any:
        return fx.Convolution(x, self.kernel.symbol, self.window.to_tuple(),
                              (self.groups, self.in_channels, self.out_channels, self.layout))

    def _kernel(self, backend: Any) -> Any:
        """The kernel as ``(taps, in/groups, out)``."""
        k = backend.weight(self.kernel)
        taps = self.window.size
        if self.layout == TRANSPOSED:
            k = np.swapaxes(k, -1, -2)
        elif self.layout == OUT_IN_KERNEL:
            k = np.transpose(k.reshape(k.shape[0], k.shape[1], taps), (2, 1, 0))
        elif self.layout == IN_OUT_KERNEL:
            k = np.transpose(k.reshape(k.shape[0], k.shape[1], taps), (2, 0, 1))
        elif self.layout == DEPTHWISE:
            k = k.reshape(taps, 1, self.out_channels)
        return k.reshape(taps, self.in_channels // self.groups, self.out_channels)

    def forward(self, backend: Any, x: Any) -> Any:
        patches, _ = gather_windows(backend, x, self.window)
        batch, positions, taps = patches.shape[:3]
        kernel = self._kernel(backend)
        per_in, per_out = self.in_channels // self.groups, self.out_channels // self.groups
        outs = []
        for g in range(self.groups):
            rows = patches[..., g * per_in:(g + 1) * per_in].reshape(batch * positions,
                                                                     taps * per_in)
            w = kernel[:, :, g * per_out:(g + 1) * per_out].reshape(taps * per_in, per_out)
            outs.append(backend.matmul(rows, w))
        out = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=-1)
        return out.reshape((batch, *self.window.out_spatial, self.out_channels))

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        return (*self.window.out_spatial, self.out_channels)

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return self.window.size * (self.in_channels // self.groups) * (sizes[0] + 2)

    def by_hand(self, inputs: list[np.ndarray], output: np.ndarray) -> tuple[Worked, ...]:
        w = self.window
        out = output.reshape(w.positions, self.out_channels)
        p, j = np.unravel_index(int(np.argmax(np.abs(out))), out.shape)
        taps = w.taps()[p]
        x = inputs[0].reshape(math.prod(w.in_spatial), -1)
        per_in = self.in_channels // self.groups
        group = j // (self.out_channels // self.groups)
        channels = range(group * per_in, (group + 1) * per_in)
        from ..backends import FloatBackend

        kernel = self._kernel(FloatBackend(np.float64))[:, :, j]
        where = tuple(int(v) for v in np.unravel_index(p, w.out_spatial))
        lines = [_position_line(w, where, j, "the output entry largest in magnitude")]
        total = 0.0
        for k, c in enumerate(list(channels)[:4]):
            patch = np.where(taps >= 0, x[np.maximum(taps, 0), c], 0.0).reshape(w.kernel)
            weights = kernel[:, k].reshape(w.kernel)
            part = float(np.sum(patch * weights))
            total += part
            label = f"input channel {c}" if per_in > 1 else "the window"
            lines.append(Worked(
                rf"\sum {numbers_latex(patch)} \odot {numbers_latex(weights)} = {part:.6g}",
                f"{label}: Σ {numbers_text(patch)} ⊙ {numbers_text(weights)} = {part:.6g}"))
        if per_in > 4:
            rest = float(out[p, j]) - total
            lines.append(Worked(rf"\text{{{per_in - 4} more channels}}: {rest:.6g}",
                                f"the {per_in - 4} other input channels add {rest:.6g}"))
        lines.append(Worked(rf"\text{{sum}} = {float(out[p, j]):.6g}",
                            f"sum over the window: {float(out[p, j]):.6g}"))
        return tuple(lines)

    def scaled(self, scale: np.ndarray) -> Conv:
        """The convolution with output channel j multiplied by ``scale[j]`` (float64)."""
        k = np.asarray(self.kernel.value, np.float64)
        if self.layout == TRANSPOSED:
            k = k * scale[:, None]
        elif self.layout == OUT_IN_KERNEL:
            k = k * scale.reshape((-1,) + (1,) * (k.ndim - 1))
        elif self.layout == IN_OUT_KERNEL:
            k = k * scale.reshape((1, -1) + (1,) * (k.ndim - 2))
        elif self.layout == DEPTHWISE:
            k = k * scale.reshape(k.shape[-2], k.shape[-1])
        else:
            k = k * scale
        return replace(self, kernel=Param(self.kernel.name, self.kernel.symbol, k,
                                          self.kernel.trainable, self.kernel.meaning))

    def mistakes(self, *, last: bool = False, batch: int | None = None) -> tuple[Rewrite, ...]:
        if self.window.transpose:
            return ()
        k = self.kernel
        rank = self.window.rank
        axes = tuple(range(k.value.ndim - rank, k.value.ndim)) if self.layout in (
            OUT_IN_KERNEL, IN_OUT_KERNEL) else tuple(range(rank))
        flipped = Param(k.name, k.symbol, np.ascontiguousarray(np.flip(k.value, axis=axes)),
                        k.trainable, k.meaning, k.weight)
        out: list[Rewrite] = []
        if any(n > 1 for n in self.window.kernel):
            out.append(Rewrite(
                "kernel_flipped", "{layer} was computed as a true convolution, the kernel "
                "flipped: Keras computes a cross-correlation, tap a of the kernel times input "
                "s·o + d·a − p.", replace(self, kernel=flipped)))
        out.extend(_window_mistakes(self, self.window, self.padding))
        return tuple(out)

    def describe(self) -> str:
        size = "×".join(str(k) for k in self.window.kernel)
        kind = "transposed convolution" if self.window.transpose else "convolution"
        return f"{kind} {size}, {self.in_channels}->{self.out_channels}"

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        x = xs[0]
        patches, _ = gather_windows(backend, x, self.window)
        batch, positions, taps = patches.shape[:3]
        kernel = self._kernel(backend)
        per_in, per_out = self.in_channels // self.groups, self.out_channels // self.groups
        rows_g = g.reshape(batch * positions, self.out_channels)
        d_patches, d_kernel = [], []
        for k in range(self.groups):
            rows = patches[..., k * per_in:(k + 1) * per_in].reshape(batch * positions,
                                                                     taps * per_in)
            w = kernel[:, :, k * per_out:(k + 1) * per_out].reshape(taps * per_in, per_out)
            part = np.ascontiguousarray(rows_g[:, k * per_out:(k + 1) * per_out])
            d_kernel.append(backend.matmul(np.ascontiguousarray(rows.T), part).reshape(
                taps, per_in, per_out))
            d_patches.append(backend.matmul(part, np.ascontiguousarray(w.T)).reshape(
                batch, positions, taps, per_in))
        dk = d_kernel[0] if self.groups == 1 else np.concatenate(d_kernel, axis=-1)
        dp = d_patches[0] if self.groups == 1 else np.concatenate(d_patches, axis=-1)
        return Grads((scatter_windows(backend, dp, self.window, x),),
                     {self.kernel: self._unkernel(dk)})

    def _unkernel(self, dk: Any) -> Any:
        """A gradient laid out as :meth:`_kernel` gives the kernel, in the kernel's shape: the
        steps of :meth:`_kernel` undone in reverse."""
        shape = self.kernel.shape
        taps = self.window.size
        if self.layout == TRANSPOSED:
            return np.swapaxes(dk.reshape(*shape[:-2], shape[-1], shape[-2]), -1, -2)
        if self.layout == OUT_IN_KERNEL:  # (out, in/g, taps) -> (taps, in/g, out)
            moved = dk.reshape(taps, shape[1], shape[0])
            return np.ascontiguousarray(np.transpose(moved, (2, 1, 0))).reshape(shape)
        if self.layout == IN_OUT_KERNEL:  # (in, out, taps) -> (taps, in, out)
            moved = dk.reshape(taps, shape[0], shape[1])
            return np.ascontiguousarray(np.transpose(moved, (1, 2, 0))).reshape(shape)
        return dk.reshape(shape)


@dataclass(frozen=True, eq=False)
class Pool(Op):
    """Max or average pooling over each window (padding left out, as Keras does)."""

    window: Window
    reduction: str = "max"
    padding: str = "valid"
    entrywise = False

    @property
    def affine(self) -> bool:  # type: ignore[override]
        return self.reduction == "average"

    @property
    def piecewise_linear(self) -> bool:
        return True

    def formula(self, x: Any) -> Any:
        return fx.Pooling(x, self.window.to_tuple(), self.reduction)

    def forward(self, backend: Any, x: Any) -> Any:
        patches, taps = gather_windows(backend, x, self.window)
        valid = taps >= 0
        if self.reduction == "max":
            # A tap outside the input repeats the window's first tap: the maximum is unchanged.
            first = np.argmax(valid, axis=1)
            rows = np.arange(taps.shape[0])
            parts = [np.where(valid[:, a, None], patches[:, :, a, :],
                              patches[:, rows, first, :]) for a in range(taps.shape[1])]
            out = reduce(backend.maximum, parts)
        else:
            parts = [patches[:, :, a, :] for a in range(taps.shape[1])]
            total = reduce(lambda u, v: u + v, parts)
            counts = valid.sum(axis=1)
            if total.dtype == object:
                divisor = np.array([backend.const(int(c)) for c in counts], dtype=object)
            else:
                divisor = counts.astype(total.dtype)
            out = total / divisor[None, :, None]
        return out.reshape((x.shape[0], *self.window.out_spatial, x.shape[-1]))

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        return (*self.window.out_spatial, shapes[0][-1])

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return self.window.size * (sizes[0] + 1)

    def by_hand(self, inputs: list[np.ndarray], output: np.ndarray) -> tuple[Worked, ...]:
        w = self.window
        out = output.reshape(w.positions, -1)
        p, c = np.unravel_index(int(np.argmax(np.abs(out))), out.shape)
        taps = w.taps()[p]
        x = inputs[0].reshape(math.prod(w.in_spatial), -1)
        values = x[taps[taps >= 0], c]
        where = tuple(int(v) for v in np.unravel_index(p, w.out_spatial))
        name = "max" if self.reduction == "max" else "mean"
        return (_position_line(w, where, c, "the output entry largest in magnitude"),
                Worked(rf"\{name if name == 'max' else 'operatorname{mean}'}"
                       rf"{numbers_latex(values)} = {float(out[p, c]):.6g}",
                       f"{name} of {numbers_text(values)} = {float(out[p, c]):.6g}"))

    def mistakes(self, *, last: bool = False, batch: int | None = None) -> tuple[Rewrite, ...]:
        other = "average" if self.reduction == "max" else "max"
        return (Rewrite("wrong_pooling", f"{{layer}} was computed as {other} pooling: it is "
                        f"{self.reduction} pooling.", replace(self, reduction=other)),
                *_window_mistakes(self, self.window, self.padding))

    def describe(self) -> str:
        size = "×".join(str(k) for k in self.window.kernel)
        return f"{self.reduction} pooling {size}"

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        x = xs[0]
        patches, taps = gather_windows(backend, x, self.window)
        valid = taps >= 0
        flat_g = g.reshape(x.shape[0], taps.shape[0], x.shape[-1])
        if self.reduction == "max":
            shares = _first_maximum(backend, patches, valid)
        else:
            counts = valid.sum(axis=1)
            if flat_g.dtype == object:
                inverse = np.array([backend.const(1) / backend.const(int(c)) for c in counts],
                                   dtype=object)
            else:
                inverse = (1 / counts).astype(flat_g.dtype)
            zero = backend.const(0) if flat_g.dtype == object else flat_g.dtype.type(0)
            shares = np.broadcast_to(np.where(valid, inverse[:, None], zero)[None, :, :, None],
                                     patches.shape)
        return Grads((scatter_windows(backend, flat_g[:, :, None, :] * shares, self.window, x),))


@dataclass(frozen=True, eq=False)
class GlobalPool(Op):
    """The max or the mean of each channel over all positions."""

    reduction: str = "average"
    keepdims: bool = False

    @property
    def affine(self) -> bool:  # type: ignore[override]
        return self.reduction == "average"

    @property
    def piecewise_linear(self) -> bool:
        return True

    def formula(self, x: Any) -> Any:
        return fx.GlobalPooling(x, self.reduction)

    def forward(self, backend: Any, x: Any) -> Any:
        batch, channels = x.shape[0], x.shape[-1]
        flat = x.reshape(batch, -1, channels)
        if self.reduction == "max":
            out = reduce(backend.maximum, [flat[:, p, :] for p in range(flat.shape[1])])
        else:
            out = backend.mean(flat, 1).reshape(batch, channels)
        rank = len(x.shape) - 2
        return out.reshape((batch, *([1] * rank), channels)) if self.keepdims else out

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        rank = len(shapes[0]) - 1
        return (*([1] * rank), shapes[0][-1]) if self.keepdims else (shapes[0][-1],)

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return math.prod(shapes[0][:-1]) * (sizes[0] + 1)

    def describe(self) -> str:
        return f"global {self.reduction} pooling"

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        from .derivatives import greater_equal

        x = xs[0]
        batch, channels = x.shape[0], x.shape[-1]
        flat = x.reshape(batch, -1, channels)
        per = g.reshape(batch, 1, channels)
        if self.reduction == "max":
            # TensorFlow's reduce_max shares the gradient among the entries equal to the max
            top = y.reshape(batch, 1, channels)
            hits = greater_equal(backend, flat, np.broadcast_to(top, flat.shape))
            counts = _sum_axis(hits, 1)
            dx = per * hits / counts
        else:
            dx = np.broadcast_to(per / backend.const(flat.shape[1]), flat.shape)
        return Grads((np.ascontiguousarray(dx).reshape(x.shape),))


def _sum_axis(x: Any, axis: int) -> Any:
    if x.dtype != object:
        return x.sum(axis=axis, keepdims=True)
    moved = np.moveaxis(x, axis, -1)
    out = np.empty(moved.shape[:-1] + (1,), dtype=object)
    for index in np.ndindex(*moved.shape[:-1]):
        terms = list(moved[index])
        out[index + (0,)] = sum(terms[1:], terms[0])
    return np.moveaxis(out, -1, axis)


def _first_maximum(backend: Any, patches: Any, valid: np.ndarray) -> Any:
    """``(batch, positions, taps, channels)``: 1 at the tap that holds its window's maximum
    (the first in the window's row-major order on a tie, as TensorFlow's MaxPoolGrad picks
    it; taps outside the input never), 0 elsewhere."""
    from .derivatives import greater, greater_equal

    taps = patches.shape[2]
    masks = []
    for a in range(taps):
        mask: Any = np.broadcast_to(valid[None, :, a, None], patches[:, :, a, :].shape).astype(
            patches.dtype) if patches.dtype != object else np.where(
            np.broadcast_to(valid[None, :, a, None], patches[:, :, a, :].shape),
            backend.const(1), backend.const(0))
        for b in range(taps):
            if b == a:
                continue
            # a wins against every valid tap before it strictly, against those after it on a tie
            beats = (greater if b < a else greater_equal)(backend, patches[:, :, a, :],
                                                          patches[:, :, b, :])
            counts = np.broadcast_to(valid[None, :, b, None], beats.shape)
            if beats.dtype == object:
                beats = np.where(counts, beats, backend.const(1))
            else:
                beats = np.where(counts, beats, beats.dtype.type(1))
            mask = mask * beats
        masks.append(mask)
    return np.stack(masks, axis=2)


def _position_line(w: Window, where: tuple[int, ...], channel: int, why: str) -> Worked:
    reads = ", ".join(f"{max(s * o - p, 0)}..{min(s * o - p + (k - 1) * d, n - 1)}"
                      for o, s, p, k, d, n in zip(where, w.strides, w.pad_before, w.kernel,
                                                  w.dilation, w.in_spatial))
    shown = ", ".join(map(str, where))
    text = (f"output position ({shown}), channel {channel} ({why}): its window reads input "
            f"positions {reads} on each axis" + (" (zeros outside)" if any(w.pad_before) else ""))
    return Worked(rf"\text{{{text}}}", text)


def _window_mistakes(op: Any, window: Window, padding: str) -> list[Rewrite]:
    """The padding left out, or the stride taken as 1: the window as a student drew it."""
    out = []
    if (padding == "same" and any(window.pad_before)) or padding == "causal":
        out.append(Rewrite("padding_ignored", "{layer} was computed without its zero padding "
                           f"(padding='{padding}'): the window also slides over the zeros "
                           "around the input, so the output keeps its size.",
                           replace(op, window=window.redrawn("valid"))))
    if any(s > 1 for s in window.strides):
        redrawn = window.redrawn("same" if padding == "same" else "valid",
                                 (1,) * window.rank)
        out.append(Rewrite("stride_ignored", f"{{layer}} was computed with stride 1: the "
                           f"window moves {window.strides} positions at a time.",
                           replace(op, window=redrawn)))
    return out
