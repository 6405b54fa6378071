"""Recurrent layers unrolled: SimpleRNN, GRU (reset after or before), LSTM.

One step of each cell is written once, in :func:`step`, on any backend (Keras' fused order:
``x_t K + h_{t-1} U + b``, then the gates in the order Keras stores them: GRU ``z, r, h``, LSTM
``i, f, c, o``). :class:`Recurrent` runs the steps over the sequence from a zero state; the
formula's entries (:class:`symnet.functions.Recurrence`) run the same steps on SymPy numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .. import functions as fx
from ..functions import number
from .activations import Fn
from .base import Op, Param, Rewrite, Worked, numbers_latex, numbers_text

__all__ = ["CELLS", "Recurrent", "clip_fn", "emitted", "run_recurrence", "step"]

#: Cell -> the names of its gates, in the order Keras stores their columns.
CELLS = {"simple": ("h",), "gru": ("z", "r", "h"), "lstm": ("i", "f", "c", "o")}


def _act(backend: Any, fn: Fn | None, value: Any) -> Any:
    return value if fn is None else backend.map(fn, value)


def clip_fn(threshold: float) -> Fn:
    """A cell's ``clip``: every gate's input clipped to ``[−c, c]`` before its activation."""
    c = number(threshold)
    return Fn(fx.Clamp, (-c, c), name="clip")


def step(backend: Any, cell: str, x: Any, state: tuple[Any, ...], kernel: Any, recurrent: Any,
         bias: Any, activation: Fn | None, recurrent_activation: Fn | None,
         reset_after: bool = True, clip: Fn | None = None) -> tuple[Any, ...]:
    """One time step: ``x`` (batch, features) and the state (``(h,)``, LSTM ``(h, c)``) ->
    the new state, as Keras computes it. ``clip`` (ONNX's cell clip) is applied to each gate's
    input before its activation, not to an LSTM's carry (as ONNX Runtime does)."""
    h = state[0]
    units = h.shape[-1]

    def gate(fn: Fn | None, value: Any) -> Any:
        return _act(backend, fn, value if clip is None else backend.map(clip, value))

    if cell == "simple":
        z = backend.matmul(x, kernel)
        if bias is not None:
            z = z + bias
        return (gate(activation, z + backend.matmul(h, recurrent)),)
    if cell == "lstm":
        z = backend.matmul(x, kernel) + backend.matmul(h, recurrent)
        if bias is not None:
            z = z + bias
        i, f, c, o = (z[:, k * units:(k + 1) * units] for k in range(4))
        i, f, o = (gate(recurrent_activation, g) for g in (i, f, o))
        carry = f * state[1] + i * gate(activation, c)
        return (o * _act(backend, activation, carry), carry)
    # GRU: the input and recurrent biases are separate rows when reset_after.
    x_bias, h_bias = (bias[0], bias[1]) if bias is not None and reset_after else (bias, None)
    matrix_x = backend.matmul(x, kernel)
    if x_bias is not None:
        matrix_x = matrix_x + x_bias
    x_z, x_r, x_h = (matrix_x[:, k * units:(k + 1) * units] for k in range(3))
    if reset_after:
        inner = backend.matmul(h, recurrent)
        if h_bias is not None:
            inner = inner + h_bias
    else:
        inner = backend.matmul(h, recurrent[:, :2 * units])
    rec_z, rec_r = inner[:, :units], inner[:, units:2 * units]
    z = gate(recurrent_activation, x_z + rec_z)
    r = gate(recurrent_activation, x_r + rec_r)
    if reset_after:
        rec_h = r * inner[:, 2 * units:]
    else:
        rec_h = backend.matmul(r * h, recurrent[:, 2 * units:])
    candidate = gate(activation, x_h + rec_h)
    one = backend.const(1)
    return (z * h + (one - z) * candidate,)


def run_recurrence(backend: Any, cell: str, x: Any, weights: tuple[Any, Any, Any],
                   activations: tuple[Any, Any], units: int, reset_after: bool = True,
                   go_backwards: bool = False, clip: Fn | None = None,
                   initial: tuple[Any, ...] = ()) -> tuple[list[Any], tuple[Any, ...]]:
    """Every step's output (in the order processed) and the last state, from a zero state or
    from ``initial`` (``(h_0,)``, LSTM ``(h_0, c_0)``; each (batch, units) or (1, units)).

    ``weights``: kernel, recurrent kernel and bias (or ``None``) as the backend's numbers;
    ``activations``: the activation and the recurrent activation (``None``: linear).
    """
    batch, steps = x.shape[0], x.shape[1]
    zero = (np.full((batch, units), backend.const(0), dtype=object) if x.dtype == object
            else np.zeros((batch, units), dtype=x.dtype))
    state: tuple[Any, ...] = (zero, zero) if cell == "lstm" else (zero,)
    if initial:
        state = tuple(np.broadcast_to(s, (batch, units)) if s is not None else z
                      for s, z in zip((*initial, None), state))
    outputs = []
    for t in range(steps - 1, -1, -1) if go_backwards else range(steps):
        state = step(backend, cell, x[:, t, :], state, *weights, *activations, reset_after,
                     clip)
        outputs.append(state[0])
    return outputs, state


def emitted(outputs: list[Any], state: tuple[Any, ...], emit: str) -> Any:
    """What a recurrent layer returns: the sequence, the last output or the last carry."""
    if emit == "sequence":
        return np.stack(outputs, axis=1)
    return state[1] if emit == "carry" else outputs[-1]


@dataclass(frozen=True, eq=False)
class Recurrent(Op):
    """A recurrent layer unrolled over its input sequence ``(steps, features)`` from a zero
    state. ``emit``: ``"sequence"`` (every step's output, in the order processed), ``"last"``
    (the last output), ``"carry"`` (an LSTM's last carry state)."""

    cell: str
    kernel: Param
    recurrent_kernel: Param
    bias: Param | None
    units: int
    activation: Fn | None
    recurrent_activation: Fn | None = None
    reset_after: bool = True
    go_backwards: bool = False
    emit: str = "last"
    forget_recurrence: bool = False
    """A mistake: the recurrent term left out (each step computed from its input alone)."""
    clip: float | None = None
    """ONNX's cell clip: each gate's input clipped to ``[−clip, clip]`` before its activation."""
    initial_state: tuple[Param, ...] = ()
    """The state the recurrence starts from (``h_0``, LSTM ``h_0, c_0``) when it is not zero:
    stored arrays of shape (sequences, units)."""
    sequences: int = 1
    """Sequences run side by side in one sample (a batch an exporter fixed inside the
    model): the input is then (sequences, steps, features), each with its own state."""

    @property
    def piecewise_linear(self) -> bool:
        fns = [f for f in (self.activation, self.recurrent_activation) if f is not None]
        return self.cell == "simple" and all(f.piecewise_linear for f in fns)

    def params(self) -> tuple[Param, ...]:
        return (*super().params(), *self.initial_state)

    def formula(self, x: Any) -> Any:
        extra: tuple[Any, ...] = ()
        if self.clip is not None or self.sequences != 1 or self.initial_state:
            extra = ((number(self.clip) if self.clip is not None else 0, self.sequences),
                     *[p.symbol for p in self.initial_state])
        return fx.Recurrence(x, self.cell, self.kernel.symbol, self.recurrent_kernel.symbol,
                             None if self.bias is None else self.bias.symbol,
                             None if self.activation is None else self.activation.definition(),
                             None if self.recurrent_activation is None
                             else self.recurrent_activation.definition(),
                             (int(self.reset_after), int(self.go_backwards),
                              int(self.forget_recurrence), self.units), self.emit, *extra)

    def forward(self, backend: Any, x: Any) -> Any:
        recurrent = backend.weight(self.recurrent_kernel)
        if self.forget_recurrence:
            recurrent = recurrent * backend.const(0)
        weights = (backend.weight(self.kernel), recurrent,
                   None if self.bias is None else backend.weight(self.bias))
        batch, n = x.shape[0], self.sequences
        if n != 1:  # the sequences of every sample one after the other: (batch·n, steps, f)
            x = x.reshape((batch * n, *x.shape[2:]))
        initial = tuple(np.concatenate([backend.weight(p)] * batch, axis=0)
                        for p in self.initial_state)
        outputs, state = run_recurrence(backend, self.cell, x, weights,
                                        (self.activation, self.recurrent_activation),
                                        self.units, self.reset_after, self.go_backwards,
                                        None if self.clip is None else clip_fn(self.clip),
                                        initial)
        out = emitted(outputs, state, self.emit)
        return out if n == 1 else out.reshape((batch, n, *out.shape[1:]))

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        inner = (self.sequences,) if self.sequences != 1 else ()
        steps = shapes[0][-2]
        return (*inner, steps, self.units) if self.emit == "sequence" else (
            *inner, self.units)

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        steps, features = shapes[0]
        per_step = (features + self.units) * 3 * len(CELLS[self.cell])
        # Every step holds the previous one: the expression grows geometrically with the steps.
        return float(min((per_step + 1.0) ** min(steps, 40) * (sizes[0] + 1), 1e18))

    def by_hand(self, inputs: list[np.ndarray], output: np.ndarray) -> tuple[Worked, ...]:
        from ..backends import FloatBackend

        if self.sequences != 1:
            return ()  # several sequences in one sample: the values are shown, not worked
        backend = FloatBackend(np.float32)
        weights = (backend.weight(self.kernel), backend.weight(self.recurrent_kernel),
                   None if self.bias is None else backend.weight(self.bias))
        x = np.asarray(inputs[0], np.float32)[None]
        batch, steps = 1, x.shape[1]
        state: tuple[Any, ...] = (np.zeros((batch, self.units), np.float32),) * (
            2 if self.cell == "lstm" else 1)
        if self.initial_state:
            state = tuple(backend.weight(p) for p in self.initial_state) + state[
                len(self.initial_state):]
        clip = None if self.clip is None else clip_fn(self.clip)
        order = list(range(steps - 1, -1, -1) if self.go_backwards else range(steps))
        lines = []
        for n, t in enumerate(order):
            state = step(backend, self.cell, x[:, t, :], state, *weights, self.activation,
                         self.recurrent_activation, self.reset_after, clip)
            if n < 6 or n == len(order) - 1:
                h = state[0][0]
                label = f"h_{n + 1}"
                extra = "" if self.cell != "lstm" else f", c_{n + 1} = {numbers_text(state[1][0])}"
                lines.append(Worked(rf"{label} = {numbers_latex(h)}" + (
                    rf",\ c_{{{n + 1}}} = {numbers_latex(state[1][0])}" if self.cell == "lstm"
                    else ""), f"step {n + 1} (input x[{t}]): {label} = {numbers_text(h)}{extra}"))
            elif n == 6:
                lines.append(Worked(r"\vdots", "..."))
        return tuple(lines)

    def mistakes(self, *, last: bool = False, batch: int | None = None) -> tuple[Rewrite, ...]:
        out = [Rewrite("recurrent_term_forgotten", "in {layer} the recurrent term h_{t−1} U "
                       "was left out: each step also depends on the previous state.",
                       replace(self, forget_recurrence=True))]
        if self.bias is not None:
            out.append(Rewrite("bias_omitted", "the bias of {layer} was left out: each step "
                               "adds b.", replace(self, bias=None)))
        if self.cell == "simple" and self.activation is not None:
            name = self.activation.name or self.activation.key
            out.append(Rewrite("missing_activation", f"the {name} activation of layer {{layer}} "
                               f"was left out: h_t = {name}(x_t W + h_(t−1) U + b).",
                               replace(self, activation=None)))
        if self.cell == "simple" and self.units > 1:
            u = self.recurrent_kernel
            out.append(Rewrite("transposed_kernel", "the recurrent kernel U of {layer} was used "
                               "transposed: Keras computes h_(t−1)·U, U of shape (units, "
                               "units) with row i for state entry i.",
                               replace(self, recurrent_kernel=Param(
                                   u.name, u.symbol, np.ascontiguousarray(u.value.T),
                                   u.trainable, u.meaning, u.weight))))
        if self.cell == "lstm":
            out.append(Rewrite("gates_in_wrong_order", "in {layer} the gates were read in the "
                               "order i, c, f, o: Keras stores the LSTM's kernel columns as "
                               "input, forget, candidate, output (i, f, c, o).",
                               replace(self, kernel=_swap_blocks(self.kernel, self.units),
                                       recurrent_kernel=_swap_blocks(self.recurrent_kernel,
                                                                     self.units),
                                       bias=None if self.bias is None else
                                       _swap_blocks(self.bias, self.units))))
        return tuple(out)

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Any:
        from .recurrent_backward import recurrent_backward

        return recurrent_backward(self, backend, xs[0], g)

    def describe(self) -> str:
        name = {"simple": "simple RNN", "gru": "GRU", "lstm": "LSTM"}[self.cell]
        return (f"{name}, {self.units} units" + (", backwards" if self.go_backwards else "")
                + (f", clipped to ±{self.clip:g}" if self.clip is not None else "")
                + (", from a stored state" if self.initial_state else "")
                + (f", {self.sequences} sequences" if self.sequences != 1 else ""))


def _swap_blocks(param: Param, units: int) -> Param:
    """The forget and candidate blocks (columns f and c) of an LSTM array exchanged."""
    value = np.array(param.value)
    f, c = slice(units, 2 * units), slice(2 * units, 3 * units)
    value[..., f], value[..., c] = param.value[..., c], param.value[..., f]
    return Param(param.name, param.symbol, value, param.trainable, param.meaning, param.weight)
