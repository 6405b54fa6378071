"""The answer key of an exercise, as ``exercise.json`` beside ``exercise.keras``: what grading
needs to speak the sheet's notation and to read the sheets' answers.

It holds the exercise's shape and weights (to recompute each stage from a student's own
earlier values), the sheet's notation, each stage with its class CSV columns, and every
student's variant: input, every value the sheet asks for, the answer, and the
multiple-choice letters. ``symnet check exercise.keras --answers class.csv`` reads it when it
lies beside the model and the model's bytes are the ones it was written with (its SHA-256).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ..escape import terminal_text
from .notation import Notation
from .variants import input_key

__all__ = ["FORMAT", "ExerciseKey", "KeyStage", "KeyVariant", "find_key", "key_beside",
           "load_key"]

FORMAT = "symnet-exercise-key"
VERSION = 1
MAX_KEY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class KeyStage:
    """One part of the sheet: its ASCII key, its name (text and LaTeX), the layer whose output
    it is (or none), its shape, and its columns in the class CSV."""

    key: str
    text: str
    latex: str
    what: str
    layer: str | None
    shape: tuple[int, ...]
    columns: tuple[str, ...]
    entries: tuple[str, ...]
    """Each entry's name in plain text (``h⁽¹⁾₃``)."""


@dataclass(frozen=True)
class KeyVariant:
    """One student's exercise: the input, the value of every stage, the letters."""

    student: str | None
    input: tuple[float, ...]
    answer: float
    stages: dict[str, tuple[float, ...]]
    choices: dict[str, float]
    """Letter -> the number printed beside it (multiple choice)."""
    letter: str


@dataclass(frozen=True)
class ExerciseKey:
    seed: int
    kind: str
    digits: int
    shape: dict[str, Any]
    """How to rebuild the design: ``widths``, ``inputs`` (dense)."""
    weights: tuple[np.ndarray, ...]
    notation: Notation
    stages: tuple[KeyStage, ...]
    variants: tuple[KeyVariant, ...]
    model_sha256: str = ""

    # --- the class CSV's columns ----------------------------------------------------------

    def columns(self) -> dict[str, tuple[str, int | None]]:
        """Column -> (stage key, entry index; ``None`` for a column of all the entries)."""
        out: dict[str, tuple[str, int | None]] = {}
        for stage in self.stages:
            if stage.key == "y":
                continue
            if len(stage.columns) > 1:
                out[stage.key] = (stage.key, None)
            for i, column in enumerate(stage.columns):
                out[column] = (stage.key, i)
        return out

    def stage(self, key: str) -> KeyStage:
        return next(s for s in self.stages if s.key == key)

    # --- the variants ---------------------------------------------------------------------

    def variant(self, student: str | None, x: np.ndarray) -> KeyVariant | None:
        """The variant of this input (the student's own first, if several share it)."""
        wanted = input_key(x)
        found = [v for v in self.variants if input_key(v.input) == wanted]
        if not found:
            return None
        return next((v for v in found if v.student == student), found[0])

    def by_student(self, student: str) -> KeyVariant | None:
        return next((v for v in self.variants if v.student == student), None)

    # --- recomputing from a student's own values ------------------------------------------

    def recompute(self, net: Any, x: np.ndarray, given: dict[str, np.ndarray]
                  ) -> dict[str, np.ndarray]:
        """Each stage's values computed from the values the student wrote before it."""
        if self.kind == "model":
            from .model import ModelDesign

            design: Any = ModelDesign.from_net(net)
        elif self.kind == "backprop":
            from .backprop_design import Backprop

            design = Backprop.from_shape(self.shape)
        else:
            from .designs import design as make

            design = make(self.kind, self.shape.get("widths", (3,)), self.shape.get("inputs", 2))
        x = np.asarray(x, np.float64).reshape(tuple(self.shape.get("input_shape") or
                                                    np.shape(x)))
        return {s.key: np.asarray(s.values, np.float64).reshape(-1)
                for s in design.stages(list(self.weights), x, given)}

    def matches(self, net: Any) -> bool:
        """Whether ``net`` has this exercise's weights (every array, in order, to float32)."""
        mine = [np.asarray(p.value, np.float64).reshape(-1) for layer in net.graph.layers
                for p in layer.params if p.weight]
        if len(mine) != len(self.weights):
            return False
        return all(a.size == b.size and np.allclose(a, np.asarray(b, np.float32).reshape(-1),
                                                    rtol=0, atol=0)
                   for a, b in zip(mine, self.weights))

    # --- JSON -----------------------------------------------------------------------------

    def to_json(self) -> str:
        data = {"format": FORMAT, "version": VERSION, "seed": self.seed, "kind": self.kind,
                "digits": self.digits, "shape": self.shape, "model_sha256": self.model_sha256,
                "weights": [{"shape": list(w.shape), "values": w.reshape(-1).tolist()}
                            for w in self.weights],
                "notation": self.notation.to_dict(),
                "stages": [{"key": s.key, "text": s.text, "latex": s.latex, "what": s.what,
                            "layer": s.layer, "shape": list(s.shape), "columns": list(s.columns),
                            "entries": list(s.entries)} for s in self.stages],
                "variants": [{"student": v.student, "input": list(v.input), "answer": v.answer,
                              "stages": {k: list(vals) for k, vals in v.stages.items()},
                              "choices": v.choices, "letter": v.letter}
                             for v in self.variants]}
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"

    @staticmethod
    def from_json(text: str, shown: str = "the key") -> ExerciseKey:
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT or data.get("version") != VERSION:
                raise ValueError("not a symnet exercise key of version 1")
            weights = tuple(np.asarray(w["values"], np.float64).reshape(w["shape"])
                            for w in data["weights"])
            stages = tuple(KeyStage(s["key"], s["text"], s["latex"], s["what"], s["layer"],
                                    tuple(s["shape"]), tuple(s["columns"]), tuple(s["entries"]))
                           for s in data["stages"])
            variants = tuple(KeyVariant(v["student"], tuple(float(a) for a in v["input"]),
                                        float(v["answer"]),
                                        {k: tuple(float(a) for a in vals)
                                         for k, vals in v["stages"].items()},
                                        {str(k): float(a) for k, a in v["choices"].items()},
                                        str(v["letter"]))
                             for v in data["variants"])
            return ExerciseKey(int(data["seed"]), str(data["kind"]), int(data["digits"]),
                               dict(data["shape"]), weights,
                               Notation.from_dict(data["notation"]), stages, variants,
                               str(data.get("model_sha256", "")))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise InvalidInputError(f"{shown} is not an exercise key written by symnet "
                                    f"exercise ({terminal_text(exc, limit=120)})") from None


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_key(path: str | Path) -> ExerciseKey:
    """An ``exercise.json`` (``InvalidInputError`` when it cannot be read or is not one)."""
    shown = repr(terminal_text(str(path), limit=120))
    try:
        size = Path(path).stat().st_size
        if size > MAX_KEY_BYTES:
            raise InvalidInputError(f"{shown}: {size:,} bytes is too large for a key")
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot read key {shown}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"key {shown} is not UTF-8 JSON") from None
    return ExerciseKey.from_json(text, shown)


def key_beside(path: str | Path, net: Any) -> ExerciseKey | None:
    """The key in the folder of ``path`` (a class CSV), when it is ``net``'s exercise."""
    beside = Path(path).with_name("exercise.json")
    if not beside.is_file():
        return None
    try:
        key = load_key(beside)
    except InvalidInputError:
        return None
    return key if key.matches(net) else None


def find_key(model: str | Path) -> ExerciseKey | None:
    """The key beside a model file (``exercise.json`` in its folder), when it was written for
    these very bytes; ``None`` otherwise."""
    path = Path(model)
    beside = path.with_name("exercise.json")
    if not path.is_file() or not beside.is_file():
        return None
    key = load_key(beside)
    return key if key.model_sha256 and key.model_sha256 == file_sha256(path) else None
