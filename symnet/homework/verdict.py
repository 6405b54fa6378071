"""``symnet.check``: is a hand calculation right, and if not, where and why not."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..backends import FloatBackend
from ..display import Displayed
from ..errors import InvalidInputError
from ..escape import terminal_text
from .diagnose import Diagnoser, Match
from .numbers import Numbers, Policy, judge, read_numbers
from .steps import StepVerdict, check_steps, read_steps

__all__ = ["Diagnosis", "Verdict", "answer_verdict", "check", "outputs", "steps_verdict"]


@dataclass(frozen=True)
class Diagnosis:
    """A stable ``code`` (``correct``, ``rounding``, ``missing_activation``...) and a sentence."""

    code: str
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", _capital(self.message))


@dataclass(frozen=True, eq=False)
class Verdict(Displayed):
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
    layers: tuple[str, ...] = ()
    """The layers the diagnosed mistake is made in."""
    steps: tuple[StepVerdict, ...] = ()
    """With ``steps=``: one verdict per layer given, in execution order."""
    score: float | None = None
    """With ``steps=``: the share of steps right or consistent (1.0: every step earns its
    credit)."""
    proven: bool | None = None
    """With ``formula=``: whether the verdict is proven (exact arithmetic) rather than found
    at sample points."""
    notes: tuple[str, ...] = field(default=())

    @property
    def layer(self) -> str | None:
        """The (first) layer the diagnosed mistake is made in."""
        return self.layers[0] if self.layers else None

    def summary(self) -> str:
        head = "correct" if self.correct else "wrong"
        if self.diagnosis.code == "agrees_at_points":
            head = "agrees (not proven)"
        lines = [f"{head}: {_capital(self.diagnosis.message)}"]
        if self.expected is not None and self.got is not None:
            lines.append(f"expected {_show(self.expected)}, got {_show(self.got)}"
                         + _gap(self.expected, self.got, self.abs_error))
        if self.first_wrong_step:
            lines.append(f"first wrong step: {self.first_wrong_step}")
        for step in self.steps:
            line = f"  {step.layer}: {step.status}"
            if step.status == "wrong":
                line += f" ({step.code}; units {list(step.wrong_units)[:12]})"
            lines.append(line)
            lines += [f"    {note.describe()}" for note in step.notes[:4]]
            if len(step.notes) > 4:
                lines.append(f"    (and {len(step.notes) - 4} more units)")
        if self.score is not None:
            lines.append(f"score: {self.score:.3g} (steps right or consistent: "
                         f"{round(self.score * len(self.steps))} of {len(self.steps)})")
        if self.counterexample:
            c = self.counterexample
            point = c["input"]
            if isinstance(point, (list, tuple)) and len(point) > 8:  # all of it in the JSON
                point = "[" + ", ".join(f"{v:.7g}" for v in point[:8]) + \
                    f", ... ({len(point)} values)]"
            lines.append(f"counterexample: at {point} the network gives {c['network']:.7g}, "
                         f"the formula {c['formula']:.7g}")
        lines += list(self.notes)
        if self.tolerance:
            lines.append(f"tolerance: {self.tolerance}")
        return "\n".join(terminal_text(line) for line in lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {"correct": self.correct, "expected": _plain(self.expected),
                "got": _plain(self.got), "abs_error": _finite(self.abs_error),
                "rel_error": _finite(self.rel_error), "first_wrong_step": self.first_wrong_step,
                "diagnosis": {"code": self.diagnosis.code, "message": self.diagnosis.message},
                "layer": self.layer, "layers": list(self.layers),
                "counterexample": self.counterexample, "tolerance": self.tolerance,
                "steps": [s.to_dict() for s in self.steps], "score": self.score,
                "proven": self.proven, "notes": list(self.notes)}


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _finite(v: float | None) -> float | None:
    return v if v is None or math.isfinite(v) else None


def _plain(v: Any) -> Any:
    return np.asarray(v, dtype=np.float64).tolist() if v is not None else None


def _show(v: Any) -> str:
    arr = np.asarray(v, dtype=np.float64).reshape(-1)
    shown = ", ".join(f"{a:.7g}" for a in arr[:8]) + (" ..." if arr.size > 8 else "")
    return shown if arr.size == 1 else f"[{shown}]"


def _gap(expected: Any, got: Any, abs_error: float | None) -> str:
    if np.size(expected) != np.size(got):
        return f" ({np.size(got)} values where the layer has {np.size(expected)})"
    return f" (abs error {abs_error:.3g})" if abs_error else ""


def _errors(got: np.ndarray, expected: np.ndarray) -> tuple[float, float]:
    if np.shape(got) != np.shape(expected):  # a step of another size: no entrywise error
        return math.inf, math.inf
    abs_error = float(np.max(np.abs(got - expected)))
    scale = float(np.max(np.abs(expected)))
    return abs_error, abs_error / scale if scale else math.inf


def require_finite(expected: np.ndarray, what: str) -> None:
    """No answer is graded against an output that overflowed (or a NaN): it would match all."""
    if not np.all(np.isfinite(expected)):
        raise InvalidInputError(
            f"the network's {what} at this input is not a finite number ({_show(expected)}): "
            "float32 overflowed or a weight is NaN/Inf, so no answer can be graded against it")


# --- check --------------------------------------------------------------------------------

def check(model: Any, x: Any, *, answer: Any = None, steps: Any = None, formula: str | None = None,
          rtol: float = 1e-4, atol: float = 1e-6, digits: int = 3, batch: Any = None,
          domain: Any = None) -> Verdict:
    """Check a hand calculation of ``model`` at input ``x``; see :func:`symnet.check`."""
    from ..network import Network, explain

    policy = Policy(digits, rtol, atol)
    net = model if isinstance(model, Network) else explain(model)
    given = [v is not None for v in (answer, steps, formula)]
    if sum(given) != 1:
        raise InvalidInputError("give exactly one of answer=, steps= or formula=")
    if formula is not None:
        return _check_formula(net, formula, domain, policy)
    arrays = net.graph.sample(x)
    rows = None
    if batch is not None:
        try:
            rows = np.asarray(batch, dtype=np.float64).reshape((-1,) + net.input_shapes[0])
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"batch: expected rows of shape {net.input_shapes[0]}, "
                                    f"received {terminal_text(batch, 80)}") from exc
    diagnoser = Diagnoser(net.graph, rows)
    if steps is not None:
        return _check_steps(diagnoser, arrays, steps, policy)
    got = read_numbers(answer, "answer")
    expected = outputs(net.graph, arrays)[0]
    return answer_verdict(diagnoser, arrays, [got], expected[None], policy)[0]


def outputs(graph: Any, arrays: list[np.ndarray]) -> np.ndarray:
    """The network's outputs in float32, as Keras computes them (one row per sample)."""
    return graph.output_values(graph.run(FloatBackend(np.float32), arrays))


def answer_verdict(diagnoser: Diagnoser, arrays: list[np.ndarray], answers: list[Numbers],
                   expected: np.ndarray, policy: Policy) -> list[Verdict]:
    """The verdicts on final answers, one per row of ``arrays``: judged by the policy, and
    the wrong ones diagnosed all at once."""
    expected = np.asarray(expected, np.float64)
    for got, exp in zip(answers, expected):
        if got.size != exp.size:
            raise InvalidInputError(f"answer: the network has {exp.size} output(s), received "
                                    f"{got.size} number(s)")
    require_finite(expected, "output")
    written = np.stack([got.values for got in answers])
    gaps = np.abs(written - expected)
    # the common case first, for a whole class at once: within the tolerance
    within = np.all(gaps <= policy.atol + policy.rtol * np.abs(expected), axis=1)
    abs_errors = gaps.max(axis=1)
    scales = np.abs(expected).max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_errors = np.where(scales > 0, abs_errors / np.where(scales > 0, scales, 1), np.inf)
    verdicts: list[Verdict | None] = [None] * len(answers)
    todo, imprecise = [], []
    for i, got in enumerate(answers):
        errors = (float(abs_errors[i]), float(rel_errors[i]))
        if within[i]:
            verdicts[i] = Verdict(True, expected[i], got.values, *errors, None, _CORRECT,
                                  tolerance=policy.describe())
            continue
        verdict = _judged(got, expected[i], policy, errors)
        if verdict is None:
            todo.append(i)
        else:
            verdicts[i] = verdict
            rounds = bool(np.all(gaps[i] <= got.half_units()))
            if not verdict.correct and not rounds:
                imprecise.append(i)

    def pick(values: dict[str, Any], rows: slice) -> np.ndarray:
        return diagnoser.graph.output_values(values)[rows]

    # too few digits to be right; but a number that is not the output rounded and is exactly
    # what a mistake gives (-23 for the ReLU forgotten) is that mistake, however few its digits
    for rows, strict in ((todo, False), (imprecise, True)):
        if not rows:
            continue
        found = diagnoser.best([a[rows] for a in arrays], [answers[i] for i in rows], pick,
                               policy, strict=strict)
        for i, match in zip(rows, found):
            if strict and match is None:
                continue
            verdicts[i] = _diagnosed(answers[i], expected[i], match, policy,
                                     (float(abs_errors[i]), float(rel_errors[i])),
                                     diagnoser.stopped)
    return verdicts  # type: ignore[return-value]


_CORRECT = Diagnosis("correct", "the answer is the network's output.")


def _judged(got: Numbers, expected: np.ndarray, policy: Policy, errors: tuple[float, float]
            ) -> Verdict | None:
    """The verdict when the policy decides it alone (right, or too imprecise); else ``None``."""
    judgement = judge(got, expected, policy)
    code = judgement.code
    if code is None:
        return None
    shown = int(judgement.shown.min())
    if code == "correct":
        diagnosis = _CORRECT
    elif code == "rounding":
        diagnosis = Diagnosis("rounding", f"the answer is the network's output "
                              f"{_show(expected)} rounded to the {shown} significant digits it "
                              "shows.")
    else:
        few = max(int(judgement.shown[judgement.imprecise].min()), 0)
        rounds = bool(np.all(np.abs(got.values - expected) <= got.half_units()))
        diagnosis = Diagnosis("too_imprecise", (
            f"the answer shows {few} significant digit{'' if few == 1 else 's'} of the "
            f"output; at least {policy.digits} are required") + (
            f" (it is the output rounded to {few} digits, but {few} digits cannot tell a right "
            "calculation from a wrong one)." if rounds else
            "; at the digits it shows it is not the output either."))
    return Verdict(code != "too_imprecise", expected, got.values, *errors, None, diagnosis,
                   tolerance=policy.describe())


def _diagnosed(got: Numbers, expected: np.ndarray, match: Match | None, policy: Policy,
               errors: tuple[float, float], stopped: bool = False) -> Verdict:
    abs_error, rel_error = errors
    if match is None:
        diagnosis = Diagnosis("unknown", "the answer matches none of the known mistakes; give "
                              "the steps (steps=) to find the first wrong one.")
        if stopped:
            diagnosis = Diagnosis("unknown", "the answer matches none of the mistakes tried "
                                  "before the time allowed ran out (not every pair of mistakes "
                                  "was tried); give the steps (steps=) to find the first "
                                  "wrong one.")
        return Verdict(False, expected, got.values, abs_error, rel_error, None, diagnosis,
                       tolerance=policy.describe())
    mistake = match.mistake
    return Verdict(False, expected, got.values, abs_error, rel_error, None,
                   Diagnosis(mistake.code, _capital(mistake.message)),
                   tolerance=policy.describe(), layers=mistake.layers)


def _check_steps(diagnoser: Diagnoser, arrays: list[np.ndarray], steps: Any, policy: Policy
                 ) -> Verdict:
    return steps_verdict(diagnoser, arrays, read_steps(steps, diagnoser.graph), policy)


def steps_verdict(diagnoser: Diagnoser, arrays: list[np.ndarray], written: dict[str, Numbers],
                  policy: Policy) -> Verdict:
    """The verdict on the steps written for one sample (layer name -> numbers)."""
    verdicts, match = check_steps(diagnoser, arrays, written, policy)
    score = sum(v.status != "wrong" for v in verdicts) / len(verdicts)
    wrong = [v for v in verdicts if v.status == "wrong"]
    if not wrong:
        carried = any(v.status == "consistent" for v in verdicts)
        diagnosis = (Diagnosis("rounding", "every step is the network's, or what the layer "
                               "gives from the rounded values written before it.") if carried
                     else Diagnosis("correct", "every step given is the network's."))
        return Verdict(True, None, None, None, None, None, diagnosis,
                       tolerance=policy.describe(), steps=tuple(verdicts), score=score)
    first = wrong[0]
    abs_error, rel_error = _errors(first.got, first.expected)
    diagnosis = Diagnosis(first.code, _capital(first.message))
    layers = match.mistake.layers if match is not None else ()
    return Verdict(False, first.expected, first.got, abs_error, rel_error, first.layer,
                   diagnosis, tolerance=policy.describe(), layers=layers,
                   steps=tuple(verdicts), score=score)


def _check_formula(net: Any, text: str, domain: Any, policy: Policy) -> Verdict:
    from .formula import compare_formula

    result = compare_formula(net, text, domain, policy)
    codes = {"equal": "correct", "within": "within_tolerance", "agrees": "agrees_at_points",
             "differs": "formula_differs"}
    correct = result.outcome != "differs"
    example = result.counterexample
    gap = result.max_error if example is None else abs(example["network"] - example["formula"])
    return Verdict(correct, None if example is None else example["network"],
                   None if example is None else example["formula"], gap, None,
                   None, Diagnosis(codes[result.outcome], result.message),
                   counterexample=example, proven=result.proven,
                   tolerance=policy.describe() if result.outcome != "equal" else "")
