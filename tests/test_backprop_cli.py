"""``symnet check MODEL --input X --target T --loss L --gradients FILE.json [--learning-rate R
--updated FILE.json]``: exit 0 when every part is right, 1 when one is wrong (with its
diagnosis), 2 for bad usage (one line on stderr); the numbers are worked in numpy here."""

from __future__ import annotations

import json

import numpy as np
import pytest

from symnet import examples
from symnet.cli import main

from .homework_models import B1, B2, K1, K2


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def regressor():
    return str(examples.seed_regressor_path())


def by_hand(x=10.0, t=25.0, *, relu_prime=True, rate=0.01):
    """The second seed's network, E = ½ (t − y)², one step of gradient descent."""
    k1, b1, k2, b2 = (np.array(v, np.float32).astype(float) for v in (K1, B1, K2, B2))
    z = x * k1 + b1
    h = np.maximum(z, 0)
    y = h @ k2 + b2[0]
    d2 = np.array([y - t])
    d1 = k2 * d2[0] * ((z > 0) if relu_prime else 1.0)
    gradients = {"loss": 0.5 * (t - y) ** 2, "dense_1": d2.tolist(),
                 "dense_1/kernel": (h[:, None] * d2).tolist(), "dense_1/bias": d2.tolist(),
                 "dense": d1.tolist(), "dense/kernel": [(x * d1).tolist()],
                 "dense/bias": d1.tolist()}
    updated = {"dense/kernel": [(k1 - rate * x * d1).tolist()], "dense/bias":
               (b1 - rate * d1).tolist()}
    return gradients, updated


def files(tmp_path, gradients, updated):
    g, u = tmp_path / "gradients.json", tmp_path / "updated.json"
    g.write_text(json.dumps(gradients))
    u.write_text(json.dumps(updated))
    return str(g), str(u)


BASE = ("--input", "10", "--target", "25", "--loss", "(t - y)^2/2")


def test_right_parts_exit_0(capsys, regressor, tmp_path):
    g, u = files(tmp_path, *by_hand())
    code, out, err = run(capsys, "check", regressor, *BASE, "--gradients", g,
                         "--learning-rate", "0.01", "--updated", u)
    assert code == 0 and err == "", err
    assert out.startswith("correct: Every part given is right.")
    assert "score: 1 (steps right or consistent: 9 of 9)" in out


def test_a_mistake_exit_1_and_its_diagnosis(capsys, regressor, tmp_path):
    g, u = files(tmp_path, *by_hand(relu_prime=False))
    code, out, err = run(capsys, "check", regressor, *BASE, "--gradients", g,
                         "--learning-rate", "0.01", "--updated", u, "--format", "json")
    assert code == 1 and err == ""
    data = json.loads(out)
    assert data["diagnosis"]["code"] == "derivative_forgotten"
    assert data["first_wrong_step"] == "delta:dense"
    assert data["layers"] == ["dense"]
    status = {s["layer"]: s["status"] for s in data["steps"]}
    assert status["gradient:dense/kernel"] == "consistent"
    assert status["updated:dense/bias"] == "consistent"


def test_updated_alone(capsys, regressor, tmp_path):
    _, u = files(tmp_path, *by_hand())
    code, out, _ = run(capsys, "check", regressor, *BASE, "--learning-rate", "0.01",
                       "--updated", u)
    assert code == 0, out


def test_a_step_with_nesterov_momentum(capsys, regressor, tmp_path):
    """SGD with Nesterov momentum m from fresh state moves w by −η(1 + m)∂L/∂w: the weights
    by hand with the step 0.01·1.5 are right for --momentum 0.5 --nesterov, wrong for plain
    gradient descent."""
    _, u = files(tmp_path, *by_hand(rate=0.01 * 1.5))
    code, out, _ = run(capsys, "check", regressor, *BASE, "--learning-rate", "0.01",
                       "--updated", u, "--momentum", "0.5", "--nesterov")
    assert code == 0, out
    code, out, _ = run(capsys, "check", regressor, *BASE, "--learning-rate", "0.01",
                       "--updated", u)
    assert code == 1, out


@pytest.mark.parametrize("argv, message", [
    (("--target", "25", "--loss", "mse", "--gradients", "G", "--optimizer", "adam"),
     "go with --updated"),
    (("--target", "25", "--loss", "mse", "--learning-rate", "0.1", "--updated", "U",
      "--optimizer", "adam", "--nesterov"), "--nesterov is for sgd"),
    (("--gradients", "G"), "need --target T and --loss L"),
    (("--target", "25", "--loss", "mse", "--updated", "U"), "learning_rate"),
    (("--target", "25", "--loss", "mse", "--answer", "3"), "go with --gradients"),
    (("--target", "25", "--loss", "mse", "--gradients", "G", "--answer", "3"), "not allowed"),
    (("--target", "25", "--loss", "hinge", "--gradients", "G"), "unknown loss 'hinge'"),
    (("--target", "25,1", "--loss", "mse", "--gradients", "G"), "target"),
    (("--target", "25", "--loss", "mse", "--gradients", "BAD"), "names nothing"),
    (("--target", "25", "--loss", "mse", "--gradients", "MISSING"), "cannot read gradients"),
    ((), "check needs one of"),
])
def test_bad_usage_exit_2(capsys, regressor, tmp_path, argv, message):
    g, u = files(tmp_path, *by_hand())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"dense_9": [1.0]}))
    paths = {"G": g, "U": u, "BAD": str(bad), "MISSING": str(tmp_path / "none.json")}
    code, out, err = run(capsys, "check", regressor, "--input", "10",
                         *[paths.get(a, a) for a in argv])
    assert code == 2 and out == ""
    assert err.startswith("symnet: error: ") and err.count("\n") == 1, err
    assert message in err, err
