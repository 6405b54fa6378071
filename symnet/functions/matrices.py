"""Matrix operations SymPy does not have, as ``MatrixExpr``\\ s with an ``_entry`` method: a
formula made explicit with numbers (``as_explicit``) is the same function as the forward pass."""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.matrices.expressions import MatrixExpr
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

__all__ = ["ElementwiseMax", "ElementwiseMin", "Entrywise", "LogSoftmax", "RMSScale", "Reshape",
           "Softmax", "Standardize"]


# --- matrix operations ----------------------------------------------------------------------

class Entrywise(ElementwiseApplyFunction):
    """SymPy's ``ElementwiseApplyFunction``, also for a 1×1 matrix: SymPy's constructor calls
    the function on a 1×1 matrix itself (to catch functions that return matrices), which
    ``Max`` refuses; a scalar function of the entries is what is meant here."""

    def __new__(cls, function: Any, expr: Any) -> Any:
        expr = sp.sympify(expr)
        if not isinstance(function, sp.Lambda) or not expr.is_Matrix:
            raise ValueError(f"expected a Lambda and a matrix, received {function}, {expr}")
        return MatrixExpr.__new__(cls, function, expr)



class _OnArg(MatrixExpr):
    """A matrix expression of one matrix argument (``args[0]``), of that argument's shape."""

    @property
    def arg(self) -> Any:
        return self.args[0]

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.arg.shape

    def _row(self, i: Any, **kwargs: Any) -> list[Any]:
        return [self.arg._entry(i, k, **kwargs) for k in range(int(self.arg.shape[1]))]


class Softmax(_OnArg):
    """``softmax`` of each row (the last axis): ``e^{x_j} / Σ_k e^{x_k}``."""

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        exps = [sp.exp(v) for v in self._row(i, **kwargs)]
        return exps[int(j)] / sp.Add(*exps)

    def _latex(self, printer: Any) -> str:
        return rf"\operatorname{{softmax}}\left({printer._print(self.arg)}\right)"


class LogSoftmax(_OnArg):
    """``log_softmax`` of each row: ``x_j - log Σ_k e^{x_k}``."""

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        row = self._row(i, **kwargs)
        return row[int(j)] - sp.log(sp.Add(*[sp.exp(v) for v in row]))

    def _latex(self, printer: Any) -> str:
        return rf"\operatorname{{log\_softmax}}\left({printer._print(self.arg)}\right)"


class Standardize(_OnArg):
    """Each row minus its mean (when ``center``), over ``sqrt(row variance + epsilon)``
    (LayerNormalization; Keras' ``rms_scaling`` divides the uncentred row by the same root)."""

    def __new__(cls, arg: Any, epsilon: Any, center: Any = sp.true) -> Standardize:
        return super().__new__(cls, arg, sp.sympify(epsilon), sp.true if center else sp.false)

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        row = self._row(i, **kwargs)
        n = len(row)
        mean = sp.Add(*row) / n
        spread = sp.Add(*[(v - mean) ** 2 for v in row]) / n
        top = row[int(j)] - mean if self.args[2] else row[int(j)]
        return top / sp.sqrt(spread + self.args[1])

    def _latex(self, printer: Any) -> str:
        x = printer._print(self.arg)
        top = rf"{x} - \operatorname{{mean}}\left({x}\right)" if self.args[2] else x
        eps = printer._print(self.args[1])
        return rf"\frac{{{top}}}{{\sqrt{{\operatorname{{Var}}\left({x}\right) + {eps}}}}}"


class RMSScale(_OnArg):
    """Each row over ``sqrt(mean of its squares + epsilon)`` (Keras ``RMSNormalization``)."""

    def __new__(cls, arg: Any, epsilon: Any) -> RMSScale:
        return super().__new__(cls, arg, sp.sympify(epsilon))

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        row = self._row(i, **kwargs)
        mean_square = sp.Add(*[v**2 for v in row]) / len(row)
        return row[int(j)] / sp.sqrt(mean_square + self.args[1])

    def _latex(self, printer: Any) -> str:
        x = printer._print(self.arg)
        eps = printer._print(self.args[1])
        return (rf"\frac{{{x}}}{{\sqrt{{\operatorname{{mean}}\left({x} \odot {x}\right) + "
                rf"{eps}}}}}")


class Reshape(_OnArg):
    """The same entries in row-major (C) order, in a matrix of another shape (``Flatten``)."""

    def __new__(cls, arg: Any, rows: Any, cols: Any) -> Reshape:
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


class _Entrywise(MatrixExpr):
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


class ElementwiseMax(_Entrywise):
    """The entrywise maximum of matrices of one shape (Keras ``Maximum``)."""

    _op = sp.Max
    _name = "max"


class ElementwiseMin(_Entrywise):
    """The entrywise minimum of matrices of one shape (Keras ``Minimum``)."""

    _op = sp.Min
    _name = "min"


