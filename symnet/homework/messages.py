"""A mistake in the words of the notation in use (:mod:`symnet.homework.notation`): on an
exercise, the sheet's names and formulas; on any other network, the catalogue's own sentence
(layer names as Keras gives them)."""

from __future__ import annotations

from .mistakes import Mistake
from .notation import LayerNames, Notation

__all__ = ["mistake_message"]

#: code -> the sentence on a sheet; ``{out}``, ``{pre}``, ``{input}``, ``{kernel}``, ``{bias}``,
#: ``{activation}``, ``{recurrent}``, ``{formula}`` are the layers' names on the sheet.
SHEET = {
    "missing_activation": "the {activation} of {out} was forgotten: {formula}.",
    "pre_activation_as_output": "the values written for {out} are {pre}, before the "
                                "{activation}: {formula}.",
    "bias_omitted": "the bias {bias} was left out: {formula}.",
    "transposed_kernel": "{kernel} was used transposed: {formula}, {kernel} as printed (entry "
                         "[i,j] in row i, column j).",
    "kernel_flipped": "the filter {kernel} was flipped, as in a true convolution: Keras slides "
                      "it as printed, {formula}.",
    "wrong_pooling": "{out} was computed with average pooling: {formula}, the largest entry "
                     "of each block.",
    "recurrent_term_forgotten": "the recurrent term {recurrent} was left out: {formula}.",
    "activation_on_output": "a {applied} was applied to {out}, which has no activation: "
                            "{formula}.",
}
_ACTIVATIONS = {"relu": "ReLU", "tanh": "tanh", "sigmoid": "sigmoid"}


def mistake_message(mistake: Mistake, notation: Notation) -> str:
    """The sentence that says what ``mistake`` is, as ``notation`` speaks."""
    if mistake.components:
        first, *rest = mistake.components
        return " ".join([_sentence(mistake_message(first, notation))]
                        + [f"Also: {_lower(_sentence(mistake_message(m, notation)))}"
                           for m in rest])
    template = SHEET.get(mistake.code)
    names = [notation.layers.get(layer) for layer in mistake.layers]
    if template is None or not notation.sheet or any(n is None for n in names):
        return mistake.message
    found: list[LayerNames] = [n for n in names if n is not None]
    fields = {key: _joined([getattr(n, key) for n in found])
              for key in ("pre", "input", "kernel", "bias", "activation", "recurrent")}
    fields["out"] = _joined([n.output for n in found])
    fields["formula"] = "; ".join(dict.fromkeys(n.formula for n in found if n.formula))
    if mistake.code == "recurrent_term_forgotten":
        fields["recurrent"] = f"h⁽ᵗ⁻¹⁾ {fields['recurrent'] or 'U'}"
    if mistake.code == "transposed_kernel" and found[0].recurrent:
        fields["kernel"] = found[0].recurrent
    fields["applied"] = _ACTIVATIONS.get(mistake.variant, mistake.variant or "activation")
    text = template.format(**fields)
    if len(found) > 1:
        where = "both layers" if len(found) == 2 else f"all {len(found)} layers"
        text = text.rstrip(".") + f" (the same mistake in {where})."
    return text[:1].upper() + text[1:]


def _joined(parts: list[str]) -> str:
    parts = [p for p in dict.fromkeys(parts) if p]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1] \
        if parts else ""


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith(".") else text + "."


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]
