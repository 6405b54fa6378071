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
    """The outputs of a recurrent layer run over ``x`` (steps × features) from a zero state.

    Optional trailing arguments (ONNX's recurrent operators): ``(clip, sequences)`` — each
    gate's input clipped to ``[−clip, clip]`` (0: no clipping), and ``sequences`` sequences
    one after the other in ``x`` ((sequences·steps) × features), each run alone — then the
    initial state's matrices (``h_0``, an LSTM's ``c_0``), one row per sequence."""

    array_function = "recurrence"

    def array_arguments(self) -> list[Any]:
        x, cell, kernel, recurrent, bias, activation, recurrent_activation, options, emit = \
            self.args[:9]
        extra: list[Any] = []
        if len(self.args) > 9:
            extra = [(float(self.args[9][0]), int(self.args[9][1])), *self.args[10:]]
        return [x, str(cell), kernel, recurrent, None if bias == sp.S.Zero else bias,
                activation, recurrent_activation, ints(options), str(emit), *extra]

    def __new__(cls, x: Any, cell: Any, kernel: Any, recurrent: Any, bias: Any, activation: Any,
                recurrent_activation: Any, options: Any, emit: Any, *extra: Any) -> Recurrence:
        t = sp.Symbol("t", real=True)
        activation = sp.Lambda(t, t) if activation is None else activation
        recurrent_activation = (sp.Lambda(t, t) if recurrent_activation is None
                                else recurrent_activation)
        if extra:
            extra = (sp.Tuple(*extra[0]), *extra[1:])
        return super().__new__(cls, x, sp.Symbol(str(cell)), kernel, recurrent,
                               sp.S.Zero if bias is None else bias, activation,
                               recurrent_activation, sp.Tuple(*options), sp.Symbol(str(emit)),
                               *extra)

    @property
    def sequences(self) -> int:
        return int(self.args[9][1]) if len(self.args) > 9 else 1

    @property
    def shape(self) -> tuple[Any, Any]:
        units = self.args[7][3]
        n = self.sequences
        if str(self.args[8]) == "sequence":
            return (self.args[0].shape[0], units)
        return (sp.Integer(n), units)

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
        expr.args[:9]
    reset_after, go_backwards, forget, units = (int(v) for v in options)
    clip, sequences = (expr.args[9][0], int(expr.args[9][1])) if len(expr.args) > 9 else (0, 1)
    initial = tuple(_array(m) for m in expr.args[10:])
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
    from ..ops.activations import Fn
    from .elementary import Clamp

    values = _array(x)
    values = values.reshape(sequences, values.shape[0] // sequences, values.shape[1])
    clamp = Fn(Clamp, (-clip, clip), name="clip") if clip != 0 else None
    outputs, state = run_recurrence(backend, str(cell), values, tuple(weights), fns, units,
                                    bool(reset_after), bool(go_backwards), clamp, initial)
    return sp.ImmutableMatrix(emitted(outputs, state, str(emit)).reshape(-1, units))
