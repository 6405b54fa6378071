"""Elementary functions of one entry that exporters write as their own nodes (``Sqrt``, ``Erf``,
``Log``, ``Reciprocal``, ``Abs``, ``Pow`` with a fixed exponent, ``Clip``): the pieces of a
LayerNorm or a GELU spelled out node by node.

Most are names for a function SymPy already writes well (``alias``: a formula shows
``sqrt(t)``, ``erf(t)``, ``t**2``, ordinary SymPy); the names only carry the numpy
implementation, in the dtype of the input. :class:`Clamp` (``Clip`` to any bounds, and the
clipping of a recurrent cell) is piecewise linear and shown by its definition,
``Min(high, Max(low, t))``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from .activations import Activation, scipy_special

__all__ = ["Absolute", "Clamp", "Erf", "Log", "Power", "Reciprocal", "Sqrt"]


def _cast(x: np.ndarray, value: float) -> Any:
    return x.dtype.type(value)


class _SymPys(Activation):
    """A name for SymPy's own function: formulas, closed forms included, hold SymPy's."""

    alias = True

    @classmethod
    def textbook(cls, t: Any, *options: Any) -> Any:
        return cls.definition(t, *options)


class Sqrt(_SymPys):
    """``√t`` (SymPy's own ``sqrt``)."""

    nargs = 1
    label = r"\sqrt"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return sp.sqrt(t)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.sqrt(x)


class Erf(_SymPys):
    """The error function ``erf(t)`` (SymPy's own ``erf``)."""

    nargs = 1
    label = r"\operatorname{erf}"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return sp.erf(t)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return scipy_special().erf(x).astype(x.dtype, copy=False)


class Log(_SymPys):
    """The natural logarithm ``log(t)`` (SymPy's own ``log``)."""

    nargs = 1
    label = r"\log"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return sp.log(t)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.log(x)


class Reciprocal(_SymPys):
    """``1/t``."""

    nargs = 1
    label = r"\operatorname{reciprocal}"
    rational = True

    @classmethod
    def definition(cls, t: Any) -> Any:
        return 1 / t

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return _cast(x, 1.0) / x


class Absolute(_SymPys):
    """``|t|`` (SymPy's own ``Abs``): piecewise linear, one kink at 0."""

    nargs = 1
    label = r"\operatorname{abs}"
    piecewise_linear = True

    @classmethod
    def definition(cls, t: Any) -> Any:
        return sp.Abs(t)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.abs(x)

    @classmethod
    def kinks(cls) -> tuple[Any, ...]:
        return (sp.Integer(0),)


class Power(_SymPys):
    """``t**p`` for a fixed exponent ``p`` (ONNX ``Pow`` with a constant exponent): exact on
    rationals for a whole ``p``."""

    nargs = 2
    label = r"\operatorname{pow}"

    @classmethod
    def definition(cls, t: Any, p: Any) -> Any:
        return t**p

    @classmethod
    def numeric(cls, x: np.ndarray, p: float) -> np.ndarray:
        return np.power(x, _cast(x, p))


class Clamp(Activation):
    """``t`` clipped to ``[low, high]``: ``Min(high, Max(low, t))`` (ONNX ``Clip``; a
    recurrent cell's ``clip`` threshold ``c`` is ``Clamp(t, -c, c)``)."""

    nargs = 3
    label = r"\operatorname{clip}"
    option_names = ("low", "high")
    option_keys = ("min", "max")
    piecewise_linear = True
    textbook_definition = True

    @classmethod
    def definition(cls, t: Any, low: Any, high: Any) -> Any:
        return sp.Min(high, sp.Max(low, t))

    @classmethod
    def numeric(cls, x: np.ndarray, low: float, high: float) -> np.ndarray:
        return np.minimum(np.maximum(x, _cast(x, low)), _cast(x, high))

    @classmethod
    def kinks(cls, low: Any, high: Any) -> tuple[Any, ...]:
        return tuple(sorted({sp.sympify(low), sp.sympify(high)} - {sp.oo, -sp.oo}))
