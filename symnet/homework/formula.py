"""Is a formula the network? Decided exactly when it can be, compared at points otherwise.

For a network of one input whose layers are piecewise linear and continuous, and a formula
that is piecewise linear in that input with rational coefficients (nested ``max``, ``min``,
``abs``, ``relu`` included), both become exact piecewise-linear functions
(:mod:`symnet.homework.pl`, and the network's exact pieces) and are compared on every interval
between the breakpoints of both, in exact arithmetic: *equal* is then proven. If they differ,
the verdict says whether the formula is still within ``rtol``/``atol`` of the network on the
whole domain (decided exactly too: the largest gap on an interval is at its ends, or where the
difference or the network crosses 0), and gives a counterexample where it is not, checked again
by the exact backend.

Otherwise (more inputs, a smooth activation, ``exp`` in the formula...), the two are compared at
points of the domain, and the verdict says so: "agrees at N points; not proven".
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from ..backends import FloatBackend
from ..errors import InvalidInputError
from ..escape import terminal_text
from ..parse import parse_formula
from .numbers import Policy
from .pl import PL, Budget, NotPiecewiseLinear, TooComplex, from_expression, intervals

__all__ = ["Comparison", "compare_formula"]

#: Seconds an exact comparison may take before the points are used instead.
TIME_LIMIT = 20.0
SAMPLES = 257


@dataclass(frozen=True)
class Comparison:
    """The outcome: ``equal`` (proven), ``within`` (proven within tolerance, not equal),
    ``agrees`` (at sample points, not proven), or ``differs`` (with a counterexample)."""

    outcome: str
    message: str
    proven: bool
    counterexample: dict[str, Any] | None = None
    max_error: float | None = None


def compare_formula(net: Any, text: str, domain: Any, policy: Policy) -> Comparison:
    """Compare the formula ``text`` with ``net`` (one output) on ``domain``."""
    expr = parse_formula(text, net.inputs)
    if len(net.outputs) != 1:
        raise InvalidInputError(f"formula: only a network with one output can be compared "
                                f"with one formula; this one has {len(net.outputs)}")
    low, high = _domain(domain, len(net.inputs) == 1 and net.is_piecewise_linear)
    reason = _why_not_exact(net)
    if reason is None:
        try:
            return _exact(net, expr, low, high, policy)
        except NotPiecewiseLinear:
            reason = "the formula is not piecewise linear with rational coefficients"
        except TooComplex as exc:
            reason = f"the exact comparison was stopped: {exc}"
    if not (math.isfinite(low) and math.isfinite(high)):
        low, high = -10.0, 10.0
    return _at_points(net, expr, low, high, policy, reason)


def _domain(domain: Any, unbounded: bool) -> tuple[float, float]:
    if domain is None:
        return (-math.inf, math.inf) if unbounded else (-10.0, 10.0)
    try:
        low, high = (float(v) for v in domain)
    except (TypeError, ValueError):
        raise InvalidInputError(f"domain must be a pair of numbers (low, high), received "
                                f"{terminal_text(domain, 80)}") from None
    if not low < high:
        raise InvalidInputError(f"domain must have low < high, received ({low:g}, {high:g})")
    return low, high


def _why_not_exact(net: Any) -> str | None:
    """``None`` when the network allows an exact decision, else the reason it does not."""
    if len(net.inputs) != 1:
        return f"the network has {len(net.inputs)} inputs"
    if not net.is_piecewise_linear:
        return "the network is not piecewise linear"
    jump = _discontinuity(net.graph)
    if jump:
        return f"the network jumps ({jump})"
    return None


def _discontinuity(graph: Any) -> str | None:
    """A piecewise-linear activation that jumps at a kink (``ReLU(threshold=...)``), if any."""
    from ..ops import Elementwise

    for node in graph.nodes:
        if not isinstance(node.op, Elementwise) or not node.op.piecewise_linear:
            continue
        fn = node.op.fn
        kinks = [sp.Rational(k) for k in fn.exact_kinks]
        for i, k in enumerate(kinks):
            gaps = [k - kinks[i - 1] if i else 1, kinks[i + 1] - k if i + 1 < len(kinks) else 1]
            d = min(gaps) / 4
            left = 2 * fn.sympy(k - d) - fn.sympy(k - 2 * d)
            right = 2 * fn.sympy(k + d) - fn.sympy(k + 2 * d)
            if not (left == fn.sympy(k) == right):
                return f"{fn.key} in layer {node.layer!r} at {k}"
    return None


def _network_pl(net: Any, low: float, high: float) -> PL:
    domain = None if not (math.isfinite(low) and math.isfinite(high)) else (low, high)
    pieces = net.pieces(domain, exact=True)
    cuts = tuple(Fraction(p.low) for p in pieces[1:])
    laws = tuple((Fraction(p.slope[0]), Fraction(p.intercept[0])) for p in pieces)
    return PL(cuts, laws)


def _exact(net: Any, expr: Any, low: float, high: float, policy: Policy) -> Comparison:
    budget = Budget(time.monotonic() + TIME_LIMIT)
    formula = from_expression(expr, net.inputs[0], budget)
    network = _network_pl(net, low, high)
    lo = Fraction(low) if math.isfinite(low) else None
    hi = Fraction(high) if math.isfinite(high) else None
    cuts = sorted({c for c in (*formula.cuts, *network.cuts)
                   if (lo is None or c > lo) and (hi is None or c < hi)})
    spans = intervals(cuts)
    # one after the other: with no cut inside the domain the first span is the last
    spans[0] = (lo, spans[0][1])
    spans[-1] = (spans[-1][0], hi)
    where = _shown_domain(low, high)
    differing = [(a, b) for a, b in spans if formula.law_on(a, b) != network.law_on(a, b)]
    if not differing:
        return Comparison("equal", f"the formula equals the network on {where} (proven in "
                          f"exact arithmetic on each of the {len(spans)} intervals between "
                          "the breakpoints of both).", True, max_error=0.0)
    def excess(point: Fraction) -> Fraction:
        gap = abs(formula(point) - network(point))
        return gap - Fraction(policy.atol) - Fraction(policy.rtol) * abs(network(point))

    points = [p for a, b in differing for p in _critical_points(
        formula.law_on(a, b), network.law_on(a, b), a, b, policy)]
    worst = max(points, key=lambda p: (excess(p), abs(formula(p) - network(p))))
    gap = abs(formula(worst) - network(worst))
    if excess(worst) <= 0:
        # the message names the largest difference, which need not be where the tolerance
        # is nearest (a relative tolerance grows with the value)
        point = max(points, key=lambda p: abs(formula(p) - network(p)))
        gap = abs(formula(point) - network(point))
        return Comparison("within", f"the formula is not equal to the network, but within "
                          f"rtol={policy.rtol:g}, atol={policy.atol:g} of it on {where} "
                          f"(proven in exact arithmetic: the largest difference is "
                          f"{float(gap):.3g}, at x = {float(point):.7g}).", True,
                          max_error=float(gap))
    inside = lambda p: (lo is None or p >= lo) and (hi is None or p <= hi)  # noqa: E731
    simple = [_simple(p, lambda q: inside(q) and excess(q) > 0) for p in points
              if excess(p) > 0]
    point = min(simple, key=lambda p: (len(str(p)), abs(p)))
    example = _counterexample(net, expr, point)
    return Comparison("differs", f"the formula differs from the network (proven in exact "
                      f"arithmetic): at x = {_number(point)} the network gives "
                      f"{example['network']:.7g} and the formula {example['formula']:.7g}.",
                      True, example, float(gap))


def _critical_points(f: tuple[Fraction, Fraction], g: tuple[Fraction, Fraction],
                     a: Fraction | None, b: Fraction | None, policy: Policy) -> list[Fraction]:
    """Points of ``[a, b]`` where ``|f - g| - rtol·|g| - atol`` is largest: the ends, and
    where ``f - g`` or ``g`` is 0; for an infinite end, a point far enough out that the gap
    grows past any bound there does."""
    (fa, fb), (ga, gb) = f, g
    da, db = fa - ga, fb - gb
    points = [p for p in (a, b) if p is not None]
    for slope, intercept in ((da, db), (ga, gb)):
        if slope:
            root = -intercept / slope
            if (a is None or root > a) and (b is None or root < b):
                points.append(root)
    rate = abs(da) - Fraction(policy.rtol) * abs(ga)
    if rate > 0:
        # beyond every root the excess is rate·|x| + c with |c| <= reach·rate: past reach,
        # and past the other points, the gap exceeds the tolerance
        reach = (abs(db) + abs(gb) + Fraction(policy.atol)) / rate + 1
        if b is None:
            points.append(max(points + [reach]) + 1)
        if a is None:
            points.append(min(points + [-reach]) - 1)
    return points or [Fraction(0)]


def _counterexample(net: Any, expr: Any, point: Fraction) -> dict[str, Any]:
    """Both values at ``point``, recomputed independently: the network by the exact backend,
    the formula by SymPy."""
    from ..backends.exact import exact_fraction

    rational = sp.Rational(point.numerator, point.denominator)
    network = exact_fraction(net.evaluate(np.array([[point]], dtype=object), "exact")
                             .reshape(-1)[0])
    formula = expr.xreplace({net.inputs[0]: rational}).doit()
    return {"input": float(point), "exact_input": str(rational), "network": float(network),
            "formula": float(formula), "exact_network": str(sp.Rational(
                network.numerator, network.denominator)), "exact_formula": str(formula)}


def _simple(point: Fraction, differs: Any) -> Fraction:
    """A point with few digits near ``point`` where the formula still differs (a teacher
    reads x = -4 better than x = -19414759417036189/4515081811523895)."""
    for digits in range(0, 7):
        for candidate in (Fraction(round(point, digits)), Fraction(math.floor(point * 10**digits),
                                                                    10**digits)):
            if differs(candidate):
                return candidate
    return point


def _number(point: Fraction) -> str:
    shown = f"{float(point):.7g}"
    return shown if Fraction(shown) == point else f"{shown} ({point})"


def _shown_domain(low: float, high: float) -> str:
    if not (math.isfinite(low) or math.isfinite(high)):
        return "all real numbers"
    return f"all of [{low:g}, {high:g}]"


# --- at points ---------------------------------------------------------------------------

def _at_points(net: Any, expr: Any, low: float, high: float, policy: Policy, reason: str
               ) -> Comparison:
    n = len(net.inputs)
    rng = np.random.default_rng(0)
    points = rng.uniform(low, high, size=(SAMPLES, n))
    points[:2] = [[low] * n, [high] * n]
    network = _network_values(net, points)
    formula = _formula_values(net, expr, points)
    gaps = np.abs(formula - network)
    bad = np.flatnonzero(gaps > policy.atol + policy.rtol * np.abs(network))
    where = f"[{low:g}, {high:g}]" + ("" if n == 1 else f" in each of the {n} inputs")
    for k in bad[np.argsort(-gaps[bad])][:5]:
        example = _confirmed(net, expr, points[k], policy)
        if example is not None:
            return Comparison("differs", f"the formula differs from the network: at "
                              f"{_shown_point(example['input'])} the network gives "
                              f"{example['network']:.7g} and the formula "
                              f"{example['formula']:.7g}.", False, example,
                              float(gaps.max()))
    return Comparison("agrees", f"the formula agrees with the network at {SAMPLES} points of "
                      f"{where} (within rtol={policy.rtol:g}, atol={policy.atol:g}); not "
                      f"proven equal: {reason}.", False, max_error=float(gaps.max()))


def _shown_point(value: Any) -> str:
    return f"x = {value:.7g}" if isinstance(value, float) else f"x = {value}"


def _network_values(net: Any, points: np.ndarray) -> np.ndarray:
    shaped = points.reshape((len(points),) + net.input_shapes[0])
    values = net.graph.run(FloatBackend(np.float64), [shaped])
    return net.graph.output_values(values)[:, 0]


def _formula_values(net: Any, expr: Any, points: np.ndarray) -> np.ndarray:
    """The formula at every point in float64; ``InvalidInputError`` where it is not a real
    number or overflows (never a complex number or an infinity used as a value)."""
    fn = sp.lambdify(net.inputs, expr, modules=["numpy", "scipy"])
    columns = [points[:, i] for i in range(points.shape[1])]
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            values = np.broadcast_to(np.asarray(fn(*columns), dtype=np.float64),
                                     (len(points),)).copy()
    except (FloatingPointError, ValueError, TypeError, OverflowError, ZeroDivisionError):
        values = np.array([_one_value(fn, row) for row in points])
    for row, v in zip(points, values):
        if not math.isfinite(v):
            _refuse(net, expr, row, "overflows float64")
    return values


def _one_value(fn: Any, row: np.ndarray) -> float:
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            value = fn(*[np.float64(v) for v in row])
        if isinstance(value, complex) or np.iscomplexobj(value):
            return math.nan
        return float(value)
    except (FloatingPointError, ValueError, TypeError, OverflowError, ZeroDivisionError):
        return math.nan


def _refuse(net: Any, expr: Any, row: np.ndarray, what: str) -> None:
    from ..parse.limits import quoted as _quoted

    shown = ", ".join(f"{s} = {v:.7g}" for s, v in zip(net.inputs, row))
    raise InvalidInputError(f"the formula {_quoted(str(expr))} is not a real number at "
                            f"{shown} (it {what} or is undefined there); compare it on a "
                            "domain where it is defined (domain=(low, high), --domain A,B)")


EXACT_RECHECK_WEIGHTS = 2_000_000
"""Networks with more weights have a counterexample rechecked in float64 with a margin, not
in exact arithmetic (40 million weights as fractions: 100 s)."""


def _confirmed_float64(net: Any, expr: Any, row: np.ndarray, policy: Policy
                       ) -> dict[str, Any] | None:
    """A counterexample of a large network kept only when the gap exceeds the tolerance by
    far more than float64 rounding could account for (1e-9 of the values' size)."""
    network = float(_network_values(net, row.reshape(1, -1))[0])
    subs = {s: sp.Float(float(v), 30) for s, v in zip(net.inputs, row)}
    value = complex(expr.xreplace(subs).evalf(30))
    if value.imag or not math.isfinite(value.real) or not math.isfinite(network):
        return None
    margin = 1e-9 * (abs(network) + abs(value.real) + 1.0)
    if abs(value.real - network) <= policy.atol + policy.rtol * abs(network) + margin:
        return None
    shown: Any = float(row[0]) if len(row) == 1 else [float(v) for v in row]
    return {"input": shown, "network": network, "formula": value.real}


def _confirmed(net: Any, expr: Any, row: np.ndarray, policy: Policy) -> dict[str, Any] | None:
    """A counterexample checked again: the network in exact arithmetic, the formula by
    SymPy to 30 digits; ``None`` if the float64 difference does not hold up."""
    from ..backends.exact import exact_fraction

    if net.param_count > EXACT_RECHECK_WEIGHTS:
        return _confirmed_float64(net, expr, row, policy)
    point = [Fraction(float(v)) for v in row]
    batch = np.array([point], dtype=object).reshape((1,) + net.input_shapes[0])
    network = float(exact_fraction(net.evaluate(batch, "exact").reshape(-1)[0]))
    subs = {s: sp.Rational(p.numerator, p.denominator) for s, p in zip(net.inputs, point)}
    value = complex(expr.xreplace(subs).evalf(30))
    if value.imag or not math.isfinite(value.real):
        return None
    if abs(value.real - network) <= policy.atol + policy.rtol * abs(network):
        return None
    shown: Any = float(row[0]) if len(row) == 1 else [float(v) for v in row]
    return {"input": shown, "network": network, "formula": value.real}
