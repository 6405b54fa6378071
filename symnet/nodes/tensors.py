"""Nodes on computed tensors that exporters write for common modules: ``MatMul`` of two
computed tensors (attention), the reductions (``ReduceMean``... of a spelled-out LayerNorm),
``Concat`` of a stored constant with a computed tensor (a class token), ``Gather`` of a table
at computed indices (an embedding), ``Where`` with a stored condition (a mask filled in)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops import Identity
from ..ops.embedding import Lookup
from ..ops.tensors import REDUCTIONS, Joined, Product, Reduce, Select
from . import BatchTouched, NodeContext, converter

_FOLD = {"ReduceSum": np.sum, "ReduceMean": np.mean, "ReduceMax": np.max, "ReduceMin": np.min,
         "ReduceSumSquare": lambda v, axis, keepdims: np.sum(v * v, axis=axis,
                                                              keepdims=keepdims)}


def _reduce_axes(ctx: NodeContext) -> list[int] | None:
    """The axes, from the attribute (older opsets) or input 1 (ReduceSum from opset 13, the
    others from 18); ``None``: every axis."""
    moved_to_input = 13 if ctx.node.op_type == "ReduceSum" else 18
    if ctx.opset >= moved_to_input:
        if ctx.given(1):
            return [int(a) for a in np.asarray(ctx.const(1, "axes")).reshape(-1)]
        return None
    value = ctx.attr("axes")
    return None if value is None else [int(a) for a in value]


@converter(*REDUCTIONS)
def reduce(ctx: NodeContext) -> Any:
    keepdims = bool(int(ctx.attr("keepdims", 1)))
    noop = bool(int(ctx.attr("noop_with_empty_axes", 0)))
    axes = _reduce_axes(ctx)
    if ctx.is_const(0):
        value = ctx.const(0)
        if not axes and noop:
            return value
        picked = None if not axes else tuple(a % value.ndim for a in axes)
        return np.asarray(_FOLD[ctx.node.op_type](value, axis=picked, keepdims=keepdims)
                          ).astype(value.dtype)
    x = ctx.tensor(0)
    rank = ctx.rank(x)
    if not axes:
        if noop:
            return ctx.apply(Identity("a reduction over no axes"), x)
        axes = list(range(rank))
    per_sample = sorted({ctx.axis(a, rank) for a in axes})
    return ctx.apply(Reduce(REDUCTIONS[ctx.node.op_type], tuple(per_sample), keepdims,
                            ctx.shape(x)), x)


def product(ctx: NodeContext) -> str:
    """``MatMul`` where at least one factor is computed and one is not a stored weight
    matrix multiplied from the right (that is :class:`~symnet.ops.MatMul`)."""
    fulls = [ctx.const(i).shape if ctx.is_const(i) else ctx.full_shape(ctx.tensor(i))
             for i in (0, 1)]
    constant_index = 0 if ctx.is_const(0) else 1 if ctx.is_const(1) else None
    if ctx.builder.batch:
        computed = [i for i in (0, 1) if i != constant_index]
        ranks = {len(fulls[i]) for i in computed}
        if len(ranks) > 1 or min(ranks) < 3:
            raise BatchTouched(f"node {ctx.node.label!r} (MatMul): its factors of shapes "
                               f"{fulls[0]} and {fulls[1]} would multiply along the batch axis")
    shapes = []
    param = None
    for i in (0, 1):
        if i == constant_index:
            value = ctx.const(i)
            shape = tuple(value.shape)
            if ctx.builder.batch and value.ndim >= len(fulls[1 - i]):
                if value.shape[0] != 1 or value.ndim > len(fulls[1 - i]):
                    raise BatchTouched(f"node {ctx.node.label!r} (MatMul): a constant of shape "
                                       f"{value.shape} reaches the batch axis")
                shape = shape[1:]  # the file's (1, ...) kept as the array, per sample (...)
            shapes.append(shape)
            param = ctx.param(None, "C", f"a constant factor, shape {tuple(value.shape)}",
                              value=value, name=ctx.source_name(ctx.node.inputs[i]))
        else:
            shapes.append(ctx.shape(ctx.tensor(i)))
    try:
        op = Product((shapes[0], shapes[1]), param, constant_index or 0)
        op.output_shape()
    except ValueError as exc:
        raise ctx.reject(str(exc)) from exc
    tensors = [ctx.tensor(i) for i in (0, 1) if i != constant_index]
    return ctx.apply(op, *tensors)


def join(ctx: NodeContext, present: list[int], axis: int) -> str:
    """``Concat`` of computed tensors and stored constants (at least one computed)."""
    first = next(i for i in present if not ctx.is_const(i))
    full = ctx.full_shape(ctx.tensor(first))
    a = ctx.axis(axis, len(full))
    shapes, parts, tensors = [], [], []
    for i in present:
        if ctx.is_const(i):
            value = ctx.const(i)
            if value.ndim != len(full):
                raise ctx.reject(f"input {i} has {value.ndim} axes, the others {len(full)}")
            shape = tuple(value.shape)
            if ctx.builder.batch:
                if value.shape[0] != ctx.builder.batch_value:
                    raise BatchTouched(f"node {ctx.node.label!r} (Concat): the constant of shape "
                                       f"{value.shape} does not follow the batch axis")
                shape = shape[1:]
            name = ctx.source_name(ctx.node.inputs[i])
            source = ctx.builder.constants.get(name)
            if source is not None and source.size == value.size and np.array_equal(
                    source.reshape(-1), value.reshape(-1)):
                value = source  # as the file stores it (a class token (1, 1, d))
            parts.append(ctx.param(None, "c", f"a constant joined along axis {a + 1}, shape "
                                   f"{tuple(value.shape)}", value=value, name=name))
            shapes.append(shape)
        else:
            t = ctx.tensor(i)
            parts.append(None)
            shapes.append(ctx.shape(t))
            tensors.append(t)
    for s in shapes:
        if len(s) != len(shapes[0]) or any(d != e for k, (d, e) in enumerate(zip(s, shapes[0]))
                                           if k != a):
            raise ctx.reject(f"shapes {shapes} differ outside axis {axis}")
    return ctx.apply(Joined(a, tuple(shapes), tuple(parts)), *tensors)


def lookup(ctx: NodeContext, axis: int) -> str:
    """``Gather`` of a stored table at indices computed from the input: an embedding."""
    table = ctx.const(0)
    if axis % max(table.ndim, 1) != 0 or table.ndim != 2:
        raise ctx.reject(f"a lookup in a table of shape {table.shape} along axis {axis}: only "
                         "the rows of a matrix (an embedding, axis 0) are supported")
    x = ctx.tensor(1)
    if not ctx.builder.is_integer(x):
        raise ctx.reject("its indices are computed values, not integers from the model's input "
                         "(a data-dependent selection)")
    rows, dim = table.shape
    param = ctx.param(0, "E", f"embedding table, shape ({rows}, {dim}): row k is the vector "
                      f"of index k (0 to {rows - 1})")
    ctx.note(f"a lookup: each input index (0 to {rows - 1}) takes a row of {dim} numbers")
    return ctx.apply(Lookup(param), x)


def _per_sample_constant(ctx: NodeContext, i: int, rank: int) -> np.ndarray:
    """Constant input ``i`` as it meets each sample of tensors of full ``rank``: its batch
    axis (of 1) dropped; one that varies along the batch starts the reading again."""
    value = np.asarray(ctx.const(i))
    if ctx.builder.batch and value.ndim >= rank:
        if value.shape[0] != 1:
            raise BatchTouched(f"node {ctx.node.label!r}: a constant of shape {value.shape} "
                               "varies along the batch axis")
        value = value.reshape(value.shape[1:])
    return value


def select(ctx: NodeContext) -> str:
    """``Where`` with a stored condition: each entry from X or Y, fixed by the file."""
    computed = [i for i in (1, 2) if not ctx.is_const(i)]
    tensors = [ctx.tensor(i) for i in computed]
    rank = max(ctx.rank(t) for t in tensors)
    if ctx.builder.batch and any(ctx.rank(t) < rank for t in tensors):
        raise BatchTouched(f"node {ctx.node.label!r}: an operand of lower rank would be "
                           "broadcast along the batch axis")
    mask = _per_sample_constant(ctx, 0, rank).astype(bool)
    condition = ctx.param(None, "M", f"the condition, shape {tuple(mask.shape)}: 1 where the "
                          "entry is taken from the first branch", value=mask.astype(np.float32),
                          name=ctx.source_name(ctx.node.inputs[0]), trainable=False)
    shapes, branches = [], []
    for i in (1, 2):
        if ctx.is_const(i):
            value = _per_sample_constant(ctx, i, rank)
            if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
                ctx.note("a branch holds infinities (a mask filled with −inf): float "
                         "evaluation follows ONNX Runtime, exact evaluation refuses them")
            branches.append(ctx.param(None, "c", f"the value where the condition is "
                                      f"{'true' if i == 1 else 'false'}, shape "
                                      f"{tuple(value.shape)}", value=value,
                                      name=ctx.source_name(ctx.node.inputs[i])))
            shapes.append(tuple(value.shape))
        else:
            branches.append(None)
            shapes.append(ctx.shape(ctx.tensor(i)))
    try:
        op = Select(condition, (shapes[0], shapes[1]), (branches[0], branches[1]))
        op.output_shape()
    except ValueError as exc:
        raise ctx.reject(str(exc)) from exc
    return ctx.apply(op, *tensors)
