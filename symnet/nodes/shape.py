"""Nodes that move numbers without arithmetic — ``Reshape``, ``Flatten``, ``Transpose``,
``Squeeze``/``Unsqueeze``, ``Concat``, ``Slice`` and ``Gather`` of one index, ``Pad`` — and the
shape arithmetic exporters write (``Constant``, ``Shape``, ``Gather``, ``Concat``, ``Cast``,
``ConstantOfShape``, ``Range``, ``Where``...), folded with numpy where every operand is fixed."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..ops import Concat, Identity, Rearrange, Reshape
from . import BatchTouched, NodeContext, converter, per_sample

#: The most entries a folded constant may have (``ConstantOfShape`` of a declared shape).
MAX_FOLDED = 10_000_000


def _axes(ctx: NodeContext, i: int, name: str = "axes") -> list[int] | None:
    """Axes given as an attribute (older opsets) or as input ``i`` (opset 13 on)."""
    if ctx.given(i):
        return [int(a) for a in np.asarray(ctx.const(i, name)).reshape(-1)]
    value = ctx.attr(name)
    return None if value is None else [int(a) for a in value]


def _reshaped(ctx: NodeContext, tensor: str, full: tuple[int, ...]) -> Any:
    """``tensor`` reshaped to the full ONNX shape ``full``."""
    shape = ctx.shape(tensor)
    target = per_sample(ctx, full, "the new shape")
    if math.prod(target) != math.prod(shape):
        raise ctx.reject(f"cannot reshape {ctx.full_shape(tensor)} to {full}")
    if tuple(target) == tuple(shape):
        return ctx.apply(Identity(), tensor) if ctx.node.op_type != "Reshape" else \
            ctx.apply(Reshape(shape, target), tensor)
    return ctx.apply(Reshape(shape, target), tensor)


def _label(ctx: NodeContext) -> Any:
    """A classifier's label passed through (see :mod:`.ml`), else ``None``."""
    name = ctx.node.inputs[0] if ctx.node.inputs else ""
    return ctx.builder.labels.get(name)


@converter("Constant")
def constant(ctx: NodeContext) -> Any:
    for key, cast in (("value", None), ("value_float", np.float32), ("value_floats", np.float32),
                      ("value_int", np.int64), ("value_ints", np.int64)):
        if key in ctx.node.attributes:
            value = np.asarray(ctx.attr(key))
            return value if cast is None else value.astype(cast)
    given = sorted(ctx.node.attributes)
    raise ctx.reject(f"constant given as {given[0] if given else 'nothing'!r}: only numeric "
                     "values are supported")


@converter("Shape")
def shape(ctx: NodeContext) -> Any:
    full = np.asarray(ctx.const(0).shape if ctx.is_const(0) else ctx.full_shape(ctx.tensor(0)),
                      dtype=np.int64)
    start, end = int(ctx.attr("start", 0)), ctx.attr("end")
    return full[start:None if end is None else int(end)].copy()


@converter("Size")
def size(ctx: NodeContext) -> Any:
    full = ctx.const(0).shape if ctx.is_const(0) else ctx.full_shape(ctx.tensor(0))
    return np.asarray(math.prod(full), dtype=np.int64)


@converter("ConstantOfShape")
def constant_of_shape(ctx: NodeContext) -> Any:
    dims = [int(d) for d in np.asarray(ctx.const(0, "shape")).reshape(-1)]
    if math.prod(dims) > MAX_FOLDED or any(d < 0 for d in dims):
        raise ctx.reject(f"a constant of shape {dims} is too large to fold")
    fill = ctx.attr("value")
    fill = np.zeros(1, np.float32) if fill is None else np.asarray(fill).reshape(-1)
    return np.full(dims, fill[0], dtype=fill.dtype)


@converter("Cast", "CastLike")
def cast(ctx: NodeContext) -> Any:
    if _label(ctx) is not None:
        ctx.ignore("to", "saturate", "round_mode")
        return _label(ctx)
    from onnx import helper

    if ctx.node.op_type == "CastLike":
        dtype = ctx.const(1).dtype if ctx.is_const(1) else np.dtype(np.float32)
    else:
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(int(ctx.attr("to"))))
    ctx.ignore("saturate", "round_mode")
    if ctx.is_const(0):
        return ctx.const(0).astype(dtype)
    if dtype != np.float32:
        if dtype.kind in "iu" and ctx.builder.is_integer(ctx.tensor(0)):
            return ctx.apply(Identity(f"a cast to {dtype} of integer indices"), ctx.tensor(0))
        raise ctx.reject(f"a cast of a computed value to {dtype} is not supported (symnet "
                         "computes float32 models)")
    return ctx.apply(Identity("a cast to float32 of a float32 value"), ctx.tensor(0))


@converter("Reshape")
def reshape(ctx: NodeContext) -> Any:
    if _label(ctx) is not None:
        ctx.ignore("allowzero")
        return _label(ctx)
    allowzero = int(ctx.attr("allowzero", 0))
    given = [int(d) for d in np.asarray(ctx.const(1, "shape")).reshape(-1)]
    full = ctx.const(0).shape if ctx.is_const(0) else ctx.full_shape(ctx.tensor(0))
    dims = [full[k] if d == 0 and not allowzero and k < len(full) else d
            for k, d in enumerate(given)]
    if dims.count(-1) > 1:
        raise ctx.reject(f"shape {given} has more than one -1")
    if -1 in dims:
        known = math.prod(d for d in dims if d != -1)
        if known == 0 or math.prod(full) % known:
            raise ctx.reject(f"cannot reshape {tuple(full)} to {given}")
        dims[dims.index(-1)] = math.prod(full) // known
    if ctx.is_const(0):
        return ctx.const(0).reshape(dims)
    return _reshaped(ctx, ctx.tensor(0), tuple(dims))


@converter("Flatten")
def flatten(ctx: NodeContext) -> Any:
    full = ctx.const(0).shape if ctx.is_const(0) else ctx.full_shape(ctx.tensor(0))
    axis = int(ctx.attr("axis", 1)) % (len(full) + 1) if full else 0
    dims = (math.prod(full[:axis]), math.prod(full[axis:]))
    if ctx.is_const(0):
        return ctx.const(0).reshape(dims)
    return _reshaped(ctx, ctx.tensor(0), dims)


@converter("Squeeze", "Unsqueeze")
def squeeze(ctx: NodeContext) -> Any:
    full = ctx.const(0).shape if ctx.is_const(0) else ctx.full_shape(ctx.tensor(0))
    axes = _axes(ctx, 1)
    if ctx.node.op_type == "Squeeze":
        rank = len(full)
        drop = {a % rank for a in axes} if axes is not None else {
            k for k, d in enumerate(full) if d == 1}
        if any(full[a] != 1 for a in drop):
            raise ctx.reject(f"cannot squeeze axes {sorted(drop)} of shape {tuple(full)}")
        dims = tuple(d for k, d in enumerate(full) if k not in drop)
    else:
        if axes is None:
            raise ctx.reject("no axes given")
        rank = len(full) + len(axes)
        put = sorted(a % rank for a in axes)
        dims_list = list(full)
        for a in put:
            dims_list.insert(a, 1)
        dims = tuple(dims_list)
    if ctx.is_const(0):
        return ctx.const(0).reshape(dims)
    if ctx.builder.batch and (0 in (drop if ctx.node.op_type == "Squeeze" else set(put))):
        raise BatchTouched(f"node {ctx.node.label!r} ({ctx.node.op_type}) moves the batch axis")
    return _reshaped(ctx, ctx.tensor(0), dims)


@converter("Transpose")
def transpose(ctx: NodeContext) -> Any:
    full = ctx.const(0).shape if ctx.is_const(0) else ctx.full_shape(ctx.tensor(0))
    perm = ctx.attr("perm")
    perm = list(range(len(full)))[::-1] if perm is None else [int(p) for p in perm]
    if sorted(perm) != list(range(len(full))):
        raise ctx.reject(f"perm {perm} is not a permutation of the {len(full)} axes")
    if ctx.is_const(0):
        return np.ascontiguousarray(np.transpose(ctx.const(0), perm))
    x = ctx.tensor(0)
    if ctx.builder.batch:
        if perm[0] != 0:
            raise BatchTouched(f"node {ctx.node.label!r} (Transpose) moves the batch axis")
        perm = [p - 1 for p in perm[1:]]
    shape = ctx.shape(x)
    if perm == sorted(perm):
        return ctx.apply(Identity(), x)
    return ctx.apply(Rearrange("permute", shape, tuple(shape[p] for p in perm), tuple(perm)), x)


@converter("Concat")
def concat(ctx: NodeContext) -> Any:
    present = [i for i in range(len(ctx.node.inputs)) if ctx.given(i)]
    if all(ctx.is_const(i) for i in present):
        values = [ctx.const(i) for i in present]
        return np.concatenate(values, axis=int(ctx.attr("axis")))
    if any(ctx.is_const(i) for i in present):
        from .tensors import join

        return join(ctx, present, int(ctx.attr("axis")))
    tensors = [ctx.tensor(i) for i in present]
    rank = len(ctx.full_shape(tensors[0]))
    axis = ctx.axis(int(ctx.attr("axis")), rank)
    if len(tensors) == 1:
        return ctx.apply(Identity(), tensors[0])
    return ctx.apply(Concat(axis, tuple(ctx.shape(t) for t in tensors)), *tensors)


def _crop(ctx: NodeContext, x: str, starts: dict[int, int], lengths: dict[int, int]) -> str:
    """The entries ``start .. start + length`` of the given full axes."""
    full = ctx.full_shape(x)
    for a in list(starts):
        if ctx.builder.batch and a == 0:
            if starts[a] != 0 or lengths[a] != full[0]:
                raise BatchTouched(f"node {ctx.node.label!r} ({ctx.node.op_type}) selects "
                                   "along the batch axis")
            del starts[a], lengths[a]
    offset = 1 if ctx.builder.batch else 0
    shape = ctx.shape(x)
    before = tuple(starts.get(k + offset, 0) for k in range(len(shape)))
    target = tuple(lengths.get(k + offset, d) for k, d in enumerate(shape))
    if target == tuple(shape):
        return ctx.apply(Identity(), x)
    return ctx.apply(Rearrange("crop", shape, target, before), x)


@converter("Slice")
def slice_(ctx: NodeContext) -> Any:
    if ctx.opset < 10:
        starts, ends = list(ctx.attr("starts")), list(ctx.attr("ends"))
        axes = ctx.attr("axes")
        steps = [1] * len(starts)
    else:
        starts = [int(v) for v in ctx.const(1, "starts").reshape(-1)]
        ends = [int(v) for v in ctx.const(2, "ends").reshape(-1)]
        axes = [int(v) for v in ctx.const(3, "axes").reshape(-1)] if ctx.given(3) else None
        steps = [int(v) for v in ctx.const(4, "steps").reshape(-1)] if ctx.given(4) else \
            [1] * len(starts)
    full = ctx.const(0).shape if ctx.is_const(0) else ctx.full_shape(ctx.tensor(0))
    axes = list(range(len(starts))) if axes is None else [int(a) % len(full) for a in axes]
    index = [slice(None)] * len(full)
    for a, s, e, st in zip(axes, starts, ends, steps):
        index[a] = slice(int(s), int(e), int(st))
    if ctx.is_const(0):
        return ctx.const(0)[tuple(index)].copy()
    x = ctx.tensor(0)
    starts_of, lengths = {}, {}
    for a in axes:
        picked = range(full[a])[index[a]]
        if picked.step != 1 or len(picked) == 0:
            raise ctx.reject(f"a slice with step {index[a].step} (or empty) on a computed value "
                             "is not supported")
        starts_of[a], lengths[a] = picked.start, len(picked)
    return _crop(ctx, x, starts_of, lengths)


@converter("Gather")
def gather(ctx: NodeContext) -> Any:
    axis = int(ctx.attr("axis", 0))
    if ctx.is_const(0) and ctx.is_const(1):
        return np.take(ctx.const(0), ctx.const(1), axis=axis)
    if ctx.is_const(0):
        from .tensors import lookup

        return lookup(ctx, axis)
    if not ctx.is_const(1):
        raise ctx.reject("both the values and the indices are computed from the input (a "
                         "data-dependent selection) — not supported")
    indices = ctx.const(1)
    x = ctx.tensor(0)
    full = ctx.full_shape(x)
    a = axis % len(full)
    if indices.ndim != 0:
        raise ctx.reject("gathering several indices of a computed value is not supported")
    k = int(indices) % full[a]
    h = _crop(ctx, x, {a: k}, {a: 1})
    dims = tuple(d for j, d in enumerate(ctx.full_shape(h)) if j != a)
    return _reshaped(ctx, h, dims)


@converter("Pad")
def pad(ctx: NodeContext) -> Any:
    if ctx.opset < 11:
        mode, pads, value = ctx.attr("mode", "constant"), list(ctx.attr("pads")), \
            float(ctx.attr("value", 0.0))
        axes = None
    else:
        mode = ctx.attr("mode", "constant")
        pads = [int(v) for v in ctx.const(1, "pads").reshape(-1)]
        value = float(np.asarray(ctx.const(2, "constant_value")).reshape(-1)[0]) if \
            ctx.given(2) else 0.0
        axes = [int(v) for v in ctx.const(3, "axes").reshape(-1)] if ctx.given(3) else None
    x = ctx.tensor(0)
    full = ctx.full_shape(x)
    axes = list(range(len(full))) if axes is None else [a % len(full) for a in axes]
    n = len(axes)
    before = {a: int(pads[k]) for k, a in enumerate(axes)}
    after = {a: int(pads[k + n]) for k, a in enumerate(axes)}
    if all(v == 0 for v in [*before.values(), *after.values()]):
        ctx.ignore("mode", "value")
        return ctx.apply(Identity("padding by 0 entries"), x)
    if mode != "constant" or value != 0.0:
        raise ctx.reject(f"padding mode {mode!r} with value {value} is not supported (only "
                         "zeros)")
    if any(v < 0 for v in [*before.values(), *after.values()]):
        raise ctx.reject("negative pads (cropping) are not supported")
    if ctx.builder.batch and (before.get(0, 0) or after.get(0, 0)):
        raise BatchTouched(f"node {ctx.node.label!r} (Pad) pads the batch axis")
    offset = 1 if ctx.builder.batch else 0
    shape = ctx.shape(x)
    lead = tuple(before.get(k + offset, 0) for k in range(len(shape)))
    target = tuple(d + before.get(k + offset, 0) + after.get(k + offset, 0)
                   for k, d in enumerate(shape))
    return ctx.apply(Rearrange("pad", shape, target, lead), x)


@converter("Expand")
def expand(ctx: NodeContext) -> Any:
    dims = [int(d) for d in ctx.const(1, "shape").reshape(-1)]
    if ctx.is_const(0):
        value = ctx.const(0)
        out = np.broadcast_shapes(value.shape, tuple(dims))
        if math.prod(out) > MAX_FOLDED:
            raise ctx.reject(f"a constant of shape {out} is too large to fold")
        return np.broadcast_to(value, out).copy()
    x = ctx.tensor(0)
    full = ctx.full_shape(x)
    if tuple(np.broadcast_shapes(full, tuple(dims))) != tuple(full):
        raise ctx.reject("expanding a computed value to a larger shape is not supported")
    return ctx.apply(Identity("an expansion that keeps the shape"), x)


@converter("Range")
def range_(ctx: NodeContext) -> Any:
    start, limit, delta = (np.asarray(ctx.const(i)).reshape(()) for i in range(3))
    count = max(int(np.ceil((limit - start) / delta)), 0)
    if count > MAX_FOLDED:
        raise ctx.reject("a range too long to fold")
    return np.arange(start, limit, delta).astype(np.result_type(start, limit, delta))


@converter("Where")
def where(ctx: NodeContext) -> Any:
    if all(ctx.is_const(i) for i in range(3)):
        return np.where(ctx.const(0), ctx.const(1), ctx.const(2))
    if not ctx.is_const(0):
        raise ctx.reject("a selection by a condition computed from the input (a "
                         "data-dependent choice) is not supported")
    from .tensors import select

    return select(ctx)


@converter("Tile")
def tile(ctx: NodeContext) -> Any:
    if ctx.is_const(0):
        value = np.tile(ctx.const(0), [int(r) for r in ctx.const(1).reshape(-1)])
        if value.size > MAX_FOLDED:
            raise ctx.reject("a constant too large to fold")
        return value
    raise ctx.reject("tiling a computed value is not supported")
