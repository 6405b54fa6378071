"""The report model: everything a report shows, computed once, as frozen data.

:func:`build_report` is the one analysis step of a report: it runs the forms, the passes, the
trace, the explanation, the pieces and the agreement with ``model.predict`` once, and returns a
:class:`ReportModel`. Its ``data`` is plain JSON-able data (deterministic: no timestamps, stable
order); formulas are carried as SymPy's ``srepr``, as plain text and as LaTeX. Printers only
walk the model.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..analysis.forms import round_floats
from ..analysis.piecewise import Piece, domain_of, network_pieces
from ..errors import ExpressionTooLarge

__all__ = ["SCHEMA", "Curve", "ReportModel", "ReportSettings", "build_report", "matrix_latex",
           "shape_text"]

SCHEMA = "symnet.report/1"


@dataclass(frozen=True)
class ReportSettings:
    """Display settings: digits shown, and how much of a matrix is printed in full."""

    digits: int = 4
    max_rows: int = 6
    max_cols: int = 6
    max_terms_per_line: int = 2


def _formula(expr: Any) -> dict[str, str]:
    from .latex import latex
    from .text import text

    return {"text": text(expr), "latex": latex(expr), "srepr": sp.srepr(expr)}


def shape_text(shape: list[int]) -> str:
    """A per-sample shape as Python writes a tuple: ``(16,)``, ``(3, 4)``."""
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _number(v: float, digits: int) -> str:
    return f"{v:.{digits}g}"


def matrix_latex(value: np.ndarray, settings: ReportSettings) -> str:
    """A matrix for people: small in full, large with ``\\cdots``, ``\\vdots``, ``\\ddots``."""
    arr = np.asarray(value, dtype=np.float64)
    arr = arr.reshape(1, -1) if arr.ndim <= 1 else arr.reshape(-1, arr.shape[-1])
    rows, cols = arr.shape

    def pick(n: int, limit: int) -> list[int | None]:
        if n <= limit:
            return list(range(n))
        head = limit // 2
        return [*range(head), None, *range(n - (limit - head - 1), n)]

    lines = []
    for i in pick(rows, settings.max_rows):
        cells = []
        for j in pick(cols, settings.max_cols):
            if i is None and j is None:
                cells.append(r"\ddots")
            elif i is None:
                cells.append(r"\vdots")
            elif j is None:
                cells.append(r"\cdots")
            else:
                cells.append(_number(float(arr[i, j]), settings.digits))
        lines.append(" & ".join(cells))
    return r"\begin{bmatrix}" + r" \\ ".join(lines) + r"\end{bmatrix}"


def _agreement(net: Any, x: Any) -> dict[str, Any] | None:
    """Largest |symnet − model.predict| on the samples shown, as a power-of-ten bound (so that
    the report reads the same on every machine)."""
    model = getattr(net, "model", None)
    if model is None:
        return None
    if x is None:
        rng = np.random.default_rng(0)
        samples = [rng.normal(size=(8, *shape)).astype(np.float32) for shape in net.input_shapes]
    else:
        samples = [np.asarray(x, np.float32).reshape((1, *net.input_shapes[0]))]
    ours = net.evaluate(samples if len(samples) > 1 else samples[0])
    try:
        keras_out = model.predict(samples if len(samples) > 1 else samples[0], verbose=0)
    except Exception as exc:  # Keras can refuse to run a model it loaded (e.g. odd names)
        plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(exc))  # Keras colours its messages
        reason = " ".join("".join(c for c in plain if c.isprintable() or c.isspace())
                          .split())[:160]
        return {"samples": 0, "max_abs_diff_below": None,
                "text": f"model.predict could not run, so agreement was not measured "
                        f"({type(exc).__name__}: {reason})"}
    pairs = zip(ours if isinstance(ours, list) else [ours],
                keras_out if isinstance(keras_out, list) else [keras_out])
    worst = max(float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
                for a, b in pairs)
    bound = 10.0 ** math.ceil(math.log10(worst)) if worst > 0 else 0.0
    return {"samples": int(samples[0].shape[0]), "max_abs_diff_below": bound,
            "text": ("identical to model.predict" if worst == 0 else
                     f"largest difference from model.predict: below {bound:.0e}") +
                    f" (on {samples[0].shape[0]} sample{'s' if samples[0].shape[0] > 1 else ''})"}


def _closed_lines(expr: Any, settings: ReportSettings) -> list[str]:
    """The closed form in LaTeX, broken into lines of a few terms each."""
    from .latex import latex

    shown = round_floats(expr, settings.digits)
    signed = []
    for k, term in enumerate(sp.Add.make_args(shown)):
        text = latex(term)
        if k == 0:
            signed.append(text)
        else:
            signed.append(f"- {text[1:].lstrip()}" if text.startswith("-") else f"+ {text}")
    per = settings.max_terms_per_line
    return [" ".join(signed[i:i + per]) for i in range(0, len(signed), per)]


@dataclass(frozen=True)
class Curve:
    """A one-input piecewise-linear network's function on an interval, for the plot."""

    x_name: str
    y_name: str
    grid: np.ndarray
    values: np.ndarray
    breakpoints: np.ndarray
    break_values: np.ndarray
    target: np.ndarray | None = None
    target_label: str = ""
    sample: float | None = None


@dataclass(frozen=True)
class ReportModel:
    """What every printer prints: ``data`` (plain JSON-able data, read-only by convention) and,
    for a one-input piecewise-linear network, the ``curve`` to plot."""

    data: dict[str, Any]
    curve: Curve | None = None


def build_report(net: Any, x: Any = None, settings: ReportSettings | None = None,
                 target: Any = None, domain: Any = None) -> ReportModel:
    """Run every analysis a report shows, once."""
    from ..analysis.explanation import why

    settings = settings or ReportSettings()
    graph = net.graph
    pieces = None
    if len(graph.features) == 1 and graph.piecewise_linear:
        pieces = network_pieces(graph, domain)
    layers = []
    for layer in net.layers:
        shape = layer.input_shape
        layers.append({
            "name": layer.name,
            "kind": layer.kind,
            "input_shape": [list(s) for s in shape] if isinstance(shape, list) else list(shape),
            "output_shape": list(layer.output_shape),
            "param_count": layer.param_count,
            "trainable_count": layer.trainable_count,
            "non_trainable_count": layer.non_trainable_count,
            "formula": _formula(layer.formula),
            "definitions": [{"latex": d.latex, "text": d.text} for d in layer.definitions],
            "note": layer.note,
            "constants": {k: v for k, v in layer.constants.items()},
            "parameters": [{
                "name": p.name,
                "symbol": None if p.symbol is None else str(p.symbol),
                "symbol_latex": None if p.symbol is None else _formula(p.symbol)["latex"],
                "shape": list(p.shape),
                "trainable": p.trainable,
                "meaning": p.meaning,
                "matrix_latex": matrix_latex(p.value, settings)
                if np.issubdtype(p.value.dtype, np.floating) else None,
            } for p in layer.params],
        })
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "model": net.name,
        "inputs": [str(s) for s in net.inputs],
        "outputs": [str(s) for s in net.outputs],
        "input_shapes": [list(s) for s in net.input_shapes],
        "output_shapes": [list(s) for s in net.output_shapes],
        "param_count": net.param_count,
        "trainable_count": net.trainable_count,
        "non_trainable_count": net.non_trainable_count,
        "layers": layers,
        "structural_form": _formula(net.structural_form()),
    }
    data["simplification"] = _simplification(net)
    try:
        data["closed_form"] = {"outputs": [
            {"name": str(name), **_formula(expr), "latex_lines": _closed_lines(expr, settings)}
            for name, expr in zip(net.outputs, net.closed_form())]}
    except ExpressionTooLarge as exc:
        data["closed_form"] = {"too_large": str(exc), "estimate": exc.estimate}
    data["agreement"] = _agreement(net, x)
    if x is not None:
        value = np.asarray(net.evaluate(x, "float32"), dtype=np.float64)
        data["evaluation"] = {"input": np.asarray(x, dtype=np.float64).reshape(-1).tolist(),
                              "output": value.reshape(-1).tolist(), "precision": "float32"}
        data["trace"] = _trace(net, x, settings)
        explanation = why(graph, x, target, 0, domain, pieces=pieces)
        data["why"] = {**explanation.to_dict(), "summary": explanation.summary()}
    curve = None if pieces is None else _curve(graph, pieces, x, target, domain)
    return ReportModel(data, curve)


def _curve(graph: Any, pieces: list[Piece], x: Any, target: Any, domain: Any) -> Curve:
    """The network on ``domain`` (default: around its breakpoints and ``x``)."""
    from ..analysis.explanation import target_function
    from ..backends import FloatBackend

    points = np.array([float(p.low) for p in pieces[1:]])
    sample = None if x is None else float(np.ravel(np.asarray(x, dtype=np.float64))[0])
    if domain is not None:
        low, high = domain_of(graph, domain)
    else:
        span = [*points.tolist(), *([] if sample is None else [sample])] or [0.0]
        low, high = min(span) - 2.0, max(span) + 2.0
    inside = points[(points >= low) & (points <= high)]
    grid = np.union1d(np.linspace(low, high, 801), inside)

    def evaluate(xs: np.ndarray) -> np.ndarray:
        values = graph.run(FloatBackend(np.float64), graph.batch(xs.reshape(-1, 1)))
        return graph.output_values(values)[:, 0]

    target_values, label = None, ""
    if target is not None:
        shown, fn = target_function(graph, target)
        target_values, label = fn(grid.reshape(-1, 1)), f"target {shown}"
    return Curve(str(graph.features[0]), str(graph.targets[0]), grid, evaluate(grid), inside,
                 evaluate(inside) if inside.size else inside, target_values, label, sample)


def _trace(net: Any, x: Any, settings: ReportSettings) -> list[dict[str, Any]]:
    from .latex import latex

    steps = []
    for step in net.trace(x).steps:
        value = np.asarray(step.value, np.float64).reshape(-1)
        substituted = latex(sp.Eq(step.formula.lhs, round_floats(step.substituted, settings.digits),
                                  evaluate=False))
        if len(substituted) > 400:  # too wide to read: the formula, and the values below it
            substituted = latex(step.formula)
        steps.append({
            "layer": step.layer,
            "formula_latex": latex(step.formula),
            "substituted_latex": substituted,
            "value": value.tolist() if value.size <= 64 else None,
            "value_latex": matrix_latex(value, settings),
            "active": None if step.active is None else np.asarray(step.active).reshape(-1)
            .astype(bool).tolist(),
            "worked": [{"latex": w.latex, "text": w.text} for w in step.worked],
        })
    return steps


def _simplification(net: Any) -> list[dict[str, Any]] | None:
    """The passes, before -> after, for a chain network (``None`` when it branches)."""
    from ..analysis.passes import describe
    from ..errors import UnsupportedLayerError

    try:
        results = net.simplify()
    except UnsupportedLayerError:
        return None
    return [{"pass": r.name, "before": [describe(s) for s in r.before],
             "after": [describe(s) for s in r.after], "notes": list(r.notes)}
            for r in results]
