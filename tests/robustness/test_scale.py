"""Networks of every size: deep ones without recursion errors, wide ones in bounded time and
memory. The probes of issue 15 that take minutes are in the slow part."""

from __future__ import annotations

import numpy as np
import pytest

import symnet
from symnet.cli import main
from symnet.deep import deep_call
from symnet.errors import ExpressionTooLarge
from tests.conftest import randomize


def _deep(keras, layers: int, width: int = 2, functional: bool = True):
    x = start = keras.Input((width,))
    for _ in range(layers):
        x = keras.layers.Dense(width, activation="relu")(x)
    out = keras.layers.Dense(1)(x)
    if functional:
        model = keras.Model(start, out)
    else:
        model = keras.Sequential([keras.Input((width,))] + [
            keras.layers.Dense(width, activation="relu") for _ in range(layers)]
            + [keras.layers.Dense(1)])
    randomize(model, 1)
    return model


def test_deep_call_turns_a_recursion_error_into_expression_too_large():
    def down(n: int) -> int:
        return n if n == 0 else down(n - 1)

    assert deep_call(down, 20_000) == 0  # past Python's default limit of 1,000
    with pytest.raises(ExpressionTooLarge, match="nests deeper"):
        deep_call(down, 10**7)
    with pytest.raises(KeyError):
        deep_call({}.__getitem__, "x")


def test_a_functional_model_of_150_layers_answers_every_question(keras):
    model = _deep(keras, 150)
    net = symnet.explain(model)
    x = np.array([0.3, -0.2])
    np.testing.assert_allclose(net.evaluate(x), model.predict(x[None], verbose=0), rtol=1e-5,
                               atol=1e-6)
    assert len(net.trace(x).steps) == 151
    assert net.why(x).value == pytest.approx(float(net.evaluate(x)[0, 0]), rel=1e-6)
    verdict = symnet.check(net, x, answer="12345")
    assert not verdict.correct
    with pytest.raises(ExpressionTooLarge):  # 2^150 terms: refused by its size, not built
        net.closed_form()
    assert net.structural_form() is not None


def test_a_saved_sequential_of_200_layers_loads_once_and_predicts(keras, tmp_path):
    model = _deep(keras, 200, functional=False)
    path = tmp_path / "deep.keras"
    model.save(path)
    net = symnet.explain(path)
    assert len(net.layers) == 201
    x = np.array([[0.5, -1.0], [2.0, 0.25]], dtype=np.float32)
    np.testing.assert_allclose(net.evaluate(x), model.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)


def test_why_on_a_wide_layer_keeps_the_region_lazy(keras, monkeypatch):
    from symnet.analysis import explanation

    model = keras.Sequential([keras.Input((100,)), keras.layers.Dense(400, activation="relu"),
                              keras.layers.Dense(1)])
    randomize(model, 2)
    net = symnet.explain(model)
    x = np.linspace(-1, 1, 100)
    e = net.why(x)
    assert 1 <= len(e.region) <= 400  # one bound per unit whose input moves
    assert e.region.arrays()[1].shape == (len(e.region), 100)
    point = dict(zip(net.inputs, x))
    assert all(bool(e.region[i].subs(point)) for i in (0, len(e.region) // 2, -1))
    monkeypatch.setattr(explanation, "MAX_REGION_TERMS", 300)
    data = e.to_dict()
    assert len(data["region"]) == 3 and data["region_omitted"] == len(e.region) - 3
    assert data["region"][0].endswith(("<= 0.0", ">= 0.0"))


def test_a_large_network_counterexample_is_rechecked_in_float64(monkeypatch):
    from symnet.homework import formula

    monkeypatch.setattr(formula, "EXACT_RECHECK_WEIGHTS", 0)
    net = symnet.explain(symnet.examples.regressor_2x_plus_5())
    verdict = symnet.check(net, None, formula="3*x + 1")
    assert not verdict.correct and verdict.counterexample is not None


@pytest.mark.slow
def test_cli_explain_on_a_functional_model_of_120_layers(keras, tmp_path, capsys):
    path = tmp_path / "f120.keras"
    _deep(keras, 120).save(path)
    assert main(["explain", str(path), "--format", "json", "-o", str(tmp_path / "r.json")]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_a_model_of_more_numbers_per_sample_than_symbols_can_name_is_refused(keras):
    """4.2 million inputs per sample: refused by name before a symbol is made (a file whose
    reshape declares billions exhausted memory before)."""
    from symnet.network import MAX_NUMBERS

    start = keras.Input((2000, 2100))
    model = keras.Model(start, keras.layers.Dense(1)(start))
    with pytest.raises(symnet.ModelLoadError, match=f"4,200,000 numbers.*{MAX_NUMBERS:,}"):
        symnet.explain(model)
