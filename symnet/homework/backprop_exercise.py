"""Drawing a backpropagation exercise (``symnet exercise --kind backprop``): the network, the
target and every student's input, until each catalogued backpropagation mistake leaves its own
trace in the answers.

Deterministic per seed: the target is drawn first, then networks (weights in halves) and inputs
(small integers) until the calculation is worth doing (:meth:`Backprop.interesting`) and the
catalogue tells its mistakes apart: the answers a mistake gives — every part of the sheet, the
loss, the δs, the gradients, the weights after the step and the loss after it — differ from the
right ones, and from every other mistake's, by more than a unit in the last of the ``digits``
required in at least one number. symnet's own backward pass is checked against the design's
numpy calculation on every variant drawn.

As for the forward kinds, every student gets their own input, drawn from the seed and their
name, and every student's input and final answer differ from every other student's.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .backprop import AFTER, Part
from .backprop import Backprop as Engine
from .backprop_design import ACTIVATIONS, LOSSES, PARTS, Backprop
from .decide import rounded_digits
from .designs import apart
from .exercise import (
    MAX_TRIES,
    ClassTooLarge,
    Exercise,
    Variant,
    WrongAnswer,
    _class_variants,
    _student_rng,
)
from .numbers import read_numbers

__all__ = ["RATE", "build_backprop_exercise", "parts_of", "variant_answers"]

RATE = 0.5
"""The learning rate of the exercises: a half keeps the weights' halves readable."""


class _Context:
    """What every variant of one network needs: the network, its loss, the sheet's words."""

    def __init__(self, net: Any, shape: Backprop) -> None:
        from ..analysis.losses import loss_of
        from .notation import Notation

        self.net = net
        self.spec = loss_of(shape.symnet_loss)
        self.notation = Notation.from_dict(shape.notation())


def parts_of(stages: Sequence[Any]) -> list[tuple[str, Part]]:
    """The stages that are parts of ``symnet.check``'s gradients/updated, with their part."""
    return [(s.key, Part(*PARTS[s.key])) for s in stages if s.key in PARTS]


def variant_answers(net: Any, shape: Backprop, x: np.ndarray, spec: Any = None
                    ) -> tuple[Engine, dict[Part, np.ndarray]]:
    """The engine of one variant and its right parts (symnet's backward pass)."""
    from ..analysis.losses import loss_of

    arrays = [np.asarray(x, np.float64).reshape(1, 2)]
    targets = [np.asarray(shape.target, np.float64).reshape(1, 2)]
    engine = Engine(net.graph, spec or loss_of(shape.symnet_loss), arrays, targets, shape.rate,
                    after=True)
    return engine, engine.evaluate(None)


def _differs(a: np.ndarray, b: np.ndarray, digits: int) -> bool:
    return any(apart(float(u), float(v), digits) for u, v in zip(a, b))


def _mistaken_for_rounding(vector: np.ndarray, right: np.ndarray) -> bool:
    """Whether a number a mistake gives, written as it comes out (a weight left as it was,
    ``0.5``), is also the right number rounded (0.519 to one digit): a student who makes the
    mistake must not be told that the number is right but too imprecise."""
    for mine, good in zip(vector, right):
        if mine != good:
            written = read_numbers(f"{float(mine):.10g}", "answer")
            if rounded_digits(written, np.array([good])) is not None:
                return True
    return False


def _variant(ctx: _Context, shape: Backprop, weights: Sequence[np.ndarray], x: np.ndarray,
             student: str | None, digits: int, rng: np.random.Generator) -> Variant | None:
    from .backmessages import backprop_message

    stages = shape.stages(weights, x)
    if not shape.interesting(stages):
        return None
    keyed = parts_of(stages)
    engine, truth = variant_answers(ctx.net, shape, x, ctx.spec)
    right = np.concatenate([np.ravel(truth[p]) for _, p in keyed])
    design = np.concatenate([np.ravel(s.values) for s in stages if s.key in PARTS])
    if not np.allclose(right, design, rtol=1e-9, atol=1e-12):
        raise AssertionError(f"symnet's backward pass and the exercise's numpy calculation "
                             f"differ at x = {x}: {right} != {design}")
    answer = float(stages[-1].values.reshape(-1)[0])
    made = []
    for mistake in engine.singles():
        values = engine.evaluate(mistake)
        vector = np.concatenate([np.ravel(values[p]) for _, p in keyed])
        if not np.all(np.isfinite(vector)) or not _differs(vector, right, digits) or \
                _mistaken_for_rounding(vector, right):
            return None  # a mistake that leaves no trace, or looks like a rounding: again
        made.append((mistake, vector, float(values[AFTER])))
    for (_, a, _), (_, b, _) in itertools.combinations(made, 2):
        if not _differs(a, b, digits):
            return None  # two mistakes that give the same answers: draw again
    # the final answers a choice (or a Moodle answer) can tell apart, in the catalogue's
    # order; of mistakes that give the same one, the one a grader names (the one that changes
    # the fewest parts: the update's ascent rather than the loss's sign), the other named in
    # its feedback
    groups: list[list[tuple[Any, float]]] = []
    for m, _, value in made:
        written = read_numbers(f"{value:.10g}", "answer")
        if not apart(value, answer, digits) or rounded_digits(
                written, np.array([answer])) is not None:
            continue
        group = next((g for g in groups if not apart(value, g[0][1], digits)), None)
        if group is None:
            groups.append([(m, value)])
        else:
            group.append((m, value))
    changed = {id(m): int(np.sum(v != right)) for m, v, _ in made}
    distinct: list[WrongAnswer] = []
    for group in groups:
        m, value = min(group, key=lambda item: changed[id(item[0])])
        message = backprop_message(m, ctx.notation)
        other = next((o for o, _ in group if o is not m), None)
        if other is not None:
            also = backprop_message(other, ctx.notation)
            message += (f" The same answer comes from another mistake: {also[:1].lower()}"
                        f"{also[1:]}")
        distinct.append(WrongAnswer(m.code, m.layers, message, value))
    if len(distinct) < 2:
        return None
    options: list[tuple[float, str | None]] = [(answer, None)] + [
        (w.value, w.code) for w in distinct[:4]]
    order = rng.permutation(len(options))
    choices = tuple((chr(ord("A") + i), options[k][0], options[k][1])
                    for i, k in enumerate(order))
    return Variant(student, np.asarray(x, np.float64), tuple(stages), answer, tuple(distinct),
                   choices)


def build_backprop_exercise(seed: int, students: Sequence[str] | None = None, digits: int = 3,
                            activation: str = "sigmoid", loss: str = "squared_error"
                            ) -> Exercise:
    """Draw the backpropagation exercise of ``seed`` (and each student's variant):
    ``activation`` ``sigmoid`` (sigmoid layers) or ``relu`` (a ReLU layer, a linear output),
    ``loss`` ``squared_error`` (E = ½ Σ (t − ŷ)²) or ``mse`` (Keras' mean squared error)."""
    from ..network import explain

    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise InvalidInputError(f"an exercise's seed is a whole number from 0 to 2^63 - 1, "
                                f"received {seed!r}")
    if activation not in ACTIVATIONS:
        raise InvalidInputError(f"a backpropagation exercise's activation is one of "
                                f"{', '.join(ACTIVATIONS)}; received {activation!r}")
    if loss not in LOSSES:
        raise InvalidInputError(f"a backpropagation exercise's loss is one of "
                                f"{', '.join(LOSSES)}; received {loss!r}")
    if not 1 <= digits <= 6:
        raise InvalidInputError(f"digits: 1 to 6 for an exercise, received {digits!r}")
    rng = np.random.default_rng([seed, 23])
    shape = Backprop(activation, loss, RATE, Backprop.draw_target(rng, activation))
    model = None
    too_large: ClassTooLarge | None = None
    networks = 0
    for _ in range(MAX_TRIES):
        if too_large is not None and networks >= 12:
            raise too_large
        weights = shape.draw(rng)
        x = shape.draw_input(rng)
        if not shape.promising(weights, x, digits):
            continue
        if model is None:
            model = shape.model(seed, weights)
        else:
            model.set_weights([np.asarray(w, np.float32) for w in weights])
        ctx = _Context(explain(model), shape)
        base = _variant(ctx, shape, weights, x, None, digits, _student_rng(seed, None))
        if base is None:
            continue
        networks += 1
        try:
            variants = _class_variants(ctx, shape, weights, seed, students or (), digits,
                                       _variant)
        except ClassTooLarge as exc:
            too_large = too_large or exc
            continue
        if variants is not None:
            return Exercise(seed, shape, tuple(weights), digits, base, tuple(variants), model)
    if too_large is not None:
        raise too_large
    raise InvalidInputError(f"no network of {shape.describe()} drawn from seed {seed} tells "
                            f"every mistake apart at {digits} digits (with every student's "
                            "input); try another seed")
