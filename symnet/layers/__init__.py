"""Converters: one function per Keras layer class, turning a layer into a few ops.

A converter receives a :class:`LayerContext` (the layer, its shapes and symbols), takes the
layer's weights into :class:`~symnet.ops.Param`\\ s, applies ops to the layer's inputs with
:meth:`LayerContext.apply` and returns the value that is the layer's output. The formula, the
graph, the numbers, the passes, the mistakes and the reports all follow from the ops: supporting
a new layer is one decorated function (and, if the layer does something new, one op).

The registry accepts Keras' own classes by name (a user subclass named ``Dense`` is a custom
layer, and refused) and, for a program that defines its own layer and op, a class registered
explicitly.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..errors import SymnetWarning, UnsupportedLayerError
from ..functions import LayerEquation, canonical
from ..graph import Graph, LayerCall, LayerFormula, Node, Step
from ..ops import Constant, Identity, Op, Param, matrix_shape
from .record import LayerRecord
from .spec import LayerSpec

__all__ = ["Definition", "LayerContext", "build_graph", "convert_layer", "converter",
           "is_supported_class", "operation", "spec_of", "supported_layers",
           "supported_operations", "unsupported"]

Converter = Callable[["LayerContext"], Any]
_BY_NAME: dict[str, Converter] = {}
_BY_CLASS: dict[type, Converter] = {}
_OPERATIONS: dict[str, Converter] = {}
"""Keras operations that are not layers (``x + y``, ``keras.ops.mean``), by kind (``ops.add``)."""


_SPECS: dict[Any, LayerSpec] = {}
"""What each converter understands of its layer's config, by Keras class name (or class)."""


def converter(*targets: str | type, config: LayerSpec | None = None
              ) -> Callable[[Converter], Converter]:
    """Register a function as the converter of Keras layer classes (by name) or of classes
    given explicitly. ``config`` declares the config keys and values it understands
    (:mod:`symnet.layers.spec`): required for Keras' classes, whose configs are checked
    against it before the converter runs."""

    def register(fn: Converter) -> Converter:
        for target in targets:
            table: dict[Any, Converter] = _BY_NAME if isinstance(target, str) else _BY_CLASS
            if target in table:
                raise RuntimeError(f"two converters for {target}")
            if config is None and isinstance(target, str):
                raise RuntimeError(f"the converter of {target} declares no config spec")
            table[target] = fn
            if config is not None:
                _SPECS[target] = config
        return fn

    return register


def spec_of(target: str | type) -> LayerSpec | None:
    """The config a converter declares it understands (``None``: none declared)."""
    _load_converters()
    return _SPECS.get(target)


def operation(*kinds: str, config: LayerSpec) -> Callable[[Converter], Converter]:
    """Register a function as the converter of Keras operations that are not layers, by kind
    (``ops.`` and the operation's name: ``ops.add``, ``ops.mean``...); ``config`` declares the
    operation's settings it understands."""

    def register(fn: Converter) -> Converter:
        for kind in kinds:
            if kind in _OPERATIONS:
                raise RuntimeError(f"two converters for {kind}")
            _OPERATIONS[kind] = fn
            _SPECS[kind] = config
        return fn

    return register


def supported_operations() -> list[str]:
    """The Keras operations (``keras.ops.*``, ``x + y``...) symnet converts, by kind."""
    _load_converters()
    return sorted(_OPERATIONS)


def _load_converters() -> None:
    # Importing the modules runs their @converter decorators.
    from . import (  # noqa: F401
        attention,
        convolutional,
        core,
        embedding,
        merging,
        normalization,
        operations,
        preprocessing,
        recurrent,
        regularization,
        reshaping,
    )


def supported_layers() -> list[str]:
    """The Keras layer class names symnet converts, sorted."""
    _load_converters()
    return sorted(_BY_NAME)


def converter_of(cls: type) -> Converter | None:
    """The converter of a layer class: Keras' own by name, or one registered for the class."""
    if cls in _BY_CLASS:
        return _BY_CLASS[cls]
    _load_converters()
    if cls.__module__.split(".")[0] == "keras":
        return _BY_NAME.get(cls.__name__)
    return None


def is_supported_class(cls: type) -> bool:
    return converter_of(cls) is not None


def layer_kind(layer: Any) -> str:
    """A layer's Keras class name (an operation's kind is ``ops.add``...)."""
    kind = getattr(layer, "kind", None)
    return kind if isinstance(kind, str) else type(layer).__name__


def converter_for(layer: Any) -> Converter | None:
    """The converter of a layer record (by the Keras class it names, or by the class a
    converter was registered for explicitly) or of an operation (by its kind)."""
    _load_converters()
    if getattr(layer, "is_operation", False):
        return _OPERATIONS.get(layer.kind)
    if isinstance(layer, LayerRecord):
        if layer.origin is not None and layer.origin in _BY_CLASS:
            return _BY_CLASS[layer.origin]
        return _BY_NAME.get(layer.kind) if layer.builtin else None
    return converter_of(type(layer))


#: Why some Keras classes are refused, for the error message.
REFUSED = {
    "Masking": "a mask makes later layers skip time steps per sample: the formula would differ "
               "from sample to sample, so masked models are refused",
    "Lambda": "a Lambda layer is arbitrary Python code",
    "StringLookup": "it maps strings, not numbers", "TextVectorization": "it maps strings, not "
    "numbers", "Hashing": "a hash has no formula worth showing",
}


def unsupported_operation(name: str, kind: str, why: str = "") -> UnsupportedLayerError:
    """The error for a Keras operation (not a layer) without a converter."""
    from ..escape import terminal_text

    reason = f" ({why})" if why else ""
    return UnsupportedLayerError(
        f"operation {terminal_text(name, 200)!r} (keras.{terminal_text(kind, 100)}) has no "
        f"exact converter{reason}. Supported operations: {', '.join(supported_operations())}. "
        "symnet does not approximate or skip an operation.", layer=name, kind=kind)


def unsupported(layer_name: str, kind: str, why: str = "") -> UnsupportedLayerError:
    """The error for a layer without a converter, listing what is supported."""
    from ..escape import terminal_text

    why = why or REFUSED.get(kind, "")
    reason = f" ({why})" if why else ""
    return UnsupportedLayerError(
        f"layer {terminal_text(layer_name, 200)!r} of class {terminal_text(kind, 100)} has no "
        f"exact converter{reason}. Supported layer classes: {', '.join(supported_layers())}. "
        "Lambda and custom layers are never supported: symnet does not approximate or skip layers.",
        layer=layer_name, kind=kind)


@dataclass(frozen=True)
class Definition:
    """An equation that defines a formula's notation (what ``⋆`` computes, a recurrence's
    step), in LaTeX and in plain text."""

    latex: str
    text: str


class LayerContext:
    """A layer being converted: its config, shapes and symbols, the weights it has taken and
    the ops it has applied."""

    def __init__(self, layer: Any, name: str, index: int, input_shapes: list[tuple[int, ...]],
                 output_shapes: list[tuple[int, ...]],
                 input_symbols: tuple[sp.MatrixSymbol, ...],
                 output_symbols: tuple[sp.MatrixSymbol, ...],
                 scalars: Sequence[sp.Symbol] = ()) -> None:
        self.layer = layer
        self.index = index
        self.name = name
        """The layer's name (a path through nested models)."""
        self.kind: str = layer_kind(layer)
        self.config: dict[str, Any] = layer.get_config()
        self.input_shapes = input_shapes
        self.output_shapes = output_shapes
        self.input_symbols = input_symbols
        self.output_symbols = output_symbols
        self.scalars = tuple(scalars)
        self.params: list[Param] = []
        self.constants: dict[str, Any] = {}
        self.constant_symbols: list[Constant] = []
        self.steps: list[Step] = []
        self.definitions: list[Any] = []
        self.note = ""
        self.rhs: Any = None
        """A formula's right side given outright (the InputLayer's: the input's entries)."""
        self._weights = {v.name: v for v in layer.weights}
        self._taken: set[int] = set()
        self._shapes: list[tuple[int, ...]] = list(input_shapes)
        self.roles: tuple[str, ...] = ()
        """How each input was passed to the layer: position (``"0"``) or keyword."""
        self.options: dict[str, Any] = {}
        """The call's other arguments (``use_causal_mask``...)."""
        self.tag = ""
        """Appended to parameter symbols (``W_3^fw``): a sub-layer's parameters apart."""

    # --- values and ops -----------------------------------------------------------------

    @property
    def x(self) -> int:
        """The layer's (first) input, as a value to apply ops to."""
        return 0

    @property
    def inputs(self) -> tuple[int, ...]:
        return tuple(range(len(self.input_shapes)))

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.input_shapes[0]

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.output_shapes[0]

    @property
    def output_symbol(self) -> sp.MatrixSymbol:
        return self.output_symbols[0]

    def shape(self, value: int) -> tuple[int, ...]:
        """The per-sample shape of a value (an input, or an op applied so far)."""
        return self._shapes[value]

    def apply(self, op: Op, *values: int) -> int:
        """Apply ``op`` to ``values`` (default: the layer's input); returns the result."""
        values = values or (self.x,)
        self.steps.append(Step(op, tuple(values)))
        self._shapes.append(tuple(op.output_shape(*[self._shapes[v] for v in values])))
        return len(self._shapes) - 1

    def define(self, *definitions: Definition) -> None:
        """Equations that define the formula's notation (shown by reports)."""
        self.definitions.extend(definitions)

    @staticmethod
    def tex(symbol: Any) -> str:
        """A symbol in LaTeX, braced so that it takes sub- and superscripts."""
        from ..printing.latex import latex

        return "{" + latex(symbol) + "}"

    # --- numbers ------------------------------------------------------------------------

    def reject(self, why: str) -> UnsupportedLayerError:
        """An error for an option of this layer that has no exact converter."""
        from ..escape import terminal_text

        what = (f"operation {terminal_text(self.name, 200)!r} (keras.{self.kind})"
                if getattr(self.layer, "is_operation", False) else
                f"layer {terminal_text(self.name, 200)!r} of class {self.kind}")
        return UnsupportedLayerError(f"{what}: {why}", layer=self.name, kind=self.kind)

    def param(self, weight: str, symbol: str | None, meaning: str) -> Param:
        """Take the layer's weight named ``weight`` into the formula as ``{symbol}_{index}``."""
        variable = self._weights.get(weight)
        if variable is None:
            raise self.reject(f"expected a weight named {weight!r}, found {sorted(self._weights)}")
        self._taken.add(id(variable))
        value = np.array(variable.numpy())
        if value.dtype != np.float32 and symbol is not None:
            raise self.reject(f"weight {weight!r} has dtype {value.dtype}; expected float32")
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
            warnings.warn(
                f"layer {self.name!r} ({self.kind}): weight {weight!r} holds {bad} NaN or Inf "
                "value(s); evaluation propagates them as Keras does",
                SymnetWarning, stacklevel=3)
        name = f"{self.prefix}{weight}"
        return self._add(Param(name, self._symbol(symbol, value.shape), value,
                               bool(variable.trainable), meaning))

    def config_param(self, name: str, symbol: str, value: Any, meaning: str) -> Param:
        """Numbers from the layer's config that a formula uses like a weight (not counted)."""
        array = np.asarray(value, dtype=np.float32)
        return self._add(Param(name, self._symbol(symbol, array.shape), array, False, meaning,
                               weight=False))

    def _symbol(self, symbol: str | None, shape: tuple[int, ...]) -> sp.MatrixSymbol | None:
        if symbol is None:
            return None
        # A name Python takes for an identifier (``sigma__2_3``, ``W_1__fw``): SymPy's lambdify
        # cannot pass a matrix symbol whose name is not one (SymPy issue 20883); SymPy prints
        # ``__`` as a superscript, as it does ``^``.
        name = f"{symbol}_{self.index}{self.tag}".replace("^", "__")
        return sp.MatrixSymbol(name, *matrix_shape(tuple(shape)))

    @property
    def prefix(self) -> str:
        """Before a Keras weight name: the sub-layer it belongs to (``forward/``)."""
        return self.tag.lstrip("^") + "/" if self.tag else ""

    def sub(self, layer: Any, tag: str = "", input_shape: tuple[int, ...] | None = None
            ) -> LayerContext:
        """A context for a layer wrapped in this one (Bidirectional, TimeDistributed): it
        applies ops to this layer's input; :meth:`absorb` takes them in."""
        inner = LayerContext(layer, self.name, self.index,
                             [input_shape or self.input_shape], self.output_shapes,
                             self.input_symbols[:1], self.output_symbols, self.scalars)
        inner.tag = tag
        if _BY_NAME.get(inner.kind) is not None:  # a wrapped Keras layer: its own spec
            check_config(inner)
        return inner

    def absorb(self, inner: LayerContext, values: Sequence[int]) -> list[int]:
        """Take in a sub-layer's ops and parameters; returns its values as this layer's."""
        offset = len(self._shapes) - len(inner.input_shapes)

        def moved(v: int) -> int:
            return v if v < len(inner.input_shapes) else v + offset

        for step in inner.steps:
            self.apply(step.op, *[moved(v) for v in step.inputs])
        self.params.extend(inner.params)
        self.constants.update(inner.constants)
        self.constant_symbols.extend(inner.constant_symbols)
        self.definitions.extend(inner.definitions)
        self._taken |= inner._taken
        return [moved(v) for v in values]

    def _add(self, param: Param) -> Param:
        self.params.append(param)
        return param

    def constant(self, key: str, value: float, symbol: str = "epsilon") -> Constant:
        """A hyperparameter that the formula shows as a symbol (``epsilon_2``)."""
        constant = Constant(key, sp.Symbol(f"{symbol}_{self.index}", positive=True),
                            float(value))
        self.constant_symbols.append(constant)
        self.constants[key] = float(value)
        return constant


#: Config keys that act only while training (besides regularizers and constraints).
_TRAINING_KEYS = ("momentum", "renorm", "trainable", "dropout", "recurrent_dropout", "rate",
                  "stddev", "l1", "l2")


def training_config(config: dict[str, Any]) -> dict[str, Any]:
    """What of a layer's config acts only while training, as plain JSON-like data, with the
    same of the layers it wraps (``{"class_name": ..., "config": ...}`` entries)."""
    import json

    out: dict[str, Any] = {}
    for key, value in config.items():
        if key in _TRAINING_KEYS or key.endswith(("_regularizer", "_constraint")):
            out[key] = json.loads(json.dumps(value, default=repr))
        elif isinstance(value, dict) and isinstance(value.get("config"), dict) and (
                "class_name" in value):
            out[key] = {"class_name": str(value["class_name"]),
                        "config": training_config(value["config"])}
    return out


def convert_layer(layer: Any, name: str, index: int, input_shapes: list[tuple[int, ...]],
                  output_shapes: list[tuple[int, ...]],
                  input_symbols: tuple[sp.MatrixSymbol, ...],
                  output_symbols: tuple[sp.MatrixSymbol, ...],
                  scalars: Sequence[sp.Symbol] = (), roles: tuple[str, ...] = (),
                  options: Sequence[tuple[str, Any]] = ()) -> LayerFormula:
    """The :class:`LayerFormula` of one Keras layer, or ``UnsupportedLayerError``."""
    kind = layer_kind(layer)
    convert = converter_for(layer)
    if convert is None:
        raise (unsupported_operation if getattr(layer, "is_operation", False) else
               unsupported)(name, kind)
    ctx = LayerContext(layer, name, index, input_shapes, output_shapes, input_symbols,
                       output_symbols, scalars)
    ctx.roles, ctx.options = tuple(roles), dict(options)
    check_config(ctx)
    if ctx.options.get("training") is True:
        raise ctx.reject("called with training=True: it computes as in training even at "
                         "inference (dropout and noise at random), which no formula is")
    compute = getattr(layer, "compute_dtype", "float32")
    quantized = bool(getattr(layer, "quantized", False))
    if compute != "float32" or quantized:
        raise ctx.reject(f"dtype policy {compute!r}{' (quantized)' if quantized else ''} is "
                         "not supported; symnet reproduces float32 layers")
    result = convert(ctx)
    outputs: tuple[int, ...] = ()
    for value in (result,) if isinstance(result, int) else tuple(result):
        # Every output is its own value: an input passed through, or a value given twice
        # (an LSTM's last output is also its state), gets an identity op.
        if ctx.rhs is None and (value < len(input_shapes) or value in outputs):
            value = ctx.apply(Identity(), value)
        outputs += (value,)
    if len(outputs) != len(output_symbols):
        raise ctx.reject(f"the converter gives {len(outputs)} outputs, Keras {len(output_symbols)}")
    unused = sorted(v.name for v in layer.weights if id(v) not in ctx._taken)
    if unused:
        raise ctx.reject(f"weights {unused} are not part of any known formula of this layer")
    values: list[Any] = list(input_symbols)
    for step in ctx.steps:
        values.append(step.op.formula(*[values[i] for i in step.inputs]))
    if ctx.rhs is not None:
        formula = LayerEquation(output_symbols[0], ctx.rhs)
    elif len(outputs) == 1:
        formula = LayerEquation(output_symbols[0], canonical(values[outputs[0]]))
    else:
        formula = sp.Eq(sp.Tuple(*output_symbols),
                        sp.Tuple(*[canonical(values[i]) for i in outputs]), evaluate=False)
    return LayerFormula(
        name=name, kind=kind, formula=formula, params=tuple(ctx.params),
        constants=dict(ctx.constants),
        input_shape=input_shapes[0] if len(input_shapes) == 1 else list(input_shapes),
        output_shape=output_shapes[0], note=ctx.note, input_symbols=input_symbols,
        output_symbols=output_symbols, steps=tuple(ctx.steps), outputs=outputs,
        constant_symbols=tuple(ctx.constant_symbols), is_input=ctx.rhs is not None,
        definitions=tuple(ctx.definitions),
        training_config=training_config(ctx.config))


def config_problems(layer: Any) -> list[str]:
    """Why a layer's config is not one its converter declares it understands."""
    if converter_for(layer) is None:
        return []
    declared = _SPECS.get(layer_kind(layer)) or _SPECS.get(getattr(layer, "origin", None))
    return [] if declared is None else declared.problems(layer.get_config())


def check_config(ctx: LayerContext) -> None:
    """Refuse by name a config key or value the layer's converter has not declared (a wrapped
    layer's config is checked when its own context is made)."""
    declared = _SPECS.get(ctx.kind) or _SPECS.get(type(ctx.layer))
    if declared is None:
        return
    problems = declared.problems(ctx.config)
    if problems:
        raise ctx.reject("; ".join(problems))


def _output_names(stem: str, count: int) -> list[str]:
    return [stem] + [f"{stem}^({chr(ord('a') + i)})" for i in range(1, count)]


def build_graph(keras_graph: Any, features: tuple[sp.Symbol, ...],
                targets: tuple[sp.Symbol, ...]) -> Graph:
    """Convert every layer of a read Keras model once and lay out its calls as a graph."""
    tensor: dict[str, str] = {}
    symbols: dict[str, sp.MatrixSymbol] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    scalars: dict[str, tuple[sp.Symbol, ...]] = {}
    start = 0
    many = len(keras_graph.inputs) > 1
    for i, (key, shape) in enumerate(zip(keras_graph.inputs, keras_graph.input_shapes)):
        name = f"x^({i + 1})" if many else "x"
        tensor[key], shapes[name] = name, tuple(shape)
        symbols[name] = sp.MatrixSymbol(name, *matrix_shape(shape))
        scalars[key] = features[start:start + math.prod(shape)]
        start += math.prod(shape)

    layers = keras_graph.layers
    numbering: dict[int, int] = {}
    for _, layer in layers:
        if layer_kind(layer) != "InputLayer":
            numbering[id(layer)] = len(numbering) + 1
    converted: dict[int, LayerFormula] = {}
    first_options: dict[int, Any] = {}
    times_called: dict[int, int] = {}
    nodes: list[Node] = []
    calls: list[LayerCall] = []
    for knode in keras_graph.nodes:
        layer = knode.layer
        if layer_kind(layer) == "InputLayer":
            name = tensor.get(knode.output)
            if name is not None and id(layer) not in converted and any(
                    layer is m for _, m in layers):
                converted[id(layer)] = convert_layer(
                    layer, knode.name, 0, list(knode.input_shapes), list(knode.output_shapes),
                    (symbols[name],), (symbols[name],), scalars.get(knode.output, ()))
            continue
        # an operation (x + y, keras.ops.mean) is not in model.layers: numbered as it comes
        k = numbering.setdefault(id(layer), len(numbering) + 1)
        stem = "y" if keras_graph.outputs == (knode.output,) else f"h_{k}"
        times_called[id(layer)] = times_called.get(id(layer), 0) + 1
        if times_called[id(layer)] > 1:  # a shared layer: one formula, one symbol per call
            stem = f"{stem}^({times_called[id(layer)]})"
        out_names = _output_names(stem, len(knode.outputs))
        out_symbols = tuple(sp.MatrixSymbol(n, *matrix_shape(s))
                            for n, s in zip(out_names, knode.output_shapes))
        in_names = [tensor[key] for key in knode.inputs]
        if id(layer) not in converted:
            converted[id(layer)] = convert_layer(
                layer, knode.name, k, list(knode.input_shapes), list(knode.output_shapes),
                tuple(symbols[n] for n in in_names), out_symbols, roles=knode.roles,
                options=knode.options)
        elif dict(knode.options) != dict(first_options.get(id(layer), ())):
            raise UnsupportedLayerError(
                f"layer {knode.name!r} is called with different options "
                f"({dict(knode.options)} here); one formula per layer needs the same call",
                layer=knode.name, kind=layer_kind(layer))
        first_options.setdefault(id(layer), knode.options)
        formula = converted[id(layer)]
        first = len(nodes)
        values = list(in_names)
        for j, step in enumerate(formula.steps):
            value = len(in_names) + j
            name = (out_names[formula.outputs.index(value)] if value in formula.outputs
                    else f"{stem}~{j}")
            shapes[name] = tuple(step.op.output_shape(*[shapes[values[i]] for i in step.inputs]))
            nodes.append(Node(step.op, tuple(values[i] for i in step.inputs), name, knode.name))
            values.append(name)
        for out_name, expected in zip(out_names, knode.output_shapes):
            if shapes.get(out_name) != tuple(expected):
                got = shapes.get(out_name, "no output")
                raise UnsupportedLayerError(
                    f"layer {knode.name!r} ({layer_kind(layer)}): its ops give shape {got}, "
                    f"Keras gives {tuple(expected)}; refusing a formula that does not fit",
                    layer=knode.name, kind=layer_kind(layer))
        for key, out_name, out_symbol in zip(knode.outputs, out_names, out_symbols):
            tensor[key], symbols[out_name] = out_name, out_symbol
        calls.append(LayerCall(formula, tuple(in_names), tuple(out_names),
                               tuple(range(first, len(nodes)))))
    return Graph(
        layers=_with_operations([converted[id(layer)] for _, layer in layers
                                 if id(layer) in converted], calls),
        calls=tuple(calls), nodes=tuple(nodes),
        inputs=tuple(tensor[k] for k in keras_graph.inputs),
        outputs=tuple(tensor[k] for k in keras_graph.outputs),
        shapes=shapes, symbols=symbols, features=features, targets=targets)


def _with_operations(formulas: list[LayerFormula], calls: list[LayerCall]
                     ) -> tuple[LayerFormula, ...]:
    """The layers' formulas in ``model.layers`` order, each operation's (not a layer: not in
    ``model.layers``) placed right after the last formula that feeds it."""
    out = list(formulas)
    placed: list[LayerFormula] = []
    made_by: dict[str, LayerFormula] = {}
    for call in calls:
        layer = call.layer
        if not any(layer is f for f in out):
            feeders = [made_by[k] for k in call.inputs if k in made_by]
            places = [i for i, f in enumerate(out) if any(f is g for g in feeders)]
            inputs = [i for i, f in enumerate(out) if f.is_input]
            at = max(places or inputs or [-1]) + 1
            while at < len(out) and any(out[at] is f for f in placed):
                at += 1  # after the operations placed there before it: execution order
            out.insert(at, layer)
            placed.append(layer)
        for k in call.outputs:
            made_by[k] = layer
    return tuple(out)
