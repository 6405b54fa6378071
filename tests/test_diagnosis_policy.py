"""The diagnosis policy (issue 21's trial as tests): a class of eight per kind of exercise, each
student's answer worked by hand here with numpy from the weights Keras reads back, graded as a
lecturer grades (the class CSV beside the exercise's key). No ``too_imprecise`` for a number that
is not the right one rounded, no mistake stated as fact from a coincidence, ``close`` for values
rounded too early, ``other_variant`` (naming whose) for a neighbour's answer."""

from __future__ import annotations

import csv
import decimal
import io

import numpy as np
import pytest

import symnet
from symnet.homework import Policy
from symnet.homework.decide import Hypothesis, decide
from symnet.homework.exercise import make_exercise
from symnet.homework.grade import grade_file
from symnet.homework.numbers import read_numbers

ROSTER = ["Ana Lima", "Bo Chen", "Chidi Okafor", "Dana Levi", "Émile Dubois", "Gustav Müller",
          "Zoë Ødegaard", "Hana Sato"]
CATALOGUED = {"missing_activation", "bias_omitted", "kernel_flipped", "wrong_pooling",
              "recurrent_term_forgotten", "transposed_kernel", "activation_on_output"}


def relu(v):
    return np.maximum(v, 0)


def dense(w, x, *, no_relu=False, no_output_bias=False, round_to=None):
    h = np.asarray(x, np.float64)
    layers = len(w) // 2
    for k in range(layers):
        h = h @ w[2 * k] + (0 if (no_output_bias and k == layers - 1) else w[2 * k + 1])
        if k < layers - 1:
            h = h if no_relu else relu(h)
            if round_to is not None:  # as by hand: halves away from zero
                h = np.sign(h) * np.floor(np.abs(h) * 10**round_to + 0.5) / 10**round_to
    return float(h[0])


def conv(w, x, *, flip=False, no_relu=False, average=False):
    kernel, bias, v, c = w[0][..., 0, 0], w[1][0], w[2][:, 0], w[3][0]
    k = kernel[::-1, ::-1] if flip else kernel
    image = np.asarray(x, np.float64).reshape(5, 5)
    z = np.array([[np.sum(image[i:i + 2, j:j + 2] * k) for j in range(4)] for i in range(4)])
    h = z + bias if no_relu else relu(z + bias)
    blocks = h.reshape(2, 2, 2, 2)
    p = blocks.mean(axis=(1, 3)) if average else blocks.max(axis=(1, 3))
    return float(p.reshape(-1) @ v + c)


def rnn(w, x, *, no_recurrence=False, no_tanh=False, no_bias=False, decimals=None, cut=None):
    kernel, recurrent, bias, v, c = w
    h = np.zeros(2)
    for x_t in np.asarray(x, np.float64).reshape(-1):
        t = x_t * kernel[0] + (0 if no_recurrence else h @ recurrent) + (0 if no_bias else bias)
        h = t if no_tanh else np.tanh(t)
        if decimals is not None:
            h = np.sign(h) * np.floor(np.abs(h) * 10**decimals + 0.5) / 10**decimals
        if cut is not None:
            h = np.trunc(h * 10**cut) / 10**cut
    return float(h @ v[:, 0] + c[0])


HAND = {"dense": dense, "conv": conv, "rnn": rnn}


def sig(v, digits):
    return f"{float(v):.{digits}g}"


def rounded_to(answer: str, right: float) -> int | None:
    """The significant digits ``answer`` shows when it is ``right`` rounded to its last digit
    (or, for a whole number, to one of its trailing zeros); ``None`` when it is not."""
    d = decimal.Decimal(answer)
    places = [d.as_tuple().exponent]
    if places[0] == 0 and d != 0:
        text = str(abs(int(d)))
        places += list(range(1, len(text) - len(text.rstrip("0")) + 1))
    found = [p for p in places
             if abs(d - decimal.Decimal(right)) <= decimal.Decimal(5).scaleb(p - 1)]
    if not found:
        return None
    return int(d.copy_abs().log10().to_integral_value(decimal.ROUND_FLOOR)) - max(found) + 1 \
        if d != 0 else 0


def rounded(answer: str, right: float) -> bool:
    return rounded_to(answer, right) is not None


# (what the student did, how they wrote it, what the verdict must be)
PLANS = {
    "dense": [
        ("right", lambda w, x: sig(dense(w, x), 6), "correct"),
        ("ReLU forgotten", lambda w, x: sig(dense(w, x, no_relu=True), 6), "missing_activation"),
        ("output bias left out", lambda w, x: sig(dense(w, x, no_output_bias=True), 6),
         "bias_omitted"),
        ("wrong input", lambda w, x: sig(dense(w, x + np.array([1.0, 0.0])), 4), "wrong"),
        ("neighbour", None, "other_variant"),
        ("hidden values rounded to whole numbers", lambda w, x: sig(dense(w, x, round_to=0), 6),
         "close?"),
        ("one-unit slip", lambda w, x: sig(dense(w, x) - 1, 6), "wrong"),
        ("rounded to one digit", lambda w, x: f"{float(sig(dense(w, x), 1)):g}", "imprecise?"),
    ],
    "conv": [
        ("right, 3 digits", lambda w, x: sig(conv(w, x), 3), "correct"),
        ("filter flipped", lambda w, x: sig(conv(w, x, flip=True), 6), "kernel_flipped"),
        ("average pooling", lambda w, x: sig(conv(w, x, average=True), 6), "wrong_pooling"),
        ("ReLU forgotten", lambda w, x: sig(conv(w, x, no_relu=True), 6), "missing_activation"),
        ("neighbour", None, "other_variant"),
        ("rounded to a whole number", lambda w, x: f"{round(conv(w, x)):d}", "imprecise?"),
        ("one-unit slip", lambda w, x: sig(conv(w, x) + 1, 6), "wrong"),
        ("right", lambda w, x: sig(conv(w, x), 7), "correct"),
    ],
    "rnn": [
        ("right", lambda w, x: sig(rnn(w, x), 5), "correct"),
        ("states cut to 2 decimals", lambda w, x: sig(rnn(w, x, cut=2), 4), "close?"),
        ("recurrent term forgotten", lambda w, x: sig(rnn(w, x, no_recurrence=True), 6),
         "recurrent_term_forgotten"),
        ("tanh forgotten", lambda w, x: sig(rnn(w, x, no_tanh=True), 6), "missing_activation"),
        ("neighbour", None, "other_variant"),
        ("bias left out", lambda w, x: sig(rnn(w, x, no_bias=True), 6), "bias_omitted"),
        ("right, 2 digits", lambda w, x: sig(rnn(w, x), 2), "imprecise?"),
        ("states rounded to 2 decimals", lambda w, x: sig(rnn(w, x, decimals=2), 4), "close?"),
    ],
}


@pytest.fixture(scope="module")
def classes(tmp_path_factory, keras):
    """Each kind's class set (seed 42), its weights read back by Keras, the inputs."""
    out = {}
    for kind in PLANS:
        folder = tmp_path_factory.mktemp(kind)
        make_exercise(42, folder, kind=kind, students=ROSTER, multiple_choice=True)
        model = keras.models.load_model(folder / "exercise.keras")
        weights = [np.asarray(a, np.float64) for a in model.get_weights()]
        rows = list(csv.DictReader(io.StringIO((folder / "class.csv").read_text("utf-8"))))
        xs = [np.array([float(t) for t in r["input"].lstrip("'").split(",")]) for r in rows]
        out[kind] = (folder, weights, [r["student"] for r in rows], xs)
    return out


@pytest.mark.parametrize("kind", list(PLANS))
def test_the_trial_rows(classes, kind):
    folder, w, students, xs = classes[kind]
    hand = HAND[kind]
    right = [hand(w, x) for x in xs]
    answers, plans = [], []
    for i, (what, make, expect) in enumerate(PLANS[kind]):
        if make is None:  # a neighbour's right answer, one that is not also this one rounded
            j = next(j for j in [*range(i + 1, len(xs)), *range(i)]
                     if not rounded(sig(right[j], 6), right[i]))
            answers.append(sig(right[j], 6))
            plans.append((what, expect, students[j]))
        else:
            answers.append(make(w, xs[i]))
            plans.append((what, expect, None))
    with (folder / "answers.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "input", "answer"])
        writer.writerows([s, ",".join(f"{v:g}" for v in x), a]
                         for s, x, a in zip(students, xs, answers))
    graded = grade_file(symnet.explain(folder / "exercise.keras"), folder / "answers.csv")
    for g, answer, y, (what, expect, neighbour) in zip(graded, answers, right, plans):
        where = f"{kind}: {what}: {answer} for {y} -> {g.code} ({g.confidence}): {g.message}"
        assert g.expected[0] == pytest.approx(y, rel=1e-6), where
        # too_imprecise means exactly: the right value rounded to the digits written, fewer
        # than the 3 required
        shown = rounded_to(answer, y)
        assert (g.code == "too_imprecise") == (
            not g.correct and shown is not None and shown < 3), where
        if expect == "correct" or float(answer) == y:
            assert g.correct, where
            continue
        assert not g.correct, where
        if expect in CATALOGUED:
            assert (g.code, g.confidence) == (expect, "exact"), where
            assert g.message.startswith("Reproduced exactly by one mistake"), where
        elif expect == "other_variant":
            assert g.other == neighbour and neighbour in g.message, where
            # named as such, unless one of this student's own mistakes gives the very same
            # number: then that, with the other student named beside it
            assert g.code == "other_variant" or (g.code in CATALOGUED and "cannot tell" in
                                                 g.message), where
        elif expect == "close?" and g.code != "too_imprecise":  # the right method, rounded
            # too early (unless it happens to be the right value rounded: said above)
            assert g.code == "close" and g.confidence in ("exact", "distance"), where
            assert f"{float(answer) - y:+.4g}" in g.message, where  # the distance, stated
        elif expect == "imprecise?":
            assert g.code == "too_imprecise" and g.confidence == "certain", where
        else:  # an answer no catalogued mistake made: never a mistake stated as fact
            assert not (g.code in CATALOGUED and g.confidence == "exact"), where
            if g.code.split("+")[0] in CATALOGUED:
                assert g.message.startswith(("Possibly", "Perhaps")), where


def test_a_zero_from_rounding_is_not_told_a_mistake(keras):
    # y = -0.375; a ReLU on the output gives 0, and so does rounding to a whole number
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2, activation="relu"),
                              keras.layers.Dense(1)])
    model.set_weights([np.array([[1.0, -1.0]], np.float32), np.array([0.5, 0.0], np.float32),
                       np.array([[-0.25], [0.5]], np.float32), np.array([0.0], np.float32)])
    y = max(1 * 1 + 0.5, 0) * -0.25 + max(-1 * 1, 0) * 0.5  # numpy by hand: -0.375
    verdict = symnet.check(model, 1, answer="0")
    assert verdict.expected[0] == pytest.approx(y)
    assert verdict.diagnosis.code == "too_imprecise", verdict.summary()
    assert "activation_on_output" in verdict.diagnosis.also
    assert "cannot tell" in verdict.diagnosis.message
    # written with a decimal, 0.0 is not -0.375 rounded (that is -0.4): a hypothesis
    verdict = symnet.check(model, 1, answer="0.0")
    assert verdict.diagnosis.code != "too_imprecise"


def numbers(text):
    return read_numbers(text, "answer")


def test_each_confidence_has_its_words():
    policy = Policy(3, 1e-4, 1e-6, 0.01)
    right = np.array([-40.5])
    single = Hypothesis("bias_omitted", "the bias was left out.", np.array([-39.25]))
    pair = Hypothesis("bias_omitted+missing_activation", "the bias was left out. Also: the "
                      "ReLU was forgotten.", np.array([-39.5]), "pair")
    other = Hypothesis("other_variant", "", np.array([-39.5]), "variant", who="Bo Chen")
    # a pair matches a one-unit slip by coincidence: a possibility, not a finding
    d = decide(numbers("-39.5"), right, policy, [single, pair])
    assert (d.code, d.confidence) == (pair.code, "pair") and d.message.startswith("Possibly")
    assert "may be a coincidence" in d.message
    # another student's answer at the digits required: other_variant, naming whose
    d = decide(numbers("-39.5"), right, policy, [single, pair, other])
    assert (d.code, d.confidence, d.chosen.who) == ("other_variant", "exact", "Bo Chen")
    # one mistake, exactly
    d = decide(numbers("-39.25"), right, policy, [single, pair])
    assert (d.code, d.confidence) == ("bias_omitted", "exact")
    # matched only at the digits written: perhaps
    d = decide(numbers("-39"), right, policy, [single])
    assert (d.code, d.confidence) == ("bias_omitted", "rounding")
    assert d.message.startswith("Perhaps")
    # within 1 %: close, with the distance; beyond, unknown with the distance
    d = decide(numbers("-40.3"), right, policy, [])
    assert (d.code, d.confidence) == ("close", "distance") and "+0.2 (0.49 %)" in d.message
    d = decide(numbers("-30.3"), right, policy, [])
    assert (d.code, d.confidence) == ("unknown", "none") and "+10.2 (25 %)" in d.message
    # too few digits of the right value: certain, whatever else gives it
    d = decide(numbers("-40"), right, policy, [Hypothesis("x", "x.", np.array([-40.0]))])
    assert (d.code, d.confidence, d.also[0].code) == ("too_imprecise", "certain", "x")
    assert decide(numbers("-40.5"), right, policy).code == "correct"


def test_the_digits_written_do_not_change_a_wrong_numbers_code():
    # the dense class: -32 (a neighbour's answer) and -1 (a wrong input) for -30.5;
    # -32 was too_imprecise and -32.0 unknown; neither is -30.5 rounded
    policy = Policy()
    for written in ("-32", "-32.0", "-32.00", "-1", "-1.0"):
        d = decide(numbers(written), np.array([-30.5]), policy)
        assert (d.code, d.confidence) == ("unknown", "none"), (written, d.message)
        assert "significant digit" not in d.message
    assert decide(numbers("-30"), np.array([-30.5]), policy).code == "too_imprecise"
    assert decide(numbers("-31"), np.array([-30.5]), policy).code == "too_imprecise"
