"""``LSTM``, ``GRU`` and ``RNN``: ONNX's recurrent operators, as symnet's recurrent op.

ONNX stores ``W`` (gates·hidden, input), ``R`` (gates·hidden, hidden) and the biases ``Wb``,
``Rb`` per direction, its gates in the order LSTM ``i, o, f, c``, GRU ``z, r, h``. The op
computes ``x_t K + h_{t−1} U + b`` with Keras' layout and gate order, so the arrays are shown
transposed and regrouped (the meaning of each says how, and the layer's note).

Honoured: ``direction`` (forward, reverse, bidirectional: one op per direction, their outputs
side by side as ONNX lays them out), ``clip`` (each gate's input clipped before its
activation, as ONNX Runtime does; an LSTM's cell state is not clipped), ``layout`` (0:
sequence first, 1: batch first — ONNX Runtime runs only 0, so layout 1 is checked against
ONNX's reference implementation), an initial state stored in the file (``initial_h``,
``initial_c``), ``sequence_lens`` equal to the sequence's length, ``linear_before_reset``, the
activations Sigmoid/Tanh/Relu, and a batch the exporter fixed inside the model (the sample
then holds that many sequences, each run alone). Refused by name: peepholes, ``input_forget``,
activation alphas, shorter sequences, an initial state computed from the input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops import Concat, Rearrange, Reshape
from ..ops.activations import ACTIVATIONS
from ..ops.recurrent import Recurrent
from . import BatchTouched, NodeContext, converter
from .core import f32

#: ONNX's gate order -> Keras' (the op's): the block of ONNX each Keras block is.
_ORDER = {"LSTM": (0, 2, 3, 1), "GRU": (0, 1, 2), "RNN": (0,)}
_CELL = {"LSTM": "lstm", "GRU": "gru", "RNN": "simple"}
_DEFAULT_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"],
                        "RNN": ["Tanh"]}
_FUNCTIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "Relu": "relu"}
_GATES = {"LSTM": "i, f, c, o", "GRU": "z, r, h", "RNN": "h"}
_ONNX_GATES = {"LSTM": "i, o, f, c", "GRU": "z, r, h", "RNN": "h"}


def _blocks(array: np.ndarray, gates: int, order: tuple[int, ...]) -> np.ndarray:
    """The gate blocks (first axis) regrouped into Keras' order."""
    size = array.shape[0] // gates
    return np.concatenate([array[k * size:(k + 1) * size] for k in order], axis=0)


def _activations(ctx: NodeContext, op_type: str, directions: int) -> list[tuple[Any, Any]]:
    """Per direction: (activation, recurrent activation) as the op takes them."""
    count = len(_DEFAULT_ACTIVATIONS[op_type])
    names = [str(a) for a in (ctx.attr("activations") or
                              _DEFAULT_ACTIVATIONS[op_type] * directions)]
    if ctx.attr("activation_alpha") is not None or ctx.attr("activation_beta") is not None:
        raise ctx.reject("activation_alpha/beta are not supported")
    unknown = [a for a in names if a not in _FUNCTIONS]
    if unknown or len(names) != count * directions:
        raise ctx.reject(f"activations {names} are not supported ({count} per direction, of "
                         "Sigmoid, Tanh, Relu)")
    out = []
    for d in range(directions):
        mine = names[d * count:(d + 1) * count]
        if op_type == "LSTM" and mine[1] != mine[2]:
            raise ctx.reject(f"activations {mine}: the cell's and the output's must be the "
                             "same")
        fns = [ACTIVATIONS[_FUNCTIONS[a]].fn for a in mine]  # type: ignore[union-attr]
        out.append((fns[0], None) if op_type == "RNN" else (fns[-1], fns[0]))
    return out


def _initial(ctx: NodeContext, k: int, what: str, directions: int, inner: int, hidden: int,
             layout: int) -> list[np.ndarray | None]:
    """A stored initial state per direction ((sequences, hidden), or ``None`` for zeros);
    the file holds it (directions, batch, hidden), batch first in layout 1."""
    if not ctx.given(k):
        return [None] * directions
    if not ctx.is_const(k):
        raise ctx.reject(f"{what} is computed from the input; symnet takes an initial state "
                         "stored in the file")
    value = np.asarray(ctx.const(k, what))
    if layout == 1 and value.ndim == 3:
        value = np.swapaxes(value, 0, 1)
    batch = ctx.builder.batch_value if ctx.builder.batch else inner
    if value.ndim != 3 or value.shape[0] != directions or value.shape[2] != hidden or \
            value.shape[1] not in (1, batch):
        raise ctx.reject(f"{what} has shape {value.shape}; expected ({directions}, {batch}, "
                         f"{hidden})")
    if ctx.builder.batch and value.shape[1] != 1:
        raise BatchTouched(f"node {ctx.node.label!r}: its {what} varies along the batch")
    return [None if not np.any(value[d]) else np.ascontiguousarray(value[d])
            for d in range(directions)]


@converter("LSTM", "GRU", "RNN")
def recurrent(ctx: NodeContext) -> Any:
    op_type = ctx.node.op_type
    gates = len(_ORDER[op_type])
    hidden = int(ctx.attr("hidden_size"))
    direction = ctx.attr("direction", "forward")
    if direction not in ("forward", "reverse", "bidirectional"):
        raise ctx.reject(f"direction {direction!r} is not supported")
    directions = 2 if direction == "bidirectional" else 1
    clip = ctx.attr("clip")
    if clip is not None:
        clip = f32(clip)
        if not clip > 0:
            raise ctx.reject(f"clip = {clip}: a clipping threshold must be positive")
    if int(ctx.attr("input_forget", 0)):
        raise ctx.reject("input_forget = 1 is not supported")
    functions = _activations(ctx, op_type, directions)
    linear_before_reset = int(ctx.attr("linear_before_reset", 0)) if op_type == "GRU" else 1
    layout = int(ctx.attr("layout", 0))
    if ctx.given(7):
        raise ctx.reject("peepholes (P) are not supported")
    x = ctx.tensor(0)
    full = ctx.full_shape(x)
    if len(full) != 3:
        raise ctx.reject(f"input of shape {full}; expected 3 axes")
    seq_axis, batch_axis = (0, 1) if layout == 0 else (1, 0)
    if ctx.builder.batch:
        if batch_axis != 0:
            raise BatchTouched(f"node {ctx.node.label!r} ({op_type}) has its batch on axis 1")
        steps, features, inner = full[1], full[2], 1
    else:
        steps, features, inner = full[seq_axis], full[2], full[batch_axis]
        if inner == 1:
            x = ctx.apply(Reshape(ctx.shape(x), (steps, features)), x)
        elif layout == 0:  # (steps, sequences, features) -> (sequences, steps, features)
            x = ctx.apply(Rearrange("permute", ctx.shape(x), (inner, steps, features),
                                    (1, 0, 2)), x)
    if ctx.given(4):
        lens = np.asarray(ctx.const(4, "sequence_lens")).reshape(-1)
        if np.any(lens != steps):
            raise ctx.reject("sequence_lens shorter than the sequence are not supported")
    w, r = ctx.const(1, "W"), ctx.const(2, "R")
    if w.shape != (directions, gates * hidden, features) or \
            r.shape != (directions, gates * hidden, hidden):
        raise ctx.reject(f"W {w.shape} and R {r.shape} do not fit {directions} direction(s), "
                         f"{features} features and {hidden} units")
    b = ctx.const(3, "B").reshape(directions, 2, gates * hidden) if ctx.given(3) else None
    states = [_initial(ctx, 5, "initial_h", directions, inner, hidden, layout),
              _initial(ctx, 6, "initial_c", directions, inner, hidden, layout)
              if op_type == "LSTM" else [None] * directions]
    ctx.note(f"ONNX stores the gates in the order {_ONNX_GATES[op_type]}, W as (gates·units, "
             f"input) and R as (gates·units, units); shown regrouped in the order "
             f"{_GATES[op_type]} and transposed, so that a step is x_t W + h_(t−1) U + b"
             + (". The two directions run separately: the sequence backwards with its own "
                "arrays, their outputs side by side" if directions == 2 else "")
             + (f". The sample holds {inner} sequences (a batch fixed by the exporter), each "
                "run alone" if inner > 1 else ""))
    per_direction = []
    for d in range(directions):
        backwards = direction == "reverse" or d == 1
        ops = _direction_ops(ctx, op_type, d, directions, w, r, b, hidden, features,
                             functions[d], bool(linear_before_reset), backwards, clip,
                             [s[d] for s in states], inner)
        per_direction.append(ops)
    outputs: list[Any] = []
    for k, emit in enumerate(("sequence", "last", "carry")):
        if k >= len(ctx.node.outputs) or not ctx.node.outputs[k] or (
                emit == "carry" and op_type != "LSTM") or \
                not ctx.builder._read_later(ctx.node.outputs[k]):
            outputs.append(None)
            continue
        parts = [_emitted(ctx, ops, emit, x, steps, hidden, inner, backwards=direction ==
                          "reverse" or d == 1, layout=layout)
                 for d, ops in enumerate(per_direction)]
        if len(parts) == 1:
            outputs.append(parts[0])
            continue
        axis = _direction_axis(ctx, emit, layout)
        shapes = tuple(ctx.shape(p) for p in parts)
        outputs.append(ctx.apply(Concat(axis, shapes), *parts))
    return outputs


def _direction_ops(ctx: NodeContext, op_type: str, d: int, directions: int, w: np.ndarray,
                   r: np.ndarray, b: np.ndarray | None, hidden: int, features: int,
                   functions: tuple[Any, Any], reset_after: bool, backwards: bool,
                   clip: float | None, states: list[np.ndarray | None], inner: int
                   ) -> dict[str, Any]:
    """The op of one direction (its emitted values are made by :func:`_emitted`)."""
    order = _ORDER[op_type]
    gates = len(order)
    which = "" if directions == 1 else (" (forward direction)" if d == 0 else
                                        " (backward direction)")
    gate_names, onnx_gates = _GATES[op_type], _ONNX_GATES[op_type]
    kernel = ctx.param(None, "W", f"W[{d}] of the file ({gates}·{hidden}, {features}), gates "
                       f"{onnx_gates}{which}: shown transposed to (input, gates·units), gates "
                       f"{gate_names}", value=np.ascontiguousarray(_blocks(w[d], gates, order).T),
                       name=ctx.source_name(ctx.node.inputs[1]))
    rec = ctx.param(None, "U", f"R[{d}] of the file ({gates}·{hidden}, {hidden}){which}: shown "
                    f"transposed to (units, gates·units), gates {gate_names}",
                    value=np.ascontiguousarray(_blocks(r[d], gates, order).T),
                    name=ctx.source_name(ctx.node.inputs[2]))
    bias = None
    if b is not None:
        wb, rb = _blocks(b[d, 0], gates, order), _blocks(b[d, 1], gates, order)
        name = ctx.source_name(ctx.node.inputs[3])
        if op_type == "GRU" and reset_after:
            bias = ctx.param(None, "b", f"Wb and Rb of the file{which}, rows (input bias, "
                             f"recurrent bias), gates {gate_names}", value=np.stack([wb, rb]),
                             name=name)
        else:
            bias = ctx.param(None, "b", f"Wb + Rb of the file{which} (one bias per gate unit), "
                             f"gates {gate_names}", value=(wb + rb).astype(np.float32),
                             name=name)
    elif op_type == "GRU" and reset_after:
        bias = ctx.param(None, "b", f"zero biases (none in the file){which}",
                         value=np.zeros((2, gates * hidden), np.float32), name="B (zeros)")
    initial: list[Any] = []
    h0, c0 = states
    if h0 is not None or c0 is not None:
        zeros = np.zeros((max(inner, 1), hidden), np.float32)
        initial.append(ctx.param(None, "h0", f"initial_h[{d}] of the file{which}: the state "
                                 "the sequence starts from", value=zeros if h0 is None else h0,
                                 name=ctx.source_name(ctx.node.inputs[5]) if ctx.given(5)
                                 else "initial_h (zeros)"))
        if op_type == "LSTM":
            initial.append(ctx.param(None, "c0", f"initial_c[{d}] of the file{which}: the "
                                     "cell state the sequence starts from",
                                     value=zeros if c0 is None else c0,
                                     name=ctx.source_name(ctx.node.inputs[6]) if ctx.given(6)
                                     else "initial_c (zeros)"))
    activation, recurrent_activation = functions
    return {"args": (_CELL[op_type], kernel, rec, bias, hidden, activation,
                     recurrent_activation),
            "options": {"reset_after": reset_after, "go_backwards": backwards, "clip": clip,
                        "initial_state": tuple(initial), "sequences": max(inner, 1)}}


def _emitted(ctx: NodeContext, ops: dict[str, Any], emit: str, x: str, steps: int,
             hidden: int, inner: int, *, backwards: bool, layout: int) -> str:
    """One direction's ``Y`` (emit ``sequence``), ``Y_h`` or ``Y_c``, in ONNX's layout with
    its direction axis of 1."""
    h = ctx.apply(Recurrent(*ops["args"], emit=emit, **ops["options"]), x)
    batch = ctx.builder.batch
    n = max(inner, 1)
    if emit == "sequence":
        shape = ctx.shape(h)  # (steps, H) or (sequences, steps, H)
        if backwards:  # ONNX gives Y in the input's time order
            flags = (1, 0) if len(shape) == 2 else (0, 1, 0)
            h = ctx.apply(Rearrange("reverse", shape, shape, flags), h)
        if batch:
            target: tuple[int, ...] = (steps, 1, hidden)            # layout 1: (steps, 1, H)
        elif layout == 0:
            if n > 1:  # (sequences, steps, H) -> (steps, sequences, H)
                h = ctx.apply(Rearrange("permute", shape, (steps, n, hidden), (1, 0, 2)), h)
            target = (steps, 1, n, hidden)
        else:
            target = (n, steps, 1, hidden)
    else:
        if batch:
            target = (1, hidden)
        else:
            target = (1, n, hidden) if layout == 0 else (n, 1, hidden)
    return ctx.apply(Reshape(ctx.shape(h), target), h)


def _direction_axis(ctx: NodeContext, emit: str, layout: int) -> int:
    """The per-sample axis along which the directions sit side by side."""
    if emit == "sequence":
        return 1 if (ctx.builder.batch or layout == 0) else 2
    return 0 if (ctx.builder.batch or layout == 0) else 1
