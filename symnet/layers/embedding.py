"""``Embedding``: a lookup — each integer index takes a row of the table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..ops.embedding import Lookup
from . import Definition, LayerContext, converter
from .spec import (
    CONSTRAINT,
    INITIALIZER,
    REGULARIZER,
    Choice,
    Inert,
    Number,
    Shape,
    WeightSpec,
    spec,
)


def _table(config: Mapping[str, Any], shapes: list[Shape]) -> list[WeightSpec]:
    return [WeightSpec("embeddings", (int(config["input_dim"]), int(config["output_dim"])))]


def _looked_up(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    (shape,) = shapes
    return [(*shape, int(config["output_dim"]))]


@converter("Embedding", config=spec(
    input_dim=Number(1, integer=True), output_dim=Number(1, integer=True),
    mask_zero=Choice((False,)), quantization_config=Choice((None,)), lora_rank=Choice((None,)),
    lora_alpha=Inert("used only with a LoRA rank, which is refused"),
    input_length=Inert("Keras 2's declared sequence length: the input's shape is read"),
    embeddings_initializer=INITIALIZER, embeddings_regularizer=REGULARIZER,
    activity_regularizer=REGULARIZER, embeddings_constraint=CONSTRAINT).reading(
        _table, _looked_up, ("input_dim", "output_dim", "mask_zero")))
def embedding(ctx: LayerContext) -> int:
    c = ctx.config
    vocabulary, dim = int(c["input_dim"]), int(c["output_dim"])
    if c.get("mask_zero"):
        raise ctx.reject("mask_zero=True is not supported: the mask it sends to later layers "
                         "changes what they compute")
    if c.get("lora_rank"):
        raise ctx.reject("LoRA embeddings are not supported")
    table = ctx.param("embeddings", "E", f"embeddings, shape ({vocabulary}, {dim}): row k is "
                      f"the vector of index k (0 to {vocabulary - 1})")
    symbol = str(table.symbol)
    ctx.define(Definition(rf"{symbol}\left[x\right]_{{t}} = \text{{row }} x_t \text{{ of }} "
                          rf"{symbol}", f"{symbol}[x]_t = row x_t of {symbol} (x_t an integer "
                          f"from 0 to {vocabulary - 1})"))
    ctx.note = f"a lookup: each input index (0 to {vocabulary - 1}) takes a row of {dim} numbers"
    ctx.constants.update(input_dim=vocabulary, output_dim=dim)
    return ctx.apply(Lookup(table))
