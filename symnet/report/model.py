"""The report's builder: :func:`build_report` runs every analysis a report shows, once, and
returns the typed :class:`~symnet.report.sections.Report` that every printer prints.

Deterministic (no timestamps, stable order); nothing here is printed: formulas stay SymPy
expressions, numbers stay numbers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..analysis.piecewise import Piece, domain_of, network_pieces
from ..errors import ExpressionTooLarge
from ..escape import terminal_text
from .sections import (
    SCHEMA,
    Agreement,
    ClosedForm,
    Curve,
    FunctionPlot,
    HandCalculation,
    Layers,
    LayerSection,
    Notation,
    RegionMap,
    RegionsOmitted,
    Report,
    Section,
    Simplification,
    StructuralForm,
    Summary,
    Weight,
    WeightsTable,
    Why,
    computed_by,
)

if TYPE_CHECKING:
    from ..graph import Graph
    from ..network import Network

__all__ = ["SCHEMA", "ReportSettings", "build_report", "chosen_sections", "is_classifier",
           "predicted_output", "sample_rows"]


@dataclass(frozen=True)
class ReportSettings:
    """What a report computes and shows. The builder reads the limits of what it computes
    (``max_region_units``, ``max_structural_depth``, ``max_closed_form``); the printers take
    the rest as their settings (:data:`symnet.report.printer.DEFAULT_SETTINGS`): the
    significant digits of every number shown (``None``: the default, 7 — what a float32
    holds — or what :func:`symnet.set_printoptions` set), the corners of a large matrix, how
    much of an array is listed in full."""

    digits: int | None = None
    max_rows: int = 6
    max_cols: int = 6
    max_terms_per_line: int = 2
    max_listed: int = 64
    """Arrays (weights, a layer's values) with at most this many entries are listed in full;
    larger ones show their first ``max_listed`` entries and say so."""
    max_json_values: int = 4096
    """Weights with at most this many entries carry their numbers in the JSON."""
    max_region_units: int = 64
    """Two-input networks: the linear regions are drawn when at most this many units bend."""
    max_regions_listed: int = 12
    """... and listed in a table (exact vertices) when there are at most this many."""
    max_structural_depth: int = 40
    """Networks of more layer calls have their structural form said as a composition."""
    max_closed_form: int = 2500
    """The closed form is printed only when its estimated size (SymPy nodes) is at most this:
    beyond, no reader can use it, and the structural form and the trace show the
    computation."""
    box: Any = None
    """Two-input networks: the box ``((x1_low, x1_high), (x2_low, x2_high))`` of the linear
    regions (default: around ``x``, ``x_i ± 2·max(1, |x_i|)``; without ``x``, ``[-3, 3]²``)."""


def _only_dropped(sections: Any) -> bool:
    parts = sections.split(",") if isinstance(sections, str) else list(sections)
    return bool(parts) and all(str(p).strip().startswith("-") for p in parts)


def chosen_sections(sections: Any, x: Any, interactive: bool = False) -> tuple[str, ...]:
    """The section names a report holds: ``sections`` (names of :data:`SECTIONS`, checked),
    or by default every part the input allows (the hand calculation and ``why`` need ``x``;
    the explorer ``interactive``); names each after a ``-`` (``"-agreement"``): the default
    without them (the agreement with ``model.predict`` left out: no Keras imported)."""
    from ..errors import InvalidInputError
    from .sections import SECTIONS

    if isinstance(sections, str):
        sections = [part.strip() for part in sections.split(",") if part.strip()]
    if sections and all(isinstance(n, str) and n.startswith("-") for n in sections):
        for name in sections:
            if name[1:] not in SECTIONS:
                raise InvalidInputError(f"sections: unknown section "
                                        f"{terminal_text(name[1:], 80)!r}; the sections are "
                                        f"{', '.join(SECTIONS)}")
        return tuple(n for n in chosen_sections(None, x, interactive)
                     if "-" + n not in sections)
    if sections is None:
        skip = {"backprop"} | ({"trace", "why"} if x is None else set()) | (
            set() if interactive else {"explorer"})
        return tuple(name for name in SECTIONS if name not in skip)
    if isinstance(sections, str):
        sections = [part.strip() for part in sections.split(",") if part.strip()]
    names = []
    for name in sections:
        if name not in SECTIONS:
            raise InvalidInputError(f"sections: unknown section {terminal_text(name, 80)!r}; "
                                    f"the sections are {', '.join(SECTIONS)}")
        names.append(name)
    if not names:
        raise InvalidInputError(f"sections: name at least one of {', '.join(SECTIONS)}")
    if x is None:
        needs = [n for n in names if n in ("trace", "why")]
        if needs:
            raise InvalidInputError(f"sections: {' and '.join(needs)} need an input x")
    if "backprop" in names:
        raise InvalidInputError("sections: backpropagation is a gradient's report: "
                                "net.gradient(x, target, loss=...).report(format)")
    if "explorer" in names and not interactive:
        raise InvalidInputError("sections: the explorer is the interactive HTML page's "
                                "(interactive=True)")
    return tuple(n for n in SECTIONS if n in names)


def is_classifier(net: Network) -> bool:
    """A classifier: one output vector of several entries made by a softmax or a sigmoid."""
    from ..ops.activations import Elementwise, Softmax

    graph = net.graph
    if len(graph.outputs) != 1 or int(np.prod(net.output_shapes[0])) < 2:
        return False
    node = graph.producer(graph.outputs[0])
    while node is not None and node.op.identity:
        node = graph.producer(node.inputs[0])
    if node is None:
        return False
    if isinstance(node.op, Softmax):
        return not node.op.log
    return isinstance(node.op, Elementwise) and node.op.fn.func.__name__ == "Sigmoid"


def predicted_output(net: Network, value: np.ndarray) -> int:
    """The output ``why`` explains by default: the predicted class of a classifier (its
    largest output), else output 0."""
    flat = np.asarray(value, np.float64).reshape(-1)
    if is_classifier(net) and np.all(np.isfinite(flat)):
        return int(np.argmax(flat))
    return 0


def build_report(net: Network, x: Any = None, settings: ReportSettings | None = None,
                 target: Any = None, domain: Any = None, output: int | None = None,
                 interactive: bool = False, sections: Any = None) -> Report:
    """Run every analysis a report shows, once (``output``: the output ``why`` explains, by
    default the predicted class of a classifier, else 0; ``interactive``: also the data of the
    HTML explorer; ``sections``: only these parts, by name — see
    :data:`~symnet.report.sections.SECTIONS` — and only their analyses run)."""
    from ..analysis.explanation import why

    settings = settings or ReportSettings()
    chosen = chosen_sections(sections, x, interactive)
    graph = net.graph
    framework = getattr(net, "framework", "keras")
    pieces = None
    if len(graph.features) == 1 and graph.piecewise_linear and (
            {"plot", "why", "explorer"} & set(chosen)):
        pieces = network_pieces(graph, domain)
    built: list[tuple[int, Section]] = []  # (place in the reading order, section)
    wanted = set(chosen)
    if "summary" in wanted:
        built.append((0, Summary(tuple(net.layers))))
    if "notation" in wanted:
        built.append((1, _notation(net)))
    curve = None
    if pieces is not None and ({"plot", "explorer"} & set(chosen)):
        curve = _curve(graph, pieces, x, target, domain)
    if "explorer" in wanted:
        from .explorer import explorer_section

        low = high = None
        if domain is not None:
            low, high = domain_of(graph, domain)
        elif curve is not None:
            low, high = float(curve.grid[0]), float(curve.grid[-1])
        built.append((2, explorer_section(net, x, low, high)))
    if "layers" in wanted or "weights" in wanted:
        built.append((3, _layers(net, formulas="layers" in wanted, weights="weights" in wanted)))
    if "forms" in wanted:
        built += [(4, _structural(net, settings)), (6, _closed_form(net, settings))]
    if "simplification" in wanted:
        passes = _simplification(net, domain)
        if passes is not None:
            built.append((5, passes))
    if "plot" in wanted and curve is not None:
        built.append((7, FunctionPlot(curve)))
    if x is not None and ({"trace", "why", "regions"} & set(chosen)):
        result = net.evaluate(x, "float32")
        value = np.concatenate([np.ravel(np.asarray(r, np.float64)) for r in
                                (result if isinstance(result, list) else [result])])
        if output is None:
            output = predicted_output(net, value)
        if "trace" in wanted:
            flat = np.concatenate([np.ravel(np.asarray(a, np.float64)) for a in
                                   (x if len(net.input_shapes) > 1 else [x])])
            built.append((9, HandCalculation(flat, value.reshape(-1), net.trace(x),
                                             computed_by(framework))))
        if "why" in wanted:
            explanation = why(graph, x, target, output, domain, pieces=pieces,
                              computed_as=net.computed_as)
            built.append((10, Why(explanation, output, int(value.size))))
    if "regions" in wanted:
        regions = _regions(net, x, output if x is not None and output is not None else 0,
                           settings)
        if regions is not None:
            built.append((8, regions))
        elif sections is not None and not _only_dropped(sections):
            from ..errors import InvalidInputError

            raise InvalidInputError(
                f"sections: the linear regions are drawn for networks of two inputs whose "
                f"layers are piecewise linear (a classifier: up to its softmax); this one has "
                f"{len(graph.features)} input(s)")
    if "agreement" in wanted:
        agreement = _agreement(net, x)
        if agreement is not None:
            built.append((11, agreement))
    built.sort(key=lambda pair: pair[0])  # the reading order
    return Report(model=net.name, inputs=tuple(net.inputs), outputs=tuple(net.outputs),
                  input_shapes=tuple(tuple(s) for s in net.input_shapes),
                  output_shapes=tuple(tuple(s) for s in net.output_shapes),
                  sections=tuple(section for _, section in built),
                  framework=framework,
                  outputs_left_out=dict(getattr(net, "dropped_outputs", {})) or None,
                  settings=settings)


def _notation(net: Network) -> Notation:
    """The symbols of the inputs and outputs and the functions to define."""
    from .notation import function_definitions

    exprs = [layer.formula for layer in net.layers]
    graph = net.graph
    return Notation(tuple(graph.symbols[k] for k in graph.inputs),
                    tuple(graph.symbols[k] for k in graph.outputs),
                    tuple(tuple(s) for s in net.input_shapes),
                    tuple(tuple(s) for s in net.output_shapes),
                    tuple(function_definitions(exprs)),
                    hidden=len(net.graph.calls) > 1)


def _layers(net: Network, formulas: bool = True, weights: bool = True) -> Layers:
    """Each layer with its index in ``model.layers`` and its arrays as ``get_weights()``
    numbers them (a network from ONNX or PyTorch: as the file names them, ``fc1.weight``);
    ``formulas``, ``weights``: whether each layer's formula, its arrays are shown."""
    keras_index = {name: i for i, name in enumerate(getattr(net, "keras_layer_names", ()))}
    framework = getattr(net, "framework", "keras")
    keras = framework == "keras"
    entries = []
    for layer in net.layers:
        index = iter(range(len(layer.params)))
        rows = tuple(Weight(p, next(index) if p.weight and keras else None,
                            f"{layer.name}/{p.name}" if keras else p.name)
                     for p in layer.params)
        if not formulas and not rows:
            continue  # only the weights were asked for: a layer without arrays has none
        entries.append(LayerSection(layer, keras_index.get(layer.name),
                                    WeightsTable(rows, framework) if weights else None,
                                    formula=formulas))
    return Layers(tuple(entries))


def _curve(graph: Graph, pieces: list[Piece], x: Any, target: Any, domain: Any) -> Curve:
    """The network on ``domain`` (default: around its breakpoints and ``x``)."""
    from ..analysis.explanation import target_function
    from ..backends import FloatBackend

    points = np.array([float(p.low) for p in pieces[1:]])
    sample = None if x is None else float(np.ravel(np.asarray(x, dtype=np.float64))[0])
    if domain is not None:
        low, high = domain_of(graph, domain)
    else:
        span = [*points.tolist(), *([] if sample is None else [sample])] or [0.0]
        low, high = min(span) - 2.0, max(span) + 2.0
    inside = points[(points >= low) & (points <= high)]
    grid = np.union1d(np.linspace(low, high, 801), inside)

    def evaluate(xs: np.ndarray) -> np.ndarray:
        values = graph.run(FloatBackend(np.float64), graph.batch(xs.reshape(-1, 1)))
        return graph.output_values(values)[:, 0]

    target_values, label, at_sample = None, "", None
    if target is not None:
        shown, fn = target_function(graph, target)
        target_values, label = fn(grid.reshape(-1, 1)), f"target {shown}"
        if sample is not None:
            at_sample = float(np.ravel(fn(np.array([[sample]])))[0])
    sample_value = None if sample is None else float(evaluate(np.array([sample]))[0])
    return Curve(str(graph.features[0]), str(graph.targets[0]), grid, evaluate(grid), inside,
                 evaluate(inside) if inside.size else inside, target_values, label, sample,
                 sample_value, at_sample)


def _structural(net: Network, settings: ReportSettings) -> StructuralForm:
    """The structural form, or for a network deeper than a reader can follow in one formula
    (and than SymPy's printers handle in reasonable time: they walk each subformula at every
    level), the composition of the layers' formulas, said as such."""
    depth = len(net.graph.calls)
    expr = net.structural_form() if depth <= settings.max_structural_depth else None
    graph = net.graph
    lhs = graph.symbols[graph.outputs[0]] if len(graph.outputs) == 1 else None
    return StructuralForm(expr, depth, settings.max_structural_depth, tuple(net.inputs),
                          tuple(net.outputs), lhs)


def _closed_form(net: Network, settings: ReportSettings) -> ClosedForm:
    """The closed form when a person can read it; otherwise why it is not shown."""
    from ..analysis.forms import estimate_size

    bad = [layer.name for layer in net.layers for p in layer.params
           if np.issubdtype(p.value.dtype, np.floating) and not np.all(np.isfinite(p.value))]
    if bad:
        return ClosedForm(omitted=f"not printed: the weights of {', '.join(bad)} hold NaN or "
                                  f"infinite numbers, so no formula of numbers is meaningful.")
    estimate = estimate_size(net.graph)
    if estimate > settings.max_closed_form:
        return ClosedForm(omitted=f"not printed: it would have about {estimate:,} SymPy nodes, "
                                  f"more than a reader can use (the reports print closed forms "
                                  f"of at most {settings.max_closed_form:,}); the structural "
                                  f"form above and the trace show the computation.",
                          estimate=estimate)
    try:
        exprs = net.closed_form()
    except ExpressionTooLarge as exc:
        return ClosedForm(omitted=str(exc), estimate=exc.estimate)
    return ClosedForm(outputs=tuple(zip(net.outputs, exprs)))


def _agreement(net: Network, x: Any) -> Agreement | None:
    """Largest |symnet − model.predict| on the samples shown, as a power-of-ten bound (so that
    the report reads the same on every machine). A network read from its file without Keras
    has Keras load the file now: the agreement is always with Keras' own reading."""
    from ..errors import SymnetError

    if getattr(net, "reference", None) is not None:
        return _reference_agreement(net, x)
    try:
        model = getattr(net, "model", None)
    except SymnetError as exc:
        return Agreement(0, None, f"Keras could not load the model, so agreement with "
                                  f"model.predict was not measured "
                                  f"({terminal_text(str(exc), 200)})")
    if model is None:
        return None
    if x is None:
        samples = sample_rows(net)
    else:
        parts = x if len(net.input_shapes) > 1 else [x]
        samples = [np.asarray(a, np.float32).reshape((1, *shape))
                   for a, shape in zip(parts, net.input_shapes, strict=True)]
    ours = net.evaluate(samples if len(samples) > 1 else samples[0])
    try:
        keras_out = model.predict(samples if len(samples) > 1 else samples[0], verbose=0)
    except Exception as exc:  # Keras can refuse to run a model it loaded (e.g. odd names)
        plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(exc))  # Keras colours its messages
        reason = " ".join("".join(c for c in plain if c.isprintable() or c.isspace())
                          .split())[:160]
        return Agreement(0, None, f"model.predict could not run, so agreement was not "
                                  f"measured ({type(exc).__name__}: {reason})")
    pairs = zip(ours if isinstance(ours, list) else [ours],
                keras_out if isinstance(keras_out, list) else [keras_out])
    worst = max(float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
                for a, b in pairs)
    bound = 10.0 ** math.ceil(math.log10(worst)) if worst > 0 else 0.0
    count = int(samples[0].shape[0])
    return Agreement(count, bound, ("identical to model.predict" if worst == 0 else
                                    f"largest difference from model.predict: below {bound:.0e}")
                     + f" (on {count} sample{'s' if count > 1 else ''})")


def _reference_agreement(net: Network, x: Any) -> Agreement:
    """The largest |symnet − the framework| (ONNX Runtime, the module's forward), as a
    power-of-ten bound."""
    reference = net.reference
    if x is None:
        samples = sample_rows(net)
    else:
        samples = [np.asarray(a, np.float32).reshape((1, *a.shape[1:])) for a in
                   net.graph.sample(x)]
    try:
        theirs = reference(samples)
    except Exception as exc:  # the framework's own error, whatever it is
        return Agreement(0, None, f"{reference.name} could not run, so agreement was not "
                                  f"measured ({type(exc).__name__}: "
                                  f"{terminal_text(str(exc), 160)})")
    ours = net.evaluate(samples if len(samples) > 1 else samples[0])
    ours = ours if isinstance(ours, list) else [ours]
    worst = max(float(np.max(np.abs(np.asarray(a, np.float64).reshape(len(b), -1) -
                                    np.asarray(b, np.float64).reshape(len(b), -1))))
                for a, b in zip(ours, theirs))
    bound = 10.0 ** math.ceil(math.log10(worst)) if worst > 0 else 0.0
    n = int(samples[0].shape[0])
    return Agreement(n, bound, (f"identical to {reference.name}" if worst == 0 else
                                f"largest difference from {reference.name}: below {bound:.0e}")
                     + f" (on {n} sample{'s' if n > 1 else ''})")


def sample_rows(net: Network, count: int = 8, seed: int = 0) -> list[np.ndarray]:
    """Rows a report evaluates when it is given no input, one array per input of the network:
    random normal numbers (float32), and for an input that indexes a table (``Embedding``),
    random whole indices inside the table."""
    rng = np.random.default_rng(seed)
    rows = []
    for key, shape in zip(net.graph.inputs, net.input_shapes):
        size = _table_size(net.graph, key)
        if size is None:
            rows.append(rng.normal(size=(count, *shape)).astype(np.float32))
        else:
            rows.append(rng.integers(0, size, size=(count, *shape)).astype(np.float32))
    return rows


def _table_size(graph: Graph, key: str) -> int | None:
    """The fewest rows of the tables that the tensor ``key`` indexes (through identities),
    or ``None`` when it indexes none."""
    from ..ops.embedding import Lookup

    sizes, todo, seen = [], [key], set()
    while todo:
        tensor = todo.pop()
        for node in graph.readers(tensor):
            if isinstance(node.op, Lookup):
                sizes.append(int(node.op.table.shape[0]))
            elif node.op.identity and node.output not in seen:
                seen.add(node.output)
                todo.append(node.output)
    return min(sizes) if sizes else None


def _regions(net: Network, x: Any, output: int, settings: ReportSettings
             ) -> RegionMap | RegionsOmitted | None:
    """A two-input piecewise-linear network's exact linear regions on a box around ``x``
    (``[-3, 3]²`` without one): the polygons, each law, and the region holding ``x``. ``None``
    for other networks; a note instead when the regions cannot be found within the report's
    bounds."""
    from ..analysis.regions2d import regions2d
    from ..errors import InvalidInputError, UnsupportedLayerError

    graph = net.graph
    classifier = is_classifier(net) and not graph.piecewise_linear
    if len(graph.features) != 2 or len(graph.inputs) != 1 or not (
            graph.piecewise_linear or classifier):
        return None
    point = None if x is None else np.ravel(np.asarray(x, np.float64))
    box: tuple[tuple[float, float], tuple[float, float]]
    if settings.box is not None:
        from ..analysis.regions2d import checked_box

        box = checked_box(settings.box)
    elif point is None:
        box = ((-3.0, 3.0), (-3.0, 3.0))
    else:
        (a, b), (c, d) = ((float(v - 2 * max(1.0, abs(v))), float(v + 2 * max(1.0, abs(v))))
                          for v in point)
        box = ((a, b), (c, d))
    units = sum(int(np.prod(c.layer.output_shape)) for c in graph.calls
                if not all(op.affine for op in c.layer.ops))
    if units > settings.max_region_units:
        return RegionsOmitted(box, (
            f"the linear regions are not drawn: the network has {units} units that bend, more "
            f"than the report follows ({settings.max_region_units}); net.regions2d(box) "
            f"computes them"))
    try:
        regions = regions2d(graph, box, logits=classifier)
    except (UnsupportedLayerError, InvalidInputError) as exc:
        if classifier:
            return None  # not piecewise linear before its softmax: nothing exact to draw
        return RegionsOmitted(box, f"the linear regions are not drawn: {exc}")
    classes = None
    if classifier:
        from ..analysis.regions2d import class_cells

        classes = tuple(class_cells(regions))
    holding = None
    if point is not None:
        holding = next((i for i, region in enumerate(regions) if _inside(
            [[float(u), float(v)] for u, v in region.vertices], point)), None)
    return RegionMap(box=box, inputs=(graph.features[0], graph.features[1]),
                     output=graph.targets[output], output_index=output,
                     regions=tuple(regions), holding_x=holding,
                     x=None if point is None else (float(point[0]), float(point[1])),
                     logits=classifier, classes=classes)


def _inside(vertices: list[list[float]], point: np.ndarray) -> bool:
    """Whether ``point`` lies in the convex polygon (counter-clockwise), edges included."""
    n = len(vertices)
    for i in range(n):
        (x1, y1), (x2, y2) = vertices[i], vertices[(i + 1) % n]
        if (x2 - x1) * (point[1] - y1) - (y2 - y1) * (point[0] - x1) < -1e-12:
            return False
    return True


def _simplification(net: Network, domain: Any = None) -> Simplification | None:
    """The passes, before -> after, for a chain network (``None`` when it branches); with a
    ``domain``, units constant on it are removed too."""
    from ..errors import UnsupportedLayerError

    try:
        results = net.simplify(domain)
    except UnsupportedLayerError:
        return None
    return Simplification(tuple(results))
