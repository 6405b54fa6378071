"""User formulas (issue 15, "User formulas (41)"): every malformed or non-real formula is an
``InvalidInputError`` that quotes it, quickly; evaluation is bounded in degree, magnitude,
nesting and time, never complex, never a silent overflow. Through the API and the CLI."""

from __future__ import annotations

import time

import numpy as np
import pytest

import symnet
from symnet import InvalidInputError
from symnet.cli import main

MAX_OF_100_LINES = "max(" + ", ".join(f"{i}*x - {i * i % 17}" for i in range(100)) + ")"
NESTED_EXP = "exp(" * 60 + "x" + ")" * 60

#: formula -> a word of the reason the error gives.
REFUSED = {
    "1/0": "division by zero", "x/0": "division by zero", "log(0)": "log(0)",
    "0^-1": "division by zero", r"\frac{1}{0}": "division by zero",
    "sqrt(-1)": "not a real number", "log(-1)": "not a real number",
    "(-8)^(1/3)": "not a real number", "exp(1,2)": "takes exactly 1 argument",
    "relu(x,x)": "takes exactly 1 argument", "sqrt()": "takes exactly 1 argument",
    "(2^63)^64*x": "too large", "1e309*x": "too large",
    "((((x+1)^64)^64)^64)^64": "degree", "exp(exp(exp(exp(exp(99)))))": "too large",
    NESTED_EXP: "nested too deeply", "relu(x, 1)": "takes exactly 1 argument",
    "exp(x, 1)": "takes exactly 1 argument", "abs()": "takes exactly 1 argument",
    "tanh(x, x)": "takes exactly 1 argument", "sqrt(x, 2)": "takes exactly 1 argument",
    "max()": "at least 2 arguments", "min(x)": "at least 2 arguments",
    "sqrt(x - 100)": "not a real number at x", "log(x)": "not a real number at x",
    "1e-400*x": "too small", "tan(pi/2)": "not defined", "x/(x-x)": "not defined",
    "0/0": "division by zero", "exp(710)": "too large", "10^400": "exponent",
    "1e299*1000*x": "too large",
    "(1/3)^(-65)": "exponent", "x^(10^10)": "exponent", "2^^3": "malformed",
    "max(0,,x)": "malformed", r"\sqrt{}": "takes exactly 1 argument",
    "sigmoid(x, 2)": "takes exactly 1 argument", "ln(x, 2)": "takes exactly 1 argument",
    "sqrt(-x^2 - 1)": "not a real number at x", "exp(exp(exp(x)))": "not a real number at x",
    "x^64*1e299": "not a real number at x", "(-1)^(1/2)": "not a real number",
    "0x10*x": "decimal", "1_000*x": "decimal", "1j*x": "not allowed", "e^x": "exp(",
}


@pytest.fixture(scope="module")
def relu_path(keras, tmp_path_factory):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, activation="relu",
                                                                    name="d")])
    model.set_weights([np.array([[1.0]], np.float32), np.array([0.0], np.float32)])
    path = tmp_path_factory.mktemp("formulas") / "relu.keras"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def relu(relu_path):
    return symnet.explain(relu_path)


def test_there_are_41_probes_and_more():
    assert len(REFUSED) + 1 >= 41


@pytest.mark.parametrize("formula", sorted(REFUSED), ids=lambda f: f[:30])
def test_refused_by_name_quickly(relu, formula):
    start = time.perf_counter()
    with pytest.raises(InvalidInputError) as caught:
        symnet.check(relu, 1, formula=formula)
    assert time.perf_counter() - start < 2.0
    message = str(caught.value)
    assert REFUSED[formula] in message
    assert formula[:40] in message or "formula" in message
    assert "Traceback" not in message and "\n" not in message


def test_a_max_of_100_lines_gets_a_verdict_quickly(relu):
    start = time.perf_counter()
    verdict = symnet.check(relu, 1, formula=MAX_OF_100_LINES)
    assert time.perf_counter() - start < 3.0
    assert not verdict.correct and verdict.proven


def test_the_cli_says_one_line_and_exits_2(relu_path, capsys):
    for formula in REFUSED:
        code = main(["check", str(relu_path), "--input", "1", "--formula", formula])
        captured = capsys.readouterr()
        assert code == 2, formula
        assert captured.err.startswith("symnet: error: ") and captured.err.count("\n") == 1
        assert "Traceback" not in captured.err and captured.out == ""
