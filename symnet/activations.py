"""Activation functions as data: Keras name -> exact SymPy formula and Keras' float arithmetic.

Every elementwise function symnet knows is a :class:`ScalarFn`: its SymPy definition (used by the
structural form, the closed form and exact evaluation) and a numpy implementation that follows
Keras' own float arithmetic (used by ``evaluate`` in float32/float64). Softmax-like functions that
act on a whole axis are :class:`VectorFn`. Functions with options (``ReLU(max_value=6)``,
``LeakyReLU(0.1)``...) are built by factories and registered under a key that spells the options,
so that a printed or pickled formula always refers to the exact function it was built with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from scipy import special

__all__ = [
    "ACTIVATIONS",
    "ScalarFn",
    "VectorFn",
    "celu_fn",
    "elu_fn",
    "exact_number",
    "leaky_relu_fn",
    "relu_fn",
    "scalar_fn",
    "std_floor_fn",
]

_t = sp.Symbol("t", real=True)


@dataclass(frozen=True)
class ScalarFn:
    """An elementwise function: ``sympy`` gives the exact formula, ``numpy`` computes like Keras."""

    key: str
    label: str
    sympy: Callable[[Any], Any] = field(repr=False)
    numpy: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    piecewise_linear: bool = False
    kinks: tuple[float, ...] = ()
    """For a piecewise-linear function: where its pieces meet (it is affine between them)."""
    activation: bool = True
    """False for helpers of other formulas (BatchNorm's ``1/sqrt``), which are no activation."""

    def definition(self) -> sp.Lambda:
        """The function as a SymPy ``Lambda`` of one real variable, for reports."""
        return sp.Lambda(_t, self.sympy(_t))


@dataclass(frozen=True)
class VectorFn:
    """A function of a whole axis (softmax, log-softmax), applied along ``axis``."""

    key: str
    label: str
    numpy: Callable[[np.ndarray, int], np.ndarray] = field(repr=False)
    exact: Callable[[list[Any]], list[Any]] = field(repr=False)


_REGISTRY: dict[str, ScalarFn] = {}


def _register(fn: ScalarFn) -> ScalarFn:
    return _REGISTRY.setdefault(fn.key, fn)


def scalar_fn(key: str) -> ScalarFn:
    """The registered :class:`ScalarFn` with this key."""
    return _REGISTRY[key]


def exact_number(value: float | int) -> sp.Rational:
    """A hyperparameter from a layer's config, exactly as written there (``0.001`` is 1/1000)."""
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"expected a finite number, received {value!r}")
    if value == int(value):
        return sp.Integer(int(value))
    return sp.Rational(repr(value))


def _cast(x: np.ndarray, value: float) -> Any:
    return x.dtype.type(value)


# --- functions with options -----------------------------------------------------------------


def _opts(**options: float | None) -> str:
    shown = [f"{k}={v!r}" for k, v in options.items() if v is not None]
    return "[" + ", ".join(shown) + "]" if shown else ""


def relu_fn(
    negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0
) -> ScalarFn:
    """Keras ``ReLU``/``relu`` with its three options, following ``ReLU.static_call`` exactly.

    ``f(x) = clip(x if x > threshold else 0, 0, max_value) - slope * max(0, threshold - x)``;
    without ``max_value`` there is no clipping (so for a negative threshold, values between the
    threshold and 0 pass through unchanged, as in Keras).
    """
    slope, cap, theta = float(negative_slope), max_value, float(threshold)
    cap = None if cap is None else float(cap)
    if slope == 0.0 and cap is None and theta == 0.0:
        key, label = "relu", r"\operatorname{ReLU}"
    elif slope == 0.0 and cap == 6.0 and theta == 0.0:
        key, label = "relu6", r"\operatorname{ReLU6}"
    else:
        opts = _opts(
            negative_slope=slope or None, max_value=cap, threshold=theta if theta else None
        )
        key, label = "relu" + opts, r"\operatorname{ReLU}_{" + opts[1:-1].replace("_", r"\_") + "}"
    if key in _REGISTRY:
        return _REGISTRY[key]

    s_slope, s_theta = exact_number(slope), exact_number(theta)
    s_cap = None if cap is None else exact_number(cap)

    def sym(t: Any) -> Any:
        # x if x > threshold else 0, as x * H(x - threshold) with H(0) = 0: no Piecewise.
        pos = sp.Max(0, t) if theta == 0.0 else t * sp.Heaviside(t - s_theta, 0)
        if s_cap is not None:
            pos = sp.Min(sp.Max(pos, 0), s_cap)
        if slope != 0.0:
            pos = pos - s_slope * sp.Max(0, s_theta - t)
        return pos

    def num(x: np.ndarray) -> np.ndarray:
        if slope != 0.0 and cap is None and theta == 0.0:
            return np.where(x > 0, x, x * _cast(x, slope))
        if theta == 0.0:
            pos = np.maximum(x, 0)
        else:
            pos = np.where(x > _cast(x, theta), x, 0).astype(x.dtype)
        if cap is not None:
            pos = np.clip(pos, 0, _cast(x, cap))
        if slope != 0.0:
            pos = pos - _cast(x, slope) * np.maximum(_cast(x, theta) - x, 0)
        return pos

    kinks = {theta} | ({cap} if cap is not None else set())
    return _register(ScalarFn(key, label, sym, num, piecewise_linear=True,
                              kinks=tuple(sorted(kinks))))


def leaky_relu_fn(negative_slope: float) -> ScalarFn:
    """``x`` for ``x > 0``, else ``negative_slope * x`` (Keras ``LeakyReLU``/``leaky_relu``).

    Written ``max(0, x) + slope * min(0, x)``: the same function for every slope, and free of
    ``Piecewise`` (which SymPy's code printers handle slowly when nested).
    """
    slope = float(negative_slope)
    key = f"leaky_relu[{slope!r}]"
    if key in _REGISTRY:
        return _REGISTRY[key]
    s = exact_number(slope)
    return _register(
        ScalarFn(
            key,
            r"\operatorname{LeakyReLU}_{" + f"{slope:g}" + "}",
            lambda t: sp.Max(0, t) + s * sp.Min(0, t),
            lambda x: np.where(x > 0, x, x * _cast(x, slope)),
            piecewise_linear=True,
            kinks=(0.0,),
        )
    )


def elu_fn(alpha: float = 1.0) -> ScalarFn:
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)`` (Keras ``ELU``/``elu``).

    Written ``max(0, x) + alpha * (exp(min(0, x)) - 1)``, the same function without ``Piecewise``.
    """
    a = float(alpha)
    key = "elu" if a == 1.0 else f"elu[{a!r}]"
    if key in _REGISTRY:
        return _REGISTRY[key]
    s = exact_number(a)
    return _register(
        ScalarFn(
            key,
            r"\operatorname{ELU}" + ("" if a == 1.0 else "_{" + f"{a:g}" + "}"),
            lambda t: sp.Max(0, t) + s * (sp.exp(sp.Min(0, t)) - 1),
            lambda x: np.where(x > 0, x, _cast(x, a) * np.expm1(np.minimum(x, 0))),
        )
    )


def celu_fn(alpha: float = 1.0) -> ScalarFn:
    """``max(0, x) + alpha * (exp(min(0, x) / alpha) - 1)`` (Keras ``celu``)."""
    a = float(alpha)
    key = "celu" if a == 1.0 else f"celu[{a!r}]"
    if key in _REGISTRY:
        return _REGISTRY[key]
    s = exact_number(a)
    return _register(
        ScalarFn(
            key,
            r"\operatorname{CELU}",
            lambda t: sp.Max(0, t) + s * (sp.exp(sp.Min(0, t) / s) - 1),
            lambda x: np.maximum(x, 0) + _cast(x, a) * np.expm1(np.minimum(x, 0) / _cast(x, a)),
        )
    )


def std_floor_fn(epsilon: float) -> ScalarFn:
    """``max(sqrt(v), epsilon)``: the divisor of Keras' ``Normalization`` layer."""
    e = float(epsilon)
    key = f"std_floor[{e!r}]"
    if key in _REGISTRY:
        return _REGISTRY[key]
    s = exact_number(e)
    return _register(
        ScalarFn(
            key,
            r"\operatorname{std}_{\geq" + f"{e:g}" + "}",
            lambda t: sp.Max(sp.sqrt(t), s),
            lambda x: np.maximum(np.sqrt(x), _cast(x, e)),
            activation=False,
        )
    )


# --- fixed functions ------------------------------------------------------------------------

# tf.nn.selu's constants, to the digits Keras writes them.
_SELU_ALPHA = sp.Float("1.6732632423543772848170429916717", 32)
_SELU_SCALE = sp.Float("1.0507009873554804934193349852946", 32)


def _hard_sigmoid(t: Any) -> Any:
    return sp.Min(sp.Max(t + 3, 0), 6) / 6


def _np_hard_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.clip(x + _cast(x, 3.0), 0, _cast(x, 6.0)) / _cast(x, 6.0)


RSQRT = _register(ScalarFn("rsqrt", r"\frac{1}{\sqrt{\cdot}}", lambda t: 1 / sp.sqrt(t),
                           lambda x: 1 / np.sqrt(x), activation=False))

_FIXED = [
    ScalarFn("sigmoid", r"\sigma", lambda t: 1 / (1 + sp.exp(-t)), special.expit),
    ScalarFn("hard_sigmoid", r"\operatorname{hard\_sigmoid}", _hard_sigmoid, _np_hard_sigmoid,
             piecewise_linear=True, kinks=(-3.0, 3.0)),
    ScalarFn("tanh", r"\tanh", sp.tanh, np.tanh),
    ScalarFn("softplus", r"\operatorname{softplus}", lambda t: sp.log(1 + sp.exp(t)),
             lambda x: np.logaddexp(x, _cast(x, 0.0))),
    ScalarFn("softsign", r"\operatorname{softsign}", lambda t: t / (1 + sp.Abs(t)),
             lambda x: x / (np.abs(x) + _cast(x, 1.0))),
    ScalarFn("silu", r"\operatorname{SiLU}", lambda t: t / (1 + sp.exp(-t)),
             lambda x: x * special.expit(x)),
    ScalarFn("gelu", r"\operatorname{GELU}", lambda t: t / 2 * (1 + sp.erf(t / sp.sqrt(2))),
             lambda x: _cast(x, 0.5) * x * (_cast(x, 1.0) + special.erf(x / _cast(x, np.sqrt(2))))),
    ScalarFn("gelu_tanh", r"\operatorname{GELU}_{\tanh}",
             lambda t: t / 2 * (1 + sp.tanh(
                 sp.sqrt(2 / sp.pi) * (t + sp.Rational(44715, 10**6) * t**3))),
             lambda x: _cast(x, 0.5) * x * (_cast(x, 1.0) + np.tanh(
                 _cast(x, np.sqrt(2 / np.pi)) * (x + _cast(x, 0.044715) * x**3)))),
    ScalarFn("exponential", r"\exp", sp.exp, np.exp),
    ScalarFn("selu", r"\operatorname{SELU}",
             lambda t: _SELU_SCALE * (sp.Max(0, t) + _SELU_ALPHA * (sp.exp(sp.Min(0, t)) - 1)),
             lambda x: _cast(x, float(_SELU_SCALE)) * np.where(
                 x > 0, x, _cast(x, float(_SELU_ALPHA)) * np.expm1(np.minimum(x, 0)))),
    ScalarFn("mish", r"\operatorname{mish}", lambda t: t * sp.tanh(sp.log(1 + sp.exp(t))),
             lambda x: x * np.tanh(np.logaddexp(x, _cast(x, 0.0)))),
    ScalarFn("hard_silu", r"\operatorname{hard\_SiLU}", lambda t: t * _hard_sigmoid(t),
             lambda x: x * _np_hard_sigmoid(x)),
    ScalarFn("log_sigmoid", r"\log\sigma", lambda t: -sp.log(1 + sp.exp(-t)),
             lambda x: -np.logaddexp(-x, _cast(x, 0.0))),
    ScalarFn("hard_tanh", r"\operatorname{hard\_tanh}", lambda t: sp.Min(sp.Max(t, -1), 1),
             lambda x: np.clip(x, _cast(x, -1.0), _cast(x, 1.0)), piecewise_linear=True,
             kinks=(-1.0, 1.0)),
    ScalarFn("squareplus", r"\operatorname{squareplus}", lambda t: (t + sp.sqrt(t**2 + 4)) / 2,
             lambda x: (x + np.sqrt(x * x + _cast(x, 4.0))) / _cast(x, 2.0)),
    ScalarFn("sparse_plus", r"\operatorname{sparse\_plus}",
             # 0 below -1, (x+1)^2/4 up to 1, x above: with c = clip(x, -1, 1) that is
             # (c+1)^2/4 + max(0, x-1) everywhere.
             lambda t: (sp.Min(sp.Max(t, -1), 1) + 1) ** 2 / 4 + sp.Max(0, t - 1),
             lambda x: np.where(x <= -1, _cast(x, 0.0),
                                np.where(x < 1, _cast(x, 0.25) * (x + _cast(x, 1.0)) ** 2, x))),
    ScalarFn("sparse_sigmoid", r"\operatorname{sparse\_sigmoid}",
             lambda t: sp.Min(1, sp.Max(0, (t + 1) / 2)),
             lambda x: np.where(x <= -1, _cast(x, 0.0),
                                np.where(x >= 1, _cast(x, 1.0),
                                         _cast(x, 0.5) * (x + _cast(x, 1.0)))),
             piecewise_linear=True, kinks=(-1.0, 1.0)),
    ScalarFn("soft_shrink", r"\operatorname{soft\_shrink}",
             lambda t: sp.Max(0, t - sp.S.Half) + sp.Min(0, t + sp.S.Half),
             lambda x: np.where(x > 0.5, x - _cast(x, 0.5),
                                np.where(x < -0.5, x + _cast(x, 0.5), _cast(x, 0.0))),
             piecewise_linear=True, kinks=(-0.5, 0.5)),
    ScalarFn("hard_shrink", r"\operatorname{hard\_shrink}",
             lambda t: t * sp.Heaviside(sp.Abs(t) - sp.S.Half, 0),
             lambda x: np.where(np.abs(x) > 0.5, x, _cast(x, 0.0)), piecewise_linear=True,
             kinks=(-0.5, 0.5)),
    ScalarFn("tanh_shrink", r"\operatorname{tanh\_shrink}", lambda t: t - sp.tanh(t),
             lambda x: x - np.tanh(x)),
]
for _fn in _FIXED:
    _register(_fn)


def _softmax_np(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax_np(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _softmax_exact(row: list[Any]) -> list[Any]:
    exps = [sp.exp(v) for v in row]
    total = sp.Add(*exps)
    return [e / total for e in exps]


def _log_softmax_exact(row: list[Any]) -> list[Any]:
    lse = sp.log(sp.Add(*[sp.exp(v) for v in row]))
    return [v - lse for v in row]


SOFTMAX = VectorFn("softmax", r"\operatorname{softmax}", _softmax_np, _softmax_exact)
LOG_SOFTMAX = VectorFn("log_softmax", r"\operatorname{log\_softmax}", _log_softmax_np,
                       _log_softmax_exact)

#: Keras activation name -> its function (``None`` for the identity ``linear``). Names that Keras
#: has but that are absent here (``glu``, ``sparsemax``, ``threshold``) are rejected by name.
ACTIVATIONS: dict[str, ScalarFn | VectorFn | None] = {
    "linear": None,
    "relu": relu_fn(),
    "relu6": relu_fn(max_value=6.0),
    "leaky_relu": leaky_relu_fn(0.2),
    "elu": elu_fn(1.0),
    "celu": celu_fn(1.0),
    "softmax": SOFTMAX,
    "log_softmax": LOG_SOFTMAX,
    "swish": _REGISTRY["silu"],
    "hard_swish": _REGISTRY["hard_silu"],
    **{fn.key: fn for fn in _FIXED if fn.key != "gelu_tanh"},
}

