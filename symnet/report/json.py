"""The JSON report (schema ``symnet.report/1``, ``docs/report-schema.md``): every section as
plain data, every formula as text, LaTeX and SymPy's ``srepr``; strict JSON (NaN and
infinities are ``null``)."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from ..printing.latex import latex
from ..printing.text import text
from .printer import (
    ReportPrinter,
    composition_latex,
    composition_text,
    finite,
    step_values,
    structural_note,
    substituted_latex,
)
from .sections import SCHEMA, computed_by

if TYPE_CHECKING:
    from ..analysis.explanation import Explanation, Trace
    from ..homework.verdict import Verdict
    from .sections import (
        Agreement,
        ClosedForm,
        Explorer,
        FunctionPlot,
        HandCalculation,
        Layers,
        LayerSection,
        RegionMap,
        RegionsOmitted,
        Report,
        Simplification,
        StructuralForm,
        Summary,
        WeightsTable,
        Why,
    )

__all__ = ["JsonPrinter", "strict_json"]

_ORDER = ("schema", "model", "inputs", "outputs", "input_shapes", "output_shapes",
          "param_count", "trainable_count", "non_trainable_count", "layers", "structural_form",
          "framework", "computes", "outputs_left_out", "simplification", "closed_form",
          "agreement", "evaluation", "trace", "why", "regions")
"""The schema's fields in their order; a section's own fields follow them."""
_ALWAYS = ("simplification", "agreement", "regions")
"""Fields the schema always has (``null`` when the report has no such section)."""


def strict_json(value: Any) -> Any:
    """``value`` with every NaN or infinite number replaced by ``None`` (JSON ``null``): strict
    JSON, which ``NaN`` and ``Infinity`` are not."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def formula_data(expr: Any) -> dict[str, Any]:
    """A formula object: plain text, LaTeX and SymPy's ``srepr``."""
    return {"text": text(expr), "latex": latex(expr), "srepr": sp.srepr(expr)}


class JsonPrinter(ReportPrinter[dict[str, Any]]):
    """Each section as the fields it adds to the report's JSON object."""

    format = "json"
    printmethod = "_json"

    def doprint(self, obj: Any) -> str:
        return json.dumps(strict_json(self._print(obj)), indent=2, sort_keys=False,
                          ensure_ascii=False, allow_nan=False) + "\n"

    def report_data(self, report: Report) -> dict[str, Any]:
        return self._print_Report(report)

    def _print_Report(self, report: Report) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "schema": SCHEMA, "model": report.model,
            "inputs": [str(s) for s in report.inputs],
            "outputs": [str(s) for s in report.outputs],
            "input_shapes": [list(s) for s in report.input_shapes],
            "output_shapes": [list(s) for s in report.output_shapes],
            **{key: None for key in _ALWAYS}}
        if report.framework != "keras":
            fields.update({"framework": report.framework,
                           "computes": computed_by(report.framework)})
        if report.outputs_left_out:
            fields["outputs_left_out"] = dict(report.outputs_left_out)
        for section in report.sections:
            fields.update(self._print(section))
        return {**{key: fields.pop(key) for key in _ORDER if key in fields}, **fields}

    def _print_Summary(self, section: Summary) -> dict[str, Any]:
        return {"param_count": section.param_count, "trainable_count": section.trainable_count,
                "non_trainable_count": section.non_trainable_count}

    def _print_Explorer(self, section: Explorer) -> dict[str, Any]:
        return {}  # the page's own data

    def _print_FunctionPlot(self, section: FunctionPlot) -> dict[str, Any]:
        return {}  # a drawing: the pieces are in the formulas

    def _print_Layers(self, section: Layers) -> dict[str, Any]:
        return {"layers": [self._print(entry) for entry in section.entries]}

    def _print_LayerSection(self, section: LayerSection) -> dict[str, Any]:
        layer = section.layer
        shape = layer.input_shape
        return {
            "name": layer.name,
            "keras_index": section.keras_index,
            "kind": layer.kind,
            "input_shape": [list(s) for s in shape] if isinstance(shape, list) else list(shape),
            "output_shape": list(layer.output_shape),
            "param_count": layer.param_count,
            "trainable_count": layer.trainable_count,
            "non_trainable_count": layer.non_trainable_count,
            "formula": formula_data(layer.formula),
            "definitions": [{"latex": d.latex, "text": d.text} for d in layer.definitions],
            "note": layer.note,
            "constants": dict(layer.constants.items()),
            **({"parameters": []} if section.weights is None else self._print(section.weights)),
        }

    def _print_WeightsTable(self, section: WeightsTable) -> dict[str, Any]:
        rows = []
        for w in section.rows:
            p = w.param
            rows.append({
                "name": p.name,
                "weights_index": w.index,
                "keras_name": w.keras_name,
                "symbol": None if p.symbol is None else str(p.symbol),
                "symbol_latex": None if p.symbol is None else latex(p.symbol),
                "shape": list(p.shape),
                "size": p.size,
                "trainable": p.trainable,
                "meaning": p.meaning,
                "matrix_latex": self._matrix_latex(p.value)
                if np.issubdtype(p.value.dtype, np.floating) else None,
                "listed": self._listed(p.value).data(),
                "values": np.vectorize(finite, otypes=[object])(p.value).tolist()
                if p.size <= self._settings["max_json_values"] else None,
            })
        if section.framework == "keras":
            return {"parameters": rows}
        return {"columns": [section.name_heading], "parameters": rows}

    def _print_StructuralForm(self, section: StructuralForm) -> dict[str, Any]:
        if section.expr is None:
            return {"structural_form": {"text": composition_text(section),
                                        "latex": composition_latex(section), "srepr": None,
                                        "too_deep": structural_note(section)}}
        return {"structural_form": formula_data(section.expr)}

    def _print_Simplification(self, section: Simplification) -> dict[str, Any]:
        from ..analysis.passes import describe

        return {"simplification": [
            {"pass": r.name, "before": [describe(s) for s in r.before],
             "after": [describe(s) for s in r.after], "notes": list(r.notes)}
            for r in section.passes]}

    def _print_ClosedForm(self, section: ClosedForm) -> dict[str, Any]:
        if section.omitted is not None:
            return {"closed_form": {"too_large": section.omitted, "estimate": section.estimate}}
        return {"closed_form": {"outputs": [
            {"name": str(name), **formula_data(expr),
             "latex_lines": self._closed_lines(expr)}
            for name, expr in section.outputs]}}

    def _print_RegionMap(self, section: RegionMap) -> dict[str, Any]:
        exact = len(section.regions) <= self._settings["max_regions_listed"]
        listed = [{"vertices": [[float(u), float(v)] for u, v in r.vertices],
                   "law": [finite(v) for v in r.law(section.output_index)],
                   "exact_vertices": [[str(u), str(v)] for u, v in r.vertices] if exact
                   else None}
                  for r in section.regions]
        classes = None if section.classes is None else [
            {"vertices": [[float(u), float(v)] for u, v in corners], "class": k}
            for corners, k in section.classes]
        return {"regions": {
            "box": [list(b) for b in section.box], "inputs": [str(s) for s in section.inputs],
            "output": str(section.output), "count": len(section.regions), "regions": listed,
            "holding_x": section.holding_x,
            "x": None if section.x is None else [finite(v) for v in section.x],
            "logits": section.logits, "classes": classes}}

    def _print_RegionsOmitted(self, section: RegionsOmitted) -> dict[str, Any]:
        return {"regions": {"box": [list(b) for b in section.box], "note": section.note}}

    def _print_HandCalculation(self, section: HandCalculation) -> dict[str, Any]:
        return {"evaluation": {"input": [finite(v) for v in section.input],
                               "output": [finite(v) for v in section.output],
                               "precision": "float32"},
                "trace": self._print(section.trace)["steps"]}

    def _print_Why(self, section: Why) -> dict[str, Any]:
        from ..analysis.forms import round_floats

        e = section.explanation
        data = self._print(e)
        data.update({"output_index": section.output_index, "outputs": section.outputs,
                     "value": finite(e.value)})
        law = e.local_law
        data.update({
            "local_law_latex": None if law is None else latex(round_floats(law, 7)),
            "local_law_text": None if law is None else str(round_floats(law, 7)),
            "contributions_grouped": [[label, finite(v)] for label, v in
                                      e.grouped_contributions(20)],
            "contributions_sum": finite(sum(e.contributions.values())),
            "summary": _summary(e)})
        return {"why": data}

    def _print_Agreement(self, section: Agreement) -> dict[str, Any]:
        return {"agreement": {"samples": section.samples,
                              "max_abs_diff_below": section.max_abs_diff_below,
                              "text": section.text}}

    # --- analysis records -----------------------------------------------------------------

    def _print_Trace(self, trace: Trace) -> dict[str, Any]:
        steps = []
        for step in trace.steps:
            value = np.asarray(step.value, np.float64)
            parts = step_values(step, self._settings["max_listed"])
            pre = None
            if parts.pre is not None:
                pre = {**parts.pre.data(), "activation": parts.activation,
                       "text": text(parts.argument) if parts.argument is not None
                       else f"before {parts.activation}",
                       "latex": latex(parts.argument) if parts.argument is not None
                       else rf"\text{{before {parts.activation}}}"}
            active = None if step.active is None else \
                np.asarray(step.active).reshape(-1).astype(bool).tolist()
            steps.append({
                "layer": step.layer,
                "kind": step.kind,
                "formula_text": text(step.formula),
                "formula_latex": latex(step.formula),
                "substituted_latex": substituted_latex(step, self._settings["digits"]),
                "inputs": [{**listed.data(), "symbol": text(symbol),
                            "symbol_latex": latex(symbol)} for symbol, listed in parts.inputs],
                "pre_activation": pre,
                "output": {**parts.output.data(), "symbol": text(step.formula.lhs),
                           "symbol_latex": latex(step.formula.lhs)},
                "value": [finite(v) for v in value.reshape(-1)] if value.size <= 64 else None,
                "value_latex": self._matrix_latex(value),
                "active": active,
                "clipped": None if parts.clipped is None else list(parts.clipped),
                "worked": [{"latex": w.latex, "text": w.text} for w in step.worked],
            })
        return {"steps": steps}

    def _print_Explanation(self, e: Explanation) -> dict[str, Any]:
        """``Explanation.to_dict()``: plain data for JSON."""
        from ..analysis.explanation import inequalities_text

        region: Any = None
        if isinstance(e.region, sp.Interval):
            region = [_end(e.region.start), _end(e.region.end)]
        omitted = 0
        if e.region is not None and not isinstance(e.region, sp.Interval):
            region, omitted = inequalities_text(e.region)
        corners = e.polygon()
        return {
            "x": e.x.reshape(-1).tolist(), "output": str(e.output), "value": e.value,
            "active": {k: v.tolist() for k, v in e.active.items()},
            "contributions": e.contributions,
            "local_law": None if e.local_law is None else str(e.local_law),
            "region": region,
            "region_omitted": omitted,
            "polygon": None if corners is None else [list(c) for c in corners],
            "region_inequalities": None if e.region is None or isinstance(
                e.region, sp.Interval) else len(e.region),
            "dead_units": {k: v.tolist() for k, v in e.dead_units.items()},
            "without_activation": e.without_activation,
            "target": None if e.target is None else str(e.target),
            "target_value": e.target_value, "target_error": e.target_error,
            "max_target_error": e.max_target_error,
            "max_target_error_at": e.max_target_error_at,
            "domain": None if e.domain is None else list(e.domain),
            "law_versus_target": e.law_versus_target,
            "notes": list(e.notes),
        }


    def _print_Verdict(self, verdict: Verdict) -> dict[str, Any]:
        """``Verdict.to_dict()``: plain data for JSON."""
        def plain(v: Any) -> Any:
            return np.asarray(v, dtype=np.float64).tolist() if v is not None else None

        def number(v: float | None) -> float | None:
            return v if v is None or math.isfinite(v) else None

        return {"correct": verdict.correct, "expected": plain(verdict.expected),
                "got": plain(verdict.got), "abs_error": number(verdict.abs_error),
                "rel_error": number(verdict.rel_error),
                "first_wrong_step": verdict.first_wrong_step,
                "diagnosis": verdict.diagnosis.to_dict(),
                "layer": verdict.layer, "layers": list(verdict.layers),
                "counterexample": verdict.counterexample, "tolerance": verdict.tolerance,
                "steps": [s.to_dict() for s in verdict.steps], "score": verdict.score,
                "proven": verdict.proven, "notes": list(verdict.notes)}


def _summary(e: Explanation) -> str:
    from .text import TextReportPrinter

    return "\n".join(TextReportPrinter()._print(e)) + "\n"


def _end(v: Any) -> float:
    return float(v) if v.is_finite else (np.inf if v > 0 else -np.inf)
