"""The hand calculation of backpropagation, for one sample: per layer, from the output back,
the formula of its δ and of the gradient of each of its weights, the formula with the numbers
put in, and the values — as a textbook writes it::

    δ_2 = ŷ − t                      (softmax + crossentropy, or a linear output with ½ Σ (y − t)²)
    ∂L/∂W_2 = h_1ᵀ δ_2      ∂L/∂b_2 = δ_2 (Σ over the samples of a batch)
    δ_1 = (δ_2 W_2ᵀ) ⊙ relu′(z_1)
    ∂L/∂W_1 = xᵀ δ_1 ...

The formulas come from the ops (:meth:`symnet.ops.Op.backward_formula`), the numbers from the
gradient's own run (:class:`symnet.analysis.gradients.BackwardRun`): the same definition.
An op without a textbook form is written as its vector–Jacobian product ``J_op(g)``.

The record holds numbers and SymPy objects only; printers make text, LaTeX or JSON of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixExpr

from ..display import Displayed
from ..graph import Graph, LayerCall, Node
from ..ops import Param, matrix_shape
from .gradients import delta_tensor, finish
from .losses import Loss, T, Y

__all__ = ["BackwardStep", "BackwardTrace", "LossStep", "Quantity", "VectorJacobian",
           "backward_trace"]

#: Arrays with more entries than this stay symbols in the substituted formulas.
MAX_SHOWN = 64


class VectorJacobian(MatrixExpr):
    """``J_op(g)``: the vector–Jacobian product of an op that has no textbook form, ``g``
    pulled back through it (shaped like the op's input)."""

    def __new__(cls, g: Any, name: Any, rows: Any, cols: Any) -> VectorJacobian:
        name = name if isinstance(name, sp.Symbol) else sp.Symbol(str(name))
        return MatrixExpr.__new__(cls, g, name, sp.Integer(rows), sp.Integer(cols))

    @property
    def shape(self) -> tuple[Any, Any]:
        return (self.args[2], self.args[3])

    def _latex(self, printer: Any) -> str:
        return rf"J_{{\mathrm{{{self.args[1]}}}}}^{{T}}\left({printer._print(self.args[0])}\right)"

    def _sympystr(self, printer: Any) -> str:
        return f"J_{self.args[1]}^T({printer._print(self.args[0])})"


@dataclass(frozen=True, eq=False)
class Quantity:
    """One quantity of the hand calculation."""

    symbol: Any
    """What it is: a matrix symbol (``δ_2``, ``z_1``), or, when :attr:`gradient`, the symbol
    the loss is differentiated by (``W_2`` for ``∂L/∂W_2``)."""
    formula: Any
    """Its formula (SymPy), or ``None``."""
    substituted: Any
    """The formula with this sample's numbers put in (arrays of more than ``MAX_SHOWN``
    entries stay symbols), or ``None``."""
    value: np.ndarray = field(repr=False)
    """Its numbers: per-sample shape; a parameter's gradient summed over the batch."""
    gradient: bool = False
    """``∂L/∂symbol`` rather than ``symbol`` itself."""
    key: str = ""
    """For a parameter: its ``"layer/weight"`` name."""


@dataclass(frozen=True, eq=False)
class BackwardStep:
    """One layer call, the output layer first."""

    layer: str
    kind: str
    output_gradient: Quantity
    """``∂L/∂h``: the gradient that reaches the layer's output."""
    delta: Quantity
    """``δ = ∂L/∂z`` at the input of the layer's final activation (else at its output)."""
    pre_activation: Quantity | None = None
    """``z`` (the values δ is taken at), for a layer that ends with an activation."""
    slope: Quantity | None = None
    """``f'(z)`` entry by entry, for an elementwise activation."""
    parameters: tuple[Quantity, ...] = ()
    """``∂L/∂`` each weight array of the layer."""
    input_gradient: tuple[Quantity, ...] = ()
    """``∂L/∂`` each input of the layer (what the layer before receives)."""
    inputs: tuple[np.ndarray, ...] = field(default=(), repr=False)
    """The layer's input values for the sample (what the gradients multiply)."""


@dataclass(frozen=True, eq=False)
class LossStep:
    loss: Quantity
    """The loss (for the whole batch) and, for one sample, its formula."""
    gradients: tuple[Quantity, ...]
    """``∂L/∂y`` of each output — or, when Keras computes the loss from the logits of a final
    sigmoid or softmax, the output layer's δ at those logits, ``(ŷ − t)`` over the mean."""
    fused: tuple[bool, ...]
    targets: tuple[np.ndarray, ...] = field(default=(), repr=False)


@dataclass(frozen=True, eq=False)
class BackwardTrace(Displayed):
    """:meth:`symnet.analysis.gradients.Gradient.trace`: backpropagation for one sample."""

    sample: int
    batch: int
    precision: str
    loss_name: str
    loss: LossStep
    steps: tuple[BackwardStep, ...]

    def step(self, layer: str) -> BackwardStep:
        for s in self.steps:
            if s.layer == layer:
                return s
        raise KeyError(f"no layer named {layer!r} in the trace")


def _layer_number(graph: Graph, call: LayerCall) -> int:
    numbered = [layer for layer in graph.layers if not layer.is_input]
    for k, layer in enumerate(numbered, start=1):
        if layer is call.layer:
            return k
    return 0


def _matrix(values: Any, shape: tuple[Any, Any], exact: bool) -> sp.ImmutableMatrix:
    rows, cols = (int(d) for d in shape)
    flat = np.asarray(values, dtype=object).reshape(-1)
    entries = [v if exact and isinstance(v, sp.Basic) else sp.Float(float(v), 10)
               for v in flat]
    return sp.ImmutableMatrix(rows, cols, entries)


def _shape_of(graph: Graph, tensor: str) -> tuple[int, int]:
    return matrix_shape(tuple(graph.shapes[tensor]))


def backward_trace(graph: Graph, gradient: Any, sample: int = 0) -> BackwardTrace:
    """The trace of a :class:`~symnet.analysis.gradients.Gradient` for one sample."""
    run = gradient.run
    backend = run.backend
    exact = gradient.precision == "exact"
    batch = int(np.shape(run.values[graph.inputs[0]])[0])
    if not 0 <= sample < batch:
        raise IndexError(f"sample {sample} of a batch of {batch}")
    one = batch == 1

    def value(tensor: str) -> np.ndarray:
        return finish(backend, run.values[tensor])[sample]

    def grad(tensor: str) -> np.ndarray:
        g = run.grads.get(tensor)
        return finish(backend, g)[sample] if g is not None else np.zeros(
            np.shape(run.values[tensor])[1:])

    subs: dict[Any, Any] = {}

    def put(symbol: Any, numbers: Any) -> None:
        if symbol is None:
            return
        if not getattr(symbol, "is_Matrix", False):  # a constant's symbol (ε)
            subs[symbol] = numbers
        elif np.size(numbers) <= MAX_SHOWN:
            subs[symbol] = _matrix(numbers, symbol.shape, exact)

    def substituted(formula: Any) -> Any:
        if formula is None or not one:
            return None
        return formula.xreplace(subs)

    loss_step, expressions = _loss_step(graph, gradient, sample, put, substituted, value, grad)
    steps = []
    for call in reversed(graph.calls):
        step = _layer_step(graph, run, call, expressions, value, grad, put, substituted,
                           one, sample, gradient.keys)
        if step is not None:
            steps.append(step)
    return BackwardTrace(sample, batch, gradient.precision, gradient.loss_name, loss_step,
                         tuple(steps))


def _loss_step(graph: Graph, gradient: Any, sample: int, put: Any, substituted: Any,
               value: Any, grad: Any) -> tuple[LossStep, dict[str, Any]]:
    """The loss and its gradient at each output (or at the logits when fused), with the
    formula of that gradient; the expressions the layers' formulas start from."""
    from .losses import loss_of

    run = gradient.run
    spec = loss_of(gradient.loss_name)
    expressions: dict[str, Any] = {}
    quantities, fused_flags, targets = [], [], []
    count = run.loss.count
    batch = int(np.shape(run.values[graph.outputs[0]])[0])
    for k, (out, target) in enumerate(zip(graph.outputs, run.targets)):
        at = run.logits[out]
        fused = at != out
        y = graph.symbols[out]
        rows, cols = (int(d) for d in y.shape)
        t = sp.MatrixSymbol("t" if len(graph.outputs) == 1 else f"t^({k + 1})", rows, cols)
        t_value = np.asarray(finish(run.backend, target) if np.asarray(target).dtype == object
                             else target)[sample]
        if spec.sparse:  # class indices: t is their one-hot rows
            labels = np.asarray(t_value, dtype=np.float64).astype(np.int64)
            t_value = (np.arange(cols) == labels[..., None]).astype(np.int64)
        put(t, t_value)
        targets.append(t_value)
        put(y, value(out))
        formula = _loss_gradient_formula(spec, y, t, fused, count, batch, cols)
        g = grad(at)
        symbol = y
        if fused:  # the output layer's pre-activation z_k
            call = next((c for c in graph.calls if any(
                run.nodes[i].output == at for i in c.nodes)), None)
            if call is not None:
                symbol = sp.MatrixSymbol(f"z_{_layer_number(graph, call)}", rows, cols)
        quantities.append(Quantity(symbol, formula, substituted(formula), g, gradient=True))
        fused_flags.append(fused)
        expressions[at] = formula if formula is not None else sp.MatrixSymbol(
            f"dL/d{y.name}", rows, cols)
    loss = Quantity(sp.Symbol("L"), _loss_formula(spec, graph, batch), None,
                    np.asarray(gradient.loss))
    return LossStep(loss, tuple(quantities), tuple(fused_flags), tuple(targets)), expressions


def _loss_formula(spec: Loss, graph: Graph, batch: int) -> Any:
    """``L`` for one sample over the output entries (a formula loss, or MSE/MAE), when small."""
    y = graph.symbols[graph.outputs[0]]
    if len(graph.outputs) != 1 or math.prod(y.shape) > MAX_SHOWN:
        return None
    rows, cols = (int(d) for d in y.shape)
    t = sp.MatrixSymbol("t", rows, cols)
    pairs = [(y[i, j], t[i, j]) for i in range(rows) for j in range(cols)]
    if not spec.keras:
        return sp.Add(*[spec.formula.xreplace({Y: a, T: b}) for a, b in pairs])
    if spec.name == "mean_squared_error":
        return sp.Add(*[(a - b) ** 2 for a, b in pairs]) / (batch * rows * cols)
    if spec.name == "mean_absolute_error":
        return sp.Add(*[sp.Abs(a - b) for a, b in pairs]) / (batch * rows * cols)
    return None


def _loss_gradient_formula(spec: Loss, y: Any, t: Any, fused: bool, count: int, batch: int,
                           cols: int) -> Any:
    """``∂L/∂y`` (or the δ at the logits when fused) as a matrix expression of ``y`` and
    ``t``; ``None`` when it has no short form (the unfused crossentropies)."""
    rows = int(y.shape[0])
    if not spec.keras:
        entries = [spec.derivative.xreplace({Y: y[i, j], T: t[i, j]})
                   for i in range(rows) for j in range(cols)]
        return sp.ImmutableMatrix(rows, cols, entries) if rows * cols <= MAX_SHOWN else None
    n = sp.Integer(count)
    if fused:
        # Keras' logits path: σ(z) − t or softmax(z) − t, over the mean's count
        if spec.name == "binary_crossentropy":
            return (y - t) / (n * cols)
        return (y - t) / n
    if spec.name == "mean_squared_error":
        return 2 * (y - t) / (n * cols)
    if spec.name == "mean_absolute_error":
        sign = sp.Lambda(T, sp.sign(T))
        from ..functions import Entrywise

        return Entrywise(sign, y - t) / (n * cols)
    return None


def _layer_step(graph: Graph, run: Any, call: LayerCall, expressions: dict[str, Any],
                value: Any, grad: Any, put: Any, substituted: Any, one: bool,
                sample: int, gradient_keys: Any) -> BackwardStep | None:
    nodes = run.nodes
    if call.output not in run.grads and not any(t in run.grads for t in
                                                (nodes[i].output for i in call.nodes)):
        return None
    k = _layer_number(graph, call)
    out_symbol = graph.symbols[call.output]
    delta_at = delta_tensor(nodes, call)
    delta_shape = _shape_of(graph, delta_at)
    delta = sp.MatrixSymbol(f"delta_{k}", *delta_shape)
    # the symbols of the tensors this layer's formulas name
    symbols: dict[str, Any] = {name: graph.symbols[name] for name in call.inputs}
    symbols[call.output] = out_symbol
    z = None
    if delta_at != call.output:
        z = sp.MatrixSymbol(f"z_{k}", *delta_shape)
        symbols[delta_at] = z
    forward: dict[str, Any] = dict(symbols)
    for i in call.nodes:  # other internal tensors by their forward formula
        node = nodes[i]
        if node.output not in forward:
            forward[node.output] = node.op.formula(*[forward[t] for t in node.inputs])
    for name in call.inputs:
        put(graph.symbols[name], value(name))
    for p in call.layer.params:
        if p.symbol is not None:
            put(p.symbol, p.value)
    for c in call.layer.constant_symbols:
        put(c.symbol, c.exact)
    if z is not None:
        put(z, value(delta_at))
    # ∂L/∂(output): the loss's, and what each later layer sent back
    incoming = expressions.get(call.output)
    output_gradient = Quantity(out_symbol, incoming, substituted(incoming), grad(call.output),
                               gradient=True)
    expr: dict[str, Any] = {}
    if call.output in expressions:
        expr[call.output] = expressions[call.output]
    delta_formula = None
    if delta_at == call.output:
        delta_formula = expr.get(call.output)
        expr[call.output] = delta
    elif delta_at in expressions:  # the loss's gradient at the logits (fused)
        delta_formula = expressions[delta_at]
        expr[delta_at] = delta
    params: dict[Param, Any] = {}
    slope = None
    for i in reversed(call.nodes):
        node = nodes[i]
        g = expr.get(node.output)
        if g is None:
            continue
        if node.output == call.output and delta_at in expr and delta_at != call.output:
            continue  # fused: the loss's gradient is already at the logits
        xs = tuple(forward[t] for t in node.inputs)
        formula = node.op.backward_formula(xs, forward[node.output], g)
        if formula is None:
            shapes = [_shape_of(graph, t) for t in node.inputs]
            inputs = tuple(VectorJacobian(g, type(node.op).__name__, *s) for s in shapes)
            formula_inputs, formula_params = inputs, {
                p: VectorJacobian(g, f"{type(node.op).__name__},{p.name}",
                                  *matrix_shape(p.shape)) for p in node.op.params()}
        else:
            formula_inputs, formula_params = formula.inputs, formula.params
        if node.output == call.output and node.inputs[0] == delta_at:
            delta_formula = formula_inputs[0]
            if hasattr(node.op, "derivative_formula"):
                slope_formula = node.op.derivative_formula(z)
                slope = Quantity(z, slope_formula, substituted(slope_formula),
                                 _slope_value(run, node, delta_at, sample))
            expr[delta_at] = delta
            continue
        for t, e in zip(node.inputs, formula_inputs):
            if e is not None:
                expr[t] = e if t not in expr else expr[t] + e
        params.update(formula_params)
    put(delta, grad(delta_at))
    keys = {p: gradient_keys[p] for p in call.layer.params if p in gradient_keys}
    totals = run.params
    param_quantities = []
    for p, key in keys.items():
        f = params.get(p)
        if f is not None and not one:
            f = _OverSamples(f)
        v = totals.get(p)
        v = np.zeros(p.shape) if v is None else finish(run.backend, np.asarray(v).reshape(p.shape))
        param_quantities.append(Quantity(p.symbol if p.symbol is not None else sp.Symbol(p.name),
                                         f, substituted(f) if one else None, v, gradient=True,
                                         key=key))
    input_quantities = []
    for name in call.inputs:
        e = expr.get(name)
        if e is not None:
            expressions[name] = e if name not in expressions else expressions[name] + e
        input_quantities.append(Quantity(graph.symbols[name], e, substituted(e), grad(name),
                                         gradient=True))
    return BackwardStep(
        layer=call.layer.name, kind=call.layer.kind, output_gradient=output_gradient,
        delta=Quantity(delta, delta_formula, substituted(delta_formula), grad(delta_at)),
        pre_activation=None if z is None else Quantity(z, forward_formula(nodes, call, forward,
                                                                          delta_at),
                                                       None, value(delta_at)),
        slope=slope, parameters=tuple(param_quantities), input_gradient=tuple(input_quantities),
        inputs=tuple(value(name) for name in call.inputs))


def forward_formula(nodes: Any, call: LayerCall, forward: dict[str, Any], tensor: str) -> Any:
    """``z`` as the layer's formula up to its activation (``x W + b``)."""
    for i in call.nodes:
        node = nodes[i]
        if node.output == tensor:
            return node.op.formula(*[forward[t] for t in node.inputs])
    return None


def _slope_value(run: Any, node: Node, at: str, sample: int) -> np.ndarray:
    """``f'(z)`` of an elementwise activation at this sample's ``z``."""
    from ..ops.derivatives import derivative

    z = run.values[at][sample:sample + 1]
    return finish(run.backend, run.backend.map(derivative(node.op.fn), z))[0]


class _OverSamples(MatrixExpr):
    """``Σ_n expr``: a parameter's gradient summed over the samples of the batch."""

    def __new__(cls, expr: Any) -> _OverSamples:
        return MatrixExpr.__new__(cls, expr)

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[0].shape

    def _latex(self, printer: Any) -> str:
        return rf"\sum_{{n}} {printer._print(self.args[0])}"

    def _sympystr(self, printer: Any) -> str:
        return f"Σ_n {printer._print(self.args[0])}"
