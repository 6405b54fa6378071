"""``explain(model)`` -> :class:`Network`: the user's handle on a model's mathematics.

The network is a thin facade: it names the symbols and holds the :class:`~symnet.graph.Graph`;
every computation is an analysis of the graph (:mod:`symnet.analysis`), every number a run of
it on a backend (:mod:`symnet.backends`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from .analysis import forms
from .analysis.explanation import Explanation, Trace, trace, why
from .analysis.piecewise import Piece, linearize, network_pieces, region
from .analysis.regions2d import Region
from .backends import Backend, ExactBackend, FloatBackend
from .display import Displayed
from .errors import InvalidInputError, ModelLoadError
from .escape import safe_identifier, terminal_text
from .graph import Graph, LayerFormula

__all__ = ["Network", "explain"]

PRECISIONS = ("float32", "float64", "exact")
REPORT_SUFFIXES = {".tex": "latex", ".pdf": "pdf", ".html": "html", ".htm": "html",
                   ".md": "markdown", ".json": "json", ".mml": "mathml", ".txt": "text"}


def explain(model: Any, *, input_names: Sequence[str] | None = None,
            output_names: Sequence[str] | None = None, reader: str = "auto",
            example_input: Any = None, dims: Mapping[str, int] | None = None) -> Network:
    """Read a Keras model and turn every layer into its exact formula.

    Args:
        model: a ``keras.Model`` (Sequential or functional), or a path to a ``.keras`` or
            ``.h5`` file, loaded with Keras' safe mode; or an ONNX model (a ``.onnx`` path or
            an ``onnx.ModelProto``), or a PyTorch ``torch.nn.Module`` with ``example_input``
            (see :mod:`symnet.frameworks`).
        input_names: names of the input features, one per feature in row-major order across
            the model's inputs (default ``x`` for one feature, else ``x_1 ... x_n``).
        output_names: names of the outputs likewise (default ``y`` or ``y_1 ... y_m``).
        reader: how a file is read. ``"auto"`` (default): a Sequential or functional model
            (``.keras`` of Keras 3, legacy ``.h5`` of Keras 2 and 3) whose layers' converters
            declare their weights (docs/reading.md lists them) is read from the file itself,
            without importing Keras or TensorFlow, and every other file by Keras;
            ``"keras"``: always by Keras; ``"file"``: always without Keras, or a
            ``ModelLoadError`` saying why not. Either
            way the network is the same; a network read from the file loads the Keras model
            when ``Network.model`` is first used.

    Returns:
        The :class:`Network`.

    Raises:
        ModelLoadError: the file is missing, unreadable or not a Keras model.
        UnsupportedLayerError: a layer (``Lambda``, custom, or an unsupported option) has no
            exact converter; the message names it and lists what is supported.

    ``example_input`` (a tensor or array, for a PyTorch module) is what the module is exported
    on; ``dims`` fixes named dimensions an ONNX model leaves open (``{"seq": 8}``).
    """
    from . import frameworks

    framework = frameworks.framework_of(model)
    if framework != "keras" or example_input is not None or dims is not None:
        return frameworks.explain_other(model, framework, input_names=input_names,
                                        output_names=output_names, reader=reader,
                                        example_input=example_input, dims=dims)
    from .io.keras import read_model
    from .layers import build_graph

    source = read_model(model, reader)
    keras_graph = source.graph
    features = _names(input_names, sum(math.prod(s) for s in keras_graph.input_shapes), "x",
                      "input")
    targets = _names(output_names, sum(math.prod(s) for s in keras_graph.output_shapes), "y",
                     "output")
    return Network(build_graph(keras_graph, features, targets), source.name, source.model,
                   load=source.load, layer_names=source.layer_names)


#: The numbers of one sample's inputs, or outputs, a network may have: each is a symbol (a
#: 512x512 RGB image is 786,432; a file declaring billions would exhaust memory instead).
MAX_NUMBERS = 4_000_000


def _names(given: Sequence[str] | None, count: int, stem: str, what: str) -> tuple[sp.Symbol, ...]:
    if count > MAX_NUMBERS:
        raise ModelLoadError(f"the model's {what}s are {count:,} numbers per sample; symnet "
                             f"gives each a symbol and reads at most {MAX_NUMBERS:,}")
    if given is None:
        names = [stem] if count == 1 else [f"{stem}_{i}" for i in range(1, count + 1)]
    else:
        names = [str(n) for n in given]
        if len(names) != count:
            raise InvalidInputError(f"expected {count} {what} name(s), received {len(names)}: "
                                    f"{terminal_text(names, 200)}")
        if len(set(names)) != len(names):
            raise InvalidInputError(f"{what} names must be distinct, received "
                                    f"{terminal_text(names, 200)}")
        bad = [n for n in names if not safe_identifier(n)]
        if bad:
            raise InvalidInputError(
                f"{what} names must be ASCII identifiers of at most 64 characters (a letter, "
                f"then letters, digits or _), so that formulas read them back; received "
                f"{terminal_text(bad[0], limit=80)!r}")
    return tuple(sp.Symbol(n, real=True) for n in names)


class Network(Displayed):
    """A Keras model as mathematics. Build it with :func:`symnet.explain`."""

    def __init__(self, graph: Graph, name: str, model: Any = None, *,
                 load: Callable[[], Any] | None = None,
                 layer_names: Sequence[str] | None = None, framework: str = "keras",
                 reference: Any = None) -> None:
        self.graph = graph
        self.framework = framework
        """Where the network was read from: ``keras``, ``onnx`` or ``pytorch``."""
        self.reference = reference
        """For a network not read from Keras: what its numbers are checked against (ONNX
        Runtime, the module's own forward), see :mod:`symnet.frameworks`."""
        """The network as a typed graph of ops: what every analysis reads."""
        self.name = name
        self._model = model
        self._load = load
        self.keras_layer_names: tuple[str, ...] = tuple(
            layer_names if layer_names is not None else
            [layer.name for layer in getattr(model, "layers", [])])
        """The names of the Keras model's ``model.layers``, in order."""

    @property
    def model(self) -> Any:
        """The Keras model this network was read from (``None`` after unpickling). A network
        read from its file without Keras loads it with Keras here, when first asked."""
        if self._model is None and self._load is not None:
            self._model = self._load()
            self._load = None
        return self._model

    def __getstate__(self) -> dict[str, Any]:
        # The Keras model stays behind: a pickled network is its mathematics.
        return {"graph": self.graph, "name": self.name, "_model": None, "_load": None,
                "keras_layer_names": self.keras_layer_names, "framework": self.framework,
                "reference": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        state.setdefault("_model", state.pop("model", None))
        state.setdefault("_load", None)
        state.setdefault("keras_layer_names", ())
        state.setdefault("framework", "keras")
        state.setdefault("reference", None)
        self.__dict__.update(state)

    # --- what it is ---------------------------------------------------------------------

    @property
    def inputs(self) -> tuple[sp.Symbol, ...]:
        """One symbol per input number (``x`` or ``x_1 … x_n``, row-major across inputs)."""
        return self.graph.features

    @property
    def outputs(self) -> tuple[sp.Symbol, ...]:
        return self.graph.targets

    @property
    def layers(self) -> tuple[LayerFormula, ...]:
        """One :class:`LayerFormula` per Keras layer, in ``model.layers`` order."""
        return self.graph.layers

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
        return self.graph.input_shapes

    @property
    def output_shapes(self) -> tuple[tuple[int, ...], ...]:
        return self.graph.output_shapes

    def layer(self, name: str) -> LayerFormula:
        """The :class:`LayerFormula` of the layer with this Keras name."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer named {name!r}; layers: {[lay.name for lay in self.layers]}")

    @property
    def computed_as(self) -> str:
        """What the network's float32 numbers reproduce: ``model.predict``, ONNX Runtime, the
        module's forward."""
        from .frameworks import computed_as

        return computed_as(self)

    @property
    def is_piecewise_linear(self) -> bool:
        """Whether every layer is affine or piecewise linear in its input."""
        return self.graph.piecewise_linear

    # --- forms --------------------------------------------------------------------------

    def structural_form(self) -> Any:
        """The whole network over parameter symbols (``W_1``, ``b_1``, ``gamma_2``...), no numbers.

        Returns one SymPy matrix expression of the input matrix ``x`` (a ``Tuple`` of them for a
        model with several outputs).
        """
        return forms.structural_form(self.graph)

    def expression_size(self) -> int:
        """Estimated SymPy nodes of :meth:`closed_form`, from the shapes alone."""
        return forms.estimate_size(self.graph)

    def closed_form(self, simplify: bool = True, *, max_size: int = forms.DEFAULT_MAX_SIZE
                    ) -> sp.Matrix:
        """The outputs (an m×1 ``Matrix``) as explicit expressions of the input symbols.

        The trained float32 numbers are substituted (as SymPy ``Float``\\ s that hold them
        exactly); ReLU appears as ``Max``. ``simplify`` expands products into sums (a bounded
        rewrite, never ``sympy.simplify``).

        Raises:
            ExpressionTooLarge: the estimated size exceeds ``max_size``; nothing is built.
        """
        from .deep import deep_call

        return deep_call(forms.closed_form, self.graph, simplify=simplify, max_size=max_size)

    def closed_form_function(self, *, max_size: int = forms.DEFAULT_MAX_SIZE) -> Any:
        """The closed form compiled to numpy (``lambdify`` with common subexpressions
        eliminated): ``f(*inputs)`` gives the outputs, one per row."""
        return forms.lambdify(self.inputs, list(self.closed_form(max_size=max_size)), cse=True)

    # --- numbers ------------------------------------------------------------------------

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
        if precision not in PRECISIONS:
            raise InvalidInputError(f"precision must be one of {PRECISIONS}, received "
                                    f"{precision!r}")
        backend: Backend = ExactBackend() if precision == "exact" else FloatBackend(
            getattr(np, precision))
        values = self.graph.run(backend, self.graph.batch(
            x, exact=precision == "exact", dtype=getattr(backend, "dtype", np.float64)))
        outs = [backend.finish(values[key]) for key in self.graph.outputs]
        return outs[0] if len(outs) == 1 else outs

    # --- gradients and one training step (symnet.analysis.gradients, symnet.training) ----

    def gradient(self, x: Any, target: Any, *, loss: Any, precision: str = "float32") -> Any:
        """The loss on ``(x, target)`` and its gradients, as ``tf.GradientTape`` gives them
        through ``model(x, training=False)``: a :class:`~symnet.analysis.gradients.Gradient`
        with ``loss``, ``parameters`` (``"layer/weight"`` -> ``∂L/∂`` that array), ``input``
        (``∂L/∂x``), each layer's ``deltas`` and ``trace()`` (the hand calculation).

        Args:
            x: one sample or a batch, as for :meth:`evaluate`.
            target: the target(s), shaped like the output (class indices for
                ``sparse_categorical_crossentropy``).
            loss: a Keras loss name (``"mse"``, ``"mean_absolute_error"``,
                ``"binary_crossentropy"``, ``"categorical_crossentropy"``,
                ``"sparse_categorical_crossentropy"``: Keras' semantics, a mean over the last
                axis and over the batch) or a formula of ``y`` (an output) and ``t`` (its
                target), e.g. ``"(t - y)^2/2"``, summed over the outputs and the samples.
            precision: ``"float32"`` (TensorFlow's arithmetic), ``"float64"`` or ``"exact"``.
        """
        from .analysis.gradients import gradient

        return gradient(self.graph, x, target, loss, precision, framework=self.framework)

    def saliency(self, x: Any, output: int = 0, precision: str = "float32") -> Any:
        """``∂y_k/∂x`` of output ``output`` (an index into ``net.outputs``) at every sample of
        ``x``, shaped like the input batch; exact rationals for a piecewise-linear network
        with ``precision="exact"``."""
        from .analysis.gradients import saliency

        return saliency(self.graph, x, output, precision)

    def train_step(self, x: Any, target: Any, *, loss: Any, optimizer: Any = "sgd",
                   learning_rate: Any, **options: Any) -> Any:
        """The weights after one step of Keras' optimizer on the batch ``(x, target)`` from
        fresh optimizer state, as ``model.train_on_batch`` gives them: a mapping
        ``"layer/weight"`` (ONNX, PyTorch: the framework's name) -> the new array (see
        :func:`symnet.training.train_step` for the
        optimizers, their options, frozen weights and layers that act while training)."""
        from .training import train_step

        return train_step(self.graph, x, target, loss=loss, optimizer=optimizer,
                          learning_rate=learning_rate, framework=self.framework, **options)

    def with_weights(self, weights: Any) -> Network:
        """The same network with some weights replaced (``"layer/weight"`` -> array, e.g. a
        :meth:`train_step`'s result, or a textbook's numbers); float64 arrays stay float64."""
        from .training import with_weights

        return Network(with_weights(self.graph, weights, self.framework), self.name,
                       layer_names=self.keras_layer_names, framework=self.framework)

    # --- one sample: the hand calculation and the local law -----------------------------

    def trace(self, x: Any) -> Trace:
        """The hand calculation for one sample: each layer's formula, with numbers, and value.

        Values are computed in float32 as Keras does, so the last step equals ``predict``.
        Steps of layers with a piecewise-linear activation say which units are clipped
        (``TraceStep.active``) and hold the values before the activation (``inner``).
        """
        return trace(self.graph, x)

    def local_affine(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(A, b)`` with ``f(x') = A x' + b`` on the linear region that contains ``x``.

        ``A`` has shape (outputs, inputs), both counted as ``net.outputs`` / ``net.inputs``.
        For piecewise-linear networks, and for classifiers whose final softmax follows
        piecewise-linear layers: then ``f`` is the **logits** (the softmax's input; the
        predicted class is the largest). ``UnsupportedLayerError`` for other networks.
        """
        a, b, _, _ = linearize(self.graph, x, nodes=self._logits())
        return a, b

    def _logits(self) -> Any:
        """A softmax classifier's nodes up to its logits, when the network itself is not
        piecewise linear but is so before its softmax (else ``None``: the network's own)."""
        from .analysis.piecewise import logit_nodes

        if self.graph.piecewise_linear:
            return None
        return logit_nodes(self.graph)

    def linear_region(self, x: Any) -> Any:
        """The linear region containing ``x``: a SymPy ``Interval`` for one input, else a list
        of linear inequalities in the input symbols."""
        _, _, x0, backend = linearize(self.graph, x)
        return region(self.graph, x0, backend)

    def pieces(self, domain: Any = None, exact: bool = False) -> list[Piece]:
        """The linear pieces of a one-input piecewise-linear network on ``domain``.

        Found in float64 (a sweep over the closed-form breakpoints when only one layer is
        piecewise linear, else a walk along the input line region by region); with ``exact``,
        each piece's law and ends are then recomputed in exact rational arithmetic from the
        float32 weights (``Fraction``\\ s; ends outside the domain are ``±inf``).
        """
        return network_pieces(self.graph, domain, exact)

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

        def number(v: Any) -> Any:
            if not exact:
                return sp.Float(v)
            if isinstance(v, Fraction):
                return sp.Rational(v.numerator, v.denominator)
            return sp.Rational(v)

        laws: list[tuple[Any, Any, Any]] = []  # (slope, intercept, high) of this output
        for p in self.pieces(domain, exact=exact):
            law = (p.slope[output], p.intercept[output])
            if laws and laws[-1][:2] == law:  # the same law for this output: one piece
                laws[-1] = (*law, p.high)
            else:
                laws.append((*law, p.high))
        # Built as it is, ordered and merged: SymPy's own checks of every condition against the
        # others take minutes for 10,000 pieces and would leave nothing to change.
        def affine(s: Any, t: Any) -> Any:
            s, t = number(s), number(t)
            if not exact or s in (0, 1, -1) or t == 0:
                return s * x + t
            # the very expression s*x + t evaluates to, without its generic flattening
            return sp.Add._from_args((t, sp.Mul._from_args((s, x))))

        args = [(affine(s, t), sp.Le(x, number(h), evaluate=False)) for s, t, h in laws[:-1]]
        args.append((affine(*laws[-1][:2]), sp.true))
        return sp.Piecewise(*args, evaluate=False)

    def regions2d(self, box: Any) -> list[Region]:
        """The exact linear regions of a two-input network on ``box`` = ``((x_low, x_high),
        (y_low, y_high))``: convex polygons with rational vertices that cover the box, each
        with its affine law (:class:`~symnet.analysis.regions2d.Region`). For chains of affine
        layers and continuous piecewise-linear activations, and for classifiers whose final
        softmax follows such a chain: then the laws are those of the **logits**
        (``Region.logits`` is ``True``), and the predicted class on a region is its largest
        logit (:func:`~symnet.analysis.regions2d.class_cells` cuts the regions along the exact
        decision boundary)."""
        from .analysis.regions2d import regions2d

        logits = self._logits() is not None
        if not logits:
            self.graph.require_piecewise_linear("the linear regions")
        return regions2d(self.graph, box, logits=logits)

    def plot(self, box: Any = None, *, data: Any = None, labels: Any = None, target: Any = None,
             x: Any = None, output: int | None = None, regions: bool = True, ax: Any = None,
             figsize: Any = None) -> Any:
        """A matplotlib ``Figure`` (object API: no pyplot state) to save as PDF, PGF or SVG.

        One input: the network's function on ``box`` = ``(low, high)`` (default: around its
        breakpoints, ``x`` and the data), its exact breakpoints (piecewise-linear networks),
        ``target`` (a formula such as ``"2*x + 5"`` or a callable) dashed, ``data`` points
        (``xs``, or ``(xs, ys)``), every output or ``output``.

        Two inputs: the exact linear regions on ``box`` = ``((x1_low, x1_high), (x2_low,
        x2_high))`` (default: around the data, else ``[-3, 3]²``), each coloured by output
        ``output`` at its centre; for a classifier (a softmax after piecewise-linear layers)
        the exact cell of each predicted class and the decision boundary. ``data``: points
        (one row each) drawn on it, coloured by ``labels``; ``regions=False`` leaves the
        regions' outlines out. ``ax``: draw into these axes; ``figsize``: a new figure's
        size in inches."""
        from .report.figure import plot

        return plot(self, box, data=data, labels=labels, target=target, x=x, output=output,
                    regions=regions, ax=ax, figsize=figsize)

    def why(self, x: Any, target: Any = None, output: int | None = None, domain: Any = None
            ) -> Explanation:
        """Why output ``output`` has its value at ``x`` (by default a classifier's predicted
        class, the largest output, else output 0).

        Args:
            x: one input sample.
            target: what the network was meant to compute: a callable of the input, a SymPy
                expression of ``net.inputs``, or a string such as ``"2*x + 5"`` (read by the
                safe formula parser; never evaluated as Python).
            output: which output (an index into ``net.outputs``); ``None``: the predicted
                class of a classifier (its outputs made by a softmax or a sigmoid), else 0.
            domain: ``(low, high)`` for a one-input network: where dead units and the largest
                error against ``target`` are looked for (default: all reals for dead units).
        """
        if output is None:
            from .report.model import is_classifier, predicted_output

            output = 0
            if is_classifier(self):
                arrays = self.graph.sample(x)
                output = predicted_output(self, self.evaluate(
                    arrays if len(arrays) > 1 else arrays[0]))
        from .frameworks import computed_as

        return why(self.graph, x, target, output, domain, computed_as=computed_as(self))

    def simplify(self, domain: Any = None) -> list[Any]:
        """The simplification passes on this chain network, each a ``PassResult`` (before,
        after, notes): identities removed, BatchNorm folded, affine maps merged and, on the
        input box ``domain``, units constant there (dead) removed. See
        :mod:`symnet.analysis.passes`."""
        from .analysis.passes import simplify

        return simplify(self.graph, domain)

    # --- reports ------------------------------------------------------------------------

    def report(self, format: str, x: Any = None, *, standalone: bool = True,
               sections: Any = None, digits: int | None = None, target: Any = None,
               domain: Any = None, settings: Any = None, output: int | None = None,
               interactive: bool = False, box: Any = None, **options: Any) -> str:
        """The report as text: ``"latex"`` (a complete document), ``"mathml"`` (XML),
        ``"html"`` (a complete page), ``"markdown"``, ``"json"`` or ``"text"``; with ``x``, it
        includes ``trace(x)`` and ``why(x)`` (with ``target`` and ``domain``; ``output``: which
        output ``why`` explains, by default a classifier's predicted class, else 0). With
        ``domain``, the simplification also removes the units dead on it.
        ``interactive=True`` (HTML) adds the explorer: move the input, watch every layer.

        For a paper: ``standalone=False`` gives a fragment for the author's own document
        (LaTeX: no preamble, to ``\\input`` after :func:`symnet.latex_preamble`; HTML: an
        element); ``sections`` picks parts by name (``"summary"``, ``"notation"``,
        ``"layers"``, ``"weights"``, ``"forms"``, ``"simplification"``, ``"plot"``,
        ``"regions"``, ``"trace"``, ``"why"``, ``"agreement"``); ``digits`` sets the
        significant digits of every number shown (default 7); ``box`` the region map's box
        (two inputs). ``options``: ``numbering="parameters"`` (``W^{(1)}, W^{(2)}``: counting
        only layers with parameters), ``convention="column"`` (``W x + b``), ``symbols={"dense":
        "A"}`` (an author's names), ``headings`` (the report's own section headings)."""
        from .deep import deep_call
        from .report import render

        return deep_call(render, self, format, x, settings=settings, target=target,
                         domain=domain, output=output, interactive=interactive,
                         standalone=standalone, sections=sections, digits=digits, box=box,
                         **options)

    def save_report(self, path: Any, x: Any = None, *, standalone: bool = True,
                    sections: Any = None, digits: int | None = None, target: Any = None,
                    domain: Any = None, output: int | None = None,
                    interactive: bool = False, **options: Any) -> Path:
        """Write the report; the format follows the suffix (``.tex``, ``.pdf`` through a real
        LaTeX engine, ``.html``, ``.md``, ``.json``, ``.mml``, ``.txt``); the other arguments
        are :meth:`report`'s (a PDF is always a complete document)."""
        from .files import write_output
        from .pdf import latex_to_pdf

        path = Path(path)
        fmt = REPORT_SUFFIXES.get(path.suffix.lower())
        if fmt is None:
            raise InvalidInputError(f"cannot tell the report format of {str(path)!r}: expected "
                                    f"one of {', '.join(sorted(REPORT_SUFFIXES))}")
        if not path.parent.is_dir():
            raise InvalidInputError(f"cannot write {str(path)!r}: folder does not exist")
        common = dict(sections=sections, digits=digits, target=target, domain=domain,
                      output=output, **options)
        if fmt == "pdf":
            return latex_to_pdf(self.report("latex", x, **common), path)
        write_output(self.report(fmt, x, standalone=standalone, interactive=interactive,
                                 **common), path)
        return path

    def __repr__(self) -> str:
        return (f"<Network {self.name!r}: {len(self.layers)} layers, {self.param_count:,} "
                f"parameters, inputs {self.input_shapes}, outputs {self.output_shapes}>")
