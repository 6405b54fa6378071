"""The report as a typed document: frozen sections, built once by
:func:`symnet.report.build_report`, printed by one printer per format
(:mod:`symnet.report.printer`).

A section holds what the analyses found — SymPy formulas, numpy arrays, the analyses' own
records (:class:`~symnet.graph.LayerFormula`, :class:`~symnet.analysis.explanation.Trace`,
:class:`~symnet.analysis.explanation.Explanation`, :class:`~symnet.analysis.regions2d.Region`)
— and nothing printed: numbers are rounded, formulas written and lines broken by the printers.

Adding a section is one dataclass here (a subclass of :class:`Section`, with its ``name``) and
one ``_print_<Class>`` method per printer; a section defined elsewhere (a test, a plugin) may
instead carry one method per printer itself, named by the printer's ``printmethod``
(``_text``, ``_latex``, ``_markdown``, ``_mathml``, ``_html``, ``_json``), as SymPy's
expressions carry ``_latex``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import sympy as sp

    from ..analysis.backtrace import BackwardTrace
    from ..analysis.explanation import Explanation, Trace
    from ..analysis.gradients import Gradient
    from ..analysis.passes import PassResult
    from ..analysis.regions2d import Region
    from ..graph import LayerFormula
    from ..ops import Param
    from .model import ReportSettings

__all__ = ["SCHEMA", "SECTIONS", "Agreement", "Backprop", "ClosedForm", "Curve", "Explorer",
           "FunctionPlot", "HandCalculation", "LayerSection", "Layers", "Notation", "RegionMap",
           "RegionsOmitted", "Report", "Section", "Simplification", "SliderInput",
           "StructuralForm", "Summary", "Weight", "WeightsTable", "Why", "computed_by",
           "section_types"]

SCHEMA = "symnet.report/1"
"""The JSON report's schema (``docs/report-schema.md``)."""


SECTIONS = ("summary", "notation", "layers", "weights", "forms", "simplification", "plot",
            "regions", "trace", "why", "backprop", "agreement", "explorer")
"""The names of a report's parts: what ``net.report(..., sections=[...])`` picks (``layers``:
each layer's formula; ``weights``: each layer's table of arrays; ``forms``: the structural form
and the closed form, the simplification between them). A report prints them in its reading
order whatever order they are named in."""


class Section:
    """A part of a report. ``name`` is what a reader calls it (several classes may share one:
    the structural and the closed form are both ``"forms"``)."""

    name: ClassVar[str] = ""


def computed_by(framework: str) -> str:
    """Whose float32 arithmetic a network's numbers reproduce."""
    return {"keras": "Keras", "onnx": "ONNX Runtime"}.get(framework, "PyTorch")


def section_types() -> list[type[Section]]:
    """Every section class defined so far (subclasses included), in definition order."""
    found: list[type[Section]] = []
    todo = list(Section.__subclasses__())
    while todo:
        cls = todo.pop(0)
        if cls not in found:
            found.append(cls)
            todo.extend(cls.__subclasses__())
    return found


@dataclass(frozen=True)
class Summary(Section):
    """The table of layers: kind, output shape and parameter counts, with the totals."""

    name: ClassVar[str] = "summary"
    layers: tuple[LayerFormula, ...]

    @property
    def param_count(self) -> int:
        return sum(layer.param_count for layer in self.layers)

    @property
    def trainable_count(self) -> int:
        return sum(layer.trainable_count for layer in self.layers)

    @property
    def non_trainable_count(self) -> int:
        return sum(layer.non_trainable_count for layer in self.layers)


@dataclass(frozen=True)
class Notation(Section):
    """What the symbols are and the functions the formulas use that are not elementary, each
    defined once: the input and output (their dimensions), the layers' outputs, softmax, σ,
    the entrywise operations."""

    name: ClassVar[str] = "notation"
    input_symbols: tuple[sp.MatrixSymbol, ...]
    """The symbols the formulas use for the inputs (``x``)."""
    output_symbols: tuple[sp.MatrixSymbol, ...]
    input_shapes: tuple[tuple[int, ...], ...]
    output_shapes: tuple[tuple[int, ...], ...]
    functions: tuple[Any, ...] = ()
    """:class:`~symnet.report.notation.FunctionDefinition`\\ s."""
    hidden: bool = False
    """Whether the formulas name layer outputs ``h_k``."""


@dataclass(frozen=True)
class Weight:
    """One array of a layer as ``model.layers[i].get_weights()[index]`` gives it (``index``
    ``None`` for numbers from the layer's config)."""

    param: Param
    index: int | None
    keras_name: str
    """``layer/name``."""


@dataclass(frozen=True)
class WeightsTable(Section):
    """A layer's arrays: the table (index, name, symbol, shape, trainable, meaning) and their
    numbers."""

    name: ClassVar[str] = "weights"
    rows: tuple[Weight, ...]
    framework: str = "keras"
    """Who named the arrays: ``keras`` (indexed as ``get_weights()`` gives them), ``onnx`` or
    ``pytorch`` (named as the file or the ``state_dict`` names them)."""

    @property
    def name_heading(self) -> str:
        """The heading of the arrays' names."""
        return {"keras": "Keras name", "onnx": "ONNX name"}.get(self.framework, "PyTorch name")


@dataclass(frozen=True)
class LayerSection(Section):
    """One Keras layer: its formula, the definitions of its notation, its note, its weights."""

    name: ClassVar[str] = "layer"
    layer: LayerFormula
    keras_index: int | None
    """Its index in ``model.layers`` (``None`` when symnet was given no model)."""
    weights: WeightsTable | None = None
    """The layer's arrays (a table without rows for a layer without arrays); ``None`` when the
    report leaves the weights out."""
    formula: bool = True
    """Whether the layer's formula is shown (``False``: only its weights were asked for)."""


@dataclass(frozen=True)
class Layers(Section):
    name: ClassVar[str] = "layers"
    entries: tuple[LayerSection, ...]


@dataclass(frozen=True)
class StructuralForm(Section):
    """The whole network over its parameter symbols; for a network deeper than one formula
    can show (``expr`` ``None``), the composition of its ``depth`` layer formulas."""

    name: ClassVar[str] = "forms"
    expr: sp.Basic | None
    depth: int
    """The network's layer calls."""
    max_depth: int
    """The depth beyond which the form is said as a composition."""
    inputs: tuple[sp.Symbol, ...] = ()
    outputs: tuple[sp.Symbol, ...] = ()
    lhs: Any = None
    """What the form computes, as the formulas name it (``y``), for one output."""


@dataclass(frozen=True)
class Simplification(Section):
    """The passes at inference on a chain network, in order."""

    name: ClassVar[str] = "simplification"
    passes: tuple[PassResult, ...]


@dataclass(frozen=True)
class ClosedForm(Section):
    """The outputs as explicit formulas of the inputs, or why they are not shown."""

    name: ClassVar[str] = "forms"
    outputs: tuple[tuple[sp.Symbol, sp.Expr], ...] = ()
    omitted: str | None = None
    """Why the closed form is not printed (``outputs`` then empty)."""
    estimate: int | None = None
    """With ``omitted``: its estimated size in SymPy nodes, when known."""


@dataclass(frozen=True)
class Curve:
    """A one-input piecewise-linear network's function on an interval, for the plot."""

    x_name: str
    y_name: str
    grid: np.ndarray
    values: np.ndarray
    breakpoints: np.ndarray
    break_values: np.ndarray
    target: np.ndarray | None = None
    target_label: str = ""
    sample: float | None = None
    sample_value: float | None = None
    target_at_sample: float | None = None


@dataclass(frozen=True)
class FunctionPlot(Section):
    """A one-input piecewise-linear network's function, with its breakpoints (HTML draws it)."""

    name: ClassVar[str] = "plot"
    curve: Curve


@dataclass(frozen=True)
class RegionMap(Section):
    """A two-input piecewise-linear network's exact linear regions on a box."""

    name: ClassVar[str] = "regions"
    box: tuple[tuple[float, float], tuple[float, float]]
    inputs: tuple[sp.Symbol, sp.Symbol]
    output: sp.Symbol
    """The output whose laws are given (a classifier: its logit)."""
    output_index: int
    regions: tuple[Region, ...]
    holding_x: int | None
    """The region that holds ``x``."""
    x: tuple[float, float] | None
    logits: bool
    """A classifier: the laws are those of its logits (before the softmax)."""
    classes: tuple[tuple[tuple[tuple[Fraction, Fraction], ...], int], ...] | None = None
    """For a classifier: the exact cells of each predicted class (corners, class)."""


@dataclass(frozen=True)
class RegionsOmitted(Section):
    """The linear regions of a two-input network, not computed: why."""

    name: ClassVar[str] = "regions"
    box: tuple[tuple[float, float], tuple[float, float]]
    note: str


@dataclass(frozen=True)
class SliderInput:
    name: str
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Explorer(Section):
    """The interactive explorer (HTML): its controls, and the network as its script reads it
    (a JSON document for the script)."""

    name: ClassVar[str] = "explorer"
    inputs: tuple[SliderInput, ...]
    network: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class HandCalculation(Section):
    """The hand calculation at one input: every layer's formula, its numbers, its values."""

    name: ClassVar[str] = "trace"
    input: np.ndarray = field(repr=False)
    """The input, flat."""
    output: np.ndarray = field(repr=False)
    """The outputs (float32, as the framework computes them), flat."""
    trace: Trace = field(repr=False)
    computes: str = "Keras"
    """Whose float32 arithmetic the numbers are (``Keras``, ``ONNX Runtime``, ``PyTorch``)."""


@dataclass(frozen=True)
class Why(Section):
    """Why one output has its value."""

    name: ClassVar[str] = "why"
    explanation: Explanation
    output_index: int | None = None
    """The output explained (``None``: not said)."""
    outputs: int = 1
    """How many outputs the network has."""


@dataclass(frozen=True)
class Backprop(Section):
    """Backpropagation at one input and its target: the loss, then layer by layer from the
    output back ``∂L/∂h``, ``z``, ``f'(z)``, ``δ``, each weight's gradient and ``∂L/∂``
    the layer's input (formula, numbers put in, value), and every weight's gradient."""

    name: ClassVar[str] = "backprop"
    gradient: Gradient | None = field(repr=False)
    """The gradients (``None``: a backward trace shown alone)."""
    trace: BackwardTrace | None = field(default=None, repr=False)
    """The hand calculation for one sample (``None``: the gradients only)."""


@dataclass(frozen=True)
class Agreement(Section):
    """The largest difference from ``model.predict`` on the samples shown."""

    name: ClassVar[str] = "agreement"
    samples: int
    max_abs_diff_below: float | None
    """A power of ten above the largest difference (0 when identical)."""
    text: str


@dataclass(frozen=True)
class Report:
    """A whole report: the model's name, its inputs and outputs, and the sections in reading
    order."""

    model: str
    inputs: tuple[sp.Symbol, ...]
    outputs: tuple[sp.Symbol, ...]
    input_shapes: tuple[tuple[int, ...], ...]
    output_shapes: tuple[tuple[int, ...], ...]
    sections: tuple[Section, ...]
    framework: str = "keras"
    """Where the network was read from: ``keras``, ``onnx`` or ``pytorch``."""
    outputs_left_out: Mapping[str, str] | None = None
    """Outputs of the file that are not the network's (an ONNX classifier's label), each with
    why."""
    settings: ReportSettings | None = None
    """The :class:`~symnet.report.ReportSettings` it was built with (printers take their
    defaults from it)."""

    def section(self, cls: type[Section]) -> Section | None:
        """The first section of class ``cls``, or ``None``."""
        return next((s for s in self.sections if isinstance(s, cls)), None)

    @property
    def data(self) -> dict[str, Any]:
        """The report as the JSON printer writes it (plain data; see
        ``docs/report-schema.md``)."""
        from ..display import show

        data: dict[str, Any] = show(self, "data")
        return data
