"""Hostile names through every report format, rendered by the real tools: nothing escapes.

Layer and model names come from model files; a name is text in every format, never TeX, HTML,
Markdown or a terminal escape sequence.
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

import symnet

from ..conftest import randomize, require_tool

TEX_BREAKOUT = r"a\end{verb\end{verbatim}atim}\input{^^2fetc^^2fhostname}\begin{verbatim}"
HTML_HANDLER = '<img src=x onerror="alert(1)">'
MARKDOWN_TRICKS = "`x` ](javascript:alert(1)) <svg onload=alert(2)> <script>alert(3)"
CONTROL = "\x1b[31mred\x1b[0m\x07"
HOSTILE = [TEX_BREAKOUT, HTML_HANDLER, MARKDOWN_TRICKS, CONTROL, "L" * 300_000]


def hostile_model(keras, name):
    model = keras.Sequential([keras.Input((1,)),
                              keras.layers.Dense(2, activation="relu", name=name),
                              keras.layers.Dense(1, name="out")], name="m")
    randomize(model, 1)
    return model


@pytest.fixture(scope="module", params=range(len(HOSTILE)), ids=["tex", "html", "markdown",
                                                                  "control", "long"])
def hostile(request, keras):
    return symnet.explain(hostile_model(keras, HOSTILE[request.param]))


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def assert_inert_html(html: str) -> None:
    for tag, attrs in tags_of(html):
        assert tag not in ("script", "img", "iframe"), tag
        assert not any(a.lower().startswith("on") for a in attrs), (tag, attrs)
        assert not any("javascript:" in (v or "") for v in attrs.values()), (tag, attrs)


def test_html_report_shows_names_as_text(hostile):
    assert_inert_html(hostile.report("html", [1.0]))


def test_markdown_rendered_by_commonmark_has_no_tag_or_link(hostile):
    from markdown_it import MarkdownIt

    rendered = MarkdownIt("commonmark").render(hostile.report("markdown", [1.0]))
    assert_inert_html(rendered)
    assert "<a " not in rendered


def test_mathml_and_json_parse(hostile):
    ET.fromstring(hostile.report("mathml", [1.0]).encode("utf-8"))
    data = json.loads(hostile.report("json", [1.0]))
    assert data["layers"][0]["name"] == hostile.layers[0].name  # JSON keeps the name whole


def test_text_report_sends_no_control_character(hostile):
    text = hostile.report("text", [1.0]) + hostile.why(1.0).summary()
    assert not any(ord(c) < 32 and c != "\n" for c in text)


@pytest.mark.slow
def test_latex_report_compiles_and_reads_no_file(keras, tmp_path):
    require_tool("pdflatex")
    pdftotext = require_tool("pdftotext")
    secret = tmp_path / "secret.txt"
    secret.write_text("THE-SECRET-LINE\n")
    encoded = str(secret).replace("/", "^^2f")
    for name in (TEX_BREAKOUT.replace("^^2fetc^^2fhostname", encoded), CONTROL, HTML_HANDLER):
        net = symnet.explain(hostile_model(keras, name))
        pdf = net.save_report(tmp_path / "r.pdf", x=1.0)
        text = subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "THE-SECRET-LINE" not in text and "Why this value" in text


def test_input_and_output_names_must_be_identifiers(keras):
    model = hostile_model(keras, "dense")
    for bad in (r"}\input{x}", "<b>", "a b", "x\x1b", ""):
        with pytest.raises(symnet.InvalidInputError, match="identifiers"):
            symnet.explain(model, input_names=[bad])
        with pytest.raises(symnet.InvalidInputError, match="identifiers"):
            symnet.explain(model, output_names=[bad])
    assert str(symnet.explain(model, input_names=["speed_2"]).inputs[0]) == "speed_2"


def test_latex_printer_never_prints_a_raw_name():
    import sympy as sp

    from symnet.report.latex import latex

    assert "\\input" not in latex(sp.Symbol(r"}\input{x}") + 1)
    assert latex(sp.MatrixSymbol("sigma^2_2", 1, 3)) == r"\sigma^{2}_{2}"
