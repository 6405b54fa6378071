"""Activations as SymPy functions of their argument and their options, e.g.
``ReLU(t, max_value, negative_slope, threshold)``: each has its exact definition
(``rewrite(Max)``, ``rewrite(Piecewise)``), evaluates exactly on rationals when it is piecewise
linear (or rational), numerically (``evalf``) otherwise, prints as a textbook would, and has a
numpy implementation that follows Keras' own float arithmetic (:meth:`Activation.numeric`)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import sympy as sp
from scipy import special
from sympy.core.evalf import prec_to_dps
from sympy.core.function import Function

from ..numbers import number

__all__ = [
    "ACTIVATION_CLASSES", "CELU", "ELU", "GELU", "Activation", "Exponential", "HardShrink",
    "HardSiLU", "HardSigmoid", "HardTanh", "InverseSqrt", "LeakyReLU", "LogSigmoid", "Mish",
    "ReLU", "SELU", "SiLU", "Sigmoid", "SoftShrink", "Softplus", "Softsign", "SparsePlus",
    "SparseSigmoid", "SquarePlus", "StdFloor", "T", "Tanh", "TanhShrink", "canonical", "number",
]

#: The variable of every elementwise function in symnet's formulas: ``Lambda(T, Max(0, T))``.
T = sp.Symbol("t", real=True)


def canonical(expr: Any) -> Any:
    """``expr`` with every matrix sum in the order ``srepr`` prints it, so that the expression
    rebuilt from its ``srepr`` is equal (``==``) to it: SymPy keeps a ``MatAdd``'s terms in the
    order they were added, but prints them sorted."""
    from sympy.printing.repr import ReprPrinter

    order = ReprPrinter()._as_ordered_terms
    return expr.replace(lambda e: isinstance(e, sp.MatAdd),
                        lambda e: sp.MatAdd(*order(e, order=None)))


def _cast(x: np.ndarray, value: float) -> Any:
    return x.dtype.type(value)


class Activation(Function):
    """An elementwise activation ``f(t, *options)``.

    Subclasses give ``definition`` (the exact SymPy formula), ``numeric`` (numpy, in the dtype
    of its input, in Keras' order of operations) and, when piecewise linear, ``kinks`` (where
    the pieces meet). Options are SymPy numbers; at their defaults they are left out, so
    ``ReLU(t)`` is the plain ReLU.
    """

    label: ClassVar[str] = ""
    """Its name in LaTeX."""
    option_names: ClassVar[tuple[str, ...]] = ()
    """How the options are shown in LaTeX."""
    option_keys: ClassVar[tuple[str, ...]] = ()
    """Their names in Keras."""
    defaults: ClassVar[tuple[Any, ...]] = ()
    piecewise_linear: ClassVar[bool] = False
    textbook_definition: ClassVar[bool] = False
    """Whether layer formulas show the definition (the ReLU family: ``Max(0, t)``)."""
    rational: ClassVar[bool] = False
    """Rational at rational arguments (piecewise polynomial): evaluated exactly there."""
    alias: ClassVar[bool] = False
    """A name for a formula SymPy already writes well (``tanh``): it is always rewritten."""

    @classmethod
    def definition(cls, t: Any, *options: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def numeric(cls, x: np.ndarray, *options: float) -> np.ndarray:
        raise NotImplementedError

    @classmethod
    def kinks(cls, *options: Any) -> tuple[Any, ...]:
        """Where the pieces of a piecewise-linear function meet (exact numbers, sorted)."""
        return ()

    @classmethod
    def eval(cls, t: Any, *options: Any) -> Any:
        if cls.alias:
            return cls.definition(t, *options)
        if options and tuple(sp.sympify(o) for o in options) == tuple(cls.defaults):
            return cls(t)
        if t.is_Number and (cls.piecewise_linear or cls.rational):
            return cls.definition(t, *options)  # exact on rationals
        if t.is_Float:
            return cls.definition(t, *options).evalf(prec_to_dps(t._prec))
        return None

    @property
    def options(self) -> tuple[Any, ...]:
        return tuple(self.args[1:]) or tuple(self.defaults)

    def _definition(self) -> Any:
        return type(self).definition(self.args[0], *self.options)

    def _eval_rewrite_as_Max(self, *args: Any, **hints: Any) -> Any:
        return self._definition()

    def _eval_rewrite_as_Piecewise(self, *args: Any, **hints: Any) -> Any:
        return self._definition().rewrite(sp.Piecewise)

    def _eval_rewrite_as_exp(self, *args: Any, **hints: Any) -> Any:
        return self._definition()

    def _eval_evalf(self, prec: int) -> Any:
        return self._definition().evalf(prec_to_dps(prec))

    def _eval_is_real(self) -> Any:
        return self.args[0].is_real

    def fdiff(self, argindex: int = 1) -> Any:
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        return sp.diff(type(self).definition(T, *self.options), T).subs(T, self.args[0])

    def _latex(self, printer: Any) -> str:
        shown = [f"{name}={printer._print(value)}" for name, value, default in
                 zip(self.option_names, self.options, self.defaults) if value != default]
        sub = "_{" + r",\ ".join(shown).replace("_", r"\_") + "}" if shown else ""
        return rf"{self.label}{sub}\left({printer._print(self.args[0])}\right)"

    @classmethod
    def textbook(cls, t: Any, *options: Any) -> Any:
        """What a layer formula shows: the definition for the ReLU family, else the name."""
        return cls.definition(t, *options) if cls.textbook_definition else cls(t, *options)


# --- the ReLU family ------------------------------------------------------------------------

class ReLU(Activation):
    """Keras ``relu`` / ``ReLU(max_value, negative_slope, threshold)``, as ``ReLU.static_call``.

    ``f(t) = clip(t if t > threshold else 0, 0, max_value) - slope * max(0, threshold - t)``;
    without ``max_value`` (``oo``) there is no clipping, so for a negative threshold the values
    between the threshold and 0 pass unchanged, as in Keras.
    """

    nargs = (1, 4)
    label = r"\operatorname{ReLU}"
    option_names = ("max", r"\alpha", r"\theta")
    option_keys = ("max_value", "negative_slope", "threshold")
    defaults = (sp.oo, sp.Integer(0), sp.Integer(0))
    piecewise_linear = True
    textbook_definition = True

    @classmethod
    def definition(cls, t: Any, max_value: Any = sp.oo, slope: Any = 0, threshold: Any = 0
                   ) -> Any:
        # t if t > threshold else 0, as t * H(t - threshold) with H(0) = 0: no Piecewise.
        pos = sp.Max(0, t) if threshold == 0 else t * sp.Heaviside(t - threshold, 0)
        if max_value != sp.oo:
            pos = sp.Min(sp.Max(pos, 0), max_value)
        if slope != 0:
            pos = pos - slope * sp.Max(0, threshold - t)
        return pos

    @classmethod
    def numeric(cls, x: np.ndarray, max_value: float = np.inf, slope: float = 0.0,
                threshold: float = 0.0) -> np.ndarray:
        if slope != 0.0 and max_value == np.inf and threshold == 0.0:
            return np.where(x > 0, x, x * _cast(x, slope))
        if threshold == 0.0:
            pos = np.maximum(x, 0)
        else:
            pos = np.where(x > _cast(x, threshold), x, 0).astype(x.dtype)
        if max_value != np.inf:
            pos = np.clip(pos, 0, _cast(x, max_value))
        if slope != 0.0:
            pos = pos - _cast(x, slope) * np.maximum(_cast(x, threshold) - x, 0)
        return pos

    @classmethod
    def kinks(cls, max_value: Any = sp.oo, slope: Any = 0, threshold: Any = 0) -> tuple[Any, ...]:
        points = {sp.sympify(threshold)} | ({max_value} if max_value != sp.oo else set())
        return tuple(sorted(points))


class LeakyReLU(Activation):
    """``t`` for ``t > 0``, else ``negative_slope * t`` (Keras ``LeakyReLU``/``leaky_relu``),
    written ``max(0, t) + slope * min(0, t)``: the same function for every slope."""

    nargs = 2
    label = r"\operatorname{LeakyReLU}"
    option_names = (r"\alpha",)
    option_keys = ("negative_slope",)
    piecewise_linear = True
    textbook_definition = True

    @classmethod
    def definition(cls, t: Any, slope: Any) -> Any:
        return sp.Max(0, t) + slope * sp.Min(0, t)

    @classmethod
    def numeric(cls, x: np.ndarray, slope: float) -> np.ndarray:
        return np.where(x > 0, x, x * _cast(x, slope))

    @classmethod
    def kinks(cls, slope: Any) -> tuple[Any, ...]:
        return (sp.Integer(0),)

    def _latex(self, printer: Any) -> str:
        return (rf"{self.label}_{{{printer._print(self.args[1])}}}"
                rf"\left({printer._print(self.args[0])}\right)")


class HardSigmoid(Activation):
    """``relu6(t + 3) / 6`` (Keras 3 ``hard_sigmoid``)."""

    nargs = 1
    label = r"\operatorname{hard\_sigmoid}"
    piecewise_linear = True

    @classmethod
    def definition(cls, t: Any) -> Any:
        return sp.Min(sp.Max(t + 3, 0), 6) / 6

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.clip(x + _cast(x, 3.0), 0, _cast(x, 6.0)) / _cast(x, 6.0)

    @classmethod
    def kinks(cls) -> tuple[Any, ...]:
        return (sp.Integer(-3), sp.Integer(3))


class HardTanh(Activation):
    nargs = 1
    label = r"\operatorname{hard\_tanh}"
    piecewise_linear = True

    @classmethod
    def definition(cls, t: Any) -> Any:
        return sp.Min(sp.Max(t, -1), 1)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.clip(x, _cast(x, -1.0), _cast(x, 1.0))

    @classmethod
    def kinks(cls) -> tuple[Any, ...]:
        return (sp.Integer(-1), sp.Integer(1))


class SparseSigmoid(Activation):
    nargs = 1
    label = r"\operatorname{sparse\_sigmoid}"
    piecewise_linear = True

    @classmethod
    def definition(cls, t: Any) -> Any:
        return sp.Min(1, sp.Max(0, (t + 1) / 2))

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.where(x <= -1, _cast(x, 0.0), np.where(
            x >= 1, _cast(x, 1.0), _cast(x, 0.5) * (x + _cast(x, 1.0))))

    @classmethod
    def kinks(cls) -> tuple[Any, ...]:
        return (sp.Integer(-1), sp.Integer(1))


class SoftShrink(Activation):
    nargs = 1
    label = r"\operatorname{soft\_shrink}"
    piecewise_linear = True

    @classmethod
    def definition(cls, t: Any) -> Any:
        return sp.Max(0, t - sp.S.Half) + sp.Min(0, t + sp.S.Half)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.where(x > 0.5, x - _cast(x, 0.5),
                        np.where(x < -0.5, x + _cast(x, 0.5), _cast(x, 0.0)))

    @classmethod
    def kinks(cls) -> tuple[Any, ...]:
        return (-sp.S.Half, sp.S.Half)


class HardShrink(Activation):
    nargs = 1
    label = r"\operatorname{hard\_shrink}"
    piecewise_linear = True

    @classmethod
    def definition(cls, t: Any) -> Any:
        return t * sp.Heaviside(sp.Abs(t) - sp.S.Half, 0)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.where(np.abs(x) > 0.5, x, _cast(x, 0.0))

    @classmethod
    def kinks(cls) -> tuple[Any, ...]:
        return (-sp.S.Half, sp.S.Half)


# --- smooth activations ---------------------------------------------------------------------

class Sigmoid(Activation):
    nargs = 1
    label = r"\sigma"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return 1 / (1 + sp.exp(-t))

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return special.expit(x)


class Tanh(Activation):
    """``tanh``, SymPy's own (this name only carries the numpy implementation)."""

    nargs = 1
    alias = True

    @classmethod
    def definition(cls, t: Any) -> Any:
        return sp.tanh(t)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.tanh(x)


class Exponential(Activation):
    nargs = 1
    alias = True

    @classmethod
    def definition(cls, t: Any) -> Any:
        return sp.exp(t)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.exp(x)


class ELU(Activation):
    """``t`` for ``t > 0``, else ``alpha (e^t - 1)``, written without ``Piecewise``."""

    nargs = (1, 2)
    label = r"\operatorname{ELU}"
    option_names = (r"\alpha",)
    option_keys = ("alpha",)
    defaults = (sp.Integer(1),)

    @classmethod
    def definition(cls, t: Any, alpha: Any = 1) -> Any:
        return sp.Max(0, t) + alpha * (sp.exp(sp.Min(0, t)) - 1)

    @classmethod
    def numeric(cls, x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
        return np.where(x > 0, x, _cast(x, alpha) * np.expm1(np.minimum(x, 0)))


class CELU(Activation):
    nargs = (1, 2)
    label = r"\operatorname{CELU}"
    option_names = (r"\alpha",)
    option_keys = ("alpha",)
    defaults = (sp.Integer(1),)

    @classmethod
    def definition(cls, t: Any, alpha: Any = 1) -> Any:
        return sp.Max(0, t) + alpha * (sp.exp(sp.Min(0, t) / alpha) - 1)

    @classmethod
    def numeric(cls, x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
        return np.maximum(x, 0) + _cast(x, alpha) * np.expm1(np.minimum(x, 0) / _cast(x, alpha))


# tf.nn.selu's constants, to the digits Keras writes them.
_SELU_ALPHA = sp.Float("1.6732632423543772848170429916717", 32)
_SELU_SCALE = sp.Float("1.0507009873554804934193349852946", 32)


class SELU(Activation):
    nargs = 1
    label = r"\operatorname{SELU}"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return _SELU_SCALE * (sp.Max(0, t) + _SELU_ALPHA * (sp.exp(sp.Min(0, t)) - 1))

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return _cast(x, float(_SELU_SCALE)) * np.where(
            x > 0, x, _cast(x, float(_SELU_ALPHA)) * np.expm1(np.minimum(x, 0)))


class Softplus(Activation):
    nargs = 1
    label = r"\operatorname{softplus}"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return sp.log(1 + sp.exp(t))

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.logaddexp(x, _cast(x, 0.0))


class Softsign(Activation):
    nargs = 1
    rational = True
    label = r"\operatorname{softsign}"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return t / (1 + sp.Abs(t))

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return x / (np.abs(x) + _cast(x, 1.0))


class SiLU(Activation):
    """``t σ(t)`` (Keras ``silu`` / ``swish``)."""

    nargs = 1
    label = r"\operatorname{SiLU}"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return t / (1 + sp.exp(-t))

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return x * special.expit(x)


class GELU(Activation):
    """``t/2 (1 + erf(t/√2))`` (Keras ``gelu``, ``approximate=False``)."""

    nargs = 1
    label = r"\operatorname{GELU}"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return t / 2 * (1 + sp.erf(t / sp.sqrt(2)))

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return _cast(x, 0.5) * x * (_cast(x, 1.0) + special.erf(x / _cast(x, np.sqrt(2))))


class Mish(Activation):
    nargs = 1
    label = r"\operatorname{mish}"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return t * sp.tanh(sp.log(1 + sp.exp(t)))

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return x * np.tanh(np.logaddexp(x, _cast(x, 0.0)))


class HardSiLU(Activation):
    """``t · hard_sigmoid(t)`` (Keras ``hard_silu`` / ``hard_swish``)."""

    nargs = 1
    rational = True
    label = r"\operatorname{hard\_SiLU}"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return t * HardSigmoid.definition(t)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return x * HardSigmoid.numeric(x)


class LogSigmoid(Activation):
    nargs = 1
    label = r"\log\sigma"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return -sp.log(1 + sp.exp(-t))

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return -np.logaddexp(-x, _cast(x, 0.0))


class SquarePlus(Activation):
    nargs = 1
    label = r"\operatorname{squareplus}"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return (t + sp.sqrt(t**2 + 4)) / 2

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return (x + np.sqrt(x * x + _cast(x, 4.0))) / _cast(x, 2.0)


class SparsePlus(Activation):
    """0 below -1, ``(t+1)²/4`` up to 1, ``t`` above: ``(c+1)²/4 + max(0, t-1)``, ``c`` the
    clipped ``t``."""

    nargs = 1
    rational = True
    label = r"\operatorname{sparse\_plus}"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return (sp.Min(sp.Max(t, -1), 1) + 1) ** 2 / 4 + sp.Max(0, t - 1)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.where(x <= -1, _cast(x, 0.0),
                        np.where(x < 1, _cast(x, 0.25) * (x + _cast(x, 1.0)) ** 2, x))


class TanhShrink(Activation):
    nargs = 1
    label = r"\operatorname{tanh\_shrink}"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return t - sp.tanh(t)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return x - np.tanh(x)


# --- helpers of other formulas (not activations) --------------------------------------------

class InverseSqrt(Activation):
    """``1/√t``: BatchNorm's and LayerNorm's scale."""

    nargs = 1
    alias = True

    @classmethod
    def definition(cls, t: Any) -> Any:
        return 1 / sp.sqrt(t)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return 1 / np.sqrt(x)


class StdFloor(Activation):
    """``max(√t, ε)``: the divisor of Keras' ``Normalization`` layer."""

    nargs = 2
    alias = True

    @classmethod
    def definition(cls, t: Any, epsilon: Any) -> Any:
        return sp.Max(sp.sqrt(t), epsilon)

    @classmethod
    def numeric(cls, x: np.ndarray, epsilon: float) -> np.ndarray:
        return np.maximum(np.sqrt(x), _cast(x, epsilon))


#: Every activation class, by name (what ``lambdify`` maps to numpy).
ACTIVATION_CLASSES: dict[str, type[Activation]] = {
    cls.__name__: cls for cls in (
        ReLU, LeakyReLU, HardSigmoid, HardTanh, SparseSigmoid, SoftShrink, HardShrink, Sigmoid,
        Tanh, Exponential, ELU, CELU, SELU, Softplus, Softsign, SiLU, GELU, Mish, HardSiLU,
        LogSigmoid, SquarePlus, SparsePlus, TanhShrink, InverseSqrt, StdFloor)}
