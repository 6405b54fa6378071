"""Matrix expressions for structural forms: what SymPy lacks to write a layer as a textbook does.

A tensor of per-sample shape ``(d_1, ..., d_k)`` is written as a matrix of shape
``(d_1 * ... * d_{k-1}, d_k)`` (a row vector for the usual ``(features,)``), so that Keras'
``x @ K + b`` is literally ``x K + b``. Each class here is a SymPy ``MatrixExpr`` with an
``_entry`` method, so any structural form can be made explicit (``as_explicit()``) once numbers
are substituted for its symbols: the tests use that to check that the printed formula and the
numeric forward pass are the same function.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions import MatrixExpr

from .activations import ScalarFn, VectorFn, scalar_fn

__all__ = ["ElementwiseMax", "ElementwiseMin", "Map", "RMSScale", "Reshape", "Standardize",
           "VectorMap", "round_floats",
           "explicit", "matrix_shape"]


def matrix_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    """The matrix view ``(rows, columns)`` of a per-sample tensor shape."""
    if len(shape) == 0:
        return (1, 1)
    if len(shape) == 1:
        return (1, int(shape[0]))
    rows = 1
    for d in shape[:-1]:
        rows *= int(d)
    return (rows, int(shape[-1]))


class _OnArg(MatrixExpr):
    """A matrix expression of one matrix argument (``args[_arg]``), of that argument's shape."""

    _arg = 0

    @property
    def arg(self) -> Any:
        return self.args[self._arg]

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.arg.shape


def _key(fn: ScalarFn | VectorFn | Str | str) -> str:
    if isinstance(fn, Str):
        return fn.name
    return fn if isinstance(fn, str) else fn.key


class Map(_OnArg):
    """A scalar function applied to every entry of a matrix, e.g. ``ReLU(x W + b)``."""

    _arg = 1

    def __new__(cls, fn: ScalarFn | Str | str, arg: Any) -> Map:
        key = _key(fn)
        scalar_fn(key)  # unknown keys fail here, not when printed
        return super().__new__(cls, Str(key), arg)

    @property
    def fn(self) -> ScalarFn:
        return scalar_fn(self.args[0].name)


    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        return self.fn.sympy(self.arg._entry(i, j, **kwargs))

    def _latex(self, printer: Any) -> str:
        return rf"{self.fn.label}\left({printer._print(self.arg)}\right)"

    def _sympystr(self, printer: Any) -> str:
        return f"{self.fn.key}({printer._print(self.arg)})"


class VectorMap(_OnArg):
    """A function of each whole row (the last axis), e.g. ``softmax``."""

    _arg = 1

    def __new__(cls, fn: VectorFn | Str | str, arg: Any) -> VectorMap:
        return super().__new__(cls, Str(_key(fn)), arg)

    @property
    def fn(self) -> VectorFn:
        from .activations import ACTIVATIONS

        fn = ACTIVATIONS[self.args[0].name]
        assert isinstance(fn, VectorFn)
        return fn


    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        row = [self.arg._entry(i, k, **kwargs) for k in range(self.arg.shape[1])]
        return self.fn.exact(row)[j]

    def _latex(self, printer: Any) -> str:
        return rf"{self.fn.label}\left({printer._print(self.arg)}\right)"

    def _sympystr(self, printer: Any) -> str:
        return f"{self.fn.key}({printer._print(self.arg)})"


class Standardize(_OnArg):
    """Each row minus its mean (when ``center``), divided by ``sqrt(row variance + epsilon)``."""

    def __new__(cls, arg: Any, epsilon: Any, center: bool = True) -> Standardize:
        return super().__new__(cls, arg, sp.sympify(epsilon), sp.true if center else sp.false)


    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        n = self.arg.shape[1]
        row = [self.arg._entry(i, k, **kwargs) for k in range(n)]
        mean = sp.Add(*row) / n
        var = sp.Add(*[(v - mean) ** 2 for v in row]) / n
        top = row[j] - mean if self.args[2] else row[j]
        return top / sp.sqrt(var + self.args[1])

    def _latex(self, printer: Any) -> str:
        x = printer._print(self.arg)
        top = rf"{x} - \operatorname{{mean}}\left({x}\right)" if self.args[2] else x
        eps = printer._print(self.args[1])
        return rf"\frac{{{top}}}{{\sqrt{{\operatorname{{Var}}\left({x}\right) + {eps}}}}}"


class RMSScale(_OnArg):
    """Each row divided by ``sqrt(mean of its squares + epsilon)`` (Keras ``RMSNormalization``)."""

    def __new__(cls, arg: Any, epsilon: Any) -> RMSScale:
        return super().__new__(cls, arg, sp.sympify(epsilon))


    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        n = self.arg.shape[1]
        mean_square = sp.Add(*[self.arg._entry(i, k, **kwargs) ** 2 for k in range(n)]) / n
        return self.arg._entry(i, j, **kwargs) / sp.sqrt(mean_square + self.args[1])

    def _latex(self, printer: Any) -> str:
        x = printer._print(self.arg)
        eps = printer._print(self.args[1])
        mean = rf"\operatorname{{mean}}\left({x}^{{\circ 2}}\right)"
        return rf"\frac{{{x}}}{{\sqrt{{{mean} + {eps}}}}}"


class Reshape(_OnArg):
    """The same entries in row-major (C) order, in a matrix of another shape (``Flatten``)."""

    def __new__(cls, arg: Any, rows: int, cols: int) -> Reshape:
        return super().__new__(cls, arg, sp.Integer(rows), sp.Integer(cols))

    @property
    def shape(self) -> tuple[Any, Any]:
        return (self.args[1], self.args[2])

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        flat = int(i) * int(self.args[2]) + int(j)
        cols = int(self.arg.shape[1])
        return self.arg._entry(flat // cols, flat % cols, **kwargs)

    def _latex(self, printer: Any) -> str:
        name = r"\operatorname{flatten}" if self.args[1] == 1 else (
            rf"\operatorname{{reshape}}_{{{self.args[1]}\times {self.args[2]}}}")
        return rf"{name}\left({printer._print(self.arg)}\right)"


class _Elementwise(MatrixExpr):
    _op: Any = None
    _name = ""

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[0].shape

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        return type(self)._op(*[a._entry(i, j, **kwargs) for a in self.args])

    def _latex(self, printer: Any) -> str:
        inner = ", ".join(printer._print(a) for a in self.args)
        return rf"\{self._name}\left({inner}\right)"


class ElementwiseMax(_Elementwise):
    """The entrywise maximum of matrices of one shape (Keras ``Maximum``)."""

    _op = sp.Max
    _name = "max"


class ElementwiseMin(_Elementwise):
    """The entrywise minimum of matrices of one shape (Keras ``Minimum``)."""

    _op = sp.Min
    _name = "min"


def explicit(expr: Any) -> sp.ImmutableMatrix:
    """An explicit matrix from a matrix expression whose symbols were all replaced by matrices.

    SymPy's own ``as_explicit`` goes entry by entry and, through ``MatMul``, with symbolic
    summation indices; this evaluates bottom-up with integer indices only, which every class
    of this module supports.
    """
    if isinstance(expr, sp.MatrixBase):
        return sp.ImmutableMatrix(expr)
    if not getattr(expr, "is_Matrix", False):
        return expr
    if isinstance(expr, sp.MatrixSymbol):
        raise ValueError(f"{expr} has no value: substitute a matrix for it first")
    if isinstance(expr, sp.OneMatrix):
        return sp.ImmutableMatrix(sp.ones(*expr.shape))
    args = [explicit(a) for a in expr.args]
    if isinstance(expr, sp.MatAdd):
        out = args[0]
        for a in args[1:]:
            out = out + a
        return sp.ImmutableMatrix(out)
    if isinstance(expr, sp.MatMul):
        out = args[0]
        for a in args[1:]:
            out = out * a
        return sp.ImmutableMatrix(out)
    if isinstance(expr, sp.HadamardProduct):
        out = args[0]
        for a in args[1:]:
            out = out.multiply_elementwise(a)
        return sp.ImmutableMatrix(out)
    if isinstance(expr, sp.HadamardPower):
        return sp.ImmutableMatrix(args[0].applyfunc(lambda v: v ** args[1]))
    if isinstance(expr, sp.BlockMatrix):
        return sp.ImmutableMatrix(sp.BlockMatrix(expr.blocks.applyfunc(explicit)).as_explicit())
    return sp.ImmutableMatrix(expr.func(*args).as_explicit())


def round_floats(expr: Any, digits: int) -> Any:
    """``expr`` with its numbers shown to ``digits`` significant digits (for display only)."""
    return expr.xreplace({f: sp.Float(f, digits) for f in expr.atoms(sp.Float)})
