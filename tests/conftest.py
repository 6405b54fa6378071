"""Shared helpers: random non-trivial weights, and the fidelity check against Keras itself."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow's oneDNN kernels fuse MatMul + BiasAdd + Relu: they sum in another order than its
# reference kernels and turn a NaN into 0 inside a fused ReLU (the eager ``relu`` keeps it). The
# tests compare with one defined Keras arithmetic, the reference one.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


#: Layer kind -> [max abs diff, max rel diff] of float32 evaluation against model.predict, and
#: max abs diff of exact against float64, over every model assert_faithful saw in this session.
FIDELITY: dict[str, list[float]] = {}


def pytest_terminal_summary(terminalreporter):
    import sys

    gradients = sys.modules.get("tests.gradtools")
    if gradients is not None:
        gradients.summary(terminalreporter)
    if not FIDELITY:
        return
    rep = terminalreporter
    rep.section("fidelity against model.predict (float32), per layer kind")
    rep.write_line(f"{'layer kind':<22}{'max |abs|':>12}{'/ scale':>12}{'exact-f64':>12}")
    for kind in sorted(FIDELITY):
        a, r, e = FIDELITY[kind]
        rep.write_line(f"{kind:<22}{a:>12.2e}{r:>12.2e}{e:>12.2e}")


def _record(net, abs_diff: float, rel_diff: float, exact_diff: float) -> None:
    for layer in net.layers:
        old = FIDELITY.setdefault(layer.kind, [0.0, 0.0, 0.0])
        FIDELITY[layer.kind] = [max(old[0], abs_diff), max(old[1], rel_diff),
                                max(old[2], exact_diff)]


def require_tool(name: str) -> str:
    """The path of an external tool; skip when missing, fail when SYMNET_REQUIRE_TOOLS=1."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if os.environ.get("SYMNET_REQUIRE_TOOLS") == "1":
            pytest.fail(message + " and SYMNET_REQUIRE_TOOLS=1")
        pytest.skip(message)
    return path


WILD_MODELS = Path(__file__).resolve().parents[2] / "shared" / "wild-models"


def require_wild_models() -> Path:
    """The folder of real models beside the project; skip when absent, fail when
    SYMNET_REQUIRE_TOOLS=1 (CI has it)."""
    if not (WILD_MODELS / "MANIFEST.md").is_file():
        message = f"the real models are not at {WILD_MODELS}"
        if os.environ.get("SYMNET_REQUIRE_TOOLS") == "1":
            pytest.fail(message + " and SYMNET_REQUIRE_TOOLS=1")
        pytest.skip(message)
    return WILD_MODELS


SEEDS = WILD_MODELS.parent / "seeds"


def require_seed_question(name: str) -> Path:
    """A seed question's text beside the project; skip when absent, fail when
    SYMNET_REQUIRE_TOOLS=1 (CI has it). The tests' own figures are in tests/data."""
    path = SEEDS / name
    if not path.is_file():
        message = f"the seed question is not at {path}"
        if os.environ.get("SYMNET_REQUIRE_TOOLS") == "1":
            pytest.fail(message + " and SYMNET_REQUIRE_TOOLS=1")
        pytest.skip(message)
    return path


ONNX_MODELS = Path(__file__).resolve().parents[2] / "shared" / "onnx-models"


def require_onnx_models() -> Path:
    """The folder of real ONNX files beside the project; skip when absent, fail when
    SYMNET_REQUIRE_TOOLS=1 (CI has it)."""
    if not (ONNX_MODELS / "MANIFEST.md").is_file():
        message = f"the real ONNX models are not at {ONNX_MODELS}"
        if os.environ.get("SYMNET_REQUIRE_TOOLS") == "1":
            pytest.fail(message + " and SYMNET_REQUIRE_TOOLS=1")
        pytest.skip(message)
    return ONNX_MODELS


def require_torch():
    """PyTorch (an optional extra); skip when absent, fail when SYMNET_REQUIRE_TOOLS=1 (CI
    installs it)."""
    try:
        import torch
    except ImportError:
        message = "PyTorch is not installed (pip install 'symnet[torch]')"
        if os.environ.get("SYMNET_REQUIRE_TOOLS") == "1":
            pytest.fail(message + " and SYMNET_REQUIRE_TOOLS=1")
        pytest.skip(message)
    return torch


@pytest.fixture(scope="session")
def keras():
    from symnet.io.keras import import_keras

    return import_keras()


def randomize(model, seed: int = 0) -> None:
    """Give every float weight a random, non-trivial value (variances positive, not 1)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        values = []
        for w in layer.weights:
            shape, name = tuple(w.shape), w.name
            if "int" in str(w.dtype):
                values.append(np.asarray(w.numpy()))
            elif "variance" in name or "stddev" in name:
                values.append(rng.uniform(0.3, 2.0, shape).astype(np.float32))
            elif name == "gamma":
                values.append(rng.uniform(0.5, 1.5, shape).astype(np.float32))
            else:
                values.append(rng.normal(0.0, 0.7, shape).astype(np.float32))
        if values:
            layer.set_weights(values)


def predict(model, x):
    out = model.predict(x, verbose=0)
    return [np.asarray(o) for o in out] if isinstance(out, list) else np.asarray(out)


def assert_faithful(model, x, *, exact: bool = True, closed: bool = True, structural: bool = True,
                    rtol32: float = 1e-5):
    """The Network agrees with Keras in float32, float64, exact arithmetic and its formulas."""
    import symnet

    net = symnet.explain(model)
    expected = predict(model, x)
    got32 = net.evaluate(x, "float32")
    got64 = net.evaluate(x, "float64")
    many = isinstance(expected, list)
    pairs = zip(got32 if many else [got32], got64 if many else [got64],
                expected if many else [expected])
    worst_abs = worst_rel = worst_exact = 0.0
    for g32, g64, e in pairs:
        diff = np.abs(g32.astype(np.float64) - e)
        worst_abs = max(worst_abs, float(diff.max()))
        # relative to the output's scale, as Keras' own float32 rounding is
        worst_rel = max(worst_rel, float(diff.max() / max(float(np.abs(e).max()), 1e-30)))
        assert g32.shape == e.shape and g32.dtype == np.float32
        scale = max(1.0, float(np.max(np.abs(e))))
        np.testing.assert_allclose(g32, e, rtol=rtol32, atol=1e-6 * scale)
        np.testing.assert_allclose(g64, e, rtol=rtol32, atol=1e-6 * scale)
    first = x[:1] if not isinstance(x, list) else [part[:1] for part in x]
    ref64 = net.evaluate(first, "float64")
    ref64 = np.concatenate([r.reshape(-1) for r in ref64]) if many else ref64.reshape(-1)
    if exact:
        ex = net.evaluate(first, "exact")
        ex = np.concatenate([e.reshape(-1) for e in ex]) if many else ex.reshape(-1)
        assert all(isinstance(v, sp.Number) for v in ex)
        np.testing.assert_allclose(np.array(ex, dtype=np.float64), ref64, rtol=1e-9, atol=1e-12)
        worst_exact = float(np.abs(np.array(ex, dtype=np.float64) - ref64).max())
    _record(net, worst_abs, worst_rel, worst_exact)
    if closed:
        form = net.closed_form()
        fn = sp.lambdify(net.inputs, list(form), "numpy")  # SymPy's own, as a user calls it
        values = np.concatenate([np.asarray(p, np.float64).reshape(-1) for p in
                                 (first if isinstance(first, list) else [first])])
        got = np.array([np.asarray(v, dtype=np.float64).reshape(-1)[0]
                        for v in fn(*[np.array([v]) for v in values])])
        np.testing.assert_allclose(got, ref64, rtol=1e-7, atol=1e-9)
    if structural and not many:
        check_structural(net, first, ref64)
    return net


def check_structural(net, first, ref64) -> None:
    """The printed structural formula, with numbers put in, is the same function."""
    from symnet.analysis.forms import explicit

    subs = {}
    for layer in net.layers:
        subs.update(layer.symbol_values())
    arrays = first if isinstance(first, list) else [first]
    for symbol, arr in zip((net.graph.symbols[k] for k in net.graph.inputs), arrays):
        rows, cols = (int(d) for d in symbol.shape)
        flat = np.asarray(arr, np.float64).reshape(-1)
        subs[symbol] = sp.ImmutableMatrix(rows, cols, [sp.Float(float(v)) for v in flat])
    value = explicit(net.structural_form().xreplace(subs)).evalf()
    np.testing.assert_allclose(np.array(value, dtype=np.float64).reshape(-1), ref64,
                               rtol=1e-7, atol=1e-9)
