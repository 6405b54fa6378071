"""numpy implementations of symnet's matrix expressions, for code printers.

``sympy.lambdify(args, formula, "numpy")`` prints each of symnet's matrix classes
(``Softmax``, ``Convolution``, ``Recurrence``...) as a call of one of these functions (the
class's ``_numpycode``), so that a structural formula is a numpy function of the input and
parameter matrices. Every argument is a 2-D array, the matrix view of a tensor (all axes but
the last are rows), as the formula's symbols stand for; the arithmetic is the ops' own
(:mod:`symnet.ops`), run on a float64 backend.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import sympy as sp

__all__ = ["ArrayCode", "ints", "symnet_along_axes", "symnet_attending", "symnet_broadcast",
           "symnet_concatenated", "symnet_convolution", "symnet_entrywise_max",
           "symnet_entrywise_min", "symnet_global_pooling", "symnet_log_softmax_rows",
           "symnet_lookup", "symnet_pooling", "symnet_rearranged", "symnet_recurrence",
           "symnet_reduction", "symnet_selected", "symnet_stacked_product", "symnet_resampled",
           "symnet_reshaped", "symnet_rms_rows", "symnet_softmax_rows", "symnet_standardize_rows"]


class ArrayCode:
    """A matrix expression that array code printers (numpy, scipy, jax...) print as a call of
    ``symnet.functions.arrays.symnet_<array_function>`` (a name no array library has)."""

    array_function: ClassVar[str] = ""

    def array_arguments(self) -> list[Any]:
        """The call's arguments: SymPy objects are printed by the printer, Python values
        (strings, ints, tuples) as Python literals."""
        raise NotImplementedError

    def _array_code(self, printer: Any, **kwargs: Any) -> str:
        name = printer._module_format(f"symnet.functions.arrays.symnet_{self.array_function}")
        parts = [_code(printer, a) for a in self.array_arguments()]
        return f"{name}({', '.join(parts)})"

    _numpycode = _jaxcode = _array_code


def _code(printer: Any, a: Any) -> str:
    if isinstance(a, sp.Lambda):  # an elementwise function: a Python lambda
        var, body = a.variables[0], a.expr
        return "None" if body == var else f"(lambda {printer._print(var)}: {printer._print(body)})"
    if isinstance(a, sp.Tuple):
        return "(" + "".join(_code(printer, v) + ", " for v in a) + ")"
    return printer._print(a) if isinstance(a, sp.Basic) else repr(a)


def ints(values: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def _matrix(a: Any) -> np.ndarray:
    return np.atleast_2d(np.asarray(a, dtype=np.float64))


def _backend() -> Any:
    from ..backends import FloatBackend

    return FloatBackend(np.float64)


def _rows(out: np.ndarray) -> np.ndarray:
    """A tensor (batch of one first) as its matrix view."""
    out = np.asarray(out)[0]
    return out.reshape(-1, out.shape[-1]) if out.ndim else out.reshape(1, 1)


def symnet_softmax_rows(x: Any) -> np.ndarray:
    return _backend().softmax(_matrix(x), -1)


def symnet_log_softmax_rows(x: Any) -> np.ndarray:
    return _backend().softmax(_matrix(x), -1, log=True)


def symnet_standardize_rows(x: Any, epsilon: Any, center: bool) -> np.ndarray:
    x = _matrix(x)
    mean = x.mean(axis=1, keepdims=True)
    spread = ((x - mean) ** 2).mean(axis=1, keepdims=True)
    return (x - mean if center else x) / np.sqrt(spread + epsilon)


def symnet_rms_rows(x: Any, epsilon: Any) -> np.ndarray:
    x = _matrix(x)
    return x / np.sqrt((x * x).mean(axis=1, keepdims=True) + epsilon)


def symnet_reshaped(x: Any, rows: int, cols: int) -> np.ndarray:
    return _matrix(x).reshape(rows, cols)


def symnet_entrywise_max(*xs: Any) -> np.ndarray:
    return np.maximum.reduce([_matrix(x) for x in xs])


def symnet_entrywise_min(*xs: Any) -> np.ndarray:
    return np.minimum.reduce([_matrix(x) for x in xs])


def _view(shape: tuple[int, ...]) -> tuple[int, int]:
    return (math.prod(shape[:-1]) if len(shape) > 1 else 1, shape[-1] if shape else 1)


def symnet_broadcast(param: Any, param_shape: tuple[int, ...], target: tuple[int, ...]
                     ) -> np.ndarray:
    values = _matrix(param).reshape(param_shape)
    return np.broadcast_to(values, target).reshape(_view(target))


def symnet_along_axes(x: Any, kind: str, axes: tuple[int, ...], shape: tuple[int, ...],
               epsilon: Any = 0) -> np.ndarray:
    t = _matrix(x).reshape(shape)
    axes = tuple(axes)
    if kind in ("softmax", "log_softmax"):
        shifted = t - t.max(axis=axes, keepdims=True)
        total = np.exp(shifted).sum(axis=axes, keepdims=True)
        out = shifted - np.log(total) if kind == "log_softmax" else np.exp(shifted) / total
    else:
        mean = t.mean(axis=axes, keepdims=True)
        spread = ((t - mean) ** 2).mean(axis=axes, keepdims=True)
        out = (t - mean if kind == "standardize" else t) / np.sqrt(spread + epsilon)
    return out.reshape(_view(shape))


def symnet_stacked_product(a: Any, b: Any, a_shape: tuple[int, ...],
                           b_shape: tuple[int, ...]) -> np.ndarray:
    out = np.matmul(_matrix(a).reshape(a_shape), _matrix(b).reshape(b_shape))
    return np.asarray(out).reshape(_view(tuple(np.shape(out))))


def symnet_reduction(x: Any, kind: str, axes: tuple[int, ...], shape: tuple[int, ...],
                     keepdims: bool) -> np.ndarray:
    t = _matrix(x).reshape(shape)
    if kind == "sum_square":
        t, kind = t * t, "sum"
    combine: dict[str, Any] = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}
    out = combine[kind](t, axis=tuple(axes), keepdims=keepdims)
    return np.asarray(out).reshape(_view(tuple(np.shape(out))))


def symnet_selected(mask: Any, a: Any, b: Any) -> np.ndarray:
    return np.where(_matrix(mask) != 0, _matrix(a), _matrix(b))


def symnet_concatenated(axis: int, shapes: tuple[tuple[int, ...], ...], *xs: Any) -> np.ndarray:
    parts = [_matrix(x).reshape(s) for x, s in zip(xs, shapes)]
    out = np.concatenate(parts, axis=axis)
    return out.reshape(_view(out.shape))


def symnet_lookup(table: Any, x: Any) -> np.ndarray:
    index = np.asarray(x).reshape(-1)
    if not np.all(index == np.round(index)):
        raise ValueError("an embedding's input must be whole indices")
    return _matrix(table)[index.astype(np.int64)]


def symnet_rearranged(x: Any, kind: str, in_shape: tuple[int, ...], out_shape: tuple[int, ...],
               params: tuple[int, ...]) -> np.ndarray:
    from ..ops import Rearrange

    batch = _matrix(x).reshape((1, *in_shape))
    return _rows(Rearrange(kind, in_shape, out_shape, params).forward(_backend(), batch))


def symnet_resampled(x: Any, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> np.ndarray:
    from ..ops import Resample

    batch = _matrix(x).reshape((1, *in_shape))
    return _rows(Resample(in_shape, out_shape).forward(_backend(), batch))


def _param(values: np.ndarray) -> Any:
    from ..ops import Param

    return Param("values", None, values, True, "")


def symnet_convolution(x: Any, kernel: Any, window: tuple[int, ...], channels: tuple[int, ...]
                ) -> np.ndarray:
    from ..ops import Conv
    from ..ops.conv import TRANSPOSED
    from .convolution import Window

    w = Window.from_tuple(window)
    groups, c_in, c_out, layout = channels
    k = _matrix(kernel)
    if layout == TRANSPOSED:  # the matrix view (taps·out, in) as Keras' (…, out, in)
        k = k.reshape(w.size, c_out, c_in)
    op = Conv(_param(k), w, groups, layout, c_in, c_out)
    return _rows(op.forward(_backend(), _matrix(x).reshape((1, *w.in_spatial, c_in))))


def symnet_pooling(x: Any, window: tuple[int, ...], kind: str) -> np.ndarray:
    from ..ops import Pool
    from .convolution import Window

    w = Window.from_tuple(window)
    t = _matrix(x)
    op = Pool(w, "max" if kind == "max" else "average")
    return _rows(op.forward(_backend(), t.reshape((1, *w.in_spatial, t.shape[-1]))))


def symnet_global_pooling(x: Any, kind: str) -> np.ndarray:
    t = _matrix(x)
    return t.max(axis=0, keepdims=True) if kind == "max" else t.mean(axis=0, keepdims=True)


class _Function:
    """A numpy function where a backend expects an elementwise function (``Fn``)."""

    def __init__(self, function: Any) -> None:
        self.function = function

    def numpy(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.function(x), dtype=x.dtype) * np.ones_like(x)


def symnet_recurrence(x: Any, cell: str, kernel: Any, recurrent: Any, bias: Any,
                      activation: Any, recurrent_activation: Any, options: tuple[int, ...],
                      emit: str, clip_sequences: tuple[float, int] = (0.0, 1),
                      *initial: Any) -> np.ndarray:
    from ..ops.activations import Fn
    from ..ops.recurrent import emitted, run_recurrence
    from .elementary import Clamp

    reset_after, go_backwards, forget, units = options
    clip, sequences = clip_sequences
    matrix_bias = None if bias is None else _matrix(bias)
    if matrix_bias is not None and not (cell == "gru" and reset_after):
        matrix_bias = matrix_bias.reshape(-1)
    weights: tuple[Any, Any, Any] = (_matrix(kernel), _matrix(recurrent) * (0 if forget else 1),
                                     matrix_bias)
    fns: tuple[Any, Any] = (None if activation is None else _Function(activation),
                            None if recurrent_activation is None else
                            _Function(recurrent_activation))
    values = _matrix(x)
    values = values.reshape(sequences, values.shape[0] // sequences, values.shape[1])
    clamp = Fn(Clamp, (-clip, clip), name="clip") if clip != 0 else None
    outputs, state = run_recurrence(_backend(), cell, values, weights, fns, units,
                                    bool(reset_after), bool(go_backwards), clamp,
                                    tuple(_matrix(m) for m in initial))
    return np.asarray(emitted(outputs, state, emit)).reshape(-1, units)


def symnet_attending(kind: str, inputs: tuple[Any, ...], params: tuple[Any, ...],
              options: tuple[int, ...]) -> np.ndarray:
    from ..ops.attention import attend, multi_head

    backend = _backend()
    xs = [_matrix(x) for x in inputs]
    query, value, key = xs[0], xs[1], xs[2] if len(xs) > 2 else xs[1]
    values = [_matrix(p) for p in params]
    if kind == "multihead":
        heads, causal, *present = options
        it = iter(values)
        weights: list[Any] = [next(it) if has else None for has in present]
        weights[0] = weights[0].reshape(query.shape[1], heads, -1)
        weights[2] = weights[2].reshape(key.shape[1], heads, -1)
        weights[4] = weights[4].reshape(value.shape[1], heads, -1)
        weights[6] = weights[6].reshape(heads, -1, weights[6].shape[-1])
        out = multi_head(backend, query, value, key, weights, heads, bool(causal))
    else:
        has_scale, causal = options
        scale = values[0].reshape(-1)[0] if has_scale and values[0].size == 1 else (
            values[0].reshape(-1) if has_scale else None)
        weight = values[-1].reshape(-1)[0] if kind == "concat" else None
        out = attend(backend, kind, query, value, key, scale, weight, bool(causal))
    return np.asarray(out, dtype=np.float64)
