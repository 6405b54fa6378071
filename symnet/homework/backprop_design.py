"""The backpropagation exercise: a 2-2-2 network (sigmoids, or a ReLU layer and a linear
output), a loss and one step of gradient descent, computed here with plain numpy (the key does
not depend on symnet's own backward pass, which the exercise's builder checks against it).

The sheet asks, in numbered parts, for the forward values, the loss, each layer's δ, the
gradient of every weight and bias, every weight and bias after the step, and — the final
answer — the loss ``E′`` of the network after the step on the same input and target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .designs import Design, Stage, halves, matrix_latex
from .notation import subscript, superscript

__all__ = ["ACTIVATIONS", "LOSSES", "PARTS", "Backprop", "BackpropStage"]

ACTIVATIONS = ("sigmoid", "relu")
#: The exercise's loss -> (symnet's loss, its LaTeX, its plain text).
LOSSES = {
    "squared_error": ("(t - y)^2/2", r"E = \tfrac{1}{2} \sum_{j} \left(t_j - \hat{y}_j\right)^2",
                      "E = ½ Σⱼ (tⱼ − ŷⱼ)²"),
    "mse": ("mse", r"E = \tfrac{1}{n} \sum_{j=1}^{n} \left(t_j - \hat{y}_j\right)^2, "
                   r"\quad n = 2",
            "E = (1/n) Σⱼ (tⱼ − ŷⱼ)² with n = 2 outputs (the mean of the squares)"),
}

#: Stage key -> the part of ``symnet.check``'s gradients/updated it is: (kind, name).
PARTS = {"E": ("loss", ""), "d2": ("delta", "output"), "dW2": ("gradient", "output/kernel"),
         "db2": ("gradient", "output/bias"), "d1": ("delta", "hidden"),
         "dW1": ("gradient", "hidden/kernel"), "db1": ("gradient", "hidden/bias"),
         "newW2": ("updated", "output/kernel"), "newb2": ("updated", "output/bias"),
         "newW1": ("updated", "hidden/kernel"), "newb1": ("updated", "hidden/bias"),
         "y": ("updated", "loss")}


@dataclass(frozen=True)
class BackpropStage(Stage):
    """A stage of the backpropagation sheet: a matrix's entries named ``W₁′[1,2]`` in plain
    text (a subscript after a prime or a fraction reads badly)."""

    def entry_names(self) -> tuple[str, ...]:
        if self.values.size == 1 or not ("'" in self.name or r"\frac" in self.name):
            return super().entry_names()
        inner = self.name[1:-1] if self.name.startswith("{") and self.name.endswith("}") \
            else self.name
        name = rf"\left({inner}\right)"
        if self.values.ndim == 2 and min(self.values.shape) > 1:
            return tuple(rf"{name}_{{{i + 1},{j + 1}}}" for i, j in np.ndindex(self.values.shape))
        return tuple(rf"{name}_{{{i + 1}}}" for i in range(self.values.size))

    def entry_texts(self) -> tuple[str, ...]:
        if self.values.size == 1:
            return (self.text,)
        if self.values.ndim == 2 and min(self.values.shape) > 1:
            return tuple(f"{self.text}[{i + 1},{j + 1}]" for i, j in np.ndindex(self.values.shape))
        return tuple(f"{self.text}{subscript(i + 1)}" for i in range(self.values.size))


def _quarters(rng: np.random.Generator, size: int = 2) -> np.ndarray:
    return (2 * rng.integers(-3, 3, size=size) + 1) / 4


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class Backprop(Design):
    """``x`` (2) → a hidden layer of 2 (sigmoid or ReLU) → 2 outputs (sigmoid after a sigmoid
    layer, linear after a ReLU one); the loss; one step of gradient descent at ``rate``."""

    activation: str = "sigmoid"
    loss: str = "squared_error"
    rate: float = 0.5
    target: tuple[float, ...] = (1.0, 0.0)
    kind: ClassVar[str] = "backprop"
    question: ClassVar[str] = r"What is \(E'\), the loss after the step?"
    answer_name: ClassVar[str] = "E′"
    diagram_output: ClassVar[tuple[str, str]] = (r"\hat{y}", "ŷ")

    @property
    def diagram_activation(self) -> str:
        return "sigmoid" if self.sigmoid else "ReLU"

    @property
    def sigmoid(self) -> bool:
        return self.activation == "sigmoid"

    @property
    def symnet_loss(self) -> str:
        return LOSSES[self.loss][0]

    @property
    def task_rule(self) -> str:  # type: ignore[override]
        f = "σ(t) = 1/(1 + exp(−t)), σ′(t) = σ(t)(1 − σ(t))" if self.sigmoid else \
            "ReLU(t) = max(0, t), ReLU′(t) = 1 if t > 0, else 0"
        out = "the output layer is a sigmoid too" if self.sigmoid else "the output is linear"
        return (f"The hidden layer applies {f.split(',')[0]} to each entry ({f}); {out}. "
                f"The loss is {LOSSES[self.loss][2]}. One step of gradient descent moves every "
                f"weight and bias: W′ = W − η ∂E/∂W, with η = {self.rate:g}.")

    def task(self, digits: int) -> str:
        return (f"Compute by hand, for the input x and the target t below, the forward pass, "
                f"the loss E, each layer's δ = ∂E/∂z, the gradient of every weight and bias, "
                f"every weight and bias after one step of gradient descent, and the loss E′ of "
                f"the network after the step (the same x and t). Give every number to at least "
                f"{digits} significant digit{'s' if digits > 1 else ''} (or exactly). "
                f"{self.task_rule} Entries are numbered from 1, as in the boxes below (a "
                "matrix's entry [i,j] is in row i, column j).")

    # --- drawing ------------------------------------------------------------------------

    def draw(self, rng: np.random.Generator) -> list[np.ndarray]:
        """Weights in halves, biases in odd quarters (±0.25, ±0.75, ±1.25): a bias left as it
        was after the step (0.75 for 0.7451) is then never also the right bias rounded to
        fewer digits, as 0.5 would be for 0.4951."""
        return [halves(rng, (2, 2), -2, 2), _quarters(rng), halves(rng, (2, 2), -2, 2),
                _quarters(rng)]

    def draw_input(self, rng: np.random.Generator, spread: int = 1) -> np.ndarray:
        return rng.integers(-2 * spread, 2 * spread + 1, size=2).astype(np.float64)

    @staticmethod
    def draw_target(rng: np.random.Generator, activation: str) -> tuple[float, ...]:
        """Targets a sigmoid can reach (0 or 1 each, not both the same) or small integers."""
        if activation == "sigmoid":
            first = float(rng.integers(0, 2))
            return (first, 1.0 - first)
        return tuple(float(v) for v in rng.integers(-2, 3, size=2))

    # --- the calculation ------------------------------------------------------------------

    def _f(self, z: np.ndarray) -> np.ndarray:
        return _sigmoid(z) if self.sigmoid else np.maximum(z, 0.0)

    def _error(self, y: np.ndarray) -> float:
        t = np.asarray(self.target, np.float64)
        return float(np.sum((t - y) ** 2) / 2) if self.loss == "squared_error" else float(
            np.mean((t - y) ** 2))

    def _forward(self, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray,
                 x: np.ndarray) -> np.ndarray:
        z2 = self._f(x @ w1 + b1) @ w2 + b2
        return _sigmoid(z2) if self.sigmoid else z2

    def stages(self, weights: Sequence[np.ndarray], x: np.ndarray,
               given: dict[str, np.ndarray] | None = None) -> list[Stage]:
        given = given or {}
        w1, b1, w2, b2 = (np.asarray(w, np.float64) for w in weights)
        x = np.asarray(x, np.float64).reshape(-1)
        t = np.asarray(self.target, np.float64)
        rate = self.rate

        def own(key: str, value: np.ndarray) -> np.ndarray:
            """The student's own value of a stage, when given (follow-through)."""
            value = np.asarray(value, np.float64)
            return np.asarray(given.get(key, value), np.float64).reshape(value.shape)

        out: list[Stage] = []
        sig = self.sigmoid
        f = r"\sigma" if sig else r"\operatorname{ReLU}"
        z1 = x @ w1 + b1
        h1 = self._f(own("z1", z1))
        out += [self._stage("z1", "z^{(1)}", f"z{_sup(1)}", "the hidden layer before its "
                            "activation", r"z^{(1)} = x W_1 + b_1", z1),
                self._stage("h1", "h^{(1)}", f"h{_sup(1)}", "the hidden layer's output",
                            rf"h^{{(1)}} = {f}\left(z^{{(1)}}\right)", h1, "hidden")]
        h1 = own("h1", h1)
        z2 = h1 @ w2 + b2
        if sig:
            out.append(self._stage("z2", "z^{(2)}", f"z{_sup(2)}", "the output layer before "
                                   "its sigmoid", r"z^{(2)} = h^{(1)} W_2 + b_2", z2))
            y = _sigmoid(own("z2", z2))
            y_formula = r"\hat{y} = \sigma\left(z^{(2)}\right)"
        else:
            y, y_formula = z2, r"\hat{y} = h^{(1)} W_2 + b_2"
        out.append(self._stage("yhat", r"\hat{y}", "ŷ", "the network's output", y_formula, y,
                               "output"))
        y = own("yhat", y)
        error = self._error(y)
        out.append(self._stage("E", "E", "E", "the loss", LOSSES[self.loss][1], np.array(error)))
        slope = 1.0 if self.loss == "squared_error" else 2.0 / t.size  # ∂E/∂ŷ = slope (ŷ − t)
        d2 = slope * (y - t) * (y * (1 - y) if sig else 1.0)
        scale = "" if self.loss == "squared_error" else r"\tfrac{2}{n}"
        d2_formula = (rf"\delta^{{(2)}} = {scale}\left(\hat{{y}} - t\right) \odot \hat{{y}} "
                      r"\odot \left(1 - \hat{y}\right)" if sig else
                      rf"\delta^{{(2)}} = {scale}\left(\hat{{y}} - t\right)")
        out.append(self._stage("d2", r"\delta^{(2)}", f"δ{_sup(2)}", "the output layer's δ "
                               "= ∂E/∂z⁽²⁾", d2_formula, d2))
        d2 = own("d2", d2)
        out += [self._stage("dW2", r"\frac{\partial E}{\partial W_2}", f"∂E/∂W{_sub(2)}",
                            "the gradient of W₂", r"\frac{\partial E}{\partial W_2} = "
                            r"h^{(1)\top} \delta^{(2)}", np.outer(h1, d2)),
                self._stage("db2", r"\frac{\partial E}{\partial b_2}", f"∂E/∂b{_sub(2)}",
                            "the gradient of b₂", r"\frac{\partial E}{\partial b_2} = "
                            r"\delta^{(2)}", d2.copy())]
        if sig:
            d1 = (d2 @ w2.T) * h1 * (1 - h1)
            d1_formula = (r"\delta^{(1)} = \delta^{(2)} W_2^\top \odot h^{(1)} \odot \left(1 - "
                          r"h^{(1)}\right)")
        else:
            d1 = (d2 @ w2.T) * (own("z1", z1) > 0)
            d1_formula = (r"\delta^{(1)} = \delta^{(2)} W_2^\top \odot "
                          r"\operatorname{ReLU}'\left(z^{(1)}\right)")
        out.append(self._stage("d1", r"\delta^{(1)}", f"δ{_sup(1)}", "the hidden layer's δ = "
                               "∂E/∂z⁽¹⁾", d1_formula, d1))
        d1 = own("d1", d1)
        out += [self._stage("dW1", r"\frac{\partial E}{\partial W_1}", f"∂E/∂W{_sub(1)}",
                            "the gradient of W₁", r"\frac{\partial E}{\partial W_1} = "
                            r"x^\top \delta^{(1)}", np.outer(x, d1)),
                self._stage("db1", r"\frac{\partial E}{\partial b_1}", f"∂E/∂b{_sub(1)}",
                            "the gradient of b₁", r"\frac{\partial E}{\partial b_1} = "
                            r"\delta^{(1)}", d1.copy())]
        new = {}
        for key, name, w in (("W2", "W_2", w2), ("b2", "b_2", b2), ("W1", "W_1", w1),
                             ("b1", "b_1", b1)):
            grad = own(f"d{key}", next(s.values for s in out if s.key == f"d{key}"))
            value = w - rate * grad
            text = f"{key[0]}{_sub(key[1])}′"
            out.append(self._stage(f"new{key}", f"{{{name}'}}", text, f"{text[:-1]} after the "
                                   "step", rf"{name}' = {name} - \eta \frac{{\partial E}}"
                                   rf"{{\partial {name}}}", value))
            new[key] = own(f"new{key}", value)
        after = self._error(self._forward(new["W1"], new["b1"], new["W2"], new["b2"], x))
        out.append(self._stage("y", "E'", "E′", "the loss after the step", r"E' = E \text{ at "
                               r"} W_1', b_1', W_2', b_2'", np.array([after])))
        return out

    @staticmethod
    def _stage(key: str, name: str, text: str, what: str, formula: str, values: Any,
               layer: str | None = None) -> Stage:
        return BackpropStage(name, what, formula, np.asarray(values, np.float64), layer, key,
                             text)

    def interesting(self, stages: list[Stage]) -> bool:
        """Every step worth computing: a sigmoid not saturated (|z| ≤ 3), a ReLU that clips a
        unit and passes the other, no gradient entirely zero, and a step that lowers the
        loss."""
        by = {s.key: s.values for s in stages}
        zs = [by["z1"]] + ([by["z2"]] if "z2" in by else [])
        if self.sigmoid and not all(np.all(np.abs(z) <= 3) for z in zs):
            return False
        if not self.sigmoid and not (np.any(by["z1"] < 0) and np.any(by["z1"] > 0)):
            return False
        if any(not np.any(by[k] != 0) for k in ("d2", "d1", "dW1", "dW2")) or not np.all(
                by["dW1"].any(axis=1)):
            return False  # (a row of ∂E/∂W₁ all zero: an input entry that is 0)
        return float(by["y"][0]) < float(by["E"])

    # --- what the sheet and the key need --------------------------------------------------

    def model(self, seed: int, weights: Sequence[np.ndarray]) -> Any:
        from .designs import _keras

        keras = _keras()
        out = "sigmoid" if self.sigmoid else None
        model = keras.Sequential([keras.Input((2,), name="x"),
                                  keras.layers.Dense(2, activation=self.activation,
                                                     name="hidden"),
                                  keras.layers.Dense(2, activation=out, name="output")],
                                 name=f"exercise_{seed}")
        model.set_weights([np.asarray(w, np.float32) for w in weights])
        return model

    def definitions(self, weights: Sequence[np.ndarray], x: np.ndarray) -> list[str]:
        w1, b1, w2, b2 = weights
        f = r"\sigma" if self.sigmoid else r"\operatorname{ReLU}"
        out = [rf"z^{{(1)}} = x W_1 + b_1, \quad h^{{(1)}} = {f}\left(z^{{(1)}}\right)"]
        if self.sigmoid:
            out += [r"z^{(2)} = h^{(1)} W_2 + b_2, \quad \hat{y} = \sigma\left(z^{(2)}\right), "
                    r"\quad \sigma(t) = \frac{1}{1 + e^{-t}}"]
        else:
            out += [r"\hat{y} = h^{(1)} W_2 + b_2, \quad \operatorname{ReLU}(t) = \max(0, t)"]
        out += [LOSSES[self.loss][1] + r", \quad W' = W - \eta \frac{\partial E}{\partial W}",
                rf"W_1 = {matrix_latex(w1)}, \quad b_1 = {matrix_latex(b1)}, \quad "
                rf"W_2 = {matrix_latex(w2)}, \quad b_2 = {matrix_latex(b2)}",
                rf"x = {matrix_latex(np.asarray(x).astype(int))}, \quad "
                rf"t = {matrix_latex(np.asarray(self.target))}, \quad \eta = "
                rf"{matrix_latex(np.asarray([self.rate]))}"]
        return out

    def notation(self) -> dict[str, Any]:
        act = "σ" if self.sigmoid else "ReLU"
        out_act = "σ" if self.sigmoid else ""
        d2 = ("δ⁽²⁾ = (ŷ − t) ⊙ σ′(z⁽²⁾)" if self.sigmoid else "δ⁽²⁾ = ŷ − t")
        if self.loss == "mse":
            d2 = d2.replace("(ŷ − t)", "(2/n)(ŷ − t)") if self.sigmoid else "δ⁽²⁾ = (2/n)(ŷ − t)"
        return {"hidden": dict(output=f"h{_sup(1)}", pre=f"z{_sup(1)}", input="x",
                               kernel=f"W{_sub(1)}", bias=f"b{_sub(1)}", activation=act,
                               formula=f"h⁽¹⁾ = {act}(z⁽¹⁾), z⁽¹⁾ = x W₁ + b₁",
                               delta=f"δ{_sup(1)}",
                               delta_formula=f"δ⁽¹⁾ = δ⁽²⁾ W₂ᵀ ⊙ {act}′(z⁽¹⁾)"),
                "output": dict(output="ŷ", pre=f"z{_sup(2)}" if self.sigmoid else "",
                               input=f"h{_sup(1)}", kernel=f"W{_sub(2)}", bias=f"b{_sub(2)}",
                               activation=out_act,
                               formula=("ŷ = σ(z⁽²⁾), z⁽²⁾ = h⁽¹⁾ W₂ + b₂" if self.sigmoid
                                        else "ŷ = h⁽¹⁾ W₂ + b₂"),
                               delta=f"δ{_sup(2)}", delta_formula=d2)}

    def extra_files(self, variant: Any) -> dict[str, str]:
        """The key in the format of ``symnet check --gradients`` and ``--updated``:
        ``gradients.json`` (the loss, each δ, each gradient) and ``updated.json`` (each weight
        after the step, and the loss after it)."""
        import json

        gradients: dict[str, Any] = {}
        updated: dict[str, Any] = {}
        for stage in variant.stages:
            if stage.key not in PARTS:
                continue
            kind, name = PARTS[stage.key]
            value = stage.values.tolist()
            if kind == "updated":
                updated[name] = value
            else:
                gradients[name or "loss"] = value
        return {"gradients.json": json.dumps(gradients, indent=1) + "\n",
                "updated.json": json.dumps(updated, indent=1) + "\n"}

    def key_shape(self) -> dict[str, Any]:
        return {"activation": self.activation, "loss": self.loss, "rate": self.rate,
                "target": list(self.target)}

    @staticmethod
    def from_shape(shape: dict[str, Any]) -> Backprop:
        return Backprop(str(shape["activation"]), str(shape["loss"]), float(shape["rate"]),
                        tuple(float(v) for v in shape["target"]))

    @property
    def sizes(self) -> tuple[int, ...]:
        return (2, 2, 2)

    def describe(self) -> str:
        layers = "sigmoid layers" if self.sigmoid else "a ReLU layer and a linear output"
        return (f"backpropagation through a 2-2-2 network ({layers}), "
                f"{'½ Σ (t − ŷ)²' if self.loss == 'squared_error' else 'the mean squared error'}"
                f", one step of gradient descent with η = {self.rate:g}")


def _sup(k: int) -> str:
    return superscript(f"({k})")


def _sub(k: Any) -> str:
    return subscript(k)
