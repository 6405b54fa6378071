"""Reports in every format, checked with the real tools: pdflatex, an XML parser, Chromium."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import symnet
from symnet.escape import markdown_text
from symnet.report.pdf import latex_to_pdf

from .conftest import randomize, require_tool

SPECIAL = "a&b%c$d#e_f{g}h~i^j\\k<l>m"


@pytest.fixture(scope="module")
def regressor(keras):
    return symnet.explain(symnet.examples.regressor_2x_plus_5())


@pytest.fixture(scope="module")
def seed(keras):
    return symnet.explain(symnet.examples.seed_mlp())


@pytest.fixture(scope="module")
def special(keras):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="relu",
                                                                    name=SPECIAL),
                              keras.layers.Dense(1, name="out")], name="odd & <named>")
    randomize(model, 5)
    return symnet.explain(model)


@pytest.fixture(scope="module")
def cnn(keras):
    """A convolution, pooling and an LSTM over the rows: definitions and by-hand lines."""
    L = keras.layers
    model = keras.Sequential([keras.Input((6, 6, 1)), L.Conv2D(2, 3, padding="same",
                                                               activation="relu"),
                              L.MaxPooling2D(2), L.Reshape((3, 6)), L.LSTM(2), L.Dense(1)])
    randomize(model, 6)
    return symnet.explain(model)


CNN_X = np.linspace(-1, 1, 36).reshape(6, 6, 1).tolist()


def compile_pdf(tex: str, tmp_path: Path) -> bytes:
    require_tool("pdflatex")
    return latex_to_pdf(tex, tmp_path / "report.pdf").read_bytes()


@pytest.mark.slow
def test_latex_reports_compile(regressor, seed, special, cnn, tmp_path):
    for net, x in ((regressor, [10.0]), (seed, None), (special, [0.5, -1.0]), (cnn, CNN_X)):
        pdf = compile_pdf(net.report("latex", x), tmp_path)
        assert pdf.startswith(b"%PDF") and len(pdf) > 2000


def test_mathml_is_well_formed_xml(regressor, seed, special, cnn):
    for net, x in ((regressor, [10.0]), (seed, None), (special, [0.5, -1.0]), (cnn, CNN_X)):
        text = net.report("mathml", x)
        root = ET.fromstring(text.encode("utf-8"))
        maths = root.findall(".//{http://www.w3.org/1998/Math/MathML}math")
        assert len(maths) >= len(net.layers) and all(m.get("display") == "block" for m in maths)
        assert "&InvisibleTimes;" not in text
    names = [f.get("layer") for f in ET.fromstring(special.report("mathml").encode()).iter(
        "formula") if f.get("layer")]
    assert SPECIAL in names


def test_json_and_markdown(regressor, special):
    data = json.loads(regressor.report("json", [10.0], target="2*x + 5", domain=(0, 20)))
    assert data["schema"] == "symnet.report/1"
    assert data["why"]["law_versus_target"]["target_slope"] == 2.0
    assert data["agreement"]["max_abs_diff_below"] <= 1e-5
    assert [layer["name"] for layer in data["layers"]] == ["dense", "dense_1"]
    markdown = special.report("markdown")
    assert markdown.count("$$") % 2 == 0 and markdown_text(SPECIAL) in markdown


def test_every_format_shows_the_definitions_and_the_work_by_hand(cnn):
    data = json.loads(cnn.report("json", CNN_X))
    conv, lstm = data["layers"][0], data["layers"][3]
    assert any("cross-correlation" in d["text"] for d in conv["definitions"])
    assert any(d["text"].startswith("c_t = f_t") for d in lstm["definitions"])
    worked = {step["layer"]: [w["text"] for w in step["worked"]] for step in data["trace"]}
    assert worked[conv["name"]][-1].startswith("sum over the window: ")
    assert worked[data["layers"][1]["name"]][-1].startswith("max of [")
    assert [w.split(":")[0] for w in worked[lstm["name"]]] == [
        f"step {t} (input x[{t - 1}])" for t in (1, 2, 3)]
    text = cnn.report("text", CNN_X)
    assert "where c_t = f_t ⊙ c_(t−1)" in text and "by hand:" in text
    for fmt in ("markdown", "latex"):
        assert r"\begin{bmatrix}" in cnn.report(fmt, CNN_X), fmt
    root = ET.fromstring(cnn.report("mathml", CNN_X).encode())
    names = [f.get("name") for f in root.iter("formula")]
    assert names.count("by_hand") == sum(map(len, worked.values()))
    assert names.count("definition") == len(conv["definitions"]) + len(lstm["definitions"])
    assert cnn.report("html", CNN_X).count("<math") > len(names) - 2


def test_save_report_follows_the_suffix(regressor, tmp_path):
    for suffix in (".tex", ".html", ".md", ".json", ".mml", ".txt"):
        path = regressor.save_report(tmp_path / f"r{suffix}", x=10.0)
        assert path.stat().st_size > 500
    with pytest.raises(symnet.InvalidInputError, match="report format"):
        regressor.save_report(tmp_path / "r.docx")
    with pytest.raises(symnet.InvalidInputError):
        regressor.save_report(tmp_path / "missing" / "r.html")
    assert not (tmp_path / "missing").exists()


def test_pdf_report(regressor, tmp_path):
    require_tool("pdflatex")
    path = regressor.save_report(tmp_path / "r.pdf", x=10.0)
    assert path.read_bytes().startswith(b"%PDF")


def screenshot(html: str, tmp_path: Path, name: str) -> np.ndarray:
    from PIL import Image

    chromium = require_tool("chromium")
    page = tmp_path / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    png = tmp_path / f"{name}.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,2000",
                    f"--screenshot={png}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    return np.asarray(Image.open(png).convert("L"), dtype=np.int16)


@pytest.mark.slow
def test_html_renders_its_math_in_chromium(regressor, special, tmp_path):
    for net, x, name in ((regressor, [10.0], "regressor"), (special, None, "special")):
        html = net.report("html", x)
        shown = screenshot(html, tmp_path, name)
        hidden = screenshot(html.replace("</style>", "math { visibility: hidden; }</style>"),
                            tmp_path, name + "-hidden")
        assert shown.shape == hidden.shape and (shown < 128).mean() > 0.005
        # The math is visible: hiding it changes a good part of the page.
        assert (np.abs(shown - hidden) > 60).sum() > 2000
    assert "<script" not in html and "http://" not in html.replace(
        "http://www.w3.org", "")


def test_jupyter_reprs_stay_small(seed, regressor):
    for obj in (seed, seed.layers[0], regressor.trace(10.0), regressor.why(10.0)):
        assert obj._repr_latex_().startswith("$")
    for obj in (seed, regressor, seed.layers[0], regressor.trace(10.0)):
        html = obj._repr_html_()
        assert "<math" in html and len(html) < 200_000
    assert "local law" in regressor.why(10.0)._repr_html_()
