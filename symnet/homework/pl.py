"""Continuous piecewise-linear functions of one variable, in exact rational arithmetic.

What decides whether a formula such as ``max(0, x) + max(0, 1 - 3*abs(max(0, x) - 1))`` is a
network: both become a :class:`PL` — breakpoints and one affine law per interval between them,
every number a ``Fraction`` — and two such functions are equal exactly when their laws agree on
every interval of the merged breakpoints (both being continuous, the values at the breakpoints
then agree too).

A formula is read recursively: ``max``/``min`` of several functions take, on each interval where
all are affine, the upper (lower) envelope of their laws, found by a sweep from the left end;
``abs(f)`` is ``max(f, -f)``. So the kinks of nested ``max``, ``min`` and ``abs`` are found where
they are, at any depth. Work is bounded: more than :data:`MAX_PIECES` pieces, or the deadline
passed, raises :class:`TooComplex`.
"""

from __future__ import annotations

import bisect
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy as sp

__all__ = ["MAX_PIECES", "PL", "NotPiecewiseLinear", "TooComplex", "from_expression"]

MAX_PIECES = 100_000

Law = tuple[Fraction, Fraction]
"""``(slope, intercept)``: ``x ↦ slope·x + intercept``."""


class NotPiecewiseLinear(Exception):
    """The expression is not a piecewise-linear function with rational coefficients."""


class TooComplex(Exception):
    """More pieces than :data:`MAX_PIECES`, or the deadline passed."""


@dataclass(frozen=True)
class Budget:
    """When to give up: a moment (``time.monotonic``) and a number of pieces."""

    deadline: float
    pieces: int = MAX_PIECES

    def check(self, pieces: int) -> None:
        if pieces > self.pieces:
            raise TooComplex(f"more than {self.pieces:,} linear pieces")
        if time.monotonic() > self.deadline:
            raise TooComplex("the time allowed ran out")


@dataclass(frozen=True)
class PL:
    """A continuous piecewise-linear function on the reals: ``laws[0]`` left of ``cuts[0]``,
    ``laws[i]`` on ``[cuts[i-1], cuts[i]]``, ``laws[-1]`` right of ``cuts[-1]``."""

    cuts: tuple[Fraction, ...]
    laws: tuple[Law, ...]

    @staticmethod
    def affine(slope: Fraction, intercept: Fraction) -> PL:
        return PL((), ((Fraction(slope), Fraction(intercept)),))

    def law_on(self, low: Fraction | None, high: Fraction | None) -> Law:
        """The law on an interval that no cut lies strictly inside."""
        if low is None:
            return self.laws[0]
        return self.laws[bisect.bisect_right(self.cuts, low)]

    def __call__(self, x: Fraction) -> Fraction:
        slope, intercept = self.laws[bisect.bisect_left(self.cuts, x)]
        return slope * x + intercept

    def scaled(self, c: Fraction) -> PL:
        return PL(self.cuts, tuple((c * a, c * b) for a, b in self.laws)).merged()

    def merged(self) -> PL:
        """The same function without cuts between equal laws."""
        cuts: list[Fraction] = []
        laws = [self.laws[0]]
        for cut, law in zip(self.cuts, self.laws[1:]):
            if law != laws[-1]:
                cuts.append(cut)
                laws.append(law)
        return PL(tuple(cuts), tuple(laws))


def intervals(cuts: Sequence[Fraction]) -> list[tuple[Fraction | None, Fraction | None]]:
    """The intervals between sorted cuts (``None``: an infinite end)."""
    ends: list[Fraction | None] = [None, *cuts, None]
    return list(itertools.pairwise(ends))


def _union(functions: Sequence[PL], budget: Budget) -> tuple[Fraction, ...]:
    cuts = sorted(set().union(*(f.cuts for f in functions)))
    budget.check(len(cuts))
    return tuple(cuts)


def add(functions: Sequence[PL], budget: Budget) -> PL:
    cuts = _union(functions, budget)
    laws = []
    for low, high in intervals(cuts):
        pairs = [f.law_on(low, high) for f in functions]
        laws.append((sum((a for a, _ in pairs), Fraction(0)),
                     sum((b for _, b in pairs), Fraction(0))))
    return PL(cuts, tuple(laws)).merged()


def envelope(functions: Sequence[PL], budget: Budget, upper: bool = True) -> PL:
    """``max`` (``upper``) or ``min`` of the functions."""
    if not upper:
        return envelope([f.scaled(Fraction(-1)) for f in functions], budget).scaled(
            Fraction(-1))
    cuts: list[Fraction] = []
    laws: list[Law] = []
    for low, high in intervals(_union(functions, budget)):
        found = _upper_envelope([f.law_on(low, high) for f in functions], low, high)
        for cut, law in found:
            if cut is not None:
                cuts.append(cut)
            laws.append(law)
        budget.check(len(cuts))
        if high is not None:
            cuts.append(high)
    # each interval's first law follows the cut that ends the interval before
    return PL(tuple(cuts), tuple(laws)).merged()


def _upper_envelope(laws: list[Law], low: Fraction | None, high: Fraction | None
                    ) -> list[tuple[Fraction | None, Law]]:
    """The upper envelope of affine laws on ``(low, high)``: ``[(None, first law), (cut,
    next law), ...]``. A sweep from the left end: from the law on top, move to the law of
    greater slope that overtakes it first."""
    unique = sorted(set(laws))
    if low is None:  # far left, the smallest slope is on top (then the largest intercept)
        current = min(unique, key=lambda law: (law[0], -law[1]))
    else:  # at low, the largest value (then the largest slope: it stays on top after low)
        current = max(unique, key=lambda law: (law[0] * low + law[1], law[0]))
    out: list[tuple[Fraction | None, Law]] = [(None, current)]
    position = low
    while True:
        best: tuple[Fraction, Fraction, Law] | None = None
        a, b = current
        for law in unique:
            if law[0] <= a:
                continue
            t = (b - law[1]) / (law[0] - a)
            if (position is not None and t <= position) or (high is not None and t >= high):
                continue
            if best is None or (t, -law[0]) < (best[0], -best[1]):
                best = (t, law[0], law)
        if best is None:
            return out
        position, current = best[0], best[2]
        out.append((position, current))


def from_expression(expr: Any, x: sp.Symbol, budget: Budget) -> PL:
    """The formula as a :class:`PL`; :class:`NotPiecewiseLinear` when it is not one with
    rational coefficients (``pi·x``, ``x²``, ``exp(x)``...)."""
    if expr == x:
        return PL.affine(Fraction(1), Fraction(0))
    if not expr.has(x):  # a constant: max/min of numbers are kept unevaluated by the parser
        value = expr.doit()
        if not value.is_Rational:
            raise NotPiecewiseLinear(str(expr))
        return PL.affine(Fraction(0), Fraction(int(value.p), int(value.q)))
    if isinstance(expr, sp.Add):
        return add([from_expression(a, x, budget) for a in expr.args], budget)
    if isinstance(expr, sp.Mul):
        constant = [a for a in expr.args if not a.has(x)]
        varying = [a for a in expr.args if a.has(x)]
        factor = sp.Mul(*constant)
        if len(varying) != 1 or not factor.is_Rational:
            raise NotPiecewiseLinear(str(expr))
        return from_expression(varying[0], x, budget).scaled(
            Fraction(int(factor.p), int(factor.q)))
    if isinstance(expr, (sp.Max, sp.Min)):
        parts = [from_expression(a, x, budget) for a in expr.args]
        return envelope(parts, budget, upper=isinstance(expr, sp.Max))
    if isinstance(expr, sp.Abs):
        inner = from_expression(expr.args[0], x, budget)
        return envelope([inner, inner.scaled(Fraction(-1))], budget)
    raise NotPiecewiseLinear(str(expr))
