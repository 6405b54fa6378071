"""Attention: dot-product (Luong), additive (Bahdanau), multi-head; causal masks.

The arithmetic is written once, per sample, in :func:`attend` and :func:`multi_head`, on any
backend; the ops run it over the batch and the formula's entries
(:class:`symnet.functions.Attending`) run it on SymPy numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import functions as fx
from .activations import ACTIVATIONS
from .base import Op, Param

__all__ = ["Attention", "MultiHead", "attend", "multi_head"]

#: What Keras subtracts from the scores of the positions a mask hides.
MASKED = 1.0e9


def _tanh() -> Any:
    return ACTIVATIONS["tanh"].fn  # type: ignore[union-attr]


def _transpose(a: Any) -> Any:
    return np.ascontiguousarray(np.swapaxes(a, -1, -2))


def weigh(backend: Any, scores: Any, value: Any, causal: bool) -> Any:
    """``softmax(scores) · value``, the scores of later positions hidden when ``causal``."""
    if causal:
        later = np.triu(np.ones(scores.shape, dtype=bool), k=1)
        scores = np.where(later, scores - backend.const(MASKED), scores)
    return backend.matmul(backend.softmax(scores, -1), value)


def attend(backend: Any, kind: str, query: Any, value: Any, key: Any, scale: Any,
           concat_weight: Any, causal: bool) -> Any:
    """One sample: ``query`` (Tq, d), ``value`` (Tv, dv), ``key`` (Tv, d) -> (Tq, dv)."""
    if kind == "dot":
        scores = backend.matmul(query, _transpose(key))
        if scale is not None:
            scores = scores * scale
    else:  # additive and concat: Σ_d scale · tanh(q_i + k_j)
        total = query[:, None, :] + key[None, :, :]
        if kind == "concat" and scale is not None:
            total = total * scale
        tanh = backend.map(_tanh(), total)
        if kind == "additive" and scale is not None:
            tanh = tanh * scale
        scores = tanh.sum(axis=-1)
        if kind == "concat":
            scores = scores * concat_weight
    return weigh(backend, scores, value, causal)


def multi_head(backend: Any, query: Any, value: Any, key: Any, weights: list[Any],
               heads: int, causal: bool) -> Any:
    """One sample of multi-head attention: each head attends with its own projections, the
    heads side by side are projected to the output."""
    (wq, bq, wk, bk, wv, bv, wo, bo) = weights

    def project(x: Any, w: Any, b: Any) -> Any:
        out = backend.matmul(x, w.reshape(w.shape[0], -1))
        if b is not None:
            out = out + b.reshape(-1)
        return out.reshape(x.shape[0], heads, -1)

    q, k, v = project(query, wq, bq), project(key, wk, bk), project(value, wv, bv)
    d = q.shape[-1]
    inverse = backend.map(fx_inverse_sqrt(), np.array([backend.const(d)]))[0]
    q = q * inverse
    outs = [weigh(backend, backend.matmul(q[:, h, :], _transpose(k[:, h, :])), v[:, h, :],
                  causal) for h in range(heads)]
    joined = np.stack(outs, axis=1).reshape(query.shape[0], -1)
    out = backend.matmul(joined, wo.reshape(-1, wo.shape[-1]))
    return out + bo if bo is not None else out


def fx_inverse_sqrt() -> Any:
    from .activations import Fn

    return Fn(fx.InverseSqrt, name="1/sqrt")


def _per_sample(backend: Any, run: Any, *xs: Any) -> Any:
    return np.stack([run(*[x[b] for x in xs]) for b in range(xs[0].shape[0])], axis=0)


@dataclass(frozen=True, eq=False)
class Attention(Op):
    """``softmax(scores(Q, K)) V``: ``dot`` (``Q Kᵀ``, times a learned scale), ``concat``
    (``w Σ tanh(s (q + k))``) or ``additive`` (``Σ s ⊙ tanh(q + k)``). Inputs: query, value
    and optionally key (else the value)."""

    kind: str = "dot"
    scale: Param | None = None
    concat_weight: Param | None = None
    causal: bool = False
    arity = 0

    @property
    def piecewise_linear(self) -> bool:
        return False

    def formula(self, *xs: Any) -> Any:
        params = [p.symbol for p in (self.scale, self.concat_weight) if p is not None]
        return fx.Attending(self.kind, xs, params, (int(self.scale is not None),
                                                    int(self.causal)))

    def forward(self, backend: Any, *xs: Any) -> Any:
        query, value = xs[0], xs[1]
        key = xs[2] if len(xs) > 2 else value
        scale = None if self.scale is None else backend.weight(self.scale)
        weight = None if self.concat_weight is None else backend.weight(self.concat_weight)
        return _per_sample(backend, lambda q, v, k: attend(
            backend, self.kind, q, v, k, scale, weight, self.causal), query, value, key)

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        return (*shapes[0][:-1], shapes[1][-1])

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return float(shapes[1][0] * (shapes[0][-1] + 2) * 4 * (max(sizes) + 2))

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Any:
        from .attention_backward import attention_backward

        return attention_backward(self, backend, xs, g)

    def describe(self) -> str:
        return f"{self.kind} attention" + (", causal" if self.causal else "")


@dataclass(frozen=True, eq=False)
class MultiHead(Op):
    """Multi-head attention (Keras ``MultiHeadAttention``): projections ``W^q, W^k, W^v`` per
    head, ``softmax(Q_h K_hᵀ/√d) V_h``, the heads joined and projected by ``W^o``."""

    query_kernel: Param
    key_kernel: Param
    value_kernel: Param
    output_kernel: Param
    heads: int
    query_bias: Param | None = None
    key_bias: Param | None = None
    value_bias: Param | None = None
    output_bias: Param | None = None
    causal: bool = False
    arity = 0

    @property
    def piecewise_linear(self) -> bool:
        return False

    def _params(self) -> list[Param | None]:
        return [self.query_kernel, self.query_bias, self.key_kernel, self.key_bias,
                self.value_kernel, self.value_bias, self.output_kernel, self.output_bias]

    def formula(self, *xs: Any) -> Any:
        return fx.Attending("multihead", xs, [p.symbol for p in self._params() if p is not None],
                            (self.heads, int(self.causal),
                             *[int(p is not None) for p in self._params()]))

    def forward(self, backend: Any, *xs: Any) -> Any:
        query, value = xs[0], xs[1]
        key = xs[2] if len(xs) > 2 else value
        weights = [None if p is None else backend.weight(p) for p in self._params()]
        return _per_sample(backend, lambda q, v, k: multi_head(
            backend, q, v, k, weights, self.heads, self.causal), query, value, key)

    def output_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        return (*shapes[0][:-1], int(self.output_kernel.shape[-1]))

    def size(self, sizes: list[float], shapes: list[tuple[int, ...]]) -> float:
        return float(self.heads * shapes[1][0] * shapes[0][-1] ** 2 * 8 * (max(sizes) + 2))

    def backward(self, backend: Any, xs: tuple[Any, ...], y: Any, g: Any) -> Any:
        from .attention_backward import multi_head_backward

        return multi_head_backward(self, backend, xs, g)

    def describe(self) -> str:
        return f"multi-head attention, {self.heads} heads" + (", causal" if self.causal else "")
