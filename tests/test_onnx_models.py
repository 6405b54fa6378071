"""Real ONNX files (``../shared/onnx-models``): each explained and equal to ONNX Runtime, or
refused naming the node; a scikit-learn classifier through skl2onnx; hostile files; the
command line and the reports on an ONNX model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symnet
from symnet import ModelLoadError, UnsupportedLayerError
from symnet.frameworks import max_difference

from .conftest import require_onnx_models
from .onnx_graphs import helper, make_model, onnx, rng_weights

#: File -> the node (and why) symnet refuses, or the named dimensions it needs fixed.
REFUSED = {
    "edgeconv_tzupeiyang.onnx": "/TopK",              # k nearest neighbours: data-dependent
    "loop_bernhardruhm.onnx": "/RandomNormal",        # random numbers, then a Loop
    "sentiment_adityamishra9.onnx": "Tokenizer",      # strings, com.microsoft domain
}
DIMS = {"gru_yhc-777.onnx": {"sequence_length": 5},
        "dicepolicy_alonamaloh.onnx": {"n_moves": 3}}


def _files() -> list[str]:
    folder = Path(__file__).resolve().parents[2] / "shared" / "onnx-models"
    names = sorted(p.name for p in folder.glob("*.onnx")) if folder.is_dir() else []
    return names or ["(none)"]


@pytest.mark.parametrize("name", _files())
def test_every_file_is_explained_or_refused_by_node(name):
    folder = require_onnx_models()
    path = folder / name
    if name in REFUSED:
        with pytest.raises(UnsupportedLayerError) as info:
            symnet.explain(path, dims=DIMS.get(name))
        assert info.value.layer == REFUSED[name], str(info.value)
        assert REFUSED[name] in str(info.value)
        return
    net = symnet.explain(path, dims=DIMS.get(name))
    rng = np.random.default_rng(0)
    samples = [rng.normal(size=(2, *s)).astype(np.float32) for s in net.input_shapes]
    worst = max_difference(net, samples)
    scale = max(1.0, float(np.max(np.abs(net.evaluate(samples[0] if len(samples) == 1
                                                      else samples)))))
    assert worst <= 1e-4 * scale, (name, worst)
    assert all(layer.formula is not None for layer in net.layers)


def test_the_folder_is_what_the_manifest_lists():
    folder = require_onnx_models()
    listed = (folder / "MANIFEST.md").read_text()
    assert all(f"`{name}`" in listed for name in _files())
    assert len(_files()) == 22


def test_pytorch_export_names_and_layout():
    """A legacy PyTorch export: Gemm(transB=1) with the state_dict's names, x Wᵀ + b."""
    folder = require_onnx_models()
    net = symnet.explain(folder / "iris_percent4.onnx")
    first = net.layers[0]
    assert [p.name for p in first.params] == ["hidden1.weight", "hidden1.bias"]
    assert first.params[0].shape == (5, 4)
    from symnet.report.latex import latex

    assert latex(first.formula) == r"h_{1} = x W_{1}^{T} + b_{1}"
    why = net.why(np.array([5.1, 3.5, 1.4, 0.2]))
    assert why.value == pytest.approx(float(np.max(net.evaluate([5.1, 3.5, 1.4, 0.2]))))


def test_scikit_learn_classifier():
    """An MLPClassifier exported by skl2onnx: Cast, MatMul/Add, Softmax, then ZipMap (the
    probabilities: the network's output) and ArgMax/ArrayFeatureExtractor (the label:
    described, equal to the class of the largest output)."""
    sklearn = pytest.importorskip("sklearn.neural_network")
    skl2onnx = pytest.importorskip("skl2onnx")
    from skl2onnx.common.data_types import FloatTensorType

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 0.5).astype(int)
    clf = sklearn.MLPClassifier(hidden_layer_sizes=(5,), max_iter=300, random_state=0).fit(x, y)
    proto = skl2onnx.convert_sklearn(clf, initial_types=[("x", FloatTensorType([None, 3]))],
                                     target_opset=17)
    net = symnet.explain(proto)
    assert net.output_shapes == ((3,),)
    probabilities = np.asarray(net.evaluate(x[:5]), np.float64)
    np.testing.assert_allclose(probabilities, clf.predict_proba(x[:5]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.reference([x[:5]])[0], probabilities, rtol=1e-5, atol=1e-6)
    assert list(clf.classes_[np.argmax(probabilities, axis=1)]) == list(clf.predict(x[:5]))
    assert "argmax" in " ".join(net.dropped_outputs.values())
    report = net.report("json", x=x[0])
    assert "outputs_left_out" in report


def _simple(tmp_path: Path, external: str | None = None) -> Path:
    rng = np.random.default_rng(0)
    model = make_model([helper.make_node("MatMul", ["x", "W"], ["y"])], [("x", [None, 2])],
                       ["y"], {"W": rng_weights(rng, 2, 2)})
    if external is not None:
        tensor = model.graph.initializer[0]
        tensor.data_location = onnx.TensorProto.EXTERNAL
        tensor.ClearField("raw_data")
        tensor.ClearField("float_data")
        del tensor.external_data[:]
        entry = tensor.external_data.add()
        entry.key, entry.value = "location", external
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    return path


@pytest.mark.parametrize("location", ["../secret.bin", "/etc/passwd", "sub/w.bin", "..",
                                      "missing.bin", "w.bin"])
def test_external_data_only_beside_the_model(tmp_path, location):
    (tmp_path / "secret.bin").write_bytes(b"\0" * 16)
    folder = tmp_path / "model"
    folder.mkdir()
    path = _simple(folder, external=location)
    if location == "w.bin":
        (folder / "w.bin").write_bytes(np.arange(4, dtype=np.float32).tobytes())
        net = symnet.explain(path)
        np.testing.assert_array_equal(net.layers[0].params[0].value,
                                      np.arange(4, dtype=np.float32).reshape(2, 2))
        (folder / "w.bin").write_bytes(b"\0" * 8)  # too short for its 16 bytes
    before = sorted(os.listdir(tmp_path)), sorted(os.listdir(folder))
    with pytest.raises(ModelLoadError, match="external data"):
        symnet.explain(path)
    assert (sorted(os.listdir(tmp_path)), sorted(os.listdir(folder))) == before


def test_hostile_files(tmp_path):
    bad = tmp_path / "bad.onnx"
    for data, message in [(b"", "empty"), (b"\xff" * 64, "not a valid ONNX"),
                          (b"\x0a" * 5000, "not a valid ONNX")]:
        bad.write_bytes(data)
        with pytest.raises(ModelLoadError, match=message):
            symnet.explain(bad)
    # Deep nesting: a graph in a node's attribute in a graph..., 300 levels, written on the
    # wire (onnx's own helpers refuse to build it).
    def field(number: int, payload: bytes) -> bytes:
        length, size = b"", len(payload)
        while True:
            byte, size = size & 0x7F, size >> 7
            length += bytes([byte | (0x80 if size else 0)])
            if not size:
                break
        return bytes([(number << 3) | 2]) + length + payload

    graph = b""
    for _ in range(300):
        graph = field(1, field(5, field(6, graph)))  # GraphProto.node.attribute.g
    bad.write_bytes(field(7, graph))  # ModelProto.graph
    with pytest.raises(ModelLoadError, match="not a valid ONNX"):
        symnet.explain(bad)
    # A huge declared input.
    huge = make_model([helper.make_node("Relu", ["x"], ["y"])], [("x", [None, 100000, 100000])],
                      ["y"])
    with pytest.raises(ModelLoadError, match="over the limit"):
        symnet.explain(huge)
    # A cycle: y = Relu(z), z = Relu(y).
    cycle = make_model([helper.make_node("Relu", ["x"], ["a"])], [("x", [None, 2])], ["a"])
    cycle.graph.node.extend([helper.make_node("Relu", ["b"], ["c"]),
                             helper.make_node("Relu", ["c"], ["b"])])
    with pytest.raises(ModelLoadError, match="cycle|no node writes|refuses"):
        symnet.explain(cycle)
    # Control flow and custom domains: refused naming the node.
    custom = make_model([helper.make_node("Relu", ["x"], ["y"])], [("x", [None, 2])], ["y"])
    custom.graph.node[0].domain = "my.ops"
    custom.opset_import.append(helper.make_opsetid("my.ops", 1))
    with pytest.raises(UnsupportedLayerError, match="custom domain"):
        symnet.explain(custom)
    # An old opset.
    old = make_model([helper.make_node("Relu", ["x"], ["y"])], [("x", [None, 2])], ["y"],
                     opset=8)
    with pytest.raises(ModelLoadError, match="opset 8"):
        symnet.explain(old)
    assert sorted(os.listdir(tmp_path)) == ["bad.onnx"]


def test_command_line_on_onnx(tmp_path):
    folder = require_onnx_models()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    run = subprocess.run([sys.executable, "-m", "symnet", "explain",
                          str(folder / "xor_joneikholmkea.onnx"), "--input", "1,0"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "as ONNX Runtime computes" in run.stdout
    assert "largest difference from ONNX Runtime" in run.stdout
    run = subprocess.run([sys.executable, "-m", "symnet", "explain",
                          str(folder / "loop_bernhardruhm.onnx")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 2
    assert run.stderr.startswith("symnet: error: node '/RandomNormal'")


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "latex", "mathml", "html"])
def test_reports_of_an_onnx_model(fmt):
    folder = require_onnx_models()
    net = symnet.explain(folder / "iris_percent4.onnx")
    report = net.report(fmt, x=np.array([5.1, 3.5, 1.4, 0.2]))
    if fmt != "mathml":  # the MathML document holds the formulas and the calculation
        assert "hidden1" in report and "weight" in report  # escaped as the format needs
        assert "ONNX" in report
    if fmt == "json":
        import json

        data = json.loads(report)
        assert data["framework"] == "onnx"
        assert data["agreement"]["max_abs_diff_below"] <= 1e-6
        assert "(float32, as ONNX Runtime)" in data["why"]["summary"]
        assert data["layers"][0]["columns"] == ["ONNX name"]
    if fmt == "text":  # the weights table has no get_weights() column (no "-" index)
        table = report[report.index("ONNX name"):].splitlines()
        assert table[0].split() == ["ONNX", "name", "symbol", "shape", "trainable", "meaning"]
        assert table[2].split()[0] == "hidden1.weight"
        assert "as model.predict" not in report and "(float32, as ONNX Runtime)" in report
    if fmt == "markdown":
        assert "| ONNX name | symbol |" in report and "| – |" not in report


def test_check_on_an_onnx_network():
    """symnet.check on a network read from ONNX (as PyTorch exports nn.Sequential(Linear,
    ReLU, Linear)): answers, steps by node, formulas, and the mistakes diagnosed — the ReLU
    forgotten, x·W for x·Wᵀ."""
    w1 = np.array([[1.5, -1.0], [0.5, 2.0]], np.float32)  # (out, in), as PyTorch stores it
    b1 = np.array([-1.0, 0.25], np.float32)
    w2, b2 = np.array([[2.0, -3.0]], np.float32), np.array([0.5], np.float32)
    model = make_model([helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h"],
                                         transB=1, name="fc1"),
                        helper.make_node("Relu", ["h"], ["r"], name="relu"),
                        helper.make_node("Gemm", ["r", "fc2.weight", "fc2.bias"], ["y"],
                                         transB=1, name="fc2")],
                       [("x", [None, 2])], ["y"], {"fc1.weight": w1, "fc1.bias": b1,
                                                   "fc2.weight": w2, "fc2.bias": b2})
    net = symnet.explain(model)
    x = np.array([0.2, 1.0])
    hidden = x @ w1.T.astype(np.float64) + b1  # one unit below 0: the ReLU matters
    right = float((np.maximum(hidden, 0) @ w2.T + b2)[0])  # by hand
    assert right == pytest.approx(float(np.asarray(net.evaluate(x)).reshape(-1)[0]), rel=1e-6)
    assert symnet.check(net, x, answer=f"{right:.5f}").correct
    verdict = symnet.check(net, x, answer=f"{float((hidden @ w2.T + b2)[0]):.5f}")
    assert not verdict.correct and verdict.diagnosis.code == "missing_activation"
    wrong = float((np.maximum(x @ w1 + b1, 0) @ w2.T + b2)[0])  # W used without its transpose
    verdict = symnet.check(net, x, answer=f"{wrong:.5f}")
    assert verdict.diagnosis.code == "transposed_kernel" and "PyTorch" in verdict.diagnosis.message
    assert hidden.min() < 0
    steps = {"fc1": hidden.tolist(), "relu": hidden.tolist(),
             "fc2": (hidden @ w2.T + b2).tolist()}  # fc2 right from the student's relu
    verdict = symnet.check(net, x, steps=steps)
    assert verdict.first_wrong_step == "relu"
    assert [s.status for s in verdict.steps] == ["right", "wrong", "consistent"]
    one = make_model([helper.make_node("Gemm", ["x", "W", "b"], ["h"], transB=1),
                      helper.make_node("Relu", ["h"], ["y"])], [("x", [None, 1])], ["y"],
                     {"W": np.array([[3.0]], np.float32), "b": np.array([-1.0], np.float32)})
    single = symnet.explain(one)
    assert symnet.check(single, 2, formula="max(0, 3x - 1)").correct
    differs = symnet.check(single, 2, formula="3x - 1")
    assert not differs.correct and differs.counterexample is not None


def test_explorer_on_an_onnx_network(tmp_path):
    """A scaler written with constants ((x − μ)/σ, then · c + d: WithConstant) before
    Gemm/Relu/Gemm/Sigmoid: the explorer page computes what evaluate does; a constant divided
    by the input (not affine) is refused by name."""
    from .test_report_reader import explorer_output

    rng = np.random.default_rng(3)
    inits = {"mu": rng_weights(rng, 3), "sigma": np.abs(rng_weights(rng, 3)) + 0.5,
             "c": np.float32(2.0), "d": rng_weights(rng, 1, 3), "W": rng_weights(rng, 4, 3),
             "b": rng_weights(rng, 4), "V": rng_weights(rng, 2, 4), "e": rng_weights(rng, 2)}
    nodes = [helper.make_node("Sub", ["x", "mu"], ["s"]),
             helper.make_node("Div", ["s", "sigma"], ["n"]),
             helper.make_node("Mul", ["c", "n"], ["m"]),
             helper.make_node("Add", ["m", "d"], ["a"]),
             helper.make_node("Gemm", ["a", "W", "b"], ["h"], transB=1),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "V", "e"], ["z"], transB=1),
             helper.make_node("Sigmoid", ["z"], ["y"])]
    net = symnet.explain(make_model(nodes, [("x", [None, 3])], ["y"], inits))
    html = net.report("html", np.zeros(3), interactive=True)
    for x in ([0.5, -1.0, 2.0], [3.0, 0.25, -0.75]):
        np.testing.assert_allclose(explorer_output(html, x, tmp_path),
                                   np.ravel(net.evaluate(x, "float64")), rtol=1e-9, atol=1e-12)
    reciprocal = make_model([helper.make_node("Div", ["c", "x"], ["y"])], [("x", [None, 3])],
                            ["y"], {"c": np.float32(2.0)})
    with pytest.raises(UnsupportedLayerError, match="explorer cannot compute"):
        symnet.explain(reciprocal).report("html", interactive=True)
