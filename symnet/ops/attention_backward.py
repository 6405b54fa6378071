"""The backward pass of attention, written per sample as its forward pass is
(:func:`symnet.ops.attention.attend`, :func:`~symnet.ops.attention.multi_head`), on any backend.

For ``O = softmax(S) V`` with ``P = softmax(S)``: ``∂L/∂V = Pᵀ G``, ``∂L/∂P = G Vᵀ``,
``∂L/∂S = (∂L/∂P − rowsum(∂L/∂P ⊙ P)) ⊙ P``; a causal mask only shifts the hidden scores by a
constant. Dot scores ``S = s·Q Kᵀ`` give ``∂L/∂Q = s ∂L/∂S K``, ``∂L/∂K = s ∂L/∂Sᵀ Q``; additive
and concat scores go back through their ``tanh``. Multi-head attention goes back through the
output projection, each head, and the three input projections.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Grads

__all__ = ["attention_backward", "multi_head_backward"]


def _t(a: Any) -> Any:
    return np.ascontiguousarray(np.swapaxes(a, -1, -2))


def _sum(a: Any, axis: Any) -> Any:
    if a.dtype != object:
        return a.sum(axis=axis)
    moved = np.moveaxis(a, axis, 0) if isinstance(axis, int) else a
    out = moved[0]
    for part in moved[1:]:
        out = out + part
    return out


def _softmax_back(backend: Any, scores: Any, causal: bool, dout: Any, value: Any
                  ) -> tuple[Any, Any, Any]:
    """``(P, ∂L/∂S, ∂L/∂V)`` for ``O = softmax(S) V`` (hidden scores shifted when causal)."""
    from .attention import MASKED

    if causal:
        later = np.triu(np.ones(scores.shape, dtype=bool), k=1)
        scores = np.where(later, scores - backend.const(MASKED), scores)
    p = backend.softmax(scores, -1)
    d_value = backend.matmul(_t(p), dout)
    d_p = backend.matmul(dout, _t(value))
    row = _sum(d_p * p, -1).reshape(d_p.shape[0], 1)
    return p, (d_p - row) * p, d_value


def _tanh(backend: Any, x: Any) -> Any:
    from .attention import _tanh as fn

    return backend.map(fn(), x)


def attention_backward(op: Any, backend: Any, xs: tuple[Any, ...], g: Any) -> Grads:
    """``op.backward`` for :class:`~symnet.ops.attention.Attention`."""
    query, value = xs[0], xs[1]
    key = xs[2] if len(xs) > 2 else value
    scale = None if op.scale is None else backend.weight(op.scale)
    weight = None if op.concat_weight is None else backend.weight(op.concat_weight)
    dq, dv, dk = (np.empty_like(a) for a in (query, value, key))
    d_scale = d_weight = None
    for b in range(query.shape[0]):
        q, v, k = query[b], value[b], key[b]
        one = backend.const(1)
        if op.kind == "dot":
            raw = backend.matmul(q, _t(k))
            scores = raw * scale if scale is not None else raw
            _, ds, dv[b] = _softmax_back(backend, scores, op.causal, g[b], v)
            if scale is not None:
                part = _sum(_sum(ds * raw, -1), 0)
                d_scale = part if d_scale is None else d_scale + part
                ds = ds * scale
            dq[b] = backend.matmul(ds, k)
            dk[b] = backend.matmul(_t(ds), q)
            continue
        total = q[:, None, :] + k[None, :, :]
        inner = total * scale if op.kind == "concat" and scale is not None else total
        tanh = _tanh(backend, inner)
        summed = tanh * scale if op.kind == "additive" and scale is not None else tanh
        scores = _sum(summed, -1)
        if op.kind == "concat":
            scores_pre = scores
            scores = scores * weight
        _, ds, dv[b] = _softmax_back(backend, scores, op.causal, g[b], v)
        if op.kind == "concat":
            part = _sum(_sum(ds * scores_pre, -1), 0)
            d_weight = part if d_weight is None else d_weight + part
            ds = ds * weight
        d_tanh = np.broadcast_to(ds[:, :, None], tanh.shape)
        if op.kind == "additive" and scale is not None:
            part = _sum(_sum(d_tanh * tanh, 0), 0)
            d_scale = part if d_scale is None else d_scale + part
            d_tanh = d_tanh * scale
        d_inner = d_tanh * (one - tanh * tanh)
        if op.kind == "concat" and scale is not None:
            part = _sum(_sum(_sum(d_inner * total, -1), 0), 0)
            d_scale = part if d_scale is None else d_scale + part
            d_inner = d_inner * scale
        dq[b] = _sum(d_inner, 1)
        dk[b] = _sum(d_inner, 0)
    params: dict[Any, Any] = {}
    if op.scale is not None:
        params[op.scale] = np.asarray(d_scale).reshape(op.scale.shape)
    if op.concat_weight is not None:
        params[op.concat_weight] = np.asarray(d_weight).reshape(op.concat_weight.shape)
    if len(xs) > 2:
        return Grads((dq, dv, dk), params)
    return Grads((dq, dv + dk), params)  # the value is also the key


def multi_head_backward(op: Any, backend: Any, xs: tuple[Any, ...], g: Any) -> Grads:
    """``op.backward`` for :class:`~symnet.ops.attention.MultiHead`."""
    from .attention import fx_inverse_sqrt, weigh

    query, value = xs[0], xs[1]
    key = xs[2] if len(xs) > 2 else value
    params = op._params()
    (wq, bq, wk, bk, wv, bv, wo, bo) = [None if p is None else backend.weight(p)
                                        for p in params]
    heads = op.heads
    totals: list[Any] = [None] * len(params)

    def add(i: int, part: Any) -> None:
        totals[i] = part if totals[i] is None else totals[i] + part

    def project(x: Any, w: Any, b: Any) -> Any:
        out = backend.matmul(x, w.reshape(w.shape[0], -1))
        if b is not None:
            out = out + b.reshape(-1)
        return out.reshape(x.shape[0], heads, -1)

    dq_all, dv_all, dk_all = (np.empty_like(a) for a in (query, value, key))
    for b in range(query.shape[0]):
        xq, xv, xk = query[b], value[b], key[b]
        q, k, v = project(xq, wq, bq), project(xk, wk, bk), project(xv, wv, bv)
        d = q.shape[-1]
        inverse = backend.map(fx_inverse_sqrt(), np.array([backend.const(d)]))[0]
        qs = q * inverse
        joined_parts = [weigh(backend, backend.matmul(qs[:, h, :], _t(k[:, h, :])),
                              v[:, h, :], op.causal) for h in range(heads)]
        joined = np.stack(joined_parts, axis=1).reshape(xq.shape[0], -1)
        gb = g[b]
        wo2 = wo.reshape(-1, wo.shape[-1])
        add(6, backend.matmul(_t(joined), gb).reshape(params[6].shape))
        if bo is not None:
            add(7, _sum(gb, 0).reshape(params[7].shape))
        d_joined = backend.matmul(gb, _t(wo2)).reshape(xq.shape[0], heads, -1)
        dq_h, dk_h, dv_h = (np.empty_like(a) for a in (q, k, v))
        for h in range(heads):
            scores = backend.matmul(qs[:, h, :], _t(k[:, h, :]))
            _, ds, dv_h[:, h, :] = _softmax_back(backend, scores, op.causal, d_joined[:, h, :],
                                                 v[:, h, :])
            dq_h[:, h, :] = backend.matmul(ds, k[:, h, :]) * inverse
            dk_h[:, h, :] = backend.matmul(_t(ds), qs[:, h, :])
        for (i, x, w, dproj, out) in ((0, xq, wq, dq_h, dq_all), (2, xk, wk, dk_h, dk_all),
                                      (4, xv, wv, dv_h, dv_all)):
            flat = dproj.reshape(x.shape[0], -1)
            add(i, backend.matmul(_t(x), flat).reshape(params[i].shape))
            if params[i + 1] is not None:
                add(i + 1, _sum(flat, 0).reshape(params[i + 1].shape))
            out[b] = backend.matmul(flat, _t(w.reshape(w.shape[0], -1)))
    grads = {p: total for p, total in zip(params, totals) if p is not None}
    if len(xs) > 2:
        return Grads((dq_all, dv_all, dk_all), grads)
    return Grads((dq_all, dv_all + dk_all), grads)
