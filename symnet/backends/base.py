"""The interface every backend gives the ops, and what the object-array backends share."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

__all__ = ["Backend", "BaseBackend", "ObjectBackend", "points_inside"]


class Backend(Protocol):
    """The operations a forward pass may use besides ``+ - * /``, ``reshape``, ``concatenate``
    and indexing of numpy arrays (float arrays, or object arrays of numbers or expressions):
    what an op may ask of any backend. Ops and graphs are typed against this protocol; the
    backends share their common parts through :class:`BaseBackend`."""

    name: str
    layer: str
    """The layer being run (set by the graph; linearized backends record decisions by it)."""

    def inputs(self, x: Any) -> Any:
        """A user's input array as this backend's numbers."""
        ...

    def weight(self, value: Any) -> Any:
        """A :class:`~symnet.ops.Param` (or an array) as this backend's numbers, once per run."""
        ...

    def const(self, value: float) -> Any:
        """A hyperparameter from a layer's config (exact backends: as written, 0.001 = 1/1000)."""
        ...

    def matmul(self, x: Any, kernel: Any) -> Any:
        ...

    def matmul_weight(self, x: Any, weight: Any) -> Any:
        """``x`` times a weight matrix (a :class:`~symnet.ops.Param` or an array) of shape
        (in, out)."""
        ...

    def map(self, fn: Any, x: Any) -> Any:
        """An elementwise function (:class:`~symnet.ops.Fn`) on every entry."""
        ...

    def softmax(self, x: Any, axis: int, log: bool = False) -> Any:
        ...

    def mean(self, x: Any, axis: int) -> Any:
        """Mean along ``axis``, keeping the axis (length 1)."""
        ...

    def maximum(self, a: Any, b: Any) -> Any:
        ...

    def minimum(self, a: Any, b: Any) -> Any:
        ...

    def finish(self, y: Any) -> Any:
        """An output as returned to the user."""
        ...


class BaseBackend(Backend):
    """What every backend shares: the layer being run, the weights converted once per run, and
    numpy's own maximum and minimum."""

    name = "abstract"

    def __init__(self) -> None:
        self.layer = ""
        """The layer being run (set by the graph; linearized backends record decisions by it)."""
        self._weights: dict[int, tuple[Any, Any]] = {}

    def inputs(self, x: Any) -> Any:
        raise NotImplementedError

    def weight(self, value: Any) -> Any:
        """A :class:`~symnet.ops.Param` (or an array) as this backend's numbers, once per run."""
        key = id(value)
        cached = self._weights.get(key)
        if cached is not None and cached[0] is value:
            return cached[1]
        converted = self._convert(value)
        self._weights[key] = (value, converted)
        return converted

    def _convert(self, value: Any) -> Any:
        raise NotImplementedError

    def const(self, value: float) -> Any:
        """A hyperparameter from a layer's config (exact backends: as written, 0.001 = 1/1000)."""
        raise NotImplementedError

    def matmul(self, x: Any, kernel: Any) -> Any:
        raise NotImplementedError

    def matmul_weight(self, x: Any, weight: Any) -> Any:
        """``x`` times a weight matrix (a :class:`~symnet.ops.Param` or an array) of shape
        (in, out): ``matmul(x, weight(weight))``, which a backend may compute without
        converting the weight entry by entry."""
        return self.matmul(x, self.weight(weight))

    def map(self, fn: Any, x: Any) -> Any:
        """An elementwise function (:class:`~symnet.ops.Fn`) on every entry."""
        raise NotImplementedError

    def softmax(self, x: Any, axis: int, log: bool = False) -> Any:
        raise NotImplementedError

    def mean(self, x: Any, axis: int) -> Any:
        """Mean along ``axis``, keeping the axis (length 1)."""
        raise NotImplementedError

    def maximum(self, a: Any, b: Any) -> Any:
        return np.maximum(a, b)

    def minimum(self, a: Any, b: Any) -> Any:
        return np.minimum(a, b)

    def finish(self, y: Any) -> Any:
        """An output as returned to the user."""
        return y


def along_last(x: np.ndarray, axis: int) -> tuple[np.ndarray, tuple[int, ...]]:
    moved = np.moveaxis(x, axis, -1)
    return moved.reshape(-1, moved.shape[-1]), moved.shape


def back(rows: np.ndarray, moved_shape: tuple[int, ...], axis: int) -> np.ndarray:
    return np.moveaxis(rows.reshape(moved_shape), -1, axis)


class ObjectBackend(BaseBackend):
    """Shared code of the exact and symbolic backends: numpy object arrays of numbers."""

    def add_all(self, terms: list[Any]) -> Any:
        raise NotImplementedError

    def to_sympy(self, v: Any) -> Any:
        raise NotImplementedError

    def from_sympy(self, e: Any) -> Any:
        raise NotImplementedError

    def apply(self, fn: Any, v: Any) -> Any:
        """One entry of ``map``."""
        return self.from_sympy(fn.sympy(self.to_sympy(v)))

    def map(self, fn: Any, x: np.ndarray) -> np.ndarray:
        out = np.empty(x.shape, dtype=object)
        flat_in, flat_out = x.reshape(-1), out.reshape(-1)
        for i, v in enumerate(flat_in):
            flat_out[i] = self.apply(fn, v)
        return out

    def softmax(self, x: np.ndarray, axis: int, log: bool = False) -> np.ndarray:
        import sympy as sp

        rows, moved = along_last(x, axis)
        out = np.empty(rows.shape, dtype=object)
        for r, row in enumerate(rows):
            values = [self.to_sympy(v) for v in row]
            if log:
                lse = sp.log(sp.Add(*[sp.exp(v) for v in values]))
                result = [v - lse for v in values]
            else:
                exps = [sp.exp(v) for v in values]
                total = sp.Add(*exps)
                result = [e / total for e in exps]
            out[r] = [self.from_sympy(v) for v in result]
        return back(out, moved, axis)

    def maximum(self, a: Any, b: Any) -> Any:
        return self._binary("Max", a, b)

    def minimum(self, a: Any, b: Any) -> Any:
        return self._binary("Min", a, b)

    def _binary(self, name: str, a: Any, b: Any) -> Any:
        import sympy as sp

        op = getattr(sp, name)

        def pair(u: Any, v: Any) -> Any:
            return self.from_sympy(op(self.to_sympy(u), self.to_sympy(v)))

        return np.frompyfunc(pair, 2, 1)(a, b)

    def mean(self, x: np.ndarray, axis: int) -> np.ndarray:
        rows, moved = along_last(x, axis)
        n = rows.shape[1]
        sums = np.empty((rows.shape[0], 1), dtype=object)
        for r, row in enumerate(rows):
            sums[r, 0] = self.add_all(list(row)) / n
        return back(sums, moved[:-1] + (1,), axis)


def points_inside(kinks: list[Any], index: int, zero: Any) -> tuple[Any, Any]:
    """Two points strictly inside piece ``index`` of a piecewise-linear function with the
    sorted ``kinks`` (0: left of every kink), in the number type of ``kinks`` (``zero`` when
    there is none): where a piece's law is read from its values."""
    lo = kinks[index - 1] if index > 0 else None
    hi = kinks[index] if index < len(kinks) else None
    if lo is not None and hi is not None:
        return lo + (hi - lo) / 4, lo + 3 * (hi - lo) / 4
    if hi is not None:
        return hi - 2, hi - 1
    if lo is not None:
        return lo + 1, lo + 2
    return zero, zero + 1
