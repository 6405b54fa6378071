"""Backpropagation through time for the recurrent ops (kept apart from the forward cells, which
are being reshaped into cell objects: this module reads only ``Recurrent``'s fields).

A simple RNN unrolled over its steps, ``h_t = f(x_t K + b + h_{t−1} U)`` from ``h_0 = 0`` (or a
stored ``h_0``, whose gradient is then what reaches the first step; ONNX's cell clip multiplies
each step's slope by the clip's, 1 inside ``[−c, c]``; sequences side by side in one sample are
rows of the batch): going
back from the last step, ``δ_t = (g_t + δ_{t+1} Uᵀ) ⊙ f'(a_t)``, and ``∂L/∂K = Σ_t x_tᵀ δ_t``,
``∂L/∂U = Σ_t h_{t−1}ᵀ δ_t``, ``∂L/∂b = Σ_t δ_t``, ``∂L/∂x_t = δ_t Kᵀ``.

GRU and LSTM cells (:func:`gated_backward`) go back through the same steps with the gates of
each step kept from the forward pass, in Keras' order of the kernel's columns (GRU ``z, r, h``,
LSTM ``i, f, c, o``): each step's gradient with respect to its pre-activations ``a = x_t K +
h_{t−1} U + b`` (GRU: the input and recurrent parts apart) gives ``∂L/∂K += x_tᵀ ∂a``,
``∂L/∂U += h_{t−1}ᵀ ∂a``, ``∂L/∂b += Σ ∂a``, ``∂L/∂x_t = ∂a Kᵀ``, and the state's gradient
passed to the step before (an LSTM's carry too).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Grads, no_derivative, transposed, unbroadcast

__all__ = ["gated_backward", "recurrent_backward"]


def recurrent_backward(op: Any, backend: Any, x: Any, g: Any) -> Grads:
    """``op.backward`` for a :class:`~symnet.ops.recurrent.Recurrent` op."""
    if op.cell in ("gru", "lstm"):
        return gated_backward(op, backend, x, g)
    if op.cell != "simple":
        raise no_derivative(op, f"no backward pass is written for {op.cell} cells")
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


def _zeros(backend: Any, like: Any, shape: tuple[int, ...]) -> Any:
    if like.dtype == object:
        return np.full(shape, backend.const(0), dtype=object)
    return np.zeros(shape, dtype=like.dtype)


def _act(backend: Any, fn: Any, value: Any) -> Any:
    return value if fn is None else backend.map(fn, value)


def _slope(backend: Any, fn: Any, value: Any) -> Any:
    """``f′(value)`` (1 for a linear activation)."""
    from .derivatives import derivative

    if fn is None:
        return np.full(np.shape(value), backend.const(1), dtype=np.asarray(value).dtype)
    return backend.map(derivative(fn), value)


def _add(total: Any, part: Any) -> Any:
    return part if total is None else total + part


def _t(a: Any) -> Any:
    return np.ascontiguousarray(np.swapaxes(a, -1, -2))


def gated_backward(op: Any, backend: Any, x: Any, g: Any) -> Grads:
    """``op.backward`` for a GRU or an LSTM layer: backpropagation through time (ONNX's cell
    clip, a stored initial state and several sequences in a sample as for a simple RNN)."""
    from .derivatives import derivative
    from .recurrent import clip_fn

    samples, n_seq = x.shape[0], op.sequences
    if n_seq != 1:  # several sequences in one sample: each its own row of the batch
        x = x.reshape((samples * n_seq, *x.shape[2:]))
        g = g.reshape((samples * n_seq, *g.shape[2:]))
    u = op.units
    kernel = backend.weight(op.kernel)
    recurrent = backend.weight(op.recurrent_kernel)
    if op.forget_recurrence:
        recurrent = recurrent * backend.const(0)
    bias = None if op.bias is None else backend.weight(op.bias)
    act, gate_fn = op.activation, op.recurrent_activation
    clip = None if op.clip is None else clip_fn(op.clip)
    batch, steps = x.shape[0], x.shape[1]
    order = list(range(steps - 1, -1, -1)) if op.go_backwards else list(range(steps))
    zero = _zeros(backend, x, (batch, u))
    lstm = op.cell == "lstm"
    reset_after = op.reset_after
    if not lstm and bias is not None and reset_after:
        x_bias, h_bias = bias[0], bias[1]
    else:
        x_bias, h_bias = bias, None

    def gate(fn: Any, a: Any) -> Any:
        """A gate's value: ``fn`` of its input clipped (ONNX's cell clip)."""
        return _act(backend, fn, a if clip is None else backend.map(clip, a))

    def slope(fn: Any, a: Any) -> Any:
        """Its derivative: ``fn′(clip(a)) · clip′(a)``."""
        if clip is None:
            return _slope(backend, fn, a)
        return _slope(backend, fn, backend.map(clip, a)) * backend.map(derivative(clip), a)

    def start(k: int) -> Any:
        if len(op.initial_state) <= k:
            return zero
        return np.concatenate([backend.weight(op.initial_state[k])] * samples, axis=0) + zero

    # the forward pass again, keeping every step's gates
    records = []
    h, c = start(0), start(1) if lstm else zero
    one = backend.const(1)
    for t in order:
        xt = x[:, t, :]
        if lstm:
            a = backend.matmul(xt, kernel) + backend.matmul(h, recurrent)
            if bias is not None:
                a = a + bias
            blocks = [a[:, k * u:(k + 1) * u] for k in range(4)]
            i, f, o = (gate(gate_fn, blocks[k]) for k in (0, 1, 3))
            cand = gate(act, blocks[2])
            c_new = f * c + i * cand
            h_new = o * _act(backend, act, c_new)
            records.append(dict(x=xt, h=h, c=c, a=blocks, i=i, f=f, o=o, cand=cand, c_new=c_new))
            h, c = h_new, c_new
            continue
        mx = backend.matmul(xt, kernel)
        if x_bias is not None:
            mx = mx + x_bias
        if reset_after:
            inner = backend.matmul(h, recurrent)
            if h_bias is not None:
                inner = inner + h_bias
        else:
            inner = backend.matmul(h, recurrent[:, :2 * u])
        a_z = mx[:, :u] + inner[:, :u]
        a_r = mx[:, u:2 * u] + inner[:, u:2 * u]
        z, r = gate(gate_fn, a_z), gate(gate_fn, a_r)
        rh = None
        if reset_after:
            rec_h = r * inner[:, 2 * u:]
        else:
            rh = r * h
            rec_h = backend.matmul(rh, recurrent[:, 2 * u:])
        a_h = mx[:, 2 * u:] + rec_h
        cand = gate(act, a_h)
        h_new = z * h + (one - z) * cand
        records.append(dict(x=xt, h=h, a_z=a_z, a_r=a_r, a_h=a_h, z=z, r=r, cand=cand,
                            inner=inner, rh=rh))
        h = h_new
    # the gradients arriving at each step's output (and an LSTM's last carry)
    emitted: list[Any] = [None] * steps
    carry_in = None
    if op.emit == "sequence":
        emitted = [g[:, n, :] for n in range(steps)]
    elif op.emit == "carry":
        carry_in = g
    else:
        emitted[-1] = g
    dx = _zeros(backend, x, x.shape)
    d_kernel = d_recurrent = d_bias = None
    dh_next, dc_next = None, carry_in
    for n in range(steps - 1, -1, -1):
        rec = records[n]
        dh = emitted[n] if dh_next is None else dh_next if emitted[n] is None else \
            emitted[n] + dh_next
        if lstm:
            if dh is None and dc_next is None:
                continue
            if dh is None:
                dh = zero
            tanh_c = _act(backend, act, rec["c_new"])
            dc = dh * rec["o"] * _slope(backend, act, rec["c_new"])  # the carry is not clipped
            if dc_next is not None:
                dc = dc + dc_next
            da = [dc * rec["cand"] * slope(gate_fn, rec["a"][0]),
                  dc * rec["c"] * slope(gate_fn, rec["a"][1]),
                  dc * rec["i"] * slope(act, rec["a"][2]),
                  dh * tanh_c * slope(gate_fn, rec["a"][3])]
            a_grad = np.concatenate(da, axis=1)
            d_kernel = _add(d_kernel, backend.matmul(_t(rec["x"]), a_grad))
            d_recurrent = _add(d_recurrent, backend.matmul(_t(rec["h"]), a_grad))
            if bias is not None:
                d_bias = _add(d_bias, unbroadcast(a_grad, op.bias.shape))
            dx[:, order[n], :] = backend.matmul(a_grad, _t(kernel))
            dh_next = backend.matmul(a_grad, _t(recurrent))
            dc_next = dc * rec["f"]
            continue
        if dh is None:
            continue
        z, r = rec["z"], rec["r"]
        da_z = dh * (rec["h"] - rec["cand"]) * slope(gate_fn, rec["a_z"])
        da_h = dh * (one - z) * slope(act, rec["a_h"])
        dh_prev = dh * z
        if reset_after:
            d_inner_h = da_h * r
            da_r = da_h * rec["inner"][:, 2 * u:] * slope(gate_fn, rec["a_r"])
            d_inner = np.concatenate([da_z, da_r, d_inner_h], axis=1)
            part_u = backend.matmul(_t(rec["h"]), d_inner)
            dh_prev = dh_prev + backend.matmul(d_inner, _t(recurrent))
        else:
            u_h = recurrent[:, 2 * u:]
            d_rh = backend.matmul(da_h, _t(u_h))
            da_r = d_rh * rec["h"] * slope(gate_fn, rec["a_r"])
            dh_prev = dh_prev + d_rh * r
            d_inner = np.concatenate([da_z, da_r], axis=1)
            part_u = np.concatenate([backend.matmul(_t(rec["h"]), d_inner),
                                     backend.matmul(_t(rec["rh"]), da_h)], axis=1)
            dh_prev = dh_prev + backend.matmul(d_inner, _t(recurrent[:, :2 * u]))
        d_mx = np.concatenate([da_z, da_r, da_h], axis=1)
        d_kernel = _add(d_kernel, backend.matmul(_t(rec["x"]), d_mx))
        d_recurrent = _add(d_recurrent, part_u)
        if bias is not None:
            if reset_after:
                part_b = np.stack([unbroadcast(d_mx, (3 * u,)), unbroadcast(d_inner, (3 * u,))])
            else:
                part_b = unbroadcast(d_mx, op.bias.shape)
            d_bias = _add(d_bias, part_b)
        dx[:, order[n], :] = backend.matmul(d_mx, _t(kernel))
        dh_next = dh_prev
    params = {op.kernel: d_kernel if d_kernel is not None else kernel * backend.const(0),
              op.recurrent_kernel: (d_recurrent * backend.const(0) if op.forget_recurrence
                                    else d_recurrent) if d_recurrent is not None
              else recurrent * backend.const(0)}
    if op.bias is not None:
        params[op.bias] = d_bias if d_bias is not None else bias * backend.const(0)
    # ∂L/∂h_0 (and c_0): what reached the first step, summed over the samples
    for k, d_start in enumerate((dh_next, dc_next)[:len(op.initial_state)]):
        rows = (zero if d_start is None else d_start).reshape((samples, n_seq, u))
        total = rows[0]
        for j in range(1, samples):
            total = total + rows[j]
        params[op.initial_state[k]] = total.reshape(op.initial_state[k].shape)
    if n_seq != 1:
        dx = dx.reshape((samples, n_seq, *dx.shape[1:]))
    return Grads((dx,), params)
