"""Attention layers against Keras, exactly, and against numpy written from the definitions."""

from __future__ import annotations

import numpy as np
import pytest

import symnet
from symnet import UnsupportedLayerError

from .conftest import assert_faithful, predict, randomize

CASES = {
    "dot": lambda L, q, v: L.Attention()([q, v]),
    "dot_scaled_with_key": lambda L, q, v: L.Attention(use_scale=True)([q, v, v]),
    "concat": lambda L, q, v: L.Attention(score_mode="concat", use_scale=True)([q, v]),
    "additive": lambda L, q, v: L.AdditiveAttention()([q, v]),
    "additive_unscaled": lambda L, q, v: L.AdditiveAttention(use_scale=False)([q, v]),
    "multihead": lambda L, q, v: L.MultiHeadAttention(2, 3)(q, v),
    "multihead_keywords": lambda L, q, v: L.MultiHeadAttention(2, 2, value_dim=3,
                                                               use_bias=False)(
        query=q, value=v, key=v),
    "multihead_causal": lambda L, q, v: L.MultiHeadAttention(3, 2)(q, q, use_causal_mask=True),
    "dot_causal": lambda L, q, v: L.Attention()([q, q], use_causal_mask=True),
}


def build(keras, name):
    q, v = keras.Input((4, 3)), keras.Input((5, 3))
    out = CASES[name](keras.layers, q, v)
    inputs = [q, v] if "causal" not in name else [q]
    model = keras.Model(inputs, out)
    randomize(model, 2)
    rng = np.random.default_rng(1)
    x = [rng.normal(size=(2, 4, 3)).astype(np.float32), rng.normal(size=(2, 5, 3)).astype(
        np.float32)]
    return model, x if len(inputs) == 2 else x[0]


@pytest.mark.parametrize("name", sorted(CASES))
def test_attention_against_keras(keras, name):
    model, x = build(keras, name)
    net = assert_faithful(model, x, closed=False)
    assert net.param_count == model.count_params()


def softmax(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_dot_and_multihead_attention_are_the_textbook_formulas(keras):
    model, x = build(keras, "multihead")
    (wq, bq, wk, bk, wv, bv, wo, bo) = (w.astype(np.float64) for w in model.layers[2].get_weights())
    q, v = (a[0].astype(np.float64) for a in x)
    heads = []
    for h in range(2):
        qh, kh, vh = (q @ wq[:, h] + bq[h], v @ wk[:, h] + bk[h], v @ wv[:, h] + bv[h])
        heads.append(softmax(qh @ kh.T / np.sqrt(3)) @ vh)
    expected = np.concatenate(heads, axis=-1) @ wo.reshape(-1, wo.shape[-1]) + bo
    got = symnet.explain(model).evaluate([a[:1] for a in x], "float64")[0]
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    dot, x = build(keras, "dot")
    q, v = (a[0].astype(np.float64) for a in x)
    np.testing.assert_allclose(symnet.explain(dot).evaluate([a[:1] for a in x], "float64")[0],
                               softmax(q @ v.T) @ v, rtol=1e-12)
    assert np.allclose(predict(dot, x)[0], softmax(q @ v.T) @ v, atol=1e-5)


def test_attention_masks_and_scores_are_refused(keras):
    q, v = keras.Input((4, 3)), keras.Input((5, 3))
    mask = keras.Input((4, 5), dtype="bool")
    out = keras.layers.MultiHeadAttention(2, 3, name="mha")(q, v, attention_mask=mask)
    with pytest.raises(UnsupportedLayerError, match="'mha'.*attention_mask"):
        symnet.explain(keras.Model([q, v, mask], out))
