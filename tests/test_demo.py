"""The bundled examples and the reports/ gallery that ``symnet demo`` writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import symnet
from symnet.cli import main

from .conftest import predict

REPORTS = Path(__file__).resolve().parent.parent / "reports"


def test_seed_mlp_is_deterministic(keras):
    a, b = symnet.examples.seed_mlp(), symnet.examples.seed_mlp()
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert [layer.name for layer in a.layers][:4] == [
        "dense", "batch_normalization", "activation", "dropout"]


def test_regressor_is_the_second_seed_model(keras):
    model = symnet.examples.regressor_2x_plus_5()
    net = symnet.explain(model)
    assert [lay.kind for lay in net.layers] == ["Dense", "Dense"]
    assert net.layers[0].constants["activation"] == "relu"
    assert net.layers[0].output_shape == (16,)
    value = float(net.evaluate(10.0)[0, 0])
    assert value == pytest.approx(float(predict(model, np.array([[10.0]], np.float32))[0, 0]),
                                  rel=1e-6)
    assert abs(value - 25.0) < 2.0  # trained on 2x + 5, not exactly equal to it


@pytest.mark.slow
def test_demo_regenerates_the_committed_gallery(tmp_path, capsys):
    assert main(["demo", "-o", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(p.name for p in REPORTS.iterdir() if p.is_file())
    for name in written:
        assert (tmp_path / name).read_bytes() == (REPORTS / name).read_bytes(), name
    data = json.loads((tmp_path / "seed_mlp.json").read_text())
    assert data["param_count"] == 718_270 and "too_large" in data["closed_form"]
