"""Which catalogued mistake gives the numbers someone wrote: for one sample or a whole class.

Every mistake of the catalogue (each in one place, each everywhere it applies) is run on the
inputs of every answer still to explain, all rows at once; the rows one of them matches take the
closest. Pairs of different mistakes are tried only for the rows no single mistake explains.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ..backends import FloatBackend
from ..graph import Graph, run_nodes
from .mistakes import Mistake, catalogue, pairs
from .numbers import Numbers, Policy

__all__ = ["EARLY_ROUNDINGS", "Diagnoser", "Match", "RoundingBackend"]

#: Seconds one search (a class chunk, or one answer) may spend trying mistakes.
TIME_LIMIT = 30.0

Pick = Callable[[dict[str, Any], slice], np.ndarray]
"""From a run's values and the rows of the samples: the numbers to compare, one row each."""


#: How a hand calculation rounds its intermediate values too early: (words, how, places).
#: ``decimals``: to that many decimals (0: whole numbers); ``digits``: to that many
#: significant digits; ``cut``: cut (truncated) after that many decimals.
EARLY_ROUNDINGS = (("whole numbers", "decimals", 0), ("1 decimal", "decimals", 1),
                   ("2 decimals", "decimals", 2), ("3 decimals", "decimals", 3),
                   ("2 significant digits", "digits", 2), ("3 significant digits", "digits", 3),
                   ("1 decimal, cut rather than rounded", "cut", 1),
                   ("2 decimals, cut rather than rounded", "cut", 2),
                   ("3 decimals, cut rather than rounded", "cut", 3))


class RoundingBackend(FloatBackend):
    """float64, with the output of every activation rounded as a hand calculation that rounds
    too early does (a ReLU's output, each tanh state of a recurrence), except in the layers
    that make the answer itself."""

    def __init__(self, how: str, places: int, keep: frozenset[str]) -> None:
        super().__init__(np.float64)
        self.how, self.places, self.keep = how, places, keep

    def map(self, fn: Any, x: np.ndarray) -> np.ndarray:
        out = super().map(fn, x)
        if self.layer in self.keep:
            return out
        return rounded(out, self.how, self.places)


def rounded(values: np.ndarray, how: str, places: int) -> np.ndarray:
    """``values`` rounded (half away from zero, as by hand) or cut, see
    :data:`EARLY_ROUNDINGS`."""
    values = np.asarray(values, np.float64)
    if how == "digits":
        with np.errstate(divide="ignore", invalid="ignore"):
            magnitude = np.where(values != 0, np.floor(np.log10(np.abs(values))), 0)
        scale = 10.0 ** (places - 1 - magnitude)
    else:
        scale = np.full(values.shape, 10.0 ** places)
    scaled = values * scale
    whole = np.trunc(scaled) if how == "cut" else np.sign(scaled) * np.floor(
        np.abs(scaled) + 0.5)
    return whole / scale


@dataclass(frozen=True)
class Match:
    mistake: Mistake
    values: np.ndarray
    """What the mistake gives for this row."""
    error: float


class Diagnoser:
    """The catalogue of one network, run on demand.

    Args:
        graph: the network.
        batch: rows a student may have taken BatchNorm's batch statistics from (``None``: no
            mistake that needs them is tried).
    """

    def __init__(self, graph: Graph, batch: np.ndarray | None = None,
                 time_limit: float = TIME_LIMIT) -> None:
        self.graph = graph
        self.batch = batch
        self.time_limit = time_limit
        self.stopped = False
        """Whether a search ran out of time before every mistake and pair was tried."""
        self.singles = catalogue(graph, None if batch is None else len(batch))
        # one backend for every run: it converts each weight array to float64 once, not once
        # per mistake (the seed MLP's 718,270 weights, 700 times)
        self.backend = FloatBackend(np.float64)

    @cached_property
    def pairs(self) -> list[Mistake]:
        return pairs(self.singles)

    def run(self, mistake: Mistake | None, arrays: list[np.ndarray],
            truth: dict[str, Any] | None = None) -> tuple[dict[str, Any], slice]:
        """Every tensor with ``mistake`` made, and the rows of ``arrays`` in them. With
        ``truth`` (the right run of the same arrays), the nodes before the first one the
        mistake changes are not run again: their values are the right ones."""
        rows = len(arrays[0])
        if mistake is None:
            return self.graph.run(self.backend, arrays), slice(0, rows)
        nodes = mistake.nodes(self.graph)
        if self.batch is not None and mistake.uses_batch:
            stacked = [np.concatenate([self.batch, arrays[0]], axis=0)]
            return _as_far_as(nodes, self.graph.inputs, self.backend, stacked), slice(
                len(self.batch), len(self.batch) + rows)
        start = _first_changed(mistake, self.graph)
        if truth is None or start == 0:
            return _as_far_as(nodes, self.graph.inputs, self.backend, arrays), slice(0, rows)
        known = {n.output for n in self.graph.nodes[:start]} | set(self.graph.inputs)
        needed = sorted({k for n in nodes[start:] for k in n.inputs if k in known})
        values = dict(truth)
        values.update(_as_far_as(nodes[start:], needed, self.backend,
                                 [truth[k] for k in needed]))
        for node in nodes[start:]:  # what the mistake could not reach is not the right value
            if node.output not in values or values[node.output] is truth.get(node.output):
                values.pop(node.output, None)
        return values, slice(0, rows)

    def candidates(self, arrays: list[np.ndarray], got: list[Numbers], pick: Pick,
                   policy: Policy, *, final: bool = True) -> list[list[Match]]:
        """For each row, every catalogued mistake whose numbers match what was written (within
        the tolerance, or one and a half units in the last digit written) and are closer to it
        than the right numbers, closest first: the single mistakes, and the pairs for the rows
        that no single mistake reproduces at the digits required (:func:`decide.fit`).
        ``final``: the numbers are a final answer (mistakes that change only what is written
        for a layer are not tried)."""
        from .decide import fit

        found: list[list[Match]] = [[] for _ in got]
        deadline = time.monotonic() + self.time_limit
        truth = np.asarray(pick(*self.run(None, arrays)), np.float64).reshape(len(got), -1)
        todo = np.arange(len(got))
        for use_pairs in (False, True):
            if not todo.size:
                break
            candidates = self.pairs if use_pairs else self.singles
            subset = [a[todo] for a in arrays]
            right = self.run(None, subset)[0]
            written, units = _matrix([got[i] for i in todo])
            # a mistake that gives the right numbers here explains nothing
            right_gap = np.max(np.abs(written - truth[todo]), axis=1, initial=0.0)
            for mistake in candidates:
                if final and mistake.changes_reported_only:
                    continue
                if time.monotonic() > deadline:
                    self.stopped = True
                    break
                values, rows = self.run(mistake, subset, right)
                try:
                    mine = np.asarray(pick(values, rows), np.float64).reshape(len(todo), -1)
                except KeyError:  # the mistake changed a shape the network cannot go on with
                    continue
                if mine.shape != written.shape:
                    continue
                gaps = np.abs(written - mine)
                allowance = np.maximum(units, policy.atol + policy.rtol * np.abs(mine))
                errors = np.max(gaps, axis=1, initial=0.0)
                matched = np.all(gaps <= allowance, axis=1) & (errors < right_gap)
                for k in np.flatnonzero(matched):
                    found[int(todo[k])].append(Match(mistake, mine[k], float(errors[k])))
            for row in found:
                row.sort(key=lambda m: m.error)
            todo = np.array([i for i in todo if not any(
                fit(got[i], m.values, policy) == "exact" for m in found[i])], dtype=int)
        return found

    def early(self, arrays: list[np.ndarray], pick: Pick) -> list[tuple[str, np.ndarray]]:
        """The right calculation with its intermediate values rounded too early, in each way
        of :data:`EARLY_ROUNDINGS`: (the words, one row of numbers per sample)."""
        keep = frozenset(self.graph.nodes[i].layer for i in _last_node_indices(self.graph))
        out = []
        for words, how, places in EARLY_ROUNDINGS:
            values = self.graph.run(RoundingBackend(how, places, keep), arrays)
            out.append((words, np.asarray(pick(values, slice(0, len(arrays[0]))), np.float64)
                        .reshape(len(arrays[0]), -1)))
        return out

    def matching(self, arrays: list[np.ndarray], got: Numbers, pick: Pick, policy: Policy
                 ) -> list[Match]:
        """Every mistake that matches one sample's numbers: the singles, or if none, the
        pairs; closest first."""
        written, units = _matrix([got])
        right = self.run(None, arrays)[0]
        truth = np.asarray(pick(right, slice(0, 1)), np.float64).reshape(1, -1)
        right_gap = (float(np.max(np.abs(written - truth), initial=0.0))
                     if truth.shape == written.shape else np.inf)
        deadline = time.monotonic() + self.time_limit
        for candidates in (self.singles, self.pairs):
            out = []
            for mistake in candidates:
                if time.monotonic() > deadline:
                    self.stopped = True
                    break
                values, rows = self.run(mistake, arrays, right)
                try:
                    mine = np.asarray(pick(values, rows), np.float64).reshape(1, -1)
                except KeyError:
                    continue
                if mine.shape != written.shape:
                    continue
                gaps = np.abs(written - mine)
                if np.all(gaps <= np.maximum(units, policy.atol + policy.rtol * np.abs(mine))) \
                        and gaps.max(initial=0.0) < right_gap:
                    out.append(Match(mistake, mine[0], float(gaps.max(initial=0.0))))
            if out:
                return sorted(out, key=lambda m: m.error)
        return []


def _as_far_as(nodes: Any, inputs: Any, backend: Any, arrays: list[Any]) -> dict[str, Any]:
    """The nodes run in order until one cannot take what it is given (a mistake that changes a
    shape, as a padding left out): the values computed up to there."""
    try:
        return run_nodes(nodes, inputs, backend, arrays)
    except (ValueError, IndexError):
        values = {name: backend.inputs(a) for name, a in zip(inputs, arrays)}
        with np.errstate(all="ignore"):
            for node in nodes:
                try:
                    values[node.output] = node.op.forward(backend, *[values[k]
                                                                     for k in node.inputs])
                except (ValueError, IndexError, KeyError):
                    break
        return values


def _last_node_indices(graph: Graph) -> set[int]:
    from .mistakes import _last_nodes

    return _last_nodes(graph)


def _first_changed(mistake: Mistake, graph: Graph) -> int:
    """The index of the first node the mistake changes (the nodes before it are right)."""
    touched = set(mistake.touched())
    for first, _ in mistake.swaps:
        touched |= set(first.nodes)
    return min(touched, default=0)


def _matrix(got: list[Numbers]) -> tuple[np.ndarray, np.ndarray]:
    """What was written, one row per sample, and the allowance of each number for a rounded
    hand calculation: one and a half units in its last digit."""
    sizes = {g.size for g in got}
    if len(sizes) != 1:
        raise ValueError("rows of different sizes")
    return (np.stack([g.values for g in got]), np.stack([3 * g.half_units() for g in got]))
