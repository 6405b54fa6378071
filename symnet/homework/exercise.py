"""Exercises for a class: a small random network to compute by hand, its sheet and its key.

``make_exercise(seed)`` is deterministic per seed: the weights are multiples of 1/2 (exact in
float32, friendly by hand) and the input a vector of small integers. It writes the network
(``exercise.keras``), the question sheet (``exercise.tex``, ``exercise.html`` with MathML) and
the answer key: ``key.txt`` (the full trace) and ``steps.json`` (layer name -> values, the
format ``symnet check --steps`` reads, so a student's steps file can be checked against it).
"""

from __future__ import annotations

import html
import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

__all__ = ["make_exercise"]


def _draw(rng: np.random.Generator, inputs: int, widths: Sequence[int]
          ) -> tuple[list[np.ndarray], np.ndarray]:
    """Weights and an input where every hidden layer has an active and a clipped unit (a
    ReLU worth computing), drawn until found; deterministic for the generator's seed."""
    sizes = [inputs, *widths, 1]
    for _ in range(1000):
        weights = []
        for n, m in itertools.pairwise(sizes):
            weights += [rng.integers(-4, 5, size=(n, m)) / 2, rng.integers(-4, 5, size=m) / 2]
        x = rng.integers(-3, 4, size=inputs).astype(np.float64)
        h, interesting = x, True
        for k in range(len(widths)):
            pre = h @ weights[2 * k] + weights[2 * k + 1]
            interesting &= bool(np.any(pre > 0)) and (pre.size < 2 or bool(np.any(pre < 0)))
            h = np.maximum(pre, 0)
        if interesting:
            return weights, x
    return weights, x


def _model(seed: int, inputs: int, widths: Sequence[int]) -> tuple[Any, np.ndarray]:
    from ..io.keras import import_keras

    keras = import_keras()
    weights, x = _draw(np.random.default_rng(seed), inputs, widths)
    layers = [keras.Input((inputs,), name="x")]
    for k, width in enumerate(widths, start=1):
        layers.append(keras.layers.Dense(width, activation="relu", name=f"hidden_{k}"))
    layers.append(keras.layers.Dense(1, name="output"))
    model = keras.Sequential(layers, name=f"exercise_{seed}")
    model.set_weights([w.astype(np.float32) for w in weights])
    return model, x


def _sheet_latex(net: Any, x: np.ndarray, seed: int) -> list[str]:
    """The sheet's math, one display formula a line."""
    from ..report.latex import latex

    lines = []
    for layer in net.layers:
        lines.append(latex(layer.formula))
        for p in layer.params:
            rows, cols = (int(d) for d in p.symbol.shape)
            matrix = sp.ImmutableMatrix(rows, cols, [sp.nsimplify(float(v)) for v in
                                                     p.value.reshape(-1)])
            lines.append(f"{latex(p.symbol)} = {latex(matrix)}")
    shown = sp.ImmutableMatrix(1, x.size, [sp.Integer(int(v)) for v in x])
    lines.append(f"x = {latex(shown)}")
    return lines


def make_exercise(seed: int, folder: Path, widths: Sequence[int] = (3,), inputs: int = 2,
                  pdf: bool = False) -> list[Path]:
    """Write the exercise of ``seed`` into ``folder``; returns the paths written. With ``pdf``,
    also ``exercise.pdf``, compiled by a real LaTeX engine (``MissingToolError`` if none)."""
    from ..files import write_output
    from ..network import explain

    if not widths or any(w < 1 or w > 16 for w in widths) or not 1 <= inputs <= 8:
        from ..errors import InvalidInputError

        raise InvalidInputError(f"an exercise has 1 to 8 inputs and hidden layers of 1 to 16 "
                                f"units; received inputs={inputs}, layers={list(widths)}")
    if pdf:
        from ..report.pdf import require_engine

        require_engine()  # a missing engine is an error before anything is written
    folder.mkdir(parents=True, exist_ok=True)
    model, x = _model(seed, inputs, widths)
    model_path = folder / "exercise.keras"
    model.save(model_path)
    net = explain(model)
    trace = net.trace(x)
    math_lines = _sheet_latex(net, x, seed)
    task = ("Compute, by hand, the output of each layer and the network's output y for the "
            "input x below. ReLU(t) = max(0, t), applied to each entry.")
    tex = "\n".join([
        r"\documentclass{article}", r"\usepackage{amsmath,amssymb}", r"\begin{document}",
        rf"\section*{{Exercise {seed}}}", task.replace("max(0, t)", r"$\max(0, t)$"),
        *[rf"\[ {line} \]" for line in math_lines], r"\end{document}", ""])
    from latex2mathml.converter import convert

    body = "\n".join(convert(line, display="block") for line in math_lines)
    page = "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', '<head><meta charset="utf-8">',
        f"<title>Exercise {seed}</title></head>", "<body>",
        f"<h1>Exercise {seed}</h1>", f"<p>{html.escape(task)}</p>", body, "</body>",
        "</html>", ""])
    steps = {s.layer: np.asarray(s.value, np.float64).reshape(-1).tolist() for s in trace.steps}
    key = [f"Exercise {seed}: answer key at x = {x.tolist()}"]
    for s in trace.steps:
        key.append(f"{s.layer}: {np.asarray(s.value, np.float64).reshape(-1).tolist()}")
    key.append(f"y = {float(np.asarray(trace.output).reshape(-1)[0]):g}")
    written = [model_path]
    for name, text in (("exercise.tex", tex), ("exercise.html", page),
                       ("key.txt", "\n".join(key) + "\n"),
                       ("steps.json", json.dumps(steps, indent=2) + "\n"),
                       ("input.txt", ",".join(f"{v:g}" for v in x) + "\n")):
        write_output(text, str(folder / name))
        written.append(folder / name)
    if pdf:
        from ..report.pdf import latex_to_pdf

        written.append(latex_to_pdf(tex, folder / "exercise.pdf"))
    return written
