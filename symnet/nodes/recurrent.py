"""``LSTM``, ``GRU`` and ``RNN``: ONNX's recurrent operators, as symnet's recurrent op.

ONNX stores ``W`` (gates·hidden, input), ``R`` (gates·hidden, hidden) and the biases ``Wb``,
``Rb`` per direction, its gates in the order LSTM ``i, o, f, c``, GRU ``z, r, h``. The op
computes ``x_t K + h_{t−1} U + b`` with Keras' layout and gate order, so the arrays are shown
transposed and regrouped (the meaning of each says how), from a zero state: an initial state
must be zeros, every sequence full length, no peepholes, no clipping."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops import Rearrange, Reshape
from ..ops.activations import ACTIVATIONS
from ..ops.recurrent import Recurrent
from . import BatchTouched, NodeContext, converter

#: ONNX's gate order -> Keras' (the op's): the block of ONNX each Keras block is.
_ORDER = {"LSTM": (0, 2, 3, 1), "GRU": (0, 1, 2), "RNN": (0,)}
_CELL = {"LSTM": "lstm", "GRU": "gru", "RNN": "simple"}
_DEFAULT_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"],
                        "RNN": ["Tanh"]}
_FUNCTIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "Relu": "relu"}


def _blocks(array: np.ndarray, gates: int, order: tuple[int, ...]) -> np.ndarray:
    """The gate blocks (first axis) regrouped into Keras' order."""
    size = array.shape[0] // gates
    return np.concatenate([array[k * size:(k + 1) * size] for k in order], axis=0)


@converter("LSTM", "GRU", "RNN")
def recurrent(ctx: NodeContext) -> Any:
    op_type = ctx.node.op_type
    cell, order = _CELL[op_type], _ORDER[op_type]
    gates = len(order)
    hidden = int(ctx.attr("hidden_size"))
    direction = ctx.attr("direction", "forward")
    if direction not in ("forward", "reverse"):
        raise ctx.reject(f"direction {direction!r} is not supported (forward or reverse)")
    if ctx.attr("clip") is not None:
        raise ctx.reject("clip is not supported")
    if int(ctx.attr("input_forget", 0)):
        raise ctx.reject("input_forget = 1 is not supported")
    names = [str(a) for a in (ctx.attr("activations") or _DEFAULT_ACTIVATIONS[op_type])]
    if ctx.attr("activation_alpha") is not None or ctx.attr("activation_beta") is not None:
        raise ctx.reject("activation_alpha/beta are not supported")
    unknown = [a for a in names if a not in _FUNCTIONS]
    if unknown or len(names) != len(_DEFAULT_ACTIVATIONS[op_type]):
        raise ctx.reject(f"activations {names} are not supported (Sigmoid, Tanh, Relu)")
    if op_type == "LSTM" and names[1] != names[2]:
        raise ctx.reject(f"activations {names}: the cell's and the output's must be the same")
    fns = [ACTIVATIONS[_FUNCTIONS[a]].fn for a in names]  # type: ignore[union-attr]
    activation = fns[-1] if op_type != "RNN" else fns[0]
    recurrent_activation = fns[0] if op_type != "RNN" else None
    linear_before_reset = int(ctx.attr("linear_before_reset", 0)) if op_type == "GRU" else 1
    layout = int(ctx.attr("layout", 0))
    for k, what in ((4, "sequence_lens"), (5, "initial_h"), (6, "initial_c"), (7, "P")):
        if not ctx.given(k):
            continue
        if k == 7:
            raise ctx.reject("peepholes (P) are not supported")
        value = ctx.const(k, what)
        if k == 4:
            continue  # checked below, against the sequence length
        if np.any(value != 0):
            raise ctx.reject(f"{what} is not zero: symnet's recurrent op starts from a zero "
                             "state")
    x = ctx.tensor(0)
    full = ctx.full_shape(x)
    if len(full) != 3:
        raise ctx.reject(f"input of shape {full}; expected 3 axes")
    seq_axis, batch_axis = (0, 1) if layout == 0 else (1, 0)
    if ctx.builder.batch:
        if batch_axis != 0:
            raise BatchTouched(f"node {ctx.node.label!r} ({op_type}) has its batch on axis 1")
        steps, features = full[1], full[2]
    else:
        if full[batch_axis] != 1:
            raise ctx.reject(f"input of shape {full}: a batch of {full[batch_axis]} fixed inside "
                             "one sample is not supported")
        steps, features = full[seq_axis], full[2]
        x = ctx.apply(Reshape(ctx.shape(x), (steps, features)), x)
    if ctx.given(4):
        lens = np.asarray(ctx.const(4)).reshape(-1)
        if np.any(lens != steps):
            raise ctx.reject("sequence_lens shorter than the sequence are not supported")
    w, r = ctx.const(1, "W"), ctx.const(2, "R")
    if w.shape != (1, gates * hidden, features) or r.shape != (1, gates * hidden, hidden):
        raise ctx.reject(f"W {w.shape} and R {r.shape} do not fit {features} features and "
                         f"{hidden} units")
    gate_names = {"LSTM": "i, f, c, o", "GRU": "z, r, h", "RNN": "h"}[op_type]
    onnx_gates = {"LSTM": "i, o, f, c", "GRU": "z, r, h", "RNN": "h"}[op_type]
    kernel = ctx.param(None, "W", f"W of the file ({gates}·{hidden}, {features}), gates "
                       f"{onnx_gates}: shown transposed to (input, gates·units), gates "
                       f"{gate_names}", value=np.ascontiguousarray(_blocks(w[0], gates, order).T),
                       name=ctx.source_name(ctx.node.inputs[1]))
    rec = ctx.param(None, "U", f"R of the file ({gates}·{hidden}, {hidden}): shown transposed "
                    f"to (units, gates·units), gates {gate_names}",
                    value=np.ascontiguousarray(_blocks(r[0], gates, order).T),
                    name=ctx.source_name(ctx.node.inputs[2]))
    bias = None
    if ctx.given(3):
        b = ctx.const(3, "B").reshape(2, gates * hidden)
        wb, rb = _blocks(b[0], gates, order), _blocks(b[1], gates, order)
        name = ctx.source_name(ctx.node.inputs[3])
        if op_type == "GRU" and linear_before_reset:
            bias = ctx.param(None, "b", "Wb and Rb of the file, rows (input bias, recurrent "
                             f"bias), gates {gate_names}", value=np.stack([wb, rb]), name=name)
        else:
            bias = ctx.param(None, "b", f"Wb + Rb of the file (one bias per gate unit), gates "
                             f"{gate_names}", value=(wb + rb).astype(np.float32), name=name)
    elif op_type == "GRU" and linear_before_reset:
        bias = ctx.param(None, "b", "zero biases (none in the file)",
                         value=np.zeros((2, gates * hidden), np.float32), name="B (zeros)")
    outputs: list[Any] = []
    backwards = direction == "reverse"
    for k, emit in enumerate(("sequence", "last", "carry")):
        if k >= len(ctx.node.outputs) or not ctx.node.outputs[k] or (
                emit == "carry" and op_type != "LSTM"):
            outputs.append(None)
            continue
        op = Recurrent(cell, kernel, rec, bias, hidden, activation, recurrent_activation,
                       reset_after=bool(linear_before_reset), go_backwards=backwards, emit=emit)
        h = ctx.apply(op, x)
        if emit == "sequence":
            if backwards:  # ONNX gives Y in the input's time order
                h = ctx.apply(Rearrange("reverse", (steps, hidden), (steps, hidden), (1, 0)), h)
            shape = (steps, 1, hidden) if ctx.builder.batch else (
                (steps, 1, 1, hidden) if layout == 0 else (1, steps, 1, hidden))
        else:
            shape = (1, hidden) if ctx.builder.batch else (1, 1, hidden)
        outputs.append(ctx.apply(Reshape(ctx.shape(h), shape), h))
    return outputs
