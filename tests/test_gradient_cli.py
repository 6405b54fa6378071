"""``symnet grad`` and ``symnet step``: outputs equal the library's, exit codes, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import symnet
from symnet import examples
from symnet.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def regressor():
    return str(examples.seed_regressor_path())


def test_grad_text_shows_the_backpropagation(capsys, regressor):
    code, out, err = run(capsys, "grad", regressor, "--input", "10", "--target", "25",
                         "--loss", "(t - y)^2/2")
    assert code == 0 and err == ""
    assert "δ_1 = δ_2 W_2ᵀ ⊙ relu'(z_1)" in out
    assert "∂L/∂W_2 = h_1ᵀ δ_2" in out and "∂L/∂b_1 = δ_1" in out
    assert "dense/kernel" in out and "∂L/∂x = [0.0093789" in out


def test_grad_json_equals_the_library(capsys, regressor, tmp_path):
    target = tmp_path / "g.json"
    code, out, _ = run(capsys, "grad", regressor, "--input", "10", "--target", "25",
                       "--input", "3", "--target", "11", "--loss", "mse", "--precision",
                       "exact", "--format", "json", "-o", str(target))
    assert code == 0 and out == ""
    data = json.loads(target.read_text())
    g = symnet.explain(regressor).gradient([[10.0], [3.0]], [[25.0], [11.0]], loss="mse",
                                           precision="exact")
    assert data["loss"]["exact"] == str(g.loss)
    for key, value in g.parameters.items():
        np.testing.assert_allclose(np.asarray(data["parameters"][key]),
                                   np.asarray(value, np.float64), rtol=1e-15)
    steps = data["trace"]["steps"]
    assert [s["layer"] for s in steps] == ["dense_1", "dense"]
    assert steps[1]["delta"]["latex"] == r"\delta_{2} W_{2}^{T} \odot \operatorname{ReLU}'" \
        r"\left(z_{1}\right)"
    assert steps[1]["parameters"][0]["formula"].startswith("Σ_n")  # summed over the batch


def test_step_equals_the_library(capsys, regressor):
    code, out, _ = run(capsys, "step", regressor, "--input", "10", "--target", "25",
                       "--loss", "mse", "--learning-rate", "0.01", "--optimizer", "sgd",
                       "--momentum", "0.9", "--format", "json")
    assert code == 0
    data = json.loads(out)
    step = symnet.explain(regressor).train_step(10.0, 25.0, loss="mse", learning_rate=0.01,
                                                momentum=0.9)
    assert data["updated"] == list(step.updated)
    for key, value in step.items():
        np.testing.assert_array_equal(np.asarray(data["weights"][key], np.float32), value)
    code, out, _ = run(capsys, "step", regressor, "--input", "10", "--target", "25",
                       "--loss", "mse", "--learning-rate", "0.01", "--frozen", "dense")
    assert code == 0 and "(unchanged: frozen or not trainable)" in out


@pytest.mark.parametrize(("argv", "match"), [
    (["grad", "{model}", "--input", "10", "--target", "25", "--loss", "hinge"],
     "unknown loss 'hinge'"),
    (["grad", "{model}", "--input", "10", "--target", "25,3", "--loss", "mse"],
     "expected 1 number"),
    (["grad", "{model}", "--input", "10", "--loss", "mse"], "--target"),
    (["grad", "{model}", "--input", "10", "--target", "2", "--input", "3", "--loss", "mse"],
     "one target per input"),
    (["step", "{model}", "--input", "10", "--target", "25", "--loss", "mse"],
     "--learning-rate"),
    (["step", "{model}", "--input", "10", "--target", "25", "--loss", "mse",
      "--learning-rate", "-1"], "expected one number"),
    (["step", "{model}", "--input", "10", "--target", "25", "--loss", "mse",
      "--learning-rate", "0.1", "--optimizer", "adam", "--nesterov"], "--nesterov is for sgd"),
    (["step", "{model}", "--input", "10", "--target", "25", "--loss", "mse",
      "--learning-rate", "0.1", "--frozen", "nope"], "frozen names no weight"),
    (["grad", "nowhere.keras", "--input", "1", "--target", "1", "--loss", "mse"],
     "no such file"),
])
def test_errors_are_one_line(capsys, regressor, argv, match):
    argv = [a.replace("{model}", regressor) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("symnet: error: ") and err.count("\n") == 1, err
    assert match in err and "Traceback" not in err
