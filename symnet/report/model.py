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
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from ..analysis.forms import round_floats
from ..analysis.piecewise import Piece, domain_of, network_pieces
from ..errors import ExpressionTooLarge
from ..escape import terminal_text

__all__ = ["SCHEMA", "Curve", "ReportModel", "ReportSettings", "build_report", "finite",
           "matrix_latex", "number_text", "region_lines", "shape_text", "trace_data",
           "values_text"]

SCHEMA = "symnet.report/1"


@dataclass(frozen=True)
class ReportSettings:
    """Display settings: digits of formulas and matrices, digits of the numbers a reader checks
    (weights, the trace: float32 holds about 7), how much of an array is listed in full, and
    the largest closed form worth printing."""

    digits: int = 4
    max_rows: int = 6
    max_cols: int = 6
    max_terms_per_line: int = 2
    value_digits: int = 7
    max_listed: int = 64
    """Arrays (weights, a layer's values) with at most this many entries are listed in full;
    larger ones show their first ``max_listed`` entries and say so."""
    max_json_values: int = 4096
    """Weights with at most this many entries carry their numbers in the JSON."""
    max_region_units: int = 64
    """Two-input networks: the linear regions are drawn when at most this many units bend."""
    max_regions_listed: int = 12
    """... and listed in a table (exact vertices) when there are at most this many."""
    max_structural_depth: int = 40
    """Networks of more layer calls have their structural form said as a composition."""
    max_closed_form: int = 2500
    """The closed form is printed only when its estimated size (SymPy nodes) is at most this:
    beyond, no reader can use it, and the structural form and the trace say more."""


def finite(v: Any) -> float | None:
    """A number for strict JSON: ``None`` for NaN and infinities."""
    f = float(v)
    return f if math.isfinite(f) else None


def number_text(v: float | None, digits: int = 7) -> str:
    """A number as a reader checks it: ``25.00466``, ``-1.038261``, ``nan``."""
    if v is None:
        return "nan"
    out = f"{v:.{digits}g}"
    return "0" if out == "-0" else out


def values_text(values: list[Any], digits: int = 7) -> str:
    """A flat list of numbers as text: ``-1.038261, 6.060466, ...``."""
    return ", ".join(number_text(v, digits) for v in values)


def listed_lines(listed: dict[str, Any], digits: int = 7, width: int = 92) -> list[str]:
    """A listed array as wrapped lines of text, with its truncation stated."""
    import textwrap

    body = "[" + values_text(listed["values"], digits) + (", ..." if listed["truncated"] else "") \
        + "]"
    lines = textwrap.wrap(body, width=width, break_on_hyphens=False) or ["[]"]
    if listed["truncated"]:
        lines.append(f"(first {len(listed['values'])} of {listed['size']:,} entries)")
    return lines


def why_rows(why: dict[str, Any]) -> list[dict[str, str]]:
    """The explanation as rows of a table, each with a label, plain text and LaTeX: the value,
    the local law and where it holds, the active units per layer (inactive ones grouped), what
    forgetting the activations gives, the target's comparison, the dead units."""
    from ..escape import tex_text

    def n(v: Any) -> str:
        return number_text(None if v is None else float(v))

    rows = []
    x = ", ".join(n(v) for v in why["x"][:8]) + (", ..." if len(why["x"]) > 8 else "")
    out = why["output"]
    which = f" (output {why['output_index']} of {why['outputs']}, the largest)" \
        if why.get("outputs", 1) > 1 and why["output_index"] is not None else ""
    rows.append({"label": "output", "text": f"{out} = {n(why['value'])} at x = {x}{which}",
                 "latex": f"${tex_text(out)} = {n(why['value'])}$ at $x = {x}$"
                          + tex_text(which)})
    if why["local_law"] is not None:
        region = why["region"]
        if region and len(region) == 2 and not isinstance(region[0], str):
            low, high = (n(v) for v in region)
            where_text = f"exact for {low} <= x <= {high}"
            where_latex = f"exact for ${low} \\le x \\le {high}$".replace("inf", "\\infty")
        else:
            where_text = where_latex = f"exact on a region bounded by " \
                                       f"{why.get('region_inequalities') or 0} inequalities"
        rows.append({"label": "local law",
                     "text": f"{out} = {why['local_law_text']}, {where_text}",
                     "latex": f"${tex_text(out)} = {why['local_law_latex']}$, {where_latex}"})
    for layer, mask in why["active"].items():
        on = [i for i, a in enumerate(mask) if a]
        off = [i for i, a in enumerate(mask) if not a]

        def units(idx: list[int]) -> str:
            return ", ".join(map(str, idx[:32])) + (", ..." if len(idx) > 32 else "")

        line = f"{len(on)} of {len(mask)} units active" + (f": {units(on)}" if on else "") + \
            (f"; inactive (output 0 or constant): {units(off)}" if off else "")
        rows.append({"label": layer, "text": line, "latex": tex_text(line, limit=None)})
    w = why["without_activation"]
    if w is not None:
        off_by = None if why["value"] is None else float(w) - float(why["value"])
        line = f"{n(w)}, off by {'' if off_by is None or off_by < 0 else '+'}{n(off_by)}"
        rows.append({"label": "without the activations", "text": line,
                     "latex": f"${line.replace(', off by', '$, off by $')}$"})
    if why["target"] is not None:
        t = f"{why['target']} = {n(why['target_value'])} at x; error {n(why['target_error'])}"
        rows.append({"label": "target", "text": t, "latex": tex_text(t, limit=None)})
        c = why.get("law_versus_target")
        if c:
            line = (f"slope {n(c['slope'])} vs {n(c['target_slope'])}, intercept "
                    f"{n(c['intercept'])} vs {n(c['target_intercept'])}")
            rows.append({"label": "local law vs target", "text": line,
                         "latex": tex_text(line, limit=None)})
        if why["max_target_error"] is not None:
            low, high = why["domain"]
            line = (f"largest error on [{n(low)}, {n(high)}]: {n(why['max_target_error'])} at "
                    f"x = {n(why['max_target_error_at'])}")
            rows.append({"label": "on the domain", "text": line,
                         "latex": tex_text(line, limit=None)})
    for layer, dead in why["dead_units"].items():
        if dead:
            line = "units " + ", ".join(map(str, dead))
            rows.append({"label": f"dead on the domain ({layer})", "text": line,
                         "latex": tex_text(line, limit=None)})
    for note in why["notes"]:
        rows.append({"label": "note", "text": note, "latex": tex_text(note, limit=None)})
    return rows


def _listed(value: np.ndarray, settings: ReportSettings) -> dict[str, Any]:
    """The first ``max_listed`` entries of an array (flat, row-major) as JSON numbers."""
    flat = np.asarray(value, dtype=np.float64).reshape(-1)
    return {"shape": list(np.shape(value)), "size": int(flat.size),
            "values": [finite(v) for v in flat[:settings.max_listed]],
            "truncated": bool(flat.size > settings.max_listed)}


def _formula(expr: Any) -> dict[str, str]:
    from ..printing.latex import latex
    from ..printing.text import text

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
    the report reads the same on every machine). A network read from its file without Keras
    has Keras load the file now: the agreement is always with Keras' own reading."""
    from ..errors import SymnetError

    try:
        model = getattr(net, "model", None)
    except SymnetError as exc:
        return {"samples": 0, "max_abs_diff_below": None,
                "text": f"Keras could not load the model, so agreement with model.predict was "
                        f"not measured ({terminal_text(str(exc), 200)})"}
    if model is None:
        return None
    if x is None:
        rng = np.random.default_rng(0)
        samples = [rng.normal(size=(8, *shape)).astype(np.float32) for shape in net.input_shapes]
    else:
        parts = x if len(net.input_shapes) > 1 else [x]
        samples = [np.asarray(a, np.float32).reshape((1, *shape))
                   for a, shape in zip(parts, net.input_shapes, strict=True)]
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
    from ..printing.latex import latex

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
    sample_value: float | None = None
    target_at_sample: float | None = None


@dataclass(frozen=True)
class ReportModel:
    """What every printer prints: ``data`` (plain JSON-able data, read-only by convention) and,
    for a one-input piecewise-linear network, the ``curve`` to plot."""

    data: dict[str, Any]
    curve: Curve | None = None
    explorer: dict[str, Any] | None = None
    """The network as the interactive explorer's script reads it (``interactive=True``)."""


def is_classifier(net: Any) -> bool:
    """A classifier: one output vector of several entries made by a softmax or a sigmoid."""
    from ..ops.activations import Elementwise, Softmax

    graph = net.graph
    if len(graph.outputs) != 1 or int(np.prod(net.output_shapes[0])) < 2:
        return False
    node = graph.producer(graph.outputs[0])
    while node is not None and node.op.identity:
        node = graph.producer(node.inputs[0])
    if node is None:
        return False
    if isinstance(node.op, Softmax):
        return not node.op.log
    return isinstance(node.op, Elementwise) and node.op.fn.func.__name__ == "Sigmoid"


def predicted_output(net: Any, value: np.ndarray) -> int:
    """The output ``why`` explains by default: the predicted class of a classifier (its
    largest output), else output 0."""
    flat = np.asarray(value, np.float64).reshape(-1)
    if is_classifier(net) and np.all(np.isfinite(flat)):
        return int(np.argmax(flat))
    return 0


def build_report(net: Any, x: Any = None, settings: ReportSettings | None = None,
                 target: Any = None, domain: Any = None, output: int | None = None,
                 interactive: bool = False) -> ReportModel:
    """Run every analysis a report shows, once (``output``: the output ``why`` explains, by
    default the predicted class of a classifier, else 0; ``interactive``: also the data of the
    HTML explorer)."""
    from ..analysis.explanation import why

    settings = settings or ReportSettings()
    graph = net.graph
    pieces = None
    if len(graph.features) == 1 and graph.piecewise_linear:
        pieces = network_pieces(graph, domain)
    keras_index = {name: i for i, name in enumerate(getattr(net, "keras_layer_names", ()))}
    layers = []
    for layer in net.layers:
        shape = layer.input_shape
        index = iter(range(len(layer.params)))
        layers.append({
            "name": layer.name,
            "keras_index": keras_index.get(layer.name),
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
                "weights_index": next(index) if p.weight else None,
                "keras_name": f"{layer.name}/{p.name}",
                "symbol": None if p.symbol is None else str(p.symbol),
                "symbol_latex": None if p.symbol is None else _formula(p.symbol)["latex"],
                "shape": list(p.shape),
                "size": p.size,
                "trainable": p.trainable,
                "meaning": p.meaning,
                "matrix_latex": matrix_latex(p.value, settings)
                if np.issubdtype(p.value.dtype, np.floating) else None,
                "listed": _listed(p.value, settings),
                "values": np.vectorize(finite, otypes=[object])(p.value).tolist()
                if p.size <= settings.max_json_values else None,
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
        "structural_form": _structural(net, settings),
    }
    data["simplification"] = _simplification(net, domain)
    data["closed_form"] = _closed_form(net, settings)
    data["agreement"] = _agreement(net, x)
    if x is not None:
        result = net.evaluate(x, "float32")
        value = np.concatenate([np.ravel(np.asarray(r, np.float64)) for r in
                                (result if isinstance(result, list) else [result])])
        flat = np.concatenate([np.ravel(np.asarray(a, np.float64)) for a in
                               (x if len(net.input_shapes) > 1 else [x])])
        data["evaluation"] = {"input": [finite(v) for v in flat],
                              "output": [finite(v) for v in value.reshape(-1)],
                              "precision": "float32"}
        data["trace"] = trace_data(net.trace(x), settings)
        if output is None:
            output = predicted_output(net, value)
        explanation = why(graph, x, target, output, domain, pieces=pieces)
        data["why"] = _why_data(explanation, output, len(value.reshape(-1)))
    data["regions"] = _regions(net, x, output if x is not None else 0, settings)
    curve = None if pieces is None else _curve(graph, pieces, x, target, domain)
    explorer = None
    if interactive:
        from .explorer import explorer_data

        low = high = None
        if domain is not None:
            low, high = domain_of(graph, domain)
        elif curve is not None:
            low, high = float(curve.grid[0]), float(curve.grid[-1])
        explorer = explorer_data(net, x, low, high)
    return ReportModel(data, curve, explorer)


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

    target_values, label, at_sample = None, "", None
    if target is not None:
        shown, fn = target_function(graph, target)
        target_values, label = fn(grid.reshape(-1, 1)), f"target {shown}"
        if sample is not None:
            at_sample = float(np.ravel(fn(np.array([[sample]])))[0])
    sample_value = None if sample is None else float(evaluate(np.array([sample]))[0])
    return Curve(str(graph.features[0]), str(graph.targets[0]), grid, evaluate(grid), inside,
                 evaluate(inside) if inside.size else inside, target_values, label, sample,
                 sample_value, at_sample)


def _structural(net: Any, settings: ReportSettings) -> dict[str, Any]:
    """The structural form, or for a network deeper than a reader can follow in one formula
    (and than SymPy's printers handle in reasonable time: they walk each subformula at every
    level), the composition of the layers' formulas, said as such."""
    depth = len(net.graph.calls)
    if depth <= settings.max_structural_depth:
        return _formula(net.structural_form())
    outputs = ", ".join(str(s) for s in net.outputs)
    inputs = ", ".join(str(s) for s in net.inputs[:3]) + (", ..." if len(net.inputs) > 3 else "")
    return {"text": f"{outputs} = f_{depth}(... f_2(f_1({inputs})) ...)",
            "latex": rf"f_{{{depth}}} \circ \cdots \circ f_{{2}} \circ f_{{1}}",
            "srepr": None,
            "too_deep": f"not written out: the network has {depth} layer calls, more than one "
                        f"formula can show readably ({settings.max_structural_depth}); it is "
                        f"the composition of the layers' formulas above, in order"}


def _closed_form(net: Any, settings: ReportSettings) -> dict[str, Any]:
    """The closed form when a person can read it; otherwise why it is not shown."""
    from ..analysis.forms import estimate_size

    bad = [layer.name for layer in net.layers for p in layer.params
           if np.issubdtype(p.value.dtype, np.floating) and not np.all(np.isfinite(p.value))]
    if bad:
        return {"too_large": f"not printed: the weights of {', '.join(bad)} hold NaN or "
                             f"infinite numbers, so no formula of numbers is meaningful.",
                "estimate": None}
    estimate = estimate_size(net.graph)
    if estimate > settings.max_closed_form:
        return {"too_large": f"not printed: it would have about {estimate:,} SymPy nodes, more "
                             f"than a reader can use (the reports print closed forms of at most "
                             f"{settings.max_closed_form:,}); the structural form above and the "
                             f"trace show the computation.", "estimate": estimate}
    try:
        exprs = net.closed_form()
    except ExpressionTooLarge as exc:
        return {"too_large": str(exc), "estimate": exc.estimate}
    return {"outputs": [
        {"name": str(name), **_formula(expr), "latex_lines": _closed_lines(expr, settings)}
        for name, expr in zip(net.outputs, exprs)]}


def trace_data(trace: Any, settings: ReportSettings) -> list[dict[str, Any]]:
    """The hand calculation as data: per layer the formula, the numbers put in, the values
    before the activation, the values out, and the units the activation clips."""
    from ..printing import latex, visible_length
    from ..printing.text import text

    steps = []
    for step in trace.steps:
        value = np.asarray(step.value, np.float64)
        substituted = latex(sp.Eq(step.formula.lhs, round_floats(step.substituted, settings.digits),
                                  evaluate=False))
        if visible_length(substituted) > 120:  # too wide to read: the numbers are listed instead
            substituted = None
        rhs = step.formula.rhs
        argument = getattr(rhs, "expr", None) if isinstance(rhs, ElementwiseApplyFunction) \
            else None
        active = None if step.active is None else np.asarray(step.active).reshape(-1).astype(bool)
        pre = None
        if step.pre_activation is not None:
            pre = {**_listed(step.pre_activation, settings), "activation": step.activation,
                   "text": text(argument) if argument is not None else f"before {step.activation}",
                   "latex": latex(argument) if argument is not None
                   else rf"\text{{before {step.activation}}}"}
        steps.append({
            "layer": step.layer,
            "kind": step.kind,
            "formula_text": text(step.formula),
            "formula_latex": latex(step.formula),
            "substituted_latex": substituted,
            "inputs": [{**_listed(v, settings), "symbol": text(symbol),
                        "symbol_latex": latex(symbol)}
                       for v, symbol in zip(step.inputs, step.input_symbols)],
            "pre_activation": pre,
            "output": {**_listed(value, settings), "symbol": text(step.formula.lhs),
                       "symbol_latex": latex(step.formula.lhs)},
            "value": [finite(v) for v in value.reshape(-1)] if value.size <= 64 else None,
            "value_latex": matrix_latex(value, settings),
            "active": None if active is None else active.tolist(),
            "clipped": None if active is None else np.flatnonzero(~active).tolist(),
            "worked": [{"latex": w.latex, "text": w.text} for w in step.worked],
        })
    return steps


def _regions(net: Any, x: Any, output: int, settings: ReportSettings) -> dict[str, Any] | None:
    """A two-input piecewise-linear network's exact linear regions on a box around ``x``
    (``[-3, 3]²`` without one): the polygons, each law, and the region holding ``x``. ``None``
    for other networks; a note instead when the regions cannot be found within the report's
    bounds."""
    from ..analysis.regions2d import regions2d
    from ..errors import InvalidInputError, UnsupportedLayerError

    graph = net.graph
    classifier = is_classifier(net) and not graph.piecewise_linear
    if len(graph.features) != 2 or len(graph.inputs) != 1 or not (
            graph.piecewise_linear or classifier):
        return None
    point = None if x is None else np.ravel(np.asarray(x, np.float64))
    if point is None:
        box = ((-3.0, 3.0), (-3.0, 3.0))
    else:
        box = tuple((float(v - 2 * max(1.0, abs(v))), float(v + 2 * max(1.0, abs(v))))
                    for v in point)
    units = sum(int(np.prod(c.layer.output_shape)) for c in graph.calls
                if not all(op.affine for op in c.layer.ops))
    if units > settings.max_region_units:
        return {"box": [list(b) for b in box], "note": (
            f"the linear regions are not drawn: the network has {units} units that bend, more "
            f"than the report follows ({settings.max_region_units}); net.regions2d(box) "
            f"computes them")}
    try:
        regions = regions2d(graph, box, logits=classifier)
    except (UnsupportedLayerError, InvalidInputError) as exc:
        if classifier:
            return None  # not piecewise linear before its softmax: nothing exact to draw
        return {"box": [list(b) for b in box], "note": f"the linear regions are not drawn: {exc}"}
    classes = None
    if classifier:
        from ..analysis.regions2d import class_cells

        classes = [{"vertices": [[float(u), float(v)] for u, v in corners], "class": k}
                   for corners, k in class_cells(regions)]
    holding = None
    listed = []
    for i, region in enumerate(regions):
        a1, a2, b = (float(v) for v in region.law(output))
        vertices = [[float(u), float(v)] for u, v in region.vertices]
        if point is not None and holding is None and _inside(vertices, point):
            holding = i
        listed.append({"vertices": vertices, "law": [finite(a1), finite(a2), finite(b)],
                       "exact_vertices": [[str(u), str(v)] for u, v in region.vertices]
                       if len(regions) <= settings.max_regions_listed else None})
    names = [str(f) for f in graph.features]
    return {"box": [list(b) for b in box], "inputs": names, "output": str(graph.targets[output]),
            "count": len(regions), "regions": listed, "holding_x": holding,
            "x": None if point is None else [finite(v) for v in point],
            "logits": classifier, "classes": classes}


def region_lines(regions: dict[str, Any]) -> list[str]:
    """The linear regions in words: how many on which box, the one holding ``x`` with its law
    and corners, and (when few) every region's law."""
    from ..analysis.geometry import area

    if "note" in regions:
        return [regions["note"]]
    (a, b), (c, d) = regions["box"]
    i1, i2 = regions["inputs"]
    what = f"the logit of {regions['output']} (before the softmax)" if regions.get("logits") \
        else regions["output"]
    out = [f"{regions['count']} linear regions on [{number_text(a)}, {number_text(b)}] × "
           f"[{number_text(c)}, {number_text(d)}] (exact: convex polygons with rational "
           f"corners; on each, {what} is affine)"]
    if regions.get("classes") is not None:
        total = (b - a) * (d - c)
        shares: dict[int, float] = {}
        for cell in regions["classes"]:
            size = abs(area([tuple(v) for v in cell["vertices"]]))
            shares[cell["class"]] = shares.get(cell["class"], 0.0) + size
        out.append("predicted class by area of the box: " + ", ".join(
            f"class {k} {100 * shares[k] / total:.1f}%" for k in sorted(shares)) +
            f" ({len(regions['classes'])} exact cells; their borders are the decision boundary)")

    def law(r: dict[str, Any]) -> str:
        a1, a2, b0 = r["law"]
        return (f"{regions['output']} = {number_text(a1)}·{i1} + {number_text(a2)}·{i2} + "
                f"{number_text(b0)}").replace("+ -", "- ")

    def corners(r: dict[str, Any]) -> str:
        return ", ".join(f"({number_text(u, 6)}, {number_text(v, 6)})" for u, v in r["vertices"])

    k = regions["holding_x"]
    if k is not None:
        r = regions["regions"][k]
        out.append(f"x lies in region {k}: {law(r)}; corners {corners(r)}")
    if regions["count"] <= 12:
        out += [f"region {i}: {law(r)}; corners {corners(r)}"
                for i, r in enumerate(regions["regions"])]
    return out


def _inside(vertices: list[list[float]], point: np.ndarray) -> bool:
    """Whether ``point`` lies in the convex polygon (counter-clockwise), edges included."""
    n = len(vertices)
    for i in range(n):
        (x1, y1), (x2, y2) = vertices[i], vertices[(i + 1) % n]
        if (x2 - x1) * (point[1] - y1) - (y2 - y1) * (point[0] - x1) < -1e-12:
            return False
    return True


def _why_data(explanation: Any, output: int, outputs: int) -> dict[str, Any]:
    from ..printing.latex import latex

    data = explanation.to_dict()
    law = explanation.local_law
    return {**data, "output_index": output, "outputs": outputs,
            "value": finite(explanation.value),
            "local_law_latex": None if law is None else latex(round_floats(law, 7)),
            "local_law_text": None if law is None else str(round_floats(law, 7)),
            "contributions_grouped": [[label, finite(v)] for label, v in
                                      explanation.grouped_contributions(20)],
            "contributions_sum": finite(sum(explanation.contributions.values())),
            "summary": explanation.summary()}


def _simplification(net: Any, domain: Any = None) -> list[dict[str, Any]] | None:
    """The passes, before -> after, for a chain network (``None`` when it branches); with a
    ``domain``, units constant on it are removed too."""
    from ..analysis.passes import describe
    from ..errors import UnsupportedLayerError

    try:
        results = net.simplify(domain)
    except UnsupportedLayerError:
        return None
    return [{"pass": r.name, "before": [describe(s) for s in r.before],
             "after": [describe(s) for s in r.after], "notes": list(r.notes)}
            for r in results]
