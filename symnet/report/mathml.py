"""The MathML report: every formula of the report as MathML (``display="block"``, by
``latex2mathml`` on the formula's LaTeX) in one XML document, with the trace's values and the
explanation as elements."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..escape import xml_attribute, xml_text
from .notation import dimension_latex
from .printer import (
    LinePrinter,
    backprop_items,
    composition_latex,
    finite,
    shown_substitution,
    step_values,
    why_rows,
)
from .sections import SCHEMA

if TYPE_CHECKING:
    from ..analysis.explanation import Trace
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

    def _print_Report(self, report: Report) -> list[str]:
        head = ['<?xml version="1.0" encoding="UTF-8"?>'] if self.standalone else []
        return [*head, f"<symnet-report schema={xml_attribute(SCHEMA)} "
                f"model={xml_attribute(report.model)}>",
                *super()._print_Report(report), "</symnet-report>", ""]

    def _print_Summary(self, section: Summary) -> list[str]:
        return []  # a table of counts: no formula

    def _print_Notation(self, section: Notation) -> list[str]:
        out = [formula("symbol", f"{self._tex(s)} \\in {dimension_latex(self._shape(shape))}")
               for s, shape in zip((*section.input_symbols, *section.output_symbols),
                                   (*section.input_shapes, *section.output_shapes))]
        return out + [formula("function", f.latex, function=f.name)
                      for f in section.functions]

    def _print_Layers(self, section: Layers) -> list[str]:
        return [line for entry in section.entries for line in self._print(entry)]

    def _print_LayerSection(self, section: LayerSection) -> list[str]:
        layer = section.layer
        if not section.formula:
            return []
        return [formula("layer", self._tex(layer.formula), layer=layer.name, kind=layer.kind),
                *(formula("definition", d.latex, layer=layer.name) for d in layer.definitions),
                *(formula("symbol", self._member(p.symbol, p.value.ndim), layer=layer.name)
                  for p in layer.params if p.symbol is not None),
                *(formula("constant", f"{self._tex(c.symbol)} = {self._value_latex(c.value)}",
                          layer=layer.name) for c in layer.constant_symbols)]

    def _print_WeightsTable(self, section: WeightsTable) -> list[str]:
        return []  # numbers, in the JSON

    def _print_StructuralForm(self, section: StructuralForm) -> list[str]:
        if section.expr is None:
            return [formula("structural_form", composition_latex(section))]
        shown = self._tex(section.expr)
        if section.lhs is not None:
            shown = f"{self._tex(section.lhs)} = {shown}"
        return [formula("structural_form", shown)]

    def _print_Simplification(self, section: Simplification) -> list[str]:
        return []  # steps in words, in the text and JSON reports

    def _print_ClosedForm(self, section: ClosedForm) -> list[str]:
        return [formula("closed_form", f"{self._tex(name)} = {self._tex(expr)}",
                        output=str(name)) for name, expr in section.outputs]

    def _print_RegionMap(self, section: RegionMap) -> list[str]:
        return [f"  <regions>{xml_text(row.text, limit=None)}</regions>" for row in
                self._region_rows(section)]

    def _print_RegionsOmitted(self, section: RegionsOmitted) -> list[str]:
        return [f"  <regions>{xml_text(section.note, limit=None)}</regions>"]

    def _print_HandCalculation(self, section: HandCalculation) -> list[str]:
        return self._print(section.trace)

    def _print_Why(self, section: Why) -> list[str]:
        out = [f"  <why label={xml_attribute(row.label)}>{xml_text(row.text, limit=None)}</why>"
               for row in why_rows(section, self)]
        out += [f"  <contribution term={xml_attribute(label)}>{self._value(finite(value))}"
                f"</contribution>"
                for label, value in section.explanation.grouped_contributions(20)]
        return out

    def _print_Agreement(self, section: Agreement) -> list[str]:
        return [f"  <agreement>{xml_text(section.text, limit=None)}</agreement>"]

    def _print_Backprop(self, section: Backprop) -> list[str]:
        import numpy as np

        out = []
        for title, items in backprop_items(section):
            for it in items:
                shown = self._tex(it.lhs)
                lhs = rf"\frac{{\partial L}}{{\partial {shown}}}" if it.gradient else shown
                if it.formula is not None:
                    out.append(formula("backprop", f"{lhs} = {self._tex(it.formula)}",
                                       layer=title))
                value = np.asarray(np.asarray(it.value, dtype=object).astype(np.float64))
                numbers = " ".join(self._value(float(v)) for v in value.reshape(-1)[:64])
                out.append(f"  <values layer={xml_attribute(title)} "
                           f"quantity={xml_attribute(self._txt(it.lhs))} "
                           f"gradient=\"{str(it.gradient).lower()}\" size=\"{value.size}\" "
                           f"shown=\"{min(value.size, 64)}\">{numbers}</values>")
        return out

    def _print_Trace(self, trace: Trace) -> list[str]:
        out = []
        for step in trace.steps:
            layer = step.layer
            substituted = shown_substitution(step)
            shown = self._tex(step.formula) if substituted is None else \
                f"{self._tex(step.formula.lhs)} = {self._tex(substituted)}"
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
