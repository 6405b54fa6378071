"""One definition per operation: formulas that rebuild anywhere, networks that pickle, the
design's mathematics in the formulas, and a new layer added from one module."""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.functions import Entrywise
from symnet.layers import LayerContext, converter
from symnet.ops import Op, Param

from .conftest import assert_faithful, predict, randomize

PACKAGE = Path(symnet.__file__).parent


@pytest.fixture(scope="module")
def zoo(keras):
    """Dense(relu), ReLU with all three options, LeakyReLU, PReLU, BatchNorm, LayerNorm and
    softmax in one model."""
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((4,)), layers.Dense(5, activation="relu", name="dense_relu"),
        layers.ReLU(max_value=2.5, negative_slope=0.1, threshold=0.3, name="relu_options"),
        layers.Dense(5, name="dense"), layers.LeakyReLU(0.2, name="leaky"),
        layers.PReLU(name="prelu"), layers.BatchNormalization(epsilon=0.01, name="bn"),
        layers.LayerNormalization(name="ln"), layers.Dense(3, activation="softmax", name="out")])
    randomize(model, 21)
    return model


def test_every_formula_rebuilds_from_its_srepr_in_a_fresh_process(zoo):
    net = symnet.explain(zoo)
    texts = [sp.srepr(layer.formula) for layer in net.layers]
    code = ("import json, sys\nfrom sympy import *\nfrom symnet.functions import *\n"
            "texts = json.load(sys.stdin)\n"
            "print(json.dumps([srepr(eval(t)) for t in texts]))\n")
    result = subprocess.run([sys.executable, "-c", code], input=json.dumps(texts),
                            capture_output=True, text=True, timeout=120, check=True)
    rebuilt = json.loads(result.stdout)
    assert rebuilt == texts
    namespace: dict[str, Any] = {}
    exec("from sympy import *\nfrom symnet.functions import *", namespace)
    for layer, text in zip(net.layers, texts):
        assert eval(text, namespace) == layer.formula, layer.name


def test_the_design_mathematics_is_in_the_formulas(zoo):
    net = symnet.explain(zoo)
    for name in ("dense_relu", "relu_options", "leaky", "prelu"):
        formula = net.layer(name).formula
        assert formula.has(sp.Max), name
        assert any(isinstance(e, Entrywise) for e in sp.preorder_traversal(formula)), name
    bn = net.layer("bn")
    eps = next(iter(bn.formula.atoms(sp.Symbol) - {sp.Symbol("t", real=True)}))
    assert str(eps) == "epsilon_6" and bn.constants["epsilon"] == 0.01
    assert bn.symbol_values()[eps] == sp.Rational(1, 100)
    assert any(isinstance(e, sp.Pow) and e.exp == sp.S.Half
               for e in sp.preorder_traversal(bn.formula))
    assert not bn.formula.atoms(sp.Float) and not bn.formula.has(sp.Rational(1, 100))
    from symnet.report.latex import latex
    from symnet.report.text import text

    assert text(bn.formula) == ("h_6 = gamma_6 ⊙ (h_5 - mu_6) ⊘ sqrt(sigma^2_6 + epsilon_6) "
                                "+ beta_6")
    assert r"\max\left(0, x W_{1} + b_{1}\right)" in latex(net.layer("dense_relu").formula)


def test_a_network_pickles_and_evaluates(zoo):
    net = symnet.explain(zoo)
    x = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
    clone = pickle.loads(pickle.dumps(net))
    assert clone.model is None and net.model is not None
    np.testing.assert_array_equal(clone.evaluate(x), net.evaluate(x))
    assert clone.evaluate(x[:1], "exact").tolist() == net.evaluate(x[:1], "exact").tolist()
    assert [lay.formula for lay in clone.layers] == [lay.formula for lay in net.layers]
    assert pickle.loads(pickle.dumps(net.layers[5])).constants == net.layers[5].constants


def test_exact_evaluation_from_two_threads(keras):
    net = symnet.explain(symnet.examples.regressor_2x_plus_5())
    xs = [str(v) for v in (-3, 0.5, 10, "7/3", 19)]
    expected = [net.evaluate(v, "exact")[0, 0] for v in xs]
    results: dict[int, list[Any]] = {}

    def work(k: int) -> None:
        results[k] = [net.evaluate(v, "exact")[0, 0] for v in xs for _ in range(4)][::4]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == {0: expected, 1: expected}


def _library_sources() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if p.name != "cli.py"]


def test_no_keras_class_name_dispatch_outside_the_converters():
    # A Keras class name compared: ``layer.kind == "Dense"``, ``kind in ("ReLU", ...)``,
    # ``type(layer).__name__ == ...``, ``kind.endswith("Dropout")``.
    pattern = re.compile(r"""\bkind\s*(==|!=|\bin\b)\s*[(\[{]?\s*["'][A-Z]|"""
                         r"kind\.(startswith|endswith)|"
                         r"type\([^)]*\)\.__name__\s*(==|!=|\bin\b)")
    offenders = []
    for path in _library_sources():
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(("layers/", "io/")):
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if pattern.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []


def test_the_library_never_imports_the_command_line():
    pattern = re.compile(r"from\s+(\.+|symnet\.)cli\b|import\s+symnet\.cli\b|from\s+\.\s+"
                         r"import\s+cli\b")
    offenders = [p.relative_to(PACKAGE).as_posix() for p in _library_sources()
                 if p.name != "__main__.py" and pattern.search(p.read_text())]
    assert offenders == []


def test_library_calls_leave_process_state_alone(tmp_path):
    # Keras and TensorFlow set what they set when imported; symnet's own calls set nothing.
    code = f"""
import os, sys, matplotlib, keras, symnet
def umask():
    for line in open("/proc/self/status"):
        if line.startswith("Umask:"):
            return line.split()[1]
before = (umask(), dict(os.environ), matplotlib.get_backend(), dict(matplotlib.rcParams))
net = symnet.explain(symnet.examples.regressor_path())
net.report("html", [10.0], target="2*x + 5", domain=(0, 20))
net.save_report({str(tmp_path / "r.html")!r}, x=10.0)
after = (umask(), dict(os.environ), matplotlib.get_backend(), dict(matplotlib.rcParams))
assert before[:3] == after[:3], [k for k in set(before[1]) ^ set(after[1])]
assert before[3] == after[3], [k for k in before[3] if before[3][k] != after[3][k]]
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300, env=env,
                   capture_output=True)


def test_one_report_computes_the_pieces_once(keras, monkeypatch):
    import symnet.analysis.piecewise as piecewise

    net = symnet.explain(symnet.examples.regressor_2x_plus_5())
    calls = []
    original = piecewise.sweep_pieces
    monkeypatch.setattr(piecewise, "sweep_pieces", lambda *a: calls.append(1) or original(*a))
    html = net.report("html", [10.0], target="2*x + 5", domain=(0, 20))
    assert len(calls) == 1 and "<svg" in html


# --- a layer symnet does not know, added in this module alone ------------------------------


@dataclass(frozen=True, eq=False)
class Cube(Op):
    """``a ⊙ x³``: a toy op, defined once."""

    a: Param
    entrywise = True

    def formula(self, x: Any) -> Any:
        return sp.HadamardProduct(self.a.symbol, sp.HadamardPower(x, 3))

    def forward(self, backend: Any, x: Any) -> Any:
        return backend.weight(self.a) * x * x * x

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return 3 * sizes[0] + 4

    def describe(self) -> str:
        return "a ⊙ x³"


def _cube_layer(keras):
    class ScaledCube(keras.layers.Layer):
        def build(self, input_shape):
            self.a = self.add_weight(shape=(input_shape[-1],), name="a")

        def call(self, inputs):
            return self.a * inputs * inputs * inputs

    @converter(ScaledCube)
    def scaled_cube(ctx: LayerContext) -> int:
        a = ctx.param("a", "a", "a: the scale of each unit's cube")
        return ctx.apply(Cube(a))

    return ScaledCube


def test_a_toy_layer_works_end_to_end(keras):
    cube = _cube_layer(keras)(name="cube")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, name="d1"), cube,
                              keras.layers.Dense(1, name="d2")])
    randomize(model, 2)
    x = np.random.default_rng(3).normal(size=(6, 2)).astype(np.float32)
    net = assert_faithful(model, x)
    assert net.layer("cube").formula.has(sp.HadamardPower)
    np.testing.assert_allclose(net.evaluate(x), predict(model, x), rtol=1e-5, atol=1e-6)
    trace = net.trace(x[0])
    assert [s.layer for s in trace.steps] == ["d1", "cube", "d2"]
    results = net.simplify()
    assert any("a ⊙ x³" in symnet.analysis.passes.describe(n) for n in results[-1].after)
    for fmt in ("text", "json", "latex", "markdown", "mathml", "html"):
        report = net.report(fmt, x[0])
        assert "cube" in report
    assert net.why(x[0]).local_law is None  # a cube is not piecewise linear, and says so
