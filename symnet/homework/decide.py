"""The diagnosis policy: from the numbers written, the right ones and the hypotheses tried, the
verdict's code, how sure it is, and a sentence that says no more than is known.

It reads numbers only (what was written, what is right, what each hypothesis gives), so a
final answer, a layer's values, a gradient or an updated weight are judged by the same code.

Codes, in the order they are decided:

- ``correct``: within ``rtol``/``atol`` of the right value; ``rounding``: at least ``digits``
  significant digits, and the right value rounded to the digits written.
- ``too_imprecise``: the right value rounded to the digits written, with fewer digits than
  required — nothing else. A number that is not the right value rounded is never
  ``too_imprecise``, however few its digits.
- a mistake's code (``bias_omitted``...), *reproduced*: one catalogued mistake gives the
  number at the digits required (confidence ``exact``).
- ``other_variant``: the number is another student's right answer (their input, not this
  one), at the digits required (confidence ``exact``) or only at the digits written.
- ``close``: the right method, rounded too early — the network with its intermediate values
  rounded (to whole numbers, to 1–3 decimals, or to 1–3 significant digits, or cut) gives the
  number (confidence ``exact``), or the number is within ``close`` (relative) of the right value
  (confidence ``distance``: a small slip or early rounding, not told apart). The distance is
  always given.
- a pair ``a+b`` of different mistakes that gives the number (confidence ``pair``: a
  hypothesis, worded as one: two mistakes can match a number by coincidence).
- a mistake, a pair or another variant that matches only at the few digits written
  (confidence ``rounding``: worded as a possibility).
- ``unknown``: nothing tried gives the number; the distance is given.

A hypothesis that also matches but was not chosen is named in the message as an alternative
(``also``), so that a coincidence is never hidden.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .numbers import Numbers, Policy, judge, precision

__all__ = ["CONFIDENCES", "Decision", "Hypothesis", "decide", "distance_text", "fit"]

CONFIDENCES = ("certain", "exact", "distance", "pair", "rounding", "none")
"""How sure a diagnosis is: ``certain`` (a fact about the number: right, rounded, too few
digits), ``exact`` (one hypothesis reproduces the number at the digits required), ``distance``
(``close`` by distance alone), ``pair`` (only two mistakes together give it), ``rounding``
(it matches only at the few digits written), ``none`` (``unknown``)."""

_EXACT = decimal.Context(prec=2000)


@dataclass(frozen=True)
class Hypothesis:
    """Something that may explain a number: a catalogued mistake (``kind`` ``single`` or
    ``pair``), another student's variant (``variant``, ``who`` names them), or the right
    method with its intermediate values rounded early (``early``)."""

    code: str
    message: str
    """What it is, as a sentence in the notation of the exercise."""
    values: np.ndarray
    kind: str = "single"
    layers: tuple[str, ...] = ()
    who: str = ""


@dataclass(frozen=True)
class Decision:
    """The diagnosis: a code, how sure it is, the sentence, the hypothesis chosen (if any), the
    others that also match, and how far the number is from the right one."""

    code: str
    confidence: str
    message: str
    chosen: Hypothesis | None = None
    also: tuple[Hypothesis, ...] = ()
    abs_distance: float | None = None
    rel_distance: float | None = None


def fit(got: Numbers, values: np.ndarray, policy: Policy) -> str | None:
    """How a hypothesis's ``values`` fit what was written: ``exact`` (within the tolerance, or
    the values rounded to the digits written, which are at least those required),
    ``rounding`` (the values rounded to the digits written, which are fewer; or within one and
    a half units in the last digit, as a calculation rounded along the way lands), else
    ``None``."""
    values = np.asarray(values, np.float64).reshape(-1)
    if values.size != got.size or not np.all(np.isfinite(values)):
        return None
    j = judge(got, values, policy)
    if j.right.all():
        return "exact"
    half = got.half_units()
    gaps = np.abs(got.values - values)
    if np.all(j.right | (gaps <= half)) or np.all(gaps <= np.maximum(
            3 * half, policy.atol + policy.rtol * np.abs(values))):
        return "rounding"
    return None


def output_rounded(got: Numbers, expected: np.ndarray) -> bool:
    """Whether every number is the right one rounded to the last digit written (exact decimal
    arithmetic; a tie accepts both neighbours): see :func:`rounded_digits`."""
    return rounded_digits(got, expected) is not None


def rounded_digits(got: Numbers, expected: np.ndarray) -> int | None:
    """The significant digits of the right values that the numbers give, when every number is
    its right value rounded to the last digit written; ``None`` otherwise. The trailing zeros
    of a whole number may or may not have been meant (``30`` for 25.004: 25.004 rounded to one
    digit), and a zero written without decimals is the right value rounded to whole numbers
    when it is under one half."""
    fewest: int | None = None
    for d, e in zip(got.exact, np.asarray(expected, np.float64).reshape(-1)):
        if not math.isfinite(float(e)):
            return None
        exponent = int(d.as_tuple().exponent)  # type: ignore[arg-type]
        places = [exponent]
        if exponent == 0 and d != 0:
            digits = d.as_tuple().digits
            zeros = len(digits) - len(str(int(str(int(abs(d)))[::-1]))) if digits else 0
            places += [exponent + k for k in range(1, zeros + 1)]
        found = None
        for place in places:
            half = decimal.Decimal(5).scaleb(place - 1)
            if _EXACT.abs(_EXACT.subtract(d, decimal.Decimal(float(e)))) <= half:
                found = place
        if found is None:
            return None
        # digits counted from the number's first (``-10`` gives one digit of -9.75: its tens)
        shown = math.floor(math.log10(abs(float(d)))) - found + 1 if d != 0 else 0
        fewest = shown if fewest is None else min(fewest, shown)
    return fewest


def distance_text(got: np.ndarray, expected: np.ndarray) -> str:
    """``off by -1.5 (9.7 %) from -15.5``: the largest gap, absolute and relative."""
    got, expected = (np.asarray(v, np.float64).reshape(-1) for v in (got, expected))
    k = int(np.argmax(np.abs(got - expected)))
    gap = float(got[k] - expected[k])
    rel = abs(gap) / abs(float(expected[k])) if expected[k] else math.inf
    share = f" ({_percent(rel)})" if math.isfinite(rel) else ""
    where = f" in number {k + 1}" if got.size > 1 else ""
    return f"off by {gap:+.4g}{share}{where} from {float(expected[k]):.7g}"


def _percent(rel: float) -> str:
    return f"{100 * rel:.2g} %" if rel < 0.1 else f"{100 * rel:.0f} %"


def _shown(values: np.ndarray) -> str:
    arr = np.asarray(values, np.float64).reshape(-1)
    text = ", ".join(f"{v:.7g}" for v in arr[:8]) + (" ..." if arr.size > 8 else "")
    return text if arr.size == 1 else f"[{text}]"


def _written(got: Numbers) -> str:
    text = ", ".join(str(d).replace("E+", "e").replace("E", "e") for d in got.exact[:8]) + (
        " ..." if got.size > 8 else "")
    return text if got.size == 1 else f"[{text}]"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", ")")) else text + "."


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _what(h: Hypothesis) -> str:
    if h.kind == "variant":
        return f"the answer for {h.who}'s input ({_shown(h.values)})"
    if h.kind == "early":
        return f"{_lower(h.message).rstrip('.')} ({_shown(h.values)})"
    return f"{h.code.replace('_', ' ').replace('+', ' with ')} ({_shown(h.values)})"


def _near(got: Numbers, hypotheses: Sequence[Hypothesis], gap: float, policy: Policy
          ) -> list[Hypothesis]:
    """The hypotheses closer to the numbers than the right values are, and within one and a
    half units of their last digit (or the tolerance): the only ones :func:`fit` can match."""
    sized = [h for h in hypotheses if np.size(h.values) == got.size]
    if not sized:
        return []
    values = np.array([np.asarray(h.values, np.float64).reshape(-1) for h in sized])
    with np.errstate(invalid="ignore"):
        gaps = np.abs(values - got.values)
        allowance = np.maximum(3 * got.half_units(), policy.atol + policy.rtol * np.abs(values))
        keep = np.all(gaps <= allowance, axis=1) & (np.max(gaps, axis=1) < gap)
    return [h for h, k in zip(sized, keep) if k]


def _distinct(hypotheses: Sequence[Hypothesis], chosen: Hypothesis | None = None
              ) -> tuple[Hypothesis, ...]:
    """The other explanations worth naming: one per value (the first), no pair when a single
    mistake fits, none that gives what the chosen one gives."""
    singles = any(h.kind == "single" for h in hypotheses)
    mistakes = ("single", "pair")

    def group(h: Hypothesis) -> str:
        return "mistake" if h.kind in mistakes else h.kind

    seen = [] if chosen is None else [(group(chosen), np.asarray(chosen.values,
                                                                 np.float64).reshape(-1))]
    out = []
    for h in hypotheses:
        if h is chosen or (singles and h.kind == "pair"):
            continue
        v = np.asarray(h.values, np.float64).reshape(-1)
        # one per value among the mistakes; another student's answer is always named
        if any(g == group(h) and v.shape == s.shape and np.allclose(v, s, rtol=1e-9,
                                                                       atol=1e-12)
               for g, s in seen):
            continue
        seen.append((group(h), v))
        out.append(h)
    return tuple(out)


def _also(also: Sequence[Hypothesis]) -> str:
    if not also:
        return ""
    names = [_what(h) for h in also[:3]]
    more = f" and {len(also) - 3} more" if len(also) > 3 else ""
    return f" It is also what {', '.join(names)}{more} gives: the number alone cannot tell."


def decide(got: Numbers, expected: np.ndarray, policy: Policy,
           hypotheses: Sequence[Hypothesis] = (), *, hint: str = "",
           judgement: Any = None) -> Decision:
    """The diagnosis of the numbers ``got`` against the right ``expected`` ones (float64, one
    per number), given what each hypothesis gives. ``hint``: what to do to learn more (give
    the steps), in the words of the interface in use. ``judgement``: ``judge(got, expected,
    policy)`` when the caller has it already."""
    expected = np.asarray(expected, np.float64).reshape(-1)
    j = judgement if judgement is not None else judge(got, expected, policy)
    gap = float(np.max(np.abs(got.values - expected), initial=0.0))
    scale = float(np.max(np.abs(expected), initial=0.0))
    rel = gap / scale if scale else math.inf
    distance = dict(abs_distance=gap, rel_distance=rel)
    if j.within.all():
        return Decision("correct", "certain", "The answer is the right value.", **distance)
    if j.right.all():
        shown = int(precision(got, expected).min())
        return Decision("rounding", "certain", f"The answer is the right value {_shown(expected)}"
                        f" rounded to the {shown} significant digits it shows.", **distance)
    # a hypothesis no closer to the number than the right value explains nothing; the right
    # method rounded early explains a number only when it reproduces it. All of them are
    # looked at at once (a class of 100,000 distinct answers: a dozen hypotheses a row), and
    # only those near enough are fitted digit by digit.
    near = _near(got, hypotheses, gap, policy)
    fits = [(h, fit(got, h.values, policy)) for h in near]
    fits = [(h, f) for h, f in fits if f is not None and (f == "exact" or h.kind != "early")]
    exact = [h for h, f in fits if f == "exact"]
    loose = [h for h, f in fits if f == "rounding"]
    few = rounded_digits(got, expected)
    if few is not None and few < policy.digits:
        few = max(few, 0)
        places = (f"{few} significant digit{'' if few == 1 else 's'}" if few else
                  "the last place written, which keeps none of its significant digits")
        message = (f"The answer {_written(got)} is the right value {_shown(expected)} rounded "
                   f"to {places}; at least {policy.digits} significant digits are required.")
        others = _distinct(exact + loose)
        return Decision("too_imprecise", "certain", message + _also(others), also=others,
                        **distance)
    off = distance_text(got.values, expected)

    def chosen(h: Hypothesis, confidence: str, others: list[Hypothesis]) -> Decision:
        rest = _distinct(others, h)
        return Decision(h.code, confidence, _worded(h, confidence, got, off, policy, hint)
                        + _also(rest), h, rest, **distance)

    for kinds, confidence in ((("single",), "exact"), (("variant",), "exact"),
                              (("early",), "exact")):
        found = [h for h in exact if h.kind in kinds]
        if found:
            return chosen(found[0], confidence, exact + loose)
    if rel <= policy.close:
        message = (f"The answer is close: {off}, within the {_percent(policy.close)} counted as "
                   "close. The method looks right; the number is not: a value rounded too "
                   "early, or a small slip in the arithmetic.")
        if hint:
            message += f" {hint}"
        others = _distinct(exact + loose)
        return Decision("close", "distance", message + _also(others), None, others,
                        **distance)
    pairs = [h for h in exact if h.kind == "pair"]
    if pairs:
        return chosen(pairs[0], "pair", exact + loose)
    if loose:
        order = {"single": 0, "variant": 1, "early": 2, "pair": 3}
        best = sorted(loose, key=lambda h: order.get(h.kind, 9))[0]
        return chosen(best, "rounding", loose)
    message = f"The answer matches none of the mistakes tried: {off}."
    if hint:
        message += f" {hint}"
    return Decision("unknown", "none", message, **distance)


def _worded(h: Hypothesis, confidence: str, got: Numbers, off: str, policy: Policy,
            hint: str) -> str:
    """The sentence for a chosen hypothesis, as sure as its confidence and no surer."""
    value = _shown(h.values)
    if h.kind == "variant":
        if confidence == "exact":
            return (f"The answer is the right answer for another student's input: {h.who} "
                    f"({value}), not for this input ({off}). Check the input used; a copied "
                    "answer gives this too.")
        return (f"Perhaps the answer for another student's input: {h.who}'s is {value}, which "
                f"matches {_written(got)} only at the digits written ({off}).")
    if h.kind == "early":
        if confidence == "exact":
            return (f"The answer is close: {off}. The method looks right: "
                    f"{_lower(h.message.rstrip('.'))} gives exactly {value}, so values "
                    f"were probably rounded too early. Keep at least {policy.digits + 1} "
                    "significant digits until the end.")
        return (f"Perhaps values rounded too early: {_lower(h.message).rstrip('.')} gives "
                f"{value}, which matches only at the digits written ({off}).")
    message = _sentence(h.message)
    if confidence == "exact":
        return f"Reproduced exactly by one mistake (it gives {value}): {_lower(message)}"
    if confidence == "pair":
        return (f"Possibly two mistakes together: {_lower(message)} No single mistake gives "
                f"{_written(got)}; these two together give {value}, which may be a coincidence."
                + (f" {hint}" if hint else ""))
    how = ("only at the digits written" if np.all(np.abs(got.values - np.asarray(
        h.values, np.float64).reshape(-1)) <= got.half_units()) else
        "only approximately (within one and a half units of the last digit written)")
    return (f"Perhaps: {_lower(message)} It gives {value}, which matches {_written(got)} {how}; "
            "more digits would tell." + (f" {hint}" if hint else ""))
