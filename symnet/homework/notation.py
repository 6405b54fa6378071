"""How homework output names what it speaks of — chosen once per network and used by every
message, step verdict, grade, Moodle feedback and key about it.

- An **exercise** (made by ``symnet exercise``, or ``--model``) speaks its sheet's notation:
  each stage's name as the sheet prints it (``h⁽¹⁾``, ``z⁽¹⁾``, ``y``; ``Z``, ``H``, ``P``), its
  matrices (``W₁``, ``b₁``; ``W``, ``U``, ``v``, ``c``), entries numbered from 1 as the sheet
  numbers its boxes (``h⁽¹⁾₃`` is the third entry of ``h⁽¹⁾``; ``W₂[i,j]`` row i, column j),
  and its mistakes in those words.
- **Any other network** speaks the report's: layer names as Keras gives them, entries
  numbered from 0 as ``explain`` and ``why`` print them (``units 0, 2``).

The hint that says how to find the first wrong step speaks the interface in use: ``steps=``
in Python, ``--steps FILE.json`` on the command line, the step columns in a class CSV.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Notation", "subscript", "superscript"]

_SUB = str.maketrans("0123456789+-−(),", "₀₁₂₃₄₅₆₇₈₉₊₋₋₍₎,")
_SUP = str.maketrans("0123456789+-−()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁽⁾")

HINTS = {
    "python": "Give the steps (steps=) to find the first wrong one.",
    "cli": "Give the steps (--steps FILE.json) to find the first wrong one.",
    "class": "Fill in the step columns (the class CSV from symnet exercise has them) to find "
             "the first wrong one.",
}


def subscript(text: object) -> str:
    return str(text).translate(_SUB)


def superscript(text: object) -> str:
    return str(text).translate(_SUP)


@dataclass(frozen=True)
class LayerNames:
    """An exercise layer's names in the sheet's notation (plain text, Unicode)."""

    output: str
    """Its output (``h⁽¹⁾``, ``H``, ``y``)."""
    pre: str = ""
    """Its values before the activation (``z⁽¹⁾``, ``Z``), if the sheet names them."""
    input: str = ""
    """What it reads (``x``, ``h⁽¹⁾``)."""
    kernel: str = ""
    bias: str = ""
    activation: str = ""
    """The activation's name on the sheet (``ReLU``, ``tanh``)."""
    recurrent: str = ""
    """A recurrent layer's recurrent kernel (``U``)."""
    formula: str = ""
    """The layer's formula as the sheet writes it, in plain text (``h⁽¹⁾ = max(0, z⁽¹⁾),
    z⁽¹⁾ = x W₁ + b₁``)."""
    delta: str = ""
    """Its δ on a backpropagation sheet (``δ⁽¹⁾``)."""
    delta_formula: str = ""
    """The δ's formula as the sheet writes it (``δ⁽¹⁾ = δ⁽²⁾ W₂ᵀ ⊙ σ′(z⁽¹⁾)``)."""

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


@dataclass(frozen=True)
class Notation:
    """Names for the messages about one network; see the module.

    Args:
        interface: ``python``, ``cli`` or ``class`` (the hint's words).
        layers: for an exercise, each layer's names on the sheet; empty for any other network.
    """

    interface: str = "python"
    layers: Mapping[str, LayerNames] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.interface not in HINTS:
            raise ValueError(f"interface: one of {sorted(HINTS)}, received {self.interface!r}")

    @property
    def sheet(self) -> bool:
        """Whether this is an exercise's notation (entries numbered from 1)."""
        return bool(self.layers)

    @property
    def hint(self) -> str:
        return HINTS[self.interface]

    def speaking(self, interface: str) -> Notation:
        return Notation(interface, self.layers)

    def layer(self, name: str) -> str:
        """A layer as the messages name it: ``h⁽¹⁾`` on a sheet, ``'dense'`` otherwise."""
        names = self.layers.get(name)
        return names.output if names is not None else repr(name)

    def layers_text(self, names: tuple[str, ...] | list[str]) -> str:
        shown = [self.layer(n) for n in names]
        return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]

    def entry(self, layer: str, index: int, shape: tuple[int, ...] = ()) -> str:
        """Entry ``index`` (row-major, from 0) of a layer's output: ``h⁽¹⁾₃`` or
        ``H₂,₁`` on a sheet, ``unit 2`` otherwise."""
        names = self.layers.get(layer)
        if names is None:
            return f"unit {index}"
        if len(shape) >= 2 and shape[-1] == 1:
            shape = shape[:-1]
        if len(shape) == 2 and min(shape) > 1:
            i, j = divmod(index, shape[1])
            return f"{names.output}{subscript(f'{i + 1},{j + 1}')}"
        return f"{names.output}{subscript(index + 1)}"

    def entries(self, layer: str, indices: Any, shape: tuple[int, ...] = (),
                limit: int = 12) -> str:
        """Several entries: ``h⁽¹⁾₁, h⁽¹⁾₃`` on a sheet, ``units 0, 2`` otherwise."""
        indices = [int(i) for i in indices]
        more = f" (and {len(indices) - limit} more)" if len(indices) > limit else ""
        if not self.sheet:
            return f"unit{'s' if len(indices) != 1 else ''} " + ", ".join(
                str(i) for i in indices[:limit]) + more
        return ", ".join(self.entry(layer, i, shape) for i in indices[:limit]) + more

    def to_dict(self) -> dict[str, Any]:
        return {name: names.to_dict() for name, names in self.layers.items()}

    @staticmethod
    def from_dict(data: Mapping[str, Any], interface: str = "python") -> Notation:
        return Notation(interface, {str(k): LayerNames(**{a: str(b) for a, b in v.items()
                                                           if a in LayerNames.__dataclass_fields__})
                                    for k, v in data.items()})


def why_in_notation(explanation: Any, net: Any, notation: Notation) -> Any:
    """``why`` of an exercise's network, its labels in the sheet's notation: each term of the
    output layer as ``h⁽²⁾₁·W₃[1,1]`` (entries from 1), the units active and clipped as
    ``h⁽¹⁾₂``. The numbers are the explanation's own."""
    from dataclasses import replace

    layer = net.graph.calls[-1].layer.name
    names = notation.layers.get(layer)
    if names is None or not explanation.contributions:
        return explanation
    source = names.input
    if source in ("P", "H", "Z"):
        source = f"flatten({source})"
    labels = []
    terms = list(explanation.contributions.items())
    weight_terms = [t for t in terms if "·" in t[0]]
    column = 1
    for i, (_, value) in enumerate(weight_terms):
        labels.append((f"{source}{subscript(i + 1)}·{names.kernel}[{i + 1},{column}]", value))
    if len(terms) > len(weight_terms):
        labels.append((f"{names.bias}[{column}]", terms[-1][1]))
    notes = []
    for name, mask in explanation.active.items():
        shown = notation.layers.get(name)
        if shown is None:
            continue
        on = [i for i, v in enumerate(mask) if v]
        off = [i for i, v in enumerate(mask) if not v]
        line = f"{shown.output}: {len(on)} of {len(mask)} units active"
        if on:
            line += " (" + ", ".join(f"{shown.output}{subscript(i + 1)}" for i in on) + ")"
        if off:
            line += "; clipped to 0: " + ", ".join(f"{shown.output}{subscript(i + 1)}"
                                                   for i in off)
        notes.append(line)
    for name, dead in explanation.dead_units.items():
        shown = notation.layers.get(name)
        if shown is not None and len(dead):
            notes.append("dead on the domain: " + ", ".join(
                f"{shown.output}{subscript(int(i) + 1)}" for i in dead))
    return replace(explanation, contributions=dict(labels), active={}, dead_units={},
                   notes=tuple(notes) + tuple(explanation.notes))
