"""Grading a class from a CSV: the policy per class and per row, per-step columns with
follow-through, the grades as text, JSON and CSV, and a summary of the class's mistakes."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

import symnet
from symnet.cli import main
from symnet.homework import Policy
from symnet.homework.grade import grade, summarize

from .homework_models import seed_regressor, shown, weights


@pytest.fixture(scope="module")
def model():
    return str(symnet.examples.regressor_path())


def grades(capsys, model, tmp_path, text, *extra):
    path = tmp_path / "class.csv"
    path.write_text(text)
    code = main(["check", model, "--answers", str(path), "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_a_class_graded(capsys, model, tmp_path):
    code, data = grades(capsys, model, tmp_path, "student,input,answer\nana,10,24.6\n"
                        "bo,10,22.86\ndee,ten,3\ncy,10,25\n")
    assert code == 1
    assert [(r["student"], r["correct"], r["code"]) for r in data["rows"]] == [
        ("ana", True, "rounding"), ("bo", False, "missing_activation"),
        ("dee", False, "invalid"), ("cy", False, "too_imprecise")]
    summary = data["summary"]
    assert (summary["rows"], summary["correct"], summary["invalid"]) == (4, 1, 1)
    assert summary["mistakes"] == [
        {"code": "missing_activation", "count": 1, "students": ["bo"]},
        {"code": "too_imprecise", "count": 1, "students": ["cy"]}]
    code, _ = grades(capsys, model, tmp_path, "student,input,answer\nana,10,24.6\n")
    assert code == 0
    path = tmp_path / "class.csv"
    path.write_text("who,what\n1,2\n")
    assert main(["check", model, "--answers", str(path)]) == 2
    assert "columns 'input'" in capsys.readouterr().err


def test_digits_for_the_class_and_per_row(keras, tmp_path):
    # the class: an output of -9.75, where -10 was accepted and -9.7 was not
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, name="d")])
    model.set_weights([np.array([[-0.5]], np.float32), np.array([-4.75], np.float32)])
    net = symnet.explain(model)
    text = "student,input,answer,digits\na,10,-10,\nb,10,-9.7,\nc,10,-9.75,\nd,10,-9.7,2\n" \
           "e,10,-10,2\nf,10,-9.8,2\n"
    codes = [(r.student, r.code) for r in grade(net, text)]
    assert codes == [("a", "too_imprecise"), ("b", "too_imprecise"), ("c", "correct"),
                     ("d", "rounding"), ("e", "too_imprecise"), ("f", "rounding")]
    relaxed = [r.code for r in grade(net, text, Policy(digits=1))]
    assert relaxed[:3] == ["rounding", "rounding", "correct"]


def test_per_step_columns_with_follow_through(keras, tmp_path, capsys):
    net_model = seed_regressor(keras)
    net = symnet.explain(net_model)
    d1, d2 = weights(net, "dense"), weights(net, "dense_1")
    pre = 10 * d1["kernel"][0] + d1["bias"]
    right = np.maximum(pre, 0)
    forgot = float(pre @ d2["kernel"][:, 0] + d2["bias"][0])
    y = float(right @ d2["kernel"][:, 0] + d2["bias"][0])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows([["student", "input", "dense", "answer"],
                      ["ana", "10", ",".join(shown(right)), shown([y])[0]],
                      ["bo", "10", ",".join(shown(pre)), shown([forgot])[0]],
                      ["cy", "10", "", "24.6"]])
    rows = list(grade(net, out.getvalue()))
    assert [(r.student, r.correct, r.code) for r in rows] == [
        ("ana", True, "correct"), ("bo", False, "missing_activation"),
        ("cy", False, "unknown")]
    assert rows[0].steps == {"dense": "right", "dense_1": "right"} and rows[0].score == 1.0
    assert rows[1].steps == {"dense": "wrong", "dense_1": "consistent"}
    assert rows[1].score == 0.5 and rows[2].score is None
    path = tmp_path / "model.keras"
    net_model.save(path)
    answers = tmp_path / "class.csv"
    answers.write_text(out.getvalue())
    assert main(["check", str(path), "--answers", str(answers), "--format", "csv"]) == 1
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["student"], r["score"], r["dense:status"], r["dense_1:status"]) for r in table] \
        == [("ana", "1", "right", "right"), ("bo", "0.5", "wrong", "consistent"),
            ("cy", "", "", "")]


def test_the_summary_names_the_most_common_mistakes(model, capsys, tmp_path):
    net = symnet.explain(model)
    rows = "".join(f"s{i},10,22.86\n" for i in range(3)) + "t1,10,24.6\nt2,10,20\n" \
        "u1,10,abc\n"
    graded = list(grade(net, "student,input,answer\n" + rows))
    summary = summarize(graded)
    assert summary.mistakes[0] == ("missing_activation", ("s0", "s1", "s2"))
    assert summary.mistakes[1] == ("too_imprecise", ("t2",))
    path = tmp_path / "class.csv"
    path.write_text("student,input,answer\n" + rows)
    main(["check", model, "--answers", str(path)])
    text = capsys.readouterr().out
    assert "1 of 6 correct, 1 invalid row" in text
    assert "most common mistakes:" in text and "s0, s1, s2" in text


def test_digits_on_the_command_line(model, capsys):
    assert main(["check", model, "--input", "10", "--answer", "24.6", "--digits", "4"]) == 1
    assert "too_imprecise" not in capsys.readouterr().out  # the message says it in words
    assert main(["check", model, "--input", "10", "--answer", "24.60", "--digits", "4"]) == 0
    capsys.readouterr()
    for bad in (["--digits", "0"], ["--digits", "x"], ["--rtol", "2"], ["--digits", "١"]):
        with pytest.raises(SystemExit) as exit_:
            main(["check", model, "--input", "10", "--answer", "24.6", *bad])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("symnet: error:") and err.count("\n") == 1
