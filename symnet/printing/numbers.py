"""Numbers as people read them: ``digits`` significant digits, trailing zeros dropped, and
scientific notation written as a textbook writes it (``7.88 \\times 10^{-18}`` in LaTeX,
``7.88e-18`` in plain text). Every printer of symnet rounds through here, so a number has the
same digits in every format and place."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["DEFAULT_DIGITS", "default_digits", "get_printoptions", "number_html", "number_latex",
           "number_parts", "number_text", "set_printoptions"]

DEFAULT_DIGITS = 7
"""Significant digits shown when none are asked for: what a float32 holds."""

_OPTIONS: dict[str, int | None] = {"digits": None}


def set_printoptions(*, digits: int | None = None) -> None:
    """Set the significant digits every number is shown with when a report, a display in
    Jupyter or a summary is not told otherwise (``None``: back to 7, what a float32 holds)."""
    if digits is not None:
        check_digits(digits)
    _OPTIONS["digits"] = digits


def get_printoptions() -> dict[str, int]:
    """The print options in force: ``{"digits": ...}``."""
    return {"digits": default_digits()}


def default_digits() -> int:
    """The digits shown when none are asked for (:func:`set_printoptions`)."""
    return _OPTIONS["digits"] or DEFAULT_DIGITS


def check_digits(digits: object) -> int:
    """``digits`` if it is a whole number from 1 to 17 (what a float64 holds), else a
    ``ValueError`` saying so."""
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 17:
        raise ValueError(f"digits must be a whole number from 1 to 17, received {digits!r}")
    return digits


def number_parts(v: Any, digits: int = DEFAULT_DIGITS) -> tuple[str, int | None]:
    """``v`` rounded to ``digits`` significant digits as (mantissa, power of ten): ``("7.88",
    -18)`` for 7.881958e-18, ``("25.00466", None)`` for a number shown without a power.
    Infinities are ``("inf", None)`` / ``("-inf", None)``, NaN ``("nan", None)``."""
    if digits < 1:
        raise ValueError(f"digits must be at least 1, received {digits}")
    f = float(v)
    if math.isnan(f):
        return "nan", None
    if math.isinf(f):
        return ("inf" if f > 0 else "-inf"), None
    shown = f"{f:.{digits}g}"
    if "e" not in shown:
        return ("0" if shown == "-0" else shown), None
    mantissa, power = shown.split("e")
    return mantissa, int(power)


def number_text(v: Any, digits: int = DEFAULT_DIGITS) -> str:
    """Plain text: ``25.00466``, ``7.88e-18``, ``nan``."""
    mantissa, power = number_parts(v, digits)
    return mantissa if power is None else f"{mantissa}e{power:+03d}"


def number_latex(v: Any, digits: int = DEFAULT_DIGITS) -> str:
    """LaTeX (math mode): ``25.00466``, ``7.88 \\times 10^{-18}``, ``\\infty``."""
    mantissa, power = number_parts(v, digits)
    special = {"inf": r"\infty", "-inf": r"-\infty", "nan": r"\mathrm{NaN}"}
    if mantissa in special:
        return special[mantissa]
    if power is None:
        return mantissa
    return rf"{mantissa} \times 10^{{{power}}}"


def number_html(v: Any, digits: int = DEFAULT_DIGITS) -> str:
    """HTML text: ``25.00466``, ``7.88×10<sup>−18</sup>``, with a true minus sign in the
    power."""
    mantissa, power = number_parts(v, digits)
    if power is None:
        return mantissa
    return f"{mantissa}×10<sup>{str(power).replace('-', '−')}</sup>"
