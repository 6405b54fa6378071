"""``Attention`` (dot or concat scores), ``AdditiveAttention`` and ``MultiHeadAttention``,
without masks but with ``use_causal_mask``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..ops.attention import Attention, MultiHead
from . import Definition, LayerContext, converter
from .spec import (
    CONSTRAINT,
    INITIALIZER,
    REGULARIZER,
    SEED,
    Choice,
    Number,
    Part,
    Setting,
    Shape,
    WeightSpec,
    spec,
)

FLAG = Choice((True, False))
_DROPOUT = Setting("a dropout of the attention weights while training")


def _inputs(ctx: LayerContext, names: tuple[str, ...]) -> list[int]:
    """The query, value (and key) inputs, however they were passed; masks refused."""
    roles = ctx.roles or tuple(str(i) for i in ctx.inputs)
    found: dict[str, int] = {}
    if len(roles) > 1 and all(r == "0" for r in roles):  # called with [query, value, key]
        found = dict(zip(names, ctx.inputs))
    else:
        for index, role in zip(ctx.inputs, roles):
            if role in names:
                found[role] = index
            elif role.isdigit() and int(role) < len(names):
                found[names[int(role)]] = index
            else:
                raise ctx.reject(f"the input passed as {role!r} is not supported (masks are "
                                 "not)")
    if ctx.options.get("return_attention_scores"):
        raise ctx.reject("return_attention_scores=True is not supported")
    if "query" not in found or "value" not in found:
        raise ctx.reject("expected a query and a value")
    return [found[n] for n in names if n in found]


def _attention_shapes(shapes: list[Shape]) -> tuple[Shape, Shape, Shape]:
    """The query's, value's and key's shapes (the key is the value unless given): each
    (steps, features), the key's steps the value's, the key's features the query's."""
    if len(shapes) not in (2, 3) or any(len(s) != 2 for s in shapes):
        raise ValueError(f"inputs of shapes {shapes}: a query and a value (and a key), each "
                         "(steps, features)")
    query, value = shapes[0], shapes[1]
    key = shapes[2] if len(shapes) == 3 else value
    if key[0] != value[0] or key[1] != query[1]:
        raise ValueError(f"query {query}, value {value}, key {key} do not fit")
    return query, value, key


def _attention_weights(kind: str) -> Any:
    def weights(config: Mapping[str, Any], shapes: list[Shape]) -> list[WeightSpec]:
        query, _, _ = _attention_shapes(shapes) if len(shapes) > 1 else (shapes[0],) * 3
        out = []
        if config["use_scale"]:
            out.append(WeightSpec("scale", (query[-1],) if kind == "AdditiveAttention" else ()))
        if kind == "Attention" and config["score_mode"] == "concat":
            out.append(WeightSpec("concat_score_weight", ()))
        return out
    return weights


def _attention_output(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    query, value, _ = _attention_shapes(shapes)
    return [(query[0], value[1])]


_ATTENTION = spec(use_scale=FLAG, score_mode=Choice(("dot", "concat")), dropout=_DROPOUT,
                  seed=SEED)

@converter("AdditiveAttention", config=_ATTENTION.reading(
    _attention_weights("AdditiveAttention"), _attention_output, ("use_scale",)))
@converter("Attention", config=_ATTENTION.reading(
    _attention_weights("Attention"), _attention_output, ("use_scale", "score_mode")))
def attention(ctx: LayerContext) -> int:
    values = _inputs(ctx, ("query", "value", "key"))
    additive = ctx.kind == "AdditiveAttention"
    kind = "additive" if additive else str(ctx.config.get("score_mode", "dot"))
    scale = ctx.param("scale", "s", "scale: the learned scale of the scores") if ctx.config.get(
        "use_scale") else None
    weight = ctx.param("concat_score_weight", "w", "concat_score_weight: the learned weight of "
                       "the scores") if kind == "concat" else None
    causal = bool(ctx.options.get("use_causal_mask", False))
    ctx.constants.update(score_mode=kind, use_causal_mask=causal)
    score = {"dot": r"q_i \cdot k_j" + (r"\, s" if scale else ""),
             "concat": r"w \sum_d \tanh\left(" + ("s " if scale else "") + r"(q_{i,d} + k_{j,d})"
                       r"\right)",
             "additive": r"\sum_d " + ("s_d " if scale else "") + r"\tanh\left(q_{i,d} + "
                         r"k_{j,d}\right)"}[kind]
    ctx.define(Definition(
        rf"a_{{ij}} = {score},\quad \operatorname{{attention}}(Q, V, K)_i = \sum_j "
        r"\operatorname{softmax}_j\left(a_{ij}\right) v_j",
        f"score a_ij = {score}; output_i = Σ_j softmax_j(a_ij)·v_j"
        + ("; a_ij lowered by 10⁹ for j > i (causal mask)" if causal else "")))
    ctx.note = f"{kind} attention of the query over the value's {ctx.input_shapes[1][0]} steps"
    return ctx.apply(Attention(kind, scale, weight, causal), *values)


_PROJECTIONS = (("query", "query", "query_dense"), ("key", "key", "key_dense"),
                ("value", "value", "value_dense"), ("output", "attention_output", "output_dense"))


def _projections(config: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A MultiHeadAttention's projections (EinsumDense layers it makes itself), then its
    dropout and softmax (no weights)."""
    names = ("kernel", "bias") if config["use_bias"] else ("kernel",)
    return [*((role, Part("EinsumDense", name, group, names))
              for role, name, group in _PROJECTIONS),
            ("", Part("Dropout", "dropout", "_dropout_layer")),
            ("", Part("Softmax", "softmax", "_softmax"))]


def _mha_shapes(config: Mapping[str, Any], shapes: list[Shape]
                ) -> tuple[Shape, Shape, Shape]:
    if config.get("output_shape") is not None or config.get("use_gate") or config.get(
            "attention_axes") not in (None, 1, -2, [1], [-2]):
        raise ValueError("output_shape, use_gate or attention_axes")
    if len(shapes) not in (1, 2, 3) or any(len(s) != 2 for s in shapes):
        raise ValueError(f"inputs of shapes {shapes}: a query, a value (and a key), each "
                         "(steps, features)")
    query, value = shapes[0], shapes[-1] if len(shapes) < 3 else shapes[1]
    key = shapes[2] if len(shapes) == 3 else value
    if key[0] != value[0]:
        raise ValueError(f"a key of {key[0]} steps, a value of {value[0]}")
    return query, value, key


def _mha_weights(config: Mapping[str, Any], shapes: list[Shape]) -> list[WeightSpec]:
    """Each projection's kernel (and bias), in Keras' order: query, key, value, output."""
    query, value, key = _mha_shapes(config, shapes)
    heads, key_dim = int(config["num_heads"]), int(config["key_dim"])
    value_dim = int(config["value_dim"] or key_dim)
    kernels = {"query": ((query[-1], heads, key_dim), (heads, key_dim)),
               "key": ((key[-1], heads, key_dim), (heads, key_dim)),
               "value": ((value[-1], heads, value_dim), (heads, value_dim)),
               "output": ((heads, value_dim, query[-1]), (query[-1],))}
    out = []
    for role, _, _ in _PROJECTIONS:
        kernel, bias = kernels[role]
        out.append(WeightSpec("kernel", kernel))
        if config["use_bias"]:
            out.append(WeightSpec("bias", bias))
    return out


def _mha_output(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    if len(shapes) < 2:
        raise ValueError("a query and a value expected")
    query, _, _ = _mha_shapes(config, shapes)
    return [query]


@converter("MultiHeadAttention", config=spec(
    num_heads=Number(1, integer=True), key_dim=Number(1, integer=True),
    value_dim=Number(1, integer=True, none=True), use_bias=FLAG, output_shape=Choice((None,)),
    attention_axes=Choice((None, 1, -2, (1,), (-2,))), sliding_window=Choice((None,)),
    use_gate=Choice((False,)), dropout=_DROPOUT, seed=SEED, kernel_initializer=INITIALIZER,
    bias_initializer=INITIALIZER, kernel_regularizer=REGULARIZER, bias_regularizer=REGULARIZER,
    activity_regularizer=REGULARIZER, kernel_constraint=CONSTRAINT, bias_constraint=CONSTRAINT
    ).reading(_mha_weights, _mha_output, ("num_heads", "key_dim", "value_dim", "use_bias",
                                          "output_shape", "attention_axes"), _projections))
def multi_head_attention(ctx: LayerContext) -> int:
    c = ctx.config
    if c.get("attention_axes") not in (None, (1,), [1], -2, (-2,), [-2]):
        raise ctx.reject(f"attention_axes={c.get('attention_axes')!r} is not supported")
    if any(len(s) != 2 for s in ctx.input_shapes):
        raise ctx.reject(f"inputs of shapes {ctx.input_shapes}: (steps, features) are supported")
    values = _inputs(ctx, ("query", "value", "key"))
    heads = int(c["num_heads"])
    steps = {"query": ctx.input_shapes[values[0]][0], "value": ctx.input_shapes[values[1]][0]}
    steps["key"] = ctx.input_shapes[values[2]][0] if len(values) > 2 else steps["value"]
    params: dict[str, Any] = {}
    for part, tag in (("query", "q"), ("key", "k"), ("value", "v"), ("output", "o")):
        dense = ctx.layer.child(part)
        if dense is None:
            raise ctx.reject(f"no {part} projection")
        bias = dense.weight("bias")
        if part != "output" and bias is not None and tuple(bias.value.shape)[-1] == 1 and (
                heads > 1 and heads == steps[part]):
            # Keras' TensorFlow backend adds a bias that squeezes to a vector with
            # tf.nn.bias_add, guessing the channels' axis: here it takes the steps for it.
            raise ctx.reject(
                f"num_heads={heads} equals the {part}'s {steps[part]} steps with a head size "
                f"of 1: Keras' TensorFlow backend then adds the {part} bias along the steps "
                "(tf.nn.bias_add's channels-first guess), not along the heads, so "
                "model.predict is not the layer's definition")
        inner = ctx.sub(dense, f"^{tag}")
        params[f"{part}_kernel"] = inner.param("kernel", "W", f"{part} projection, shape "
                                               f"{tuple(dense.weight('kernel').value.shape)}")
        if "bias" in inner._weights:
            params[f"{part}_bias"] = inner.param("bias", "b", f"{part} bias, shape "
                                                 f"{tuple(bias.value.shape)}")
        ctx.absorb(inner, [])
    causal = bool(ctx.options.get("use_causal_mask", False))
    ctx.constants.update(num_heads=heads, key_dim=int(c["key_dim"]), use_causal_mask=causal)
    ctx.define(Definition(
        r"Q_h = x_q W^{q}_h + b^{q}_h,\ K_h = x_k W^{k}_h + b^{k}_h,\ V_h = x_v W^{v}_h + "
        r"b^{v}_h,\quad \mathrm{head}_h = \operatorname{softmax}\left(\frac{Q_h K_h^{\top}}"
        r"{\sqrt{d}}\right) V_h,\quad y = \left[\mathrm{head}_1 \cdots \mathrm{head}_H\right] "
        r"W^{o} + b^{o}",
        f"Q_h = x_q·W^q_h + b^q_h (likewise K_h, V_h); head_h = softmax(Q_h·K_hᵀ/√d)·V_h with "
        f"d = {c['key_dim']}; y = [head_1 … head_{heads}]·W^o + b^o"
        + ("; causal: position i sees j ≤ i only" if causal else "")))
    ctx.note = f"{heads} heads of dot-product attention, joined and projected"
    return ctx.apply(MultiHead(heads=heads, causal=causal, **params), *values)
