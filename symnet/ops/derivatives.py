"""The derivative of every elementwise function, as TensorFlow's gradient computes it.

Each activation class ``F`` of :mod:`symnet.functions` gets a derivative class ``FPrime``: a
SymPy function of the same argument and options (``ReLUPrime(t, max_value, negative_slope,
threshold)``), with its exact definition, a numpy implementation and the same kinks, so that
every backend runs it as it runs ``F`` (``backend.map``): float32 and float64 in numpy,
exactly (a piecewise-linear function's derivative is piecewise constant, its value on a piece
a rational), symbolically (formulas show ``σ'(z_1)``).

At a kink the derivative is the one TensorFlow's gradient gives, not a mathematical choice:
``ReLU'(0) = 0`` (``ReluGrad`` passes where ``x > 0``), ``relu6`` passes on ``0 < x < 6`` but a
ReLU clipped at another ``max_value`` on ``0 < x ≤ max`` (``clip_by_value`` passes its bounds),
``LeakyReLU'(0) = α``, ``ELU'(0) = α`` for ``α ≠ 1``, ``CELU'(0) = 2`` (both ``maximum`` and
``minimum`` pass the tie), ``hard_tanh`` passes ``±1``... Each is written as a product of
Heaviside steps ``H(t − a, H0)`` whose value ``H0`` at the step says which side wins, and
tested against ``tf.GradientTape`` at every kink (``tests/test_derivatives.py``).

The tables of this module are data, one entry per class: adding an activation is one entry.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import sympy as sp

from .. import functions as fx
from ..errors import UnsupportedLayerError
from ..functions.activations import scipy_special
from .activations import Fn

__all__ = ["DERIVATIVES", "derivative", "derivative_class", "greater", "greater_equal"]



def _expit(x: np.ndarray) -> np.ndarray:
    """The logistic function ``1/(1 + e^(-x))`` (scipy's, imported when first used)."""
    return scipy_special().expit(x)

def _step(t: Any, at: Any = 0, passes: bool = False) -> Any:
    """``[t > at]`` (``passes``: ``[t ≥ at]``) as a Heaviside step."""
    return sp.Heaviside(t - at, 1 if passes else 0)


def _below(t: Any, at: Any = 0, passes: bool = False) -> Any:
    """``[t < at]`` (``passes``: ``[t ≤ at]``)."""
    return sp.Heaviside(at - t, 1 if passes else 0)


def _sigma(t: Any) -> Any:
    return 1 / (1 + sp.exp(-t))


def _cast(x: np.ndarray, value: float) -> Any:
    return x.dtype.type(value)


def _mask(x: np.ndarray, condition: np.ndarray) -> np.ndarray:
    return condition.astype(x.dtype)


# --- the ReLU family, as Keras' ReLU.static_call composes it -------------------------------

def _relu(t: Any, max_value: Any = sp.oo, slope: Any = 0, threshold: Any = 0) -> Any:
    if slope != 0 and max_value == sp.oo and threshold == 0:  # tf.nn.leaky_relu
        return _step(t) + slope * _below(t, passes=True)
    if threshold != 0:  # where(x > θ, x, 0), then clip_by_value(·, 0, max) if max is given
        passes = _step(t, threshold)
        if max_value != sp.oo:
            passes = passes * _step(t, 0, passes=True) * _below(t, max_value, passes=True)
    elif max_value == 6:  # tf.nn.relu6
        passes = _step(t) * _below(t, 6)
    else:  # tf.nn.relu, then clip_by_value(·, 0, max)
        passes = _step(t)
        if max_value != sp.oo:
            passes = passes * _below(t, max_value, passes=True)
    if slope != 0:  # − slope · relu(θ − x)
        passes = passes + slope * _below(t, threshold)
    return passes


def _relu_np(x: np.ndarray, max_value: float = np.inf, slope: float = 0.0,
             threshold: float = 0.0) -> np.ndarray:
    if slope != 0.0 and max_value == np.inf and threshold == 0.0:
        return np.where(x > 0, _cast(x, 1.0), _cast(x, slope))
    if threshold != 0.0:
        passes = x > _cast(x, threshold)
        if max_value != np.inf:
            passes &= (x >= 0) & (x <= _cast(x, max_value))
    elif max_value == 6.0:
        passes = (x > 0) & (x < _cast(x, 6.0))
    else:
        passes = x > 0
        if max_value != np.inf:
            passes &= x <= _cast(x, max_value)
    out = _mask(x, passes)
    if slope != 0.0:
        out = out + _cast(x, slope) * _mask(x, x < _cast(x, threshold))
    return out


def _hard_sigmoid_np(x: np.ndarray) -> np.ndarray:
    return _mask(x, (x > -3) & (x < 3)) / _cast(x, 6.0)


def _shrink(t: Any) -> Any:
    return _step(t, sp.S.Half) + _below(t, -sp.S.Half)


def _shrink_np(x: np.ndarray) -> np.ndarray:
    return _mask(x, (x > 0.5) | (x < -0.5))


# --- smooth functions ----------------------------------------------------------------------

_SELU_ALPHA = sp.Float("1.6732632423543772848170429916717", 32)
_SELU_SCALE = sp.Float("1.0507009873554804934193349852946", 32)


def _selu_np(x: np.ndarray) -> np.ndarray:
    scale = _cast(x, float(_SELU_SCALE))
    return np.where(x >= 0, scale, scale * _cast(x, float(_SELU_ALPHA))
                    * np.exp(np.minimum(x, 0)))


def _gelu_np(x: np.ndarray) -> np.ndarray:
    half = _cast(x, 0.5)
    return (half * (_cast(x, 1.0) + scipy_special().erf(x / _cast(x, np.sqrt(2.0))))
            + x * np.exp(-half * x * x) / _cast(x, np.sqrt(2.0 * np.pi)))


def _mish(t: Any) -> Any:
    soft = sp.tanh(sp.log(1 + sp.exp(t)))
    return soft + t * (1 - soft**2) * _sigma(t)


def _mish_np(x: np.ndarray) -> np.ndarray:
    soft = np.tanh(np.logaddexp(x, _cast(x, 0.0)))
    return soft + x * (_cast(x, 1.0) - soft * soft) * _expit(x)


def _silu_np(x: np.ndarray) -> np.ndarray:
    s = _expit(x)
    return s * (_cast(x, 1.0) + x * (_cast(x, 1.0) - s))


def _sigmoid_np(x: np.ndarray) -> np.ndarray:
    s = _expit(x)
    return s * (_cast(x, 1.0) - s)


Definition = Callable[..., Any]
Numeric = Callable[..., np.ndarray]

#: Activation class -> (its derivative as a SymPy formula of ``t`` and the options, in
#: TensorFlow's convention at the kinks; the same in numpy; rational at rational arguments).
DERIVATIVES: dict[type[fx.Activation], tuple[Definition, Numeric, bool]] = {
    fx.ReLU: (_relu, _relu_np, True),
    fx.LeakyReLU: (lambda t, s: _step(t) + s * _below(t, passes=True),
                   lambda x, s: np.where(x > 0, _cast(x, 1.0), _cast(x, s)), True),
    fx.HardSigmoid: (lambda t: _step(t, -3) * _below(t, 3) / 6, _hard_sigmoid_np, True),
    fx.HardTanh: (lambda t: _step(t, -1, passes=True) * _below(t, 1, passes=True),
                  lambda x: _mask(x, (x >= -1) & (x <= 1)), True),
    fx.SparseSigmoid: (lambda t: _step(t, -1) * _below(t, 1) / 2,
                       lambda x: _mask(x, (x > -1) & (x < 1)) * _cast(x, 0.5), True),
    fx.SoftShrink: (_shrink, _shrink_np, True),
    fx.HardShrink: (_shrink, _shrink_np, True),
    fx.Sigmoid: (lambda t: _sigma(t) * (1 - _sigma(t)), _sigmoid_np, False),
    fx.Tanh: (lambda t: 1 - sp.tanh(t) ** 2, lambda x: _cast(x, 1.0) - np.tanh(x) ** 2, False),
    fx.Exponential: (sp.exp, np.exp, False),
    fx.ELU: (lambda t, a=1: _step(t) + a * sp.exp(sp.Min(0, t)) * _below(t, passes=True),
             lambda x, a=1.0: np.where(x > 0, _cast(x, 1.0),
                                       _cast(x, a) * np.exp(np.minimum(x, 0))), False),
    fx.CELU: (lambda t, a=1: _step(t, passes=True)
              + _below(t, passes=True) * sp.exp(sp.Min(0, t) / a),
              lambda x, a=1.0: _mask(x, x >= 0) + _mask(x, x <= 0)
              * np.exp(np.minimum(x, 0) / _cast(x, a)), False),
    fx.SELU: (lambda t: _SELU_SCALE * (_step(t, passes=True)
                                       + _SELU_ALPHA * sp.exp(sp.Min(0, t)) * _below(t)),
              _selu_np, False),
    fx.Softplus: (_sigma, _expit, False),
    fx.Softsign: (lambda t: 1 / (1 + sp.Abs(t)) ** 2,
                  lambda x: _cast(x, 1.0) / (_cast(x, 1.0) + np.abs(x)) ** 2, True),
    fx.SiLU: (lambda t: _sigma(t) * (1 + t * (1 - _sigma(t))), _silu_np, False),
    fx.GELU: (lambda t: (1 + sp.erf(t / sp.sqrt(2))) / 2
              + t * sp.exp(-t**2 / 2) / sp.sqrt(2 * sp.pi), _gelu_np, False),
    fx.Mish: (_mish, _mish_np, False),
    fx.HardSiLU: (lambda t: sp.Min(sp.Max(t + 3, 0), 6) / 6 + t * _step(t, -3) * _below(t, 3) / 6,
                  lambda x: np.clip(x + _cast(x, 3.0), 0, _cast(x, 6.0)) / _cast(x, 6.0)
                  + x * _hard_sigmoid_np(x), True),
    fx.LogSigmoid: (lambda t: _sigma(-t), lambda x: _expit(-x), False),
    fx.SquarePlus: (lambda t: (1 + t / sp.sqrt(t**2 + 4)) / 2,
                    lambda x: (_cast(x, 1.0) + x / np.sqrt(x * x + _cast(x, 4.0)))
                    / _cast(x, 2.0), False),
    fx.SparsePlus: (lambda t: _step(t, -1) * _below(t, 1) * (t + 1) / 2 + _step(t, 1, passes=True),
                    lambda x: np.where((x > -1) & (x < 1), (x + _cast(x, 1.0)) / _cast(x, 2.0),
                                       _mask(x, x >= 1)), True),
    fx.TanhShrink: (lambda t: sp.tanh(t) ** 2, lambda x: np.tanh(x) ** 2, False),
    fx.InverseSqrt: (lambda t: -1 / (2 * t ** sp.Rational(3, 2)),
                     lambda x: _cast(x, -0.5) / (x * np.sqrt(x)), False),
    fx.StdFloor: (lambda t, e: _step(sp.sqrt(t), e, passes=True) / (2 * sp.sqrt(t)),
                  lambda x, e: _mask(x, np.sqrt(x) >= _cast(x, e)) / (_cast(x, 2.0) * np.sqrt(x)),
                  False),
    # Functions of one entry that ONNX graphs write as nodes (PyTorch's autograd conventions:
    # |t|' = sign(t), 0 at 0; clip passes its bounds, as torch.clamp and clip_by_value do).
    fx.Sqrt: (lambda t: 1 / (2 * sp.sqrt(t)), lambda x: _cast(x, 0.5) / np.sqrt(x), False),
    fx.Erf: (lambda t: 2 * sp.exp(-t**2) / sp.sqrt(sp.pi),
             lambda x: _cast(x, 2 / np.sqrt(np.pi)) * np.exp(-x * x), False),
    fx.Log: (lambda t: 1 / t, lambda x: _cast(x, 1.0) / x, True),
    fx.Reciprocal: (lambda t: -1 / t**2, lambda x: -_cast(x, 1.0) / (x * x), True),
    fx.Absolute: (lambda t: _step(t) - _below(t), np.sign, True),
    fx.Power: (lambda t, p: p * t ** (p - 1),
               lambda x, p: _cast(x, p) * np.power(x, _cast(x, p - 1)), False),
    fx.Clamp: (lambda t, lo, hi: _step(t, lo, passes=True) * _below(t, hi, passes=True),
               lambda x, lo, hi: _mask(x, (x >= _cast(x, lo)) & (x <= _cast(x, hi))), True),
}


@cache
def derivative_class(cls: type[fx.Activation]) -> type[fx.Activation]:
    """``FPrime``: the derivative of the activation class ``F`` as an activation class of the
    same options (its kinks are ``F``'s; piecewise constant where ``F`` is piecewise linear)."""
    entry = DERIVATIVES.get(cls)
    if entry is None:
        raise UnsupportedLayerError(f"no derivative is known for the function {cls.__name__}; "
                                    f"known: {', '.join(sorted(c.__name__ for c in DERIVATIVES))}")
    formula, numeric, rational = entry
    label = cls.label or rf"\operatorname{{{cls.__name__.lower()}}}"
    if cls is fx.Tanh:
        label = r"\tanh"
    elif cls is fx.Exponential:
        label = r"\exp"

    def definition(klass: Any, t: Any, *options: Any) -> Any:
        return formula(t, *options)

    def numpy_impl(klass: Any, x: np.ndarray, *options: float) -> np.ndarray:
        return np.asarray(numeric(x, *options), dtype=x.dtype)

    def kinks(klass: Any, *options: Any) -> tuple[Any, ...]:
        return cls.kinks(*options)

    counts = tuple(sorted(int(n) for n in cls.nargs))
    name = f"{cls.__name__}Prime"
    prime = type(name, (fx.Activation,), {
        "__module__": __name__, "__qualname__": name,
        "__doc__": f"The derivative of :class:`symnet.functions.{cls.__name__}`, as "
                   "TensorFlow's gradient computes it.",
        "nargs": counts[0] if len(counts) == 1 else counts, "label": label + "'",
        "option_names": cls.option_names,
        "option_keys": cls.option_keys, "defaults": cls.defaults,
        "piecewise_linear": cls.piecewise_linear, "rational": rational and not
        cls.piecewise_linear, "definition": classmethod(definition),
        "numeric": classmethod(numpy_impl), "kinks": classmethod(kinks)})
    globals()[name] = prime  # picklable by name, like any class of this module
    return prime


def derivative(fn: Fn) -> Fn:
    """The derivative of an elementwise function, with the same options."""
    return Fn(derivative_class(fn.func), fn.options, f"{fn.name or fn.key}'")


_STEP = Fn(fx.ReLU, name="relu")


def greater(backend: Any, a: Any, b: Any) -> Any:
    """``[a > b]`` entry by entry as the backend's numbers (1 or 0; symbolically a Heaviside
    step): ``ReLU'(a − b)``, TensorFlow's own step."""
    return backend.map(derivative(_STEP), a - b)


def greater_equal(backend: Any, a: Any, b: Any) -> Any:
    """``[a ≥ b]``: ``1 − [b > a]``."""
    return backend.const(1) - greater(backend, b, a)
