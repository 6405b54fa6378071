"""The report as a typed document: every printer prints every section type, a section defined
here (one dataclass, one method per printer) reaches every format, settings are checked, and the
report model is read by attribute (string keys only in the JSON printer)."""

from __future__ import annotations

import ast
import dataclasses
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

import symnet
from symnet.escape import html_text, markdown_text, tex_text, xml_text
from symnet.report import FORMATS, build_report, print_report, printer
from symnet.report.sections import (
    Backprop,
    Layers,
    LayerSection,
    Report,
    Section,
    section_types,
)

from .conftest import randomize, require_tool

REPORT = Path(__file__).resolve().parent.parent / "symnet" / "report"


@pytest.fixture(scope="module")
def reports(keras) -> list[Report]:
    """Reports that hold every section type between them."""
    L = keras.layers
    plane = keras.Sequential([keras.Input((2,)), L.Dense(4, activation="relu"), L.Dense(1)])
    randomize(plane, 7)
    line = keras.Sequential([keras.Input((1,)), L.Dense(3, activation="relu"), L.Dense(1)])
    randomize(line, 8)
    wide = keras.Sequential([keras.Input((2,)), L.Dense(70, activation="relu"), L.Dense(1)])
    randomize(wide, 9)
    deep = keras.Sequential([keras.Input((2,))] + [L.Dense(2) for _ in range(4)])
    randomize(deep, 10)
    small = symnet.report.ReportSettings(max_structural_depth=2)
    gradient = symnet.explain(line).gradient([0.5], [1.0], loss="mse")
    backprop = Report(model="backpropagation", inputs=(), outputs=(), input_shapes=(),
                      output_shapes=(), sections=(Backprop(gradient, gradient.trace()),))
    return [build_report(symnet.explain(plane), [0.3, -0.4], interactive=True),
            build_report(symnet.explain(line), [0.5], target="2*x"),
            build_report(symnet.explain(wide)),
            build_report(symnet.explain(deep), settings=small), backprop]


def _sections(report: Report) -> list[Section]:
    found: list[Section] = []
    for section in report.sections:
        found.append(section)
        if isinstance(section, Layers):
            for entry in section.entries:
                found.append(entry)
                if entry.weights is not None:
                    found.append(entry.weights)
    return found


def test_every_printer_prints_every_section_type(reports):
    own = [t for t in section_types() if t.__module__ == "symnet.report.sections"]
    met = {type(s) for report in reports for s in _sections(report)}
    assert set(own) <= met, f"no report above holds {set(own) - met}: add one"
    for fmt in FORMATS:
        p = printer(fmt)
        for t in own:
            assert hasattr(p, f"_print_{t.__name__}"), (fmt, t.__name__)
        for report in reports:
            for section in _sections(report):
                p._print(section)  # no TypeError: a method for each


@dataclasses.dataclass(frozen=True)
class Margin(Section):
    """A toy section: one dataclass, one method per printer."""

    name: ClassVar[str] = "margin"
    note: str

    def _text(self, printer):
        return [f"Margin: {self.note}"]

    def _latex(self, printer):
        return [r"\subsection*{Margin}" + tex_text(self.note, limit=None) + r"\par"]

    def _markdown(self, printer):
        return ["## Margin", "", markdown_text(self.note), ""]

    def _mathml(self, printer):
        return [f"  <margin>{xml_text(self.note)}</margin>"]

    def _html(self, printer):
        return [f"<h2>Margin</h2><p>{html_text(self.note)}</p>"]

    def _json(self, printer):
        return {"margin": {"note": self.note}}


def test_a_section_defined_here_reaches_every_format(reports, tmp_path):
    note = "x < y & 100% {sure}"
    report = reports[1]
    extended = dataclasses.replace(report, sections=(*report.sections, Margin(note)))
    out = {fmt: print_report(extended, fmt) for fmt in FORMATS}
    assert f"Margin: {note}" in out["text"]
    assert tex_text(note, limit=None) in out["latex"]
    assert markdown_text(note) in out["markdown"]
    assert ET.fromstring(out["mathml"].encode()).find("margin").text == note
    assert html_text(note) in out["html"]
    data = json.loads(out["json"])
    assert data["margin"] == {"note": note} and list(data)[-1] == "margin"
    assert list(data)[:-1] == list(json.loads(print_report(report, "json")))
    # nothing else changed: the new section follows the others
    assert out["text"] == print_report(report, "text") + f"\nMargin: {note}\n"
    for fmt, end in (("latex", r"\end{document}"), ("html", "</body>"), ("markdown", None),
                     ("mathml", "</symnet-report>")):
        before = print_report(report, fmt)
        assert out[fmt].startswith(before if end is None else before[:before.rindex(end)]), fmt
    require_tool("pdflatex")
    from symnet.pdf import latex_to_pdf

    assert latex_to_pdf(out["latex"], tmp_path / "margin.pdf").read_bytes().startswith(b"%PDF")


def test_a_section_no_printer_knows_is_an_error_naming_it(reports):
    @dataclasses.dataclass(frozen=True)
    class Orphan(Section):
        pass

    report = dataclasses.replace(reports[1], sections=(Orphan(),))
    for fmt in FORMATS:
        with pytest.raises(TypeError, match="Orphan"):
            print_report(report, fmt)


def test_unknown_printer_settings_are_refused():
    with pytest.raises(symnet.InvalidInputError, match="'digitz'"):
        printer("latex", {"digitz": 3})
    with pytest.raises(symnet.InvalidInputError, match="format"):
        printer("docx")


def test_printer_settings_are_honoured(reports):
    report = reports[1]
    layer = next(s for s in report.sections if isinstance(s, Layers)).entries[0]
    assert isinstance(layer, LayerSection)
    kernel = float(np.ravel(layer.layer.params[0].value)[0])
    assert f"{kernel:.7g}" in printer("text").doprint(report)
    assert f"{kernel:.3g}" in printer("text", {"digits": 3}).doprint(report)
    assert f"{kernel:.7g}" not in printer("text", {"digits": 3}).doprint(report)


def test_the_report_model_is_read_by_attribute():
    """String-keyed reads (``x["key"]``, ``x.get("key")``) in report/: only the JSON printer's,
    the printers' own settings, and one read of the explanation's law comparison."""
    found = []
    for path in sorted(REPORT.glob("*.py")):
        if path.name == "json.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef) or function.name in (
                    "law_comparison", "counterexample_parts"):
                continue
            for node in ast.walk(function):
                keyed = isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                    and isinstance(node.slice.value, str) and isinstance(node.ctx, ast.Load)
                got = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr == "get" and node.args and isinstance(node.args[0], ast.Constant)
                if keyed and ast.unparse(node.value) in ("self._settings", "matplotlib.colormaps"):
                    continue
                if keyed or got:
                    found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert not found, found


def test_a_model_that_embeds_its_input_gets_every_report_without_x(keras):
    """The rows a report evaluates on its own are whole indices inside the table for an input
    that feeds an Embedding (real numbers made it fail)."""
    L = keras.layers
    model = keras.Sequential([keras.Input((3,)), L.Embedding(10, 2), L.Flatten(), L.Dense(1)])
    randomize(model, 11)
    net = symnet.explain(model)
    for fmt in FORMATS:
        assert net.report(fmt), fmt
    data = json.loads(net.report("json"))
    assert data["agreement"]["samples"] == 8 and data["agreement"]["max_abs_diff_below"] <= 1e-6
    from symnet.report.model import sample_rows

    (rows,) = sample_rows(net)
    assert rows.shape == (8, 3) and np.all(rows == np.round(rows)) and rows.min() >= 0 \
        and rows.max() <= 9


def test_the_json_report_is_what_its_schema_documents(reports):
    """Every field the JSON printer writes is in docs/report-schema.md, and every top-level
    field the schema lists is written (a report with an input, on a two-input Keras network;
    the ONNX reports' own fields are tested in test_onnx_models.py)."""
    import re

    doc = (REPORT.parent.parent / "docs" / "report-schema.md").read_text(encoding="utf-8")
    rows = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 2:
            for name in re.findall(r"`([^`]+)`", cells[0]):
                rows[name] = cells[1]
    data = json.loads(print_report(reports[0], "json"))
    top = {name.removesuffix("[]") for name in rows if "." not in name}
    assert set(data) <= top  # a Keras network's report: all but the other frameworks' fields
    assert top - set(data) == {"framework", "computes", "outputs_left_out", "backprop"}
    assert set(json.loads(print_report(reports[-1], "json"))) <= top
    nested = {"layers[]": data["layers"][0], "layers[].parameters[]":
              data["layers"][0]["parameters"][0], "trace[]": data["trace"][0],
              "regions": data["regions"], "why": data["why"]}
    for row, fields in nested.items():
        missing = [k for k in fields if not any(f"`{k}{end}`" in doc for end in ("", "[]"))]
        assert not missing, (row, missing)
