"""The sheet's stages judged one by one, with follow-through credit: each stage against the
key, and against what it is computed from the values the student wrote before it."""

from __future__ import annotations

from typing import Any

import numpy as np

from .decide import output_rounded
from .key import ExerciseKey
from .notation import Notation
from .numbers import Numbers, Policy, judge, precision, read_numbers

__all__ = ["judge_stages", "stage_status"]


def stage_status(got: Numbers, right: np.ndarray, own: np.ndarray, policy: Policy
                 ) -> tuple[str, np.ndarray]:
    """``right``, ``consistent`` (the stage computed from the student's own earlier values),
    ``too_imprecise`` (the right values rounded to the digits written, too few of them) or
    ``wrong``; and the entries neither right nor consistent."""
    against_right = judge(got, right, policy)
    if against_right.right.all():
        return "right", np.array([], int)
    against_own = judge(got, own, policy)
    if against_own.right.all():
        return "consistent", np.array([], int)
    wrong = np.flatnonzero(~(against_right.right | against_own.right))
    if output_rounded(got, right) and int(precision(got, right).min()) < policy.digits:
        return "too_imprecise", wrong
    return "wrong", wrong


def judge_stages(key: ExerciseKey, net: Any, x: np.ndarray, written: dict[str, Numbers],
                 answer: str | None, policy: Policy, notation: Notation
                 ) -> tuple[dict[str, str], str | None, float]:
    """Each stage given (and the answer): its status; the first wrong one as the sheet names
    it, with its wrong entries; the share of stages right or consistent."""
    right = key.recompute(net, x, {})
    own = key.recompute(net, x, {k: np.asarray(v.values, np.float64) for k, v in
                                 written.items()})
    statuses: dict[str, str] = {}
    first = None
    for stage in key.stages:
        if stage.key == "y":
            if answer is None:
                continue
            got = read_numbers(answer, "answer")
        elif stage.key in written:
            got = written[stage.key]
        else:
            continue
        status, wrong = stage_status(got, right[stage.key], own[stage.key], policy)
        statuses[stage.key] = status
        if status in ("wrong", "too_imprecise") and first is None:
            names = [stage.entries[i] for i in wrong[:8] if i < len(stage.entries)]
            first = stage.text + (f" ({', '.join(names)})" if names and len(
                stage.entries) > 1 else "") + (": too few digits" if status == "too_imprecise"
                                               else "")
    score = sum(s in ("right", "consistent") for s in statuses.values()) / max(len(statuses), 1)
    del notation
    return statuses, first, score
