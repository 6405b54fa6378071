"""Exercises on a network the teacher gives (``symnet exercise --model net.keras``): the same
sheets, keys, variants and exports as the drawn kinds, on the teacher's own weights.

The network is a chain of ``Dense`` layers (any activation symnet knows; dropouts and the
identity pass through), one output number, small enough to compute by hand (at most 8 inputs,
16 units a layer, 6 layers); anything else is refused by name. Its stages are each layer's
values before its activation (``z⁽ᵏ⁾``) and after (``h⁽ᵏ⁾``), and ``y``; the inputs are drawn
from the values the teacher allows (``--inputs -3..3`` or ``--inputs 0,0.5,1``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import InvalidInputError
from ..escape import terminal_text
from .designs import Design, Stage
from .notation import subscript, superscript

__all__ = ["ModelDesign", "build_model_exercise", "parse_values"]

MAX_INPUTS, MAX_UNITS, MAX_LAYERS = 8, 16, 6
_ACTIVATIONS = {"relu": ("ReLU", r"\max\left(0, {}\right)", "max(0, {})"),
                "tanh": ("tanh", r"\tanh\left({}\right)", "tanh({})"),
                "sigmoid": ("sigmoid", r"\sigma\left({}\right)", "σ({})"),
                "linear": ("", "{}", "{}")}


def parse_values(text: str) -> tuple[float, ...]:
    """``-3..3`` (the whole numbers from -3 to 3) or ``0,0.5,1``: the values an input entry
    may take."""
    from ..files import parse_vector

    text = text.strip().replace("−", "-")
    span = re.fullmatch(r"(-?[0-9]+)\s*\.\.\s*(-?[0-9]+)", text)
    if span:
        low, high = int(span.group(1)), int(span.group(2))
        if not low < high or high - low > 1000:
            raise InvalidInputError(f"--inputs: a range LOW..HIGH of whole numbers with LOW < "
                                    f"HIGH (at most 1000 apart), received {text!r}")
        return tuple(float(v) for v in range(low, high + 1))
    values = tuple(dict.fromkeys(parse_vector(text, "--inputs")))
    if len(values) < 2:
        raise InvalidInputError(f"--inputs: at least two values to draw from, received "
                                f"{terminal_text(text, limit=60)!r}")
    return values


def _sup(k: int) -> str:
    return superscript(f"({k})")


@dataclass(frozen=True)
class Layer:
    name: str
    kernel: np.ndarray
    bias: np.ndarray
    activation: str


@dataclass(frozen=True, eq=False)
class ModelDesign(Design):
    """A chain of Dense layers from the teacher's model."""

    layers: tuple[Layer, ...]
    values: tuple[float, ...] = tuple(float(v) for v in range(-3, 4))
    keras_model: Any = None
    title: str = "the given network"
    kind: ClassVar[str] = "model"
    every_mistake_apart: ClassVar[bool] = False

    @staticmethod
    def from_net(net: Any, values: Sequence[float] | None = None, model: Any = None
                 ) -> ModelDesign:
        from ..ops.activations import Elementwise
        from ..ops.linear import BiasAdd, MatMul

        try:
            nodes = net.graph.chain()
        except Exception as exc:
            raise InvalidInputError(f"an exercise on a given network takes a chain of layers "
                                    f"({exc})") from None
        # Read from the ops, whatever framework wrote the model: a product by a weight matrix
        # starts a layer, a bias and an activation complete it, identities pass through.
        found: list[dict[str, Any]] = []
        for node in nodes:
            op, where = node.op, terminal_text(node.layer, limit=80)
            if op.identity:
                continue
            if isinstance(op, MatMul):
                found.append({"name": node.layer,
                              "kernel": np.asarray(op.in_out.value, np.float64)})
            elif isinstance(op, BiasAdd) and found and "bias" not in found[-1] \
                    and "activation" not in found[-1]:
                found[-1]["bias"] = np.asarray(op.bias.value, np.float64).reshape(-1)
            elif isinstance(op, Elementwise) and found and "activation" not in found[-1]:
                activation = op.fn.name or op.fn.key
                if activation not in _ACTIVATIONS or op.fixed is not None:
                    raise InvalidInputError(
                        f"layer {where!r}: the activation {activation!r} is not one a sheet "
                        "sets by hand (relu, tanh, sigmoid, linear)")
                found[-1]["activation"] = activation
            else:
                raise InvalidInputError(
                    f"an exercise on a given network takes a chain of Dense layers (a weight "
                    f"matrix, a bias, an activation); layer {where!r} computes "
                    f"{op.describe()}")
        layers = [Layer(f["name"], f["kernel"],
                        f.get("bias", np.zeros(f["kernel"].shape[1])),
                        f.get("activation", "linear")) for f in found]
        if not layers or len(layers) > MAX_LAYERS + 1:
            raise InvalidInputError(f"an exercise has 1 to {MAX_LAYERS + 1} Dense layers; the "
                                    f"network has {len(layers)}")
        if layers[0].kernel.shape[0] > MAX_INPUTS or layers[-1].kernel.shape[1] != 1 or any(
                layer.kernel.shape[1] > MAX_UNITS for layer in layers):
            raise InvalidInputError(
                f"an exercise on a given network has at most {MAX_INPUTS} inputs, "
                f"{MAX_UNITS} units a layer and one output; the network has "
                f"{layers[0].kernel.shape[0]} inputs and layers "
                f"{[layer.kernel.shape[1] for layer in layers]}")
        return ModelDesign(tuple(layers), tuple(values) if values is not None else
                           tuple(float(v) for v in range(-3, 4)), model,
                           f"the network {net.name}")

    # --- the design ---------------------------------------------------------------------

    @property
    def inputs(self) -> int:
        return int(self.layers[0].kernel.shape[0])

    @property
    def task_rule(self) -> str:  # type: ignore[override]
        used = sorted({layer.activation for layer in self.layers} - {"linear"})
        rules = {"relu": "ReLU(t) = max(0, t)", "tanh": "tanh(t) = (e^t − e^−t)/(e^t + e^−t)",
                 "sigmoid": "σ(t) = 1/(1 + e^−t)"}
        return ("Each layer computes z = h W + b, then its activation, entry by entry"
                + (f": {'; '.join(rules[a] for a in used)}." if used else "."))

    def draw(self, rng: np.random.Generator) -> list[np.ndarray]:
        return self.weights()

    def weights(self) -> list[np.ndarray]:
        return [w for layer in self.layers for w in (layer.kernel, layer.bias)]

    def draw_input(self, rng: np.random.Generator, spread: int = 1) -> np.ndarray:
        del spread  # the teacher's values are the values
        return np.asarray(rng.choice(self.values, size=self.inputs), np.float64)

    def stages(self, weights: Sequence[np.ndarray], x: np.ndarray,
               given: dict[str, np.ndarray] | None = None) -> list[Stage]:
        given = given or {}
        out, h = [], np.asarray(x, np.float64).reshape(-1)
        last = len(self.layers)
        for k, layer in enumerate(self.layers, start=1):
            z = h @ weights[2 * k - 2] + weights[2 * k - 1]
            final = k == last
            if layer.activation == "linear":
                h = z
                out.append(Stage("y" if final else f"h^{{({k})}}",
                                 "the network's output" if final else f"the output of layer {k}",
                                 self._formula_latex(k), z, layer.name, "y" if final else f"h{k}",
                                 "y" if final else f"h{_sup(k)}"))
            else:
                name, latex, _ = _ACTIVATIONS[layer.activation]
                h = _apply(layer.activation, given.get(f"z{k}", z))
                out += [Stage(f"z^{{({k})}}", f"the values of layer {k} before the {name}",
                              rf"z^{{({k})}} = {self._h(k - 1)} W_{{{k}}} + b_{{{k}}}", z, None,
                              f"z{k}", f"z{_sup(k)}"),
                        Stage("y" if final else f"h^{{({k})}}",
                              "the network's output" if final else f"the output of layer {k}",
                              ("y" if final else f"h^{{({k})}}") + " = "
                              + latex.format(f"z^{{({k})}}"), h, layer.name,
                              "y" if final else f"h{k}", "y" if final else f"h{_sup(k)}")]
            if not final:
                h = given.get(f"h{k}", h)
        return out

    def _h(self, k: int) -> str:
        return "x" if k == 0 else f"h^{{({k})}}"

    def _formula_latex(self, k: int) -> str:
        out = "y" if k == len(self.layers) else f"h^{{({k})}}"
        return rf"{out} = {self._h(k - 1)} W_{{{k}}} + b_{{{k}}}"

    def interesting(self, stages: list[Stage]) -> bool:
        """Every value finite, and every ReLU layer clips a unit and passes another."""
        if not all(np.all(np.isfinite(s.values)) for s in stages):
            return False
        pre = [s for s in stages if s.layer is None]
        return all(bool(np.any(s.values < 0)) and (s.values.size < 2 or bool(np.any(
            s.values > 0))) for s, layer in zip(pre, [la for la in self.layers
                                                       if la.activation != "linear"])
                   if layer.activation == "relu")

    def model(self, seed: int, weights: Sequence[np.ndarray]) -> Any:
        """The teacher's Keras model itself; a network another framework wrote (ONNX, a torch
        module) as the same chain of Keras Dense layers, weights as read (float32, bit for
        bit), so that ``exercise.keras`` is graded as any exercise is."""
        if self.keras_model is not None:
            return self.keras_model
        from .designs import _keras

        keras = _keras()
        model = keras.Sequential(
            [keras.Input((self.inputs,), name="x"),
             *(keras.layers.Dense(layer.kernel.shape[1], activation=layer.activation,
                                  name=f"dense_{k}")
               for k, layer in enumerate(self.layers, start=1))], name="exercise")
        model.set_weights([w.astype(np.float32) for layer in self.layers
                           for w in (layer.kernel, layer.bias)])
        return model

    def definitions(self, weights: Sequence[np.ndarray], x: np.ndarray) -> list[str]:
        lines = []
        last = len(self.layers)
        for k, layer in enumerate(self.layers, start=1):
            out = "y" if k == last else f"h^{{({k})}}"
            if layer.activation == "linear":
                lines.append(rf"{out} = {self._h(k - 1)} W_{{{k}}} + b_{{{k}}}")
            else:
                latex = _ACTIVATIONS[layer.activation][1]
                lines.append(rf"z^{{({k})}} = {self._h(k - 1)} W_{{{k}}} + b_{{{k}}}, \quad "
                             rf"{out} = {latex.format(f'z^{{({k})}}')}")
        for k, layer in enumerate(self.layers, start=1):
            lines.append(rf"W_{{{k}}} = {_numbers(layer.kernel)}, \quad "
                         rf"b_{{{k}}} = {_numbers(layer.bias)}")
        lines.append(rf"x = {_numbers(np.asarray(x).reshape(-1))}")
        return lines

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.inputs, *[int(layer.kernel.shape[1]) for layer in self.layers])

    def describe(self) -> str:
        return (f"{self.title}: {self.inputs} inputs and layers "
                f"{[int(layer.kernel.shape[1]) for layer in self.layers]}")

    def key_shape(self) -> dict[str, Any]:
        return {"input_shape": [self.inputs], "values": list(self.values)}

    def notation(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        last = len(self.layers)
        for k, layer in enumerate(self.layers, start=1):
            before = "x" if k == 1 else f"h{_sup(k - 1)}"
            output = "y" if k == last else f"h{_sup(k)}"
            w, b = f"W{subscript(k)}", f"b{subscript(k)}"
            if layer.activation == "linear":
                out[layer.name] = dict(output=output, input=before, kernel=w, bias=b,
                                       formula=f"{output} = {before} {w} + {b}")
            else:
                name, _, text = _ACTIVATIONS[layer.activation]
                out[layer.name] = dict(
                    output=output, pre=f"z{_sup(k)}", input=before, kernel=w, bias=b,
                    activation=name, formula=f"{output} = {text.format(f'z{_sup(k)}')}, "
                                             f"z{_sup(k)} = {before} {w} + {b}")
        return out


def _apply(activation: str, z: np.ndarray) -> np.ndarray:
    if activation == "relu":
        return np.maximum(z, 0)
    if activation == "tanh":
        return np.tanh(z)
    if activation == "sigmoid":
        return 1 / (1 + np.exp(-z))
    return z


def _numbers(values: np.ndarray) -> str:
    """An array as a LaTeX matrix: exact halves as fractions, other numbers to 7 digits."""
    from .designs import matrix_latex

    arr = np.asarray(values, np.float64)
    if np.all(arr * 4 == np.round(arr * 4)):
        return matrix_latex(arr)
    arr = arr.reshape(1, -1) if arr.ndim <= 1 else arr
    rows = [" & ".join(f"{v:.7g}" for v in row) for row in arr]
    return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"


def build_model_exercise(path: str, values: Sequence[float], students: Sequence[str] | None,
                         digits: int, seed: int) -> Any:
    """The exercise on the network at ``path``: the seed's own input and one variant per
    student, each input drawn from ``values``."""
    from ..frameworks import framework_of
    from ..network import explain
    from .diagnose import Diagnoser
    from .exercise import Exercise, _class_variants, _student_rng, _variant

    # A Keras file is kept as the teacher wrote it; another framework's network is written
    # as the same Dense chain (ModelDesign.model).
    keras_file = framework_of(path) == "keras"
    net = explain(path, reader="keras") if keras_file else explain(path)
    design = ModelDesign.from_net(net, values, net.model if keras_file else None)
    diagnoser = Diagnoser(net.graph)
    weights = design.weights()
    rng = _student_rng(seed, None)
    base = None
    for _ in range(400):
        x = design.draw_input(rng)
        if design.promising(weights, x, digits):
            base = _variant(diagnoser, design, weights, x, None, digits, rng)
            if base is not None:
                break
    if base is None:
        raise InvalidInputError(
            f"no input drawn from {list(values)[:12]} makes {design.describe()} tell every "
            f"catalogued mistake apart at {digits} digits (each ReLU clipping a unit and "
            "passing another); allow other input values, or fewer digits")
    variants = _class_variants(diagnoser, design, weights, seed, students or (), digits)
    if variants is None:
        raise InvalidInputError(f"no student's input drawn from {list(values)[:12]} makes the "
                                "network tell every mistake apart; allow other input values")
    return Exercise(seed, design, tuple(weights), digits, base, tuple(variants),
                    design.model(seed, weights))
