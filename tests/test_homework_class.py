"""A class set graded as a lecturer grades it: the class CSV with the sheet's step columns,
numbers as students write them, circled letters through the key, unknown columns refused,
variants distinct by construction, negative numbers on the command line; the keys and the
merged sheets as PDF with names in any script; Canvas QTI and Moodle parsed back; an exercise
on the teacher's own network. Every expected number is computed here with numpy."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import subprocess
import unicodedata
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest

import symnet
from symnet.cli import main
from symnet.homework.exercise import build_exercise, make_exercise
from symnet.homework.grade import grade_file
from symnet.homework.key import load_key

from .conftest import require_tool

ROSTER = ["Ana Lima", "Bo Chen", "Chidi Okafor", "Dana Levi"]


def relu(v):
    return np.maximum(v, 0)


@pytest.fixture(scope="module")
def dense_class(tmp_path_factory, keras):
    folder = tmp_path_factory.mktemp("dense")
    make_exercise(7, folder, widths=(3, 2), students=ROSTER, multiple_choice=True,
                  moodle=True, qti=True)
    model = keras.models.load_model(folder / "exercise.keras")
    weights = [np.asarray(a, np.float64) for a in model.get_weights()]
    return folder, weights


def by_hand(w, x):
    """Every stage of the dense exercise: z1, h1, z2, h2, y."""
    z1 = np.asarray(x, np.float64) @ w[0] + w[1]
    h1 = relu(z1)
    z2 = h1 @ w[2] + w[3]
    h2 = relu(z2)
    return {"z1": z1, "h1": h1, "z2": z2, "h2": h2, "y": h2 @ w[4] + w[5]}


def rows_of(path):
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def inputs(row):
    return np.array([float(v) for v in row["input"].lstrip("'").replace(" ", ",").split(",")])


def test_the_key_has_every_value_the_sheet_asks_for(dense_class):
    folder, w = dense_class
    key = rows_of(folder / "key.csv")
    assert [r["student"] for r in key] == ROSTER
    for row in key:
        stages = by_hand(w, inputs(row))
        for name in ("z1", "h1", "z2", "h2"):
            got = [float(row[f"{name}_{i + 1}"]) for i in range(stages[name].size)]
            np.testing.assert_allclose(got, stages[name], rtol=1e-6)
        assert float(row["answer"]) == pytest.approx(stages["y"][0])
        assert float(row[f"choice {row['choice']}"]) == pytest.approx(stages["y"][0])
    template = rows_of(folder / "class.csv")
    assert list(template[0]) == ["student", "input", "z1_1", "z1_2", "z1_3", "h1_1", "h1_2",
                                 "h1_3", "z2_1", "z2_2", "h2_1", "h2_2", "answer"]
    assert [r["input"] for r in template] == [r["input"] for r in key]


def test_steps_with_follow_through_and_numbers_as_written(dense_class):
    folder, w = dense_class
    key = rows_of(folder / "key.csv")
    header = ["student", "input", "z1_1", "z1_2", "z1_3", "h1_1", "h1_2", "h1_3", "z2_1",
              "z2_2", "h2_1", "h2_2", "answer"]

    def row(student, stages, answer):
        x = next(r["input"] for r in key if r["student"] == student)
        cells = [f"{v:g}".replace("-", "−") for name in ("z1", "h1", "z2", "h2")
                 for v in stages[name]]
        return [student, x, *cells, answer]

    ana = by_hand(w, inputs(key[0]))
    bo = by_hand(w, inputs(key[1]))
    # Bo forgets the ReLU of layer 1, then computes on correctly from his own h1
    own = dict(bo, h1=bo["z1"])
    own["z2"] = own["h1"] @ w[2] + w[3]
    own["h2"] = relu(own["z2"])
    own["y"] = own["h2"] @ w[4] + w[5]
    path = folder / "steps.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerow(row("Ana Lima", ana, f"{ana['y'][0]:g}".replace("-", "−")))
        writer.writerow(row("Bo Chen", own, f"{own['y'][0]:.6g}"))
    graded = grade_file(symnet.explain(folder / "exercise.keras"), path)
    assert graded[0].correct and graded[0].score == 1.0
    assert graded[0].steps == {"z1": "right", "h1": "right", "z2": "right", "h2": "right",
                               "y": "right"}
    assert not graded[1].correct
    assert graded[1].steps["z1"] == "right" and graded[1].steps["h1"] == "wrong"
    assert {graded[1].steps[k] for k in ("z2", "h2", "y")} <= {"right", "consistent"}
    assert "First wrong step: h⁽¹⁾" in graded[1].message


def test_a_class_csv_read_as_students_write(dense_class, capsys):
    folder, w = dense_class
    key = rows_of(folder / "key.csv")
    x = inputs(key[0])
    y = float(by_hand(w, x)["y"][0])
    spaced, comma = " ".join(f"{v:g}" for v in x), ",".join(f"{v:g}" for v in x)
    model = str(folder / "exercise.keras")
    cases = [
        # the Unicode minus, an exponent, a decimal comma in a ;-separated CSV
        (f'student,input,answer\nAna Lima,"{comma}",{f"{y:g}".replace("-", "−")}\n', []),
        (f'student,input,answer\nAna Lima,"{comma}",{y / 10:g}e1\n', []),
        (f"student;input;answer\nAna Lima;{spaced};{f'{y:.1f}'.replace('.', ',')}\n", []),
        # a decimal comma in a comma CSV, quoted, with the flag
        (f'student,input,answer\nAna Lima,"{spaced}","{f"{y:.1f}".replace(".", ",")}"\n',
         ["--decimal-comma"]),
        # the letter circled on Ana's multiple-choice sheet
        (f'student,input,answer\nAna Lima,"{comma}",{key[0]["choice"]}\n', []),
        (f'student,input,answer\nAna Lima,"{comma}",({key[0]["choice"].lower()})\n', []),
    ]
    for text, flags in cases:
        path = folder / "case.csv"
        path.write_text(text, encoding="utf-8")
        code = main(["check", model, "--answers", str(path), "--format", "json", *flags])
        rows = json.loads(capsys.readouterr().out)["rows"]
        assert (code, rows[0]["code"]) == (0, rows[0]["code"]) and rows[0]["correct"], text
    # a wrong letter is the number beside it, diagnosed as that number
    wrong = next(letter for letter in "ABCDE" if letter != key[0]["choice"]
                 and f"choice {letter}" in key[0])
    path = folder / "case.csv"
    path.write_text(f'student,input,answer\nAna Lima,"{comma}",{wrong}\n', encoding="utf-8")
    assert main(["check", model, "--answers", str(path), "--format", "json"]) == 1
    row = json.loads(capsys.readouterr().out)["rows"][0]
    assert row["confidence"] == "exact" and row["code"] not in ("unknown", "invalid")


def test_unknown_columns_are_named(dense_class, capsys):
    folder, _ = dense_class
    path = folder / "bad.csv"
    path.write_text('student,input,h_1,z1_4,answer\nAna,"1,2",1,2,-3\n', encoding="utf-8")
    assert main(["check", str(folder / "exercise.keras"), "--answers", str(path)]) == 2
    err = capsys.readouterr().err
    assert "'h_1'" in err and "'z1_4'" in err and err.count("\n") == 1


def test_negative_numbers_on_every_numeric_option(dense_class, capsys, tmp_path):
    folder, w = dense_class
    model = str(folder / "exercise.keras")
    x = np.array([-2.0, -1.0])
    y = float(by_hand(w, x)["y"][0])
    assert main(["check", model, "--input", "-2,-1", "--answer", f"{y / 10:g}e1"]) == 0
    assert main(["check", model, "--input", "-2,-1", "--answer", f"{y - 26:.4g}"]) == 1
    out = capsys.readouterr().out
    assert "(--steps FILE.json)" in out and "steps=" not in out  # the command line's words
    # each numeric option takes a value that starts with a minus; out-of-range ones are
    # refused by their own check, never with "expected one argument"
    for argv in (["explain", model, "--input", "-2,-1", "--format", "json"],
                 ["why", model, "--input", "-2,-1", "--domain", "-3,3"],
                 ["why", model, "--input", "-2,-1", "--output-index", "-1"],
                 ["check", model, "--formula", "-x_1", "--domain", "-1,1"],
                 ["check", model, "--input", "-2,-1", "--answer", "-1", "--digits", "-1"],
                 ["check", model, "--input", "-2,-1", "--answer", "-1", "--rtol", "-1"],
                 ["check", model, "--input", "-2,-1", "--answer", "-1", "--atol", "-1e-3"],
                 ["check", model, "--input", "-2,-1", "--answer", "-1", "--close", "-0.1"],
                 ["exercise", "--seed", "-1", "-o", str(tmp_path / "a")],
                 ["exercise", "--seed", "1", "--layers", "-2", "-o", str(tmp_path / "b")],
                 ["exercise", "--seed", "1", "--digits", "-3", "-o", str(tmp_path / "c")],
                 ["exercise", "--seed", "1", "--model", model, "--inputs", "-2..2",
                  "--digits", "2", "-o", str(tmp_path / "d")]):
        try:
            main(argv)
        except SystemExit:
            pass
        err = capsys.readouterr().err
        assert "expected one argument" not in err, (argv, err)
    assert (tmp_path / "d" / "exercise.json").exists()


@pytest.mark.parametrize("kind", ["dense", "conv", "rnn"])
def test_thirty_students_have_distinct_inputs_and_answers(keras, kind):
    students = [f"Student {i:02d}" for i in range(30)]
    exercise = build_exercise(11, (3,), 2, students, 3, kind)
    xs = {v.x.tobytes() for v in exercise.variants}
    assert len(xs) == 30
    answers = sorted(v.answer for v in exercise.variants)
    for a, b in itertools.pairwise(answers):  # more than a unit apart in the third digit
        assert abs(b - a) > 10.0 ** (np.floor(np.log10(max(abs(a), abs(b)))) - 2)
    # the same roster in another order gives everyone the same variant
    again = build_exercise(11, (3,), 2, list(reversed(students)), 3, kind)
    mine = {v.student: v.x.tobytes() for v in again.variants}
    assert all(mine[v.student] == v.x.tobytes() for v in exercise.variants)


def test_a_class_too_large_for_the_shape_is_said(keras):
    students = [f"Student {i:02d}" for i in range(30)]
    with pytest.raises(symnet.InvalidInputError, match="class is too large for the shape"):
        build_exercise(3, (2,), 1, students, 3, "dense")


def test_a_copied_answer_is_another_students(dense_class):
    folder, w = dense_class
    key = rows_of(folder / "key.csv")
    net = symnet.explain(folder / "exercise.keras")
    bo = float(by_hand(w, inputs(key[1]))["y"][0])
    verdict = symnet.check(net, inputs(key[0]), answer=f"{bo:g}",
                           key=folder / "exercise.json")
    assert verdict.diagnosis.student == "Bo Chen"
    assert "Bo Chen" in verdict.diagnosis.message


NAMES = ["Émile Dubois", "Gustav Müller", "Zoë Ødegaard", "Иван Петров",
         "Γιώργος Παπαδόπουλος"]


def _has(encoding):
    found = subprocess.run(["kpsewhich", f"{encoding.lower()}enc.def"], capture_output=True,
                           text=True, check=False)
    return bool(found.stdout.strip())


def test_names_in_any_script_a_latex_engine_sets(keras, tmp_path):
    require_tool("pdflatex")
    pdftotext = require_tool("pdftotext")
    scripts = {"Иван Петров": "T2A", "Γιώργος Παπαδόπουλος": "LGR"}
    settable = [n for n in NAMES if n not in scripts or _has(scripts[n])]
    refused = [n for n in NAMES if n not in settable]
    if refused and os.environ.get("SYMNET_REQUIRE_TOOLS") == "1":  # CI installs them
        pytest.fail(f"TeX lacks the font encodings of {refused} and SYMNET_REQUIRE_TOOLS=1")
    for name in refused:  # this TeX lacks the encoding: a clear refusal, nothing written
        with pytest.raises(symnet.InvalidInputError, match=f"{scripts[name]} font encoding"):
            make_exercise(3, tmp_path / "refused", widths=(2,), pdf=True, students=[name])
        assert not (tmp_path / "refused").exists()
    make_exercise(3, tmp_path / "ex", widths=(2,), pdf=True, students=settable,
                  multiple_choice=True)
    for pdf in ("sheets.pdf", "key.pdf"):
        text = unicodedata.normalize("NFC", subprocess.run(
            [pdftotext, str(tmp_path / "ex" / pdf), "-"], capture_output=True, text=True,
            check=True).stdout)
        for name in settable:
            assert name in text, (pdf, name)
    pages = subprocess.run([pdftotext, str(tmp_path / "ex" / "sheets.pdf"), "-"],
                           capture_output=True, text=True, check=True).stdout.count("\f")
    assert pages >= len(settable)  # one sheet after the other, each from a new page
    # a script no standard encoding sets is refused by name, before anything is written
    with pytest.raises(symnet.InvalidInputError, match="cannot set"):
        make_exercise(3, tmp_path / "cjk", widths=(2,), students=["王芳"])
    assert not (tmp_path / "cjk").exists()


def test_canvas_qti_parses_back(dense_class):
    folder, w = dense_class
    key = rows_of(folder / "key.csv")
    with zipfile.ZipFile(folder / "canvas-qti.zip") as archive:
        manifest = ET.fromstring(archive.read("imsmanifest.xml"))
        ns = {"cp": "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"}
        href = manifest.find("cp:resources/cp:resource/cp:file", ns).get("href")
        root = ET.fromstring(archive.read(href))
    q = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
    groups = root.findall(f"{q}assessment/{q}section/{q}section")
    assert [g.get("title") for g in groups] == ["Exercise 7 (dense), numerical",
                                                "Exercise 7 (dense), multiple choice"]
    for group in groups:  # one variant drawn per student
        assert group.findtext(f"{q}selection_ordering/{q}selection/{q}selection_number") == "1"
    numerical = groups[0].findall(f"{q}item")
    assert len(numerical) == len(ROSTER)
    for item, row in zip(numerical, key, strict=True):
        assert row["student"] not in item.get("title")
        y = float(by_hand(w, inputs(row))["y"][0])
        scoring = [c for c in item.iter(f"{q}respcondition")
                   if c.find(f"{q}setvar") is not None]
        assert len(scoring) == 1
        low = float(scoring[0].find(f".//{q}vargte").text)
        high = float(scoring[0].find(f".//{q}varlte").text)
        assert low < y < high and high - low == pytest.approx(
            10.0 ** (np.floor(np.log10(abs(y))) - 2))
        feedback = [f.findtext(f".//{q}mattext") for f in item.findall(f"{q}itemfeedback")]
        assert feedback and all(not re.search(r"\([a-z_]+\)", t) for t in feedback)
    for item, row in zip(groups[1].findall(f"{q}item"), key, strict=True):
        right = [c for c in item.iter(f"{q}respcondition") if c.find(f"{q}setvar") is not None]
        ident = right[0].findtext(f".//{q}varequal")
        assert ident.endswith("_" + row["choice"])
        shown = {lab.get("ident"): float(lab.findtext(f".//{q}mattext"))
                 for lab in item.iter(f"{q}response_label")}
        assert shown[ident] == pytest.approx(float(row["answer"]))


def test_an_exercise_on_the_teachers_network(keras, tmp_path, capsys):
    rng = np.random.default_rng(3)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu",
                                                                    name="hid"),
                              keras.layers.Dense(1, name="out")])
    w = [rng.integers(-4, 5, (3, 4)) / 2, rng.integers(-4, 5, 4) / 2,
         rng.integers(-4, 5, (4, 1)) / 2, rng.integers(-4, 5, 1) / 2]
    model.set_weights([a.astype(np.float32) for a in w])
    model.save(tmp_path / "net.keras")
    roster = tmp_path / "roster.txt"
    roster.write_text("\n".join(ROSTER) + "\n", encoding="utf-8")
    out = tmp_path / "ex"
    assert main(["exercise", "--seed", "5", "--model", str(tmp_path / "net.keras"),
                 "--inputs", "-2..2", "--students", str(roster), "--multiple-choice",
                 "--moodle", "--qti", "-o", str(out)]) == 0
    capsys.readouterr()
    key = rows_of(out / "key.csv")
    assert len({r["input"] for r in key}) == len(ROSTER)
    for row in key:
        x = inputs(row)
        assert set(x) <= {-2.0, -1.0, 0.0, 1.0, 2.0}
        z = x @ w[0] + w[1]
        np.testing.assert_allclose([float(row[f"z1_{i}"]) for i in range(1, 5)], z)
        np.testing.assert_allclose([float(row[f"h1_{i}"]) for i in range(1, 5)], relu(z))
        assert float(row["answer"]) == pytest.approx(float(relu(z) @ w[2][:, 0] + w[3][0]))
    assert load_key(out / "exercise.json").kind == "model"
    filled = out / "answers.csv"
    filled.write_text("student,input,answer\n" + "".join(
        f'{r["student"]},"{r["input"]}",{r["choice"]}\n' for r in key), encoding="utf-8")
    assert main(["check", str(out / "exercise.keras"), "--answers", str(filled)]) == 0
    assert "4 of 4 correct" in capsys.readouterr().out
    with pytest.raises(symnet.InvalidInputError, match="chain of Dense layers"):
        conv = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(1, 2),
                                 keras.layers.Flatten(), keras.layers.Dense(1)])
        conv.save(tmp_path / "conv.keras")
        from symnet.homework.model import build_model_exercise

        build_model_exercise(str(tmp_path / "conv.keras"), (0.0, 1.0), None, 3, 1)


def test_why_speaks_the_sheets_notation(dense_class, capsys):
    folder, w = dense_class
    x = inputs(rows_of(folder / "key.csv")[0])
    stages = by_hand(w, x)
    assert main(["why", str(folder / "exercise.keras"), "--input",
                 ",".join(f"{v:g}" for v in x)]) == 0
    text = capsys.readouterr().out
    for j in range(2):
        if stages["h2"][j] != 0:
            term = stages["h2"][j] * w[4][j, 0]
            assert re.search(rf"h⁽²⁾{'₁₂'[j]}·W₃\[{j + 1},1\] = {term:+.6g}", text), text
    assert f"b₃[1] = {w[5][0]:+.6g}" in text
    assert "units active" in text and "h⁽¹⁾" in text


def test_an_exercise_on_an_onnx_network(keras, tmp_path, capsys):
    """The teacher's network as an ONNX file (MatMul, Add, Relu, Gemm): the sheet's numbers are
    the network's by hand, exercise.keras holds its weights bit for bit, and the class is
    graded from it."""
    pytest.importorskip("onnx")
    from onnx import helper

    from .onnx_graphs import make_model

    rng = np.random.default_rng(8)
    w1, b1 = rng.integers(-4, 5, (3, 4)) / 2, rng.integers(-4, 5, 4) / 2
    w2, b2 = rng.integers(-4, 5, (4, 1)) / 2, rng.integers(-4, 5, 1) / 2
    arrays = {k: v.astype(np.float32) for k, v in
              {"W1": w1, "B1": b1, "W2": w2, "B2": b2}.items()}
    model = make_model([helper.make_node("MatMul", ["x", "W1"], ["xw"]),
                        helper.make_node("Add", ["xw", "B1"], ["z"]),
                        helper.make_node("Relu", ["z"], ["h"]),
                        helper.make_node("Gemm", ["h", "W2", "B2"], ["y"])],
                       [("x", [None, 3])], ["y"], arrays)
    path = tmp_path / "teacher.onnx"
    path.write_bytes(model.SerializeToString())
    roster = tmp_path / "roster.txt"
    roster.write_text("\n".join(ROSTER) + "\n", encoding="utf-8")
    out = tmp_path / "ex"
    assert main(["exercise", "--seed", "2", "--model", str(path), "--inputs", "-2..2",
                 "--students", str(roster), "-o", str(out)]) == 0
    capsys.readouterr()
    key = rows_of(out / "key.csv")
    assert len({r["input"] for r in key}) == len(ROSTER)
    for row in key:
        x = inputs(row)
        z = x @ w1 + b1
        np.testing.assert_allclose([float(row[f"z1_{i}"]) for i in range(1, 5)], z)
        assert float(row["answer"]) == pytest.approx(float(relu(z) @ w2[:, 0] + b2[0]))
    saved = keras.saving.load_model(out / "exercise.keras")
    for got, want in zip(saved.get_weights(), arrays.values()):
        assert np.array_equal(got.reshape(-1), want.reshape(-1))
    filled = out / "answers.csv"
    filled.write_text("student,input,answer\n" + "".join(
        f'{r["student"]},"{r["input"]}",{r["answer"]}\n' for r in key), encoding="utf-8")
    assert main(["check", str(out / "exercise.keras"), "--answers", str(filled)]) == 0
    assert f"{len(ROSTER)} of {len(ROSTER)} correct" in capsys.readouterr().out
