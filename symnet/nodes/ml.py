"""The ``ai.onnx.ml`` wrappers scikit-learn's exporter puts around a neural network:
``ZipMap`` (the class probabilities as a map: here the probability vector itself), ``ArgMax``
and ``ArrayFeatureExtractor`` (the predicted label: the class of the largest probability,
which ``why`` explains; it is described, not computed as an output), ``Scaler``, and ``Cast``
of the label."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..ops import Identity
from ..ops.arithmetic import WithConstant
from . import NodeContext, converter


@dataclass(frozen=True)
class Label:
    """The predicted class: the index of the largest entry of ``tensor`` (its last axis),
    mapped through ``classes`` when an ``ArrayFeatureExtractor`` does."""

    tensor: str
    classes: tuple[Any, ...] | None = None

    def describe(self) -> str:
        mapped = "" if self.classes is None else (
            f", mapped to the class labels {list(self.classes)[:20]}")
        return ("the predicted class: the index of the largest probability (argmax)" + mapped)


@converter("ArgMax")
def argmax(ctx: NodeContext) -> Any:
    if ctx.is_const(0):
        axis, keep = int(ctx.attr("axis", 0)), int(ctx.attr("keepdims", 1))
        return np.argmax(ctx.const(0), axis=axis, keepdims=bool(keep))
    x = ctx.tensor(0)
    rank = len(ctx.full_shape(x))
    axis = int(ctx.attr("axis", 0)) % rank
    ctx.attr("keepdims")
    if int(ctx.attr("select_last_index", 0)):
        raise ctx.reject("select_last_index = 1 is not supported")
    if axis != rank - 1:
        raise ctx.reject("an argmax along another axis than the last is not supported")
    return Label(x)


@converter("ArrayFeatureExtractor", domain="ai.onnx.ml")
def array_feature_extractor(ctx: NodeContext) -> Any:
    label = ctx.builder.labels.get(ctx.node.inputs[1])
    if label is None or not ctx.is_const(0):
        raise ctx.reject("only the class lookup of a label (classes[argmax]) is supported")
    return Label(label.tensor, tuple(np.asarray(ctx.const(0)).reshape(-1).tolist()))


@converter("ZipMap", domain="ai.onnx.ml")
def zipmap(ctx: NodeContext) -> Any:
    """The probabilities as a map class -> probability: the vector itself, in class order."""
    labels = ctx.attr("classlabels_int64s") or ctx.attr("classlabels_strings")
    x = ctx.tensor(0)
    if labels is not None and len(labels) != ctx.shape(x)[-1]:
        raise ctx.reject(f"{len(labels)} class labels for {ctx.shape(x)[-1]} probabilities")
    ctx.note(f"ZipMap: the probability of each class, in the order of the class labels "
             f"{list(labels)[:20] if labels is not None else ''}".rstrip())
    return ctx.apply(Identity("ZipMap: the probability vector, one entry per class"), x)


@converter("Scaler", domain="ai.onnx.ml")
def scaler(ctx: NodeContext) -> Any:
    """``(x − offset) ⊙ scale``."""
    x = ctx.tensor(0)
    n = ctx.shape(x)[-1]
    offset = np.asarray(ctx.attr("offset", [0.0]), np.float32)
    scale = np.asarray(ctx.attr("scale", [1.0]), np.float32)
    out = x
    if np.any(offset != 0):
        param = ctx.param(None, "mu", f"offset, shape {offset.shape}: subtracted from each "
                          "feature", value=offset if offset.size > 1 else np.full(n, offset[0],
                                                                                   np.float32),
                          name=f"{ctx.node.label}.offset", trainable=False)
        out = ctx.apply(WithConstant("subtract", param, ctx.shape(out)), out)
    if np.any(scale != 1):
        param = ctx.param(None, "s", f"scale, shape {scale.shape}: each feature's factor",
                          value=scale if scale.size > 1 else np.full(n, scale[0], np.float32),
                          name=f"{ctx.node.label}.scale", trainable=False)
        out = ctx.apply(WithConstant("multiply", param, ctx.shape(out)), out)
    return out if out != x else ctx.apply(Identity("a scaler by 1 around 0"), x)
