"""Tensor operations of exported graphs as matrix expressions: the product of two tensors
(numpy's and ONNX's ``matmul``: stacks of matrices, broadcast) and reductions along axes. A
tensor of per-sample shape ``(..., n)`` is its matrix view ``(rows, n)``, as everywhere in
symnet; ``_entry`` gives each entry explicitly, so that a formula made explicit with numbers is
the same function as the op's forward pass."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from .arrays import ArrayCode
from .matrices import _index, _ints, _view, tensor_entry

__all__ = ["Reduction", "Selected", "StackedProduct"]


def matmul_shapes(a: tuple[int, ...], b: tuple[int, ...]
                  ) -> tuple[tuple[int, ...], tuple[int, ...], int, int, int]:
    """``(out, lead, m, k, n)`` of ``matmul`` on tensors of shapes ``a`` and ``b`` (numpy's
    rules: a vector ``a`` is a row, a vector ``b`` a column, and the axis added is dropped;
    the axes before the last two are broadcast). ``ValueError`` when they do not fit."""
    if not a or not b:
        raise ValueError(f"matmul needs tensors of at least one axis, received {a} and {b}")
    a2 = (1, *a) if len(a) == 1 else tuple(a)
    b2 = (*b, 1) if len(b) == 1 else tuple(b)
    if a2[-1] != b2[-2]:
        raise ValueError(f"matmul: shapes {a} and {b} do not align ({a2[-1]} != {b2[-2]})")
    lead = tuple(np.broadcast_shapes(a2[:-2], b2[:-2]))
    m, k, n = a2[-2], a2[-1], b2[-1]
    out = (*lead, *((m,) if len(a) > 1 else ()), *((n,) if len(b) > 1 else ()))
    return out, lead, m, k, n


class StackedProduct(ArrayCode, MatrixExpr):
    """``matmul(A, B)`` of tensors of shapes ``a_shape`` and ``b_shape``: for each index of
    the leading (broadcast) axes, the product of the last two axes' matrices."""

    array_function = "stacked_product"

    def array_arguments(self) -> list[Any]:
        return [self.args[0], self.args[1], *self._shapes()]

    def __new__(cls, a: Any, b: Any, a_shape: Any, b_shape: Any) -> StackedProduct:
        return super().__new__(cls, a, b, sp.Tuple(*a_shape), sp.Tuple(*b_shape))

    def _shapes(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return _ints(self.args[2]), _ints(self.args[3])

    @property
    def shape(self) -> tuple[Any, Any]:
        out = matmul_shapes(*self._shapes())[0]
        return tuple(sp.Integer(v) for v in _view(out))

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        a_shape, b_shape = self._shapes()
        out, lead, _, k, _ = matmul_shapes(a_shape, b_shape)
        index = _index(int(i) * (out[-1] if out else 1) + int(j), out)
        where = index[:len(lead)]
        row = index[len(lead)] if len(a_shape) > 1 else 0
        col = index[-1] if len(b_shape) > 1 else 0

        def stacked(shape: tuple[int, ...]) -> tuple[int, ...]:
            own = shape[:-2]
            offset = len(lead) - len(own)
            return tuple(0 if d == 1 else where[offset + q] for q, d in enumerate(own))

        a_lead, b_lead = stacked(a_shape), stacked(b_shape)
        terms = []
        for t in range(k):
            a_at = (*a_lead, row, t) if len(a_shape) > 1 else (t,)
            b_at = (*b_lead, t, col) if len(b_shape) > 1 else (t,)
            terms.append(tensor_entry(self.args[0], a_shape, a_at, **kwargs)
                         * tensor_entry(self.args[1], b_shape, b_at, **kwargs))
        return sp.Add(*terms)

    def _latex(self, printer: Any) -> str:
        return (rf"\operatorname{{matmul}}\left({printer._print(self.args[0])}, "
                rf"{printer._print(self.args[1])}\right)")


#: Reduction kind -> (combination of the entries, LaTeX name).
_KINDS = {
    "sum": (lambda v: sp.Add(*v), r"\operatorname{sum}"),
    "mean": (lambda v: sp.Add(*v) / len(v), r"\operatorname{mean}"),
    "max": (lambda v: sp.Max(*v), r"\max"),
    "min": (lambda v: sp.Min(*v), r"\min"),
    "sum_square": (lambda v: sp.Add(*[e**2 for e in v]), r"\operatorname{sum}_{\square}"),
}


def reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool
                  ) -> tuple[int, ...]:
    """The shape after reducing ``axes`` (kept as length 1 with ``keepdims``)."""
    if keepdims:
        return tuple(1 if a in axes else d for a, d in enumerate(shape))
    return tuple(d for a, d in enumerate(shape) if a not in axes)


class Reduction(ArrayCode, MatrixExpr):
    """The entries of ``x`` (a tensor of ``shape``) combined along ``axes``: ``sum``,
    ``mean``, ``max``, ``min`` or ``sum_square`` (Σ x²); the axes kept as length 1 when
    ``keepdims``."""

    array_function = "reduction"

    def array_arguments(self) -> list[Any]:
        return [self.args[0], str(self.args[1]), _ints(self.args[2]), _ints(self.args[3]),
                bool(self.args[4])]

    def __new__(cls, x: Any, kind: Any, axes: Any, shape: Any, keepdims: Any) -> Reduction:
        if str(kind) not in _KINDS:
            raise ValueError(f"reduction must be one of {sorted(_KINDS)}, received {kind!r}")
        return super().__new__(cls, x, sp.Symbol(str(kind)), sp.Tuple(*sorted(axes)),
                               sp.Tuple(*shape), sp.true if keepdims else sp.false)

    def _out(self) -> tuple[int, ...]:
        return reduced_shape(_ints(self.args[3]), _ints(self.args[2]), bool(self.args[4]))

    @property
    def shape(self) -> tuple[Any, Any]:
        return tuple(sp.Integer(v) for v in _view(self._out()))

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        axes, shape = _ints(self.args[2]), _ints(self.args[3])
        out = self._out()
        index = _index(int(i) * (out[-1] if out else 1) + int(j), out)
        if bool(self.args[4]):
            kept = [index[a] for a in range(len(shape)) if a not in axes]
        else:
            kept = list(index)
        entries = []
        for flat in range(math.prod(shape[a] for a in axes)):
            offsets = iter(_index(flat, tuple(shape[a] for a in axes)))
            rest = iter(kept)
            at = tuple(next(offsets) if a in axes else next(rest) for a in range(len(shape)))
            entries.append(tensor_entry(self.args[0], shape, at, **kwargs))
        return _KINDS[str(self.args[1])][0](entries)

    def _latex(self, printer: Any) -> str:
        axes = ", ".join(str(a + 1) for a in _ints(self.args[2]))
        name = _KINDS[str(self.args[1])][1]
        return rf"{name}_{{\text{{axis }} {axes}}}\left({printer._print(self.args[0])}\right)"


class Selected(ArrayCode, MatrixExpr):
    """``where(M, A, B)``: the entry of ``A`` where the mask ``M`` is not 0, else the entry of
    ``B`` (matrices of one shape; a broadcast operand is a ``Broadcast``). With the mask's
    numbers put in, each entry is one of the two; over a symbolic mask, a ``Piecewise``."""

    array_function = "selected"

    def __new__(cls, mask: Any, a: Any, b: Any) -> Selected:
        return super().__new__(cls, mask, a, b)

    def array_arguments(self) -> list[Any]:
        return list(self.args)

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[1].shape

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        m, a, b = (arg._entry(i, j, **kwargs) for arg in self.args)
        if m.is_number:
            return b if m.is_zero else a
        return sp.Piecewise((a, sp.Ne(m, 0)), (b, True))

    def _latex(self, printer: Any) -> str:
        inner = ", ".join(printer._print(a) for a in self.args)
        return rf"\operatorname{{where}}\left({inner}\right)"
