"""The numbers someone computed, the digits they show, and the rounding policy a teacher sets.

An answer is *correct* when it is within ``rtol``/``atol`` of the network's output, or when it
shows at least ``digits`` significant digits and equals the output rounded to the digits it
shows (``rounding``). An answer that shows fewer digits than required is not correct
(``too_imprecise``), however it rounds: for 25.00466 and ``digits=3``, ``30``, ``25`` and
``25.1`` are not correct, ``25.0`` and ``25.005`` are.

The digits an answer shows are counted against the output: from the output's first
significant digit down to the last digit written. ``25.0`` gives 3 digits of 25.00466,
``2500`` gives 4 of 2499.7 (its zeros were written), ``2.5e3`` gives 2, and ``-10`` gives one
digit of -9.75 (it is -9.75 rounded to the tens), however many it has. A Python float shows
the digits of its shortest ``repr`` (``25.0``: three); an int its digits. A zero is exact: it
is right only within the tolerance. The comparison with the rounded output is made in exact
decimal arithmetic, so a tie (-9.75 to two digits) accepts both neighbours, -9.7 and -9.8.
"""

from __future__ import annotations

import decimal
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidInputError

__all__ = ["Numbers", "Policy", "judge", "read_numbers"]

MAX_DIGITS = 17


@dataclass(frozen=True)
class Policy:
    """What a teacher accepts: ``digits`` significant digits at least (answers that show
    fewer are ``too_imprecise``), and ``rtol``/``atol``, the tolerance beyond rounding."""

    digits: int = 3
    rtol: float = 1e-4
    atol: float = 1e-6
    close: float = 0.01
    """A wrong number within this relative distance of the right one is ``close``."""

    def __post_init__(self) -> None:
        if isinstance(self.digits, bool) or not isinstance(self.digits, (int, np.integer)) \
                or not 1 <= self.digits <= MAX_DIGITS:
            raise InvalidInputError(f"digits must be a whole number from 1 to {MAX_DIGITS}, "
                                    f"received {self.digits!r}")
        for name in ("rtol", "atol", "close"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
                    or not math.isfinite(value) or not 0 <= value < 1:
                raise InvalidInputError(f"{name} must be a number in [0, 1), received "
                                        f"{value!r}")

    def describe(self) -> str:
        return (f"within rtol={self.rtol:g}, atol={self.atol:g}, or rounded, showing at least "
                f"{self.digits} significant digit{'s' if self.digits > 1 else ''}")


@dataclass(frozen=True, eq=False)
class Numbers:
    """Numbers as someone wrote them: their values, the significant digits each shows, and
    the half unit in the last digit shown (exact decimals)."""

    values: np.ndarray
    digits: np.ndarray
    exact: tuple[decimal.Decimal, ...]

    @property
    def size(self) -> int:
        return int(self.values.size)

    def half_units(self) -> np.ndarray:
        return np.array([float(_half_unit(d)) for d in self.exact])


def _half_unit(d: decimal.Decimal) -> decimal.Decimal:
    if d == 0:  # a zero is exact: only 0 rounds to it
        return decimal.Decimal(0)
    return decimal.Decimal(5).scaleb(d.as_tuple().exponent - 1)  # type: ignore[operator]


def _significant(d: decimal.Decimal) -> int:
    if d == 0:  # "0" is a definite value, right or wrong, never an imprecise one
        return MAX_DIGITS
    digits = d.as_tuple().digits
    shown = len(digits) - next((i for i, v in enumerate(digits) if v), len(digits))
    return max(1, shown)


def read_numbers(value: Any, what: str) -> Numbers:
    """Values and the digits they show, from numbers, a sequence, or text (``"1.5, -2"``)."""
    if isinstance(value, str):
        if len(value) > 1_000_000:
            raise InvalidInputError(f"{what}: {len(value):,} characters is too long")
        items: list[Any] = [v for v in value.replace(";", ",").split(",") if v.strip()]
    else:
        try:
            items = list(np.asarray(value, dtype=object).reshape(-1))
        except (TypeError, ValueError):
            raise InvalidInputError(f"{what}: expected numbers, received "
                                    f"{type(value).__name__}") from None
    numbers, digits, exact = [], [], []
    for item in items:
        d = _decimal(item, what)
        numbers.append(float(d))
        digits.append(_significant(d))
        exact.append(d)
    if not numbers:
        raise InvalidInputError(f"{what}: no number given")
    return Numbers(np.array(numbers), np.array(digits), tuple(exact))


#: Enough digits for any float64 and any number written: differences are exact.
_EXACT = decimal.Context(prec=2000)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _decimal(item: Any, what: str) -> decimal.Decimal:
    from ..escape import terminal_text

    if type(item) is str:  # the common case (a class CSV): no check against numpy's types
        text = item.strip()
    elif isinstance(item, (bool, np.bool_)) or not isinstance(
            item, (str, int, float, np.integer, np.floating, decimal.Decimal)):
        raise InvalidInputError(f"{what}: expected numbers, received {terminal_text(item, 80)!r}")
    elif isinstance(item, (float, np.floating)):
        text = repr(float(item))
    elif isinstance(item, (int, np.integer)):
        text = str(int(item))
    else:
        text = str(item).strip()
    if not _DECIMAL.fullmatch(text):
        raise InvalidInputError(f"{what}: expected a number such as 24.6, -3 or 1.5e-3, "
                                f"received {terminal_text(text, 80)!r}")
    d = decimal.Decimal(text)  # exact, whatever its size
    if not d.is_finite() or abs(d) > decimal.Decimal("1e300") or (
            d != 0 and abs(d) < decimal.Decimal("1e-300")):
        raise InvalidInputError(f"{what}: {terminal_text(text, 80)!r} is out of range (a "
                                "number of size 1e-300 to 1e300, or 0)")
    return d


@dataclass(frozen=True)
class Judgement:
    """How numbers compare with the expected ones, element by element."""

    within: np.ndarray
    """Within ``rtol``/``atol``."""
    rounded: np.ndarray
    """Showing enough digits, and the expected value rounded to them."""
    imprecise: np.ndarray
    """Not within tolerance and giving fewer digits than required."""
    shown: np.ndarray
    """The significant digits of the expected value each number gives."""

    @property
    def right(self) -> np.ndarray:
        return self.within | self.rounded

    @property
    def code(self) -> str | None:
        """``correct``, ``rounding``, ``too_imprecise``, or ``None`` (wrong)."""
        if self.within.all():
            return "correct"
        if self.right.all():
            return "rounding"
        if self.imprecise.any() and (self.right | self.imprecise).all():
            return "too_imprecise"
        return None


def judge(got: Numbers, expected: np.ndarray, policy: Policy) -> Judgement:
    """Compare what was written with the expected values (float64, one per number)."""
    expected = np.asarray(expected, np.float64).reshape(-1)
    within = np.abs(got.values - expected) <= policy.atol + policy.rtol * np.abs(expected)
    shown = precision(got, expected)
    rounded = np.zeros(got.size, bool)
    for i, (d, e) in enumerate(zip(got.exact, expected)):
        if shown[i] >= policy.digits and math.isfinite(float(e)):
            # exact: the float's own decimal value, against half a unit in the last digit
            gap = _EXACT.abs(_EXACT.subtract(d, decimal.Decimal(float(e))))
            rounded[i] = gap <= _half_unit(d)
    imprecise = ~within & (shown < policy.digits)
    return Judgement(within, rounded, imprecise, shown)


def precision(got: Numbers, expected: np.ndarray) -> np.ndarray:
    """How many significant digits *of the expected value* each number gives: from the
    expected value's first digit to the last digit written (``-10`` gives one digit of
    -9.75, ``-9.7`` two, ``2500`` four of 2499.7). A zero is exact; against an expected 0, a
    number gives the digits it shows."""
    out = got.digits.copy()
    for i, (d, e) in enumerate(zip(got.exact, expected)):
        if d != 0 and e != 0 and math.isfinite(float(e)):
            last = d.as_tuple().exponent
            out[i] = math.floor(math.log10(abs(float(e)))) - int(last) + 1  # type: ignore
    return out
