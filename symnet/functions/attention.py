"""Attention's output as a matrix expression: ``Attending(kind, inputs, params, options)``.
Its entries run :func:`symnet.ops.attention.attend` / ``multi_head`` on SymPy numbers."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from .arrays import ArrayCode, ints

__all__ = ["Attending"]


class Attending(ArrayCode, MatrixExpr):
    """``kind``: ``dot``, ``concat``, ``additive`` or ``multihead``; ``inputs``: query, value
    and maybe key; ``params`` and ``options`` as the op has them."""

    array_function = "attending"

    def array_arguments(self) -> list[Any]:
        return [str(self.args[0]), self.args[1], self.args[2], ints(self.args[3])]

    def __new__(cls, kind: Any, inputs: Any, params: Any, options: Any) -> Attending:
        return super().__new__(cls, sp.Symbol(str(kind)), sp.Tuple(*inputs),
                               sp.Tuple(*params), sp.Tuple(*options))

    @property
    def shape(self) -> tuple[Any, Any]:
        query, value = self.args[1][0], self.args[1][1]
        if str(self.args[0]) == "multihead":
            return (query.shape[0], self.args[2][-1 if self.args[3][-1] else -2].shape[1])
        return (query.shape[0], value.shape[1])

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        return _attended(self)[int(i), int(j)]

    def _latex(self, printer: Any) -> str:
        inputs = ", ".join(printer._print(x) for x in self.args[1])
        name = {"dot": r"\operatorname{attention}", "concat": r"\operatorname{attention}_{c}",
                "additive": r"\operatorname{attention}_{+}",
                "multihead": r"\operatorname{MultiHead}"}[str(self.args[0])]
        return rf"{name}\left({inputs}\right)"


def _array(matrix: Any) -> np.ndarray:
    return np.array(sp.ImmutableMatrix(matrix).tolist(), dtype=object)


@lru_cache(maxsize=16)
def _attended(expr: Attending) -> Any:
    from ..backends import SymbolicBackend
    from ..ops.attention import attend, multi_head

    kind, inputs, params, options = expr.args
    backend = SymbolicBackend()
    xs = [_array(x) for x in inputs]
    query, value, key = xs[0], xs[1], xs[2] if len(xs) > 2 else xs[1]
    values = [_array(p) for p in params]
    if str(kind) == "multihead":
        heads, causal, *present = (int(v) for v in options)
        it = iter(values)
        weights = [next(it) if has else None for has in present]
        # the kernels' matrix views hold (in, heads·dim) and (heads·dim, out): as Keras' shapes
        dq = query.shape[1]
        weights[0] = weights[0].reshape(dq, heads, -1)
        weights[2] = weights[2].reshape(key.shape[1], heads, -1)
        weights[4] = weights[4].reshape(value.shape[1], heads, -1)
        weights[6] = weights[6].reshape(heads, -1, weights[6].shape[-1])
        out = multi_head(backend, query, value, key, weights, heads, bool(causal))
    else:
        has_scale, causal = (int(v) for v in options)
        scale = values[0].reshape(-1)[0] if has_scale and values[0].size == 1 else (
            values[0].reshape(-1) if has_scale else None)
        weight = values[-1].reshape(-1)[0] if str(kind) == "concat" else None
        out = attend(backend, str(kind), query, value, key, scale, weight, bool(causal))
    return sp.ImmutableMatrix(out)
