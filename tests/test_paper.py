"""Reports a paper can use (issue 27): LaTeX fragments that compile in an author's own document
(a plain article, a two-column paper, symnet's page) with no overfull box, real matrices,
a paper's notation, the digits asked for everywhere, and the small defects seen on the pages."""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.report import SECTIONS, build_report

from .conftest import randomize, require_tool

LAYOUTS = {
    "article": r"\documentclass{article}",
    "twocolumn": r"\documentclass[twocolumn]{article}",
    "symnet": "\\documentclass[10pt]{article}\n\\usepackage[margin=2.5cm]{geometry}",
}
"""The documents a fragment is put in: LaTeX's default article (a 345 pt line), a two-column
paper (241 pt) and the page of symnet's own reports."""

#: Written to the log by the test's document: which candidate each \symnetfit typeset.
TRACE_FITS = r"""\makeatletter
\let\symnettestfirst\symnet@first \let\symnettestsecond\symnet@second
\let\symnettestother\symnet@other
\long\def\symnet@first#1#2#3{\typeout{SYMNETFIT first}\symnettestfirst{#1}{#2}{#3}}
\long\def\symnet@second#1#2#3{\typeout{SYMNETFIT second}\symnettestsecond{#1}{#2}{#3}}
\long\def\symnet@other#1#2#3{\typeout{SYMNETFIT other}\symnettestother{#1}{#2}{#3}}
\makeatother"""


def compile_fragment(body: str, layout: str, folder: Path) -> tuple[str, int]:
    """Compile ``body`` after :func:`symnet.latex_preamble` in a document of ``layout``; the
    log and the pages."""
    require_tool("pdflatex")
    folder.mkdir(parents=True, exist_ok=True)
    doc = "\n".join([LAYOUTS[layout], symnet.latex_preamble(), TRACE_FITS,
                     r"\begin{document}", "Text of the author's own before the fragment.",
                     r"\input{fragment}", "And after it.", r"\end{document}", ""])
    (folder / "fragment.tex").write_text(body, encoding="utf-8")
    (folder / "paper.tex").write_text(doc, encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                          "paper.tex"], cwd=folder, capture_output=True, text=True,
                         errors="replace", timeout=300)
    log = (folder / "paper.log").read_text(errors="replace")
    assert run.returncode == 0, log[-3000:]
    pages = re.search(r"Output written on paper\.pdf \((\d+) page", log)
    return log, int(pages.group(1)) if pages else 0


def overfull(log: str) -> list[str]:
    """Every overfull box the log reports (hbox or vbox), with where."""
    return re.findall(r"Overfull \\[hv]box \([\d.]+pt too (?:wide|high)\)[^\n]*", log)


@pytest.fixture(scope="module")
def moons(keras):
    return symnet.explain(symnet.examples.moons_classifier())


@pytest.fixture(scope="module")
def seed(keras):
    return symnet.explain(symnet.examples.seed_mlp())


SEED_X = np.random.default_rng(1).normal(size=1120).astype(np.float32)


# --- fragments --------------------------------------------------------------------------------

def test_a_fragment_is_a_body_and_the_preamble_is_standard(moons):
    body = moons.report("latex", [0.3, 0.2], standalone=False)
    for whole in (r"\documentclass", r"\begin{document}", r"\usepackage", r"\end{document}"):
        assert whole not in body
    assert r"\begin{longtable}" not in body  # longtable refuses two columns
    assert r"\symnetdisplay{" in body and r"\symnetfit{" in body
    preamble = symnet.latex_preamble()
    packages = re.findall(r"\\usepackage\{([^}]*)\}", preamble)
    assert packages == ["amsmath", "amssymb", "booktabs", "tabularx"]
    kpsewhich = require_tool("kpsewhich")
    for name in packages:
        found = subprocess.run([kpsewhich, f"{name}.sty"], capture_output=True, text=True)
        assert found.stdout.strip(), name
    assert preamble.count(r"\providecommand") >= 2  # an author's own definitions win
    whole = moons.report("latex", [0.3, 0.2])
    assert whole.startswith(r"\documentclass") and preamble.strip() in whole


@pytest.mark.slow
@pytest.mark.parametrize("which", ["moons", "moons_x", "seed", "seed_x"])
def test_every_section_compiles_in_every_layout_without_an_overfull_box(moons, seed, which,
                                                                        tmp_path):
    net, x = {"moons": (moons, None), "moons_x": (moons, [0.3, 0.2]), "seed": (seed, None),
              "seed_x": (seed, SEED_X)}[which]
    body = net.report("latex", x, standalone=False)
    for name in ("summary", "notation", "layers", "forms", "agreement"):
        assert any(isinstance(s, symnet.report.sections.Section) for s in
                   build_report(net, x, sections=[name]).sections), name
    for layout in LAYOUTS:
        log, pages = compile_fragment(body, layout, tmp_path / layout)
        assert not overfull(log), (layout, overfull(log)[:5])
        assert pages >= 1


@pytest.mark.slow
def test_each_section_alone_compiles_in_two_columns(moons, tmp_path):
    for name in [n for n in SECTIONS if n not in ("backprop", "explorer")]:
        body = moons.report("latex", [0.3, 0.2], standalone=False, sections=[name], digits=3)
        log, _ = compile_fragment(body, "twocolumn", tmp_path / name)
        assert not overfull(log), (name, overfull(log)[:3])


@pytest.mark.slow
def test_small_matrices_are_whole_bmatrices_and_large_ones_their_corners(moons, seed,
                                                                         tmp_path):
    body = moons.report("latex", standalone=False, sections=["weights"], digits=3)
    # W_1 (2x8), W_2 (8x8), W_3 (8x3): every one whole, in the shape Keras stores
    for symbol, kernel in (("W_{1}", 0), ("W_{2}", 1), ("W_{3}", 2)):
        rows, cols = moons.layers[kernel].parameters["kernel"].shape
        start = body.index(rf"\symnetfit{{{symbol} = ")
        first = body[start:body.index(r"\end{bmatrix}", start)]
        assert first.count(r"\\") == rows - 1 and first.split(r"\\")[0].count("&") == cols - 1
    log, _ = compile_fragment(body, "article", tmp_path / "article")
    picks = re.findall(r"SYMNETFIT (\w+)", log)
    assert picks == ["first"] * 6, picks  # three kernels and three biases: whole
    # the seed MLP's 1120 x 512 kernel: its corners and its shape, never "too wide"
    big = seed.report("latex", standalone=False, sections=["weights"], digits=3)
    assert "too wide" not in big and r"\end{bmatrix}_{1120 \times 512}" in big
    assert r"\cdots" in big and r"\vdots" in big and r"\ddots" in big
    log, _ = compile_fragment(big, "twocolumn", tmp_path / "seed")
    assert not overfull(log)


def test_digits_bound_every_number_of_the_weights_and_the_trace(moons, seed):
    for net, x in ((moons, [0.3, 0.2]), (seed, SEED_X)):
        body = net.report("latex", x, standalone=False, sections=["weights", "trace"],
                          digits=3)
        # the numbers of math mode: decimals and numbers in scientific notation
        numbers = re.findall(r"(?<![\w{^_.])-?\d+\.\d+(?: \\times 10\^\{-?\d+\})?", body)
        assert numbers
        for number in numbers:
            mantissa = number.split(" ")[0].lstrip("-").replace(".", "").lstrip("0")
            assert len(mantissa) <= 3, number
        text = net.report("text", x, sections=["weights", "trace"], digits=3)
        for number in re.findall(r"-?\d+\.\d+(?:e[-+]\d+)?", text):
            mantissa = number.split("e")[0].lstrip("-").replace(".", "").lstrip("0")
            assert len(mantissa) <= 3, number


def test_scientific_notation_is_a_power_of_ten_in_latex(keras):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.layers[0].set_weights([np.array([[7.881958e-18, 1.0], [2.0, -3.5e-9]], np.float32),
                                 np.zeros(2, np.float32)])
    net = symnet.explain(model)
    tex = net.report("latex", standalone=False, sections=["weights"], digits=3)
    assert r"7.88 \times 10^{-18}" in tex and r"-3.5 \times 10^{-9}" in tex
    assert "e-18" not in tex and "e − 18" not in tex


# --- fragments in the other formats ---------------------------------------------------------

def test_an_html_fragment_is_an_element_with_its_style_scoped(moons):
    html = moons.report("html", [0.3, 0.2], standalone=False)
    assert html.startswith('<div class="symnet-report">') and "<body" not in html
    assert "<html" not in html and "<!DOCTYPE" not in html
    style = html[html.index("<style>") + 7:html.index("</style>")]
    for rule in style.strip().splitlines():
        assert rule.startswith(".symnet-report"), rule
    ET.fromstring(moons.report("mathml", [0.3, 0.2], standalone=False).encode())
    assert not moons.report("markdown", standalone=False).startswith("# Model")
    assert not moons.report("text", standalone=False).startswith("Model ")


def test_sections_are_picked_by_name_and_only_their_analyses_run(seed, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the closed form was computed for a report without it")

    monkeypatch.setattr(type(seed), "closed_form", refuse)
    data = json.loads(seed.report("json", sections=["summary", "layers"]))
    assert "layers" in data and "closed_form" not in data and "structural_form" not in data
    text = seed.report("text", sections="weights")
    assert "W_1 = [" in text and "h_1 = " not in text  # the arrays only, no formula
    with pytest.raises(symnet.InvalidInputError, match="unknown section 'weight'"):
        seed.report("latex", sections=["weight"])
    with pytest.raises(symnet.InvalidInputError, match="trace .*need an input"):
        seed.report("latex", sections=["trace"])
    with pytest.raises(symnet.InvalidInputError, match="two inputs"):
        seed.report("latex", sections=["regions"])
    with pytest.raises(symnet.InvalidInputError, match="gradient"):
        seed.report("latex", sections=["backprop"])


def test_save_report_and_the_command_line_take_the_same_options(moons, tmp_path, capsys):
    from symnet.cli import main

    path = moons.save_report(tmp_path / "f.tex", [0.3, 0.2], standalone=False,
                             sections=["layers"], digits=2, numbering="parameters")
    saved = path.read_text()
    assert r"\documentclass" not in saved and "W^{(2)}" in saved
    assert main(["explain", str(symnet.examples.moons_path()), "--fragment", "--sections",
                 "layers", "--digits", "2", "--numbering", "parameters", "--format",
                 "latex"]) == 0
    assert capsys.readouterr().out == saved
    assert main(["explain", str(symnet.examples.moons_path()), "--symbol", "dense=A",
                 "--convention", "column", "--sections", "layers"]) == 0
    out = capsys.readouterr().out
    assert "A*x + b_1" in out
    with pytest.raises(SystemExit) as stop:
        main(["explain", str(symnet.examples.moons_path()), "--sections", "nope"])
    assert stop.value.code == 2 and "--sections" in capsys.readouterr().err
    assert main(["explain", str(symnet.examples.moons_path()), "--fragment", "-o",
                 str(tmp_path / "x.pdf")]) == 2
    assert "whole document" in capsys.readouterr().err


# --- notation -------------------------------------------------------------------------------

def test_epsilon_is_stated_where_its_symbol_is_introduced_and_functions_defined_once(seed):
    tex = seed.report("latex", standalone=False)
    for k in (2, 6, 10):  # each BatchNorm layer's formula text states its ε
        assert rf"\varepsilon_{{{k}}} = 0.001" in tex
    assert tex.count(r"\operatorname{softmax}(z)_{j} = ") == 1
    assert r"W_{1} \in \mathbb{R}^{1120 \times 512}" in tex
    assert r"x \in \mathbb{R}^{1120}" in tex
    text = seed.report("text", sections=["layers"])
    assert "where epsilon_2 = 0.001" in text


def test_symbols_numbered_by_parameter_layer_and_renamed(moons, seed):
    tex = moons.report("latex", standalone=False, sections=["layers"],
                       numbering="parameters")
    assert r"h_{1} = \max\left(0, x W^{(1)} + b^{(1)}\right)" in tex
    assert "W^{(2)}" in tex and "W^{(3)}" in tex and "W_{1}" not in tex
    bn = seed.report("latex", standalone=False, sections=["layers"], numbering="parameters")
    assert r"\gamma^{(2)}" in bn and "W^{(3)}" in bn and r"\left(\sigma^{(2)}\right)^{2}" in bn
    renamed = moons.report("text", sections=["layers"], symbols={"dense": "A",
                                                                  "dense_1/bias": "c", "x": "u"})
    assert "h_1 = Max(0, u*A + b_1)" in renamed and "h_2 = Max(0, h_1*W_2 + c)" in renamed
    with pytest.raises(symnet.InvalidInputError, match="no layer, array or symbol.*'dens'"):
        moons.report("text", symbols={"dens": "A"})
    with pytest.raises(symnet.InvalidInputError, match="written as SymPy names"):
        moons.report("latex", symbols={"dense": r"\input{x}"})
    with pytest.raises(symnet.InvalidInputError, match="numbering"):
        moons.report("latex", numbering="by-hand")


def test_the_column_vector_convention_writes_w_x_and_transposes_the_matrices(moons, keras):
    tex = moons.report("latex", standalone=False, sections=["layers", "weights"],
                       convention="column", digits=7)
    assert r"\max\left(0, W_{1} x + b_{1}\right)" in tex
    assert r"W_{1} \in \mathbb{R}^{8 \times 2}" in tex
    kernel = moons.layers[0].parameters["kernel"]  # (2, 8) as Keras stores it
    shown = tex[tex.index(r"\symnetfit{W_{1} = "):]
    first_row = shown[shown.index(r"\begin{bmatrix}") + 15:shown.index(r"\\")]
    np.testing.assert_allclose([float(v) for v in first_row.split("&")], kernel[:, 0],
                               rtol=1e-6)  # row 0 of W_1 is column 0 of the kernel
    conv = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(1, 2),
                             keras.layers.Flatten(), keras.layers.Dense(1)])
    with pytest.raises(symnet.InvalidInputError, match="column-vector convention"):
        symnet.explain(conv).report("latex", convention="column")


def test_sympy_latex_of_a_batchnorm_formula_reads_as_the_report(seed):
    layer = seed.layers[1]
    shown = sp.latex(layer.formula)
    assert shown == (r"h_{2} = \gamma_{2} \odot \left(h_{1} - \mu_{2}\right) \oslash "
                     r"\sqrt{\sigma^{2}_{2} + \varepsilon_{2}} + \beta_{2}")
    assert shown in seed.report("latex", standalone=False, sections=["layers"])
    import symnet.functions

    names = {**vars(sp), **{n: getattr(symnet.functions, n) for n in symnet.functions.__all__}}
    assert eval(sp.srepr(layer.formula), names) == layer.formula
    assert isinstance(layer.formula, sp.Eq)


# --- the small defects ------------------------------------------------------------------------

def test_the_output_symbol_is_mathematics_and_the_class_is_counted_from_zero(seed):
    x = SEED_X
    tex = seed.report("latex", x, standalone=False, sections=["why"])
    value = seed.evaluate(x).reshape(-1)
    k = int(np.argmax(value))
    assert rf"$y_{{{k + 1}}} = " in tex and r"y\_" not in tex
    assert f"class {k} counting from 0" in tex
    assert "output 28 of 38" not in tex and f"output {k} of" not in tex


def test_region_laws_are_set_in_math_with_minus_signs(moons):
    tex = moons.report("latex", [0.3, 0.2], standalone=False, sections=["regions"])
    laws = re.findall(r"region \d+: \$([^$]*)\$", tex)
    assert laws and all("*" not in law for law in laws)
    assert any(" - " in law for law in laws)  # math mode: a minus sign, not a hyphen


def test_without_the_activations_keeps_the_softmax_a_probability_beside_a_probability(keras):
    model = symnet.examples.moons_classifier()
    net = symnet.explain(model)
    x = np.array([0.3, 0.2], np.float32)
    e = net.why(x, output=1)
    # by hand: the hidden ReLUs forgotten, the softmax kept
    (k1, b1), (k2, b2), (k3, b3) = (layer.get_weights() for layer in model.layers)
    z = ((x.astype(np.float64) @ k1 + b1) @ k2 + b2) @ k3 + b3
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert e.kept_activation == "softmax"
    np.testing.assert_allclose(e.without_activation, p[1], rtol=1e-6)
    assert 0 <= e.without_activation <= 1
    from symnet.report.printer import why_rows
    from symnet.report.sections import Why

    row = next(r for r in why_rows(Why(e, 1, 3), symnet.report.printer("text"))
               if r.label.startswith("without"))
    assert row.label == "without the hidden activations (the softmax kept)"


def test_the_hand_calculation_repeats_no_formula_line(seed):
    tex = seed.report("latex", SEED_X, standalone=False, sections=["trace"])
    displays = re.findall(r"\\symnet(?:display|fit)\{([^\n]*)", tex)
    assert len(displays) == len(set(displays)), "a formula line is printed twice"
    assert r"\varepsilon_{2} = 0.001" not in tex  # no line that only puts ε in


def test_the_notebook_trace_and_why_fit_and_say_enough(seed, moons):
    shown = seed.trace(SEED_X)._repr_latex_()
    rows = re.findall(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", shown)
    assert rows and max(len(r.split(r"\\")[0].split("&")) for r in rows) <= 6
    assert len(shown) < 20_000
    symnet.set_printoptions(digits=3)
    try:
        short = moons.trace([0.3, 0.2])._repr_latex_()
        why = moons.why([0.3, 0.2], output=1)._repr_latex_()
    finally:
        symnet.set_printoptions(digits=None)
    assert symnet.get_printoptions() == {"digits": 7}
    for number in re.findall(r"\d+\.\d+", short):  # 3 significant digits at most
        assert len(number.replace(".", "").lstrip("0")) <= 3, number
    assert "local law" in why and "without the activations" in why
    html = moons.why([0.3, 0.2], output=1)._repr_html_()
    assert "<table>" in html and "local law (of the logit)" in html
    with pytest.raises(symnet.InvalidInputError, match="digits"):
        symnet.set_printoptions(digits=0)


def test_settings_digits_change_the_report(moons):
    settings = symnet.report.ReportSettings(digits=3)
    assert moons.report("latex", [0.3, 0.2]) != moons.report("latex", [0.3, 0.2],
                                                             settings=settings)
    assert moons.report("latex", [0.3, 0.2], settings=settings) == moons.report(
        "latex", [0.3, 0.2], digits=3)
    data = json.loads(moons.report("json", [0.3, 0.2], digits=3))
    assert data["why"]["local_law_latex"].count(".") >= 1
    for number in re.findall(r"\d+\.\d+", data["why"]["local_law_latex"]):
        assert len(number.replace(".", "").lstrip("0")) <= 3, number


# --- figures and the classifier's laws --------------------------------------------------------

def test_local_affine_of_a_softmax_classifier_is_its_logits_law(moons, keras):
    model = symnet.examples.moons_classifier()
    x = np.array([0.3, 0.2])
    a, b = moons.local_affine(x)
    (k1, b1), (k2, b2), (k3, b3) = (layer.get_weights() for layer in model.layers)

    def logits(p: np.ndarray) -> np.ndarray:
        h = np.maximum(0, p @ k1 + b1)
        return np.maximum(0, h @ k2 + b2) @ k3 + b3

    np.testing.assert_allclose(a @ x + b, logits(x), rtol=1e-6)
    step = 1e-4
    jac = np.stack([(logits(x + step * e) - logits(x - step * e)) / (2 * step)
                    for e in np.eye(2)], axis=1)
    np.testing.assert_allclose(a, jac, rtol=1e-4, atol=1e-6)
    regions = moons.regions2d(((-2, 3), (-2, 2)))
    assert regions and all(r.logits for r in regions)
    held = next(r for r in regions if all(
        (float(v[0]) - float(u[0])) * (x[1] - float(u[1])) -
        (float(v[1]) - float(u[1])) * (x[0] - float(u[0])) >= 0
        for u, v in zip(r.vertices, r.vertices[1:] + r.vertices[:1])))
    np.testing.assert_allclose(np.array(held.slope, float), a, rtol=1e-6)


def test_the_region_map_is_argmax_of_evaluate(moons):
    from matplotlib.figure import Figure
    from matplotlib.path import Path as MplPath

    x, y = symnet.examples.moons_data()
    box = ((-2.0, 3.0), (-1.5, 2.0))
    fig = moons.plot(box, data=x, labels=y)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    cells = next(c for c in ax.collections if c.get_gid() == "symnet-classes")
    classes = np.asarray(cells.get_array()).astype(int)
    paths = [MplPath(p.vertices) for p in cells.get_paths()]
    rng = np.random.default_rng(7)
    points = np.column_stack([rng.uniform(*box[0], 400), rng.uniform(*box[1], 400)])
    predicted = np.argmax(moons.evaluate(points, "float64"), axis=1)
    for point, expected in zip(points, predicted):
        owners = {int(k) for k, path in zip(classes, paths) if path.contains_point(point)}
        assert owners == {int(expected)}, (point, owners, expected)
    assert ax.get_xlim() == box[0] and ax.get_ylim() == box[1]
    assert any(c.get_gid() == "symnet-boundary" for c in ax.collections)


def test_the_saved_figure_is_one_page_of_its_size(moons, tmp_path):
    pdftoppm = require_tool("pdftoppm")
    fig = moons.plot(figsize=(3.3, 2.6))
    fig.savefig(tmp_path / "regions.pdf")
    fig.savefig(tmp_path / "regions.svg")
    out = subprocess.run([pdftoppm, "-png", "-r", "100", str(tmp_path / "regions.pdf"),
                          str(tmp_path / "page")], capture_output=True, text=True)
    assert out.returncode == 0
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1
    from PIL import Image

    with Image.open(pages[0]) as image:
        width, height = image.size
    assert abs(width - 330) <= 3 and abs(height - 260) <= 3
    assert (tmp_path / "regions.svg").read_text().lstrip().startswith("<?xml")


def test_a_one_input_figure_has_the_exact_breakpoints_and_the_target(keras):
    net = symnet.explain(symnet.examples.regressor_2x_plus_5())
    fig = net.plot((0, 20), target="2*x + 5", x=10)
    ax = fig.axes[0]
    breaks = [float(b) for b in net.breakpoints((0, 20))]
    marked = [line for line in ax.lines if line.get_marker() == "o" and len(line.get_xdata())]
    assert breaks and np.allclose(sorted(marked[0].get_xdata()), breaks)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "target $2 x + 5$" in labels and "breakpoints (exact)" in labels
    with pytest.raises(symnet.InvalidInputError, match="one or two inputs"):
        symnet.explain(symnet.examples.seed_mlp()).plot()


def test_plotting_leaves_pyplot_alone(tmp_path):
    script = ("import sys, symnet\n"
              "net = symnet.explain(symnet.examples.moons_path())\n"
              "net.plot().savefig(sys.argv[1])\n"
              "print('matplotlib.pyplot' in sys.modules)\n")
    out = subprocess.run([__import__("sys").executable, "-c", script, str(tmp_path / "f.pdf")],
                         capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False" and (tmp_path / "f.pdf").stat().st_size > 1000


def test_the_report_box_is_the_authors(moons):
    data = json.loads(moons.report("json", [0.3, 0.2], sections=["regions"],
                                   box=((-1, 2), (-1, 1))))
    assert data["regions"]["box"] == [[-1.0, 2.0], [-1.0, 1.0]]


# --- backpropagation --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gradient(keras):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="relu"),
                              keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    randomize(model, 11)
    return symnet.explain(model).gradient([[0.5, -1.0]], [[1.0, 0.0]], loss="mse")


def test_backpropagation_is_a_section_of_every_format(gradient, tmp_path):
    trace = gradient.trace()
    delta = np.asarray(trace.steps[0].delta.value, np.float64).reshape(-1)
    for fmt in ("latex", "html", "markdown", "mathml", "json", "text"):
        out = gradient.report(fmt)
        assert out, fmt
    data = json.loads(gradient.report("json"))["backprop"]
    assert data["loss"]["name"] == "mean_squared_error"
    np.testing.assert_allclose(np.ravel(data["deltas"][trace.steps[0].layer]), delta)
    root = ET.fromstring(gradient.report("mathml").encode())
    assert root.findall(".//formula[@name='backprop']")
    html = gradient._repr_html_()
    assert "&#x02202;" in html and "<table>" not in html.split("</p>")[0]
    body = gradient.report("latex", standalone=False, digits=4)
    assert r"\frac{\partial L}{\partial W_{3}}" in body
    for layout in ("article", "twocolumn"):
        log, _ = compile_fragment(body, layout, tmp_path / layout)
        assert not overfull(log), overfull(log)[:3]


def test_symnet_grad_writes_every_format(tmp_path, capsys):
    from symnet.cli import main

    model = str(symnet.examples.seed_regressor_path())
    common = ["grad", model, "--input", "10", "--target", "25", "--loss", "(t - y)^2/2"]
    assert main([*common, "--format", "latex", "--fragment", "--digits", "3"]) == 0
    body = capsys.readouterr().out
    assert r"\documentclass" not in body and r"\symnetdisplay{\delta_{1} = " in body
    assert main([*common, "--format", "html"]) == 0
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")
    assert main([*common, "--format", "markdown"]) == 0
    assert "## Backpropagation" in capsys.readouterr().out


# --- the documentation's paper --------------------------------------------------------------

def test_the_documented_paper_compiles(keras, tmp_path, monkeypatch):
    """docs/how-to/paper.md: its Python writes the fragments and the figure, and its LaTeX
    document compiles with them, with no overfull box."""
    part = (Path(__file__).resolve().parents[1] / "docs" / "how-to" / "paper.md").read_text(
        encoding="utf-8")
    code = re.search(r"```python\n(.*?)\n```", part, re.S).group(1)
    paper = re.search(r"<!-- file: paper.tex -->\n```latex\n(.*?)\n```", part, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "paper.md", "exec"), {})  # the page's own example, run as is
    (tmp_path / "paper.tex").write_text(paper, encoding="utf-8")
    require_tool("pdflatex")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                          "paper.tex"], cwd=tmp_path, capture_output=True, text=True,
                         errors="replace", timeout=300)
    log = (tmp_path / "paper.log").read_text(errors="replace")
    assert run.returncode == 0, log[-3000:]
    assert not overfull(log), overfull(log)[:3]
    assert (tmp_path / "paper.pdf").stat().st_size > 10_000
