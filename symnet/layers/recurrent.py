"""Recurrent layers, unrolled: ``SimpleRNN``, ``GRU``, ``LSTM``; ``Bidirectional``;
``TimeDistributed`` (of layers that act on each step's last axis)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..ops import Concat, Elementwise, Merge, Rearrange
from ..ops.recurrent import CELLS, Recurrent
from . import Definition, LayerContext, converter
from .core import resolve_activation
from .spec import (
    CONSTRAINT,
    INITIALIZER,
    REGULARIZER,
    SEED,
    ActivationName,
    Choice,
    Inert,
    LayerSpec,
    Nested,
    Number,
    Setting,
    Shape,
    WeightSpec,
    spec,
)

FLAG = Choice((True, False))
_TRAINING = Setting("a dropout while training")
_WEIGHTS = {f"{w}_{what}": domain for w in ("kernel", "recurrent", "bias")
            for what, domain in (("initializer", INITIALIZER), ("regularizer", REGULARIZER),
                                 ("constraint", CONSTRAINT))}

_CELLS = {"SimpleRNN": "simple", "GRU": "gru", "LSTM": "lstm"}
_GATES = {"z": "update", "r": "reset", "h": "candidate", "i": "input", "f": "forget",
          "c": "candidate", "o": "output"}


def _fn(ctx: LayerContext, function: Any, what: str) -> Any:
    name, op = resolve_activation(ctx, function)
    if op is None:
        return None
    if not isinstance(op, Elementwise):
        raise ctx.reject(f"{what}={name!r} is not supported in a recurrent cell")
    return op.fn


def _check(ctx: LayerContext) -> None:
    c = ctx.config
    if c.get("stateful"):
        raise ctx.reject("stateful=True is not supported: the output would depend on earlier "
                         "calls, not on the input alone")
    if len(ctx.input_shape) != 2:
        raise ctx.reject(f"expected inputs of shape (steps, features), received "
                         f"{ctx.input_shape}")


def _define(ctx: LayerContext, cell: str, reset_after: bool, sym: dict[str, Any]) -> None:
    x, h, c = "x_t", "h_{t-1}", "c_{t-1}"
    W, U, b = (ctx.tex(sym[k]) for k in "WUb")
    tW, tU, tb = (str(sym[k]) for k in "WUb")
    if cell == "simple":
        ctx.define(Definition(
            rf"h_t = \phi\left(x_t {W} + h_{{t-1}} {U} + {b}\right),\quad h_0 = 0",
            f"h_t = φ(x_t·{tW} + h_(t−1)·{tU} + {tb}), h_0 = 0"))
        return
    gates = CELLS[cell]
    blocks = ", ".join(f"{g} ({_GATES[g]})" for g in gates)
    ctx.define(Definition(
        rf"{W} = \left[{' '.join(f'{W}^{{{g}}}' for g in gates)}\right]",
        f"{tW}, {tU} and {tb} hold the gates' columns side by side, in Keras' order: {blocks}"))
    if cell == "lstm":
        lines = [(rf"{g}_t = \sigma\left({x} {W}^{{{g}}} + {h} {U}^{{{g}}} + {b}^{{{g}}}\right)",
                  f"{g}_t = σ(x_t·{tW}^{g} + h_(t−1)·{tU}^{g} + {tb}^{g})") for g in "ifo"]
        lines += [(rf"\tilde c_t = \tanh\left({x} {W}^{{c}} + {h} {U}^{{c}} + {b}^{{c}}\right)",
                   f"c̃_t = tanh(x_t·{tW}^c + h_(t−1)·{tU}^c + {tb}^c)"),
                  (rf"c_t = f_t \odot {c} + i_t \odot \tilde c_t,\quad h_t = o_t \odot "
                   r"\tanh\left(c_t\right),\quad h_0 = c_0 = 0",
                   "c_t = f_t ⊙ c_(t−1) + i_t ⊙ c̃_t, h_t = o_t ⊙ tanh(c_t), h_0 = c_0 = 0")]
    else:
        rb = b + "'" if reset_after else b
        lines = [(rf"{g}_t = \sigma\left({x} {W}^{{{g}}} + {h} {U}^{{{g}}} + {b}^{{{g}}}"
                  + (rf" + {rb}^{{{g}}}" if reset_after else "") + r"\right)",
                  f"{g}_t = σ(x_t·{tW}^{g} + h_(t−1)·{tU}^{g} + {tb}^{g}"
                  + (f" + {tb}'^{g}" if reset_after else "") + ")") for g in "zr"]
        if reset_after:
            lines.append((rf"\tilde h_t = \tanh\left({x} {W}^{{h}} + {b}^{{h}} + r_t \odot "
                          rf"\left({h} {U}^{{h}} + {rb}^{{h}}\right)\right)",
                          f"h̃_t = tanh(x_t·{tW}^h + {tb}^h + r_t ⊙ (h_(t−1)·{tU}^h + {tb}'^h))"))
        else:
            lines.append((rf"\tilde h_t = \tanh\left({x} {W}^{{h}} + \left(r_t \odot {h}"
                          rf"\right) {U}^{{h}} + {b}^{{h}}\right)",
                          f"h̃_t = tanh(x_t·{tW}^h + (r_t ⊙ h_(t−1))·{tU}^h + {tb}^h)"))
        lines.append((rf"h_t = z_t \odot {h} + \left(1 - z_t\right) \odot \tilde h_t,\quad "
                      "h_0 = 0", "h_t = z_t ⊙ h_(t−1) + (1 − z_t) ⊙ h̃_t, h_0 = 0"))
    ctx.define(*[Definition(latex, text) for latex, text in lines])


def unroll(ctx: LayerContext, value: int = 0, go_backwards: bool | None = None
           ) -> list[int]:
    """The layer's recurrence applied to ``value``; its outputs (the output, then the states
    when ``return_state``)."""
    _check(ctx)
    c = ctx.config
    cell = _CELLS[ctx.kind]
    units = int(c["units"])
    steps, features = ctx.shape(value)
    gates = CELLS[cell]
    width = len(gates) * units
    order = ", ".join(gates)
    kernel = ctx.param("kernel", "W", f"kernel, shape ({features}, {width}): the input's "
                       f"weights into the gates {order}, {units} columns each")
    recurrent = ctx.param("recurrent_kernel", "U", f"recurrent_kernel, shape ({units}, "
                          f"{width}): the previous state's weights into the gates {order}")
    reset_after = bool(c.get("reset_after", True)) if cell == "gru" else False
    bias = None
    if bool(c.get("use_bias", True)):
        shape = f"(2, {width})" if reset_after else f"({width},)"
        bias = ctx.param("bias", "b", f"bias, shape {shape}: the gates' offsets"
                         + ("; row 0 for the input, row 1 for the recurrent term"
                            if reset_after else ""))
    activation = _fn(ctx, c.get("activation"), "activation")
    recurrent_activation = (None if cell == "simple" else
                            _fn(ctx, c.get("recurrent_activation"), "recurrent_activation"))
    backwards = bool(c.get("go_backwards", False)) if go_backwards is None else go_backwards
    sequences = bool(c.get("return_sequences", False))
    ctx.constants.update(units=units, return_sequences=sequences, go_backwards=backwards,
                         return_state=bool(c.get("return_state", False)))
    if cell == "gru":
        ctx.constants["reset_after"] = reset_after

    def run(emit: str) -> int:
        return ctx.apply(Recurrent(cell, kernel, recurrent, bias, units, activation,
                                   recurrent_activation, reset_after, backwards, emit), value)

    outputs = [run("sequence" if sequences else "last")]
    if c.get("return_state"):
        outputs.append(run("last"))
        if cell == "lstm":
            outputs.append(run("carry"))
    _define(ctx, cell, reset_after, {"W": kernel.symbol, "U": recurrent.symbol,
                                     "b": (bias or kernel).symbol})
    ctx.note = (f"unrolled over {steps} steps from a zero state"
                + (", the sequence read backwards" if backwards else "")
                + ("; every step's output" if sequences else "; the last step's output"))
    return outputs


_RECURRENT = dict(
    units=Number(1, integer=True), activation=ActivationName(),
    recurrent_activation=ActivationName(), use_bias=FLAG, return_sequences=FLAG,
    return_state=FLAG, go_backwards=FLAG, reset_after=FLAG, stateful=Choice((False,)),
    unroll=Inert("whether the loop is unrolled: the same arithmetic"),
    dropout=_TRAINING, recurrent_dropout=_TRAINING, seed=SEED,
    zero_output_for_mask=Inert("used only with a mask, which is refused"),
    unit_forget_bias=Inert("how the forget gate's bias was first drawn"),
    activity_regularizer=REGULARIZER, **_WEIGHTS)
#: The keys a class does not take (Keras refuses them: "Unrecognized keyword arguments").
_NOT_TAKEN = {"SimpleRNN": ("recurrent_activation", "reset_after", "unit_forget_bias"),
              "GRU": ("unit_forget_bias",), "LSTM": ("reset_after",)}


def _reading(kind: str) -> LayerSpec:
    """What a file reader needs of a recurrent layer: the cell's kernel, recurrent kernel and
    bias (a GRU's reset_after bias two rows), its output (the sequence or the last step) and
    states."""
    gates = len(CELLS[_CELLS[kind]])

    def weights(config: Mapping[str, Any], shapes: list[Shape]) -> list[WeightSpec]:
        (shape,) = shapes
        if len(shape) != 2:
            raise ValueError(f"inputs of shape {shape}, expected (steps, features)")
        units = int(config["units"])
        width = gates * units
        out = [WeightSpec("kernel", (shape[-1], width)),
               WeightSpec("recurrent_kernel", (units, width))]
        if config["use_bias"]:
            two = kind == "GRU" and bool(config["reset_after"])
            out.append(WeightSpec("bias", (2, width) if two else (width,)))
        return out

    def output(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
        (shape,) = shapes
        units = int(config["units"])
        first = (shape[0], units) if config["return_sequences"] else (units,)
        states = [(units,)] * (2 if kind == "LSTM" else 1) if config["return_state"] else []
        return [first, *states]

    required = ["units", "activation", "use_bias", "return_sequences", "return_state",
                "go_backwards", "stateful"]
    required += [] if kind == "SimpleRNN" else ["recurrent_activation"]
    required += ["reset_after"] if kind == "GRU" else []
    declared = spec(**{k: v for k, v in _RECURRENT.items() if k not in _NOT_TAKEN[kind]})
    return declared.reading(weights, output, tuple(required))


def recurrent(ctx: LayerContext) -> Any:
    outputs = unroll(ctx)
    return outputs[0] if len(outputs) == 1 else outputs


for _kind in _CELLS:
    converter(_kind, config=_reading(_kind))(recurrent)


def _wrapped(entry: Any) -> tuple[Mapping[str, Any], LayerSpec]:
    """A wrapped layer's saved config and its converter's spec (one the file reader reads)."""
    from . import spec_of

    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise ValueError("a wrapped layer that is not a layer's config")
    declared = spec_of(str(entry.get("class_name")))
    if declared is None or declared.weights is None or declared.wraps is not None:
        raise ValueError(f"wraps {str(entry.get('class_name'))[:40]}")
    return entry["config"], declared


def _wrapped_weights(entry: Any, shapes: list[Shape]) -> list[WeightSpec]:
    config, declared = _wrapped(entry)
    assert declared.weights is not None
    frozen = not bool(config.get("trainable", True))
    return [replace(w, trainable=w.trainable and not frozen)
            for w in declared.weights(config, shapes)]


def _directions(config: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return [("forward_layer", config["layer"]), ("backward_layer", config["backward_layer"])]


def _bidirectional_weights(config: Mapping[str, Any], shapes: list[Shape]
                           ) -> list[WeightSpec]:
    return [w for _, entry in _directions(config) for w in _wrapped_weights(entry, shapes)]


def _bidirectional_output(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    """Keras' checks of the two directions (one class and flags, opposite directions) and the
    merged output, then each direction's states."""
    (fw_config, fw), (bw_config, bw) = (_wrapped(e) for _, e in _directions(config))
    kinds = {entry.get("class_name") for _, entry in _directions(config)}
    if len(kinds) != 1 or not kinds <= set(_CELLS):
        raise ValueError(f"wraps {sorted(map(str, kinds))}: SimpleRNN, GRU or LSTM both ways")
    for key in ("return_sequences", "return_state", "stateful"):
        if fw_config.get(key) != bw_config.get(key):
            raise ValueError(f"the directions' {key} differ")
    if bool(fw_config.get("go_backwards")) == bool(bw_config.get("go_backwards")):
        raise ValueError("both directions read the sequence the same way")
    forward, backward = fw.output(fw_config, shapes), bw.output(bw_config, shapes)
    mode = config["merge_mode"]
    if mode is None:
        return [forward[0], backward[0], *forward[1:], *backward[1:]]
    if mode == "concat":
        merged = (*forward[0][:-1], forward[0][-1] + backward[0][-1])
    elif forward[0] != backward[0]:
        raise ValueError(f"outputs of shapes {forward[0]} and {backward[0]} merged by {mode}")
    else:
        merged = forward[0]
    return [merged, *forward[1:], *backward[1:]]


@converter("Bidirectional", config=spec(
    layer=Nested(), backward_layer=Nested(none=True),
    merge_mode=Choice(("concat", "sum", "mul", "ave", None))).reading(
        _bidirectional_weights, _bidirectional_output,
        ("layer", "backward_layer", "merge_mode"), _directions))
def bidirectional(ctx: LayerContext) -> Any:
    layer = ctx.layer
    mode = ctx.config.get("merge_mode", "concat")
    results = []
    for role, tag in (("forward_layer", "^fw"), ("backward_layer", "^bw")):
        sub_layer = layer.child(role)
        if sub_layer is None or sub_layer.kind not in _CELLS or not sub_layer.builtin:
            raise ctx.reject(f"wraps {getattr(sub_layer, 'kind', None)}; SimpleRNN, GRU and "
                             "LSTM are supported")
        inner = ctx.sub(sub_layer, tag)
        outputs = unroll(inner, go_backwards=bool(inner.config.get("go_backwards", False)))
        results.append(ctx.absorb(inner, outputs))
    (forward, *f_states), (backward, *b_states) = results
    steps = ctx.input_shape[0]
    if inner.config.get("return_sequences", False):
        # Keras turns the backward sequence back into time order before merging.
        shape = ctx.shape(backward)
        backward = ctx.apply(Rearrange("reverse", shape, shape, (1, 0)), backward)
    ctx.constants["merge_mode"] = mode
    ctx.note = (f"a forward and a backward {sub_layer.kind} over {steps} "
                f"steps, merged by {mode}")
    if mode is None:
        return [forward, backward, *f_states, *b_states]
    if mode == "concat":
        shapes = (ctx.shape(forward), ctx.shape(backward))
        merged = ctx.apply(Concat(-1, shapes), forward, backward)
    else:
        operation = {"sum": "add", "mul": "multiply", "ave": "average"}.get(mode)
        if operation is None:
            raise ctx.reject(f"merge_mode={mode!r} is not supported")
        merged = ctx.apply(Merge(operation), forward, backward)
    states = [*f_states, *b_states]
    return merged if not states else [merged, *states]


def _steps(shapes: list[Shape]) -> Shape:
    (shape,) = shapes
    if len(shape) < 2:
        raise ValueError(f"inputs of shape {shape}: (steps, ...) expected")
    return shape[1:]


def _layer(config: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return [("layer", config["layer"])]


def _distributed_weights(config: Mapping[str, Any], shapes: list[Shape]) -> list[WeightSpec]:
    return _wrapped_weights(config["layer"], [_steps(shapes)])


def _distributed_output(config: Mapping[str, Any], shapes: list[Shape]) -> list[Shape]:
    inner, declared = _wrapped(config["layer"])
    out = declared.output(inner, [_steps(shapes)])
    if len(out) != 1:
        raise ValueError(f"the wrapped layer has {len(out)} outputs")
    return [(shapes[0][0], *out[0])]


@converter("TimeDistributed", config=spec(layer=Nested()).reading(
    _distributed_weights, _distributed_output, ("layer",), _layer))
def time_distributed(ctx: LayerContext) -> int:
    from . import converter_for

    inner_layer = ctx.layer.child("layer")
    convert = converter_for(inner_layer) if inner_layer is not None else None
    if convert is None or inner_layer is None:
        from . import unsupported

        raise unsupported(f"{ctx.name}/{getattr(inner_layer, 'name', '?')}",
                          getattr(inner_layer, "kind", "?"))
    inner = ctx.sub(inner_layer)
    value = convert(inner)
    if not all(step.op.rowwise for step in inner.steps):
        raise ctx.reject(f"wraps {inner_layer.kind}, whose ops mix entries across "
                         "axes other than the last; TimeDistributed is supported for layers "
                         "that act on the last axis (Dense, activations, normalisation of the "
                         "last axis, Dropout)")
    (value,) = ctx.absorb(inner, [value])
    ctx.note = f"{inner_layer.kind} applied to each of the {ctx.input_shape[0]} steps"
    return value
