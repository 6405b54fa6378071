"""ONNX benchmarks: explain() and evaluate() of real ONNX files from ../shared/onnx-models,
against ONNX Runtime and a plain numpy forward pass in the same run.

- ``mnistmlp_frenz86.onnx`` (keras2onnx, 784 -> 300 -> 50 -> 10, 251,060 parameters): float32
  evaluate against ONNX Runtime (its default session, one thread, and the reference session
  symnet checks against: graph optimisations off) and numpy's ``x @ W + b``; exact evaluate.
- ``vit_tommyhuang821.onnx`` (a ViT spelled node by node: attention as MatMul of computed
  tensors, LayerNorm and GELU spelled out, 346 nodes): float32 evaluate against ONNX Runtime.

Run: ``python benchmarks/bench_onnx.py`` (the files must be at ``../shared/onnx-models``
beside the project; without them the benchmark says so and measures nothing).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from timing import best_of as timed

FOLDER = Path(__file__).resolve().parents[2] / "shared" / "onnx-models"


def _session(path: Path, optimised: bool):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    if not optimised:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _mlp(figures: dict[str, float]) -> None:
    import onnx
    from onnx import numpy_helper

    import symnet

    path = FOLDER / "mnistmlp_frenz86.onnx"
    t_explain = timed(lambda: symnet.explain(path), repeat=3)
    net = symnet.explain(path)
    weights = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}
    layers = [(weights[f"{n}/kernel:0"], weights[f"{n}/bias:0"])
              for n in ("dense", "dense_1", "dense_2")]

    def numpy_forward(x: np.ndarray) -> np.ndarray:
        h = x.reshape(len(x), -1)
        for k, (w, b) in enumerate(layers):
            h = h @ w + b
            h = np.maximum(h, 0) if k < 2 else h
        e = np.exp(h - h.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    fast, reference = _session(path, True), _session(path, False)
    print(f"mnistmlp_frenz86.onnx (251,060 parameters): explain {t_explain * 1e3:.1f} ms")
    rng = np.random.default_rng(0)
    for rows in (1, 1000):
        x = rng.normal(size=(rows, 28, 28, 1)).astype(np.float32)
        t_eval = timed(lambda x=x: net.evaluate(x), 5)
        t_ort = timed(lambda x=x: fast.run(None, {"flatten_input": x}), 5)
        t_ref = timed(lambda x=x: reference.run(None, {"flatten_input": x}), 5)
        t_np = timed(lambda x=x: numpy_forward(x), 5)
        ours = net.evaluate(x)
        diff = float(np.max(np.abs(ours - fast.run(None, {"flatten_input": x})[0])))
        diff_np = float(np.max(np.abs(ours - numpy_forward(x))))
        print(f"  evaluate float32, {rows:>4} rows: {t_eval * 1e3:8.2f} ms | ONNX Runtime "
              f"{t_ort * 1e3:7.2f} ms (ratio {t_eval / t_ort:5.2f}; unoptimised session "
              f"{t_ref * 1e3:7.2f} ms, ratio {t_eval / t_ref:5.2f}) | numpy {t_np * 1e3:7.2f} ms "
              f"(ratio {t_eval / t_np:5.2f}) | max |diff| ONNX Runtime {diff:.2e}, numpy "
              f"{diff_np:.2e}")
        figures[f"onnx_mlp_ort_ratio_{rows}"] = t_eval / t_ort
        figures[f"onnx_mlp_numpy_ratio_{rows}"] = t_eval / t_np
    x = rng.normal(size=(1, 28, 28, 1)).astype(np.float32)
    net.evaluate(x, "exact")  # the weights' integer matrices, once per process
    t_exact = timed(lambda: net.evaluate(x, "exact"), 3)
    print(f"  evaluate exact, 1 row: {t_exact:.3f} s (the softmax's exp to 50 digits)")
    figures["onnx_mlp_explain_s"] = t_explain
    figures["onnx_mlp_exact_s"] = t_exact


def _vit(figures: dict[str, float]) -> None:
    import symnet

    path = FOLDER / "vit_tommyhuang821.onnx"
    t_explain = timed(lambda: symnet.explain(path), repeat=1)
    net = symnet.explain(path)
    session = _session(path, True)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 49, 16)).astype(np.float32)
    t_eval = timed(lambda: net.evaluate(x), 5)
    t_ort = timed(lambda: session.run(None, {"input.1": x}), 5)
    xs = rng.normal(size=(100, 49, 16)).astype(np.float32)
    t_eval_100 = timed(lambda: net.evaluate(xs), 3)
    t_ort_100 = timed(lambda: [session.run(None, {"input.1": xs[i:i + 1]}) for i in range(100)],
                      3)  # the file fixes its batch at 1
    diff = float(np.max(np.abs(net.evaluate(xs) - np.concatenate(
        [session.run(None, {"input.1": xs[i:i + 1]})[0] for i in range(100)]))))
    print(f"vit_tommyhuang821.onnx ({len(net.layers)} layers, 346 nodes): explain "
          f"{t_explain:.2f} s")
    print(f"  evaluate float32,    1 row:  {t_eval * 1e3:8.2f} ms | ONNX Runtime "
          f"{t_ort * 1e3:7.2f} ms (ratio {t_eval / t_ort:5.2f})")
    print(f"  evaluate float32,  100 rows: {t_eval_100 * 1e3:8.2f} ms | ONNX Runtime, 100 runs "
          f"of one row {t_ort_100 * 1e3:7.2f} ms (ratio {t_eval_100 / t_ort_100:5.2f}) | max "
          f"|diff| {diff:.2e}")
    figures["onnx_vit_explain_s"] = t_explain
    figures["onnx_vit_ort_ratio_1"] = t_eval / t_ort
    figures["onnx_vit_ort_ratio_100"] = t_eval_100 / t_ort_100


def main() -> dict[str, float]:
    figures: dict[str, float] = {}
    if not (FOLDER / "mnistmlp_frenz86.onnx").is_file():
        print(f"no ONNX files at {FOLDER.name}/ beside the project: nothing measured")
        return figures
    _mlp(figures)
    _vit(figures)
    return figures


if __name__ == "__main__":
    main()
