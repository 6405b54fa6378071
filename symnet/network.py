"""``explain(model)`` -> :class:`Network`: the layers as formulas, composed and evaluated."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from . import compose
from .errors import InvalidInputError, UnsupportedLayerError
from .escape import safe_identifier, terminal_text
from .explanation import Explanation, Trace, active_units, build_trace, why
from .ir import GraphNode, LayerFormula
from .layers import convert_layer
from .load import KerasGraph, load_model, read_graph
from .numeric import Backend, ExactBackend, FloatBackend, SymbolicBackend
from .piecewise import LinearizedBackend, Piece, interval, network_pieces
from .symbolic import matrix_shape

__all__ = ["Network", "explain"]

PRECISIONS = ("float32", "float64", "exact")
REPORT_SUFFIXES = {".tex": "latex", ".pdf": "pdf", ".html": "html", ".htm": "html",
                   ".md": "markdown", ".json": "json", ".mml": "mathml", ".txt": "text"}


def explain(model: Any, *, input_names: Sequence[str] | None = None,
            output_names: Sequence[str] | None = None) -> Network:
    """Read a Keras model and turn every layer into its exact formula.

    Args:
        model: a ``keras.Model`` (Sequential or functional), or a path to a ``.keras`` or
            ``.h5`` file, loaded with Keras' safe mode.
        input_names: names of the input features, one per feature in row-major order across
            the model's inputs (default ``x`` for one feature, else ``x_1 ... x_n``).
        output_names: names of the outputs likewise (default ``y`` or ``y_1 ... y_m``).

    Returns:
        The :class:`Network`.

    Raises:
        ModelLoadError: the file is missing, unreadable or not a Keras model.
        UnsupportedLayerError: a layer (``Lambda``, custom, or an unsupported option) has no
            exact converter; the message names it and lists what is supported.
    """
    keras_model = load_model(model)
    return Network(keras_model, read_graph(keras_model), input_names, output_names)


def _names(given: Sequence[str] | None, count: int, stem: str, what: str) -> tuple[sp.Symbol, ...]:
    if given is None:
        names = [stem] if count == 1 else [f"{stem}_{i}" for i in range(1, count + 1)]
    else:
        names = [str(n) for n in given]
        if len(names) != count:
            raise InvalidInputError(f"expected {count} {what} name(s), received {len(names)}: "
                                    f"{names}")
        if len(set(names)) != len(names):
            raise InvalidInputError(f"{what} names must be distinct, received {names}")
        bad = [n for n in names if not safe_identifier(n)]
        if bad:
            raise InvalidInputError(
                f"{what} names must be ASCII identifiers of at most 64 characters (a letter, "
                f"then letters, digits or _), so that formulas read them back; received "
                f"{terminal_text(bad[0], limit=80)!r}")
    return tuple(sp.Symbol(n, real=True) for n in names)


class Network:
    """A Keras model as mathematics. Build it with :func:`symnet.explain`."""

    def __init__(self, model: Any, graph: KerasGraph, input_names: Sequence[str] | None,
                 output_names: Sequence[str] | None) -> None:
        self.name: str = model.name
        self.model = model
        """The Keras model this network was read from."""
        self._graph = graph
        n_in = sum(math.prod(s) for s in graph.input_shapes)
        n_out = sum(math.prod(s) for s in graph.output_shapes)
        self.inputs = _names(input_names, n_in, "x", "input")
        self.outputs = _names(output_names, n_out, "y", "output")

        symbols: dict[str, sp.MatrixSymbol] = {}
        scalars: dict[str, tuple[sp.Symbol, ...]] = {}
        start = 0
        for i, (key, shape) in enumerate(zip(graph.inputs, graph.input_shapes)):
            name = "x" if len(graph.inputs) == 1 else f"x^({i + 1})"
            symbols[key] = sp.MatrixSymbol(name, *matrix_shape(shape))
            scalars[key] = self.inputs[start:start + math.prod(shape)]
            start += math.prod(shape)

        numbering = {}
        for layer in graph.layers:
            if type(layer).__name__ != "InputLayer":
                numbering[id(layer)] = len(numbering) + 1
        converted: dict[int, LayerFormula] = {}
        calls: dict[int, int] = {}
        nodes: list[GraphNode] = []
        for node in graph.nodes:
            layer = node.layer
            if type(layer).__name__ == "InputLayer":
                if id(layer) not in converted and any(layer is m for m in graph.layers):
                    converted[id(layer)] = convert_layer(
                        layer, 0, list(node.input_shapes), node.output_shape,
                        (symbols[node.output],), symbols[node.output],
                        scalars=scalars.get(node.output))
                continue
            k = numbering[id(layer)]
            out_name = "y" if graph.outputs == (node.output,) else f"h_{k}"
            calls[id(layer)] = calls.get(id(layer), 0) + 1
            if calls[id(layer)] > 1:  # a shared layer: one formula, one output symbol per call
                out_name = f"{out_name}^({calls[id(layer)]})"
            symbols[node.output] = sp.MatrixSymbol(out_name, *matrix_shape(node.output_shape))
            ins = tuple(symbols[key] for key in node.inputs)
            if id(layer) not in converted:
                converted[id(layer)] = convert_layer(
                    layer, k, list(node.input_shapes), node.output_shape, ins,
                    symbols[node.output])
            nodes.append(GraphNode(converted[id(layer)], node.inputs, node.output))

        self.layers: tuple[LayerFormula, ...] = tuple(
            converted[id(layer)] for layer in graph.layers if id(layer) in converted)
        self._nodes = tuple(nodes)
        self._input_symbols = {key: symbols[key] for key in graph.inputs}
        self._scalars = scalars
        self._backends: dict[str, Backend] = {}
        self._weights: dict[tuple[str, str], dict[str, Any]] = {}

    # --- counts -----------------------------------------------------------------------------

    @property
    def param_count(self) -> int:
        return sum(layer.param_count for layer in self.layers)

    @property
    def trainable_count(self) -> int:
        return sum(layer.trainable_count for layer in self.layers)

    @property
    def non_trainable_count(self) -> int:
        return sum(layer.non_trainable_count for layer in self.layers)

    @property
    def input_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Per-sample input shapes (without the batch axis)."""
        return self._graph.input_shapes

    @property
    def output_shapes(self) -> tuple[tuple[int, ...], ...]:
        return self._graph.output_shapes

    def layer(self, name: str) -> LayerFormula:
        """The :class:`LayerFormula` of the layer with this Keras name."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer named {name!r}; layers: {[lay.name for lay in self.layers]}")

    # --- forms ------------------------------------------------------------------------------

    def structural_form(self) -> Any:
        """The whole network over parameter symbols (``W_1``, ``b_1``, ``gamma_2``...), no numbers.

        Returns one SymPy matrix expression of the input matrix ``x`` (a ``Tuple`` of them for a
        model with several outputs).
        """
        return compose.structural_form(self._nodes, self._input_symbols, self._graph.outputs)

    def expression_size(self) -> int:
        """Estimated SymPy nodes of :meth:`closed_form`, from the shapes alone."""
        return compose.estimate_size(self._nodes, self._graph.inputs, self._graph.outputs,
                                     self._graph.output_shapes)

    def closed_form(self, simplify: bool = True, *, max_size: int = compose.DEFAULT_MAX_SIZE
                    ) -> sp.Matrix:
        """The outputs (an m×1 ``Matrix``) as explicit expressions of the input symbols.

        The trained float32 numbers are substituted (as SymPy ``Float``\\ s that hold them
        exactly); ReLU appears as ``Max``. ``simplify`` expands products into sums (a bounded
        rewrite, never ``sympy.simplify``).

        Raises:
            ExpressionTooLarge: the estimated size exceeds ``max_size``; nothing is built.
        """
        arrays = [np.array(list(self._scalars[key]), dtype=object).reshape((1,) + shape)
                  for key, shape in zip(self._graph.inputs, self._graph.input_shapes)]
        return compose.closed_form(
            self._nodes, self._graph.inputs, arrays, self._graph.outputs,
            self._graph.output_shapes, self._layer_weights, simplify=simplify, max_size=max_size)

    def closed_form_function(self, *, max_size: int = compose.DEFAULT_MAX_SIZE) -> Any:
        """The closed form compiled to numpy (``lambdify`` with common subexpressions
        eliminated): ``f(*inputs)`` gives the outputs, one per row."""
        return compose.lambdify(self.inputs, list(self.closed_form(max_size=max_size)),
                                cse=True)

    # --- numbers ----------------------------------------------------------------------------

    def _backend(self, precision: str) -> Backend:
        if precision not in PRECISIONS:
            raise InvalidInputError(f"precision must be one of {PRECISIONS}, received "
                                    f"{precision!r}")
        if precision not in self._backends:
            self._backends[precision] = (ExactBackend() if precision == "exact"
                                         else FloatBackend(getattr(np, precision)))
        return self._backends[precision]

    def _layer_weights(self, backend: Backend, layer: LayerFormula) -> dict[str, Any]:
        if isinstance(backend, SymbolicBackend):
            return {p.name: backend.weight(p.value) for p in layer.params if p.symbol is not None}
        key = (backend.name, layer.name)
        if key not in self._weights:
            self._weights[key] = {p.name: backend.weight(p.value)
                                  for p in layer.params if p.symbol is not None}
        return self._weights[key]

    def _batch(self, x: Any, precision: str) -> list[np.ndarray]:
        shapes = self._graph.input_shapes
        parts = list(x) if len(shapes) > 1 and isinstance(x, (list, tuple)) else [x]
        if len(parts) != len(shapes):
            raise InvalidInputError(f"expected {len(shapes)} input arrays, received {len(parts)}")
        batches = []
        for part, shape in zip(parts, shapes):
            try:
                arr = np.asarray(part, dtype=object if precision == "exact" else np.float64)
            except (TypeError, ValueError) as exc:
                dims = ", ".join(map(str, shape))
                raise InvalidInputError(f"expected numbers for an input of shape (None, {dims}), "
                                        f"received {part!r}") from exc
            if arr.shape == shape or (arr.ndim == 0 and math.prod(shape) == 1):
                arr = arr.reshape((1,) + shape)
            elif shape == (1,) and arr.ndim == 1:
                arr = arr.reshape(-1, 1)
            if arr.shape[1:] != shape:
                raise InvalidInputError(
                    f"expected input of shape (None, {', '.join(map(str, shape))}), received an "
                    f"array of shape {arr.shape}")
            batches.append(arr)
        return batches

    def evaluate(self, x: Any, precision: str = "float32") -> Any:
        """The network's output for ``x``, shaped like ``model.predict(x)``.

        Args:
            x: a batch ``(n, *input_shape)``, or one sample (``input_shape``, or a plain number
                for a one-feature input); a list of arrays for a model with several inputs.
            precision: ``"float32"`` reproduces Keras' own arithmetic; ``"float64"`` is the same
                formula in double precision; ``"exact"`` computes with exact rationals from the
                stored float32 weights (functions such as ``exp`` and ``sqrt`` to 50 digits)
                and returns SymPy numbers (``Rational`` when the result is exact, else a
                30-digit ``Float``).
        """
        backend = self._backend(precision)
        if isinstance(backend, ExactBackend):
            backend.inexact = False
        values = self._run(backend, self._batch(x, precision))
        outs = [backend.finish(values[key]) for key in self._graph.outputs]
        return outs[0] if len(outs) == 1 else outs

    def _run(self, backend: Backend, arrays: list[Any]) -> dict[str, Any]:
        """Every tensor's value: the forward pass of each layer call, in execution order."""
        values = {key: backend.inputs(arr) for key, arr in zip(self._graph.inputs, arrays)}
        for node in self._nodes:
            backend.layer = node.layer.name
            values[node.output] = node.layer.forward(
                backend, [values[k] for k in node.inputs], self._layer_weights(backend, node.layer))
        return values

    # --- one sample: the hand calculation and the local law ---------------------------------

    def _one_sample(self, x: Any) -> list[np.ndarray]:
        arrays = self._batch(x, "float64")
        if any(a.shape[0] != 1 for a in arrays):
            raise InvalidInputError(f"expected one input sample, received a batch of "
                                    f"{arrays[0].shape[0]}")
        return arrays

    def trace(self, x: Any) -> Trace:
        """The hand calculation for one sample: each layer's formula, with numbers, and value.

        Values are computed in float32 as Keras does, so the last step equals ``predict``.
        Steps of layers with a piecewise-linear activation say which units are clipped
        (``TraceStep.active``).
        """
        arrays = self._one_sample(x)
        values = self._run(self._backend("float32"), arrays)
        return build_trace(arrays[0][0] if len(arrays) == 1 else [a[0] for a in arrays],
                           self._nodes, values, active_units(self, x))

    def _require_piecewise_linear(self, what: str) -> None:
        for node in self._nodes:
            if not node.layer.piecewise_linear:
                raise UnsupportedLayerError(
                    f"{what} needs a piecewise-linear network; layer {node.layer.name!r} "
                    f"({node.layer.kind}, {node.layer.constants.get('activation', 'nonlinear')}) "
                    "is not piecewise linear", layer=node.layer.name, kind=node.layer.kind)

    def _linearize(self, x: Any, require: bool = True
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, LinearizedBackend]:
        if require:
            self._require_piecewise_linear("the local affine law")
        arrays = self._one_sample(x)
        x0 = np.concatenate([a.reshape(-1) for a in arrays])
        n = x0.size
        rows = np.vstack([x0, x0 + np.eye(n)])
        backend = LinearizedBackend()
        parts, start = [], 0
        for shape in self._graph.input_shapes:
            size = math.prod(shape)
            parts.append(rows[:, start:start + size].reshape((n + 1,) + shape))
            start += size
        values = self._run(backend, parts)
        out = np.concatenate([values[k].reshape(n + 1, -1) for k in self._graph.outputs], axis=1)
        a = (out[1:] - out[0]).T
        return a, out[0] - a @ x0, x0, backend

    def local_affine(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(A, b)`` with ``f(x') = A x' + b`` on the linear region that contains ``x``.

        ``A`` has shape (outputs, inputs), both counted as ``net.outputs`` / ``net.inputs``.
        For piecewise-linear networks only (``UnsupportedLayerError`` otherwise).
        """
        a, b, _, _ = self._linearize(x)
        return a, b

    def _domain(self, domain: Any) -> tuple[float, float]:
        if len(self.inputs) != 1:
            raise InvalidInputError(f"piecewise forms need a network with one input; this one "
                                    f"has {len(self.inputs)}")
        if domain is None:
            return -np.inf, np.inf
        try:
            low, high = (float(v) for v in domain)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"domain must be a pair of numbers (low, high), received "
                                    f"{domain!r}") from exc
        if not low < high:
            raise InvalidInputError(f"domain must have low < high, received {domain!r}")
        return low, high

    def pieces(self, domain: Any = None, exact: bool = False) -> list[Piece]:
        """The linear pieces of a one-input piecewise-linear network on ``domain``.

        Found in float64 (a sweep over the closed-form breakpoints when only one layer is
        piecewise linear, else a walk along the input line region by region); with ``exact``,
        each piece's law and ends are then recomputed in exact rational arithmetic from the float32
        weights (``Fraction``\\ s; ends outside the domain are ``±inf``).
        """
        return network_pieces(self, domain, exact)

    def breakpoints(self, domain: Any = None, exact: bool = True) -> list[Any]:
        """Where the slope or intercept of a one-input network changes, in increasing order:
        exact SymPy ``Rational``\\ s (``exact=False``: float64 ``Float``\\ s, faster)."""
        pieces = self.pieces(domain, exact=exact)
        number = sp.Rational if exact else sp.Float
        return [number(p.low) for p in pieces[1:]]

    def piecewise(self, domain: Any = None, output: int = 0, exact: bool = True
                  ) -> sp.Piecewise:
        """The network (output ``output``) as a SymPy ``Piecewise`` of affine pieces in ``x``,
        equal to it on ``domain`` (default: all reals); exact rationals unless ``exact=False``."""
        x = self.inputs[0]
        number = sp.Rational if exact else sp.Float
        pieces = self.pieces(domain, exact=exact)
        args = [(number(p.slope[output]) * x + number(p.intercept[output]),
                 x <= number(p.high)) for p in pieces[:-1]]
        last = pieces[-1]
        args.append((number(last.slope[output]) * x + number(last.intercept[output]), True))
        return sp.Piecewise(*args)

    @property
    def is_piecewise_linear(self) -> bool:
        """Whether every layer is affine or piecewise linear in its input."""
        return all(node.layer.piecewise_linear for node in self._nodes)

    def _outputs_flat(self, backend: Backend, arrays: list[Any]) -> np.ndarray:
        values = self._run(backend, arrays)
        return np.concatenate([np.asarray(values[k], dtype=np.float64).reshape(-1)
                               for k in self._graph.outputs])

    def why(self, x: Any, target: Any = None, output: int = 0, domain: Any = None
            ) -> Explanation:
        """Why output ``output`` has its value at ``x``.

        Args:
            x: one input sample.
            target: what the network was meant to compute: a callable of the input, a SymPy
                expression of ``net.inputs``, or a string such as ``"2*x + 5"`` (read by the
                safe formula parser; never evaluated as Python).
            output: which output (an index into ``net.outputs``).
            domain: ``(low, high)`` for a one-input network: where dead units and the largest
                error against ``target`` are looked for (default: all reals for dead units).
        """
        return why(self, x, target, output, domain)

    def simplify(self, domain: Any = None) -> list[Any]:
        """The simplification passes on this chain network, each a ``PassResult`` (before,
        after, notes): identities removed, BatchNorm folded, affine maps merged and, on the
        input box ``domain``, units constant there (dead) removed. See :mod:`symnet.passes`."""
        from .passes import simplify

        return simplify(self, domain)

    def linear_region(self, x: Any) -> Any:
        """The linear region containing ``x``: a SymPy ``Interval`` for one input, else a list
        of linear inequalities in the input symbols."""
        _, _, x0, backend = self._linearize(x)
        return self._region(x0, backend)

    def _region(self, x0: np.ndarray, backend: LinearizedBackend) -> Any:
        if x0.size == 1:
            low, high = interval(backend.decisions, float(x0[0]))
            return sp.Interval(sp.Float(low) if np.isfinite(low) else -sp.oo,
                               sp.Float(high) if np.isfinite(high) else sp.oo)
        conditions = []
        for d in backend.decisions:
            for t0, grad, lo, hi in zip(d.t0, d.grad, d.lo, d.hi):
                if not np.any(grad):
                    continue
                expr = sp.Float(t0) + sum(sp.Float(g) * (s - sp.Float(v)) for g, s, v in
                                          zip(grad, self.inputs, x0) if g != 0)
                if np.isfinite(lo):
                    conditions.append(expr >= sp.Float(lo))
                if np.isfinite(hi):
                    conditions.append(expr <= sp.Float(hi))
        return conditions

    # --- display ----------------------------------------------------------------------------

    # --- reports ----------------------------------------------------------------------------

    def report(self, format: str, x: Any = None, *, target: Any = None, domain: Any = None,
               settings: Any = None) -> str:
        """The report as text: ``"latex"`` (a complete document), ``"mathml"`` (XML),
        ``"html"`` (a complete page), ``"markdown"``, ``"json"`` or ``"text"``; with ``x``, it
        includes ``trace(x)`` and ``why(x)`` (with ``target`` and ``domain``)."""
        from .report import render

        return render(self, format, x, settings=settings, target=target, domain=domain)

    def save_report(self, path: Any, x: Any = None, *, target: Any = None,
                    domain: Any = None) -> Path:
        """Write the report; the format follows the suffix (``.tex``, ``.pdf`` through a real
        LaTeX engine, ``.html``, ``.md``, ``.json``, ``.mml``, ``.txt``)."""
        from .files import write_output
        from .report.pdf import latex_to_pdf

        path = Path(path)
        fmt = REPORT_SUFFIXES.get(path.suffix.lower())
        if fmt is None:
            raise InvalidInputError(f"cannot tell the report format of {str(path)!r}: expected "
                                    f"one of {', '.join(sorted(REPORT_SUFFIXES))}")
        if fmt == "pdf":
            if not path.parent.is_dir():
                raise InvalidInputError(f"cannot write {str(path)!r}: folder does not exist")
            return latex_to_pdf(self.report("latex", x, target=target, domain=domain), path)
        write_output(self.report(fmt, x, target=target, domain=domain), str(path))
        return path

    def _repr_html_(self) -> str:
        from html import escape

        from .report.html import mathml
        from .report.latex import latex

        rows = "".join(f"<tr><td><code>{escape(lay.name)}</code></td><td>{lay.kind}</td>"
                       f"<td>{lay.output_shape}</td><td>{lay.param_count:,}</td></tr>"
                       for lay in self.layers)
        return (f"<p><b>{escape(self.name)}</b>: {self.param_count:,} parameters</p>"
                f"<table><tr><th>layer</th><th>kind</th><th>output</th><th>params</th></tr>"
                f"{rows}</table>{mathml(latex(self.structural_form()))}")

    def __repr__(self) -> str:
        return (f"<Network {self.name!r}: {len(self.layers)} layers, {self.param_count:,} "
                f"parameters, inputs {self.input_shapes}, outputs {self.output_shapes}>")

    def _repr_latex_(self) -> str:
        from .report.latex import latex

        return "$$" + latex(self.structural_form()) + "$$"
