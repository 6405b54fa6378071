"""Ops that move numbers without arithmetic: the identity, reshaping, concatenation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import functions as fx
from .base import Grads, Op, Rewrite, matrix_shape

__all__ = ["Concat", "Identity", "Rearrange", "Resample", "Reshape"]


@dataclass(frozen=True, eq=False)
class Identity(Op):
    """The output is the input: a layer that acts only while training (Dropout, noise), or
    one that does nothing. ``dropout_rate``: the rate of an (inverted) dropout."""

    note: str = ""
    dropout_rate: float | None = None
    identity = True
    rowwise = True
    affine = True
    entrywise = True

    def formula(self, x: Any) -> Any:
        return x

    def forward(self, backend: Any, x: Any) -> Any:
        return x

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return sizes[0]

    def as_diagonal(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        return np.ones(n), np.zeros(n)

    def mistakes(self, *, last: bool = False, batch: int | None = None) -> tuple[Rewrite, ...]:
        from .linear import Rescale

        rate = self.dropout_rate
        if not rate or not 0 < rate < 1:
            return ()
        return tuple(Rewrite("dropout_at_inference", f"{{layer}} was {how} = {factor:g} at "
                             "inference: Dropout is the identity at inference.",
                             Rescale(factor, 0.0), variant=how)
                     for factor, how in ((1 - rate, "scaled by 1 − rate"),
                                         (1 / (1 - rate), "divided by 1 − rate")))

    def describe(self) -> str:
        return "identity"

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        return Grads((g,))

    def backward_formula(self, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        return Grads((g,))


@dataclass(frozen=True, eq=False)
class Reshape(Op):
    """The same entries in row-major (C) order, in another per-sample shape."""

    input_shape: tuple[int, ...]
    target_shape: tuple[int, ...]
    affine = True
    entrywise = False

    @property
    def identity(self) -> bool:  # type: ignore[override]
        return matrix_shape(self.input_shape) == matrix_shape(self.target_shape) or (
            len(self.input_shape) <= 1 and len(self.target_shape) <= 1)

    def formula(self, x: Any) -> Any:
        rows, cols = matrix_shape(self.target_shape)
        return x if (rows, cols) == tuple(int(d) for d in x.shape) else fx.Reshape(x, rows, cols)

    def forward(self, backend: Any, x: Any) -> Any:
        return x.reshape((x.shape[0],) + tuple(self.target_shape))

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(self.target_shape)

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return sizes[0]

    def as_diagonal(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        return np.ones(n), np.zeros(n)

    def describe(self) -> str:
        return "identity" if self.identity else f"reshape to {self.target_shape}"

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        return Grads((g.reshape(xs[0].shape),))

    def backward_formula(self, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        rows, cols = (int(d) for d in xs[0].shape)
        same = (rows, cols) == tuple(int(d) for d in g.shape)
        return Grads((g if same else fx.Reshape(g, rows, cols),))

    def mistakes(self, *, last: bool = False, batch: int | None = None) -> tuple[Rewrite, ...]:
        shape = tuple(self.input_shape)
        if len(shape) < 2 or len(self.target_shape) != 1 or shape[-1] == 1:
            return ()  # one channel: both orders are the same
        order = (len(shape) - 1, *range(len(shape) - 1))
        return (Rewrite("flatten_order", "{layer} was flattened channel by channel: Keras "
                        "flattens in row-major order, the last axis (the channels) fastest.",
                        Rearrange("flatten", shape, tuple(self.target_shape), order)),)


@dataclass(frozen=True, eq=False)
class Concat(Op):
    """The inputs side by side along a per-sample axis (the last by default)."""

    axis: int = -1
    shapes: tuple[tuple[int, ...], ...] = ()
    arity = 0
    affine = True

    def _axis(self) -> int:
        rank = len(self.shapes[0]) if self.shapes else 1
        return self.axis % rank if self.shapes else -1

    def formula(self, *xs: Any) -> Any:
        if not self.shapes or self._axis() == len(self.shapes[0]) - 1:
            return fx.Blocks([list(xs)])
        return fx.Concatenated(self._axis(), self.shapes, *xs)

    def forward(self, backend: Any, *xs: Any) -> Any:
        axis = self._axis()
        return np.concatenate(xs, axis=-1 if axis < 0 else axis + 1)

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        axis = self.axis % len(shapes[0])
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        return tuple(out)

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return max(sizes)

    def describe(self) -> str:
        return "concatenate"

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        axis = self._axis()
        axis = -1 if axis < 0 else axis + 1
        ends = np.cumsum([x.shape[axis] for x in xs])[:-1]
        return Grads(tuple(np.split(g, ends, axis=axis)))


@dataclass(frozen=True, eq=False)
class Rearrange(Op):
    """Entries moved by a fixed index map (or zeros): zero padding, cropping, nearest
    upsampling, axis permutation, repetition. See :func:`symnet.functions.rearrangement`."""

    kind: str
    input_shape: tuple[int, ...]
    target_shape: tuple[int, ...]
    places: tuple[int, ...] = ()
    """The kind's numbers: padding or cropping before each axis, upsampling factors, the
    permutation (a field not named ``params``: that is :meth:`Op.params`)."""
    affine = True

    def indices(self) -> np.ndarray:
        from ..functions.rearrange import rearrangement

        return rearrangement(self.kind, tuple(self.input_shape), tuple(self.target_shape),
                             tuple(self.places))

    def formula(self, x: Any) -> Any:
        return fx.Rearranged(x, self.kind, self.input_shape, self.target_shape, self.places)

    def forward(self, backend: Any, x: Any) -> Any:
        batch = x.shape[0]
        flat = x.reshape(batch, -1)
        index = self.indices()
        if np.any(index < 0):
            zero = (np.full((batch, 1), backend.const(0), dtype=object) if flat.dtype == object
                    else np.zeros((batch, 1), dtype=flat.dtype))
            flat = np.concatenate([flat, zero], axis=1)
            index = np.where(index < 0, flat.shape[1] - 1, index)
        return flat[:, index].reshape((batch, *self.target_shape))

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(self.target_shape)

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return sizes[0]

    def as_affine(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        index = self.indices()
        weight = np.zeros((n, index.size))
        weight[index[index >= 0], np.flatnonzero(index >= 0)] = 1.0
        return weight, np.zeros(index.size)

    def describe(self) -> str:
        return f"{self.kind} {self.input_shape} -> {self.target_shape}"

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        x = xs[0]
        index = self.indices()
        flat = g.reshape(g.shape[0], -1)
        kept = index >= 0
        out = _zeros(backend, (x.shape[0], int(np.prod(x.shape[1:], dtype=np.int64))), g)
        # each input entry collects the gradient of every output entry that copies it
        np.add.at(out, (slice(None), index[kept]), flat[:, np.flatnonzero(kept)])
        return Grads((out.reshape(x.shape),))


@dataclass(frozen=True, eq=False)
class Resample(Op):
    """Bilinear upsampling of ``(height, width, channels)`` (``tf.image.resize``, half-pixel
    centres): along the width, then the height, ``a + (b − a)·w``."""

    input_shape: tuple[int, ...]
    target_shape: tuple[int, ...]
    affine = True

    def formula(self, x: Any) -> Any:
        return fx.Resampled(x, self.input_shape, self.target_shape)

    def forward(self, backend: Any, x: Any) -> Any:
        from ..functions.rearrange import bilinear_taps

        out = x
        for axis in (2, 1):  # width first, as TensorFlow
            lows, highs, weights = bilinear_taps(self.input_shape[axis - 1],
                                                 self.target_shape[axis - 1])
            if out.dtype == object:
                w = np.array([backend.const(0) + _rational(backend, v) for v in weights],
                             dtype=object)
            else:
                w = np.array([float(v) for v in weights], dtype=out.dtype)
            shape = [1] * out.ndim
            shape[axis] = len(weights)
            a, b = np.take(out, lows, axis=axis), np.take(out, highs, axis=axis)
            out = a + (b - a) * w.reshape(shape)
        return out

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(self.target_shape)

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return 12 * sizes[0] + 10

    def describe(self) -> str:
        return f"bilinear {self.input_shape} -> {self.target_shape}"

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Grads:
        from ..functions.rearrange import bilinear_taps

        # the forward pass, width then height, undone height then width: each step
        # a + (b − a)·w sends g·(1 − w) to a's rows and g·w to b's
        shapes = [xs[0].shape]
        for axis in (2,):
            shape = list(shapes[-1])
            shape[axis] = self.target_shape[axis - 1]
            shapes.append(tuple(shape))
        grad = g
        for axis, shape in zip((1, 2), reversed(shapes)):
            lows, highs, weights = bilinear_taps(self.input_shape[axis - 1],
                                                 self.target_shape[axis - 1])
            lows, highs = np.asarray(lows, np.int64), np.asarray(highs, np.int64)
            if grad.dtype == object:
                w = np.array([backend.const(0) + _rational(backend, v) for v in weights],
                             dtype=object)
                one = backend.const(1)
            else:
                w = np.array([float(v) for v in weights], dtype=grad.dtype)
                one = grad.dtype.type(1)
            view = [1] * grad.ndim
            view[axis] = len(weights)
            w = w.reshape(view)
            out = _zeros(backend, shape, grad)
            moved = np.moveaxis(out, axis, 0)  # a view: adding into it fills out
            np.add.at(moved, lows, np.moveaxis(grad * (one - w), axis, 0))
            np.add.at(moved, highs, np.moveaxis(grad * w, axis, 0))
            grad = out
        return Grads((grad,))


def _zeros(backend: Any, shape: tuple[int, ...], like: Any) -> Any:
    """An array of zeros in the arithmetic of ``like``."""
    if like.dtype == object:
        return np.full(shape, backend.const(0), dtype=object)
    return np.zeros(shape, dtype=like.dtype)


def _rational(backend: Any, value: Any) -> Any:
    """An exact fraction on an exact backend, the SymPy rational on the symbolic one."""
    import sympy as sp

    return backend.from_sympy(sp.Rational(value.numerator, value.denominator))
