"""numpy arithmetic in one float dtype: float32 reproduces Keras up to summation order."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import BaseBackend

__all__ = ["FloatBackend"]


class FloatBackend(BaseBackend):
    def __init__(self, dtype: Any = np.float32) -> None:
        super().__init__()
        self.dtype = np.dtype(dtype)
        self.name = self.dtype.name

    def inputs(self, x: Any) -> np.ndarray:
        return np.asarray(x, dtype=self.dtype)

    def _convert(self, value: Any) -> np.ndarray:
        array = getattr(value, "value", value)
        return np.asarray(array).astype(self.dtype, copy=False)

    def const(self, value: float) -> Any:
        return self.dtype.type(value)

    def matmul(self, x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        return np.matmul(x, kernel)

    def map(self, fn: Any, x: np.ndarray) -> np.ndarray:
        return np.asarray(fn.numpy(x), dtype=self.dtype)

    def softmax(self, x: np.ndarray, axis: int, log: bool = False) -> np.ndarray:
        shifted = x - np.max(x, axis=axis, keepdims=True)
        if log:
            return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        e = np.exp(shifted)
        return e / np.sum(e, axis=axis, keepdims=True)

    def mean(self, x: np.ndarray, axis: int) -> np.ndarray:
        return np.mean(x, axis=axis, keepdims=True, dtype=self.dtype)
