"""Never silently wrong, by construction: for every supported layer class, hypothesis draws
configurations over every key its converter declares (the keys Keras' ``get_config()``
lists), shapes and data formats included, and symnet's float32 evaluation is compared with
Keras' own ``model(x, training=False)`` (the arithmetic of ``model.predict``, without its
per-call set-up) on random non-trivial weights. A configuration symnet cannot convert must be
refused by name (``UnsupportedLayerError``); anything else is a mismatch.

``EXAMPLES`` configurations are drawn per class: about 1,100 per run across the classes.
"""

from __future__ import annotations

import collections
import math
import re
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import symnet
from symnet import UnsupportedLayerError
from symnet.layers import spec_of, supported_layers
from symnet.layers.spec import Inert
from symnet.ops import ACTIVATIONS

from .conftest import randomize

EXAMPLES = int(__import__('os').environ.get('SYMNET_DIFFERENTIAL_EXAMPLES', 15))
ACTIVATION_NAMES = sorted(ACTIVATIONS)
FORMATS = ("channels_last", "channels_first")
#: Per class: configurations compared with Keras, and refused by name.
OUTCOMES: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
#: Per class: the keys the drawn configurations set, and the keys Keras' configs listed.
DRAWN: dict[str, set[str]] = collections.defaultdict(set)
REASONS: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
LISTED: dict[str, set[str]] = collections.defaultdict(set)


def tf_errors():
    import tensorflow as tf

    return tf.errors


def layers():
    import keras

    return keras.layers


def floats(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def small_shape(draw, rank, lo=1, hi=4):
    return tuple(draw(st.integers(lo, hi)) for _ in range(rank))


# --- builders: each draws a layer's config over its declared keys, and its inputs' shapes ----
#
# A builder takes hypothesis' ``draw`` and the class name, and returns ``(kwargs, shapes,
# make)``: the layer's drawn options, the per-sample input shapes, and a function making the
# layer from them (its class called with the options, unless the class needs more).

def _dense(draw, name):
    kwargs = dict(units=draw(st.integers(1, 4)), activation=draw(st.sampled_from(
        ACTIVATION_NAMES)), use_bias=draw(st.booleans()))
    return kwargs, [small_shape(draw, draw(st.integers(1, 3)))], None


def _activation(draw, name):
    return dict(activation=draw(st.sampled_from(ACTIVATION_NAMES))), [
        small_shape(draw, draw(st.integers(1, 3)))], None


def _relu(draw, name):
    kwargs = dict(max_value=draw(st.none() | floats(0.0, 3.0)),
                  negative_slope=draw(floats(0.0, 1.0)), threshold=draw(floats(-1.0, 1.0)))
    return kwargs, [small_shape(draw, draw(st.integers(1, 3)))], None


def _leaky(draw, name):
    return dict(negative_slope=draw(floats(0.0, 1.0))), [small_shape(draw, 2)], None


def _elu(draw, name):
    return dict(alpha=draw(floats(0.1, 2.5))), [small_shape(draw, 2)], None


def _axis(draw, rank, negative=True):
    """A non-batch axis as Keras counts it (1..rank, or -rank..-1)."""
    axis = draw(st.integers(1, rank))
    return axis - rank - 1 if negative and draw(st.booleans()) else axis


def _softmax(draw, name):
    rank = draw(st.integers(1, 3))
    return dict(axis=_axis(draw, rank)), [small_shape(draw, rank, 2)], None


def _prelu(draw, name):
    rank = draw(st.integers(1, 3))
    shared = draw(st.none() | st.lists(st.integers(1, rank), min_size=1, max_size=rank,
                                       unique=True))
    return dict(shared_axes=shared), [small_shape(draw, rank)], None


def _embedding(draw, name):
    kwargs = dict(input_dim=draw(st.integers(1, 6)), output_dim=draw(st.integers(1, 4)),
                  mask_zero=draw(st.sampled_from([False, False, False, True])))
    return kwargs, [(draw(st.integers(1, 3)),)], None


def _batchnorm(draw, name):
    rank = draw(st.integers(1, 3))
    axis = _axis(draw, rank) if draw(st.integers(0, 5)) else [1, rank] if rank > 1 else 1
    kwargs = dict(axis=axis, epsilon=draw(floats(1e-5, 0.5)), center=draw(st.booleans()),
                  scale=draw(st.booleans()), renorm=draw(st.booleans()))
    return kwargs, [small_shape(draw, rank, 2)], None


def _axes_subset(draw, rank):
    axes = draw(st.lists(st.integers(1, rank), min_size=1, max_size=rank, unique=True))
    return sorted(axes)[0] if len(axes) == 1 and draw(st.booleans()) else sorted(axes)


def _layernorm(draw, name):
    rank = draw(st.integers(1, 3))
    kwargs = dict(axis=_axes_subset(draw, rank), epsilon=draw(floats(1e-5, 0.5)),
                  center=draw(st.booleans()), scale=draw(st.booleans()),
                  rms_scaling=draw(st.booleans()))
    return kwargs, [small_shape(draw, rank, 3, 5)], None


def _rmsnorm(draw, name):
    rank = draw(st.integers(1, 3))
    return dict(axis=_axis(draw, rank), epsilon=draw(floats(1e-5, 0.5))), [
        small_shape(draw, rank, 3, 5)], None


def _normalization(draw, name):
    rank = draw(st.integers(1, 3))
    shape = small_shape(draw, rank, 2, 4)
    axis = draw(st.none() | st.just(-1) | st.lists(st.integers(1, rank), min_size=1,
                                                    max_size=rank, unique=True).map(sorted))
    kwargs: dict[str, Any] = dict(axis=axis, invert=draw(st.booleans()))
    kept = () if axis is None else tuple(shape[a - 1] for a in (
        [rank] if axis == -1 else axis))
    given_stats = draw(st.booleans())
    if given_stats:
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))
        kwargs.update(mean=rng.normal(0, 1, kept).astype(np.float32),
                      variance=rng.uniform(0.2, 3.0, kept).astype(np.float32))

    def make(cls, kw):
        layer = cls(**kw)
        if "mean" not in kw:
            data = np.random.default_rng(1).normal(0.5, 2.0, (16, *shape)).astype(np.float32)
            layer.adapt(data)
        return layer

    return kwargs, [shape], make


def _rescaling(draw, name):
    rank = draw(st.integers(1, 3))
    shape = small_shape(draw, rank)

    def value():
        if draw(st.booleans()):
            return draw(floats(-2.0, 2.0))
        return np.asarray(draw(st.lists(floats(-2.0, 2.0), min_size=shape[-1],
                                        max_size=shape[-1])), np.float32)

    return dict(scale=value(), offset=value()), [shape], None


def _spatial(draw, rank, lo=3, hi=6):
    return tuple(draw(st.integers(lo, hi)) for _ in range(rank))


def _conv_common(draw, rank, transpose=False):
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    strides = tuple(draw(st.integers(1, 2)) for _ in range(rank))
    dilation = (1,) * rank if any(s > 1 for s in strides) else tuple(
        draw(st.integers(1, 2)) for _ in range(rank))
    padding = draw(st.sampled_from(["valid", "same"] + (["causal"] if rank == 1 and not
                                                        transpose else [])))
    data_format = draw(st.sampled_from(FORMATS))
    return dict(kernel_size=kernel if draw(st.booleans()) or rank == 1 else kernel[0],
                strides=strides, dilation_rate=dilation, padding=padding,
                data_format=data_format, activation=draw(st.sampled_from(ACTIVATION_NAMES)),
                use_bias=draw(st.booleans()))


def _rank(name):
    """The spatial rank a class name says (``Conv2DTranspose``: 2)."""
    return int(re.search(r"(\d)D", name).group(1))


def _with_channels(shape_spatial, channels, data_format):
    return (channels, *shape_spatial) if data_format == "channels_first" else (
        *shape_spatial, channels)


def _conv(draw, name):
    rank = _rank(name)
    kwargs = _conv_common(draw, rank)
    groups = draw(st.sampled_from([1, 2])) if rank < 3 else 1
    channels = groups * draw(st.integers(1, 2))
    kwargs.update(filters=groups * draw(st.integers(1, 2)), groups=groups)
    spatial = _spatial(draw, rank, 3, 6 if rank < 3 else 4)
    return kwargs, [_with_channels(spatial, channels, kwargs["data_format"])], None


def _conv_transpose(draw, name):
    rank = _rank(name)
    kwargs = _conv_common(draw, rank, transpose=True)
    # TensorFlow's CPU kernels have no dilated transposed convolution: Keras cannot run one
    kwargs["dilation_rate"] = (1,) * rank
    kwargs["filters"] = draw(st.integers(1, 3))
    strides = kwargs["strides"]
    if draw(st.booleans()):
        kwargs["output_padding"] = tuple(draw(st.integers(0, s - 1)) for s in strides)
    else:
        kwargs["output_padding"] = None
    spatial = _spatial(draw, rank, 2, 4)
    return kwargs, [_with_channels(spatial, draw(st.integers(1, 2)), kwargs["data_format"])], \
        None


def _depthwise(draw, name):
    rank = _rank(name)
    kwargs = _conv_common(draw, rank)
    kwargs["depth_multiplier"] = draw(st.integers(1, 2))
    return kwargs, [_with_channels(_spatial(draw, rank), draw(st.integers(1, 3)),
                                   kwargs["data_format"])], None


def _separable(draw, name):
    rank = _rank(name)
    kwargs = _conv_common(draw, rank)
    kwargs.update(depth_multiplier=draw(st.integers(1, 2)), filters=draw(st.integers(1, 3)))
    return kwargs, [_with_channels(_spatial(draw, rank), draw(st.integers(1, 3)),
                                   kwargs["data_format"])], None


def _pool(draw, name):
    rank = _rank(name)
    kwargs = dict(pool_size=tuple(draw(st.integers(1, 3)) for _ in range(rank)),
                  strides=draw(st.none() | st.tuples(*[st.integers(1, 3)] * rank)),
                  padding=draw(st.sampled_from(["valid", "same"])),
                  data_format=draw(st.sampled_from(FORMATS)))
    spatial = _spatial(draw, rank, 3, 6 if rank < 3 else 4)
    return kwargs, [_with_channels(spatial, draw(st.integers(1, 2)), kwargs["data_format"])], \
        None


def _global_pool(draw, name):
    rank = _rank(name)
    kwargs = dict(data_format=draw(st.sampled_from(FORMATS)), keepdims=draw(st.booleans()))
    spatial = _spatial(draw, rank, 1, 4 if rank < 3 else 3)
    return kwargs, [_with_channels(spatial, draw(st.integers(1, 3)), kwargs["data_format"])], \
        None


def _flatten(draw, name):
    return dict(data_format=draw(st.sampled_from(FORMATS))), [
        small_shape(draw, draw(st.integers(1, 3)))], None


def _reshape(draw, name):
    shape = small_shape(draw, draw(st.integers(1, 3)))
    size = math.prod(shape)
    parts, rest = [], size
    for _ in range(draw(st.integers(0, 2))):
        factor = draw(st.sampled_from([d for d in range(1, rest + 1) if rest % d == 0]))
        parts.append(factor)
        rest //= factor
    parts.append(rest)
    if draw(st.booleans()):
        parts[draw(st.integers(0, len(parts) - 1))] = -1
    return dict(target_shape=tuple(parts)), [shape], None


def _permute(draw, name):
    rank = draw(st.integers(1, 3))
    return dict(dims=tuple(draw(st.permutations(range(1, rank + 1))))), [
        small_shape(draw, rank)], None


def _repeat(draw, name):
    return dict(n=draw(st.integers(1, 3))), [(draw(st.integers(1, 4)),)], None


def _pad_amount(draw, rank, key, spatial, crop):
    def amount(n):
        hi = max(n - 1, 0) if crop else 2
        pair = (draw(st.integers(0, hi)), 0)
        pair = (pair[0], draw(st.integers(0, hi - pair[0] if crop else 2)))
        return pair

    pairs = [amount(n) for n in spatial]
    style = draw(st.integers(0, 2))
    if style == 0 and len({p[0] for p in pairs} | {p[1] for p in pairs}) == 1:
        return pairs[0][0]
    if style == 1 and all(a == b for a, b in pairs) and rank > 1:
        return tuple(a for a, _ in pairs)
    return pairs[0] if rank == 1 else tuple(pairs)


def _padding(draw, name):
    rank = _rank(name)
    crop = name.startswith("Cropping")
    # Cropping1D has no data_format; ZeroPadding1D does (its config lists it)
    data_format = draw(st.sampled_from(FORMATS)) if rank > 1 or not crop else "channels_last"
    spatial = _spatial(draw, rank, 2, 5 if rank < 3 else 3)
    key = "cropping" if crop else "padding"
    kwargs = {key: _pad_amount(draw, rank, key, spatial, crop)}
    if rank > 1 or not crop:
        kwargs["data_format"] = data_format
    return kwargs, [_with_channels(spatial, draw(st.integers(1, 2)), data_format)], None


def _upsampling(draw, name):
    rank = _rank(name)
    size = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    kwargs: dict[str, Any] = dict(size=size[0] if rank == 1 else size)
    data_format = "channels_last"
    if rank > 1:
        data_format = kwargs["data_format"] = draw(st.sampled_from(FORMATS))
    if rank == 2:
        kwargs["interpolation"] = draw(st.sampled_from(["nearest", "bilinear"]))
    spatial = _spatial(draw, rank, 1, 4 if rank < 3 else 2)
    return kwargs, [_with_channels(spatial, draw(st.integers(1, 2)), data_format)], None


def _merge(draw, name):
    rank = draw(st.integers(1, 3))
    shape = small_shape(draw, rank)
    count = 2 if name == "Subtract" else draw(st.integers(2, 3))
    shapes = [tuple(d if draw(st.integers(0, 3)) else 1 for d in shape) for _ in range(count)]
    return {}, shapes, "merge"


def _concatenate(draw, name):
    rank = draw(st.integers(1, 3))
    shape = small_shape(draw, rank)
    axis = _axis(draw, rank)
    index = (axis - 1) if axis > 0 else rank + axis
    shapes = [tuple(draw(st.integers(1, 3)) if k == index else d for k, d in enumerate(shape))
              for _ in range(draw(st.integers(2, 3)))]
    return dict(axis=axis), shapes, "merge"


def _recurrent_kwargs(draw, name):
    kwargs = dict(units=draw(st.integers(1, 3)), activation=draw(st.sampled_from(
        ACTIVATION_NAMES)), use_bias=draw(st.booleans()),
        return_sequences=draw(st.booleans()), return_state=draw(st.booleans()),
        go_backwards=draw(st.booleans()), unroll=draw(st.booleans()),
        stateful=draw(st.sampled_from([False] * 7 + [True])))
    if name != "SimpleRNN":
        kwargs["recurrent_activation"] = draw(st.sampled_from(ACTIVATION_NAMES))
    if name == "GRU":
        kwargs["reset_after"] = draw(st.booleans())
    return kwargs


def _recurrent(draw, name):
    return _recurrent_kwargs(draw, name), [(draw(st.integers(1, 4)), draw(st.integers(1, 3)))], \
        None


def _bidirectional(draw, name):
    cell = draw(st.sampled_from(["SimpleRNN", "GRU", "LSTM"]))
    inner = _recurrent_kwargs(draw, cell)
    inner.update(stateful=False, go_backwards=False)
    separate = draw(st.booleans())
    mode = draw(st.sampled_from(["concat", "sum", "mul", "ave", None]))
    kwargs = dict(layer=(cell, inner), merge_mode=mode,
                  backward_layer=(cell, {**inner, "go_backwards": True}) if separate else None)

    def make(cls, kw):
        lay = layers()
        forward = getattr(lay, kw["layer"][0])(**kw["layer"][1])
        backward = kw["backward_layer"]
        backward = None if backward is None else getattr(lay, backward[0])(**backward[1])
        return cls(forward, merge_mode=kw["merge_mode"], backward_layer=backward)

    return kwargs, [(draw(st.integers(1, 4)), draw(st.integers(1, 3)))], make


def _time_distributed(draw, name):
    inner_name = draw(st.sampled_from(["Dense", "Activation", "LayerNormalization",
                                       "Dropout", "Conv1D"]))
    if inner_name == "Dense":
        inner = dict(units=draw(st.integers(1, 3)), activation=draw(st.sampled_from(
            ACTIVATION_NAMES)))
    elif inner_name == "Activation":
        inner = dict(activation=draw(st.sampled_from(ACTIVATION_NAMES)))
    elif inner_name == "Dropout":
        inner = dict(rate=0.5)
    elif inner_name == "Conv1D":
        inner = dict(filters=2, kernel_size=2)
    else:
        inner = dict(epsilon=draw(floats(1e-4, 0.1)))
    shape = (draw(st.integers(1, 3)), draw(st.integers(3, 4))) + (
        (draw(st.integers(2, 3)),) if inner_name == "Conv1D" else ())

    def make(cls, kw):
        return cls(getattr(layers(), kw["layer"][0])(**kw["layer"][1]))

    return dict(layer=(inner_name, inner)), [shape], make


def _attention(draw, name):
    kwargs: dict[str, Any] = dict(use_scale=draw(st.booleans()),
                                  dropout=draw(floats(0.0, 0.5)))
    if name == "Attention":
        kwargs["score_mode"] = draw(st.sampled_from(["dot", "concat"]))
    dim = draw(st.integers(1, 3))
    steps = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    shapes = [(steps[0], dim), (steps[1], dim)]
    if draw(st.booleans()):
        shapes.append((steps[1], dim))
    causal = draw(st.booleans()) and steps[0] == steps[1]
    return kwargs, shapes, ("attention", causal)


def _multi_head(draw, name):
    kwargs = dict(num_heads=draw(st.integers(1, 2)), key_dim=draw(st.integers(1, 3)),
                  value_dim=draw(st.none() | st.integers(1, 3)), use_bias=draw(st.booleans()),
                  dropout=draw(floats(0.0, 0.5)),
                  attention_axes=draw(st.sampled_from([None, None, None, (1,), (2,)])),
                  output_shape=draw(st.sampled_from([None, None, None, 3])),
                  use_gate=draw(st.sampled_from([False] * 5 + [True])))
    steps = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dim = draw(st.integers(1, 3))
    shapes = [(steps[0], dim), (steps[1], draw(st.integers(1, 3)))]
    if draw(st.booleans()):
        shapes.append((steps[1], draw(st.integers(1, 3))))
    causal = draw(st.booleans()) and steps[0] == steps[1]
    return kwargs, shapes, ("attention", causal)


def _dropout(draw, name):
    rank = draw(st.integers(1, 3))
    kwargs: dict[str, Any] = {}
    if name in ("Dropout", "AlphaDropout", "GaussianDropout") or name.startswith("Spatial"):
        kwargs["rate"] = draw(floats(0.0, 0.9))
    if name == "GaussianNoise":
        kwargs["stddev"] = draw(floats(0.0, 2.0))
    if name in ("Dropout", "AlphaDropout"):
        kwargs["noise_shape"] = draw(st.none() | st.just((None, *([1] * rank))))
    if name.startswith("Spatial"):
        rank = _rank(name) + 1
        if rank > 2:
            kwargs["data_format"] = draw(st.sampled_from(FORMATS))
    if name == "ActivityRegularization":
        kwargs.update(l1=draw(floats(0.0, 1.0)), l2=draw(floats(0.0, 1.0)))
    if name not in ("Identity", "ActivityRegularization"):
        kwargs["seed"] = draw(st.none() | st.integers(0, 100))
    return kwargs, [small_shape(draw, rank, 1, 3)], None


BUILDERS = {
    "Dense": _dense, "Activation": _activation, "ReLU": _relu, "LeakyReLU": _leaky,
    "ELU": _elu, "Softmax": _softmax, "PReLU": _prelu, "Embedding": _embedding,
    "BatchNormalization": _batchnorm, "LayerNormalization": _layernorm,
    "RMSNormalization": _rmsnorm, "Normalization": _normalization, "Rescaling": _rescaling,
    "Flatten": _flatten, "Reshape": _reshape, "Permute": _permute, "RepeatVector": _repeat,
    "Concatenate": _concatenate, "Bidirectional": _bidirectional,
    "TimeDistributed": _time_distributed, "Attention": _attention,
    "AdditiveAttention": _attention, "MultiHeadAttention": _multi_head,
    **{f"Conv{r}D": _conv for r in (1, 2, 3)},
    **{f"Conv{r}DTranspose": _conv_transpose for r in (1, 2, 3)},
    **{f"DepthwiseConv{r}D": _depthwise for r in (1, 2)},
    **{f"SeparableConv{r}D": _separable for r in (1, 2)},
    **{f"{k}Pooling{r}D": _pool for k in ("Max", "Average") for r in (1, 2, 3)},
    **{f"Global{k}Pooling{r}D": _global_pool for k in ("Max", "Average") for r in (1, 2, 3)},
    **{f"{k}{r}D": _padding for k in ("ZeroPadding", "Cropping") for r in (1, 2, 3)},
    **{f"UpSampling{r}D": _upsampling for r in (1, 2, 3)},
    **dict.fromkeys(("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"), _merge),
    **dict.fromkeys(("SimpleRNN", "GRU", "LSTM"), _recurrent),
    **dict.fromkeys(("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
                     "GaussianNoise", "GaussianDropout", "AlphaDropout",
                     "ActivityRegularization", "Identity"), _dropout),
}
#: Classes whose channels-first arithmetic Keras runs through TensorFlow's channels-last-only
#: CPU kernels (compared with their channels-last twin).
WINDOWED = ("Conv", "DepthwiseConv", "SeparableConv", "MaxPooling", "AveragePooling")
#: Drawn with every other class: the input layer, its shape.
IMPLICIT = {"InputLayer"}


def test_every_supported_layer_class_has_a_builder():
    assert set(supported_layers()) == set(BUILDERS) | IMPLICIT


# --- the comparison --------------------------------------------------------------------------

def build_model(name, kwargs, shapes, make):
    import keras

    cls = getattr(keras.layers, name)
    if callable(make):
        layer = make(cls, kwargs)
    else:
        layer = cls(**kwargs)
    inputs = [keras.Input(s) for s in shapes]
    if make == "merge":
        out = layer(inputs)
    elif isinstance(make, tuple):  # attention: (query, value[, key]), maybe causal
        _, causal = make
        options = dict(use_causal_mask=True) if causal else {}
        if name == "MultiHeadAttention":
            call = dict(query=inputs[0], value=inputs[1])
            if len(inputs) > 2:
                call["key"] = inputs[2]
            out = layer(**call, **options)
        else:  # Attention layers take [query, value, key]
            out = layer(inputs, **options)
    else:
        out = layer(inputs[0])
    return keras.Model(inputs, out), layer


def keras_outputs(model, xs):
    out = model(xs if len(xs) > 1 else xs[0], training=False)
    out = out if isinstance(out, (list, tuple)) else [out]
    return [np.asarray(o) for o in out]


def channels_last_twin(name, kwargs, shapes, model):
    """The same layer with its channels last (TensorFlow's CPU kernels run convolutions and
    poolings channels last only), fed the inputs moved to channels last."""
    import keras

    twin_kwargs = {**kwargs, "data_format": "channels_last"}
    moved = [(*s[1:], s[0]) for s in shapes]
    twin, _ = build_model(name, twin_kwargs, moved, None)
    twin.set_weights(model.get_weights())

    def run(xs):
        outs = keras_outputs(twin, [np.moveaxis(x, 1, -1) for x in xs])
        return [np.moveaxis(o, -1, 1) if o.ndim > 2 else o for o in outs]

    del keras
    return run


#: float32's rounding, summed in another order, grows through the steps of a recurrence
#: with an unbounded activation (an exponential GRU reaching 7e14 differs by 3e-5 relative):
#: a semantic mistake differs by far more.
RTOL = dict.fromkeys(("SimpleRNN", "GRU", "LSTM", "Bidirectional"), 1e-4)
#: Samples per batch: more than any drawn size. Keras' TensorFlow backend adds a tensor that
#: squeezes to a vector with tf.nn.bias_add, guessing the channels' axis from the sizes; a
#: batch of 4 samples beside an axis of 4 makes Average()([(4,), (1,)]) add the second input
#: along the features in an eager call.
BATCH = 7


def inputs_for(name, kwargs, shapes, seed):
    rng = np.random.default_rng(seed)
    if name == "Embedding":
        return [rng.integers(0, kwargs["input_dim"], (BATCH, *shapes[0])).astype(np.float32)]
    return [rng.normal(0, 1.0, (BATCH, *s)).astype(np.float32) for s in shapes]


def compare(name, draw):
    kwargs, shapes, make = BUILDERS[name](draw, name)
    seed = draw(st.integers(0, 2**16))
    try:
        model, layer = build_model(name, kwargs, shapes, make)
    except (ValueError, TypeError, NotImplementedError) as exc:
        assume(False)  # a configuration Keras itself refuses
        raise AssertionError from exc
    randomize(model, seed)
    DRAWN[name] |= set(kwargs)
    LISTED[name] |= set(layer.get_config())
    xs = inputs_for(name, kwargs, shapes, seed)
    try:
        if kwargs.get("data_format") == "channels_first" and name.startswith(WINDOWED):
            # TensorFlow's CPU kernels convolve and pool channels last only: most
            # channels-first configurations raise, and grouped ones compute another function
            # (Keras' Conv1D(2, 1, strides=2, groups=2, data_format="channels_first") gives
            # W[0, 0, 1]·x[0, 2] + b[1] where the definition, worked by hand, gives
            # W[0, 0, 1]·x[1, 2] + b[1]). The channels-last twin is Keras' own reference.
            expected = channels_last_twin(name, kwargs, shapes, model)(xs)
        else:
            expected = keras_outputs(model, xs)
    except (tf_errors().InvalidArgumentError, tf_errors().UnimplementedError, ValueError):
        # what Keras, or TensorFlow's CPU kernels, cannot run (a depthwise window with unequal
        # strides, a causal mask over other attention axes...): no answer to compare with
        assume(False)
        raise
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = symnet.explain(model)
    except UnsupportedLayerError as exc:
        assert str(exc), "a refusal says why"
        OUTCOMES[name]["refused"] += 1
        REASONS[name][str(exc).split(": ", 1)[-1][:90]] += 1
        return
    got = net.evaluate(xs if len(xs) > 1 else xs[0])
    got = got if isinstance(got, list) else [got]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.shape == e.shape, (name, kwargs, g.shape, e.shape)
        scale = max(1.0, float(np.max(np.abs(e))) if e.size else 1.0)
        np.testing.assert_allclose(g, e, rtol=RTOL.get(name, 1e-5), atol=2e-6 * scale,
                                   err_msg=f"{name} {kwargs} shapes {shapes}")
    OUTCOMES[name]["compared"] += 1


def _defaults_only(name):
    """Declared keys a builder leaves at Keras' default: those that only take one value."""
    from symnet.layers.spec import Choice

    declared = spec_of(name)
    return {k for k, d in declared.config.items()
            if isinstance(d, Inert) or (isinstance(d, Choice) and len(d.values) == 1)}


@pytest.mark.parametrize("name", sorted(BUILDERS))
@settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_evaluate_is_keras_for_every_drawn_configuration(keras, name, data):
    compare(name, data.draw)


def test_drawn_configurations_were_compared_not_only_refused():
    """Every class drawn had configurations compared with Keras (refusals are for what it
    cannot convert, not a way out) and drew every key Keras lists that changes what it
    computes; a run of every class draws at least 1,000 configurations."""
    ran = [n for n in BUILDERS if n in OUTCOMES]
    if not ran:
        pytest.skip("the differential tests above did not run (deselected)")
    total = sum(sum(OUTCOMES[n].values()) for n in ran)
    compared = sum(OUTCOMES[n]["compared"] for n in ran)
    print(f"\ndifferential: {total} drawn configurations, {compared} compared with Keras, "
          f"{total - compared} refused by name; refusals: "
          f"{ {n: dict(r) for n, r in REASONS.items()} }")
    never = sorted(n for n in ran if OUTCOMES[n]["compared"] == 0)
    assert not never, f"never compared: {never}; refused: {[dict(REASONS[n]) for n in never]}"
    if len(ran) == len(BUILDERS) and EXAMPLES >= 14:
        assert total >= 1000, total
    for name in ran:
        declared = spec_of(name)
        required = (set(declared.drawn()) & LISTED[name]) - _defaults_only(name) - {
            "dtype", "name", "trainable"}
        assert required <= DRAWN[name], f"{name}: never drew {sorted(required - DRAWN[name])}"
