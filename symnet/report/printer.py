"""The printer base, SymPy's way: settings in one ``_default_settings`` table (an unknown setting
is an error), and ``_print(obj)`` dispatching to ``_print_<Class>`` along the class's MRO (or to
the object's own method named by the printer's ``printmethod``). Every format is a subclass:
:class:`~symnet.report.text.TextReportPrinter`, ``LatexReportPrinter``, ``MarkdownPrinter``,
``MathMLPrinter``, ``HtmlPrinter``, ``JsonPrinter``.

Also what several printers share: numbers as a reader checks them, listed arrays, matrices in
LaTeX, the rows of "why this value" and the sentences about the linear regions.
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
from ..printing.layout import visible_length

if TYPE_CHECKING:
    from ..analysis.explanation import Explanation, TraceStep
    from .model import ReportSettings
    from .sections import Explorer, FunctionPlot, RegionMap, Report, StructuralForm, Why

__all__ = ["DEFAULT_SETTINGS", "LinePrinter", "Listed", "ReportPrinter", "StepValues", "WhyRow",
           "closed_lines", "composition_latex", "composition_text", "finite", "law_comparison",
           "listed", "matrix_latex", "number_text", "printer_settings", "region_lines",
           "shape_text", "step_values", "structural_note", "substituted_latex", "values_text",
           "why_rows"]

T = TypeVar("T")

DEFAULT_SETTINGS: dict[str, Any] = {
    "digits": 4,
    "value_digits": 7,
    "max_rows": 6,
    "max_cols": 6,
    "max_terms_per_line": 2,
    "max_listed": 64,
    "max_json_values": 4096,
    "max_regions_listed": 12,
}
"""What every printer can be told: digits of formulas and matrices (``digits``) and of the
numbers a reader checks (``value_digits``: weights, the trace; float32 holds about 7); the
corner of a large matrix shown (``max_rows`` x ``max_cols``); terms per line of a closed form;
how many entries of an array are listed; how many the JSON carries as numbers; how many linear
regions are listed one by one."""


def printer_settings(settings: ReportSettings | None) -> dict[str, Any]:
    """The printer settings of a :class:`~symnet.report.ReportSettings` (``None``: defaults)."""
    if settings is None:
        return dict(DEFAULT_SETTINGS)
    return {key: getattr(settings, key) for key in DEFAULT_SETTINGS}


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

    # --- numbers ------------------------------------------------------------------------

    def _value(self, v: float | None) -> str:
        """A number a reader checks (``value_digits`` significant digits)."""
        return number_text(v, self._settings["value_digits"])

    def _listed(self, value: Any) -> Listed:
        return listed(value, self._settings["max_listed"])

    def _matrix_latex(self, value: Any) -> str:
        return matrix_latex(value, self._settings["digits"], self._settings["max_rows"],
                            self._settings["max_cols"])

    def _closed_lines(self, expr: Any) -> list[str]:
        """A closed form in LaTeX, rounded to ``digits``, a few terms a line."""
        return closed_lines(expr, self._settings["digits"], self._settings["max_terms_per_line"])


class LinePrinter(ReportPrinter[list[str]]):
    """A printer whose output is lines of text."""

    def doprint(self, obj: Any) -> str:
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


def number_text(v: float | None, digits: int = 7) -> str:
    """A number as a reader checks it: ``25.00466``, ``-1.038261``, ``nan``."""
    if v is None:
        return "nan"
    out = f"{v:.{digits}g}"
    return "0" if out == "-0" else out


def values_text(values: list[Any], digits: int = 7) -> str:
    """A flat list of numbers as text: ``-1.038261, 6.060466, ...``."""
    return ", ".join(number_text(v, digits) for v in values)


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


def matrix_latex(value: Any, digits: int = 4, max_rows: int = 6, max_cols: int = 6) -> str:
    """A matrix for people: small in full, large with ``\\cdots``, ``\\vdots``, ``\\ddots``."""
    arr = np.asarray(value, dtype=np.float64)
    arr = arr.reshape(1, -1) if arr.ndim <= 1 else arr.reshape(-1, arr.shape[-1])
    rows, cols = arr.shape

    def pick(n: int, limit: int) -> list[int | None]:
        if n <= limit:
            return list(range(n))
        head = limit // 2
        return [*range(head), None, *range(n - (limit - head - 1), n)]

    lines = []
    for i in pick(rows, max_rows):
        cells = []
        for j in pick(cols, max_cols):
            if i is None and j is None:
                cells.append(r"\ddots")
            elif i is None:
                cells.append(r"\vdots")
            elif j is None:
                cells.append(r"\cdots")
            else:
                cells.append(f"{float(arr[i, j]):.{digits}g}")
        lines.append(" & ".join(cells))
    return r"\begin{bmatrix}" + r" \\ ".join(lines) + r"\end{bmatrix}"


@dataclass(frozen=True)
class WhyRow:
    """One row of "why this value": a label, and what it says as text and as LaTeX (text
    mode with inline math)."""

    label: str
    text: str
    latex: str


def _latex_number(shown: str) -> str:
    """A printed number in math mode: infinities as ``\\infty``."""
    return {"inf": r"\infty", "-inf": r"-\infty"}.get(shown, shown)


def why_rows(why: Why, digits: int = 7) -> list[WhyRow]:
    """The explanation as rows of a table: the value, the local law and where it holds, the
    active units per layer (inactive ones grouped), what forgetting the activations gives,
    the target's comparison, the dead units, the notes."""
    from ..analysis.forms import round_floats

    e: Explanation = why.explanation

    def n(v: Any) -> str:
        return number_text(None if v is None else float(v), digits)

    value = finite(e.value)
    xs = [float(v) for v in e.x.reshape(-1)]
    x = ", ".join(n(v) for v in xs[:8]) + (", ..." if len(xs) > 8 else "")
    out = str(e.output)
    which = f" (output {why.output_index} of {why.outputs}, the largest)" \
        if why.outputs > 1 and why.output_index is not None else ""
    rows = [WhyRow("output", f"{out} = {n(value)} at x = {x}{which}",
                   f"${tex_text(out)} = {n(value)}$ at $x = {x}$" + tex_text(which))]
    if e.local_law is not None:
        import sympy as sp

        if isinstance(e.region, sp.Interval):
            low, high = (n(_bound(v)) for v in (e.region.start, e.region.end))
            where_text = f"exact for {low} <= x <= {high}"
            where_latex = f"exact for ${_latex_number(low)} \\le x \\le {_latex_number(high)}$"
        else:
            count = len(e.region) if e.region is not None else 0
            where_text = where_latex = f"exact on a region bounded by {count} inequalities"
        law = round_floats(e.local_law, 7)
        rows.append(WhyRow("local law", f"{out} = {law}, {where_text}",
                           f"${tex_text(out)} = {latex(law)}$, {where_latex}"))
    for layer, mask in e.active.items():
        flags = np.asarray(mask).reshape(-1)
        on = [i for i, a in enumerate(flags) if a]
        off = [i for i, a in enumerate(flags) if not a]

        def units(idx: list[int]) -> str:
            return ", ".join(map(str, idx[:32])) + (", ..." if len(idx) > 32 else "")

        line = f"{len(on)} of {len(flags)} units active" + (f": {units(on)}" if on else "") + \
            (f"; inactive (output 0 or constant): {units(off)}" if off else "")
        rows.append(WhyRow(layer, line, tex_text(line, limit=None)))
    w = e.without_activation
    if w is not None:
        off_by = None if value is None else float(w) - value
        sign = "" if off_by is None or off_by < 0 else "+"
        rows.append(WhyRow("without the activations", f"{n(w)}, off by {sign}{n(off_by)}",
                           f"${n(w)}$, off by $ {sign}{n(off_by)}$"))
    if e.target is not None:
        t = f"{e.target} = {n(e.target_value)} at x; error {n(e.target_error)}"
        rows.append(WhyRow("target", t, tex_text(t, limit=None)))
        c = law_comparison(e)
        if c:
            slope, target_slope, intercept, target_intercept = c
            line = (f"slope {n(slope)} vs {n(target_slope)}, intercept "
                    f"{n(intercept)} vs {n(target_intercept)}")
            rows.append(WhyRow("local law vs target", line, tex_text(line, limit=None)))
        if e.max_target_error is not None and e.domain is not None:
            start, end = e.domain
            line = (f"largest error on [{n(start)}, {n(end)}]: {n(e.max_target_error)} at "
                    f"x = {n(e.max_target_error_at)}")
            rows.append(WhyRow("on the domain", line, tex_text(line, limit=None)))
    for layer, dead in e.dead_units.items():
        if len(dead):
            line = "units " + ", ".join(str(int(i)) for i in dead)
            rows.append(WhyRow(f"dead on the domain ({layer})", line, tex_text(line, limit=None)))
    for note in e.notes:
        rows.append(WhyRow("note", note, tex_text(note, limit=None)))
    return rows


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


def region_lines(section: RegionMap, digits: int = 7, max_listed: int = 12) -> list[str]:
    """The linear regions in words: how many on which box, the one holding ``x`` with its law
    and corners, and (when few) every region's law."""
    from ..analysis.geometry import area

    def n(v: float) -> str:
        return number_text(v, digits)

    (a, b), (c, d) = section.box
    i1, i2 = (str(s) for s in section.inputs)
    output = str(section.output)
    what = f"the logit of {output} (before the softmax)" if section.logits else output
    out = [f"{len(section.regions)} linear regions on [{n(a)}, {n(b)}] × [{n(c)}, {n(d)}] "
           f"(exact: convex polygons with rational corners; on each, {what} is affine)"]
    if section.classes is not None:
        total = (b - a) * (d - c)
        shares: dict[int, float] = {}
        for cell, owner in section.classes:
            size = abs(area([(float(u), float(v)) for u, v in cell]))
            shares[owner] = shares.get(owner, 0.0) + size
        out.append("predicted class by area of the box: " + ", ".join(
            f"class {k} {100 * shares[k] / total:.1f}%" for k in sorted(shares)) +
            f" ({len(section.classes)} exact cells; their borders are the decision boundary)")

    def law(i: int) -> str:
        a1, a2, b0 = (number_text(finite(v)) for v in section.regions[i].law(section.output_index))
        return f"{output} = {a1}·{i1} {_signed(a2)}·{i2} {_signed(b0)}"

    def corners(i: int) -> str:
        return ", ".join(f"({number_text(float(u), 6)}, {number_text(float(v), 6)})"
                         for u, v in section.regions[i].vertices)

    held = section.holding_x
    if held is not None:
        out.append(f"x lies in region {held}: {law(held)}; corners {corners(held)}")
    if len(section.regions) <= max_listed:
        out += [f"region {i}: {law(i)}; corners {corners(i)}" for i in range(len(section.regions))]
    return out


def _signed(shown: str) -> str:
    """A printed number after the terms before it: ``+ 0.5``, ``- 0.5``."""
    return f"- {shown[1:]}" if shown.startswith("-") else f"+ {shown}"


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


def substituted_latex(step: TraceStep, digits: int) -> str | None:
    """A trace step's formula with its numbers in (rounded to ``digits``), or ``None`` when it
    is too wide to read (the numbers are listed instead)."""
    from ..analysis.forms import round_floats

    shown = latex(sp.Eq(step.formula.lhs, round_floats(step.substituted, digits),
                        evaluate=False))
    return None if visible_length(shown) > 120 else shown


def closed_lines(expr: Any, digits: int, per_line: int) -> list[str]:
    """A closed form in LaTeX, rounded to ``digits``, ``per_line`` terms a line."""
    from ..analysis.forms import round_floats

    signed = []
    for k, term in enumerate(sp.Add.make_args(round_floats(expr, digits))):
        shown = latex(term)
        if k == 0:
            signed.append(shown)
        elif term.could_extract_minus_sign():
            signed.append(f"- {latex(-term)}")
        else:
            signed.append(f"+ {shown}")
    return [" ".join(signed[i:i + per_line]) for i in range(0, len(signed), per_line)]
