"""The JSON report (schema ``symnet.report/1``, ``docs/report-schema.md``): every section as
plain data, every formula as text, LaTeX and SymPy's ``srepr``; strict JSON (NaN and
infinities are ``null``)."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from ..errors import InvalidInputError
from .printer import (
    ReportPrinter,
    closed_terms,
    composition_latex,
    composition_text,
    finite,
    shown_substitution,
    step_values,
    structural_note,
)
from .sections import SCHEMA, computed_by

if TYPE_CHECKING:
    from ..analysis.explanation import Explanation, Trace
    from ..homework.verdict import Verdict
    from .sections import (
        Agreement,
        Backprop,
        ClosedForm,
        Explorer,
        FunctionPlot,
        HandCalculation,
        Layers,
        LayerSection,
        Notation,
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
          "param_count", "trainable_count", "non_trainable_count", "notation", "layers",
          "structural_form",
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




class JsonPrinter(ReportPrinter[dict[str, Any]]):
    """Each section as the fields it adds to the report's JSON object."""

    format = "json"
    printmethod = "_json"

    def doprint(self, obj: Any) -> str:
        return json.dumps(strict_json(self.data(obj)), indent=2, sort_keys=False,
                          ensure_ascii=False, allow_nan=False) + "\n"

    def data(self, obj: Any) -> Any:
        """``obj`` as plain data (a report: with its notation read first)."""
        from .sections import Report

        if isinstance(obj, Report):
            self._begin(obj)
        return self._print(obj)

    def report_data(self, report: Report) -> dict[str, Any]:
        return self.data(report)  # type: ignore[no-any-return]

    def _formula(self, expr: Any) -> dict[str, Any]:
        """A formula object: plain text, LaTeX (in the report's notation and digits) and
        SymPy's ``srepr``."""
        return {"text": self._txt(expr), "latex": self._tex(expr), "srepr": sp.srepr(expr)}

    def _print_Notation(self, section: Notation) -> dict[str, Any]:
        def symbols(names: tuple[Any, ...], shapes: tuple[tuple[int, ...], ...]
                    ) -> list[dict[str, Any]]:
            return [{"symbol": self._txt(s), "latex": self._tex(s),
                     "shape": list(self._shape(shape))} for s, shape in zip(names, shapes)]

        return {"notation": {
            "convention": self._settings["convention"],
            "numbering": self._settings["numbering"],
            "inputs": symbols(section.input_symbols, section.input_shapes),
            "outputs": symbols(section.output_symbols, section.output_shapes),
            "functions": [{"name": f.name, "latex": f.latex, "text": f.text}
                          for f in section.functions]}}

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
            "formula": self._formula(layer.formula),
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
                "symbol": None if p.symbol is None else self._txt(p.symbol),
                "symbol_latex": None if p.symbol is None else self._tex(p.symbol),
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
        return {"structural_form": self._formula(section.expr)}

    def _print_Simplification(self, section: Simplification) -> dict[str, Any]:
        from ..analysis.passes import describe

        return {"simplification": [
            {"pass": r.name, "before": [describe(s) for s in r.before],
             "after": [describe(s) for s in r.after], "notes": list(r.notes)}
            for r in section.passes]}

    def _print_ClosedForm(self, section: ClosedForm) -> dict[str, Any]:
        if section.omitted is not None:
            return {"closed_form": {"too_large": section.omitted, "estimate": section.estimate}}
        per = self._settings["max_terms_per_line"]

        def lines(expr: Any) -> list[str]:
            terms = [f"{sign} {self._tex(term)}".strip() for sign, term in closed_terms(expr)]
            return [" ".join(terms[i:i + per]) for i in range(0, len(terms), per)]

        return {"closed_form": {"outputs": [
            {"name": str(name), **self._formula(expr), "latex_lines": lines(expr)}
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
        e = section.explanation
        data = self._print(e)
        data.update({"output_index": section.output_index, "outputs": section.outputs,
                     "value": finite(e.value)})
        law = e.local_law
        data.update({
            "local_law_latex": None if law is None else self._tex(law),
            "local_law_text": None if law is None else self._txt(law),
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
                       "text": self._txt(parts.argument) if parts.argument is not None
                       else f"before {parts.activation}",
                       "latex": self._tex(parts.argument) if parts.argument is not None
                       else rf"\text{{before {parts.activation}}}"}
            substituted = shown_substitution(step)
            active = None if step.active is None else \
                np.asarray(step.active).reshape(-1).astype(bool).tolist()
            steps.append({
                "layer": step.layer,
                "kind": step.kind,
                "formula_text": self._txt(step.formula),
                "formula_latex": self._tex(step.formula),
                "substituted_latex": None if substituted is None else
                f"{self._tex(step.formula.lhs)} = {self._tex(substituted)}",
                "inputs": [{**listed.data(), "symbol": self._txt(symbol),
                            "symbol_latex": self._tex(symbol)} for symbol, listed in parts.inputs],
                "pre_activation": pre,
                "output": {**parts.output.data(), "symbol": self._txt(step.formula.lhs),
                           "symbol_latex": self._tex(step.formula.lhs)},
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


    def _print_Backprop(self, section: Backprop) -> dict[str, Any]:
        """The loss, ``∂L/∂x``, every weight's gradient, each layer's δ, and (one sample's)
        backward trace: per layer the formula of δ and of each gradient (text, LaTeX) and the
        values (the JSON ``symnet grad`` writes)."""
        return {"backprop": self.backprop_data(section)}

    def backprop_data(self, section: Backprop) -> dict[str, Any]:
        from ..printing.unicode import unicode_text

        gradient, trace = section.gradient, section.trace
        limit = self._settings["max_json_values"]

        def numbers(value: Any) -> Any:
            arr = np.asarray(value, dtype=object)
            if arr.size > limit:
                return None
            return np.vectorize(float, otypes=[object])(arr).tolist() if arr.size else []

        def label(q: Any) -> str:
            symbol = unicode_text(q.symbol)
            return f"∂L/∂{symbol}" if q.gradient else symbol

        def quantity(q: Any, name: str) -> dict[str, Any]:
            out: dict[str, Any] = {
                "name": name,
                "formula": None if q.formula is None else unicode_text(q.formula),
                "latex": None if q.formula is None else self._tex(q.formula),
                "value": numbers(q.value), "shape": list(np.shape(q.value))}
            if q.key:
                out["weight"] = q.key
            return out

        if gradient is None:
            raise InvalidInputError("the JSON of backpropagation needs the gradient: "
                                    "net.gradient(...).report('json')")
        data: dict[str, Any] = {
            "loss": {"name": gradient.loss_name, "value": float(gradient.loss),
                     "precision": gradient.precision},
            "parameters": {k: numbers(v) for k, v in gradient.parameters.items()},
            "deltas": {k: numbers(v) for k, v in gradient.deltas.items()},
        }
        if gradient.precision == "exact":
            data["loss"]["exact"] = str(gradient.loss)
        try:
            data["input_gradient"] = numbers(gradient.input) if not isinstance(
                gradient.input, list) else [numbers(g) for g in gradient.input]
        except Exception as exc:  # not defined: an Embedding's indices
            data["input_gradient"] = None
            data["input_gradient_note"] = str(exc)
        if trace is not None:
            steps = []
            for s in trace.steps:
                step: dict[str, Any] = {
                    "layer": s.layer, "kind": s.kind,
                    "output_gradient": quantity(s.output_gradient, label(s.output_gradient)),
                    "delta": quantity(s.delta, label(s.delta)),
                    "parameters": [quantity(q, label(q)) for q in s.parameters],
                    "input_gradient": [quantity(q, label(q)) for q in s.input_gradient]}
                if s.pre_activation is not None:
                    step["pre_activation"] = quantity(s.pre_activation, label(s.pre_activation))
                if s.slope is not None:
                    step["slope"] = quantity(s.slope, "f'(" + label(s.slope) + ")")
                steps.append(step)
            loss = trace.loss
            data["trace"] = {
                "sample": trace.sample, "batch": trace.batch,
                "loss_formula": None if loss.loss.formula is None else unicode_text(
                    loss.loss.formula),
                "loss_gradients": [dict(quantity(q, label(q)), fused=f)
                                   for q, f in zip(loss.gradients, loss.fused)],
                "steps": steps}
        return data

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
                "proven": verdict.proven, "notes": list(verdict.notes),
                "written": list(verdict.written) or None}


def _summary(e: Explanation) -> str:
    from .text import TextReportPrinter

    return "\n".join(TextReportPrinter()._print(e)) + "\n"


def _end(v: Any) -> float:
    return float(v) if v.is_finite else (np.inf if v > 0 else -np.inf)
