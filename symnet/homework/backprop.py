"""The catalogue of backpropagation mistakes, and what each gives: the loss, every layer's δ,
every weight's gradient and every weight after one step of gradient descent.

Each mistake is made in one place of the calculation — an op's backward pass
(:meth:`symnet.ops.Op.backward_mistakes`: the activation's derivative forgotten or taken at the
output, the softmax's Jacobian dropped or taken entry by entry, the outer product transposed,
δ propagated through the weights after the step), the loss (:attr:`symnet.analysis.losses.Loss
.mistake`: the derivative's sign flipped, the ½ or the 2 of a square dropped, the mean taken as
a sum), or the update (gradient ascent, the learning rate forgotten or applied twice, a bias not
updated) — and, as a misconception is made the same way everywhere it applies, each is also
made in every place it applies (one code, the layers named). :func:`pairs` combines two
different mistakes.

:class:`Backprop` runs the backward pass with a mistake made (float64), on the ops themselves:
what the rewritten ops and the loss's variant give is what the student found.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..analysis.gradients import backward, deltas_of, parameter_keys
from ..analysis.losses import Loss
from ..backends import FloatBackend
from ..graph import Graph, Node
from ..ops import Identity, Op, Param
from .mistakes import _fill

__all__ = ["AFTER", "BackMistake", "Backprop", "Part", "catalogue", "pairs"]


@dataclass(frozen=True, order=True)
class Part:
    """One thing a backpropagation by hand finds: ``loss``, ``delta`` (of a layer),
    ``gradient`` (of a weight, ``"layer/weight"``), ``updated`` (a weight after the step)."""

    kind: str
    name: str = ""

    @property
    def label(self) -> str:
        """A stable label (``delta:hidden``, ``gradient:hidden/kernel``)."""
        return self.kind if not self.name else f"{self.kind}:{self.name}"

    def describe(self) -> str:
        """In words, with the report's names."""
        if self.kind == "loss":
            return "the loss"
        if self == AFTER:
            return "the loss after the step"
        if self.kind == "delta":
            return f"δ of {self.name!r}"
        if self.kind == "gradient":
            return f"∂L/∂{self.name!r}"
        return f"{self.name!r} after the step"


AFTER = Part("updated", "loss")
"""The loss of the network after the step (on the same batch): ``updated={"loss": ...}``."""

UPDATES = ("ascent", "no_rate", "rate_twice", "kept")
"""How a weight is updated wrong: ``w + η g``, ``w − g``, ``w − η² g``, ``w``."""


@dataclass(frozen=True, eq=False)
class BackMistake:
    """One way of getting backpropagation wrong; ``code`` is the diagnosis (``a+b`` for two
    different mistakes together)."""

    code: str
    layers: tuple[str, ...]
    """The layers it is made in (the loss's mistakes: the output layers)."""
    message: str
    changes: Mapping[int, Op] = field(default_factory=dict)
    """Node index -> the op with the backward pass the student computed."""
    loss: str = ""
    """The loss's mistake (:data:`symnet.analysis.losses.LOSS_MISTAKES`), or ``""``."""
    unfused: bool = False
    """The crossentropy gone through the final activation, not simplified to ``ŷ − t``."""
    update: Mapping[str, str] = field(default_factory=dict)
    """Weight key -> how it was updated wrong (:data:`UPDATES`)."""
    variant: str = ""
    everywhere: bool = False
    components: tuple[BackMistake, ...] = ()

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.code.split("+"))

    def compatible(self, other: BackMistake) -> bool:
        """Whether both can be made at once: different mistakes, in different places."""
        return (not set(self.parts) & set(other.parts)
                and not set(self.changes) & set(other.changes)
                and not (self.loss and other.loss)
                and not set(self.update) & set(other.update))

    def __add__(self, other: BackMistake) -> BackMistake:
        return BackMistake(
            f"{self.code}+{other.code}", tuple(dict.fromkeys(self.layers + other.layers)),
            f"{self.message} Also: {other.message[:1].lower()}{other.message[1:]}",
            {**self.changes, **other.changes}, self.loss or other.loss,
            self.unfused or other.unfused, {**self.update, **other.update},
            components=(*(self.components or (self,)), *(other.components or (other,))))


def _final_ops(graph: Graph) -> dict[int, str]:
    """Node index of each output's final op (through identities) -> the output tensor."""
    producer = {n.output: i for i, n in enumerate(graph.nodes)}
    out = {}
    for tensor in graph.outputs:
        i = producer.get(tensor)
        while i is not None and isinstance(graph.nodes[i].op, Identity):
            i = producer.get(graph.nodes[i].inputs[0])
        if i is not None:
            out[i] = tensor
    return out


def _loss_sites(graph: Graph, loss: Loss) -> list[tuple[BackMistake, str]]:
    outputs = tuple(dict.fromkeys(graph.nodes[i].layer for i in _final_ops(graph)))
    what = "∂E/∂ŷ" if not loss.keras else "∂L/∂ŷ"
    sites = [("sign", "loss_sign_flipped", f"the derivative of the loss was taken with its "
              f"sign flipped: {what} has the sign of ŷ − t (the loss grows as ŷ moves away "
              "from t).")]
    factor = loss.factor_two
    if factor == "double":
        sites.append(("double", "loss_factor_two", f"the ½ of the loss {loss.name} was "
                      "dropped: E = ½ Σ (t − ŷ)² gives ∂E/∂ŷ = ŷ − t, not 2(ŷ − t)."))
    elif factor == "half":
        right = "2(ŷ − t)/N for the mean squared error" if loss.keras else "2(ŷ − t)"
        sites.append(("half", "loss_factor_two", f"the 2 of the square's derivative was "
                      f"dropped: {what} = {right}, not half of it."))
    counts = [loss.mean_count((1, *shape)) for shape in graph.output_shapes]
    if loss.keras and max(counts) > 1:
        sites.append(("mean", "loss_mean_forgotten", f"the mean of the {loss.name} was taken "
                      f"as a sum: the loss divides by N (outputs × samples for a mean over "
                      f"entries), and so does {what}."))
    return [(BackMistake(code, outputs, message, loss=how, variant=how), message)
            for how, code, message in sites]


def _update_sites(graph: Graph, rate: float, framework: str, plain: bool = True
                  ) -> list[tuple[BackMistake, str]]:
    """The update's mistakes; for another optimizer than plain gradient descent only those
    that do not depend on its formula (the step taken upwards, a bias not updated)."""
    keys = parameter_keys(graph, framework)
    found = []
    for layer in graph.layers:
        mine = [keys[p] for p in layer.params if p.weight and p.trainable and p in keys]
        if not mine:
            continue
        words = {
            "ascent": ("gradient_ascent", "the weights of {layer} were moved up the gradient, "
                       "W + η ∂L/∂W: gradient descent subtracts it, W − η ∂L/∂W."),
            "no_rate": ("learning_rate_forgotten", f"the learning rate was left out of the "
                        f"step of {{layer}}: W − η ∂L/∂W with η = {rate:g}, not W − ∂L/∂W."),
            "rate_twice": ("learning_rate_twice", f"the learning rate was applied twice in the "
                           f"step of {{layer}}: W − η ∂L/∂W with η = {rate:g}, not "
                           "W − η² ∂L/∂W."),
        }
        if not plain:
            words["ascent"] = ("gradient_ascent", "the step of {layer} was taken up the "
                               "gradient: the optimizer's update is subtracted from the "
                               "weights, not added.")
        useful = {"ascent": rate != 0, "no_rate": plain and rate not in (0, 1),
                  "rate_twice": plain and rate not in (0, 1)}
        for how, (code, template) in words.items():
            if useful[how]:
                found.append((BackMistake(code, (layer.name,), _fill(template, (layer.name,)),
                                          update=dict.fromkeys(mine, how)), template))
        biases = [keys[p] for p in layer.params if p.weight and p.trainable and p in keys
                  and p.name.split("/")[-1].split(".")[-1] == "bias"]
        if biases and rate != 0:
            template = "the bias of {layer} was not updated: b − η ∂L/∂b, as every weight."
            found.append((BackMistake("bias_not_updated", (layer.name,),
                                      _fill(template, (layer.name,)),
                                      update=dict.fromkeys(biases, "kept")), template))
    return found


def catalogue(graph: Graph, loss: Loss, learning_rate: float | None = None,
              framework: str = "keras", plain: bool = True) -> list[BackMistake]:
    """Every backpropagation mistake that applies to ``graph`` with ``loss`` (and, with a
    ``learning_rate``, to the step): each in one place, then each made in every place it
    applies."""
    sites: list[tuple[BackMistake, str]] = []
    finals = _final_ops(graph)
    fused = {i for i in finals if loss.keras and loss.fuses(graph.nodes[i].op)}
    for call in graph.calls:
        for i in call.nodes:
            node = graph.nodes[i]
            for rewrite in node.op.backward_mistakes(learning_rate=learning_rate):
                if rewrite.code == "updated_weights_for_delta" and node.inputs[0] in \
                        graph.inputs:
                    continue  # its δ goes to the input: no layer before it to get wrong
                layers: tuple[str, ...] = (node.layer,)
                sites.append((BackMistake(rewrite.code, layers, _fill(rewrite.message, layers),
                                          changes={i: rewrite.op}, unfused=i in fused,
                                          variant=rewrite.variant), rewrite.message))
    sites += _loss_sites(graph, loss)
    if learning_rate is not None:
        sites += _update_sites(graph, float(learning_rate), framework, plain)
    mistakes = [m for m, _ in sites]
    groups: dict[tuple[str, str], list[tuple[BackMistake, str]]] = {}
    for m, template in sites:
        groups.setdefault((m.code, m.variant), []).append((m, template))
    for (code, variant), group in groups.items():
        if len(group) < 2:
            continue
        layers = tuple(dict.fromkeys(layer for m, _ in group for layer in m.layers))
        changes: dict[int, Op] = {}
        update: dict[str, str] = {}
        for m, _ in group:
            changes.update(m.changes)
            update.update(m.update)
        mistakes.append(BackMistake(code, layers, _fill(group[0][1], layers), changes,
                                    group[0][0].loss, any(m.unfused for m, _ in group),
                                    update, variant, everywhere=True))
    return mistakes


def _op_with(op: Op, new: Mapping[int, Any]) -> Op:
    """``op`` with the arrays of ``new`` (``id`` of a Param -> its replacement) in place."""
    if not dataclasses.is_dataclass(op):
        return op
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(op):
        value = getattr(op, f.name)
        if isinstance(value, Param) and id(value) in new:
            changes[f.name] = new[id(value)]
        elif isinstance(value, Op):
            inner = _op_with(value, new)
            if inner is not value:
                changes[f.name] = inner
        elif isinstance(value, tuple) and any(isinstance(v, Param) and id(v) in new
                                              for v in value):
            changes[f.name] = tuple(new.get(id(v), v) for v in value)
    return dataclasses.replace(op, **changes) if changes else op  # type: ignore[type-var]


MAX_PAIRS = 2000


def pairs(mistakes: Sequence[BackMistake], limit: int = MAX_PAIRS) -> list[BackMistake]:
    """Two different mistakes made together, the likeliest first (both made everywhere, then
    one, then none), at most ``limit``."""
    out: list[BackMistake] = []
    for a, b in _ranked(mistakes):
        if a.compatible(b):
            out.append(a + b)
            if len(out) >= limit:
                break
    return out


def _ranked(mistakes: Sequence[BackMistake]) -> Iterator[tuple[BackMistake, BackMistake]]:
    for wanted in (2, 1, 0):
        for i, a in enumerate(mistakes):
            for b in mistakes[i + 1:]:
                if a.everywhere + b.everywhere == wanted:
                    yield a, b


class Backprop:
    """One network, loss, batch and targets (and learning rate): every part of the hand
    calculation, right or with a mistake made, in float64.

    Args:
        graph: the network.
        loss: the loss.
        arrays, targets: the batch (one array per input) and its targets, as
            :func:`symnet.analysis.gradients.targets_of` gives them.
        learning_rate: the step's (``None``: no updated weights).
        framework: how weights are keyed (``keras``: ``"layer/weight"``).
        optimizer, options: the step's Keras optimizer from fresh state (``"sgd"``,
            ``"adam"``, ``"rmsprop"``) and its options, as for
            :func:`symnet.training.train_step`.
    """

    def __init__(self, graph: Graph, loss: Loss, arrays: list[np.ndarray],
                 targets: list[np.ndarray], learning_rate: float | None = None,
                 framework: str = "keras", backend: Any = None, after: bool = False,
                 optimizer: str = "sgd", options: Mapping[str, Any] | None = None) -> None:
        from ..training import optimizer_settings, plain_descent, training_nodes

        self.graph, self.loss, self.arrays, self.targets = graph, loss, arrays, targets
        self.optimizer, self.settings = optimizer_settings(optimizer, options or {})
        self.plain = plain_descent(self.optimizer, self.settings)
        """Whether the step is ``w − η ∂L/∂w`` (else the optimizer's own first step)."""
        self.rate = learning_rate
        self.after = after and learning_rate is not None
        """Whether the loss after the step (:data:`AFTER`) is computed too."""
        self.framework = framework
        self.backend = backend or FloatBackend(np.float64)
        self.keys = parameter_keys(graph, framework)
        self.by_key = {key: p for p, key in self.keys.items()}
        self.training = training_nodes(graph, "omit", framework) if learning_rate is not None \
            else graph.nodes
        self.same = all(a is b for a, b in zip(self.training, graph.nodes))

    def singles(self) -> list[BackMistake]:
        return catalogue(self.graph, self.loss, self.rate, self.framework, self.plain)

    def parts(self) -> list[Part]:
        """Every part, in the order of a hand calculation: the loss, then from the output
        layer back each layer's δ and its weights' gradients, then the weights after the
        step (output layer first)."""
        out = [Part("loss")]
        runs = self.evaluate(None)
        calls = list(reversed(self.graph.calls))
        for call in calls:
            if Part("delta", call.layer.name) in runs:
                out.append(Part("delta", call.layer.name))
            out += [Part("gradient", self.keys[p]) for p in call.layer.params if p in self.keys]
        if self.rate is not None:
            for call in calls:
                out += [Part("updated", self.keys[p]) for p in call.layer.params
                        if p in self.keys]
            out.append(AFTER)
        return list(dict.fromkeys(out))

    def _nodes(self, base: Sequence[Node], mistake: BackMistake | None) -> tuple[Node, ...]:
        if mistake is None or not mistake.changes:
            return tuple(base)
        return tuple(Node(mistake.changes[i], n.inputs, n.output, n.layer)
                     if i in mistake.changes else n for i, n in enumerate(base))

    def _loss(self, mistake: BackMistake | None) -> Loss:
        if mistake is None or not (mistake.loss or mistake.unfused):
            return self.loss
        return dataclasses.replace(self.loss, mistake=mistake.loss, unfused=mistake.unfused)

    def evaluate(self, mistake: BackMistake | None, *, overrides: Mapping[Part, Any] | None
                 = None, backend: Any = None) -> dict[Part, np.ndarray]:
        """Every part with ``mistake`` made (``None``: right). ``overrides``: parts someone
        wrote (δs and gradients), used in place of the computed ones for what follows from
        them; the parts returned are still the computed ones (what the student's own earlier
        values give: follow-through)."""
        backend = backend or self.backend
        spec = self._loss(mistake)
        tensors = self._override_tensors(overrides)
        with np.errstate(all="ignore"):
            run = backward(self.graph, backend, self.arrays, self.targets, spec,
                           self._nodes(self.graph.nodes, mistake), overrides=tensors)
        out: dict[Part, np.ndarray] = {Part("loss"): np.asarray(run.loss.value, np.float64)}
        deltas, _ = deltas_of(self.graph, run)
        for name, value in deltas.items():
            out[Part("delta", name)] = np.asarray(value, np.float64)
        for p, key in self.keys.items():
            g = run.params.get(p)
            out[Part("gradient", key)] = (np.zeros(p.shape) if g is None else
                                          np.asarray(g, np.float64).reshape(p.shape))
        if self.rate is None:
            return out
        if not self.same:
            with np.errstate(all="ignore"):
                run = backward(self.graph, backend, self.arrays, self.targets, spec,
                               self._nodes(self.training, mistake), overrides=tensors)
        grads = {key: (np.zeros(p.shape) if run.params.get(p) is None else
                       np.asarray(run.params[p], np.float64).reshape(p.shape))
                 for p, key in self.keys.items()}
        if overrides:
            grads.update({part.name: np.asarray(v, np.float64).reshape(self.by_key[
                part.name].shape) for part, v in overrides.items() if part.kind == "gradient"})
        out.update(self._updated(grads, mistake, run))
        if self.after:
            weights = {part.name: v for part, v in out.items()
                       if part.kind == "updated" and part != AFTER}
            weights.update({part.name: np.asarray(v, np.float64).reshape(
                self.by_key[part.name].shape) for part, v in (overrides or {}).items()
                if part.kind == "updated" and part != AFTER})
            out[AFTER] = self._loss_after(weights, spec, backend)
        return out

    def _loss_after(self, weights: Mapping[str, np.ndarray], spec: Loss, backend: Any
                    ) -> np.ndarray:
        """The loss of the network with ``weights`` (the weights after the step) on the same
        batch, as the student's loss computes it (a ½ dropped doubles it too)."""
        from ..analysis.losses import compute
        from ..graph import run_nodes

        new = {id(self.by_key[key]): dataclasses.replace(self.by_key[key], value=np.asarray(
            value, np.float64).reshape(self.by_key[key].shape)) for key, value in weights.items()}
        nodes = tuple(Node(_op_with(n.op, new), n.inputs, n.output, n.layer)
                      for n in self.graph.nodes)
        with np.errstate(all="ignore"):
            values = run_nodes(nodes, self.graph.inputs, backend, self.arrays)
            outs = [values[k] for k in self.graph.outputs]
            result = compute(dataclasses.replace(spec, unfused=True), backend, outs,
                             [None] * len(outs), list(self.targets))
        return np.asarray(result.value, np.float64)

    def _override_tensors(self, overrides: Mapping[Part, Any] | None) -> dict[str, Any]:
        """The student's δs as gradients of the tensors they are taken at."""
        if not overrides:
            return {}
        from ..analysis.gradients import delta_tensor

        calls = {c.layer.name: c for c in self.graph.calls}
        out = {}
        for part, value in overrides.items():
            if part.kind == "delta":
                tensor = delta_tensor(self.graph.nodes, calls[part.name])
                shape = np.shape(self.arrays[0])[:1] + tuple(self.graph.shapes[tensor])
                out[tensor] = np.asarray(value, np.float64).reshape(shape)
        return out

    def _updated(self, grads: Mapping[str, np.ndarray], mistake: BackMistake | None,
                 run: Any) -> dict[Part, np.ndarray]:
        from ..training import _moving_statistics

        rate = float(self.rate)  # type: ignore[arg-type]
        moving = _moving_statistics(self.graph, self._nodes(self.training, mistake), run) \
            if not self.same else {}
        how = mistake.update if mistake is not None else {}
        stepped: dict[str, np.ndarray] = {}
        if not self.plain:
            from ..training import optimizer_step

            keys = [key for p, key in self.keys.items() if p.trainable and p not in moving]
            stepped = dict(zip(keys, optimizer_step(
                self.backend, self.optimizer, self.settings,
                [np.asarray(self.by_key[k].value, np.float64) for k in keys],
                [np.asarray(grads[k], np.float64) for k in keys], rate)))
        out = {}
        for p, key in self.keys.items():
            w = np.asarray(p.value, np.float64)
            if p in moving:
                value = np.asarray(moving[p], np.float64).reshape(p.shape)
            elif not p.trainable:
                value = w
            elif not self.plain:
                new = np.asarray(stepped[key], np.float64).reshape(w.shape)
                value = {"": new, "ascent": w - (new - w), "kept": w}[how.get(key, "")]
            else:
                g = grads[key]
                value = {"": w - rate * g, "ascent": w + rate * g, "no_rate": w - g,
                         "rate_twice": w - rate * rate * g, "kept": w}[how.get(key, "")]
            out[Part("updated", key)] = value
        return out

