"""Follow-through credit: every step judged against the network, and against the network
applied to the student's *own* earlier values.

A step is ``right`` when it is the network's value (within the rounding policy), ``consistent``
when it is not but equals what the layer gives from the values the student wrote for the layers
before it (a mistake carried forward, computed correctly), and ``wrong`` otherwise. A wrong
step names its wrong units and, for each unit a catalogued mistake of that layer explains, the
mistake and how far off the unit is. The score a rubric can use is the share of steps right or
consistent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..backends import FloatBackend
from ..errors import InvalidInputError
from ..escape import terminal_text
from ..graph import Graph, LayerCall
from .diagnose import Diagnoser, Match
from .messages import mistake_message
from .mistakes import Mistake, Then
from .notation import Notation
from .numbers import Numbers, Policy, judge, read_numbers

__all__ = ["StepVerdict", "UnitNote", "check_steps", "read_steps"]

MAX_STEPS_TEXT = 10_000_000


@dataclass(frozen=True)
class UnitNote:
    """One wrong unit, explained by a catalogued mistake of its layer."""

    unit: int
    code: str
    written: float
    right: float
    """What the layer gives for this unit from the student's earlier values."""
    name: str = ""
    """The unit as the notation names it (``h⁽¹⁾₁``, ``unit 0``)."""

    @property
    def difference(self) -> float:
        return self.written - self.right

    def describe(self) -> str:
        name = self.name or f"unit {self.unit}"
        return (f"{name}: {self.written:.6g} instead of {self.right:.6g} "
                f"(off by {self.difference:+.6g}: {self.code.replace('_', ' ')})")


@dataclass(frozen=True, eq=False)
class StepVerdict:
    """The verdict on one layer's values."""

    layer: str
    status: str
    """``right``, ``consistent`` (wrong, but the layer applied to the student's own earlier
    values) or ``wrong``."""
    wrong_units: tuple[int, ...]
    """Units neither right nor consistent (row-major indices)."""
    expected: np.ndarray
    """The network's values."""
    got: np.ndarray
    own_expected: np.ndarray
    """What the layer gives from the values the student wrote before it."""
    code: str
    """``correct``, ``rounding``, ``consistent``, ``too_imprecise``, a mistake's code, or
    ``unknown``."""
    message: str
    notes: tuple[UnitNote, ...] = ()
    shown: str = ""
    """The layer as the notation names it (``h⁽¹⁾`` on an exercise's sheet)."""
    wrong_names: tuple[str, ...] = ()
    """The wrong units as the notation names them (``h⁽¹⁾₁``, or ``unit 0``)."""

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "status": self.status,
                "wrong_units": list(self.wrong_units), "code": self.code,
                "message": self.message, "expected": self.expected.tolist(),
                "got": self.got.tolist(), "own_expected": self.own_expected.tolist(),
                "notes": [{"unit": n.unit, "code": n.code, "written": n.written,
                           "right": n.right} for n in self.notes]}


def read_steps(steps: Any, graph: Graph) -> dict[str, Numbers]:
    """Layer name -> the numbers written, from a mapping or its JSON text."""
    if isinstance(steps, (str, bytes)):
        if len(steps) > MAX_STEPS_TEXT:
            raise InvalidInputError(f"steps: {len(steps):,} characters is too long (at most "
                                    f"{MAX_STEPS_TEXT:,})")
        try:
            steps = json.loads(steps)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"steps: not valid JSON ({exc.msg}, line {exc.lineno})"
                                    ) from None
        except (RecursionError, UnicodeDecodeError):
            raise InvalidInputError("steps: not a JSON object of layer name -> values") from None
    if not isinstance(steps, Mapping) or not steps:
        raise InvalidInputError("steps: expected a mapping of layer name -> values")
    calls: dict[str, list[LayerCall]] = {}
    for call in graph.calls:
        calls.setdefault(call.layer.name, []).append(call)
    unknown = [str(k) for k in steps if k not in calls]
    if unknown:
        raise InvalidInputError(f"steps: no layer named {terminal_text(unknown[0], 80)!r}; the "
                                f"layers are {sorted(calls)}")
    out = {}
    for name, values in steps.items():
        if len(calls[name]) > 1:
            raise InvalidInputError(f"steps: layer {name!r} is used {len(calls[name])} times "
                                    "in the model, so its values are ambiguous")
        # A size other than the layer's is judged later: a mistake (a padding left out, a
        # stride taken as 1) may give it.
        out[name] = read_numbers(values, f"steps[{name!r}]")
    return out


def _forward(graph: Graph, call: LayerCall, values: dict[str, Any],
             mistake: Mistake | None = None) -> np.ndarray:
    """The call's output from the values of its inputs (with a mistake made in it)."""
    backend = FloatBackend(np.float64)
    local = dict(values)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for i in call.nodes:
            node = graph.nodes[i]
            op = node.op
            if mistake is not None:
                op = mistake.changes.get(i, op)
                if i in mistake.after:
                    op = Then(op, mistake.after[i])
                if i in mistake.reported and node.output == call.output:
                    op = mistake.reported[i]
            backend.layer = node.layer
            local[node.output] = op.forward(backend, *[local[k] for k in node.inputs])
    return np.asarray(local[call.output], np.float64).reshape(-1)


def _local(mistake: Mistake, call: LayerCall) -> bool:
    """A mistake made in this call only (and computable from its inputs)."""
    inside = set(call.nodes)
    return (not mistake.everywhere and not mistake.swaps and not mistake.uses_batch
            and "+" not in mistake.code and bool(mistake.touched()) and mistake.touched()
            <= inside)


def check_steps(diagnoser: Diagnoser, arrays: list[np.ndarray], steps: dict[str, Numbers],
                policy: Policy, notation: Notation | None = None
                ) -> tuple[list[StepVerdict], Match | None]:
    """Each step's verdict, in execution order, and the mistake found for the first wrong step
    (``None`` if there is none, or it matches no catalogued mistake)."""
    graph = diagnoser.graph
    notation = notation or Notation()
    truth = diagnoser.run(None, arrays)[0]
    values: dict[str, Any] = {k: np.asarray(a, np.float64) for k, a in zip(graph.inputs, arrays)}
    verdicts: list[StepVerdict] = []
    first: Match | None = None
    for call in graph.calls:
        own = _forward(graph, call, values)
        name = call.layer.name
        if name in steps:
            got = steps[name]
            expected = np.asarray(truth[call.output], np.float64).reshape(-1)
            if not np.all(np.isfinite(expected)):
                raise InvalidInputError(f"the network's values for layer {name!r} are not "
                                        "finite numbers: float32 overflowed or a weight is "
                                        "NaN/Inf, so no step can be graded against them")
            if got.size != expected.size:
                verdict, match = _resized_step(diagnoser, arrays, call, got, expected, own,
                                               policy, notation)
                first = first if any(v.status == "wrong" for v in verdicts) else match
                verdicts.append(verdict)
                values[call.output] = np.asarray(own, np.float64).reshape(
                    (1,) + graph.shapes[call.output])
                continue
            verdict = _judge_step(graph, call, got, expected, own, values, diagnoser, policy,
                                  notation)
            if verdict.status == "wrong" and not any(v.status == "wrong" for v in verdicts):
                first = _first_wrong(diagnoser, arrays, call, got, steps, policy)
                if first is not None:
                    verdict = _with_diagnosis(verdict, first, notation)
            verdicts.append(verdict)
            own = got.values
        shape = (1,) + graph.shapes[call.output]
        values[call.output] = np.asarray(own, np.float64).reshape(shape)
    return verdicts, first


def _resized_step(diagnoser: Diagnoser, arrays: list[np.ndarray], call: LayerCall,
                  got: Numbers, expected: np.ndarray, own: np.ndarray, policy: Policy,
                  notation: Notation) -> tuple[StepVerdict, Match | None]:
    """A layer written with another number of values than it has: wrong, and diagnosed when
    a mistake gives exactly those values; a clear error when none does."""
    name = call.layer.name

    def pick(values: dict[str, Any], rows: slice) -> np.ndarray:
        return np.asarray(values[call.output], np.float64)[rows].reshape(1, -1)

    matches = diagnoser.matching(arrays, got, pick, policy)
    if not matches:
        raise InvalidInputError(f"steps[{name!r}]: layer {name!r} has {expected.size} "
                                f"value(s), received {got.size}")
    mistake = matches[0].mistake
    verdict = StepVerdict(name, "wrong", (), expected, got.values, own, mistake.code,
                          mistake_message(mistake, notation), ())
    return verdict, matches[0]


def _judge_step(graph: Graph, call: LayerCall, got: Numbers, expected: np.ndarray,
                own: np.ndarray, values: dict[str, Any], diagnoser: Diagnoser,
                policy: Policy, notation: Notation) -> StepVerdict:
    name = call.layer.name
    shown = notation.layer(name)
    shape = tuple(graph.shapes[call.output])
    against_truth = judge(got, expected, policy)
    against_own = judge(got, own, policy)
    base = dict(layer=name, expected=expected, got=got.values, own_expected=own,
                shown=shown if notation.sheet else "")
    if against_truth.right.all():
        return StepVerdict(status="right", wrong_units=(), code=against_truth.code or "correct",
                           message=f"the values of {shown} are the right ones.", **base)
    if against_own.right.all():
        return StepVerdict(status="consistent", wrong_units=(), code="consistent",
                           message=f"the values of {shown} are not the right ones, but they "
                           "are what the layer gives from the values written before it.",
                           **base)
    wrong = np.flatnonzero(~(against_truth.right | against_own.right))
    base["wrong_names"] = tuple(notation.entry(name, int(u), shape) for u in wrong[:64])
    from .decide import output_rounded

    if output_rounded(got, expected) and against_truth.imprecise.any():
        return StepVerdict(status="wrong", wrong_units=tuple(int(u) for u in wrong),
                           code="too_imprecise", message=f"the values of {shown} are the right "
                           f"ones rounded to fewer than the {policy.digits} significant "
                           "digits required.", **base)
    notes = _notes(graph, call, got, own, values, wrong, diagnoser, policy)
    notes = tuple(replace(n, name=notation.entry(name, n.unit, shape)) for n in notes)
    codes = {n.code for n in notes}
    if len(codes) == 1 and len(notes) == len(wrong):
        code = codes.pop()
        units = notation.entries(name, [n.unit for n in notes], shape)
        message = f"in {shown}, {units}: {code.replace('_', ' ')}."
    else:
        code, message = "unknown", (f"the values of {shown} ({notation.entries(name, wrong, shape)}"
                                    f") match none of the known mistakes.")
    return StepVerdict(status="wrong", wrong_units=tuple(int(u) for u in wrong), code=code,
                       message=message, notes=notes, **base)


def _notes(graph: Graph, call: LayerCall, got: Numbers, own: np.ndarray,
           values: dict[str, Any], wrong: np.ndarray, diagnoser: Diagnoser, policy: Policy
           ) -> tuple[UnitNote, ...]:
    """For each wrong unit, the first mistake of this layer that gives its value (from the
    student's earlier values)."""
    notes: dict[int, UnitNote] = {}
    units = 3 * got.half_units()
    for mistake in diagnoser.singles:
        if not _local(mistake, call):
            continue
        mine = _forward(graph, call, values, mistake)
        for u in wrong:
            u = int(u)
            if u in notes or mine.size != got.size:
                continue
            allowance = max(units[u], policy.atol + policy.rtol * abs(mine[u]))
            if abs(got.values[u] - mine[u]) <= allowance and abs(mine[u] - own[u]) > 0:
                notes[u] = UnitNote(u, mistake.code, float(got.values[u]), float(own[u]))
    return tuple(notes[u] for u in sorted(notes))


def _first_wrong(diagnoser: Diagnoser, arrays: list[np.ndarray], call: LayerCall,
                 got: Numbers, steps: dict[str, Numbers], policy: Policy) -> Match | None:
    """The mistake that explains the first wrong step from the input, preferring the one that
    also explains the most of the steps after it."""
    graph = diagnoser.graph

    def pick(values: dict[str, Any], rows: slice) -> np.ndarray:
        return np.asarray(values[call.output], np.float64)[rows].reshape(1, -1)

    matches = diagnoser.matching(arrays, got, pick, policy)
    if len(matches) < 2:
        return matches[0] if matches else None
    later = [c for c in graph.calls[graph.calls.index(call) + 1:] if c.layer.name in steps]

    def explained(match: Match) -> int:
        values, rows = diagnoser.run(match.mistake, arrays)
        count = 0
        for c in later:
            written = steps[c.layer.name]
            mine = np.asarray(values[c.output], np.float64)[rows].reshape(-1)
            allowance = np.maximum(3 * written.half_units(),
                                   policy.atol + policy.rtol * np.abs(mine))
            count += bool(np.all(np.abs(written.values - mine) <= allowance))
        return count

    return max(matches, key=lambda m: (explained(m), -m.error))


def _with_diagnosis(verdict: StepVerdict, match: Match, notation: Notation) -> StepVerdict:
    return replace(verdict, code=match.mistake.code,
                   message=mistake_message(match.mistake, notation))
