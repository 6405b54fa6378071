"""The command line: outputs, exit codes, one-line errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from symnet import examples
from symnet.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_version_and_help(capsys):
    for flag in ("--version", "--help"):
        with pytest.raises(SystemExit) as info:
            main([flag])
        assert info.value.code == 0
    out = capsys.readouterr().out
    assert "symnet 0.1.0" in out and "explain" in out


def test_explain_text(capsys):
    code, out, err = run(capsys, "explain", str(examples.regressor_path()), "--input", "10")
    assert code == 0 and err == ""
    assert "Max(0, x*W_1 + b_1)" in out and "Max(0, -0.5" in out
    assert "total" in out and "49" in out
    assert "Hand calculation at input [10]" in out


def test_explain_json_names_every_layer(capsys, tmp_path):
    target = tmp_path / "r.json"
    code, out, _ = run(capsys, "explain", str(examples.regressor_path()), "--format", "json",
                       "-o", str(target))
    assert code == 0 and out == ""
    data = json.loads(target.read_text())
    assert data["schema"] == "symnet.report/1"
    assert [layer["name"] for layer in data["layers"]] == ["dense", "dense_1"]
    kernel = data["layers"][0]["parameters"][0]
    assert (kernel["name"], kernel["symbol"], kernel["shape"], kernel["trainable"]) == (
        "kernel", "W_1", [1, 16], True)
    assert kernel["matrix_latex"].startswith(r"\begin{bmatrix}") and r"\cdots" in kernel[
        "matrix_latex"]
    assert data["param_count"] == 49 and "outputs" in data["closed_form"]


@pytest.mark.parametrize(("argv", "match"), [
    (["explain", "nowhere.keras"], "no such file"),
    (["explain", "{model}", "--input", "ten"], "--input"),
    (["explain", "{model}", "--input", "1,2"], "takes 1 number"),
    (["explain", "{model}", "--format", "pdf"], "needs a file"),
    (["explain", "{model}", "--interactive", "-o", "{tmp}/r.md"], "--interactive"),
    (["explain", "{model}", "-o", "{tmp}/missing/dir/out.txt"], "does not exist"),
    (["frobnicate"], "invalid choice"),
    ([], None),
])
def test_bad_usage_exits_2_with_one_line(capsys, tmp_path, argv, match):
    argv = [a.format(model=examples.regressor_path(), tmp=tmp_path) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    if match is not None:
        assert err.startswith("symnet: error: ") and match in err
        assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "missing").exists()


def test_unsupported_layer_file_exits_2(capsys, tmp_path, keras):
    inp = keras.Input((2,))
    model = keras.Model(inp, keras.layers.Lambda(lambda t: t + 1, name="plus_one")(inp))
    path = tmp_path / "lam.keras"
    model.save(path)
    code, out, err = run(capsys, "explain", str(path))
    assert code == 2 and out == ""
    assert err.startswith("symnet: error: layer 'plus_one' of class Lambda")
    assert err.count("\n") == 1


def test_console_script_runs_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "symnet", "explain", str(tmp_path / "x.h5")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("symnet: error:") and "Traceback" not in result.stderr


def test_why_text_and_json(capsys, tmp_path):
    model = str(examples.regressor_path())
    code, out, err = run(capsys, "why", model, "--input", "10", "--target", "2*x + 5",
                         "--domain", "0,20")
    assert code == 0 and err == ""
    assert "local law: y = 2.15" in out and "without the activations" in out
    code, out, _ = run(capsys, "why", model, "--input", "10", "--format", "json")
    data = json.loads(out)
    assert data["output"] == "y" and sum(data["contributions"].values()) == pytest.approx(
        data["value"], rel=1e-6)


@pytest.mark.parametrize(("argv", "match"), [
    (["--input", "10", "--target", "__import__('os')"], "unknown name '__import__'"),
    (["--input", "10", "--domain", "5,1"], "--domain"),
    (["--target", "2x"], "--input"),
])
def test_why_bad_input_exits_2(capsys, argv, match):
    try:
        code = main(["why", str(examples.regressor_path()), *argv])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("symnet: error:") and match in err
    assert err.count("\n") == 1


def test_progress_only_on_a_terminal():
    import io

    from symnet.cli import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    quiet, loud = io.StringIO(), Terminal()
    for stream in (quiet, loud):
        progress = Progress(stream)
        progress("reading")
        progress.done()
    assert quiet.getvalue() == "" and "symnet: reading" in loud.getvalue()


def test_output_suffix_picks_the_format(capsys, tmp_path):
    model = str(examples.seed_regressor_path())
    for name, start in (("r.html", "<!DOCTYPE html>"), ("r.tex", r"\documentclass"),
                        ("r.md", "# Model"), ("r.json", "{")):
        code, out, err = run(capsys, "explain", model, "--input", "10", "-o", str(tmp_path / name))
        assert code == 0 and out == "" and err == ""
        assert (tmp_path / name).read_text(encoding="utf-8").startswith(start), name
    code, _, _ = run(capsys, "explain", model, "--format", "text", "-o", str(tmp_path / "t.html"))
    assert code == 0 and (tmp_path / "t.html").read_text().startswith("Model ")


def test_output_pdf_is_a_pdf(capsys, tmp_path):
    from .conftest import require_tool

    require_tool("pdflatex")
    code, _, err = run(capsys, "explain", str(examples.seed_regressor_path()), "--input", "10",
                       "-o", str(tmp_path / "r.pdf"))
    assert code == 0 and err == ""
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")


def test_interactive_page(capsys, tmp_path):
    target = tmp_path / "x.html"
    code, _, _ = run(capsys, "explain", str(examples.seed_regressor_path()), "--input", "10",
                     "--interactive", "-o", str(target))
    page = target.read_text(encoding="utf-8")
    assert code == 0 and 'id="symnet-explorer"' in page and 'id="symnet-network"' in page


def test_domain_without_input_removes_the_dead_units(capsys):
    code, out, _ = run(capsys, "explain", str(examples.seed_regressor_path()), "--domain", "0,20")
    assert code == 0 and "constant on the box (dead)" in out
    code, plain, _ = run(capsys, "explain", str(examples.seed_regressor_path()))
    assert "constant on the box (dead)" not in plain


def test_why_answers_the_seed_question_on_one_screen(capsys):
    code, out, _ = run(capsys, "why", str(examples.seed_regressor_path()), "--input", "10",
                       "--target", "2*x + 5", "--domain", "0,20")
    assert code == 0 and len(out.splitlines()) <= 24
    assert "25.00466" in out and "20.47502" in out
    assert "inactive: 0, 2, 3, 4, 6, 8, 9, 10, 11, 12, 13, 15" in out
    assert "local law: y = 2.011977*x + 4.884887" in out and "x <= 11.2951" in out


def test_why_explains_the_predicted_class(capsys, tmp_path, keras):
    import numpy as np

    from .conftest import randomize

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(5, activation="softmax")])
    randomize(model, 21)
    path = tmp_path / "classifier.keras"
    model.save(path)
    x = [0.3, -1.2, 2.0]
    predicted = int(np.argmax(model.predict(np.array([x]), verbose=0)[0]))
    code, out, _ = run(capsys, "why", str(path), "--input", ",".join(map(str, x)))
    assert code == 0 and out.startswith(f"output {predicted} of 5: the predicted class")
    assert out.splitlines()[1].startswith(f"y_{predicted + 1} at x")  # outputs y_1 ... y_5
    other = (predicted + 1) % 5
    code, out, _ = run(capsys, "why", str(path), "--input", ",".join(map(str, x)),
                       "--output-index", str(other))
    assert code == 0 and out.startswith(f"y_{other + 1} at x")
