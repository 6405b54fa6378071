"""Reports: one report model (:func:`report_data`), then one printer per format.

Printers walk the report model; none re-parses another printer's output. Formats so far:
``text`` and ``json``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from ..errors import ExpressionTooLarge, InvalidInputError

__all__ = ["FORMATS", "SCHEMA", "render", "report_data"]

SCHEMA = "symnet.report/1"
FORMATS = ("text", "json")


def _formula(expr: Any) -> dict[str, str]:
    from .latex import latex
    from .text import text

    return {"text": text(expr), "latex": latex(expr), "srepr": sp.srepr(expr)}


def report_data(net: Any, x: Any = None) -> dict[str, Any]:
    """Everything a report shows, as plain data (JSON-able, deterministic order)."""
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
                "shape": list(p.shape),
                "trainable": p.trainable,
                "meaning": p.meaning,
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
            {"name": str(name), **_formula(expr)}
            for name, expr in zip(net.outputs, net.closed_form())]}
    except ExpressionTooLarge as exc:
        data["closed_form"] = {"too_large": str(exc), "estimate": exc.estimate}
    if x is not None:
        value = np.asarray(net.evaluate(x, "float32"), dtype=np.float64)
        data["evaluation"] = {"input": np.asarray(x, dtype=np.float64).tolist(),
                              "output": value.tolist(), "precision": "float32"}
    return data


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


def render(net: Any, fmt: str, x: Any = None) -> str:
    """The report of ``net`` in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt not in FORMATS:
        raise InvalidInputError(f"format must be one of {', '.join(FORMATS)}, received {fmt!r}")
    data = report_data(net, x)
    if fmt == "json":
        import json

        return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    from .text import render_text

    return render_text(data)
