"""Matrix operations SymPy does not have, as ``MatrixExpr``\\ s with an ``_entry`` method: a
formula made explicit with numbers (``as_explicit``) is the same function as the forward pass."""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from ..printing.notation import direct_argument
from .arrays import ArrayCode, ints

__all__ = ["AlongAxes", "Blocks", "Broadcast", "Concatenated", "ElementwiseMax", "ElementwiseMin",
           "Entrywise", "EntrywisePower", "LogSoftmax", "Lookup", "RMSScale", "Reshape", "Softmax",
           "Standardize", "tensor_entry"]


# --- matrix operations ----------------------------------------------------------------------

class Entrywise(ElementwiseApplyFunction):
    """SymPy's ``ElementwiseApplyFunction``, also for a 1×1 matrix: SymPy's constructor calls
    the function on a 1×1 matrix itself (to catch functions that return matrices), which
    ``Max`` refuses; a scalar function of the entries is what is meant here.

    It prints as the function applied to the matrix, ``tanh(x W_1 + b_1)`` and
    ``max(0, x W_1 + b_1)``, in LaTeX, plain text and pretty printing (a printer with its own
    rule for ``ElementwiseApplyFunction`` keeps it), and as array code for numpy and the
    array libraries ``lambdify`` targets (the function's code applied to the array).
    """

    def __new__(cls, function: Any, expr: Any) -> Any:
        expr = sp.sympify(expr)
        if not isinstance(function, sp.Lambda) or not expr.is_Matrix:
            raise ValueError(f"expected a Lambda and a matrix, received {function}, {expr}")
        return MatrixExpr.__new__(cls, function, expr)

    def _printed(self, printer: Any, method: str, parenthesize: Any) -> Any:
        """The function's body printed with the matrix in place of its variable."""
        own = _own_rule(printer)
        if own is not None:
            return own(printer, self)
        var, body = self.function.variables[0], self.function.expr
        arg = printer._print(self.expr)
        if not direct_argument(body, var) and isinstance(
                self.expr, (sp.MatAdd, sp.MatMul, sp.HadamardProduct)):
            arg = parenthesize(arg)
        shown = _Shown(var.name, **var.assumptions0)
        shown.printed[method] = arg
        # what a printer prints with plain text when it has no rule of its own for a node
        text = sp.sstr(self.expr)
        shown.printed.setdefault("_sympystr", text if direct_argument(body, var) else f"({text})")
        return printer._print(body.xreplace({var: shown}))

    def _latex(self, printer: Any, **kwargs: Any) -> str:
        return self._printed(printer, "_latex", lambda a: rf"\left({a}\right)")

    def _sympystr(self, printer: Any, **kwargs: Any) -> str:
        return self._printed(printer, "_sympystr", lambda a: f"({a})")

    def _pretty(self, printer: Any, **kwargs: Any) -> Any:
        from sympy.printing.pretty.stringpict import prettyForm

        return self._printed(printer, "_pretty", lambda a: prettyForm(*a.parens()))

    def _array_code(self, printer: Any, **kwargs: Any) -> str:
        var, body = self.function.variables[0], self.function.expr
        shown = _Shown(var.name, **var.assumptions0)
        shown.printed[printer.printmethod] = f"({printer._print(self.expr)})"
        return f"({printer._print(body.xreplace({var: shown}))})"

    _numpycode = _jaxcode = _array_code


class _Shown(sp.Dummy):
    """A matrix standing in for the variable of an entrywise function while its body is
    printed: it prints as the matrix (``printed``: printing method -> what it prints)."""

    def __new__(cls, name: str, **assumptions: Any) -> _Shown:
        obj = super().__new__(cls, name, **assumptions)
        obj.printed = {}
        return obj

    def _shown(self, method: str, printer: Any) -> Any:
        return self.printed.get(method) or printer._print_Symbol(self)

    def _latex(self, printer: Any, **kwargs: Any) -> Any:
        return self._shown("_latex", printer)

    def _sympystr(self, printer: Any, **kwargs: Any) -> Any:
        return self._shown("_sympystr", printer)

    def _pretty(self, printer: Any, **kwargs: Any) -> Any:
        return self._shown("_pretty", printer)

    def _array_code(self, printer: Any, **kwargs: Any) -> Any:
        return self._shown(printer.printmethod, printer)

    _numpycode = _jaxcode = _array_code


def _own_rule(printer: Any) -> Any:
    """A printer's own way of printing ``ElementwiseApplyFunction`` (a subclass of a SymPy
    printer that defines it), or ``None`` for SymPy's."""
    for klass in type(printer).__mro__:
        if "_print_ElementwiseApplyFunction" in vars(klass):
            own = vars(klass)["_print_ElementwiseApplyFunction"]
            return None if klass.__module__.startswith("sympy.") else own
    return None


class EntrywisePower(sp.HadamardPower):
    """SymPy's ``HadamardPower`` (``X^{∘k}``; ``k = -1``: the entrywise reciprocal, the
    divisor of ``⊘``), also printed as array code."""

    def _array_code(self, printer: Any, **kwargs: Any) -> str:
        return f"(({printer._print(self.base)})**({printer._print(self.exp)}))"

    _numpycode = _jaxcode = _array_code


class Blocks(sp.BlockMatrix):
    """SymPy's ``BlockMatrix`` (``[x  h]``: matrices side by side), whose ``srepr`` rebuilds
    it: SymPy's writes the blocks as an ``ImmutableDenseMatrix``, which, rebuilt, takes each
    ``MatrixSymbol`` block apart into its entries."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and isinstance(args[0], sp.Tuple):
            args = ([list(row) for row in args[0]],)
        return super().__new__(cls, *args, **kwargs)

    def _sympyrepr(self, printer: Any, **kwargs: Any) -> str:
        rows = sp.Tuple(*[sp.Tuple(*self.blocks.row(r)) for r in range(self.blocks.rows)])
        return f"{type(self).__name__}({printer._print(rows)})"


class _OnArg(ArrayCode, MatrixExpr):
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

    array_function = "softmax_rows"

    def array_arguments(self) -> list[Any]:
        return [self.arg]

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        exps = [sp.exp(v) for v in self._row(i, **kwargs)]
        return exps[int(j)] / sp.Add(*exps)

    def _latex(self, printer: Any) -> str:
        return rf"\operatorname{{softmax}}\left({printer._print(self.arg)}\right)"


class LogSoftmax(_OnArg):
    """``log_softmax`` of each row: ``x_j - log Σ_k e^{x_k}``."""

    array_function = "log_softmax_rows"

    def array_arguments(self) -> list[Any]:
        return [self.arg]

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        row = self._row(i, **kwargs)
        return row[int(j)] - sp.log(sp.Add(*[sp.exp(v) for v in row]))

    def _latex(self, printer: Any) -> str:
        return rf"\operatorname{{log\_softmax}}\left({printer._print(self.arg)}\right)"


class Standardize(_OnArg):
    """Each row minus its mean (when ``center``), over ``sqrt(row variance + epsilon)``
    (LayerNormalization; Keras' ``rms_scaling`` divides the uncentred row by the same root)."""

    array_function = "standardize_rows"

    def __new__(cls, arg: Any, epsilon: Any, center: Any = sp.true) -> Standardize:
        return super().__new__(cls, arg, sp.sympify(epsilon), sp.true if center else sp.false)

    def array_arguments(self) -> list[Any]:
        return [self.arg, self.args[1], bool(self.args[2])]

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

    array_function = "rms_rows"

    def __new__(cls, arg: Any, epsilon: Any) -> RMSScale:
        return super().__new__(cls, arg, sp.sympify(epsilon))

    def array_arguments(self) -> list[Any]:
        return [self.arg, self.args[1]]

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

    array_function = "reshaped"

    def __new__(cls, arg: Any, rows: Any, cols: Any) -> Reshape:
        return super().__new__(cls, arg, sp.Integer(rows), sp.Integer(cols))

    def array_arguments(self) -> list[Any]:
        return [self.arg, int(self.args[1]), int(self.args[2])]

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


class _Entrywise(ArrayCode, MatrixExpr):
    _op: Any = None
    _name = ""

    def array_arguments(self) -> list[Any]:
        return list(self.args)

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
    array_function = "entrywise_max"


class ElementwiseMin(_Entrywise):
    """The entrywise minimum of matrices of one shape (Keras ``Minimum``)."""

    _op = sp.Min
    _name = "min"
    array_function = "entrywise_min"




def _ints(values: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def _view(shape: tuple[int, ...]) -> tuple[int, int]:
    rows = 1
    for d in shape[:-1]:
        rows *= d
    return (rows, shape[-1] if shape else 1)


def tensor_entry(matrix: Any, shape: tuple[int, ...], index: tuple[int, ...], **kwargs: Any
                 ) -> Any:
    """The entry at a tensor index of a matrix that is the view of a tensor of ``shape``."""
    flat = 0
    for i, n in zip(index, shape):
        flat = flat * n + i
    cols = shape[-1] if shape else 1
    return matrix._entry(flat // cols, flat % cols, **kwargs)


def _index(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    out = []
    for n in reversed(shape):
        flat, r = divmod(flat, n)
        out.append(r)
    return tuple(reversed(out))


class Broadcast(ArrayCode, MatrixExpr):
    """A parameter repeated along the axes where its shape has 1 (numpy broadcasting), as the
    matrix view of a tensor of ``target`` shape. Printed as the parameter: textbooks leave
    broadcasting implicit."""

    array_function = "broadcast"

    def __new__(cls, param: Any, param_shape: Any, target: Any) -> Broadcast:
        return super().__new__(cls, param, sp.Tuple(*param_shape), sp.Tuple(*target))

    def array_arguments(self) -> list[Any]:
        return [self.args[0], ints(self.args[1]), ints(self.args[2])]

    @property
    def shape(self) -> tuple[Any, Any]:
        return tuple(sp.Integer(v) for v in _view(_ints(self.args[2])))

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        param_shape, target = _ints(self.args[1]), _ints(self.args[2])
        index = _index(int(i) * target[-1] + int(j), target)
        flat = 0
        for p, k in zip(param_shape, index):
            flat = flat * p + (0 if p == 1 else k)
        cols = int(self.args[0].shape[1])
        return self.args[0]._entry(flat // cols, flat % cols, **kwargs)

    def _latex(self, printer: Any) -> str:
        return printer._print(self.args[0])

    def _sympystr(self, printer: Any) -> str:
        return printer._print(self.args[0])


class AlongAxes(ArrayCode, MatrixExpr):
    """``softmax``, ``log_softmax`` or a standardisation along chosen axes of a tensor of
    ``shape`` (the others index the groups): ``AlongAxes(x, kind, axes, shape, epsilon)``."""

    array_function = "along_axes"

    def __new__(cls, x: Any, kind: Any, axes: Any, shape: Any, epsilon: Any = 0) -> AlongAxes:
        return super().__new__(cls, x, sp.Symbol(str(kind)), sp.Tuple(*axes), sp.Tuple(*shape),
                               sp.sympify(epsilon))

    def array_arguments(self) -> list[Any]:
        return [self.args[0], str(self.args[1]), ints(self.args[2]), ints(self.args[3]),
                self.args[4]]

    @property
    def shape(self) -> tuple[Any, Any]:
        return tuple(sp.Integer(v) for v in _view(_ints(self.args[3])))

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        kind, axes, shape = str(self.args[1]), _ints(self.args[2]), _ints(self.args[3])
        index = _index(int(i) * shape[-1] + int(j), shape)
        group = []
        for flat in range(1, 1 + int(np.prod([shape[a] for a in axes]))):
            offsets = _index(flat - 1, tuple(shape[a] for a in axes))
            at = list(index)
            for a, k in zip(axes, offsets):
                at[a] = k
            group.append(tensor_entry(self.args[0], shape, tuple(at), **kwargs))
        value = tensor_entry(self.args[0], shape, index, **kwargs)
        if kind == "softmax":
            return sp.exp(value) / sp.Add(*[sp.exp(v) for v in group])
        if kind == "log_softmax":
            return value - sp.log(sp.Add(*[sp.exp(v) for v in group]))
        mean = sp.Add(*group) / len(group)
        spread = sp.Add(*[(v - mean) ** 2 for v in group]) / len(group)
        top = value - mean if kind == "standardize" else value
        return top / sp.sqrt(spread + self.args[4])

    def _latex(self, printer: Any) -> str:
        kind, axes = str(self.args[1]), _ints(self.args[2])
        x = printer._print(self.args[0])
        sub = r"\text{axis } " + ", ".join(str(a + 1) for a in axes)
        if kind in ("softmax", "log_softmax"):
            name = kind.replace("_", r"\_")
            return rf"\operatorname{{{name}}}_{{{sub}}}\left({x}\right)"
        eps = printer._print(self.args[4])
        top = rf"{x} - \operatorname{{mean}}_{{{sub}}}\left({x}\right)" if kind == "standardize" \
            else x
        return (rf"\frac{{{top}}}{{\sqrt{{\operatorname{{Var}}_{{{sub}}}\left({x}\right) + "
                rf"{eps}}}}}")


class Concatenated(ArrayCode, MatrixExpr):
    """Tensors of ``shapes`` side by side along ``axis``: ``Concatenated(axis, shapes, *xs)``."""

    array_function = "concatenated"

    def __new__(cls, axis: Any, shapes: Any, *xs: Any) -> Concatenated:
        return super().__new__(cls, sp.Integer(axis),
                               sp.Tuple(*[sp.Tuple(*s) for s in shapes]), *xs)

    def array_arguments(self) -> list[Any]:
        return [int(self.args[0]), tuple(ints(s) for s in self.args[1]), *self.args[2:]]

    def _out(self) -> tuple[int, ...]:
        axis = int(self.args[0])
        shapes = [_ints(s) for s in self.args[1]]
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        return tuple(out)

    @property
    def shape(self) -> tuple[Any, Any]:
        return tuple(sp.Integer(v) for v in _view(self._out()))

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        axis, out = int(self.args[0]), self._out()
        index = list(_index(int(i) * out[-1] + int(j), out))
        for x, shape in zip(self.args[2:], [_ints(s) for s in self.args[1]]):
            if index[axis] < shape[axis]:
                return tensor_entry(x, shape, tuple(index), **kwargs)
            index[axis] -= shape[axis]
        raise IndexError("entry outside the concatenation")

    def _latex(self, printer: Any) -> str:
        inner = ", ".join(printer._print(x) for x in self.args[2:])
        axis = int(self.args[0]) + 1
        return rf"\operatorname{{concat}}_{{\text{{axis }} {axis}}}\left({inner}\right)"


class Lookup(ArrayCode, MatrixExpr):
    """``E[x]``: for each entry of ``x`` (an index), the row of ``E`` it selects."""

    array_function = "lookup"

    def __new__(cls, table: Any, x: Any) -> Lookup:
        return super().__new__(cls, table, x)

    def array_arguments(self) -> list[Any]:
        return [self.args[0], self.args[1]]

    @property
    def shape(self) -> tuple[Any, Any]:
        x = self.args[1]
        return (x.shape[0] * x.shape[1], self.args[0].shape[1])

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        cols = int(self.args[1].shape[1])
        index = self.args[1]._entry(int(i) // cols, int(i) % cols, **kwargs)
        table = self.args[0]
        if index.is_Integer:
            return table._entry(int(index), j, **kwargs)
        rows = int(table.shape[0])
        return sp.Piecewise(*[(table._entry(k, j, **kwargs), sp.Eq(index, k))
                              for k in range(rows)], (sp.nan, True))

    def _latex(self, printer: Any) -> str:
        return rf"{printer._print(self.args[0])}\left[{printer._print(self.args[1])}\right]"
