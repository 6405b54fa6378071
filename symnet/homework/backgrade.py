"""Grading a backpropagation exercise: what a student wrote on the sheet (the stages' keys,
``d2``, ``dW2``, ``newW2``... and the final answer ``E′``) checked as ``symnet.check(...,
gradients=, updated=)`` checks a backpropagation, in the sheet's notation, with the target, the
loss and the learning rate of the exercise's key, and the other students' numbers to recognise
a copied answer (``other_variant``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .backprop import Part
from .backprop_design import PARTS, Backprop
from .key import ExerciseKey
from .notation import Notation
from .numbers import Numbers, Policy
from .variants import input_key
from .verdict import Verdict

__all__ = ["check_exercise", "exercise_parts", "sheet_verdict"]


def _written(numbers: Numbers) -> list[str]:
    """Numbers as the student wrote them (their digits count)."""
    return [str(d) for d in numbers.exact]


def exercise_parts(given: Mapping[str, Any], default: str = "gradients"
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Stage key (``d2``, ``newW1``, ``E``; ``y`` or ``answer`` for ``E′``) or a part's own
    name (which goes to ``default``) -> values, as the ``gradients`` and ``updated`` of
    :func:`symnet.check`."""
    gradients: dict[str, Any] = {}
    updated: dict[str, Any] = {}
    for name, values in given.items():
        stage = "y" if name == "answer" else name
        if stage in PARTS:
            kind, part = PARTS[stage]
            (updated if kind == "updated" else gradients)[part or "loss"] = values
        else:
            (updated if default == "updated" else gradients)[name] = values
    return gradients, updated


def _other_students(key: ExerciseKey, x: np.ndarray) -> dict[Part, list[tuple[str, np.ndarray]]]:
    own = input_key(x)
    out: dict[Part, list[tuple[str, np.ndarray]]] = {}
    for v in key.variants:
        if input_key(v.input) == own:
            continue
        who = v.student or "the exercise's own input"
        for stage, values in v.stages.items():
            if stage in PARTS:
                out.setdefault(Part(*PARTS[stage]), []).append((who, np.asarray(values)))
    return out


def _names(key: ExerciseKey) -> dict[Part, str]:
    return {Part(*PARTS[s.key]): s.text for s in key.stages if s.key in PARTS}


def check_exercise(net: Any, x: Any, key: ExerciseKey, *, answer: Any = None,
                   gradients: Any = None, updated: Any = None, policy: Policy,
                   notation: Notation, target: Any = None, loss: Any = None,
                   learning_rate: Any = None) -> Verdict:
    """``symnet.check`` on a backpropagation exercise: the final answer (``E′``), the sheet's
    stages or the gradients and weights by name, with the key's target, loss and rate unless
    given."""
    from .backcheck import _mapping, check_backprop

    design = Backprop.from_shape(key.shape)
    grads: dict[str, Any] = {}
    upd: dict[str, Any] = {}
    for what, value in (("gradients", gradients), ("updated", updated)):
        if value is not None:
            g, u = exercise_parts(_mapping(value, what), what)
            grads.update(g)
            upd.update(u)
    if answer is not None:
        upd["loss"] = answer
    return check_backprop(net, x, target=design.target if target is None else target,
                          loss=design.symnet_loss if loss is None else loss,
                          gradients=grads or None, updated=upd or None,
                          learning_rate=design.rate if learning_rate is None else learning_rate,
                          policy=policy, notation=notation, names=_names(key),
                          variants=_other_students(key, np.asarray(x, np.float64)))


def sheet_verdict(net: Any, x: np.ndarray, key: ExerciseKey, written: Mapping[str, Numbers],
                  answer: str | None, policy: Policy, notation: Notation) -> Verdict | None:
    """The verdict on a row of the class CSV (stage key -> numbers written, and the final
    answer); ``None`` when only forward values were written (no part of the
    backpropagation)."""
    from .numbers import read_numbers

    given: dict[str, Any] = {k: _written(v) for k, v in written.items() if k in PARTS}
    if answer is not None:
        given["y"] = _written(read_numbers(answer, "answer"))
    if not given:
        return None
    gradients, updated = exercise_parts(given)
    if not gradients and not updated:
        raise InvalidInputError("no part of the backpropagation given")
    design = Backprop.from_shape(key.shape)
    from .backcheck import check_backprop

    return check_backprop(net, x, target=design.target, loss=design.symnet_loss,
                          gradients=gradients or None, updated=updated or None,
                          learning_rate=design.rate, policy=policy, notation=notation,
                          names=_names(key), variants=_other_students(key, x))
