"""Checking a backpropagation done by hand: the loss, the δs, the gradients and the weights
after one step of gradient descent, judged as answers and steps are (``symnet.check(...,
target=, loss=, gradients=, learning_rate=, updated=)``).

Every part given is judged twice (:func:`~symnet.homework.stages.stage_status`): against the
right value, and against what the calculation gives from the student's *own* earlier parts — a
δ from their δ of the layer after, a gradient from their δ, a weight after the step from their
gradient — so a mistake carried forward costs one part, not every part after it
(``consistent``). The first wrong part is diagnosed by the diagnosis policy
(:func:`~symnet.homework.decide.decide`) from what each catalogued backpropagation mistake
(:mod:`symnet.homework.backprop`) gives there, the mistakes that also reproduce the other parts
given tried first, then pairs of mistakes, the right method with its values rounded too early,
and (with an exercise's key) the other students' answers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ..escape import terminal_text
from .backprop import AFTER, BackMistake, Backprop, Part, pairs
from .decide import Hypothesis, decide, fit
from .diagnose import EARLY_ROUNDINGS, TIME_LIMIT, RoundingBackend
from .notation import Notation
from .numbers import Numbers, Policy, read_numbers
from .stages import stage_status
from .steps import StepVerdict
from .verdict import Diagnosis, Verdict, _errors

__all__ = ["HINTS", "check_backprop", "read_parts"]

HINTS = {
    "python": "Give every δ and gradient (gradients=) to find the first wrong one.",
    "cli": "Give every δ and gradient (--gradients FILE.json) to find the first wrong one.",
    "class": "Fill in the δ and gradient columns (the class CSV from symnet exercise has them) "
             "to find the first wrong one.",
}
MAX_TEXT = 10_000_000


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if isinstance(value, (str, bytes)):
        if len(value) > MAX_TEXT:
            raise InvalidInputError(f"{what}: {len(value):,} characters is too long")
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{what}: not valid JSON ({exc.msg}, line {exc.lineno})"
                                    ) from None
        except (RecursionError, UnicodeDecodeError):
            raise InvalidInputError(f"{what}: not a JSON object of name -> values") from None
    if not isinstance(value, Mapping) or not value:
        raise InvalidInputError(f"{what}: expected a mapping of name -> values")
    return value


def read_parts(engine: Backprop, truth: Mapping[Part, np.ndarray], gradients: Any,
               updated: Any) -> dict[Part, Numbers]:
    """The parts written, in the order of the calculation: ``gradients`` (``"loss"``, a layer
    name for its δ, ``"layer/weight"`` for that weight's gradient) and ``updated``
    (``"layer/weight"`` -> the weight after the step)."""
    written: dict[Part, Numbers] = {}
    deltas = [p.name for p in truth if p.kind == "delta"]
    weights = list(engine.by_key)
    if gradients is not None:
        for name, values in _mapping(gradients, "gradients").items():
            if name == "loss":
                part = Part("loss")
            elif name in engine.by_key:
                part = Part("gradient", name)
            elif name in deltas:
                part = Part("delta", name)
            else:
                raise InvalidInputError(
                    f"gradients: {terminal_text(name, 80)!r} names nothing; give 'loss', a "
                    f"layer's name for its δ ({', '.join(map(repr, deltas[:8]))}) or a weight "
                    f"({', '.join(map(repr, weights[:8]))})")
            written[part] = read_numbers(values, f"gradients[{name!r}]")
    if updated is not None:
        if engine.rate is None:
            raise InvalidInputError("updated= needs the learning_rate of the step")
        for name, values in _mapping(updated, "updated").items():
            if name not in engine.by_key and name != "loss":
                raise InvalidInputError(
                    f"updated: {terminal_text(name, 80)!r} is no weight; give 'loss' (the "
                    f"loss after the step) or a weight ({', '.join(map(repr, weights[:12]))})")
            written[Part("updated", name)] = read_numbers(values, f"updated[{name!r}]")
    for part, got in written.items():
        size = int(np.size(truth[part]))
        if got.size != size:
            raise InvalidInputError(f"{part.describe()}: {size} number(s) (shape "
                                    f"{tuple(np.shape(truth[part]))}), received {got.size}")
    order = {p: k for k, p in enumerate(engine.parts())}
    return dict(sorted(written.items(), key=lambda item: order[item[0]]))


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(float(value)) or float(value) < 0:
        raise InvalidInputError(f"{what} must be a finite number ≥ 0, received {value!r}")
    return float(value)


def check_backprop(net: Any, x: Any, *, target: Any, loss: Any, gradients: Any = None,
                   updated: Any = None, learning_rate: Any = None,
                   policy: Policy | None = None, notation: Notation | None = None,
                   names: Mapping[Part, str] | None = None,
                   variants: Mapping[Part, list[tuple[str, np.ndarray]]] | None = None,
                   time_limit: float = TIME_LIMIT, optimizer: Any = "sgd",
                   optimizer_options: Mapping[str, Any] | None = None) -> Verdict:
    """The verdict on a backpropagation by hand at ``x`` (one sample or a batch) with
    ``target``: see :func:`symnet.check`. ``names``: each part as the sheet names it (an
    exercise); ``variants``: each part's values for the other students (``other_variant``).
    ``optimizer``, ``optimizer_options``: the step ``updated`` was computed with (a Keras
    optimizer from fresh state; default plain gradient descent)."""
    from ..analysis.gradients import targets_of
    from ..analysis.losses import loss_of

    if target is None or loss is None:
        raise InvalidInputError("checking gradients needs the target (target=) and the loss "
                                "(loss=)")
    policy = policy or Policy()
    notation = notation or Notation()
    graph = net.graph
    spec = loss_of(loss)
    arrays = graph.batch(x)
    targets = targets_of(graph, target, int(arrays[0].shape[0]), spec, False, np.float64)
    rate = None if learning_rate is None else _number(learning_rate, "learning_rate")
    after = updated is not None and "loss" in _mapping(updated, "updated")
    engine = Backprop(graph, spec, arrays, targets, rate, getattr(net, "framework", "keras"),
                      after=after, optimizer=optimizer, options=optimizer_options)
    truth = engine.evaluate(None)
    written = read_parts(engine, truth, gradients, updated)
    if not written:
        raise InvalidInputError("give the gradients (gradients=) or the weights after the step "
                                "(updated=) to check")
    for part in written:
        if not np.all(np.isfinite(truth[part])):
            raise InvalidInputError(f"{part.describe()} is not a finite number at this input "
                                    "(an overflow or a NaN/Inf weight): it cannot be graded")
    given = {p: got.values for p, got in written.items() if p != AFTER}
    own = engine.evaluate(None, overrides=given) if given else truth
    names = dict(names or {})
    verdicts: list[StepVerdict] = []
    for part, got in written.items():
        right = np.asarray(truth[part], np.float64).reshape(-1)
        mine = np.asarray(own[part], np.float64).reshape(-1)
        status, wrong = stage_status(got, right, mine, policy)
        shown = names.get(part, part.describe())
        base: dict[str, Any] = dict(layer=part.label, expected=right, got=got.values,
                                    own_expected=mine, shown=shown)
        if status == "right":
            verdicts.append(StepVerdict(status="right", wrong_units=(), code="correct",
                                        message=f"{shown} is right.", **base))
        elif status == "consistent":
            verdicts.append(StepVerdict(status="consistent", wrong_units=(), code="consistent",
                                        message=f"{shown} is not the right value, but it is "
                                        "what follows from the values written before it.",
                                        **base))
        else:
            units = tuple(int(u) for u in wrong)
            verdicts.append(StepVerdict(
                status="wrong", wrong_units=units, wrong_names=tuple(
                    _entry(shown, u, np.shape(truth[part]), notation.sheet) for u in units[:64]),
                code="too_imprecise" if status == "too_imprecise" else "unknown",
                message=(f"{shown} is the right value rounded to fewer than the "
                         f"{policy.digits} significant digits required." if status ==
                         "too_imprecise" else f"{shown} is wrong."), **base))
    score = sum(v.status != "wrong" for v in verdicts) / len(verdicts)
    wrong_steps = [v for v in verdicts if v.status == "wrong"]
    if not wrong_steps:
        carried = any(v.status == "consistent" for v in verdicts)
        diagnosis = (Diagnosis("rounding", "every part given is right, or what follows from the "
                               "rounded values written before it.") if carried else
                     Diagnosis("correct", "every part given is right."))
        return Verdict(True, None, None, None, None, None, diagnosis,
                       tolerance=policy.describe(), steps=tuple(verdicts), score=score)
    search = _Search(engine, written, policy, time_limit)
    first = next(p for p in written if p.label == wrong_steps[0].layer)
    hypotheses = search.hypotheses(first, notation)
    for who, values in (variants or {}).get(first, []):
        hypotheses.append(Hypothesis("other_variant", f"the answer for {who}'s input", values,
                                     "variant", who=who))
    complete = all(p in written for p in engine.parts() if p.kind in ("delta", "gradient"))
    hint = "" if complete else HINTS[notation.interface]
    if search.stopped:
        hint = ("Not every pair of mistakes was tried before the time allowed ran out. "
                + hint).strip()
    got = written[first]
    decision = decide(got, truth[first], policy, hypotheses, hint=hint)
    steps = [_step_code(v, search, written, policy, notation) for v in verdicts]
    chosen = decision.chosen
    whose = [h.who for h in ((chosen,) if chosen is not None else ()) + decision.also
             if h.kind == "variant"]
    where = names.get(first, first.describe())
    diagnosis = Diagnosis(decision.code, f"in {where}: {decision.message[:1].lower()}"
                          f"{decision.message[1:]}", decision.confidence,
                          tuple(dict.fromkeys(h.code for h in decision.also)),
                          whose[0] if whose else None, decision.abs_distance,
                          decision.rel_distance)
    expected = np.asarray(truth[first], np.float64).reshape(-1)
    abs_error, rel_error = _errors(got.values, expected)
    layers = chosen.layers if chosen is not None else ()
    return Verdict(False, expected, got.values, abs_error, rel_error, first.label, diagnosis,
                   tolerance=policy.describe(), layers=layers, steps=tuple(steps), score=score)


def _entry(shown: str, index: int, shape: tuple[int, ...], sheet: bool) -> str:
    """Entry ``index`` (row-major) of a part: ``entry [i,j]`` from 0, or on a sheet the
    part's name with its subscripts from 1 (``δ⁽¹⁾₂``, ``W₁′[1,2]``)."""
    from .notation import subscript

    shape = tuple(int(d) for d in shape)
    if len(shape) >= 2 and shape[0] == 1:
        shape = shape[1:]
    if len(shape) >= 2:
        i, j = divmod(index, shape[-1])
        return f"{shown}[{i + 1},{j + 1}]" if sheet else f"entry [{i},{j}]"
    if int(np.prod(shape)) <= 1:
        return shown if sheet else "entry 0"
    return f"{shown}{subscript(index + 1)}" if sheet else f"entry {index}"


class _Search:
    """The catalogue run on one calculation, once: each mistake's parts, and which of the
    parts written each reproduces."""

    def __init__(self, engine: Backprop, written: dict[Part, Numbers], policy: Policy,
                 time_limit: float) -> None:
        self.engine, self.written, self.policy = engine, written, policy
        self.deadline = time.monotonic() + time_limit
        self.stopped = False
        self.singles = engine.singles()
        self.values: dict[BackMistake, dict[Part, np.ndarray]] = {}
        self.counts: dict[BackMistake, int] = {}
        self.units: dict[Part, np.ndarray] = {}
        for m in self.singles:
            if time.monotonic() > self.deadline:
                self.stopped = True
                break
            self.values[m] = engine.evaluate(m)

    def explains(self, m: BackMistake, part: Part) -> bool:
        got = self.written[part]
        mine = np.asarray(self.values[m][part], np.float64).reshape(-1)
        if mine.size != got.size or not np.all(np.isfinite(mine)):
            return False
        if part not in self.units:
            self.units[part] = 3 * got.half_units()
        allowance = np.maximum(self.units[part],
                               self.policy.atol + self.policy.rtol * np.abs(mine))
        return bool(np.all(np.abs(got.values - mine) <= allowance))

    def _ranked(self, mistakes: list[BackMistake]) -> list[BackMistake]:
        """The mistakes that reproduce the most parts written first; of those, the one that
        changes the fewest parts of the calculation (the mistake made where it shows, not one
        that would also change what was not written); then in the catalogue's order."""
        truth = self.engine_truth

        def changed(m: BackMistake) -> int:
            return sum(not np.array_equal(v, truth[p]) for p, v in self.values[m].items())

        return sorted(mistakes, key=lambda m: (-self.count(m), changed(m)))

    def count(self, m: BackMistake) -> int:
        """How many of the parts written ``m`` reproduces."""
        if m not in self.counts:
            self.counts[m] = sum(self.explains(m, p) for p in self.written)
        return self.counts[m]

    def hypotheses(self, first: Part, notation: Notation) -> list[Hypothesis]:
        from .backmessages import backprop_message

        got = self.written[first]
        singles = self._ranked([m for m in self.singles if m in self.values])
        everything = len(self.written)
        candidates = [(m, "single") for m in singles]
        if not any(fit(got, self.values[m][first], self.policy) == "exact"
                   and self.count(m) == everything for m in singles):
            found = []
            truth = self.engine_truth[first]
            changing = [m for m in self.singles if m in self.values
                        and not np.array_equal(self.values[m][first], truth)]
            # a pair reproduces the first wrong part only if one of its two changes it
            for m in pairs([m for m in self.singles if m in self.values]):
                if not any(c in changing for c in m.components):
                    continue
                if time.monotonic() > self.deadline:
                    self.stopped = True
                    break
                self.values[m] = self.engine.evaluate(m)
                found.append(m)
            candidates += [(m, "pair") for m in self._ranked(found)]
        # the explanation of the first wrong part that also explains the most of the others
        fitting = [(m, kind) for m, kind in candidates if self.explains(m, first)]
        best = max((self.count(m) for m, _ in fitting), default=0)
        out = [Hypothesis(m.code, backprop_message(m, notation), self.values[m][first], kind,
                          m.layers) for m, kind in fitting if self.count(m) == best]
        for words, how, places in EARLY_ROUNDINGS:
            values = self.engine.evaluate(None, backend=RoundingBackend(how, places,
                                                                       frozenset()))
            out.append(Hypothesis("close", f"the calculation with every intermediate value "
                                  f"rounded to {words}", values[first], "early"))
        return out

    def matching(self, part: Part) -> BackMistake | None:
        """The first single mistake that reproduces this part (from the input)."""
        for m in self._ranked([m for m in self.singles if m in self.values]):
            if self.explains(m, part) and not np.allclose(
                    self.values[m][part], self.engine_truth[part], rtol=0, atol=0):
                return m
        return None

    @property
    def engine_truth(self) -> dict[Part, np.ndarray]:
        if not hasattr(self, "_truth"):
            self._truth = self.engine.evaluate(None)
        return self._truth


def _step_code(step: StepVerdict, search: _Search, written: dict[Part, Numbers],
               policy: Policy, notation: Notation) -> StepVerdict:
    """A wrong step's code: the first catalogued mistake that reproduces it, if any."""
    from dataclasses import replace

    from .backmessages import backprop_message

    if step.status != "wrong" or step.code == "too_imprecise":
        return step
    part = next(p for p in written if p.label == step.layer)
    m = search.matching(part)
    if m is None:
        return replace(step, message=f"{step.shown} matches none of the known mistakes.")
    return replace(step, code=m.code, message=backprop_message(m, notation))
