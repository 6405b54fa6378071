"""The text report, for a terminal; also the summary of an explanation (``why``).

Formulas are printed by :class:`symnet.printing.text.TextPrinter` (``text`` is re-exported here
for callers of its earlier home).
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from ..escape import terminal_text
from ..printing.text import TextPrinter, text
from .printer import (
    LinePrinter,
    Listed,
    composition_text,
    counterexample_parts,
    finite,
    law_comparison,
    step_values,
    structural_note,
    values_text,
)

if TYPE_CHECKING:
    from ..analysis.explanation import Explanation, Trace
    from ..homework.verdict import Verdict
    from .sections import (
        Agreement,
        Backprop,
        ClosedForm,
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

__all__ = ["TextPrinter", "TextReportPrinter", "array_text", "scalar_text", "text"]


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


class TextReportPrinter(LinePrinter):
    """Plain text for a terminal: sections apart by a blank line, names made safe to show."""

    format = "text"
    printmethod = "_text"

    def doprint(self, obj: Any) -> str:
        return terminal_text(super().doprint(obj), lines=True) + "\n"

    def _lines(self, listed: Listed, width: int) -> list[str]:
        """A listed array as wrapped lines, with its truncation stated."""
        body = "[" + values_text(list(listed.values), self._digits) + \
            (", ..." if listed.truncated else "") + "]"
        lines = textwrap.wrap(body, width=width, break_on_hyphens=False) or ["[]"]
        if listed.truncated:
            lines.append(f"(first {len(listed.values)} of {listed.size:,} entries)")
        return lines

    def _values(self, label: str, listed: Listed, note: str = "") -> list[str]:
        lines = self._lines(listed, 84)
        out = [f"    {label} = {lines[0]}{note if len(lines) == 1 else ''}"]
        out += [f"      {line}" for line in lines[1:]]
        if len(lines) > 1 and note:
            out.append(f"      {note.strip()}")
        return out

    # --- the report -----------------------------------------------------------------------

    def _print_Report(self, report: Report) -> list[str]:
        def names(symbols: tuple[Any, ...]) -> str:
            return ", ".join(str(s) for s in symbols[:6]) + (" ..." if len(symbols) > 6 else "")

        out = [f"Model {terminal_text(report.model, limit=200)}: inputs {names(report.inputs)}"
               f" -> outputs {names(report.outputs)}"] if self.standalone else []
        for section in report.sections:
            lines = self._print(section)
            if lines:
                out += ["", *lines] if out else lines
        return out

    def _print_Notation(self, section: Notation) -> list[str]:
        from .notation import dimension_text

        def described(symbols: tuple[Any, ...], shapes: tuple[tuple[int, ...], ...]) -> str:
            return ", ".join(f"{self._txt(s)} in {dimension_text(self._shape(shape))}"
                             for s, shape in zip(symbols, shapes))

        vector, law = ("column", "W x + b") if self._column else ("row", "x W + b")
        out = ["Notation:",
               f"  input {described(section.input_symbols, section.input_shapes)} (one sample, "
               f"a {vector} vector: a layer computes {law}); output "
               f"{described(section.output_symbols, section.output_shapes)}"]
        if section.hidden:
            out.append("  h_k: the output of the model's k-th layer")
        out += [f"  {f.text}" for f in section.functions]
        return out

    def _print_Summary(self, section: Summary) -> list[str]:
        rows = [["layer", "kind", "output shape", "params", "trainable", "non-trainable"]]
        for layer in section.layers:
            rows.append([terminal_text(layer.name, limit=200), layer.kind,
                         str(tuple(layer.output_shape)), f"{layer.param_count:,}",
                         f"{layer.trainable_count:,}", f"{layer.non_trainable_count:,}"])
        rows.append(["total", "", "", f"{section.param_count:,}",
                     f"{section.trainable_count:,}", f"{section.non_trainable_count:,}"])
        return _table(rows)

    def _print_Layers(self, section: Layers) -> list[str]:
        return ["Layers:", *(line for entry in section.entries for line in self._print(entry))]

    def _print_LayerSection(self, section: LayerSection) -> list[str]:
        layer = section.layer
        where = "" if section.keras_index is None else f" = model.layers[{section.keras_index}]"
        out = [f"  {terminal_text(layer.name, limit=200)} ({layer.kind}){where}"
               + (f": {self._txt(layer.formula)}" if section.formula else "")]
        if section.formula:
            out += [f"      where {d.text}" for d in layer.definitions]
            constants = [f"{self._txt(c.symbol)} = {self._value(c.value)}"
                         for c in layer.constant_symbols]
            if constants:
                out.append(f"      where {', '.join(constants)}")
            if layer.note:
                out.append(f"      {layer.note}")
        if section.weights is not None:
            out += self._print(section.weights)
        return out

    def _print_WeightsTable(self, section: WeightsTable) -> list[str]:
        if not section.rows:
            return []
        indexed = section.framework == "keras"  # ONNX, PyTorch: no get_weights() index
        rows = [[*(["get_weights()"] if indexed else []), section.name_heading, "symbol",
                 "shape", "trainable", "meaning"]]
        for w in section.rows:
            p = w.param
            index = ["-" if w.index is None else str(w.index)] if indexed else []
            rows.append([*index, w.keras_name, self._txt(p.symbol) if p.symbol is not None else "-",
                         str(tuple(p.shape)), "yes" if p.trainable else "no", p.meaning])
        out = ["      " + line for line in _table(rows)]
        for w in section.rows:
            lines = self._lines(self._listed(self._oriented(w.param.value)), 80)
            name = self._txt(w.param.symbol) if w.param.symbol is not None else w.keras_name
            out.append(f"      {name} = {lines[0]}")
            out += [f"        {line}" for line in lines[1:]]
        return out

    def _print_StructuralForm(self, section: StructuralForm) -> list[str]:
        out = ["Whole network (structural form):", f"  {self._structural_text(section)}"]
        if section.expr is None:
            out.append(f"  ({structural_note(section)})")
        return out

    def _structural_text(self, section: StructuralForm) -> str:
        if section.expr is not None:
            shown = self._txt(section.expr)
            return shown if section.lhs is None else f"{self._txt(section.lhs)} = {shown}"
        return composition_text(section)

    def _print_Simplification(self, section: Simplification) -> list[str]:
        from ..analysis.passes import describe

        if not section.passes:
            return []
        out = ["Simplification (at inference):"]
        for step in section.passes:
            out.append(f"  {step.name}:")
            out += [f"    {note}" for note in step.notes] or ["    (nothing to do)"]
        out.append(f"  result: {' -> '.join(describe(s) for s in section.passes[-1].after)}")
        return out

    def _print_ClosedForm(self, section: ClosedForm) -> list[str]:
        if section.omitted is not None:
            return [f"Closed form: {section.omitted}"]
        return ["Closed form (trained numbers substituted):",
                *(f"  {self._txt(name)} = {self._txt(expr)}" for name, expr in section.outputs)]

    def _print_RegionMap(self, section: RegionMap) -> list[str]:

        return ["Linear regions:", *(f"  {row.text}" for row in self._region_rows(section))]

    def _print_RegionsOmitted(self, section: RegionsOmitted) -> list[str]:
        return ["Linear regions:", f"  {section.note}"]

    def _print_HandCalculation(self, section: HandCalculation) -> list[str]:
        value = self._digits
        shown = values_text([finite(v) for v in section.input[:16]], value)
        more = " ..." if section.input.size > 16 else ""
        outputs = values_text([finite(v) for v in section.output[:16]], value)
        return [f"Hand calculation at input [{shown}{more}] (float32, as {section.computes} "
                f"computes):",
                *self._print(section.trace),
                f"  output: [{outputs}{' ...' if section.output.size > 16 else ''}]"]

    def _print_Why(self, section: Why) -> list[str]:
        return ["Why this value:", *(f"  {line}" for line in
                                     self._print(section.explanation))]

    def _print_Agreement(self, section: Agreement) -> list[str]:
        return [section.text]

    # --- analysis records -----------------------------------------------------------------

    def _print_Trace(self, trace: Trace) -> list[str]:
        """The hand calculation, layer by layer."""
        out = []
        for step in trace.steps:
            parts = step_values(step, self._settings["max_listed"])
            out.append(f"  {terminal_text(step.layer, limit=200)} ({step.kind}): "
                       f"{self._txt(step.formula)}")
            for symbol, listed in parts.inputs:
                out += self._values(self._txt(symbol), listed)
            if parts.pre is not None:
                label = self._txt(parts.argument) if parts.argument is not None else \
                    f"before {parts.activation}"
                out += self._values(label, parts.pre, f"   (before {parts.activation})")
            out += self._values(self._txt(step.formula.lhs), parts.output)
            if parts.clipped is not None:
                shown = ", ".join(map(str, parts.clipped)) if parts.clipped else "none"
                out.append(f"    clipped to the activation's flat piece: units {shown} "
                           f"({len(parts.clipped)} of {parts.units})")
            if step.worked:
                out.append("    by hand:")
                out += [f"      {w.text}" for w in step.worked]
        return out

    def _print_Explanation(self, e: Explanation) -> list[str]:
        """Why one output has its value, for a terminal (``Explanation.summary()``)."""
        x = e.x.reshape(-1)
        shown_x = ", ".join(f"{v:g}" for v in x[:8]) + (" ..." if x.size > 8 else "")
        lines = [f"{e.output} at x = {shown_x}: {e.value:.7g} (float32, as {e.computed_as})"]
        if e.local_law is not None:
            what = "local law of the logit" if e.law_of_logits else "local law"
            lines.append(f"{what}: {e.output} = {law_text(e.local_law)}")
            if isinstance(e.region, sp.Interval):
                start, end = (_end(v) for v in (e.region.start, e.region.end))
                lines.append(f"  exact for {start:.6g} <= {e.x_name} <= {end:.6g}")
            else:
                lines.append(f"  exact on the region bounded by {len(e.region)} inequalities")
                corners = e.polygon()
                if corners:
                    shown = ", ".join(f"({a:.6g}, {b:.6g})" for a, b in corners)
                    lines.append(f"  in the plane around x: the polygon with corners {shown}")
        for layer, mask in e.active.items():
            on = np.flatnonzero(mask)
            lines.append(f"{terminal_text(layer, limit=200)}: {on.size} of {mask.size} units "
                         f"active" + (f" ({_indices(on)})" if 0 < on.size <= 32 else "")
                         + (f"; inactive: {_indices(np.flatnonzero(~mask))}"
                            if 0 < mask.size - on.size <= 32 else ""))
        if e.contributions:
            lines.append("contributions (largest first):")
            for label, value in e.grouped_contributions(20):
                lines.append(f"  {label:>28} = {value:+.6g}")
            lines.append(f"  {'sum':>28} = {sum(e.contributions.values()):.7g}")
        off = e.without_activation - e.value
        lines.append(f"without the activations (e.g. forgetting the ReLU): "
                     f"{e.without_activation:.7g}, off by {off:+.6g}")
        if e.target is not None:
            lines.append(f"target {e.target}: {e.target_value:.7g} at x; "
                         f"error {e.target_error:.6g}")
            c = law_comparison(e)
            if c is not None:
                slope, target_slope, intercept, target_intercept = c
                lines.append(f"  local slope {slope:.6g} vs {target_slope:.6g} "
                             f"({slope - target_slope:+.4g}); intercept "
                             f"{intercept:.6g} vs {target_intercept:.6g} "
                             f"({intercept - target_intercept:+.4g})")
            if e.max_target_error is not None and e.domain is not None:
                lines.append(f"  largest error on [{e.domain[0]:g}, {e.domain[1]:g}]: "
                             f"{e.max_target_error:.6g} at x = {e.max_target_error_at:.6g}")
        for layer, dead in e.dead_units.items():
            if dead.size:
                lines.append(f"dead on the domain: {terminal_text(layer, limit=200)} units "
                             f"{_indices(dead)}")
        lines.extend(e.notes)
        return lines


    def _print_Backprop(self, section: Backprop) -> list[str]:
        """The gradient for a terminal (``symnet grad``): the loss, then backpropagation layer
        by layer (output first), then every weight's gradient and ``∂L/∂x``."""
        from ..printing.unicode import unicode_text

        gradient, trace = section.gradient, section.trace

        def numbers(value: Any) -> str:
            return array_text(value, self._digits)

        def label(q: Any) -> str:
            symbol = unicode_text(q.symbol)
            return f"∂L/∂{symbol}" if q.gradient else symbol

        def formula(q: Any) -> str:
            return "" if q.formula is None else f"{unicode_text(q.formula)} = "

        from .printer import backprop_head

        name, precision, _, _ = backprop_head(section)
        loss = gradient.loss if gradient is not None else trace.loss.loss.value  # type: ignore[union-attr]
        lines = [f"loss {name}: {scalar_text(loss)} ({precision})"]
        if trace is not None:
            lines.append("")
            lines.append("backpropagation, output layer first"
                         + ("" if trace.batch == 1 else
                            f" (sample {trace.sample} of {trace.batch}; weight gradients "
                            "summed over the batch)") + ":")
            for q, fused in zip(trace.loss.gradients, trace.loss.fused):
                what = "δ at the logits (Keras computes the loss from them)" if fused else \
                    label(q)
                lines.append(f"  {what} = {formula(q)}{numbers(q.value)}")
            for step in trace.steps:
                lines.append(f"  {step.layer} ({step.kind}):")
                if step.pre_activation is not None:
                    q = step.pre_activation
                    lines.append(f"    {label(q)} = {formula(q)}{numbers(q.value)}")
                if step.slope is not None:
                    lines.append(f"    {unicode_text(step.slope.formula)} = "
                                 f"{numbers(step.slope.value)}")
                for q in (step.delta, *step.parameters, *step.input_gradient):
                    lines.append(f"    {label(q)} = {formula(q)}{numbers(q.value)}")
        if gradient is None:
            return lines
        lines.append("")
        lines.append("gradients of the weights (∂L/∂, summed over the batch):")
        width = max((len(k) for k in gradient.parameters), default=0)
        for key, value in gradient.parameters.items():
            lines.append(f"  {key:<{width}}  {tuple(np.shape(value))!s:<10} {numbers(value)}")
        try:
            lines.append(f"∂L/∂x = {numbers(gradient.input)}")
        except Exception as exc:  # not defined: an Embedding's indices
            lines.append(f"∂L/∂x: {exc}")
        return lines

    def _print_Verdict(self, verdict: Verdict) -> list[str]:
        """The verdict of a check, for a terminal (``Verdict.summary()``)."""
        head = "correct" if verdict.correct else "wrong"
        if verdict.diagnosis.code == "agrees_at_points":
            head = "agrees (not proven)"
        message = verdict.diagnosis.message
        lines = [f"{head}: {message[:1].upper() + message[1:]}"]
        if verdict.expected is not None and verdict.got is not None:
            got = _shown(verdict.got) if not verdict.written else (
                verdict.written[0] if len(verdict.written) == 1 else
                f"[{', '.join(verdict.written[:8])}{' ...' if len(verdict.written) > 8 else ''}]")
            lines.append(f"expected {_shown(verdict.expected)}, got {got}"
                         + _gap(verdict.expected, verdict.got, verdict.abs_error))
        if verdict.first_wrong_step:
            shown = next((s.shown for s in verdict.steps if s.layer == verdict.first_wrong_step
                          and s.shown), "")
            lines.append(f"first wrong step: {shown} ({verdict.first_wrong_step})" if shown
                         else f"first wrong step: {verdict.first_wrong_step}")
        for step in verdict.steps:
            layer = f"{step.shown} ({step.layer})" if step.shown else step.layer
            line = f"  {layer}: {step.status}"
            if step.status == "wrong" and step.wrong_names and step.shown:
                more = len(step.wrong_units) - 12
                line += (f" ({step.code}; {', '.join(step.wrong_names[:12])}"
                         + (f" and {more} more" if more > 0 else "") + ")")
            elif step.status == "wrong":
                line += f" ({step.code}; units {list(step.wrong_units)[:12]})"
            lines.append(line)
            lines += [f"    {note.describe()}" for note in step.notes[:4]]
            if len(step.notes) > 4:
                lines.append(f"    (and {len(step.notes) - 4} more units)")
        if verdict.score is not None:
            lines.append(f"score: {verdict.score:.3g} (steps right or consistent: "
                         f"{round(verdict.score * len(verdict.steps))} of {len(verdict.steps)})")
        if verdict.counterexample:
            point, network, formula = counterexample_parts(verdict.counterexample)
            if isinstance(point, (list, tuple)) and len(point) > 8:  # all of it in the JSON
                point = "[" + ", ".join(f"{v:.7g}" for v in point[:8]) + \
                    f", ... ({len(point)} values)]"
            lines.append(f"counterexample: at {point} the network gives {network:.7g}, "
                         f"the formula {formula:.7g}")
        lines += list(verdict.notes)
        if verdict.tolerance:
            lines.append(f"tolerance: {verdict.tolerance}")
        return [terminal_text(line) for line in lines]


#: Entries of an array a terminal shows; larger ones by their first entries and a count.
MAX_TEXT = 24


def array_text(value: Any, digits: int = 7) -> str:
    """An array for a terminal: a small matrix row by row (``[a, b; c, d]``), else its first
    :data:`MAX_TEXT` entries and its size."""
    arr = np.asarray(value, dtype=object)
    flat = [float(v) + 0.0 for v in arr.reshape(-1)[:MAX_TEXT]]  # + 0.0: no "-0"
    if arr.ndim >= 2 and arr.size <= MAX_TEXT:
        cols = arr.shape[-1]
        rows = [", ".join(f"{v:.{digits}g}" for v in flat[r * cols:(r + 1) * cols])
                for r in range(arr.size // cols)]
        return "[" + "; ".join(rows) + "]"
    shown = ", ".join(f"{v:.{digits}g}" for v in flat)
    more = f" … ({arr.size:,} entries, shape {arr.shape})" if arr.size > MAX_TEXT else ""
    return f"[{shown}{more}]"


def scalar_text(value: Any) -> str:
    """A loss: exact (a rational and its decimal) or to 10 digits."""
    if isinstance(value, sp.Rational):
        return f"{value} = {float(value):.10g}"
    return f"{float(value):.10g}"


def _shown(v: Any) -> str:
    """A verdict's number(s): one as it is, several as a list of their first eight."""
    arr = np.asarray(v, dtype=np.float64).reshape(-1)
    shown = ", ".join(f"{a:.7g}" for a in arr[:8]) + (" ..." if arr.size > 8 else "")
    return shown if arr.size == 1 else f"[{shown}]"


def _gap(expected: Any, got: Any, abs_error: float | None) -> str:
    if np.size(expected) != np.size(got):
        return f" ({np.size(got)} values where the layer has {np.size(expected)})"
    return f" (abs error {abs_error:.3g})" if abs_error else ""


def law_text(law: Any, shown: int = 12) -> str:
    """An affine law for a terminal: in full up to ``shown`` inputs, else its largest
    coefficients and a count of the others (the JSON has every one)."""
    from ..analysis.forms import round_floats
    from .printer import law_parts

    head, left, constant = law_parts(law, shown)
    if not left:
        return str(round_floats(law, 7))
    c = float(constant)
    return (f"{round_floats(head, 7)} + ... ({left} smaller terms) "
            f"{'-' if c < 0 else '+'} {abs(c):.7g}")


def _end(v: Any) -> float:
    return float(v) if v.is_finite else (np.inf if v > 0 else -np.inf)


def _indices(values: np.ndarray) -> str:
    return ", ".join(str(int(i)) for i in values)
