"""The MathML report: every formula of the report as MathML (``display="block"``, by
``latex2mathml`` on the formula's LaTeX) in one XML document, with the trace's values and the
explanation as elements."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..escape import xml_attribute, xml_text
from ..printing.latex import latex
from .printer import (
    LinePrinter,
    composition_latex,
    finite,
    region_lines,
    step_values,
    substituted_latex,
    why_rows,
)
from .sections import SCHEMA

if TYPE_CHECKING:
    from ..analysis.explanation import Trace
    from .sections import (
        Agreement,
        ClosedForm,
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

__all__ = ["MathMLPrinter"]


def formula(name: str, tex: str, **attrs: str) -> str:
    """One ``<formula>`` element: the MathML of ``tex``."""
    from latex2mathml.converter import convert

    extra = "".join(f" {k}={xml_attribute(v)}" for k, v in attrs.items())
    return (f"  <formula name={xml_attribute(name)}{extra}>\n    "
            f"{convert(tex, display='block')}\n  </formula>")


class MathMLPrinter(LinePrinter):
    """An XML document of the report's formulas (``<formula>``), values and explanation."""

    format = "mathml"
    printmethod = "_mathml"

    def doprint(self, obj: Any) -> str:
        return "\n".join(self._print(obj))

    def _print_Report(self, report: Report) -> list[str]:
        return ['<?xml version="1.0" encoding="UTF-8"?>',
                f"<symnet-report schema={xml_attribute(SCHEMA)} "
                f"model={xml_attribute(report.model)}>",
                *super()._print_Report(report), "</symnet-report>", ""]

    def _print_Summary(self, section: Summary) -> list[str]:
        return []  # a table of counts: no formula

    def _print_Layers(self, section: Layers) -> list[str]:
        return [line for entry in section.entries for line in self._print(entry)]

    def _print_LayerSection(self, section: LayerSection) -> list[str]:
        layer = section.layer
        return [formula("layer", latex(layer.formula), layer=layer.name, kind=layer.kind),
                *(formula("definition", d.latex, layer=layer.name) for d in layer.definitions)]

    def _print_WeightsTable(self, section: WeightsTable) -> list[str]:
        return []  # numbers, in the JSON

    def _print_StructuralForm(self, section: StructuralForm) -> list[str]:
        shown = composition_latex(section) if section.expr is None else latex(section.expr)
        return [formula("structural_form", shown)]

    def _print_Simplification(self, section: Simplification) -> list[str]:
        return []  # steps in words, in the text and JSON reports

    def _print_ClosedForm(self, section: ClosedForm) -> list[str]:
        return [formula("closed_form", f"{name} = " + " ".join(
                    self._closed_lines(expr)), output=str(name))
                for name, expr in section.outputs]

    def _print_RegionMap(self, section: RegionMap) -> list[str]:
        return [f"  <regions>{xml_text(line, limit=None)}</regions>" for line in
                region_lines(section, max_listed=self._settings["max_regions_listed"])]

    def _print_RegionsOmitted(self, section: RegionsOmitted) -> list[str]:
        return [f"  <regions>{xml_text(section.note, limit=None)}</regions>"]

    def _print_HandCalculation(self, section: HandCalculation) -> list[str]:
        return self._print(section.trace)

    def _print_Why(self, section: Why) -> list[str]:
        out = [f"  <why label={xml_attribute(row.label)}>{xml_text(row.text, limit=None)}</why>"
               for row in why_rows(section, self._settings["value_digits"])]
        out += [f"  <contribution term={xml_attribute(label)}>{self._value(finite(value))}"
                f"</contribution>"
                for label, value in section.explanation.grouped_contributions(20)]
        return out

    def _print_Agreement(self, section: Agreement) -> list[str]:
        return [f"  <agreement>{xml_text(section.text, limit=None)}</agreement>"]

    def _print_Trace(self, trace: Trace) -> list[str]:
        out = []
        for step in trace.steps:
            layer = step.layer
            shown = substituted_latex(step, self._settings["digits"]) or latex(step.formula)
            out.append(formula("trace", shown, layer=layer))
            parts = step_values(step, self._settings["max_listed"])
            stages = [("input", listed) for _, listed in parts.inputs]
            if parts.pre is not None:
                stages.append((f"before {parts.activation}", parts.pre))
            stages.append(("output", parts.output))
            for stage, listed in stages:
                numbers = " ".join(self._value(v) for v in listed.values)
                out.append(f"  <values layer={xml_attribute(layer)} "
                           f"stage={xml_attribute(stage)} size=\"{listed.size}\" "
                           f"shown=\"{len(listed.values)}\">{numbers}</values>")
            if parts.clipped is not None:
                out.append(f"  <clipped layer={xml_attribute(layer)}>"
                           f"{' '.join(map(str, parts.clipped))}</clipped>")
            out += [formula("by_hand", w.latex, layer=layer) for w in step.worked]
        return out
