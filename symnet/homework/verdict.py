"""``symnet.check``: is a hand calculation right, and if not, where and why not."""

from __future__ import annotations

import decimal
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..analysis.piecewise import domain_of
from ..backends import FloatBackend
from ..errors import InvalidInputError
from ..escape import terminal_text
from .mistakes import Mistake, catalogue, run_with
from .parse import parse_formula

__all__ = ["Diagnosis", "Verdict", "check"]


@dataclass(frozen=True)
class Diagnosis:
    """A stable ``code`` (``correct``, ``rounding``, ``missing_activation``...) and a sentence."""

    code: str
    message: str


@dataclass(frozen=True, eq=False)
class Verdict:
    """The result of :func:`check`."""

    correct: bool
    expected: Any
    got: Any
    abs_error: float | None
    rel_error: float | None
    first_wrong_step: str | None
    diagnosis: Diagnosis
    counterexample: dict[str, Any] | None = None
    tolerance: str = ""
    layer: str | None = field(default=None)
    """The layer the diagnosed mistake is in, when there is one."""

    def summary(self) -> str:
        verdict = "correct" if self.correct else "wrong"
        lines = [f"{verdict}: {self.diagnosis.message}"]
        if self.expected is not None:
            lines.append(f"expected {_show(self.expected)}, got {_show(self.got)}"
                         + (f" (abs error {self.abs_error:.3g})" if self.abs_error else ""))
        if self.first_wrong_step:
            lines.append(f"first wrong step: {self.first_wrong_step}")
        if self.counterexample:
            c = self.counterexample
            lines.append(f"counterexample: at {c['input']} the network gives {c['network']:.7g}, "
                         f"the formula {c['formula']:.7g}")
        if self.tolerance:
            lines.append(f"tolerance: {self.tolerance}")
        return "\n".join(terminal_text(line) for line in lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {"correct": self.correct, "expected": _plain(self.expected),
                "got": _plain(self.got), "abs_error": self.abs_error,
                "rel_error": self.rel_error, "first_wrong_step": self.first_wrong_step,
                "diagnosis": {"code": self.diagnosis.code, "message": self.diagnosis.message},
                "layer": self.layer, "counterexample": self.counterexample,
                "tolerance": self.tolerance}

    def _repr_html_(self) -> str:
        import html

        return "<pre>" + html.escape(self.summary()) + "</pre>"

    def _repr_latex_(self) -> str:
        return r"$\text{" + ("correct" if self.correct else "wrong") + ": " + \
            self.diagnosis.code.replace("_", r"\_") + "}$"


def _plain(v: Any) -> Any:
    return np.asarray(v, dtype=np.float64).tolist() if v is not None else None


def _show(v: Any) -> str:
    arr = np.asarray(v, dtype=np.float64).reshape(-1)
    shown = ", ".join(f"{a:.7g}" for a in arr[:8]) + (" ..." if arr.size > 8 else "")
    return shown if arr.size == 1 else f"[{shown}]"


# --- numbers and the rounding they show -----------------------------------------------------

def _digits(text: str) -> int:
    """Significant digits written in a number's text (``24.60`` has 4, ``0.05`` has 1)."""
    mantissa = text.strip().lstrip("+-").lower().split("e")[0].replace(".", "")
    stripped = mantissa.lstrip("0")
    if "." not in text and text.strip().lstrip("+-").isdigit():
        stripped = stripped.rstrip("0") or "0"  # 2500: trailing zeros say nothing
    return max(1, len(stripped))


def _numbers(value: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Values and the significant digits each shows, from numbers or text."""
    if isinstance(value, str):
        items = [v for v in value.replace(";", ",").split(",") if v.strip()]
    else:
        items = list(np.asarray(value, dtype=object).reshape(-1))
    numbers, digits = [], []
    for item in items:
        if isinstance(item, (bool, np.bool_)):
            raise InvalidInputError(f"{what}: expected numbers, received {item!r}")
        text = item.strip() if isinstance(item, str) else repr(float(item)) if isinstance(
            item, (float, np.floating)) else str(item)
        try:
            number = float(decimal.Decimal(text))
        except (decimal.InvalidOperation, ValueError, TypeError):
            raise InvalidInputError(f"{what}: expected a number, received {item!r}") from None
        if not math.isfinite(number):
            raise InvalidInputError(f"{what}: expected a finite number, received {item!r}")
        numbers.append(number)
        digits.append(_digits(text.removesuffix(".0") if text.endswith(".0") else text))
    if not numbers:
        raise InvalidInputError(f"{what}: no number given")
    return np.array(numbers), np.array(digits)


def _rounding_allowance(values: np.ndarray, digits: np.ndarray) -> np.ndarray:
    """Half a unit in the last digit shown; 1.5 units from 3 digits on (rounded intermediate
    values move the last digit by about one)."""
    exponent = np.floor(np.log10(np.maximum(np.abs(values), 1e-300)))
    half_unit = 0.5 * 10.0 ** (exponent - digits + 1)
    return np.where(digits >= 3, 3 * half_unit, half_unit)


def _matches(got: np.ndarray, expected: np.ndarray, allowance: np.ndarray, rtol: float,
             atol: float) -> bool:
    return bool(np.all(np.abs(got - expected) <= np.maximum(allowance, atol + rtol *
                                                              np.abs(expected))))


# --- check --------------------------------------------------------------------------------

def check(model: Any, x: Any, *, answer: Any = None, steps: Any = None, formula: str | None = None,
          rtol: float = 1e-4, atol: float = 1e-6, batch: Any = None, domain: Any = None
          ) -> Verdict:
    """Check a hand calculation of ``model`` at input ``x``; see :func:`symnet.check`."""
    from ..network import Network, explain

    net = model if isinstance(model, Network) else explain(model)
    given = [v is not None for v in (answer, steps, formula)]
    if sum(given) != 1:
        raise InvalidInputError("give exactly one of answer=, steps= or formula=")
    if formula is not None:
        return _check_formula(net, formula, domain)
    arrays = net.graph.sample(x)
    batch_rows = None
    if batch is not None:
        batch_rows = np.asarray(batch, dtype=np.float64).reshape((-1,) + net.input_shapes[0])
    if steps is not None:
        return _check_steps(net, arrays, steps, rtol, atol, batch_rows)
    return _check_answer(net, arrays, answer, rtol, atol, batch_rows)


def _outputs(net: Any, values: dict[str, Any], rows: slice) -> np.ndarray:
    return net.graph.output_values(values)[rows].reshape(-1)


def _run(net: Any, arrays: list[np.ndarray], batch: np.ndarray | None,
         mistake: Mistake | None) -> tuple[dict[str, Any], slice]:
    if batch is None or mistake is None or not mistake.uses_batch:
        return run_with(net.graph, arrays, mistake), slice(0, 1)
    stacked = [np.concatenate([batch, arrays[0]], axis=0)]
    return run_with(net.graph, stacked, mistake), slice(len(batch), len(batch) + 1)


def _candidates(mistakes: list[Mistake]) -> list[list[Mistake]]:
    singles = [[m] for m in mistakes]
    pairs = [[a, b] for a, b in itertools.combinations(mistakes, 2)
             if (a.layer != b.layer or a.code != b.code) and a.compatible(b)]
    return [singles, pairs]


def _diagnose(net: Any, arrays: list[np.ndarray], batch: np.ndarray | None, target: np.ndarray,
              allowance: np.ndarray, rtol: float, atol: float, pick: Any
              ) -> tuple[Mistake | None, np.ndarray | None]:
    """The mistake (or pair) whose result matches ``target`` best, within the tolerance."""
    mistakes = catalogue(net.graph, None if batch is None else len(batch))
    for group in _candidates(mistakes):
        best: tuple[float, Mistake, np.ndarray] | None = None
        for combo in group:
            mistake = combo[0] if len(combo) == 1 else combo[0] + combo[1]
            values, rows = _run(net, arrays, batch, mistake)
            got = pick(values, rows)
            if got.shape == target.shape and _matches(target, got, allowance, rtol, atol):
                error = float(np.max(np.abs(target - got)))
                if best is None or error < best[0]:
                    best = (error, mistake, got)
        if best is not None:
            return best[1], best[2]
    return None, None


def _require_finite(expected: np.ndarray, what: str) -> None:
    """No answer is graded against an output that overflowed (or a NaN): it would match all."""
    if not np.all(np.isfinite(expected)):
        raise InvalidInputError(
            f"the network's {what} at this input is not a finite number ({_show(expected)}): "
            "float32 overflowed or a weight is NaN/Inf, so no answer can be graded against it")


def _errors(got: np.ndarray, expected: np.ndarray) -> tuple[float, float]:
    abs_error = float(np.max(np.abs(got - expected)))
    scale = float(np.max(np.abs(expected)))
    return abs_error, abs_error / scale if scale else math.inf


def _check_answer(net: Any, arrays: list[np.ndarray], answer: Any, rtol: float, atol: float,
                  batch: np.ndarray | None) -> Verdict:
    got, digits = _numbers(answer, "answer")
    expected = net.graph.output_values(net.graph.run(FloatBackend(np.float32), arrays))[0]
    if got.size != expected.size:
        raise InvalidInputError(f"answer: the network has {expected.size} output(s), received "
                                f"{got.size} number(s)")
    _require_finite(expected, "output")
    allowance = _rounding_allowance(got, digits)
    abs_error, rel_error = _errors(got, expected)
    tolerance = (f"rtol={rtol:g}, atol={atol:g}, or the rounding the answer shows "
                 f"({int(digits.min())} significant digits)")
    if _matches(got, expected, np.zeros_like(got), rtol, atol):
        return Verdict(True, expected, got, abs_error, rel_error, None,
                       Diagnosis("correct", "the answer is the network's output."),
                       tolerance=tolerance)
    if _matches(got, expected, allowance, rtol, atol):
        return Verdict(True, expected, got, abs_error, rel_error, None, Diagnosis(
            "rounding", f"the answer is the network's output {_show(expected)} rounded to the "
            f"{int(digits.min())} significant digits it shows."), tolerance=tolerance)
    mistake, _ = _diagnose(net, arrays, batch, got, allowance, rtol, atol,
                           lambda values, rows: _outputs(net, values, rows))
    if mistake is None:
        return Verdict(False, expected, got, abs_error, rel_error, None, Diagnosis(
            "unknown", "the answer matches none of the known mistakes; give the steps "
            "(steps=) to find the first wrong one."), tolerance=tolerance)
    return Verdict(False, expected, got, abs_error, rel_error, None,
                   Diagnosis(mistake.code, mistake.message[0].upper() + mistake.message[1:]),
                   tolerance=tolerance, layer=mistake.layer)


def _check_steps(net: Any, arrays: list[np.ndarray], steps: Any, rtol: float, atol: float,
                 batch: np.ndarray | None) -> Verdict:
    if isinstance(steps, str):
        try:
            steps = json.loads(steps)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"steps: not valid JSON ({exc.msg})") from None
    if not isinstance(steps, dict) or not steps:
        raise InvalidInputError("steps: expected a mapping of layer name -> values")
    names = {call.layer.name for call in net.graph.calls}
    unknown = sorted(set(steps) - names)
    if unknown:
        raise InvalidInputError(f"steps: no layer named {unknown}; layers: {sorted(names)}")
    truth = run_with(net.graph, arrays, None)
    for call in net.graph.calls:
        name = call.layer.name
        if name not in steps:
            continue
        got, digits = _numbers(steps[name], f"steps[{name!r}]")
        expected = np.asarray(truth[call.output], np.float64).reshape(-1)
        _require_finite(expected, f"layer {name!r}")
        if got.size != expected.size:
            raise InvalidInputError(f"steps[{name!r}]: layer {name!r} has {expected.size} "
                                    f"value(s), received {got.size}")
        allowance = _rounding_allowance(got, digits)
        if _matches(got, expected, allowance, rtol, atol):
            continue
        abs_error, rel_error = _errors(got, expected)
        mistake, _ = _diagnose(
            net, arrays, batch, got, allowance, rtol, atol,
            lambda values, rows, key=call.output: np.asarray(values[key], np.float64)[rows]
            .reshape(-1))
        diagnosis = (Diagnosis("unknown", f"the values of {name!r} match none of the known "
                               "mistakes.") if mistake is None else
                     Diagnosis(mistake.code, mistake.message[0].upper() + mistake.message[1:]))
        return Verdict(False, expected, got, abs_error, rel_error, name, diagnosis,
                       layer=None if mistake is None else mistake.layer)
    return Verdict(True, None, None, None, None, None,
                   Diagnosis("correct", "every step given is the network's."))


def _check_formula(net: Any, text: str, domain: Any) -> Verdict:
    expr = parse_formula(text, net.inputs)
    if len(net.outputs) != 1:
        raise InvalidInputError("formula: only networks with one output can be compared with "
                                "one formula")
    points = _comparison_points(net, expr, domain)
    fn = sp.Lambda(tuple(net.inputs), expr)
    worst: tuple[float, Any, float, float] | None = None
    for point in points:
        sample = [str(v) for v in point]
        network = float(net.evaluate([sample] if len(point) > 1 else sample[0], "exact")
                        .reshape(-1)[0])
        value = fn(*[sp.Rational(v) for v in point])
        if not value.is_real:
            continue
        formula_value = float(value)
        error = abs(network - formula_value)
        if worst is None or error > worst[0]:
            worst = (error, point, network, formula_value)
    assert worst is not None
    scale = max(1.0, abs(worst[2]))
    if worst[0] <= 1e-9 * scale:
        how = ("piece by piece: at two points inside every interval between the breakpoints "
               "of both, where both are affine" if _exact_comparison(net, expr) else
               f"at {len(points)} points of the domain")
        return Verdict(True, None, None, 0.0, 0.0, None, Diagnosis(
            "correct", f"the formula equals the network ({how})."))
    point = worst[1]
    shown = float(point[0]) if len(point) == 1 else [float(v) for v in point]
    return Verdict(False, worst[2], worst[3], worst[0], worst[0] / scale, None, Diagnosis(
        "unknown", "the formula differs from the network."), counterexample={
        "input": shown, "network": worst[2], "formula": worst[3]})


def _exact_comparison(net: Any, expr: Any) -> bool:
    return len(net.inputs) == 1 and net.is_piecewise_linear and _piecewise_linear(
        expr, net.inputs[0])


def _piecewise_linear(expr: Any, x: Any) -> bool:
    if expr.is_polynomial(x):
        return sp.degree(expr, x) <= 1 if expr.has(x) else True
    if isinstance(expr, (sp.Max, sp.Min, sp.Abs, sp.Add)) or (isinstance(expr, sp.Mul) and sum(
            a.has(x) for a in expr.args) <= 1):
        return all(_piecewise_linear(a, x) for a in expr.args)
    return False


def _kinks(expr: Any, x: Any) -> list[sp.Rational]:
    """Where the formula's Max/Min/Abs arguments cross: its own breakpoints."""
    points = []
    for node in sp.preorder_traversal(expr):
        if isinstance(node, (sp.Max, sp.Min)):
            pairs = itertools.combinations(node.args, 2)
            diffs = [a - b for a, b in pairs]
        elif isinstance(node, sp.Abs):
            diffs = [node.args[0]]
        else:
            continue
        for d in diffs:
            if d.is_polynomial(x) and sp.degree(d, x) == 1:
                points.extend(r for r in sp.solve(d, x) if r.is_Rational)
    return points


def _comparison_points(net: Any, expr: Any, domain: Any) -> list[tuple[Any, ...]]:
    """Points at which equality is decided: for a one-input piecewise-linear network and
    formula, two inside each interval between their breakpoints (two affine functions equal
    at two points are equal on the interval); otherwise a dense sample of the domain."""
    if _exact_comparison(net, expr):
        x = net.inputs[0]
        low, high = domain_of(net.graph, domain)
        cuts = sorted({sp.Rational(b) for b in net.breakpoints(domain)} | set(_kinks(expr, x)))
        cuts = [c for c in cuts if low < c < high]
        ends = ([sp.Rational(low)] if np.isfinite(low) else [cuts[0] - 2 if cuts else
                                                             sp.Integer(-2)])
        ends += cuts + ([sp.Rational(high)] if np.isfinite(high) else
                        [cuts[-1] + 2 if cuts else sp.Integer(2)])
        points = []
        for a, b in itertools.pairwise(ends):
            points += [(a + (b - a) / 3,), (a + 2 * (b - a) / 3,)]
        return points
    rng = np.random.default_rng(0)
    low, high = (-10.0, 10.0) if domain is None else (float(domain[0]), float(domain[1]))
    samples = rng.uniform(low, high, size=(257, len(net.inputs)))
    return [tuple(sp.Rational(repr(float(v))) for v in row) for row in samples]
