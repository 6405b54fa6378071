"""``symnet.check``: is a hand calculation right, and if not, where and why not."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..backends import FloatBackend
from ..display import Displayed, show
from ..errors import InvalidInputError
from ..escape import terminal_text
from .decide import Decision, Hypothesis, decide
from .diagnose import Diagnoser, Match
from .messages import mistake_message
from .notation import Notation
from .numbers import Numbers, Policy, judge, read_numbers
from .steps import StepVerdict, check_steps, read_steps

__all__ = ["Diagnosis", "Verdict", "answer_verdict", "check", "outputs", "steps_verdict"]


@dataclass(frozen=True)
class Diagnosis:
    """A stable ``code`` (``correct``, ``rounding``, ``missing_activation``...), a sentence, and
    how sure it is (see :mod:`symnet.homework.decide`).

    ``confidence``: ``certain`` (right, rounded, too few digits: facts about the number),
    ``exact`` (reproduced exactly by one mistake, by another student's variant, or by the
    right method rounded early), ``distance`` (``close`` by its distance alone), ``pair``
    (matched only by two mistakes together), ``rounding`` (matched only at the few digits
    written), ``none`` (``unknown``). ``also``: the codes of other explanations that fit as
    well. ``student``: for ``other_variant``, whose variant. ``distance``: how far the number
    is from the right one (largest absolute gap) and ``relative`` distance.
    """

    code: str
    message: str
    confidence: str = "certain"
    also: tuple[str, ...] = ()
    student: str | None = None
    distance: float | None = None
    relative: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", _capital(self.message))

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "confidence": self.confidence,
                "also": list(self.also), "student": self.student,
                "distance": _finite(self.distance), "relative": _finite(self.relative)}


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
    written: tuple[str, ...] = ()
    """With ``answer=``: the answer as written, its digits kept (``25.0``, where ``got`` is
    the number 25.0)."""

    @property
    def layer(self) -> str | None:
        """The (first) layer the diagnosed mistake is made in."""
        return self.layers[0] if self.layers else None

    def summary(self) -> str:
        """The verdict as lines of plain text, for a terminal."""
        return str(show(self, "text"))

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        data: dict[str, Any] = show(self, "data")
        return data


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _finite(v: float | None) -> float | None:
    return v if v is None or math.isfinite(v) else None


def _show(v: Any) -> str:
    arr = np.asarray(v, dtype=np.float64).reshape(-1)
    shown = ", ".join(f"{a:.7g}" for a in arr[:8]) + (" ..." if arr.size > 8 else "")
    return shown if arr.size == 1 else f"[{shown}]"


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
          domain: Any = None, close: float = 0.01, key: Any = None,
          interface: str = "python", target: Any = None, loss: Any = None,
          gradients: Any = None, learning_rate: Any = None, updated: Any = None,
          optimizer: Any = "sgd", optimizer_options: Any = None) -> Verdict:
    """Check a hand calculation of ``model`` at input ``x``; see :func:`symnet.check`.

    ``close``: a wrong answer within this relative distance of the right one is ``close``.
    ``key``: an exercise's key (``exercise.json``, a path or an
    :class:`~symnet.homework.key.ExerciseKey`): the messages speak its sheet's notation and a
    number equal to another student's answer is ``other_variant``. ``interface``: whose words
    the hints use (``python``: ``steps=``; ``cli``: ``--steps FILE.json``)."""
    from ..network import Network, explain

    policy = Policy(digits, rtol, atol, close)
    if key is not None and not hasattr(key, "variants"):
        from .key import load_key

        key = load_key(key)
    notation = key.notation.speaking(interface) if key is not None else Notation(interface)
    net = model if isinstance(model, Network) else explain(model)
    backprop = gradients is not None or updated is not None
    given = [v is not None for v in (answer, steps, formula)] + [backprop]
    if sum(given) != 1:
        raise InvalidInputError("give exactly one of answer=, steps=, formula= or "
                                "gradients=/updated=")
    if key is not None and getattr(key, "kind", "") == "backprop" and (
            backprop or answer is not None):
        if str(optimizer).lower() != "sgd" or optimizer_options:
            raise InvalidInputError("a backprop exercise's step is gradient descent as its "
                                    "sheet states: no optimizer= to give")
        from .backgrade import check_exercise

        return check_exercise(net, x, key, answer=answer, gradients=gradients, updated=updated,
                              policy=policy, notation=notation, target=target, loss=loss,
                              learning_rate=learning_rate)
    if backprop:
        from .backcheck import check_backprop

        return check_backprop(net, x, target=target, loss=loss, gradients=gradients,
                              updated=updated, learning_rate=learning_rate, policy=policy,
                              notation=notation, optimizer=optimizer,
                              optimizer_options=optimizer_options)
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
        return _check_steps(diagnoser, arrays, steps, policy, notation)
    got = read_numbers(_plain_answer(answer), "answer")
    expected = outputs(net.graph, arrays)[0]
    variants = None
    if key is not None:
        from .variants import VariantIndex, input_key

        variants = VariantIndex()
        for v in key.variants:
            variants.add(v.student or "the exercise's own input", input_key(v.input),
                         np.array([v.answer]))
    own = [tuple(float(a) for a in np.asarray(arrays[0], np.float64).reshape(-1))]
    return answer_verdict(diagnoser, arrays, [got], expected[None], policy, notation,
                          variants, own)[0]


def _plain_answer(answer: Any) -> Any:
    """A typed answer read as a student writes it: the Unicode minus is a minus."""
    if isinstance(answer, str):
        from .classcsv import number_cell

        return number_cell(answer)
    return answer


def outputs(graph: Any, arrays: list[np.ndarray]) -> np.ndarray:
    """The network's outputs in float32, as Keras computes them (one row per sample)."""
    return graph.output_values(graph.run(FloatBackend(np.float32), arrays))


def answer_verdict(diagnoser: Diagnoser, arrays: list[np.ndarray], answers: list[Numbers],
                   expected: np.ndarray, policy: Policy, notation: Notation | None = None,
                   variants: Any = None, own: Sequence[str] | None = None) -> list[Verdict]:
    """The verdicts on final answers, one per row of ``arrays``: the right ones by the policy,
    the wrong ones diagnosed all at once by :func:`decide.decide` from the catalogue's
    mistakes, the right method rounded early, and (``variants``, a
    :class:`~symnet.homework.variants.VariantIndex`) the other students' answers (``own``:
    each row's own variant key, left out of its search)."""
    notation = notation or Notation()
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
    verdicts: list[Verdict | None] = [None] * len(answers)
    todo, judgements = [], {}
    for i, got in enumerate(answers):
        if within[i]:
            verdicts[i] = _verdict(got, expected[i], decide(got, expected[i], policy), policy)
            continue
        judgements[i] = judge(got, expected[i], policy)
        if judgements[i].right.all():
            verdicts[i] = _verdict(got, expected[i], decide(
                got, expected[i], policy, judgement=judgements[i]), policy)
        else:
            todo.append(i)
    if not todo:
        return verdicts  # type: ignore[return-value]

    def pick(values: dict[str, Any], rows: slice) -> np.ndarray:
        return diagnoser.graph.output_values(values)[rows]

    sub = [a[todo] for a in arrays]
    found = diagnoser.candidates(sub, [answers[i] for i in todo], pick, policy)
    # the right method rounded early: only where it comes near what was written (all rows at
    # once; the policy then looks at those digit by digit)
    written = np.stack([answers[i].values for i in todo])
    units = np.stack([3 * answers[i].half_units() for i in todo])
    early = []
    for words, values in diagnoser.early(sub, pick):
        if values.shape != written.shape:
            continue
        with np.errstate(invalid="ignore"):
            close = np.all(np.abs(values - written) <= np.maximum(
                units, policy.atol + policy.rtol * np.abs(values)), axis=1)
        early.append((words, values, close))
    hint = notation.hint
    if diagnoser.stopped:
        hint = ("Not every pair of mistakes was tried before the time allowed ran out. "
                + hint)
    for k, i in enumerate(todo):
        hypotheses = [_hypothesis(m, notation) for m in found[k]]
        hypotheses += [Hypothesis("close", f"the calculation with every intermediate value "
                                  f"rounded to {words}", values[k], "early")
                       for words, values, close in early if close[k]]
        if variants is not None:
            hypotheses += variants.near(answers[i], None if own is None else own[i])
        decision = decide(answers[i], expected[i], policy, hypotheses, hint=hint,
                          judgement=judgements[i])
        verdicts[i] = _verdict(answers[i], expected[i], decision, policy)
    return verdicts  # type: ignore[return-value]


def _hypothesis(match: Match, notation: Notation) -> Hypothesis:
    mistake = match.mistake
    return Hypothesis(mistake.code, mistake_message(mistake, notation), match.values,
                      "pair" if "+" in mistake.code else "single", mistake.layers)


def _verdict(got: Numbers, expected: np.ndarray, decision: Decision, policy: Policy) -> Verdict:
    chosen = decision.chosen
    whose = [h.who for h in ((chosen,) if chosen is not None else ()) + decision.also
             if h.kind == "variant"]
    diagnosis = Diagnosis(decision.code, decision.message, decision.confidence,
                          tuple(dict.fromkeys(h.code for h in decision.also)),
                          whose[0] if whose else None, decision.abs_distance,
                          decision.rel_distance)
    right = decision.code in ("correct", "rounding")
    layers = chosen.layers if chosen is not None else ()
    return Verdict(right, expected, got.values, decision.abs_distance, decision.rel_distance,
                   None, diagnosis, tolerance=policy.describe(), layers=layers,
                   written=tuple(str(d) for d in got.exact))


def _check_steps(diagnoser: Diagnoser, arrays: list[np.ndarray], steps: Any, policy: Policy,
                 notation: Notation | None = None) -> Verdict:
    return steps_verdict(diagnoser, arrays, read_steps(steps, diagnoser.graph), policy,
                         notation)


def steps_verdict(diagnoser: Diagnoser, arrays: list[np.ndarray], written: dict[str, Numbers],
                  policy: Policy, notation: Notation | None = None) -> Verdict:
    """The verdict on the steps written for one sample (layer name -> numbers)."""
    verdicts, match = check_steps(diagnoser, arrays, written, policy, notation or Notation())
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
    confidence = ("certain" if first.code == "too_imprecise" else
                  "none" if first.code == "unknown" else "exact")
    diagnosis = Diagnosis(first.code, _capital(first.message), confidence)
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
