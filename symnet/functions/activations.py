"""Activations as SymPy functions of their argument and their options, e.g.
``ReLU(t, max_value, negative_slope, threshold)``.

Each class is an ordinary SymPy ``Function``: it has its exact definition in elementary
functions (``rewrite(exp)``, ``rewrite(Max)``, ``rewrite(Piecewise)``...), evaluates exactly on
rationals when it is piecewise linear (or rational) and numerically (``evalf``) otherwise, has
its derivative (``fdiff``, with TensorFlow's choice at a kink: ``ReLU'(0) = 0``), prints in
LaTeX under its name, and prints as code for every printer ``sympy.lambdify`` uses (numpy,
scipy, math, mpmath, jax, torch...: an accurate elementary form, ``expm1``/``log1p``/``erfc``
where they matter). A numpy implementation follows Keras' own float arithmetic
(:meth:`Activation.numeric`). Where SymPy has the function itself (``tanh``, ``exp``,
``1/sqrt``), the class is an *alias*: it carries the numpy arithmetic for the backends, and
every expression holds SymPy's own function instead."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
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


#: The printing methods of SymPy's code printers (``sympy.lambdify``, ``pycode``): numpy and

def scipy_special() -> Any:
    """``scipy.special``, imported when a float64 value is first computed (0.3 s of start-up
    that a command reading a file and printing a formula does not need)."""
    from scipy import special

    return special

#: scipy use ``_numpycode``, math and SymPy ``_pythoncode``; each prints the function's code
#: form with the printer's own functions.
CODE_PRINTMETHODS = ("_pythoncode", "_mpmathcode", "_numpycode", "_cupycode", "_jaxcode",
                     "_torchcode", "_tensorflowcode", "_lambdacode")


def _when(value: Any, condition: Any) -> Any:
    """``value`` where ``condition`` holds, else 0 (a one-piece ``Piecewise``)."""
    return sp.Piecewise((value, condition), (0, True))


def _softplus(t: Any) -> Any:
    """``log(1 + e^t)`` without overflow or cancellation, for code: ``max(t, 0) +
    log1p(e^-|t|)``."""
    return sp.Max(t, 0) + log1p(sp.exp(-sp.Abs(t)))


class Activation(Function):
    """An elementwise activation ``f(t, *options)``.

    Subclasses give ``definition`` (the exact SymPy formula in elementary functions),
    ``derivative`` (``f'`` as TensorFlow computes it, its choice at a kink included),
    ``numeric`` (numpy, in the dtype of its input, in Keras' order of operations) and, when
    piecewise linear, ``kinks`` (where the pieces meet); ``code`` when the definition is not
    the accurate way to compute it in floats. Options are SymPy numbers; at their defaults they
    are left out, so ``ReLU(t)`` is the plain ReLU.
    """

    label: ClassVar[str] = ""
    """Its name in LaTeX (never empty)."""
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
    """A name for a function SymPy has (``tanh``): expressions always hold SymPy's own."""

    @classmethod
    def definition(cls, t: Any, *options: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def derivative(cls, t: Any, *options: Any) -> Any:
        """``f'(t)``; at a kink, the value TensorFlow's gradient gives there."""
        return sp.diff(cls.definition(T, *options), T).subs(T, t)

    @classmethod
    def code(cls, t: Any, *options: Any) -> Any:
        """The function as code printers should compute it (the same function as the
        definition, written for floats: ``expm1``, ``log1p``...)."""
        return cls.definition(t, *options)

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

    @classmethod
    def textbook(cls, t: Any, *options: Any) -> Any:
        """What a formula holds: the definition for the ReLU family (``Max(0, t)``) and for
        aliases (SymPy's ``tanh``), else the named function."""
        if cls.textbook_definition or cls.alias:
            return cls.definition(t, *options)
        return cls(t, *options)

    @property
    def options(self) -> tuple[Any, ...]:
        return tuple(self.args[1:]) or tuple(self.defaults)

    def _definition(self) -> Any:
        return type(self).definition(self.args[0], *self.options)

    # --- SymPy's protocols ------------------------------------------------------------------

    def _eval_rewrite_as_Piecewise(self, *args: Any, **hints: Any) -> Any:
        return self._definition().rewrite(sp.Piecewise)

    def _elementary(self, *args: Any, **hints: Any) -> Any:
        return self._definition()

    # ``f.rewrite(exp)``, ``rewrite(Max)``... give the definition in elementary functions.
    _eval_rewrite_as_Max = _eval_rewrite_as_Min = _eval_rewrite_as_Heaviside = _elementary
    _eval_rewrite_as_exp = _eval_rewrite_as_log = _eval_rewrite_as_tanh = _elementary
    _eval_rewrite_as_erf = _eval_rewrite_as_sqrt = _eval_rewrite_as_Abs = _elementary

    def _eval_evalf(self, prec: int) -> Any:
        return self._definition().evalf(prec_to_dps(prec))

    def _eval_is_real(self) -> Any:
        return self.args[0].is_real

    def _eval_is_finite(self) -> Any:
        if self.args[0].is_finite:
            return True
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        return type(self).derivative(self.args[0], *self.options)

    def _latex(self, printer: Any, exp: Any = None) -> str:
        shown = [f"{name}={printer._print(value)}" for name, value, default in
                 zip(self.option_names, self.options, self.defaults) if value != default]
        sub = "_{" + r",\ ".join(shown).replace("_", r"\_") + "}" if shown else ""
        power = f"^{{{exp}}}" if exp is not None else ""
        return rf"{self.label}{sub}{power}\left({printer._print(self.args[0])}\right)"

    def _code(self, printer: Any, **kwargs: Any) -> str:
        # parenthesized: the printer takes a function call for an atom (``-2*f(x)``)
        return f"({printer._print(type(self).code(self.args[0], *self.options))})"

    def _torchcode(self, printer: Any, **kwargs: Any) -> str:
        # torch.max/min and torch's comparisons take tensors, not numbers, and SymPy's torch
        # printer knows neither expm1 nor log1p: pieces (torch.where) and exp, log instead.
        u = sp.Dummy("u", real=True)  # rewritten small, then the argument put in
        code = type(self).code(u, *self.options)
        code = code.replace(expm1, lambda a: sp.exp(a) - 1).replace(log1p,
                                                                      lambda a: sp.log(1 + a))
        return f"({printer._print(code.rewrite(sp.Piecewise).xreplace({u: self.args[0]}))})"

    # Every code printer prints the code form with its own functions.
    _pythoncode = _mpmathcode = _numpycode = _cupycode = _jaxcode = _code
    _tensorflowcode = _lambdacode = _code


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
        if threshold == 0:
            pos = sp.Max(0, t) if max_value == sp.oo else sp.Min(sp.Max(0, t), max_value)
        else:
            pos = t * sp.Heaviside(t - threshold, 0)
            if max_value != sp.oo:
                pos = sp.Min(sp.Max(pos, 0), max_value)
        if slope != 0:
            pos = pos - slope * sp.Max(0, threshold - t)
        return pos

    @classmethod
    def code(cls, t: Any, max_value: Any = sp.oo, slope: Any = 0, threshold: Any = 0) -> Any:
        pos = sp.Piecewise((t, t > threshold), (0, True))
        if max_value != sp.oo:
            pos = sp.Min(sp.Max(pos, 0), max_value)
        if slope != 0:
            pos = pos - slope * sp.Max(0, threshold - t)
        return pos

    @classmethod
    def derivative(cls, t: Any, max_value: Any = sp.oo, slope: Any = 0, threshold: Any = 0
                   ) -> Any:
        # As Keras' ReLU.static_call computes it, gradient by gradient: leaky_relu (1 or the
        # slope at 0), relu (0 at 0), relu6 (0 at 0 and 6), t·[t > θ], and a clip, whose
        # gradient passes at its bounds.
        if slope != 0 and max_value == sp.oo and threshold == 0:
            return sp.Piecewise((1, t > 0), (slope, True))
        if threshold != 0:
            passes = t > threshold
            if max_value != sp.oo:
                passes = passes & (t >= 0) & (t <= max_value)
        elif max_value == 6:
            passes = (t > 0) & (t < 6)
        else:
            passes = t > 0
            if max_value != sp.oo:
                passes = passes & (t <= max_value)
        out = _when(sp.Integer(1), passes)
        if slope != 0:
            out = out + slope * _when(sp.Integer(1), t < threshold)
        return out

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
    def code(cls, t: Any, slope: Any) -> Any:
        return sp.Piecewise((t, t > 0), (slope * t, True))

    @classmethod
    def derivative(cls, t: Any, slope: Any) -> Any:
        return sp.Piecewise((1, t > 0), (slope, True))

    @classmethod
    def numeric(cls, x: np.ndarray, slope: float) -> np.ndarray:
        return np.where(x > 0, x, x * _cast(x, slope))

    @classmethod
    def kinks(cls, slope: Any) -> tuple[Any, ...]:
        return (sp.Integer(0),)

    def _latex(self, printer: Any, exp: Any = None) -> str:
        power = f"^{{{exp}}}" if exp is not None else ""
        return (rf"{self.label}_{{{printer._print(self.args[1])}}}{power}"
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
    def derivative(cls, t: Any) -> Any:
        return _when(sp.Rational(1, 6), (t > -3) & (t < 3))

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.clip(x + _cast(x, 3.0), 0, _cast(x, 6.0)) / _cast(x, 6.0)

    @classmethod
    def kinks(cls) -> tuple[Any, ...]:
        return (sp.Integer(-3), sp.Integer(3))


class HardTanh(Activation):
    """``t`` clipped to ``[-1, 1]`` (Keras ``hard_tanh``)."""

    nargs = 1
    label = r"\operatorname{hard\_tanh}"
    piecewise_linear = True

    @classmethod
    def definition(cls, t: Any) -> Any:
        return sp.Min(sp.Max(t, -1), 1)

    @classmethod
    def derivative(cls, t: Any) -> Any:
        return _when(sp.Integer(1), (t >= -1) & (t <= 1))

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.clip(x, _cast(x, -1.0), _cast(x, 1.0))

    @classmethod
    def kinks(cls) -> tuple[Any, ...]:
        return (sp.Integer(-1), sp.Integer(1))


class SparseSigmoid(Activation):
    """0 up to -1, ``(t + 1)/2`` up to 1, then 1 (Keras ``sparse_sigmoid``)."""

    nargs = 1
    label = r"\operatorname{sparse\_sigmoid}"
    piecewise_linear = True

    @classmethod
    def definition(cls, t: Any) -> Any:
        return sp.Min(1, sp.Max(0, (t + 1) / 2))

    @classmethod
    def code(cls, t: Any) -> Any:
        return sp.Piecewise((0, t <= -1), (1, t >= 1), ((t + 1) / 2, True))

    @classmethod
    def derivative(cls, t: Any) -> Any:
        return _when(sp.S.Half, (t > -1) & (t < 1))

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.where(x <= -1, _cast(x, 0.0), np.where(
            x >= 1, _cast(x, 1.0), _cast(x, 0.5) * (x + _cast(x, 1.0))))

    @classmethod
    def kinks(cls) -> tuple[Any, ...]:
        return (sp.Integer(-1), sp.Integer(1))


class SoftShrink(Activation):
    """``t ∓ 1/2`` outside ``[-1/2, 1/2]``, 0 inside (Keras ``soft_shrink``)."""

    nargs = 1
    label = r"\operatorname{soft\_shrink}"
    piecewise_linear = True

    @classmethod
    def definition(cls, t: Any) -> Any:
        return sp.Max(0, t - sp.S.Half) + sp.Min(0, t + sp.S.Half)

    @classmethod
    def code(cls, t: Any) -> Any:
        return sp.Piecewise((t - sp.S.Half, t > sp.S.Half), (t + sp.S.Half, t < -sp.S.Half),
                            (0, True))

    @classmethod
    def derivative(cls, t: Any) -> Any:
        return _when(sp.Integer(1), (t > sp.S.Half) | (t < -sp.S.Half))

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.where(x > 0.5, x - _cast(x, 0.5),
                        np.where(x < -0.5, x + _cast(x, 0.5), _cast(x, 0.0)))

    @classmethod
    def kinks(cls) -> tuple[Any, ...]:
        return (-sp.S.Half, sp.S.Half)


class HardShrink(Activation):
    """``t`` outside ``[-1/2, 1/2]``, 0 inside (Keras ``hard_shrink``)."""

    nargs = 1
    label = r"\operatorname{hard\_shrink}"
    piecewise_linear = True

    @classmethod
    def definition(cls, t: Any) -> Any:
        return t * sp.Heaviside(sp.Abs(t) - sp.S.Half, 0)

    @classmethod
    def code(cls, t: Any) -> Any:
        return sp.Piecewise((t, (t > sp.S.Half) | (t < -sp.S.Half)), (0, True))

    @classmethod
    def derivative(cls, t: Any) -> Any:
        return _when(sp.Integer(1), (t > sp.S.Half) | (t < -sp.S.Half))

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.where(np.abs(x) > 0.5, x, _cast(x, 0.0))

    @classmethod
    def kinks(cls) -> tuple[Any, ...]:
        return (-sp.S.Half, sp.S.Half)


# --- smooth activations ---------------------------------------------------------------------

class Sigmoid(Activation):
    """``1 / (1 + e^-t)`` (Keras ``sigmoid``)."""

    nargs = 1
    label = r"\sigma"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return 1 / (1 + sp.exp(-t))

    @classmethod
    def derivative(cls, t: Any) -> Any:
        return cls(t) * (1 - cls(t))

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return scipy_special().expit(x)


class Tanh(Activation):
    """``tanh``, SymPy's own (this name only carries the numpy implementation)."""

    nargs = 1
    alias = True
    label = r"\tanh"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return sp.tanh(t)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.tanh(x)


class Exponential(Activation):
    """``exp``, SymPy's own (Keras ``exponential``)."""

    nargs = 1
    alias = True
    label = r"\exp"

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
    def code(cls, t: Any, alpha: Any = 1) -> Any:
        return sp.Piecewise((t, t > 0), (alpha * expm1(t), True))

    @classmethod
    def derivative(cls, t: Any, alpha: Any = 1) -> Any:
        return sp.Piecewise((1, t > 0), (alpha * sp.exp(t), True))

    @classmethod
    def numeric(cls, x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
        return np.where(x > 0, x, _cast(x, alpha) * np.expm1(np.minimum(x, 0)))


class CELU(Activation):
    """``max(0, t) + alpha (e^{min(0, t)/alpha} - 1)`` (Keras ``celu``)."""

    nargs = (1, 2)
    label = r"\operatorname{CELU}"
    option_names = (r"\alpha",)
    option_keys = ("alpha",)
    defaults = (sp.Integer(1),)

    @classmethod
    def definition(cls, t: Any, alpha: Any = 1) -> Any:
        return sp.Max(0, t) + alpha * (sp.exp(sp.Min(0, t) / alpha) - 1)

    @classmethod
    def code(cls, t: Any, alpha: Any = 1) -> Any:
        return sp.Max(0, t) + alpha * expm1(sp.Min(0, t) / alpha)

    @classmethod
    def derivative(cls, t: Any, alpha: Any = 1) -> Any:
        # At 0 TensorFlow passes the gradient through both maximum(t, 0) and minimum(t, 0).
        return sp.Piecewise((1, t > 0), (sp.exp(t / alpha), t < 0), (2, True))

    @classmethod
    def numeric(cls, x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
        return np.maximum(x, 0) + _cast(x, alpha) * np.expm1(np.minimum(x, 0) / _cast(x, alpha))


# tf.nn.selu's constants, to the digits Keras writes them.
_SELU_ALPHA = sp.Float("1.6732632423543772848170429916717", 32)
_SELU_SCALE = sp.Float("1.0507009873554804934193349852946", 32)


class SELU(Activation):
    """``scale · ELU_alpha(t)`` with Keras' constants (``selu``)."""

    nargs = 1
    label = r"\operatorname{SELU}"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return _SELU_SCALE * (sp.Max(0, t) + _SELU_ALPHA * (sp.exp(sp.Min(0, t)) - 1))

    @classmethod
    def code(cls, t: Any) -> Any:
        return _SELU_SCALE * sp.Piecewise((t, t > 0), (_SELU_ALPHA * expm1(t), True))

    @classmethod
    def derivative(cls, t: Any) -> Any:
        return sp.Piecewise((_SELU_SCALE, t >= 0), (_SELU_SCALE * _SELU_ALPHA * sp.exp(t), True))

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return _cast(x, float(_SELU_SCALE)) * np.where(
            x > 0, x, _cast(x, float(_SELU_ALPHA)) * np.expm1(np.minimum(x, 0)))


class Softplus(Activation):
    """``log(1 + e^t)`` (Keras ``softplus``)."""

    nargs = 1
    label = r"\operatorname{softplus}"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return sp.log(1 + sp.exp(t))

    @classmethod
    def code(cls, t: Any) -> Any:
        return _softplus(t)

    @classmethod
    def derivative(cls, t: Any) -> Any:
        return Sigmoid(t)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.logaddexp(x, _cast(x, 0.0))


class Softsign(Activation):
    """``t / (1 + |t|)`` (Keras ``softsign``)."""

    nargs = 1
    rational = True
    label = r"\operatorname{softsign}"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return t / (1 + sp.Abs(t))

    @classmethod
    def derivative(cls, t: Any) -> Any:
        return 1 / (1 + sp.Abs(t)) ** 2

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
    def derivative(cls, t: Any) -> Any:
        return Sigmoid(t) * (1 + t * (1 - Sigmoid(t)))

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return x * scipy_special().expit(x)


class GELU(Activation):
    """``t/2 (1 + erf(t/√2))`` (Keras ``gelu``, ``approximate=False``)."""

    nargs = 1
    label = r"\operatorname{GELU}"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return t / 2 * (1 + sp.erf(t / sp.sqrt(2)))

    @classmethod
    def code(cls, t: Any) -> Any:
        # erfc(-u), not 1 + erf(u): no cancellation for large negative t (SymPy would turn
        # erfc(-u) into 2 - erfc(u), the same cancellation: kept as written)
        return t / 2 * sp.erfc(-t / sp.sqrt(2), evaluate=False)

    @classmethod
    def derivative(cls, t: Any) -> Any:
        return (1 + sp.erf(t / sp.sqrt(2))) / 2 + t * sp.exp(-t**2 / 2) / sp.sqrt(2 * sp.pi)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        if x.dtype == np.float32:  # Keras' own arithmetic: 1 + erf, cancelling for t << 0
            erf = scipy_special().erf
            return _cast(x, 0.5) * x * (_cast(x, 1.0) + erf(x / _cast(x, np.sqrt(2))))
        # the same function, without cancelling
        return 0.5 * x * scipy_special().erfc(-x / np.sqrt(2))

    def _numpycode(self, printer: Any, **kwargs: Any) -> str:
        # numpy has no erfc (its printer falls back to math's, for scalars only): scipy's,
        # unless the printer has one for its arrays (SciPy's printer).
        known = printer.known_functions.get("erfc", "")
        if known and not known.startswith("math."):
            return self._code(printer)
        t = printer._print(self.args[0])
        erfc = printer._module_format("scipy.special.erfc")
        root = printer._print(sp.sqrt(2))
        return f"(({t})/2*{erfc}(-({t})/{root}))"

    _cupycode = _jaxcode = _numpycode

    def _torchcode(self, printer: Any, **kwargs: Any) -> str:
        t = printer._print(self.args[0])
        erfc = printer._module_format("torch.special.erfc")
        return f"(({t})/2*{erfc}(-({t})/{float(np.sqrt(2))!r}))"  # torch.sqrt: tensors only


class Mish(Activation):
    """``t tanh(softplus(t))`` (Keras ``mish``)."""

    nargs = 1
    label = r"\operatorname{mish}"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return t * sp.tanh(sp.log(1 + sp.exp(t)))

    @classmethod
    def code(cls, t: Any) -> Any:
        return t * sp.tanh(_softplus(t))

    @classmethod
    def derivative(cls, t: Any) -> Any:
        th = sp.tanh(Softplus(t))
        return th + t * (1 - th**2) * Sigmoid(t)

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
    def derivative(cls, t: Any) -> Any:
        return HardSigmoid.definition(t) + t * HardSigmoid.derivative(t)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return x * HardSigmoid.numeric(x)


class LogSigmoid(Activation):
    """``log σ(t) = -log(1 + e^-t)`` (Keras ``log_sigmoid``)."""

    nargs = 1
    label = r"\log\sigma"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return -sp.log(1 + sp.exp(-t))

    @classmethod
    def code(cls, t: Any) -> Any:
        return -_softplus(-t)

    @classmethod
    def derivative(cls, t: Any) -> Any:
        return Sigmoid(-t)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return -np.logaddexp(-x, _cast(x, 0.0))


class SquarePlus(Activation):
    """``(t + √(t² + 4)) / 2`` (Keras ``squareplus``, ``b = 4``)."""

    nargs = 1
    label = r"\operatorname{squareplus}"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return (t + sp.sqrt(t**2 + 4)) / 2

    @classmethod
    def derivative(cls, t: Any) -> Any:
        return (1 + t / sp.sqrt(t**2 + 4)) / 2

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
    def code(cls, t: Any) -> Any:
        return sp.Piecewise((0, t <= -1), ((t + 1) ** 2 / 4, t < 1), (t, True))

    @classmethod
    def derivative(cls, t: Any) -> Any:
        return sp.Piecewise((0, t <= -1), ((t + 1) / 2, t < 1), (1, True))

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return np.where(x <= -1, _cast(x, 0.0),
                        np.where(x < 1, _cast(x, 0.25) * (x + _cast(x, 1.0)) ** 2, x))


class TanhShrink(Activation):
    """``t - tanh(t)`` (Keras ``tanh_shrink``)."""

    nargs = 1
    label = r"\operatorname{tanh\_shrink}"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return t - sp.tanh(t)

    @classmethod
    def derivative(cls, t: Any) -> Any:
        return sp.tanh(t) ** 2

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return x - np.tanh(x)


# --- helpers of other formulas (not activations) --------------------------------------------

class InverseSqrt(Activation):
    """``1/√t``: BatchNorm's and LayerNorm's scale (SymPy's own in every expression)."""

    nargs = 1
    alias = True
    label = r"\frac{1}{\sqrt{\cdot}}"

    @classmethod
    def definition(cls, t: Any) -> Any:
        return 1 / sp.sqrt(t)

    @classmethod
    def numeric(cls, x: np.ndarray) -> np.ndarray:
        return 1 / np.sqrt(x)


class StdFloor(Activation):
    """``max(√t, ε)``: the divisor of Keras' ``Normalization`` layer (SymPy's own in every
    expression)."""

    nargs = 2
    alias = True
    label = r"\operatorname{std\_floor}"

    @classmethod
    def definition(cls, t: Any, epsilon: Any) -> Any:
        return sp.Max(sp.sqrt(t), epsilon)

    @classmethod
    def numeric(cls, x: np.ndarray, epsilon: float) -> np.ndarray:
        return np.maximum(np.sqrt(x), _cast(x, epsilon))


#: Every activation class, by name.
ACTIVATION_CLASSES: dict[str, type[Activation]] = {
    cls.__name__: cls for cls in (
        ReLU, LeakyReLU, HardSigmoid, HardTanh, SparseSigmoid, SoftShrink, HardShrink, Sigmoid,
        Tanh, Exponential, ELU, CELU, SELU, Softplus, Softsign, SiLU, GELU, Mish, HardSiLU,
        LogSigmoid, SquarePlus, SparsePlus, TanhShrink, InverseSqrt, StdFloor)}
