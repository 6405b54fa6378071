"""Network: counts, names, forms, evaluation and its errors, the public surface."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symnet
from symnet import ExpressionTooLarge, InvalidInputError

from .conftest import predict


@pytest.fixture(scope="module")
def seed(keras):
    model = symnet.examples.seed_mlp()
    return model, symnet.explain(model)


@pytest.fixture(scope="module")
def regressor(keras):
    model = symnet.examples.regressor_2x_plus_5()
    return model, symnet.explain(model)


def _sizes(variables) -> int:
    return sum(int(np.prod(v.shape)) for v in variables)


def test_counts_equal_keras_summary(seed):
    model, net = seed
    assert net.param_count == model.count_params() == 718_270
    assert net.trainable_count == _sizes(model.trainable_weights)
    assert net.non_trainable_count == _sizes(model.non_trainable_weights)
    for layer, formula in zip(model.layers, net.layers, strict=True):
        assert formula.name == layer.name and formula.kind == type(layer).__name__
        assert formula.param_count == layer.count_params()
        assert formula.trainable_count == _sizes(layer.trainable_weights)
        assert formula.non_trainable_count == _sizes(layer.non_trainable_weights)


def test_frozen_layers_count_as_non_trainable(keras):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4),
                              keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    model.layers[0].trainable = False
    net = symnet.explain(model)
    assert net.trainable_count == _sizes(model.trainable_weights) == 2 * 4 + 4 * 2 + 2
    assert net.non_trainable_count == _sizes(model.non_trainable_weights) == 3 * 4 + 4 + 2 * 4
    assert [p.trainable for p in net.layers[0].params] == [False, False]


def test_seed_mlp_arrays_are_named_as_the_first_seed_needs(seed):
    _, net = seed
    dense, bn = net.layer("dense"), net.layer("batch_normalization")
    assert dense.parameters["kernel"].shape == (1120, 512)
    assert dense.parameters["bias"].shape == (512,)
    assert [p.name for p in bn.params] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [p.trainable for p in bn.params] == [True, True, False, False]
    # σ² as SymPy's superscript "__": a Python identifier, as lambdify needs
    assert [str(p.symbol) for p in bn.params] == ["gamma_2", "beta_2", "mu_2", "sigma__2_2"]
    assert sp.latex(bn.params[3].symbol) == r"\sigma^{2}_{2}"
    assert "(in, out) = (1120, 512)" in dense.params[0].meaning
    assert bn.constants["epsilon"] == 0.001
    assert not np.allclose(bn.parameters["moving_mean"], 0.0)
    assert "identity" in net.layer("dropout").note


def test_seed_mlp_fidelity_float32(seed):
    model, net = seed
    x = np.random.default_rng(5).normal(size=(64, 1120)).astype(np.float32)
    expected = predict(model, x)
    got = net.evaluate(x)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=4e-6 * np.abs(expected).max())
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-5)


def test_seed_mlp_exact_matches_float64(seed):
    _, net = seed
    x = np.random.default_rng(6).normal(size=(1, 1120))
    exact = net.evaluate(x, "exact")
    assert exact.shape == (1, 38) and all(isinstance(v, sp.Float) for v in exact.reshape(-1))
    np.testing.assert_allclose(np.array(exact, dtype=float), net.evaluate(x, "float64"),
                               rtol=1e-12, atol=1e-15)


def test_closed_form_too_large_raises_with_advice(seed):
    _, net = seed
    with pytest.raises(ExpressionTooLarge, match="structural_form") as info:
        net.closed_form()
    assert info.value.estimate > info.value.limit
    assert net.expression_size() == info.value.estimate


def test_structural_form_is_over_parameter_symbols_only(seed, regressor):
    for _, net in (seed, regressor):
        form = net.structural_form()
        assert not form.atoms(sp.Float)
        names = {str(s) for s in form.atoms(sp.MatrixSymbol)}
        assert "x" in names and "W_1" in names
    assert {str(s) for s in regressor[1].structural_form().atoms(sp.MatrixSymbol)} == {
        "x", "W_1", "b_1", "W_2", "b_2"}


def test_regressor_closed_form_has_one_max_per_hidden_unit(regressor):
    model, net = regressor
    (y,) = net.closed_form()
    assert len(y.atoms(sp.Max)) == 16 and y.free_symbols == {net.inputs[0]}
    xs = np.linspace(-5, 25, 301)
    fn = sp.lambdify(net.inputs, y, "numpy")
    np.testing.assert_allclose(fn(xs), predict(model, xs.reshape(-1, 1).astype(np.float32))[:, 0],
                               rtol=1e-5, atol=1e-5)


def test_exact_evaluation_of_a_relu_network_is_a_rational(regressor):
    _, net = regressor
    value = net.evaluate(10, "exact")[0, 0]
    assert isinstance(value, sp.Rational)
    assert abs(float(value) - float(net.evaluate(10, "float64")[0, 0])) < 1e-12
    third = net.evaluate("1/3", "exact")[0, 0]
    assert abs(float(third) - float(net.evaluate(1 / 3, "float64")[0, 0])) < 1e-12


def test_input_names_and_shapes(regressor, keras):
    _, net = regressor
    assert [str(s) for s in net.inputs] == ["x"] and [str(s) for s in net.outputs] == ["y"]
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    net3 = symnet.explain(model)
    assert [str(s) for s in net3.inputs] == ["x_1", "x_2", "x_3"]
    named = symnet.explain(model, input_names=["a", "b", "c"], output_names=["p", "q"])
    assert [str(s) for s in named.inputs] == ["a", "b", "c"]
    assert named.closed_form()[0].free_symbols <= set(named.inputs)
    with pytest.raises(InvalidInputError, match="expected 3 input name"):
        symnet.explain(model, input_names=["a"])


def test_evaluate_accepts_samples_and_refuses_wrong_shapes(regressor, keras):
    _, net = regressor
    assert net.evaluate(10).shape == (1, 1)
    assert net.evaluate([1.0, 2.0, 3.0]).shape == (3, 1)
    assert net.evaluate(np.zeros((4, 1))).shape == (4, 1)
    with pytest.raises(InvalidInputError, match=r"expected input of shape \(None, 1\)"):
        net.evaluate(np.zeros((2, 3)))
    with pytest.raises(InvalidInputError, match="expected numbers"):
        net.evaluate("ten")
    with pytest.raises(InvalidInputError, match="precision"):
        net.evaluate(1, "float16")
    with pytest.raises(InvalidInputError, match="expected a number"):
        net.evaluate("one third", "exact")


def test_import_does_not_load_tensorflow():
    code = ("import sys, symnet, symnet.cli, symnet.report, symnet.functions, symnet.ops; "
            "symnet.cli.build_parser(); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'loaded'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_explain_stays_a_function_after_every_module_is_imported():
    import symnet.analysis.explanation
    import symnet.homework
    import symnet.network

    assert symnet.analysis.explanation and symnet.homework and symnet.network
    assert callable(symnet.explain) and symnet.explain.__module__ == "symnet"
    assert callable(symnet.check) and symnet.check.__module__ == "symnet"


def test_public_surface_is_what_spec_documents():
    returned = {"BackwardTrace", "Diagnosis", "Explanation", "Gradient", "Inequalities",
                "LayerFormula", "Network", "PassResult", "Piece", "Region", "StepVerdict",
                "Trace", "TraceStep", "TrainStep", "Verdict"}
    assert set(symnet.__all__) == {
        "ExpressionTooLarge", "InvalidInputError", "ModelLoadError", "SymnetError",
        "SymnetWarning", "UnsupportedLayerError", "__version__", "check", "examples", "explain",
        "supported_layers", "latex_preamble", "set_printoptions", "get_printoptions", *returned}
    for name in ("ModelLoadError", "UnsupportedLayerError", "ExpressionTooLarge",
                 "InvalidInputError"):
        assert issubclass(getattr(symnet, name), symnet.SymnetError)
    for name in returned:  # the types the API returns, each under its own name
        assert isinstance(getattr(symnet, name), type) and getattr(symnet, name).__name__ == name
    docs = "".join(page.read_text(encoding="utf-8")  # the documentation names each
                   for page in (Path(__file__).resolve().parent.parent / "docs").rglob("*.md"))
    assert all(f"`{name}`" in docs for name in returned)
    for name in ("latex_preamble", "set_printoptions", "get_printoptions"):
        assert f"symnet.{name}(" in docs, name


def test_supported_layers_cover_the_foundation_list():
    required = {"InputLayer", "Dense", "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU",
                "Softmax", "BatchNormalization", "LayerNormalization", "Dropout",
                "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
                "GaussianDropout", "AlphaDropout", "Flatten", "Reshape", "Rescaling",
                "Normalization", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
                "Concatenate"}
    assert required <= set(symnet.supported_layers())


def test_the_docs_list_exactly_the_supported_layers():
    """The hand-written list of docs/reference/layers.md (the page also has a table generated
    from supported_layers() when the site is built)."""
    page = (Path(__file__).parents[1] / "docs" / "reference" / "layers.md").read_text(
        encoding="utf-8")
    section = page.split("<!-- supported-layers -->")[1].split("<!-- /supported-layers -->")[0]
    listed = set(re.findall(r"`([A-Z][A-Za-z0-9]*)`", section))
    assert listed == set(symnet.supported_layers()), (
        f"in the docs, not converted: {sorted(listed - set(symnet.supported_layers()))}; "
        f"converted, not in the docs: {sorted(set(symnet.supported_layers()) - listed)}")


def test_layer_formulas_print_in_latex(seed):
    _, net = seed
    for layer in net.layers:
        text = layer._repr_latex_()
        assert text.startswith("$$") and len(text) > 6
    assert r"\operatorname{softmax}" in net._repr_latex_()


def test_compiled_closed_form(regressor):
    model, net = regressor
    fn = net.closed_form_function()
    xs = np.linspace(-3, 23, 53)
    np.testing.assert_allclose(np.asarray(fn(xs))[0], predict(model, xs.reshape(-1, 1).astype(
        np.float32))[:, 0], rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_fifty_million_parameters_without_huge_expressions(keras):
    width = 4096
    model = keras.Sequential([keras.Input((width,))] + [
        keras.layers.Dense(width, activation="relu") for _ in range(3)] + [keras.layers.Dense(4)])
    rng = np.random.default_rng(0)
    for layer in model.layers:
        k, b = layer.get_weights()
        layer.set_weights([rng.normal(0, 1 / np.sqrt(k.shape[0]), k.shape).astype(np.float32),
                           b])
    net = symnet.explain(model)
    assert net.param_count == model.count_params() > 50_000_000
    x = rng.normal(size=(2, width)).astype(np.float32)
    np.testing.assert_allclose(net.evaluate(x), predict(model, x), rtol=1e-4, atol=1e-5)
    with pytest.raises(ExpressionTooLarge):
        net.closed_form()
    trace = net.trace(x[0])
    assert trace.steps[0].substituted.atoms(sp.MatrixSymbol)  # 16M-entry kernel kept symbolic
    html = net.report("html")
    assert len(html) < 1_000_000
    assert "&#x022F1;" in html and "&#x022EF;" in html  # 4096x4096 kernels shown with ⋱ and ⋯
