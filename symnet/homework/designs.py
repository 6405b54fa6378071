"""The kinds of network an exercise can set, each computed here with plain numpy (the key does
not depend on symnet's own evaluation): a small dense ReLU network, a small convolution with max
pooling, a small recurrent network unrolled over three steps.

A design draws the weights (multiples of 1/2: exact in float32, friendly by hand) and an input
(small integers), builds the Keras model, and lists the stages of the hand calculation: each a
named array with its formula, and the Keras layer whose output it is (the steps ``symnet check
--steps`` reads).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

__all__ = ["DESIGNS", "Conv", "Dense", "Design", "Recurrent", "Stage", "apart", "design",
           "halves", "matrix_latex"]


@dataclass(frozen=True)
class Stage:
    """One part of the hand calculation."""

    name: str
    """LaTeX of the array's name (``z^{(1)}``); its entries are ``name_{i}`` or ``name_{i,j}``."""
    what: str
    """In words."""
    formula: str
    """LaTeX."""
    values: np.ndarray
    layer: str | None
    """The Keras layer whose output this is, or ``None`` (a value inside a layer)."""
    key: str = ""
    """Its name in ASCII, for the columns of the class CSV (``z1``, ``H``)."""
    text: str = ""
    """Its name in plain text, as messages print it (``z⁽¹⁾``)."""

    def entry_names(self) -> tuple[str, ...]:
        """LaTeX of each entry's name, 1-based, in row-major order."""
        if self.values.size == 1:
            return (self.name,)
        if self.values.ndim == 2 and min(self.values.shape) > 1:
            return tuple(rf"{self.name}_{{{i + 1},{j + 1}}}"
                         for i, j in np.ndindex(self.values.shape))
        return tuple(rf"{self.name}_{{{i + 1}}}" for i in range(self.values.size))

    def entry_texts(self) -> tuple[str, ...]:
        """Each entry's name in plain text (``h⁽¹⁾₃``, ``H₂,₁``), as :meth:`entry_names`."""
        from .notation import subscript

        if self.values.size == 1:
            return (self.text,)
        if self.values.ndim == 2 and min(self.values.shape) > 1:
            return tuple(f"{self.text}{subscript(f'{i + 1},{j + 1}')}"
                         for i, j in np.ndindex(self.values.shape))
        return tuple(f"{self.text}{subscript(i + 1)}" for i in range(self.values.size))

    def columns(self) -> tuple[str, ...]:
        """The class CSV's column of each entry (``z1_3``, ``H_2_1``; ``answer`` for the
        network's output)."""
        if self.key == "y":
            return ("answer",)
        if self.values.size == 1:
            return (self.key,)
        if self.values.ndim == 2 and min(self.values.shape) > 1:
            return tuple(f"{self.key}_{i + 1}_{j + 1}" for i, j in np.ndindex(self.values.shape))
        return tuple(f"{self.key}_{i + 1}" for i in range(self.values.size))


def _sup(k: int) -> str:
    from .notation import superscript

    return superscript(f"({k})")


def _sub(k: int) -> str:
    from .notation import subscript

    return subscript(k)


def halves(rng: np.random.Generator, shape: Any, low: int = -4, high: int = 4) -> np.ndarray:
    """Multiples of 1/2 from ``low/2`` to ``high/2``."""
    return rng.integers(low, high + 1, size=shape) / 2


def apart(a: float, b: float, digits: int) -> bool:
    """More than one unit apart in the last of ``digits`` significant digits."""
    scale = max(abs(a), abs(b))
    if scale == 0:
        return False
    unit = 10.0 ** (math.floor(math.log10(scale)) - digits + 1)
    return abs(a - b) > unit


def matrix_latex(values: np.ndarray) -> str:
    """An array of halves or integers as an exact LaTeX matrix (a vector as one row)."""
    import sympy as sp

    from ..printing.latex import latex

    values = np.asarray(values)
    rows, cols = values.shape if values.ndim == 2 else (1, values.size)
    return latex(sp.ImmutableMatrix(rows, cols, [sp.nsimplify(float(v))
                                                 for v in values.reshape(-1)]))


class Design:
    """What every kind of exercise provides."""

    kind: ClassVar[str]
    task_rule: ClassVar[str] = ""
    """The sentence of the task that states the activation and any rule of the calculation."""
    every_mistake_apart: ClassVar[bool] = True
    """Whether every catalogued mistake must change the answer (a drawn network is drawn
    again until it does; a given network's mistakes that change nothing are left out)."""
    question: ClassVar[str] = r"What is \(y\)?"
    """The final question of a Moodle or Canvas quiz (HTML, TeX between its delimiters)."""
    answer_name: ClassVar[str] = "y"
    """The final answer's name in plain text."""

    def task(self, digits: int) -> str:
        """The sheet's task: what to compute, and how precisely."""
        return (f"Compute by hand, for the input x below, the values of each layer and the "
                f"network's output y. Give every number to at least {digits} significant "
                f"digit{'s' if digits > 1 else ''} (or exactly). {self.task_rule} Entries are "
                "numbered from 1, as in the boxes below (a matrix's entry [i,j] is in row i, "
                "column j).")

    def draw(self, rng: np.random.Generator) -> list[np.ndarray]:
        raise NotImplementedError

    def draw_input(self, rng: np.random.Generator, spread: int = 1) -> np.ndarray:
        """An input of small integers; ``spread`` widens their range (a large class needs
        more distinct inputs than the usual range holds)."""
        raise NotImplementedError

    def stages(self, weights: Sequence[np.ndarray], x: np.ndarray,
               given: dict[str, np.ndarray] | None = None) -> list[Stage]:
        """The hand calculation, the network's output last. ``given``: stage key -> values
        someone wrote; each later stage is then computed from those (follow-through)."""
        raise NotImplementedError

    def notation(self) -> dict[str, Any]:
        """Each Keras layer's names on the sheet (:class:`~.notation.LayerNames` fields)."""
        raise NotImplementedError

    def key_shape(self) -> dict[str, Any]:
        """What :func:`design` needs to rebuild this design (for the exercise's key)."""
        return {}

    def interesting(self, stages: list[Stage]) -> bool:
        """Whether every step of the calculation is worth computing."""
        return True

    def promising(self, weights: Sequence[np.ndarray], x: np.ndarray, digits: int) -> bool:
        """A quick look before the mistake catalogue is run."""
        return self.interesting(self.stages(weights, x))

    def model(self, seed: int, weights: Sequence[np.ndarray]) -> Any:
        raise NotImplementedError

    def definitions(self, weights: Sequence[np.ndarray], x: np.ndarray) -> list[str]:
        """LaTeX lines: the network's formulas, its parameters, the input."""
        raise NotImplementedError

    @property
    def sizes(self) -> tuple[int, ...] | None:
        """Layer widths for a diagram of units and edges (dense networks only)."""
        return None

    def describe(self) -> str:
        raise NotImplementedError


def _keras() -> Any:
    from ..io.keras import import_keras

    return import_keras()


@dataclass(frozen=True)
class Dense(Design):
    """``inputs`` → ReLU layers of ``widths`` units → one linear output."""

    inputs: int = 2
    widths: tuple[int, ...] = (3,)
    kind: ClassVar[str] = "dense"
    task_rule: ClassVar[str] = "The ReLU, max(0, t), is applied to each entry."

    def draw(self, rng: np.random.Generator) -> list[np.ndarray]:
        weights = []
        for n, m in itertools.pairwise([self.inputs, *self.widths, 1]):
            weights += [halves(rng, (n, m)), halves(rng, m)]
        return weights

    def draw_input(self, rng: np.random.Generator, spread: int = 1) -> np.ndarray:
        return rng.integers(-3 * spread, 3 * spread + 1, size=self.inputs).astype(np.float64)

    def stages(self, weights: Sequence[np.ndarray], x: np.ndarray,
               given: dict[str, np.ndarray] | None = None) -> list[Stage]:
        given = given or {}
        out, h = [], np.asarray(x, np.float64)
        for k in range(1, len(self.widths) + 1):
            z = h @ weights[2 * k - 2] + weights[2 * k - 1]
            h = np.maximum(given.get(f"z{k}", z), 0)
            out += [Stage(f"z^{{({k})}}", f"the values of layer {k} before the ReLU",
                          rf"z^{{({k})}} = h^{{({k - 1})}} W_{{{k}}} + b_{{{k}}}", z, None,
                          f"z{k}", f"z{_sup(k)}"),
                    Stage(f"h^{{({k})}}", f"the output of layer {k}",
                          rf"h^{{({k})}} = \max\left(0, z^{{({k})}}\right)", h, f"hidden_{k}",
                          f"h{k}", f"h{_sup(k)}")]
            h = given.get(f"h{k}", h)
        n = len(self.widths)
        out.append(Stage("y", "the network's output",
                         rf"y = h^{{({n})}} W_{{{n + 1}}} + b_{{{n + 1}}}",
                         h @ weights[-2] + weights[-1], "output", "y", "y"))
        return out

    def key_shape(self) -> dict[str, Any]:
        return {"widths": list(self.widths), "inputs": self.inputs}

    def notation(self) -> dict[str, Any]:
        n = len(self.widths)
        out: dict[str, Any] = {}
        for k in range(1, n + 1):
            before = "x" if k == 1 else f"h{_sup(k - 1)}"
            out[f"hidden_{k}"] = dict(
                output=f"h{_sup(k)}", pre=f"z{_sup(k)}", input=before, kernel=f"W{_sub(k)}",
                bias=f"b{_sub(k)}", activation="ReLU",
                formula=f"h{_sup(k)} = max(0, z{_sup(k)}), z{_sup(k)} = {before} W{_sub(k)} + "
                        f"b{_sub(k)}")
        before = "x" if n == 0 else f"h{_sup(n)}"
        out["output"] = dict(output="y", input=before, kernel=f"W{_sub(n + 1)}",
                             bias=f"b{_sub(n + 1)}",
                             formula=f"y = {before} W{_sub(n + 1)} + b{_sub(n + 1)}")
        return out

    def interesting(self, stages: list[Stage]) -> bool:
        """Every hidden layer has a unit the ReLU clips (so that forgetting it matters) and,
        when wider than one, a unit it passes."""
        return all(bool(np.any(s.values < 0)) and (s.values.size < 2 or bool(np.any(
            s.values > 0))) for s in stages if s.layer is None)

    def promising(self, weights: Sequence[np.ndarray], x: np.ndarray, digits: int) -> bool:
        """Interesting, the answer negative (a ReLU applied to the output would change it) and
        apart from the answer without any ReLU."""
        stages = self.stages(weights, x)
        answer = float(stages[-1].values[0])
        if not self.interesting(stages) or answer >= 0:
            return False
        h = np.asarray(x, np.float64)
        for k in range(len(weights) // 2):
            h = h @ weights[2 * k] + weights[2 * k + 1]
        return apart(answer, float(h[0]), digits)

    def model(self, seed: int, weights: Sequence[np.ndarray]) -> Any:
        keras = _keras()
        layers = [keras.Input((self.inputs,), name="x")]
        for k, width in enumerate(self.widths, start=1):
            layers.append(keras.layers.Dense(width, activation="relu", name=f"hidden_{k}"))
        layers.append(keras.layers.Dense(1, name="output"))
        model = keras.Sequential(layers, name=f"exercise_{seed}")
        model.set_weights([w.astype(np.float32) for w in weights])
        return model

    def definitions(self, weights: Sequence[np.ndarray], x: np.ndarray) -> list[str]:
        n = len(self.widths)
        lines = [r"h^{(0)} = x"]
        for k in range(1, n + 1):
            lines.append(rf"z^{{({k})}} = h^{{({k - 1})}} W_{{{k}}} + b_{{{k}}}, \quad "
                         rf"h^{{({k})}} = \max\left(0, z^{{({k})}}\right)")
        lines.append(rf"y = h^{{({n})}} W_{{{n + 1}}} + b_{{{n + 1}}}")
        for k in range(n + 1):
            lines.append(rf"W_{{{k + 1}}} = {matrix_latex(weights[2 * k])}, \quad "
                         rf"b_{{{k + 1}}} = {matrix_latex(weights[2 * k + 1])}")
        lines.append(rf"x = {matrix_latex(x.astype(int))}")
        return lines

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.inputs, *self.widths, 1)

    def describe(self) -> str:
        return f"{self.inputs} inputs and layers {list(self.widths)}"


@dataclass(frozen=True)
class Conv(Design):
    """A 5×5 image, one 2×2 filter with a ReLU, 2×2 max pooling, flattened into one output:
    the convolution of a deep-learning course, worked by hand."""

    kind: ClassVar[str] = "conv"
    task_rule: ClassVar[str] = (
        "The convolution is Keras' cross-correlation (the filter is not flipped), without "
        "padding and with stride 1; the ReLU, max(0, t), is applied to each entry; max "
        "pooling takes the largest entry of each 2×2 block; P is flattened row by row.")
    size: ClassVar[int] = 5

    def draw(self, rng: np.random.Generator) -> list[np.ndarray]:
        return [halves(rng, (2, 2, 1, 1)), halves(rng, 1), halves(rng, (4, 1)), halves(rng, 1)]

    def draw_input(self, rng: np.random.Generator, spread: int = 1) -> np.ndarray:
        return rng.integers(-2 * spread, 2 * spread + 1,
                            size=(self.size, self.size, 1)).astype(np.float64)

    def stages(self, weights: Sequence[np.ndarray], x: np.ndarray,
               given: dict[str, np.ndarray] | None = None) -> list[Stage]:
        given = given or {}
        image, kernel = np.asarray(x, np.float64)[..., 0], weights[0][..., 0, 0]
        n = self.size - 1
        z = np.array([[np.sum(image[i:i + 2, j:j + 2] * kernel) for j in range(n)]
                      for i in range(n)]) + weights[1][0]
        h = np.maximum(given.get("Z", z).reshape(n, n), 0)
        p = given.get("H", h).reshape(n, n).reshape(n // 2, 2, n // 2, 2).max(axis=(1, 3))
        y = given.get("P", p).reshape(-1) @ weights[2] + weights[3]
        return [Stage("Z", "the convolution, before the ReLU", r"Z = W \star x + b", z, None,
                      "Z", "Z"),
                Stage("H", "the feature map", r"H = \max\left(0, Z\right)", h, "conv", "H", "H"),
                Stage("P", "the max pooling", r"P_{i,j} = \max_{p, q \in \{0, 1\}} "
                      r"H_{2i - 1 + p,\, 2j - 1 + q}", p, "pool", "P", "P"),
                Stage("y", "the network's output", r"y = \operatorname{flatten}(P)\, v + c",
                      y, "output", "y", "y")]

    def notation(self) -> dict[str, Any]:
        return {"conv": dict(output="H", pre="Z", input="x", kernel="W", bias="b",
                             activation="ReLU",
                             formula="H = max(0, Z), Z[i,j] = the sum over p, q = 1, 2 of "
                                     "W[p,q] x[i+p−1, j+q−1], plus b"),
                "pool": dict(output="P", input="H",
                             formula="P[i,j] = the largest of H[2i−1, 2j−1], H[2i−1, 2j], "
                                     "H[2i, 2j−1] and H[2i, 2j]"),
                "output": dict(output="y", input="P", kernel="v", bias="c",
                               formula="y = flatten(P) v + c")}

    def interesting(self, stages: list[Stage]) -> bool:
        """The ReLU matters after the pooling (a block all negative before it, and a positive
        entry elsewhere), max pooling is not the mean, and the output is negative (a ReLU
        applied to it would change it)."""
        z, h = stages[0].values, stages[1].values
        n = self.size - 1
        blocks = z.reshape(n // 2, 2, n // 2, 2).max(axis=(1, 3))
        mean = h.reshape(n // 2, 2, n // 2, 2).mean(axis=(1, 3))
        return bool(np.any(blocks < 0) and np.any(z > 0) and np.any(mean != stages[2].values)
                    and stages[-1].values[0] < 0)

    def model(self, seed: int, weights: Sequence[np.ndarray]) -> Any:
        keras = _keras()
        L = keras.layers
        model = keras.Sequential([keras.Input((self.size, self.size, 1), name="x"),
                                  L.Conv2D(1, 2, activation="relu", name="conv"),
                                  L.MaxPooling2D(2, name="pool"), L.Flatten(name="flatten"),
                                  L.Dense(1, name="output")], name=f"exercise_{seed}")
        model.set_weights([w.astype(np.float32) for w in weights])
        return model

    def definitions(self, weights: Sequence[np.ndarray], x: np.ndarray) -> list[str]:
        return [r"Z = W \star x + b, \quad \left(W \star x\right)_{i,j} = "
                r"\sum_{p=1}^{2} \sum_{q=1}^{2} W_{p,q}\, x_{i + p - 1,\, j + q - 1}",
                r"H = \max\left(0, Z\right), \quad P_{i,j} = \max_{p, q \in \{0, 1\}} "
                r"H_{2i - 1 + p,\, 2j - 1 + q}",
                r"y = \begin{bmatrix} P_{1,1} & P_{1,2} & P_{2,1} & P_{2,2} \end{bmatrix}"
                r" v + c",
                rf"W = {matrix_latex(weights[0][..., 0, 0])}, \quad "
                rf"b = {matrix_latex(weights[1])}, \quad v = {matrix_latex(weights[2])}, "
                rf"\quad c = {matrix_latex(weights[3])}",
                rf"x = {matrix_latex(np.asarray(x)[..., 0].astype(int))}"]

    def describe(self) -> str:
        return "a 5×5 image, a 2×2 filter and 2×2 max pooling"


@dataclass(frozen=True)
class Recurrent(Design):
    """A sequence of three numbers through a simple RNN of two tanh units, its last state into
    one output: an RNN unrolled step by step."""

    kind: ClassVar[str] = "rnn"
    task_rule: ClassVar[str] = (
        "The state starts at zero; tanh is applied to each entry. Keep at least four "
        "significant digits in the states you carry to the next step.")
    steps: ClassVar[int] = 3
    units: ClassVar[int] = 2

    def draw(self, rng: np.random.Generator) -> list[np.ndarray]:
        u = self.units
        return [halves(rng, (1, u), -2, 2), halves(rng, (u, u), -2, 2), halves(rng, u, -2, 2),
                halves(rng, (u, 1)), halves(rng, 1)]

    def draw_input(self, rng: np.random.Generator, spread: int = 1) -> np.ndarray:
        return rng.integers(-2 * spread, 2 * spread + 1,
                            size=(self.steps, 1)).astype(np.float64)

    def stages(self, weights: Sequence[np.ndarray], x: np.ndarray,
               given: dict[str, np.ndarray] | None = None) -> list[Stage]:
        given = given or {}
        kernel, recurrent, bias, v, c = weights
        h, out = np.zeros(self.units), []
        for t in range(1, self.steps + 1):
            h = np.tanh(np.asarray(x, np.float64)[t - 1] @ kernel + h @ recurrent + bias)
            out.append(Stage(f"h^{{({t})}}", f"the state after step {t}",
                             rf"h^{{({t})}} = \tanh\left(x_{{{t}}} W + h^{{({t - 1})}} U + b"
                             r"\right)", h, "rnn" if t == self.steps else None, f"h{t}",
                             f"h{_sup(t)}"))
            h = given.get(f"h{t}", h)
        out.append(Stage("y", "the network's output", rf"y = h^{{({self.steps})}} v + c",
                         h @ v + c, "output", "y", "y"))
        return out

    def notation(self) -> dict[str, Any]:
        last = f"h{_sup(self.steps)}"
        return {"rnn": dict(output=last, input="x", kernel="W", bias="b", recurrent="U",
                            activation="tanh",
                            formula="h⁽ᵗ⁾ = tanh(xₜ W + h⁽ᵗ⁻¹⁾ U + b), h⁽⁰⁾ = 0"),
                "output": dict(output="y", input=last, kernel="v", bias="c",
                               formula=f"y = {last} v + c")}

    def interesting(self, stages: list[Stage]) -> bool:
        """No state saturated (tanh near ±1 hides the arithmetic), none near zero."""
        states = np.concatenate([s.values for s in stages[:-1]])
        return bool(np.all(np.abs(states) < 0.97) and np.all(np.abs(states) > 0.05))

    def model(self, seed: int, weights: Sequence[np.ndarray]) -> Any:
        keras = _keras()
        L = keras.layers
        model = keras.Sequential([keras.Input((self.steps, 1), name="x"),
                                  L.SimpleRNN(self.units, name="rnn"),
                                  L.Dense(1, name="output")], name=f"exercise_{seed}")
        model.set_weights([w.astype(np.float32) for w in weights])
        return model

    def definitions(self, weights: Sequence[np.ndarray], x: np.ndarray) -> list[str]:
        return [r"h^{(t)} = \tanh\left(x_t W + h^{(t-1)} U + b\right), \quad h^{(0)} = "
                r"\begin{bmatrix} 0 & 0 \end{bmatrix}, \quad t = 1, 2, 3",
                rf"y = h^{{({self.steps})}} v + c",
                rf"W = {matrix_latex(weights[0])}, \quad U = {matrix_latex(weights[1])}, "
                rf"\quad b = {matrix_latex(weights[2])}",
                rf"v = {matrix_latex(weights[3])}, \quad c = {matrix_latex(weights[4])}",
                rf"x = \left(x_1, x_2, x_3\right) = "
                rf"{matrix_latex(np.asarray(x).reshape(-1).astype(int))}"]

    def describe(self) -> str:
        return "a simple RNN of 2 units over 3 steps"


DESIGNS = {"dense": Dense, "conv": Conv, "rnn": Recurrent}


def design(kind: str, widths: Sequence[int] = (3,), inputs: int = 2) -> Design:
    """The design of an exercise of this kind (``widths`` and ``inputs`` for dense ones)."""
    from ..errors import InvalidInputError

    if kind == "dense":
        return Dense(inputs, tuple(widths))
    if kind == "backprop":
        from .backprop_design import Backprop

        return Backprop()
    if kind not in DESIGNS:
        raise InvalidInputError(f"an exercise's kind is one of {', '.join(DESIGNS)}, "
                                f"backprop; "
                                f"received {kind!r}")
    return DESIGNS[kind]()
