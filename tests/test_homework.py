"""For teachers: exercises that can tell mistakes apart, one variant per student, a multiple-
choice version, a Moodle export; every expected number computed here with numpy."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import symnet
from symnet.cli import main
from symnet.homework.exercise import build_exercise, make_exercise

from .conftest import require_tool


def weights_of(folder):
    net = symnet.explain(folder / "exercise.keras")
    out = []
    for layer in net.layers:
        if "kernel" in layer.parameters:
            out += [np.asarray(layer.parameters["kernel"], np.float64),
                    np.asarray(layer.parameters["bias"], np.float64)]
    return out


def by_hand(weights, x, *, relu=None, bias=None, relu_on_output=False, transposed=()):
    """The exercise network at x; ``relu``: hidden layers whose ReLU is applied (default all),
    ``bias``: layers whose bias is added (default all), ``transposed``: square kernels used
    transposed."""
    layers = len(weights) // 2
    relu = range(layers - 1) if relu is None else relu
    bias = range(layers) if bias is None else bias
    h = np.asarray(x, np.float64)
    for k in range(layers):
        kernel = weights[2 * k].T if k in transposed else weights[2 * k]
        h = h @ kernel + (weights[2 * k + 1] if k in bias else 0)
        if k < layers - 1 and k in relu:
            h = np.maximum(h, 0)
    y = float(h[0])
    return max(y, 0.0) if relu_on_output else y


def catalogue_by_hand(weights, x):
    """Every single mistake's final answer, computed with numpy: each in one layer, each in
    every layer."""
    layers = len(weights) // 2
    hidden = range(layers - 1)
    answers = {}
    for k in hidden:
        answers[f"missing_activation {k}"] = by_hand(weights, x, relu=[j for j in hidden
                                                                         if j != k])
    answers["missing_activation all"] = by_hand(weights, x, relu=[])
    for k in range(layers):
        answers[f"bias_omitted {k}"] = by_hand(weights, x, bias=[j for j in range(layers)
                                                                  if j != k])
    answers["bias_omitted all"] = by_hand(weights, x, bias=[])
    answers["activation_on_output"] = by_hand(weights, x, relu_on_output=True)
    square = [k for k in range(layers) if weights[2 * k].shape[0] == weights[2 * k].shape[1]]
    for k in square:
        answers[f"transposed_kernel {k}"] = by_hand(weights, x, transposed=(k,))
    if len(square) > 1:
        answers["transposed_kernel all"] = by_hand(weights, x, transposed=square)
    return answers


def apart(a, b, digits=3):
    scale = max(abs(a), abs(b))
    return scale > 0 and abs(a - b) > 10.0 ** (math.floor(math.log10(scale)) - digits + 1)


def test_exercise_is_deterministic_and_its_key_checks(keras, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    make_exercise(11, first, widths=(3, 2), inputs=2)
    make_exercise(11, second, widths=(3, 2), inputs=2)
    for name in ("exercise.tex", "exercise.html", "key.txt", "steps.json", "input.txt"):
        assert (first / name).read_text() == (second / name).read_text(), name
    x = [float(v) for v in (first / "input.txt").read_text().split(",")]
    net = symnet.explain(first / "exercise.keras")
    steps = json.loads((first / "steps.json").read_text())
    assert steps["output"] == [by_hand(weights_of(first), x)]
    assert symnet.check(net, x, steps=steps).correct
    hidden = np.array(steps["hidden_1"])
    assert np.any(hidden > 0) and np.any(hidden == 0)  # a ReLU worth computing
    no_relu = {"hidden_1": (np.array(x) @ net.layer("hidden_1").parameters["kernel"]
                            + net.layer("hidden_1").parameters["bias"]).tolist()}
    verdict = symnet.check(net, x, steps=no_relu)
    assert verdict.first_wrong_step == "hidden_1"
    assert verdict.diagnosis.code == "missing_activation"


@pytest.mark.parametrize(("seed", "layers"), [(7, (3, 2)), (0, (3,)), (1, (2, 2)), (2, (4,)),
                                              (3, (3, 3)), (5, (2, 3))])
def test_every_mistake_changes_the_answer_and_no_two_agree(keras, tmp_path, seed, layers):
    # the exercise (seed 7, layers 3,2) gave the key's own answer without any ReLU
    make_exercise(seed, tmp_path, widths=layers, inputs=2)
    weights = weights_of(tmp_path)
    x = [float(v) for v in (tmp_path / "input.txt").read_text().split(",")]
    right = by_hand(weights, x)
    wrong = catalogue_by_hand(weights, x)
    assert apart(right, wrong["missing_activation all"])
    values = [right, *wrong.values()]
    # the same number for a mistake in one layer and in all of them is one mistake made
    # once (a single hidden layer), not two that agree
    distinct = {name: v for name, v in wrong.items() if not any(
        v == wrong[other] and other < name for other in wrong)}
    for (a, va), (b, vb) in itertools.combinations([("right", right), *distinct.items()], 2):
        if a.split()[0] == b.split()[0] and va == vb:
            continue
        assert apart(va, vb), (a, va, b, vb, values)


def test_a_shape_that_cannot_tell_mistakes_apart_is_refused(keras, tmp_path):
    # one hidden unit: clipped, the output is its bias, which a ReLU on the output and the
    # bias left out both turn into 0; passed, forgetting the ReLU changes nothing
    with pytest.raises(symnet.InvalidInputError, match="tells every mistake apart"):
        make_exercise(5, tmp_path, widths=(1,))
    assert not tmp_path.joinpath("exercise.keras").exists()


def test_one_variant_per_student(keras, tmp_path):
    roster = ["Ana", "Bo", "Céline", "dee@school.example"]
    exercise = build_exercise(7, (3, 2), 2, roster)
    # the roster's order changes nothing (a student added may take a variant another drew)
    again = build_exercise(7, (3, 2), 2, list(reversed(roster)))
    by_name = {v.student: v.x.tolist() for v in again.variants}
    assert all(by_name[v.student] == v.x.tolist() for v in exercise.variants)
    assert len({tuple(v.x) for v in exercise.variants}) == len(roster)
    weights = list(exercise.weights)
    for v in exercise.variants:
        assert v.answer == by_hand(weights, v.x)
        wrong = catalogue_by_hand(weights, v.x)
        assert {round(w.value, 9) for w in v.wrong} <= {round(w, 9) for w in wrong.values()}
        chosen = dict((letter, value) for letter, value, _ in v.choices)
        assert chosen[v.letter] == v.answer and len(chosen) == len(set(chosen.values()))


def test_a_class_set_from_a_roster_and_its_grading(keras, tmp_path, capsys):
    roster = tmp_path / "roster.txt"
    roster.write_text("student\nAna\nBo\n=HYPERLINK(\"x\")\n\x1b[31mCy\n", encoding="utf-16")
    out = tmp_path / "ex"
    assert main(["exercise", "--seed", "7", "--layers", "3,2", "--students", str(roster),
                 "--multiple-choice", "--moodle", "-o", str(out)]) == 0
    capsys.readouterr()
    sheets = sorted(p.name for p in (out / "sheets").iterdir())
    assert sheets == ["001-ana.html", "001-ana.tex", "002-bo.html", "002-bo.tex",
                      "003-hyperlink-x.html", "003-hyperlink-x.tex", "004-31mcy.html",
                      "004-31mcy.tex"]
    key = list(csv.DictReader(io.StringIO((out / "key.csv").read_text())))
    assert [r["student"] for r in key] == ["Ana", "Bo", "'=HYPERLINK(\"x\")", "\\x1b[31mCy"]
    weights = weights_of(out)
    for r in key:
        x = [float(v) for v in r["input"].lstrip("'").split(",")]
        assert float(r["answer"]) == by_hand(weights, x)
    # the class sheet, filled in: right, the ReLU forgotten, too few digits, nothing
    filled = list(csv.reader(io.StringIO((out / "class.csv").read_text())))
    # a column per number the sheet asks for: z⁽¹⁾ (3), h⁽¹⁾ (3), z⁽²⁾ (2), h⁽²⁾ (2), y
    assert filled[0] == ["student", "input", "z1_1", "z1_2", "z1_3", "h1_1", "h1_2", "h1_3",
                         "z2_1", "z2_2", "h2_1", "h2_2", "answer"]
    xs = [[float(v) for v in row[1].lstrip("'").split(",")] for row in filled[1:]]
    filled[1][-1] = f"{by_hand(weights, xs[0]):g}"
    filled[2][-1] = f"{by_hand(weights, xs[1], relu=[]):g}"
    filled[3][-1] = "-20"
    with (out / "class.csv").open("w", newline="") as f:
        csv.writer(f).writerows(filled)
    assert main(["check", str(out / "exercise.keras"), "--answers", str(out / "class.csv"),
                 "--format", "json"]) == 1
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["code"] for r in rows][:2] == ["correct", "missing_activation"]
    assert rows[3]["code"] == "invalid"


def test_moodle_xml_parses_back(keras, tmp_path):
    roster = tmp_path / "roster.txt"
    roster.write_text("Ana\nBo & <Cy>\n")
    make_exercise(7, tmp_path / "ex", widths=(3, 2), students=["Ana", "Bo & <Cy>"],
                  digits=3, multiple_choice=True, moodle=True)
    root = ET.parse(tmp_path / "ex" / "moodle.xml").getroot()
    everything = root.findall("question")
    # one category per kind and seed (numerical), a sibling for the multiple choice
    assert [q.get("type") for q in everything] == ["category", "numerical", "numerical",
                                                   "category", "multichoice", "multichoice"]
    assert [q.findtext("category/text") for q in everything if q.get("type") == "category"] \
        == ["$course$/top/symnet/dense exercise 7",
            "$course$/top/symnet/dense exercise 7 (multiple choice)"]
    numerical = [q for q in everything if q.get("type") == "numerical"]
    choices = [q for q in everything if q.get("type") == "multichoice"]

    weights = weights_of(tmp_path / "ex")
    key = list(csv.DictReader(io.StringIO((tmp_path / "ex" / "key.csv").read_text())))
    for q, row in zip(numerical, key, strict=True):
        x = [float(v) for v in row["input"].lstrip("'").split(",")]
        y = by_hand(weights, x)
        answers = q.findall("answer")
        assert answers[0].get("fraction") == "100"
        assert float(answers[0].findtext("text")) == y
        tolerance = 0.5 * 10.0 ** (math.floor(math.log10(abs(y))) - 3 + 1)
        assert float(answers[0].findtext("tolerance")) == pytest.approx(tolerance)
        wrong = {round(w, 9) for w in catalogue_by_hand(weights, x).values()}
        for a in answers[1:]:
            assert a.get("fraction") == "0" and round(float(a.findtext("text")), 9) in wrong
            feedback = a.findtext("feedback/text")
            assert feedback and not re.search(r"\([a-z_]+\)", feedback)  # words, no codes
            # no wrong answer lies within the right one's tolerance, nor the other way round
            assert abs(float(a.findtext("text")) - y) > tolerance + float(a.findtext(
                "tolerance"))
        # named by exercise, kind and variant (the sheet's number), never by student
        assert row["student"] not in q.findtext("name/text")
        number = key.index(row) + 1
        assert q.findtext("name/text") == f"Exercise 7 (dense), variant {number:03d}, numerical"
    for q in choices:
        right = [a for a in q.findall("answer") if a.get("fraction") == "100"]
        assert len(right) == 1 and len(q.findall("answer")) >= 3


def test_sheets_are_self_contained_and_render(keras, tmp_path):
    make_exercise(4, tmp_path, widths=(3, 2), students=["Ana"], multiple_choice=True)
    page = (tmp_path / "sheets" / "001-ana.html").read_text()
    assert "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns="http://www.w3.org/1998/Math/MathML"', "")
    assert page.count('class="blank"') == 2 * (3 + 2) and "<svg" in page
    assert page.count("<li>(") == 5  # the multiple choice
    blocks = re.findall(r"<math.*?</math>", page, flags=re.S)
    assert all(ET.fromstring(b) is not None for b in blocks)
    chromium = require_tool("chromium")
    import subprocess

    shot = tmp_path / "sheet.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    f"--screenshot={shot}", "--window-size=900,1400",
                    (tmp_path / "sheets" / "001-ana.html").as_uri()], capture_output=True,
                   timeout=60, check=False)
    from PIL import Image

    image = np.asarray(Image.open(shot).convert("L"))
    assert image.shape == (1400, 900) and (image < 128).mean() > 0.005  # something drawn


def test_sheets_compile_to_pdf_even_for_a_hostile_name(keras, tmp_path, capsys):
    require_tool("pdflatex")
    hostile = r"\end{document}\input{/etc/hostname}^^2f $x$ & % # ~ _"
    written = make_exercise(3, tmp_path, widths=(2,), pdf=True, students=[hostile])
    pdfs = [p for p in written if p.suffix == ".pdf"]
    assert sorted(p.name for p in pdfs) == ["001-end-document-input-etc-hostname-.pdf",
                                            "exercise.pdf", "key.pdf", "sheets.pdf"]
    for pdf in pdfs:
        assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 1000
    assert main(["exercise", "--seed", "3", "--layers", "2", "--pdf", "-o",
                 str(tmp_path / "cli")]) == 0
    assert "exercise.pdf" in capsys.readouterr().err


def test_pdf_without_an_engine_is_a_clear_error(keras, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code = main(["exercise", "--seed", "3", "--pdf", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "pdflatex" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args", [["--seed", "-1"], ["--seed", "x"], ["--seed", "1",
                                                                       "--layers", "0"],
                                  ["--seed", "1", "--layers", "1.5"],
                                  ["--seed", "1", "--students", "/nonexistent/roster"]])
def test_bad_exercise_arguments(keras, tmp_path, capsys, args):
    try:
        code = main(["exercise", *args, "-o", str(tmp_path / "out")])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("symnet: error:") and "Traceback" not in err


# --- a small convolution and a small RNN, computed here with numpy ------------------------

def conv_by_hand(image, kernel, bias, v, c, *, flip=False, relu=True, pool="max"):
    k = kernel[::-1, ::-1] if flip else kernel
    z = np.array([[np.sum(image[i:i + 2, j:j + 2] * k) for j in range(4)] for i in range(4)])
    h = np.maximum(z + bias, 0) if relu else z + bias
    blocks = h.reshape(2, 2, 2, 2)
    p = blocks.max(axis=(1, 3)) if pool == "max" else blocks.mean(axis=(1, 3))
    return h, p, float(p.reshape(-1) @ v + c)


def rnn_by_hand(x, kernel, recurrent, bias, v, c, *, recurrence=True):
    h = np.zeros(2)
    states = []
    for x_t in x:
        h = np.tanh(x_t @ kernel + (h @ recurrent if recurrence else 0) + bias)
        states.append(h)
    return states, float(h @ v + c)


def test_a_convolution_exercise(keras, tmp_path, capsys):
    assert main(["exercise", "--seed", "3", "--kind", "conv", "-o", str(tmp_path)]) == 0
    capsys.readouterr()
    model = keras.models.load_model(tmp_path / "exercise.keras")
    (kernel, bias), (v, c) = (
        [w.astype(np.float64) for w in model.get_layer(name).get_weights()]
        for name in ("conv", "output"))
    x = np.array([float(t) for t in (tmp_path / "input.txt").read_text().split(",")])
    image = x.reshape(5, 5)
    h, p, y = conv_by_hand(image, kernel[..., 0, 0], bias[0], v[:, 0], c[0])
    steps = json.loads((tmp_path / "steps.json").read_text())
    assert steps == {"conv": h.reshape(-1).tolist(), "pool": p.reshape(-1).tolist(),
                     "output": [y]}
    exercise = build_exercise(3, kind="conv")
    wrong = {w.code: w.value for w in exercise.base.wrong}
    assert wrong["kernel_flipped"] == conv_by_hand(image, kernel[..., 0, 0], bias[0], v[:, 0],
                                                   c[0], flip=True)[2]
    assert wrong["wrong_pooling"] == conv_by_hand(image, kernel[..., 0, 0], bias[0], v[:, 0],
                                                  c[0], pool="average")[2]
    assert wrong["missing_activation"] == conv_by_hand(image, kernel[..., 0, 0], bias[0],
                                                       v[:, 0], c[0], relu=False)[2]
    assert all(apart(y, value) for value in wrong.values())
    net = symnet.explain(tmp_path / "exercise.keras")
    assert symnet.check(net, x.reshape(5, 5, 1), steps=steps).correct
    sheet = (tmp_path / "exercise.html").read_text()
    assert sheet.count('class="blank"') == 16 + 16 + 4 + 1 and "<svg" not in sheet


def test_an_rnn_exercise(keras, tmp_path):
    written = make_exercise(4, tmp_path, kind="rnn", students=["Ana", "Bo"],
                            multiple_choice=True)
    assert tmp_path / "key.csv" in written
    model = keras.models.load_model(tmp_path / "exercise.keras")
    kernel, recurrent, bias = (w.astype(np.float64) for w in model.get_layer("rnn").get_weights())
    v, c = (w.astype(np.float64) for w in model.get_layer("output").get_weights())
    key = list(csv.DictReader(io.StringIO((tmp_path / "key.csv").read_text())))
    exercise = build_exercise(4, kind="rnn", students=["Ana", "Bo"])
    assert any(row["input"].startswith("'-") for row in key)  # graded below all the same
    for row, variant in zip(key, exercise.variants, strict=True):
        # an input that starts with a minus is guarded from spreadsheets as '-1,...
        assert row["input"].startswith("'") == row["input"].startswith("'-")
        x = np.array([float(t) for t in row["input"].lstrip("'").split(",")]).reshape(3, 1)
        states, y = rnn_by_hand(x, kernel, recurrent, bias, v[:, 0], c[0])
        assert float(row["answer"]) == pytest.approx(y, rel=1e-5)
        np.testing.assert_allclose(variant.stages[1].values, states[1], rtol=1e-12)
        assert all(0.05 < abs(s) < 0.97 for s in np.concatenate(states))  # no saturated tanh
        wrong = {w.code: w.value for w in variant.wrong}
        forgot = rnn_by_hand(x, kernel, recurrent, bias, v[:, 0], c[0], recurrence=False)[1]
        assert wrong["recurrent_term_forgotten"] == pytest.approx(forgot, rel=1e-12)
        answer = f"{y:.4g}"
        net = symnet.explain(tmp_path / "exercise.keras")
        assert symnet.check(net, x, answer=answer).correct
        assert symnet.check(net, x, answer=f"{forgot:.4g}").diagnosis.code == \
            "recurrent_term_forgotten"
    # the class sheet as written, filled in with the right answers, grades all correct
    filled = list(csv.reader(io.StringIO((tmp_path / "class.csv").read_text())))
    for line, row in zip(filled[1:], key, strict=True):
        line[-1] = row["answer"]
    with (tmp_path / "class.csv").open("w", newline="") as f:
        csv.writer(f).writerows(filled)
    from symnet.homework.grade import grade_file

    graded = grade_file(symnet.explain(tmp_path / "exercise.keras"), tmp_path / "class.csv")
    assert [g.code for g in graded] == ["correct", "correct"]


def test_kind_and_dense_shape_do_not_mix(keras, tmp_path, capsys):
    assert main(["exercise", "--seed", "1", "--kind", "rnn", "--layers", "3",
                 "-o", str(tmp_path / "out")]) == 2
    assert "fixed shape" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
