"""``symnet exercise --kind backprop``: the sheets' numbers are the network's, worked here in
numpy; every student's variant is distinct; every catalogued backpropagation mistake, made by
hand in numpy on each student's own numbers, leaves its own trace (no two give the same
answers) and is recognised when the class's answers are graded; the exports."""

from __future__ import annotations

import csv
import io
import itertools
import json
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest

import symnet
from symnet.homework.backprop import catalogue
from symnet.homework.backprop_exercise import build_backprop_exercise
from symnet.homework.designs import apart
from symnet.homework.exercise import write_exercise
from symnet.homework.grade import grade_file

ROSTER = ["Ana Lima", "Bo Chen", "Chidi Okafor", "Dana Levi", "Émile Dubois", "Gustav Müller",
          "Zoë Ødegaard", "Hana Sato"]


# --- the hand calculation, in numpy, with any mistake ----------------------------------------

def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def by_hand(weights, x, t, activation, loss, rate, *, forgot=(), at_output=(), transposed=(),
            updated_delta=False, sign=False, factor="", mean=False, update=None, kept=()):
    """Every stage of the sheet (keys as the class CSV's), with the mistakes named: layers are
    ``"hidden"`` and ``"output"``; ``update``: layer -> ``ascent``, ``no_rate``,
    ``rate_twice``; ``kept``: layers whose bias is not updated."""
    w1, b1, w2, b2 = (np.asarray(w, float) for w in weights)
    x, t = np.asarray(x, float), np.asarray(t, float)
    sig = activation == "sigmoid"
    f = _sigmoid if sig else (lambda z: np.maximum(z, 0))
    fp = (lambda z: _sigmoid(z) * (1 - _sigmoid(z))) if sig else (lambda z: (z > 0) * 1.0)

    def forward(a1, c1, a2, c2):
        z1 = x @ a1 + c1
        h1 = f(z1)
        z2 = h1 @ a2 + c2
        return z1, h1, z2, (_sigmoid(z2) if sig else z2)

    def error(y):
        e = 0.5 * np.sum((t - y) ** 2) if loss == "squared_error" else np.mean((t - y) ** 2)
        return e * (2.0 if factor == "double" else 1.0) * (t.size if mean else 1.0)

    z1, h1, z2, y = forward(w1, b1, w2, b2)
    out = {"z1": z1, "h1": h1, "yhat": y, "E": error(y)}
    if sig:
        out["z2"] = z2
    dy = (y - t) * (1.0 if loss == "squared_error" else 2.0 / t.size)
    dy = dy * (-1.0 if sign else 1.0) * {"": 1.0, "double": 2.0, "half": 0.5}[factor] \
        * (t.size if mean else 1.0)
    slope2 = fp(z2) if sig else 1.0
    if sig and "output" in forgot:
        slope2 = 1.0
    if sig and "output" in at_output:
        slope2 = fp(y)
    d2 = dy * slope2
    gw2 = np.outer(h1, d2)
    w2_used = w2 - rate * gw2 if updated_delta else w2
    slope1 = 1.0 if "hidden" in forgot else fp(h1) if "hidden" in at_output else fp(z1)
    d1 = (d2 @ w2_used.T) * slope1
    gw1 = np.outer(x, d1)
    grads = {"W2": gw2.T if "output" in transposed else gw2, "b2": d2,
             "W1": gw1.T if "hidden" in transposed else gw1, "b1": d1}
    out.update(d2=d2, dW2=grads["W2"], db2=d2, d1=d1, dW1=grads["W1"], db1=d1)
    update = update or {}
    new = {}
    for key, w, layer in (("W2", w2, "output"), ("b2", b2, "output"), ("W1", w1, "hidden"),
                          ("b1", b1, "hidden")):
        how = "kept" if key[0] == "b" and layer in kept else update.get(layer, "")
        g = grads[key]
        new[key] = {"": w - rate * g, "ascent": w + rate * g, "no_rate": w - g,
                    "rate_twice": w - rate * rate * g, "kept": w}[how]
        out[f"new{key}"] = new[key]
    out["y"] = error(forward(new["W1"], new["b1"], new["W2"], new["b2"])[3])
    return out


def expected_mistakes(activation, loss):
    """(code, layers) -> by_hand's keywords, for the 2-2-2 design."""
    both = ("hidden", "output")
    out = {("derivative_forgotten", ("hidden",)): {"forgot": ("hidden",)},
           ("outer_product_transposed", ("hidden",)): {"transposed": ("hidden",)},
           ("outer_product_transposed", ("output",)): {"transposed": ("output",)},
           ("outer_product_transposed", both): {"transposed": both},
           ("updated_weights_for_delta", ("output",)): {"updated_delta": True},
           ("loss_sign_flipped", ("output",)): {"sign": True}}
    if activation == "sigmoid":
        out.update({("derivative_forgotten", ("output",)): {"forgot": ("output",)},
                    ("derivative_forgotten", both): {"forgot": both},
                    ("derivative_at_output", ("hidden",)): {"at_output": ("hidden",)},
                    ("derivative_at_output", ("output",)): {"at_output": ("output",)},
                    ("derivative_at_output", both): {"at_output": both}})
    if loss == "squared_error":
        out[("loss_factor_two", ("output",))] = {"factor": "double"}
    else:
        out[("loss_factor_two", ("output",))] = {"factor": "half"}
        out[("loss_mean_forgotten", ("output",))] = {"mean": True}
    for code, how in (("gradient_ascent", "ascent"), ("learning_rate_forgotten", "no_rate"),
                      ("learning_rate_twice", "rate_twice")):
        for layers in (("hidden",), ("output",), both):
            out[(code, layers)] = {"update": dict.fromkeys(layers, how)}
    for layers in (("hidden",), ("output",), both):
        out[("bias_not_updated", layers)] = {"kept": layers}
    return out


STAGES = ["z1", "h1", "z2", "yhat", "E", "d2", "dW2", "db2", "d1", "dW1", "db1", "newW2",
          "newb2", "newW1", "newb1", "y"]


def vector(parts, keys):
    return np.concatenate([np.ravel(parts[k]) for k in keys])


def _setting(exercise):
    shape = exercise.design
    return shape.activation, shape.loss, shape.rate, shape.target


@pytest.fixture(scope="module", params=[("sigmoid", "squared_error"), ("relu", "mse")],
            ids=["sigmoid-squared", "relu-mse"])
def exercise(request):
    activation, loss = request.param
    return build_backprop_exercise(5, ROSTER, 3, activation, loss)


def test_the_sheet_is_the_network(exercise):
    activation, loss, rate, t = _setting(exercise)
    assert exercise.base.x.shape == (2,)
    for v in (exercise.base, *exercise.variants):
        mine = by_hand(exercise.weights, v.x, t, activation, loss, rate)
        for stage in v.stages:
            np.testing.assert_allclose(stage.values.reshape(-1), np.ravel(mine[stage.key]),
                                       rtol=1e-12, atol=1e-15, err_msg=stage.key)
        assert v.answer == pytest.approx(mine["y"], rel=1e-12)
        assert v.answer < mine["E"]  # the step lowers the loss


def test_the_catalogue_is_the_one_tested(exercise):
    activation, loss, rate, _ = _setting(exercise)
    net = symnet.explain(exercise.model)
    found = {(m.code, m.layers) for m in catalogue(net.graph, _loss(exercise), rate)}
    assert found == set(expected_mistakes(activation, loss))


def _loss(exercise):
    from symnet.analysis.losses import loss_of

    return loss_of(exercise.design.symnet_loss)


def test_variants_are_distinct_and_deterministic(exercise):
    inputs = [tuple(v.x) for v in exercise.variants]
    assert len(set(inputs)) == len(inputs) == len(ROSTER)
    for a, b in itertools.combinations(exercise.variants, 2):
        assert apart(a.answer, b.answer, 3), (a.student, b.student)
    again = build_backprop_exercise(5, list(reversed(ROSTER)), 3, *_setting(exercise)[:2])
    mine = {v.student: tuple(v.x) for v in again.variants}
    assert mine == {v.student: tuple(v.x) for v in exercise.variants}


def test_no_two_mistakes_give_the_same_answers(exercise):
    """Each mistake's answers (every part) differ from the right ones and from every other
    mistake's by more than a unit in the third digit, in at least one number."""
    activation, loss, rate, t = _setting(exercise)
    keys = [k for k in STAGES if k not in ("z1", "h1", "z2", "yhat")]
    for v in (exercise.base, *exercise.variants):
        right = vector(by_hand(exercise.weights, v.x, t, activation, loss, rate), keys)
        made = {m: vector(by_hand(exercise.weights, v.x, t, activation, loss, rate, **kw), keys)
                for m, kw in expected_mistakes(activation, loss).items()}
        for m, values in made.items():
            assert any(apart(a, b, 3) for a, b in zip(values, right)), (v.student, m)
        for (m1, a), (m2, b) in itertools.combinations(made.items(), 2):
            assert any(apart(p, q, 3) for p, q in zip(a, b)), (v.student, m1, m2)


def _row(v, parts, keys, answer=None):
    cells = {"student": v.student, "input": ",".join(f"{a:g}" for a in v.x)}
    for k in keys:
        for column, value in zip(_columns(k, np.shape(parts[k])), np.ravel(parts[k])):
            cells[column] = f"{float(value):.6g}"
    cells["answer"] = answer if answer is not None else f"{float(parts['y']):.6g}"
    return cells


def _columns(key, shape):
    if key == "y":
        return ["answer"]
    if len(shape) == 2:
        return [f"{key}_{i + 1}_{j + 1}" for i, j in np.ndindex(shape)]
    if len(shape) == 0:
        return [key]
    return [f"{key}_{i + 1}" for i in range(shape[0])]


def test_every_mistake_is_recognised_in_the_class_csv(exercise, tmp_path):
    """The class's sheets, each student making each mistake (or none), written with six
    significant digits; graded as ``symnet check --answers`` grades them."""
    activation, loss, rate, t = _setting(exercise)
    write_exercise(exercise, tmp_path / "ex")
    header = (tmp_path / "ex" / "class.csv").read_text().splitlines()[0].split(",")
    keys = [k for k in STAGES if k != "y" and (k != "z2" or activation == "sigmoid")]
    rows, wanted = [], []
    mistakes = expected_mistakes(activation, loss)
    for v in exercise.variants:
        rows.append(_row(v, by_hand(exercise.weights, v.x, t, activation, loss, rate), keys))
        wanted.append(("correct", ()))
        for (code, layers), kw in mistakes.items():
            rows.append(_row(v, by_hand(exercise.weights, v.x, t, activation, loss, rate, **kw),
                             keys))
            wanted.append((code, layers))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    answers = tmp_path / "ex" / "answers.csv"
    answers.write_text(out.getvalue(), encoding="utf-8")
    net = symnet.explain(str(tmp_path / "ex" / "exercise.keras"))
    graded = grade_file(net, answers)
    assert len(graded) == len(wanted)
    for g, (code, _) in zip(graded, wanted):
        assert g.code == code, (g.student, code, g.message)
        assert g.correct == (code == "correct")
    # a carried mistake costs its part: the δ after a forgotten σ′ is consistent
    if activation == "sigmoid":
        k = list(mistakes).index(("derivative_forgotten", ("output",))) + 1
        assert graded[k].steps["d2"] == "wrong" and graded[k].steps["d1"] == "consistent"


def test_the_final_answer_alone_and_the_letters(exercise, tmp_path):
    rate = exercise.design.rate
    write_exercise(exercise, tmp_path / "ex", multiple_choice=True, moodle=True, qti=True)
    folder = tmp_path / "ex"
    lines = ["student,input,answer"]
    wanted = []
    for v in exercise.variants:
        x = " ".join(f"{a:g}" for a in v.x).replace(" ", ",")
        lines.append(f'{v.student},"{x}",{v.letter}')
        wanted.append("correct")
        wrong = next(letter for letter, _, code in v.choices if code is not None)
        code = next(code for letter, _, code in v.choices if letter == wrong)
        lines.append(f'{v.student},"{x}",{wrong}')
        wanted.append(code)
    (folder / "answers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    graded = grade_file(symnet.explain(str(folder / "exercise.keras")), folder / "answers.csv")
    assert [g.code for g in graded] == wanted
    # the exports parse, and name no student
    root = ET.fromstring((folder / "moodle.xml").read_text(encoding="utf-8"))
    assert len(root.findall("question")) == 2 + 2 * len(ROSTER)
    text = (folder / "moodle.xml").read_text(encoding="utf-8")
    assert "the loss after the step" in text and "Ana Lima" not in text
    with zipfile.ZipFile(folder / "canvas-qti.zip") as z:
        for name in z.namelist():
            if name.endswith(".xml"):
                ET.fromstring(z.read(name))
    key = json.loads((folder / "exercise.json").read_text(encoding="utf-8"))
    assert key["kind"] == "backprop" and key["shape"]["rate"] == rate


def test_check_on_the_exercise(exercise, tmp_path, capsys):
    """``symnet check exercise.keras --input X --gradients gradients.json --updated
    updated.json`` takes the target, the loss and the rate from the key beside the model."""
    from symnet.cli import main

    activation, loss, rate, t = _setting(exercise)
    write_exercise(exercise, tmp_path / "ex")
    folder = tmp_path / "ex"
    x = ",".join(f"{a:g}" for a in exercise.base.x)
    code = main(["check", str(folder / "exercise.keras"), "--input", x, "--gradients",
                 str(folder / "gradients.json"), "--updated", str(folder / "updated.json")])
    out = capsys.readouterr().out
    assert code == 0, out
    wrong = by_hand(exercise.weights, exercise.base.x, t, activation, loss, rate,
                    transposed=("hidden",))
    (folder / "mine.json").write_text(json.dumps({"dW1": wrong["dW1"].tolist(),
                                                  "d1": wrong["d1"].tolist()}))
    code = main(["check", str(folder / "exercise.keras"), "--input", x, "--gradients",
                 str(folder / "mine.json")])
    out = capsys.readouterr().out
    assert code == 1
    assert "∂E/∂W₁ was written transposed" in out, out


def test_a_copied_sheet_is_another_students(exercise, tmp_path):
    """Bo Chen's numbers under Ana Lima's input: the loss is already another student's."""
    activation, loss, rate, t = _setting(exercise)
    write_exercise(exercise, tmp_path / "ex")
    folder = tmp_path / "ex"
    ana, bo = exercise.variants[0], exercise.variants[1]
    parts = by_hand(exercise.weights, bo.x, t, activation, loss, rate)
    keys = ["E", "d2", "dW2", "db2"]
    row = _row(ana, parts, keys)
    header = ["student", "input", *[c for k in keys for c in _columns(k, np.shape(parts[k]))],
              "answer"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header)
    writer.writeheader()
    writer.writerow({k: row[k] for k in header})
    (folder / "answers.csv").write_text(out.getvalue(), encoding="utf-8")
    graded = grade_file(symnet.explain(str(folder / "exercise.keras")), folder / "answers.csv")
    assert graded[0].code == "other_variant", graded[0].message
    assert graded[0].other == bo.student
