"""A recurrent layer's output as a matrix expression: ``Recurrence(x, cell, W, U, b, φ, σ,
options, emit)``. Its entries run the cell's steps (:func:`symnet.ops.recurrent.step`) on the
entries of ``x`` and the parameters: one definition of the arithmetic, for formula and numbers."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from .arrays import ArrayCode, ints

__all__ = ["Recurrence"]

_NAMES = {"simple": "SimpleRNN", "gru": "GRU", "lstm": "LSTM"}


class _Lambda:
    """A SymPy ``Lambda`` where a backend expects an elementwise function."""

    def __init__(self, function: Any) -> None:
        self.function = function

    def textbook(self, t: Any) -> Any:
        return self.function(t)

    sympy = textbook


class Recurrence(ArrayCode, MatrixExpr):
    """The outputs of a recurrent layer run over ``x`` (steps × features) from a zero state."""

    array_function = "recurrence"

    def array_arguments(self) -> list[Any]:
        x, cell, kernel, recurrent, bias, activation, recurrent_activation, options, emit = \
            self.args
        return [x, str(cell), kernel, recurrent, None if bias == sp.S.Zero else bias,
                activation, recurrent_activation, ints(options), str(emit)]

    def __new__(cls, x: Any, cell: Any, kernel: Any, recurrent: Any, bias: Any, activation: Any,
                recurrent_activation: Any, options: Any, emit: Any) -> Recurrence:
        t = sp.Symbol("t", real=True)
        activation = sp.Lambda(t, t) if activation is None else activation
        recurrent_activation = (sp.Lambda(t, t) if recurrent_activation is None
                                else recurrent_activation)
        return super().__new__(cls, x, sp.Symbol(str(cell)), kernel, recurrent,
                               sp.S.Zero if bias is None else bias, activation,
                               recurrent_activation, sp.Tuple(*options), sp.Symbol(str(emit)))

    @property
    def shape(self) -> tuple[Any, Any]:
        units = self.args[7][3]
        steps = self.args[0].shape[0] if str(self.args[8]) == "sequence" else sp.Integer(1)
        return (steps, units)

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        return _unrolled(self)[int(i), int(j)]

    def _latex(self, printer: Any) -> str:
        name = _NAMES[str(self.args[1])]
        sub = {"sequence": "", "last": r"_{\text{last}}", "carry": r"_{c,\,\text{last}}"}[
            str(self.args[8])]
        return rf"\operatorname{{{name}}}{sub}\left({printer._print(self.args[0])}\right)"


def _array(matrix: Any) -> np.ndarray:
    return np.array(sp.ImmutableMatrix(matrix).tolist(), dtype=object)


@lru_cache(maxsize=16)
def _unrolled(expr: Recurrence) -> Any:
    from ..backends import SymbolicBackend
    from ..ops.recurrent import emitted, run_recurrence

    x, cell, kernel, recurrent, bias, activation, recurrent_activation, options, emit = \
        expr.args
    reset_after, go_backwards, forget, units = (int(v) for v in options)
    weights = [_array(kernel), _array(recurrent),
               None if bias == sp.S.Zero else _array(bias)]
    if weights[2] is not None and not (str(cell) == "gru" and reset_after):
        weights[2] = weights[2].reshape(-1)
    if forget:
        weights[1] = weights[1] * 0
    backend = SymbolicBackend()
    identity = sp.Lambda(sp.Symbol("t", real=True), sp.Symbol("t", real=True))
    fns = tuple(None if f == identity else _Lambda(f) for f in (activation,
                                                                recurrent_activation))
    outputs, state = run_recurrence(backend, str(cell), _array(x)[None], tuple(weights), fns,
                                    units, bool(reset_after), bool(go_backwards))
    return sp.ImmutableMatrix(emitted(outputs, state, str(emit))[0].reshape(
        -1 if str(emit) == "sequence" else 1, units))
