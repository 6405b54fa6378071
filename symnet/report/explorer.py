"""The interactive explorer: a part of the HTML report in which the reader moves the input and
watches the network compute — every layer's values, the units the activations clip, the local
law, the contributions to the output and the plot.

The page is self-contained and offline: the network's numbers are embedded as JSON and a small
script (no library, no CDN) runs the same ops symnet runs, in float64. Which ops it can run is
explicit (:data:`OPS`); a network with any other op is refused with the layer named, never
shown with a wrong computation. ``#x=1,2`` in the page's address sets the input.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import UnsupportedLayerError
from ..escape import html_text
from .sections import Explorer, SliderInput

if TYPE_CHECKING:
    from ..graph import Node
    from ..network import Network

__all__ = ["MAX_PARAMETERS", "OPS", "explorer_data", "explorer_html", "explorer_section"]

#: The explorer embeds every weight in the page: larger networks are refused.
MAX_PARAMETERS = 250_000

#: What the page's script computes: the ops (by class) and the activations (by function).
OPS = ("MatMul", "BiasAdd", "Affine", "BatchNormInference", "Elementwise", "Softmax",
       "identity ops (Dropout, ...)",
       "entrywise affine ops (WithConstant, Rescale, Normalize: x ⊙ d + b)")
_FUNCTIONS = {"ReLU": "relu", "LeakyReLU": "leaky_relu", "HardSigmoid": "hard_sigmoid",
              "HardTanh": "hard_tanh", "Sigmoid": "sigmoid", "Tanh": "tanh",
              "Exponential": "exp", "ELU": "elu", "SELU": "selu", "Softplus": "softplus",
              "Softsign": "softsign", "SiLU": "silu"}


def _numbers(value: Any) -> Any:
    return np.asarray(value, dtype=np.float64).tolist()


def _option(v: float) -> float | None:
    return float(v) if math.isfinite(float(v)) else None


def _node(node: Node, size: int | None = None) -> dict[str, Any]:
    from ..ops import BiasAdd, MatMul
    from ..ops.activations import Elementwise, Softmax
    from ..ops.linear import Affine
    from ..ops.normalization import BatchNormInference

    op = node.op

    def refuse(why: str) -> UnsupportedLayerError:
        return UnsupportedLayerError(
            f"the interactive explorer cannot compute layer {node.layer!r}: {why} (it computes "
            f"Dense, BatchNormalization, Dropout-like and activation layers on vectors)")

    if isinstance(op, MatMul):
        kernel = np.asarray(op.in_out.value)
        if kernel.ndim != 2:
            raise refuse(f"a kernel of shape {kernel.shape}")
        return {"op": "matmul", "w": _numbers(kernel)}
    if isinstance(op, BiasAdd):
        return {"op": "bias", "b": _numbers(np.reshape(op.bias.value, -1))}
    if isinstance(op, Affine):
        return {"op": "affine", "w": _numbers(op.weight), "b": _numbers(op.bias)}
    if isinstance(op, BatchNormInference):
        if op.variant != "inference" or len(op.sample_shape) > 1:
            raise refuse(f"BatchNormalization over shape {op.sample_shape}")
        n = np.size(op.mean.value)
        return {"op": "bn", "mean": _numbers(np.reshape(op.mean.value, -1)),
                "var": _numbers(np.reshape(op.variance.value, -1)),
                "eps": float(op.epsilon.value),
                "gamma": _numbers(np.reshape(op.gamma.value, -1)) if op.gamma else [1.0] * n,
                "beta": _numbers(np.reshape(op.beta.value, -1)) if op.beta else [0.0] * n}
    if isinstance(op, Elementwise):
        name = _FUNCTIONS.get(op.fn.func.__name__)
        if name is None or op.fixed is not None:
            raise refuse(f"the activation {op.describe()}")
        return {"op": "fn", "fn": name, "args": [_option(v) for v in op.fn._floats],
                "label": op.describe()}
    if isinstance(op, Softmax):
        if op.log or len(op.sample_shape) > 1:
            raise refuse(op.describe())
        return {"op": "softmax"}
    if op.identity:
        return {"op": "id"}
    if op.entrywise and op.affine and size is not None:
        # A constant added, subtracted, multiplied or divided (ONNX), a rescaling: x ⊙ d + b.
        diagonal = op.as_diagonal(size)
        if diagonal is not None:
            return {"op": "diag", "d": _numbers(diagonal[0]), "b": _numbers(diagonal[1])}
    raise refuse(f"the op {op.describe()} ({type(op).__name__})")


def explorer_section(net: Network, x: Any = None, low: float | None = None,
                     high: float | None = None) -> Explorer:
    """The explorer of ``net``: its sliders, and the network as the page's script reads it
    (:func:`explorer_data`)."""
    graph = net.graph
    _require_vectors(net)
    size = int(net.input_shapes[0][0])
    start = np.zeros(size) if x is None else np.ravel(np.asarray(x, dtype=np.float64))
    names = [str(s) for s in graph.features] if len(graph.features) == size else \
        [f"x[{i}]" for i in range(size)]
    inputs = []
    for i, v in enumerate(start):
        lo = low if low is not None else v - max(5.0, 2 * abs(v))
        hi = high if high is not None else v + max(5.0, 2 * abs(v))
        inputs.append(SliderInput(names[i], float(v), float(min(lo, v)), float(max(hi, v))))
    return Explorer(inputs=tuple(inputs), network=explorer_data(net, inputs))


def _require_vectors(net: Network) -> None:
    graph = net.graph
    if len(graph.inputs) != 1 or len(graph.outputs) != 1 or len(net.input_shapes[0]) != 1 \
            or len(net.output_shapes[0]) != 1:
        raise UnsupportedLayerError(
            f"the interactive explorer takes a network of one vector input and one vector "
            f"output; this one has inputs {list(net.input_shapes)} and outputs "
            f"{list(net.output_shapes)}")
    if net.param_count > MAX_PARAMETERS:
        raise UnsupportedLayerError(
            f"the interactive explorer embeds every weight in the page: this network has "
            f"{net.param_count:,} parameters, over the limit of {MAX_PARAMETERS:,}")


def explorer_data(net: Network, inputs: list[SliderInput]) -> dict[str, Any]:
    """The network as the page's script reads it (a JSON document): inputs (names, start
    values, slider ranges), the nodes in execution order, the layers with their tensors, the
    output."""
    from ..ops import BiasAdd, MatMul
    from ..ops.linear import Affine

    graph = net.graph
    _require_vectors(net)
    nodes = []
    for node in graph.nodes:
        if len(node.inputs) != 1:
            raise UnsupportedLayerError(
                f"the interactive explorer cannot compute layer {node.layer!r}: it merges "
                f"{len(node.inputs)} tensors")
        size = math.prod(graph.shapes[node.inputs[0]])
        nodes.append({**_node(node, size), "in": node.inputs[0], "out": node.output})
    layers = []
    for call in graph.calls:
        ops = [graph.nodes[i] for i in call.nodes]
        activation = ops[-1] if len(ops) > 1 and ops[-1].op.is_activation else None
        pre = None if activation is None else activation.inputs[0]
        matmul = next((k for k in call.nodes if isinstance(graph.nodes[k].op,
                                                           (MatMul, Affine))), None)
        bias = next((k for k in call.nodes if isinstance(graph.nodes[k].op, BiasAdd)), None)
        layers.append({"name": call.layer.name, "kind": call.layer.kind,
                       "in": call.inputs[0] if call.inputs else None, "out": call.output,
                       "pre": pre,
                       "activation": None if activation is None else activation.op.describe(),
                       "symbol": str(graph.symbols[call.output]),
                       "input_symbol": str(graph.symbols[call.inputs[0]]) if call.inputs
                       else None,
                       "matmul": matmul, "bias": bias})
    return {"inputs": [{"name": i.name, "value": i.value, "min": i.low, "max": i.high}
                       for i in inputs], "input": graph.inputs[0], "output": graph.outputs[0],
            "output_name": str(graph.targets[0]) if graph.targets else "y",
            "piecewise_linear": bool(graph.piecewise_linear), "nodes": nodes,
            "layers": layers}


def _script() -> str:
    from importlib import resources

    return resources.files(__package__).joinpath("explorer.js").read_text(encoding="utf-8")


def explorer_html(section: Explorer) -> str:
    """The explorer's part of the page: controls, the places the script fills, the data and
    the script."""
    payload = json.dumps(section.network, separators=(",", ":"), allow_nan=False)
    payload = payload.replace("</", "<\\/")  # the JSON cannot close its <script> element
    controls = []
    if len(section.inputs) > 16:
        values = ", ".join(f"{i.value:g}" for i in section.inputs)
        controls.append('<p><label>Input (comma-separated numbers)<br><textarea id="sx-many" '
                        f'rows="3" cols="80">{html_text(values, limit=None)}</textarea></label>'
                        '<button type="button" id="sx-apply">Compute</button></p>')
    else:
        for k, i in enumerate(section.inputs):
            step = (i.high - i.low) / 1000 or 0.001
            controls.append(
                f'<p class="sx-input"><label><span class="sx-name">{html_text(i.name)}</span> '
                f'<input type="range" id="sx-range-{k}" min="{i.low!r}" max="{i.high!r}" '
                f'step="{step!r}" value="{i.value!r}"></label> '
                f'<input type="number" id="sx-num-{k}" step="any" value="{i.value!r}"></p>')
    return "\n".join([
        '<section id="symnet-explorer">',
        "<h2>Explore: move the input</h2>",
        "<p class=note>The page computes the network itself (float64, with the weights "
        "below); click a unit to see its formula with the current numbers.</p>",
        *controls,
        '<p class="sx-result">Output: <output id="symnet-output"></output></p>',
        '<div id="sx-law" class="note"></div>',
        '<div class="scroll"><svg id="sx-plot" width="640" height="260" role="img" '
        'aria-label="the network\'s output as the first input varies"></svg></div>',
        '<div id="sx-unit" class="sx-unit">Click a unit below to see its formula with the '
        'current numbers.</div>',
        '<div id="sx-layers"></div>',
        '<div id="sx-contrib"></div>',
        f'<script type="application/json" id="symnet-network">{payload}</script>',
        f"<script>{_script()}</script>",
        "<style>.sx-input input[type=range]{width:min(28rem,60vw)}"
        ".sx-unit{background:#f6f6f6;padding:.4rem .6rem;min-height:1.4rem;"
        "font-family:ui-monospace,monospace;overflow-x:auto}"
        "#sx-layers tr{cursor:pointer}#sx-layers tr.off td{color:#888}"
        "#symnet-output{font-weight:bold;font-variant-numeric:tabular-nums}</style>",
        "</section>"])
