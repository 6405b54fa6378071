"""The printer base, SymPy's way: settings in one ``_default_settings`` table (an unknown setting
is an error), and ``_print(obj)`` dispatching to ``_print_<Class>`` along the class's MRO (or to
the object's own method named by the printer's ``printmethod``). Every format is a subclass:
:class:`~symnet.report.text.TextReportPrinter`, ``LatexReportPrinter``, ``MarkdownPrinter``,
``MathMLPrinter``, ``HtmlPrinter``, ``JsonPrinter``.

Also what several printers share: numbers to the digits asked for, formulas in the report's
notation (:mod:`.notation`), listed arrays, matrices in LaTeX, the rows of "why this value" and
of the linear regions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import numpy as np
import sympy as sp

from ..errors import InvalidInputError
from ..escape import tex_text
from ..printing.latex import latex
from ..printing.numbers import check_digits, default_digits, number_latex, number_text
from ..printing.text import text
from .notation import CONVENTIONS, NUMBERINGS, Names, symbol_names

if TYPE_CHECKING:
    from ..analysis.explanation import Explanation, TraceStep
    from .model import ReportSettings
    from .sections import Explorer, FunctionPlot, RegionMap, Report, StructuralForm, Why

__all__ = ["DEFAULT_SETTINGS", "LinePrinter", "Listed", "RegionRow", "ReportPrinter",
           "GradientItem", "StepValues", "WhyRow", "backprop_head", "backprop_items",
           "breakable",
           "closed_terms", "counterexample_parts", "composition_latex",
           "composition_text", "finite", "law_comparison", "law_parts", "listed", "matrix_latex",
           "matrix_width", "number_text", "printer_settings", "region_rows", "shape_text",
           "shown_substitution", "step_values", "structural_note", "values_text", "why_rows"]

T = TypeVar("T")

DEFAULT_SETTINGS: dict[str, Any] = {
    "digits": None,
    "standalone": True,
    "headings": None,
    "max_rows": 6,
    "max_cols": 6,
    "max_terms_per_line": 2,
    "max_listed": 64,
    "max_json_values": 4096,
    "max_regions_listed": 12,
    "numbering": "layer",
    "symbols": None,
    "convention": "row",
}
"""What every printer can be told:

- ``digits``: significant digits of every number shown — weights, the hand calculation, the
  closed form, the laws (``None``: 7, what a float32 holds, or what
  :func:`symnet.set_printoptions` set);
- ``standalone``: a complete document (``False``: a fragment for the author's own document:
  LaTeX without preamble, HTML an element);
- ``headings``: the report's own section headings (``None``: in a complete document only);
- ``max_rows`` x ``max_cols``: the corner of a matrix shown when it is too large to show
  whole; ``max_terms_per_line``: terms per line of a closed form (Markdown, HTML);
  ``max_listed``: entries of an array listed; ``max_json_values``: weights the JSON carries as
  numbers; ``max_regions_listed``: linear regions listed one by one;
- ``numbering``: ``"layer"`` (``W_1, W_5``: the layer's position in the model) or
  ``"parameters"`` (``W^{(1)}, W^{(2)}``: counting only layers with parameters);
- ``symbols``: the author's names, ``{"dense": "A"}`` (see
  :func:`~symnet.report.notation.symbol_names`);
- ``convention``: ``"row"`` (``x W + b``, as Keras computes) or ``"column"`` (``W x + b``, every
  matrix the transpose of Keras' array).
"""


def printer_settings(settings: ReportSettings | None) -> dict[str, Any]:
    """The printer settings of a :class:`~symnet.report.ReportSettings` (``None``: defaults)."""
    if settings is None:
        return dict(DEFAULT_SETTINGS)
    return {**DEFAULT_SETTINGS, **{key: getattr(settings, key) for key in DEFAULT_SETTINGS
                                   if hasattr(settings, key)}}


#: Matrix expressions the column-vector convention can write (a product reversed, the rest
#: entry by entry or row by row); any other is refused by name.
_COLUMN_SAFE = frozenset({
    "MatrixSymbol", "MatMul", "MatAdd", "HadamardProduct", "HadamardPower", "EntrywisePower",
    "ElementwiseApplyFunction", "Entrywise", "Softmax", "LogSoftmax", "OneMatrix", "ZeroMatrix",
    "Transpose", "ImmutableDenseMatrix", "Standardize", "RMSScale", "ElementwiseMax",
    "ElementwiseMin"})


class ReportPrinter(Generic[T]):
    """Prints a report, its sections and the analysis records they hold, in one format."""

    format: ClassVar[str] = ""
    printmethod: ClassVar[str] = ""
    """The method a section may carry to print itself in this format (``_latex``...)."""
    _default_settings: ClassVar[Mapping[str, Any]] = DEFAULT_SETTINGS

    def __init__(self, settings: Mapping[str, Any] | None = None) -> None:
        given = dict(settings or {})
        unknown = sorted(set(given) - set(self._default_settings))
        if unknown:
            raise InvalidInputError(
                f"unknown setting {unknown[0]!r} for the {self.format} printer; its settings "
                f"are {', '.join(sorted(self._default_settings))}")
        self._settings: dict[str, Any] = {**self._default_settings, **given}
        digits = self._settings["digits"]
        try:
            self._digits = default_digits() if digits is None else check_digits(digits)
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from None
        if self._settings["numbering"] not in NUMBERINGS:
            raise InvalidInputError(f"numbering must be one of {', '.join(NUMBERINGS)}, "
                                    f"received {self._settings['numbering']!r}")
        if self._settings["convention"] not in CONVENTIONS:
            raise InvalidInputError(f"convention must be one of {', '.join(CONVENTIONS)}, "
                                    f"received {self._settings['convention']!r}")
        self._names = Names()
        self._column = self._settings["convention"] == "column"

    def _print(self, obj: Any) -> T:
        """``obj`` in this format: by its own ``printmethod``, else by the first
        ``_print_<Class>`` along its MRO; an object neither knows is an error naming it."""
        own = getattr(obj, self.printmethod, None) if self.printmethod else None
        if callable(own):
            return own(self)  # type: ignore[no-any-return]
        for cls in type(obj).__mro__:
            method = getattr(self, f"_print_{cls.__name__}", None)
            if method is not None:
                return method(obj)  # type: ignore[no-any-return]
        raise TypeError(f"the {self.format} printer cannot print a {type(obj).__name__}: it "
                        f"has no _print_{type(obj).__name__} method and the object no "
                        f"{self.printmethod} method")

    def doprint(self, obj: Any) -> str:
        raise NotImplementedError

    @property
    def standalone(self) -> bool:
        return bool(self._settings["standalone"])

    @property
    def headings(self) -> bool:
        """Whether the sections carry their own headings."""
        shown = self._settings["headings"]
        return self.standalone if shown is None else bool(shown)

    # --- notation -----------------------------------------------------------------------

    def _begin(self, report: Report) -> None:
        """Read the report's symbols: the names the settings give them, and (column-vector
        convention) whether every formula can be written so."""
        from .sections import Layers

        layers = [entry.layer for section in report.sections if isinstance(section, Layers)
                  for entry in section.entries]
        if not layers:
            return
        numbering, symbols = self._settings["numbering"], self._settings["symbols"]
        if numbering != "layer" or symbols:
            others = [*report.inputs, *report.outputs]
            self._names = symbol_names(layers, numbering, symbols, others)
        if self._column:
            for layer in layers:
                for node in sp.preorder_traversal(layer.formula.rhs):
                    if getattr(node, "is_Matrix", False) and \
                            type(node).__name__ not in _COLUMN_SAFE:
                        raise InvalidInputError(
                            f"convention='column': layer {layer.name!r} ({layer.kind}) "
                            f"computes {type(node).__name__}, which the column-vector "
                            f"convention cannot write; use convention='row'")

    def _tex(self, expr: Any) -> str:
        """A formula in LaTeX, in the report's notation and digits."""
        return latex(expr, digits=self._digits, symbol_names=self._names.latex,
                     convention=self._settings["convention"])

    def _txt(self, expr: Any) -> str:
        """A formula in plain text, in the report's notation and digits."""
        return text(expr, digits=self._digits, symbol_names=self._names.text,
                    convention=self._settings["convention"])

    def _shape(self, shape: Any) -> tuple[int, ...]:
        """An array's shape as the notation shows it (the column-vector convention: a matrix
        transposed)."""
        dims = tuple(int(d) for d in shape)
        return dims[::-1] if self._column and len(dims) == 2 else dims

    def _dims(self, symbol: Any, ndim: int | None = None) -> tuple[int, ...]:
        """A matrix symbol's dimensions as a paper states them: a vector (an array of
        ``ndim`` 1, or a row of values) by its length, a matrix transposed in the
        column-vector convention."""
        rows, cols = (int(d) for d in symbol.shape)
        if rows == 1 and ndim != 2:
            return (cols,)
        return (cols, rows) if self._column else (rows, cols)

    def _member(self, symbol: Any, ndim: int | None = None) -> str:
        """``W_1 \\in \\mathbb{R}^{2 \\times 8}``: a symbol and its dimensions, in LaTeX."""
        from .notation import dimension_latex

        return f"{self._tex(symbol)} \\in {dimension_latex(self._dims(symbol, ndim))}"

    def _oriented(self, value: Any) -> np.ndarray:
        """An array as the notation shows it (the column-vector convention: transposed)."""
        arr = np.asarray(value)
        return arr.T if self._column and arr.ndim == 2 else arr

    # --- numbers ------------------------------------------------------------------------

    def _value(self, v: float | None) -> str:
        """A number (``digits`` significant digits), as text."""
        return number_text(v, self._digits) if v is not None else "nan"

    def _value_latex(self, v: float | None) -> str:
        """A number (``digits`` significant digits), in LaTeX math."""
        return number_latex(v, self._digits) if v is not None else r"\mathrm{NaN}"

    def _region_rows(self, section: RegionMap) -> list[RegionRow]:
        return region_rows(section, self, self._settings["max_regions_listed"])

    def _listed(self, value: Any) -> Listed:
        return listed(value, self._settings["max_listed"])

    def _matrix_latex(self, value: Any, max_rows: int | None = None,
                      max_cols: int | None = None, shape: bool = False) -> str:
        """A matrix in LaTeX: whole, or its corners (``max_rows`` x ``max_cols``, by default
        the settings') with ``\\cdots``, ``\\vdots``, ``\\ddots`` (and, with ``shape``, its
        shape under the bracket when it is not whole)."""
        return matrix_latex(value, self._digits,
                            self._settings["max_rows"] if max_rows is None else max_rows,
                            self._settings["max_cols"] if max_cols is None else max_cols,
                            shape=shape)

    def _shown_matrix_latex(self, arr: np.ndarray, width: int) -> str:
        """A 2-D float array in LaTeX: whole when its widest row fits ``width`` characters
        (and it has at most 16 rows), else its corners with its shape."""
        rows, cols = arr.shape
        whole = rows <= 16 and cols <= width // 2 and matrix_width(arr, self._digits) <= width
        return self._matrix_latex(arr, rows, cols) if whole else self._matrix_latex(
            arr, shape=True)


class LinePrinter(ReportPrinter[list[str]]):
    """A printer whose output is lines of text."""

    def doprint(self, obj: Any) -> str:
        from .sections import Report

        if isinstance(obj, Report):
            self._begin(obj)
        return "\n".join(self._print(obj))

    def _print_Report(self, report: Report) -> list[str]:
        return [line for section in report.sections for line in self._print(section)]

    def _print_FunctionPlot(self, section: FunctionPlot) -> list[str]:
        return []  # drawn by the HTML printer only

    def _print_Explorer(self, section: Explorer) -> list[str]:
        return []  # an HTML page's interactive part


# --- what the printers share -------------------------------------------------------------

def finite(v: Any) -> float | None:
    """A number for strict JSON: ``None`` for NaN and infinities."""
    f = float(v)
    return f if math.isfinite(f) else None


def values_text(values: list[Any], digits: int = 7) -> str:
    """A flat list of numbers as text: ``-1.038261, 6.060466, ...``."""
    return ", ".join(number_text(v, digits) if v is not None else "nan" for v in values)


def shape_text(shape: Any) -> str:
    """A per-sample shape as Python writes a tuple: ``(16,)``, ``(3, 4)``."""
    shape = list(shape)
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


@dataclass(frozen=True)
class Listed:
    """The first entries of an array (flat, row-major), as a report lists them."""

    shape: tuple[int, ...]
    size: int
    values: tuple[float | None, ...]
    """Finite numbers; ``None`` for NaN and infinities."""
    truncated: bool

    def data(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "size": self.size, "values": list(self.values),
                "truncated": self.truncated}


def listed(value: Any, limit: int) -> Listed:
    """The first ``limit`` entries of an array."""
    flat = np.asarray(value, dtype=np.float64).reshape(-1)
    return Listed(tuple(int(d) for d in np.shape(value)), int(flat.size),
                  tuple(finite(v) for v in flat[:limit]), bool(flat.size > limit))


def _as_matrix(value: Any) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    return arr.reshape(1, -1) if arr.ndim <= 1 else arr.reshape(-1, arr.shape[-1])


def _pick(n: int, limit: int) -> list[int | None]:
    """The rows (or columns) a corner view shows: all of them, or the first and last few
    around ``None`` (the dots)."""
    if n <= limit:
        return list(range(n))
    head = max(1, limit // 2)
    tail = max(1, limit - head - 1)
    return [*range(head), None, *range(n - tail, n)]


def matrix_latex(value: Any, digits: int = 7, max_rows: int = 6, max_cols: int = 6, *,
                 shape: bool = False) -> str:
    """A matrix for people: whole when it has at most ``max_rows`` x ``max_cols`` entries,
    else its corners with ``\\cdots``, ``\\vdots``, ``\\ddots`` (and, with ``shape``, its
    shape written under the bracket). A vector is a row."""
    arr = _as_matrix(value)
    rows, cols = arr.shape
    lines = []
    for i in _pick(rows, max_rows):
        cells = []
        for j in _pick(cols, max_cols):
            if i is None and j is None:
                cells.append(r"\ddots")
            elif i is None:
                cells.append(r"\vdots")
            elif j is None:
                cells.append(r"\cdots")
            else:
                cells.append(number_latex(arr[i, j], digits))
        lines.append(" & ".join(cells))
    out = r"\begin{bmatrix}" + r" \\ ".join(lines) + r"\end{bmatrix}"
    if shape and (rows > max_rows or cols > max_cols):
        dims = np.shape(value)
        out += "_{" + r" \times ".join(str(int(d)) for d in dims) + "}"
    return out


def matrix_width(value: Any, digits: int = 7) -> int:
    """How many characters the widest row of a matrix takes when printed whole: each column
    as wide as its widest number, a space between columns."""
    arr = _as_matrix(value)
    if arr.size == 0:
        return 0
    widths = [max(len(number_text(v, digits)) for v in arr[:, j]) for j in range(arr.shape[1])]
    return sum(widths) + 2 * (len(widths) - 1)


@dataclass(frozen=True)
class WhyRow:
    """One row of "why this value": a label, and what it says as text and as LaTeX (text
    mode with inline math)."""

    label: str
    text: str
    latex: str


def why_rows(why: Why, p: ReportPrinter[Any]) -> list[WhyRow]:
    """The explanation as rows of a table: the value, the local law and where it holds, the
    active units per layer (inactive ones grouped), what forgetting the activations gives,
    the target's comparison, the dead units, the notes (numbers and formulas as printer
    ``p`` writes them)."""
    e: Explanation = why.explanation

    def n(v: Any) -> str:
        return p._value(None if v is None else float(v))

    def m(v: Any) -> str:
        return p._value_latex(None if v is None else float(v))

    value = finite(e.value)
    xs = [float(v) for v in e.x.reshape(-1)]
    x_text = ", ".join(n(v) for v in xs[:8]) + (", ..." if len(xs) > 8 else "")
    x_tex = r",\allowbreak\ ".join(m(v) for v in xs[:8]) + (r", \dots" if len(xs) > 8 else "")
    out_text, out_tex = p._txt(e.output), p._tex(e.output)
    which = ""
    if why.outputs > 1 and why.output_index is not None:
        which = (f" (the largest of the {why.outputs} outputs: class {why.output_index} "
                 f"counting from 0, as argmax gives)")
    rows = [WhyRow("output", f"{out_text} = {n(value)} at x = ({x_text}){which}",
                   f"${out_tex} = {m(value)}$ at $x = ({x_tex})$" + breakable(tex_text(which,
                                                                                    None)))]
    if e.local_law is not None:
        if isinstance(e.region, sp.Interval):
            low, high = (_bound(v) for v in (e.region.start, e.region.end))
            where_text = f"exact for {n(low)} <= x <= {n(high)}"
            where_latex = f"exact for ${m(low)} \\le x \\le {m(high)}$"
        else:
            count = len(e.region) if e.region is not None else 0
            where_text = where_latex = f"exact on a region bounded by {count} inequalities"
        label = "local law (of the logit)" if e.law_of_logits else "local law"
        head, left, constant = law_parts(e.local_law)
        if left:  # many inputs: the largest coefficients (the JSON has every one)
            sign = "-" if float(constant) < 0 else "+"
            law_txt = (f"{p._txt(head)} + ... ({left:,} smaller terms) {sign} "
                       f"{n(abs(float(constant)))}")
            law_tex = (rf"${out_tex} = {p._tex(head)} + \dots {sign} "
                       rf"{m(abs(float(constant)))}$ ({left:,} smaller terms left out)")
        else:
            law_txt, law_tex = p._txt(e.local_law), f"${out_tex} = {p._tex(e.local_law)}$"
        rows.append(WhyRow(label, f"{out_text} = {law_txt}, {where_text}",
                           f"{law_tex}, {where_latex}"))
    for layer, mask in e.active.items():
        flags = np.asarray(mask).reshape(-1)
        on = [i for i, a in enumerate(flags) if a]
        off = [i for i, a in enumerate(flags) if not a]

        def units(idx: list[int]) -> str:
            return ", ".join(map(str, idx[:32])) + (", ..." if len(idx) > 32 else "")

        line = f"{len(on)} of {len(flags)} units active" + (f": {units(on)}" if on else "") + \
            (f"; inactive (output 0 or constant): {units(off)}" if off else "")
        rows.append(WhyRow(layer, line, breakable(tex_text(line, limit=None))))
    w = e.without_activation
    if w is not None:
        off_by = None if value is None else float(w) - value
        sign = "" if off_by is None or off_by < 0 else "+"
        label = ("without the activations" if e.kept_activation is None else
                 f"without the hidden activations (the {e.kept_activation} kept)")
        rows.append(WhyRow(label, f"{n(w)}, off by {sign}{n(off_by)}",
                           f"${m(w)}$, off by ${sign}{m(off_by)}$"))
    if e.target is not None:
        t = f"{e.target} = {n(e.target_value)} at x; error {n(e.target_error)}"
        rows.append(WhyRow("target", t, tex_text(t, limit=None)))
        c = law_comparison(e)
        if c:
            slope, target_slope, intercept, target_intercept = c
            line = (f"slope {n(slope)} vs {n(target_slope)}, intercept "
                    f"{n(intercept)} vs {n(target_intercept)}")
            tex = (f"slope ${m(slope)}$ vs ${m(target_slope)}$, intercept ${m(intercept)}$ "
                   f"vs ${m(target_intercept)}$")
            rows.append(WhyRow("local law vs target", line, tex))
        if e.max_target_error is not None and e.domain is not None:
            start, end = e.domain
            line = (f"largest error on [{n(start)}, {n(end)}]: {n(e.max_target_error)} at "
                    f"x = {n(e.max_target_error_at)}")
            tex = (f"largest error on $[{m(start)}, {m(end)}]$: ${m(e.max_target_error)}$ "
                   f"at $x = {m(e.max_target_error_at)}$")
            rows.append(WhyRow("on the domain", line, tex))
    for layer, dead in e.dead_units.items():
        if len(dead):
            line = "units " + ", ".join(str(int(i)) for i in dead)
            rows.append(WhyRow(f"dead on the domain ({layer})", line, tex_text(line, limit=None)))
    for note in e.notes:
        rows.append(WhyRow("note", note, tex_text(note, limit=None)))
    return rows


def breakable(tex: str) -> str:
    """LaTeX text that may break after an underscore, a slash or a comma between digits, and
    inside a long word of an identifier, so that a narrow column wraps it."""
    import re

    def split(m: re.Match[str]) -> str:
        word = m.group(0)
        return r"\allowbreak{}".join(word[i:i + 8] for i in range(0, len(word), 8))

    tex = tex.replace(r"\_", r"\_\allowbreak{}").replace("/", r"/\allowbreak{}")
    tex = re.sub(r"(?<=\d),(?=\d)", r",\\allowbreak{}", tex)
    return re.sub(r"(?<![\\A-Za-z])[a-z]{13,}", split, tex)


def counterexample_parts(c: Mapping[str, Any]) -> tuple[Any, float, float]:
    """A verdict's counterexample (the input, the network's value, the formula's): the one
    place that reads it by its keys."""
    return c["input"], float(c["network"]), float(c["formula"])


def law_parts(law: Any, shown: int = 12) -> tuple[Any, int, Any]:
    """An affine law as (its terms shown, how many smaller ones are left out, its constant):
    in full (``0`` left out, the constant inside) up to ``shown`` inputs, else its ``shown``
    largest coefficients."""
    terms = sp.Add.make_args(law)
    if len(terms) <= shown + 1:
        return law, 0, sp.S.Zero
    constant = sum((t for t in terms if not t.free_symbols), sp.S.Zero)
    linear = sorted((t for t in terms if t.free_symbols),
                    key=lambda t: -abs(float(t.as_coeff_Mul()[0])))
    return sp.Add(*linear[:shown], evaluate=False), len(linear) - shown, constant


def law_comparison(e: Explanation) -> tuple[float, float, float, float] | None:
    """The local law's slope and intercept beside the target's (``None`` without an affine
    one-input target): the one place that reads the explanation's comparison by its keys."""
    c = e.law_versus_target
    if not c:
        return None
    return c["slope"], c["target_slope"], c["intercept"], c["target_intercept"]


def _bound(v: Any) -> float:
    """An end of a SymPy interval as a float (``±inf`` for ``±oo``)."""
    return float(v) if v.is_finite else (math.inf if v > 0 else -math.inf)


@dataclass(frozen=True)
class RegionRow:
    """One line about the linear regions: in words, and as LaTeX (text with inline math)."""

    text: str
    latex: str


def region_rows(section: RegionMap, p: ReportPrinter[Any], limit: int = 12) -> list[RegionRow]:
    """The linear regions in words: how many on which box, each class's share of it (a
    classifier), the one holding ``x`` with its law and corners, and (when at most ``limit``)
    every region's law — numbers and laws as printer ``p`` writes them."""
    from ..analysis.geometry import area

    (a, b), (c, d) = section.box
    i1, i2 = section.inputs
    output = section.output
    what_text = (f"the logit of {p._txt(output)} (before the softmax)" if section.logits
                 else p._txt(output))
    what_tex = (f"the logit of ${p._tex(output)}$ (before the softmax)" if section.logits
                else f"${p._tex(output)}$")
    box_text = f"[{p._value(a)}, {p._value(b)}] × [{p._value(c)}, {p._value(d)}]"
    box_tex = (f"$[{p._value_latex(a)}, {p._value_latex(b)}] \\times "
               f"[{p._value_latex(c)}, {p._value_latex(d)}]$")
    count = len(section.regions)
    rows = [RegionRow(f"{count} linear regions on {box_text} (exact: convex polygons with "
                      f"rational corners; on each, {what_text} is affine)",
                      f"{count} linear regions on {box_tex} (exact: convex polygons with "
                      f"rational corners; on each, {what_tex} is affine)")]
    if section.classes is not None:
        total = (b - a) * (d - c)
        shares: dict[int, float] = {}
        for cell, owner in section.classes:
            size = abs(area([(float(u), float(v)) for u, v in cell]))
            shares[owner] = shares.get(owner, 0.0) + size
        share = ", ".join(f"class {k} {100 * shares[k] / total:.1f}%" for k in sorted(shares))
        line = (f"predicted class by area of the box: {share} ({len(section.classes)} exact "
                f"cells; their borders are the decision boundary)")
        rows.append(RegionRow(line, tex_text(line, None)))

    def law(i: int) -> tuple[str, str]:
        a1, a2, b0 = (sp.Float(float(v)) for v in section.regions[i].law(section.output_index))
        expr = a1 * i1 + a2 * i2 + b0
        return (f"{p._txt(output)} = {p._txt(expr)}", f"{p._tex(output)} = {p._tex(expr)}")

    def corners(i: int) -> tuple[str, str]:
        points = section.regions[i].vertices
        return (", ".join(f"({p._value(float(u))}, {p._value(float(v))})" for u, v in points),
                ", ".join(f"$({p._value_latex(float(u))}, {p._value_latex(float(v))})$"
                          for u, v in points))

    def described(i: int, head: str) -> RegionRow:
        (law_text, law_tex), (c_text, c_tex) = law(i), corners(i)
        return RegionRow(f"{head}: {law_text}; corners {c_text}",
                         f"{head}: ${law_tex}$; corners {c_tex}")

    held = section.holding_x
    if held is not None:
        rows.append(described(held, f"x lies in region {held}"))
    if count <= limit:
        rows += [described(i, f"region {i}") for i in range(count)]
    return rows


@dataclass(frozen=True)
class StepValues:
    """The numbers of one step of the hand calculation as a report lists them."""

    inputs: tuple[tuple[Any, Listed], ...]
    """Each input's symbol and values."""
    pre: Listed | None
    """The values the activation receives, for a layer whose activation follows other ops."""
    activation: str | None
    argument: Any
    """The activation's argument in the formula (``x W_1 + b_1``), or ``None``."""
    output: Listed
    clipped: tuple[int, ...] | None
    """The units a piecewise-linear activation clips (``None``: no such activation)."""
    units: int
    """How many units the activation has."""


def step_values(step: TraceStep, limit: int) -> StepValues:
    """The listed values of a :class:`~symnet.analysis.explanation.TraceStep`."""
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

    value = np.asarray(step.value, np.float64)
    rhs = step.formula.rhs
    argument = rhs.expr if isinstance(rhs, ElementwiseApplyFunction) else None
    active = None if step.active is None else np.asarray(step.active).reshape(-1).astype(bool)
    return StepValues(
        inputs=tuple((symbol, listed(v, limit)) for v, symbol in zip(step.inputs,
                                                                      step.input_symbols)),
        pre=None if step.pre_activation is None else listed(step.pre_activation, limit),
        activation=step.activation, argument=argument, output=listed(value, limit),
        clipped=None if active is None else tuple(int(i) for i in np.flatnonzero(~active)),
        units=0 if active is None else int(active.size))


def structural_note(section: StructuralForm) -> str:
    """Why the structural form is said as a composition of the layers' formulas."""
    return (f"not written out: the network has {section.depth} layer calls, more than one "
            f"formula can show readably ({section.max_depth}); it is the composition of the "
            f"layers' formulas above, in order")


def composition_text(section: StructuralForm) -> str:
    """The structural form of a deep network as a composition, in plain text."""
    outputs = ", ".join(str(s) for s in section.outputs)
    inputs = ", ".join(str(s) for s in section.inputs[:3]) + \
        (", ..." if len(section.inputs) > 3 else "")
    return f"{outputs} = f_{section.depth}(... f_2(f_1({inputs})) ...)"


def composition_latex(section: StructuralForm) -> str:
    """The structural form of a deep network as a composition, in LaTeX."""
    return rf"f_{{{section.depth}}} \circ \cdots \circ f_{{2}} \circ f_{{1}}"


def shown_substitution(step: TraceStep) -> Any:
    """A trace step's formula with its numbers in, when it says more than the formula: some
    array of the layer was put in as numbers (arrays too large to read stay symbols, and a
    formula with only its constants put in repeats the formula line); else ``None``."""
    def arrays(expr: Any) -> set[Any]:
        return {a for a in expr.atoms(sp.MatrixSymbol)}

    substituted = step.substituted
    if substituted is None:
        return None
    left = arrays(substituted)
    before = arrays(step.formula.rhs)
    if before and left >= before:
        return None
    return substituted


@dataclass(frozen=True)
class GradientItem:
    """One quantity of backpropagation as a report shows it: ``lhs`` (``∂L/∂lhs`` when
    ``gradient``), its formula, the formula with the numbers put in, its value."""

    lhs: Any
    gradient: bool
    formula: Any
    substituted: Any
    value: Any
    note: str = ""


def backprop_head(section: Any) -> tuple[str, str, float, str]:
    """A backpropagation section's loss (its name, the precision, its value) and, for a
    sample of a batch, a sentence saying so."""
    gradient, trace = section.gradient, section.trace
    source = gradient if gradient is not None else trace
    value = float(gradient.loss if gradient is not None else trace.loss.loss.value)
    batch = "" if trace is None or trace.batch == 1 else (
        f" The hand calculation is sample {trace.sample} of a batch of {trace.batch}; "
        "each weight's gradient is summed over the batch.")
    return source.loss_name, source.precision, value, batch


def backprop_items(section: Any) -> list[tuple[str, list[GradientItem]]]:
    """A :class:`~symnet.report.sections.Backprop` section's quantities in reading order,
    grouped under a heading: the loss and its gradient at the outputs, then each layer from
    the output back (``∂L/∂h``, ``z``, ``f'(z)``, ``δ``, each weight's gradient, ``∂L/∂``
    its input)."""
    trace = section.trace
    if trace is None:
        return []

    def item(q: Any, note: str = "") -> GradientItem:
        return GradientItem(q.symbol, q.gradient, q.formula, q.substituted, q.value, note)

    loss = [GradientItem(trace.loss.loss.symbol, False, trace.loss.loss.formula, None,
                         trace.loss.loss.value)]
    for q, fused in zip(trace.loss.gradients, trace.loss.fused):
        loss.append(item(q, "δ at the logits: Keras computes the loss from them"
                         if fused else ""))
    groups = [("The loss", loss)]
    for step in trace.steps:
        items = [item(step.output_gradient)]
        if step.pre_activation is not None:
            items.append(item(step.pre_activation))
        if step.slope is not None:
            items.append(GradientItem(step.slope.formula, False, None, None, step.slope.value))
        items.append(item(step.delta))
        items += [item(q) for q in (*step.parameters, *step.input_gradient)]
        groups.append((f"{step.layer} ({step.kind})", items))
    return groups


def closed_terms(expr: Any) -> list[tuple[str, Any]]:
    """A closed form's terms as (sign, term) pairs: ``("", t0), ("+", t1), ("-", -t2)``."""
    out: list[tuple[str, Any]] = []
    for k, term in enumerate(sp.Add.make_args(expr)):
        if k == 0:
            out.append(("", term))
        elif term.could_extract_minus_sign():
            out.append(("-", -term))
        else:
            out.append(("+", term))
    return out
