"""Reports: one report model (:func:`report_data`), then one printer per format.

The model is plain data (JSON-able, deterministic: no timestamps, stable order); formulas are
carried as SymPy's ``srepr``, as plain text and as LaTeX from :mod:`symnet.report.latex`.
Printers walk the model — text, JSON, LaTeX, Markdown, MathML (``latex2mathml`` on the LaTeX of
each formula), HTML — and none re-parses another printer's output. Numbers are rounded for
display only (``digits``); the computation never is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..errors import ExpressionTooLarge, InvalidInputError
from ..symbolic import round_floats

__all__ = ["FORMATS", "SCHEMA", "ReportSettings", "render", "report_data"]

SCHEMA = "symnet.report/1"
FORMATS = ("text", "json", "latex", "markdown", "mathml", "html")


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


def report_data(net: Any, x: Any = None, settings: ReportSettings | None = None,
                target: Any = None, domain: Any = None) -> dict[str, Any]:
    """Everything a report shows, as plain data (JSON-able, deterministic order)."""
    settings = settings or ReportSettings()
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
            "note": layer.note,
            "constants": {k: v for k, v in layer.constants.items()},
            "parameters": [{
                "name": p.name,
                "symbol": None if p.symbol is None else str(p.symbol),
                "symbol_latex": None if p.symbol is None else _formula(p.symbol)["latex"],
                "shape": list(p.shape),
                "trainable": p.trainable,
                "meaning": p.meaning,
                "matrix_latex": matrix_latex(p.value, settings) if p.value.dtype.kind == "f"
                else None,
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
        explanation = net.why(x, target=target, domain=domain)
        data["why"] = {**explanation.to_dict(), "summary": explanation.summary()}
    return data


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
        })
    return steps


def _simplification(net: Any) -> list[dict[str, Any]] | None:
    """The passes, before -> after, for a chain network (``None`` when it branches)."""
    from ..errors import UnsupportedLayerError

    try:
        results = net.simplify()
    except UnsupportedLayerError:
        return None
    return [{"pass": r.name, "before": [s.describe() for s in r.before],
             "after": [s.describe() for s in r.after], "notes": list(r.notes)}
            for r in results]


def render(net: Any, fmt: str, x: Any = None, *, settings: ReportSettings | None = None,
           target: Any = None, domain: Any = None) -> str:
    """The report of ``net`` in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt not in FORMATS:
        raise InvalidInputError(f"format must be one of {', '.join(FORMATS)}, received {fmt!r}")
    settings = settings or ReportSettings()
    data = report_data(net, x, settings, target=target, domain=domain)
    if fmt == "json":
        import json

        return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    if fmt == "text":
        from .text import render_text

        return render_text(data)
    if fmt == "latex":
        from .document import render_latex

        return render_latex(data)
    if fmt == "markdown":
        from .document import render_markdown

        return render_markdown(data)
    if fmt == "mathml":
        from .document import render_mathml

        return render_mathml(data)
    from .html import render_html

    return render_html(data, plot=_plot(net, x, target, domain))


def _plot(net: Any, x: Any, target: Any, domain: Any) -> str | None:
    if len(net.inputs) != 1 or not net.is_piecewise_linear:
        return None
    from .plot import plot_svg

    return plot_svg(net, x, target, domain)
