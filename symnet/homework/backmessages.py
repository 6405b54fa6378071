"""A backpropagation mistake in the words of the notation in use: on an exercise, the sheet's
names (``δ⁽¹⁾``, ``W₂``, ``∂E/∂W₂``, ``W₂′``); on any other network, the catalogue's own sentence
(layer names as Keras gives them)."""

from __future__ import annotations

from .backprop import BackMistake
from .notation import LayerNames, Notation

__all__ = ["backprop_message"]

#: code -> the sentence on a sheet; ``{out}``, ``{pre}``, ``{input}``, ``{kernel}``, ``{bias}``,
#: ``{activation}``, ``{delta}``, ``{delta_formula}`` are the layers' names on the sheet.
SHEET = {
    "derivative_forgotten": "{activation}′({pre}) was left out of {delta}: {delta_formula}.",
    "derivative_at_output": "{activation}′ was taken at {out} instead of {pre}: "
                            "{delta_formula}{shortcut}.",
    "outer_product_transposed": "∂E/∂{kernel} was written transposed: ∂E/∂{kernel} = "
                                "{input}ᵀ {delta}, shaped like {kernel}, not {delta}ᵀ {input}.",
    "updated_weights_for_delta": "the δ of the layer before {out} was computed with {kernel} "
                                 "after the step: backpropagation uses {kernel} as it was in "
                                 "the forward pass, and every weight is updated after it.",
    "gradient_ascent": "{kernel} and {bias} were moved up the gradient: {kernel}′ = {kernel} − "
                       "η ∂E/∂{kernel}, {bias}′ = {bias} − η ∂E/∂{bias}.",
    "learning_rate_forgotten": "the learning rate η was left out of the step of {kernel} and "
                               "{bias}: {kernel}′ = {kernel} − η ∂E/∂{kernel}.",
    "learning_rate_twice": "the learning rate η was applied twice in the step of {kernel} and "
                           "{bias}: {kernel}′ = {kernel} − η ∂E/∂{kernel}, not "
                           "{kernel} − η² ∂E/∂{kernel}.",
    "bias_not_updated": "{bias} was not updated: {bias}′ = {bias} − η ∂E/∂{bias}, as every "
                        "weight.",
}
_SHORTCUTS = {"sigmoid": " (σ′(z) = h(1 − h) with h = σ(z), not σ(h)(1 − σ(h)))",
              "tanh": " (tanh′(z) = 1 − h², not 1 − tanh²(h))"}


def backprop_message(mistake: BackMistake, notation: Notation) -> str:
    """The sentence that says what ``mistake`` is, as ``notation`` speaks."""
    if mistake.components:
        first, *rest = mistake.components
        return " ".join([_sentence(backprop_message(first, notation))]
                        + [f"Also: {_lower(_sentence(backprop_message(m, notation)))}"
                           for m in rest])
    template = SHEET.get(mistake.code)
    names = [notation.layers.get(layer) for layer in mistake.layers]
    if template is None or not notation.sheet or any(n is None for n in names):
        return mistake.message
    found: list[LayerNames] = [n for n in names if n is not None]
    fields = {key: _joined([getattr(n, key) for n in found])
              for key in ("pre", "input", "kernel", "bias", "activation", "delta")}
    fields["out"] = _joined([n.output for n in found])
    fields["delta_formula"] = "; ".join(dict.fromkeys(n.delta_formula for n in found
                                                      if n.delta_formula))
    activation = found[0].activation.lower() if found[0].activation else ""
    fields["shortcut"] = _SHORTCUTS.get(activation, "") if len(found) == 1 else ""
    text = template.format(**fields)
    if len(found) > 1:
        where = "both layers" if len(found) == 2 else f"all {len(found)} layers"
        text = text.rstrip(".") + f" (the same mistake in {where})."
    return text[:1].upper() + text[1:]


def _joined(parts: list[str]) -> str:
    parts = [p for p in dict.fromkeys(parts) if p]
    if not parts:
        return ""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith(".") else text + "."


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]
