"""Backpropagation through time for the recurrent ops (kept apart from the forward cells, which
are being reshaped into cell objects: this module reads only ``Recurrent``'s fields).

A simple RNN unrolled over its steps, ``h_t = f(x_t K + b + h_{t−1} U)`` from ``h_0 = 0`` (or a
stored ``h_0``, whose gradient is then what reaches the first step; ONNX's cell clip multiplies
each step's slope by the clip's, 1 inside ``[−c, c]``; sequences side by side in one sample are
rows of the batch): going
back from the last step, ``δ_t = (g_t + δ_{t+1} Uᵀ) ⊙ f'(a_t)``, and ``∂L/∂K = Σ_t x_tᵀ δ_t``,
``∂L/∂U = Σ_t h_{t−1}ᵀ δ_t``, ``∂L/∂b = Σ_t δ_t``, ``∂L/∂x_t = δ_t Kᵀ``. GRU and LSTM cells are
refused by name until their backward pass is written.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Grads, no_derivative, transposed, unbroadcast

__all__ = ["recurrent_backward"]


def recurrent_backward(op: Any, backend: Any, x: Any, g: Any) -> Grads:
    """``op.backward`` for a :class:`~symnet.ops.recurrent.Recurrent` op."""
    if op.cell != "simple":
        name = {"gru": "GRU", "lstm": "LSTM"}.get(op.cell, op.cell)
        raise no_derivative(op, f"the backward pass through {name} cells is not written yet "
                            "(through simple RNNs it is)")
    from .derivatives import derivative
    from .recurrent import clip_fn

    samples, n_seq = x.shape[0], op.sequences
    if n_seq != 1:  # several sequences in one sample: each its own row of the batch
        x = x.reshape((samples * n_seq, *x.shape[2:]))
        g = g.reshape((samples * n_seq, *g.shape[2:]))
    kernel = backend.weight(op.kernel)
    recurrent = backend.weight(op.recurrent_kernel)
    if op.forget_recurrence:
        recurrent = recurrent * backend.const(0)
    bias = None if op.bias is None else backend.weight(op.bias)
    batch, steps = x.shape[0], x.shape[1]
    order = list(range(steps - 1, -1, -1)) if op.go_backwards else list(range(steps))
    zero = (np.full((batch, op.units), backend.const(0), dtype=object) if x.dtype == object
            else np.zeros((batch, op.units), dtype=x.dtype))
    start = zero
    if op.initial_state:  # a state stored in the file, (sequences, units), for every sample
        start = np.concatenate([backend.weight(op.initial_state[0])] * samples, axis=0) + zero
    clip = None if op.clip is None else clip_fn(op.clip)
    states, pre, clipped = [start], [], []
    for t in order:  # the forward pass again, keeping each step's pre-activation
        a = backend.matmul(x[:, t, :], kernel)
        if bias is not None:
            a = a + bias
        a = a + backend.matmul(states[-1], recurrent)
        pre.append(a)
        a = a if clip is None else backend.map(clip, a)  # ONNX's cell clip
        clipped.append(a)
        states.append(a if op.activation is None else backend.map(op.activation, a))
    emitted = [None] * steps
    if op.emit == "sequence":
        emitted = [g[:, n, :] for n in range(steps)]
    else:
        emitted[-1] = g
    dx = (np.full(x.shape, backend.const(0), dtype=object) if x.dtype == object
          else np.zeros(x.shape, dtype=x.dtype))
    d_kernel = d_recurrent = d_bias = None
    carry = None
    slope_fn = None if op.activation is None else derivative(op.activation)
    for n in range(steps - 1, -1, -1):
        dh = emitted[n] if carry is None else carry if emitted[n] is None else emitted[n] + carry
        if dh is None:
            continue
        da = dh if slope_fn is None else dh * backend.map(slope_fn, clipped[n])
        if clip is not None:  # the clip passes inside [−c, c] (its bounds included)
            da = da * backend.map(derivative(clip), pre[n])
        t = order[n]
        rows = np.ascontiguousarray(x[:, t, :].T)
        part_k = backend.matmul(rows, da)
        part_u = backend.matmul(np.ascontiguousarray(states[n].T), da)
        d_kernel = part_k if d_kernel is None else d_kernel + part_k
        d_recurrent = part_u if d_recurrent is None else d_recurrent + part_u
        part_b = unbroadcast(da, op.bias.shape) if op.bias is not None else None
        if part_b is not None:
            d_bias = part_b if d_bias is None else d_bias + part_b
        dx[:, t, :] = backend.matmul_weight(da, transposed(op.kernel))
        carry = backend.matmul(da, np.ascontiguousarray(recurrent.T))
    params = {op.kernel: d_kernel if d_kernel is not None else kernel * backend.const(0),
              op.recurrent_kernel: (d_recurrent * backend.const(0) if op.forget_recurrence
                                    else d_recurrent) if d_recurrent is not None
              else recurrent * backend.const(0)}
    if op.bias is not None:
        params[op.bias] = d_bias if d_bias is not None else bias * backend.const(0)
    if op.initial_state:  # ∂L/∂h_0: what reached the first step, summed over the samples
        d_start = carry if carry is not None else zero
        rows = d_start.reshape((samples, n_seq, op.units))
        total = rows[0]
        for k in range(1, samples):
            total = total + rows[k]
        params[op.initial_state[0]] = total.reshape(op.initial_state[0].shape)
    if n_seq != 1:
        dx = dx.reshape((samples, n_seq, *dx.shape[1:]))
    return Grads((dx,), params)
