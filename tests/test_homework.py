"""For teachers: exercises deterministic per seed, and grading a class from a CSV."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import numpy as np

import symnet
from symnet.cli import main
from symnet.homework.exercise import make_exercise

from .conftest import require_tool


def test_exercise_is_deterministic_and_its_key_checks(keras, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    make_exercise(11, first, widths=(3, 2), inputs=2)
    make_exercise(11, second, widths=(3, 2), inputs=2)
    for name in ("exercise.tex", "exercise.html", "key.txt", "steps.json", "input.txt"):
        assert (first / name).read_text() == (second / name).read_text(), name
    x = [float(v) for v in (first / "input.txt").read_text().split(",")]
    net = symnet.explain(first / "exercise.keras")
    steps = json.loads((first / "steps.json").read_text())
    assert symnet.check(net, x, steps=steps).correct
    hidden = np.array(steps["hidden_1"])
    assert np.any(hidden > 0) and np.any(hidden == 0)  # a ReLU worth computing
    no_relu = {"hidden_1": (np.array(x) @ net.layer("hidden_1").parameters["kernel"]
                            + net.layer("hidden_1").parameters["bias"]).tolist()}
    verdict = symnet.check(net, x, steps=no_relu)
    assert verdict.first_wrong_step == "hidden_1"
    assert verdict.diagnosis.code == "missing_activation"
    page = (first / "exercise.html").read_text()
    blocks = re.findall(r"<math.*?</math>", page, flags=re.S)
    assert len(blocks) >= 5 and all(ET.fromstring(b).get("display") == "block" for b in blocks)
    assert r"\documentclass{article}" in (first / "exercise.tex").read_text()


def test_exercise_sheet_compiles_to_pdf(keras, tmp_path, capsys):
    require_tool("pdflatex")
    assert main(["exercise", "--seed", "3", "--layers", "2", "--pdf", "-o", str(tmp_path)]) == 0
    pdf = tmp_path / "exercise.pdf"
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 1000
    assert "exercise.pdf" in capsys.readouterr().err


def test_pdf_without_an_engine_is_a_clear_error(keras, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code = main(["exercise", "--seed", "3", "--pdf", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "pdflatex" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
