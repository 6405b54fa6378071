"""A report's notation, as a paper writes it: what each symbol is called (numbered by layer, or
by parameter layer as ``W^{(1)}, W^{(2)}``; renamed by the author), the dimension of each
(``W^{(1)} \\in \\mathbb{R}^{2\\times 8}``), the value of each constant (``\\varepsilon = 0.001``),
and the definition of each function that is not elementary (softmax, σ, GELU...), once.

Nothing here changes a formula: the printers print the same SymPy expressions with these names
(SymPy's ``symbol_names``) and in the convention chosen (``x W + b`` as Keras computes, or the
column-vector ``W x + b``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sympy as sp

from ..errors import InvalidInputError
from ..escape import terminal_text

if TYPE_CHECKING:
    from ..graph import LayerFormula

__all__ = ["CONVENTIONS", "NUMBERINGS", "FunctionDefinition", "Names", "dimension_latex",
           "dimension_text", "function_definitions", "symbol_names"]

NUMBERINGS = ("layer", "parameters")
"""``layer``: symbols carry their layer's position in the model (``W_1, W_5, W_9``, as Keras
numbers the layers); ``parameters``: their position counting only layers with parameters, as
a superscript (``W^{(1)}, W^{(2)}, W^{(3)}``)."""

CONVENTIONS = ("row", "column")
"""``row``: a sample is a row vector and a layer ``x W + b`` (Keras' own arithmetic and array
shapes); ``column``: a sample is a column vector and a layer ``W x + b`` (every matrix shown
is the transpose of Keras' array)."""

_NUMBERED = re.compile(r"(?P<stem>.+?)_(?P<index>\d+)(?P<tag>\^[A-Za-z0-9]+)?")
_NEW_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)?(?:\^[A-Za-z0-9()]+)?")


@dataclass(frozen=True)
class Names:
    """Symbol -> how it is shown, in LaTeX and in plain text (symbols left out keep their
    own names)."""

    latex: Mapping[Any, str] = field(default_factory=dict)
    text: Mapping[Any, str] = field(default_factory=dict)


def _stem_latex(stem: str) -> tuple[str, str | None]:
    """A symbol's stem in LaTeX, and the power it carries (``sigma^2`` -> ``\\sigma``, ``2``)."""
    from ..printing.latex import latex

    base, power = stem, None
    for mark in ("__", "^"):
        if mark in stem:
            base, power = stem.split(mark, 1)
            break
    return latex(sp.Symbol(base)), power


def _numbered(stem: str, k: int, tag: str | None) -> tuple[str, str]:
    """``stem`` numbered ``(k)`` as a superscript: LaTeX and text."""
    base, power = _stem_latex(stem)
    text_base = stem.split("__")[0].split("^")[0]
    extra = "" if not tag else rf",\mathrm{{{tag.lstrip('^')}}}"
    shown = rf"{base}^{{({k}){extra}}}"
    text = f"{text_base}^({k}{',' + tag.lstrip('^') if tag else ''})"
    if power is not None:
        return rf"\left({shown}\right)^{{{power}}}", f"({text})^{power}"
    return shown, text


def symbol_names(layers: Iterable[LayerFormula], numbering: str = "layer",
                 symbols: Mapping[str, str] | None = None,
                 other: Iterable[Any] = ()) -> Names:
    """How a report shows the symbols of ``layers`` (and ``other`` symbols: the inputs,
    outputs, layer outputs) with the ``numbering`` chosen (:data:`NUMBERINGS`) and the
    author's renaming ``symbols``: keys are a layer's name (its first array, e.g. a Dense
    layer's kernel), an array's ``layer/weight`` name, or a symbol's name (``W_1``, ``x``,
    ``h_2``); values are names as SymPy writes symbols (``A``, ``Theta``, ``W_in``,
    ``a^(1)``)."""
    from ..printing.latex import latex

    if numbering not in NUMBERINGS:
        raise InvalidInputError(f"numbering must be one of {', '.join(NUMBERINGS)}, received "
                                f"{terminal_text(numbering, 80)!r}")
    layers = list(layers)
    latex_names: dict[Any, str] = {}
    text_names: dict[Any, str] = {}
    if numbering == "parameters":
        k = 0
        for layer in layers:
            params = [p for p in layer.params if p.symbol is not None]
            if not any(p.weight for p in params):
                continue
            k += 1
            scalars = [c.symbol for c in getattr(layer, "constant_symbols", ())]
            for symbol in [*(p.symbol for p in params), *scalars]:
                found = _NUMBERED.fullmatch(str(symbol))
                if found is None:
                    continue
                latex_names[symbol], text_names[symbol] = _numbered(
                    found.group("stem"), k, found.group("tag"))
    if symbols:
        keys = _keys(layers, other)
        for key, value in symbols.items():
            symbol = keys.get(str(key))
            if symbol is None:
                shown = ", ".join(sorted(keys)[:12]) + (", ..." if len(keys) > 12 else "")
                raise InvalidInputError(
                    f"symbols: no layer, array or symbol is named "
                    f"{terminal_text(key, 80)!r}; expected one of {shown}")
            if not isinstance(value, str) or len(value) > 40 or not _NEW_NAME.fullmatch(value):
                raise InvalidInputError(
                    f"symbols: a new name is written as SymPy names symbols (a letter, then "
                    f"letters or digits, an optional _subscript and ^superscript, e.g. 'A', "
                    f"'Theta', 'W_in', 'a^(1)'), received {terminal_text(value, 80)!r} for "
                    f"{terminal_text(key, 80)!r}")
            latex_names[symbol] = latex(sp.Symbol(value))
            text_names[symbol] = value
    return Names(latex_names, text_names)


def _keys(layers: list[LayerFormula], other: Iterable[Any]) -> dict[str, Any]:
    """What a renaming key may name: symbols by name, arrays by ``layer/weight``, layers by
    name (their first array)."""
    keys: dict[str, Any] = {}
    for symbol in other:
        keys[str(symbol)] = symbol
    for layer in layers:
        for symbol in (*layer.input_symbols, layer.output_symbol):
            keys[str(symbol)] = symbol
        arrays = [p for p in layer.params if p.symbol is not None]
        for p in arrays:
            keys[str(p.symbol)] = p.symbol
            keys[f"{layer.name}/{p.name}"] = p.symbol
        for c in getattr(layer, "constant_symbols", ()):
            keys[str(c.symbol)] = c.symbol
        if arrays and layer.name not in keys:
            keys[layer.name] = arrays[0].symbol
    return keys


def dimension_latex(shape: tuple[int, ...] | tuple[Any, ...]) -> str:
    """``\\mathbb{R}^{2\\times 8}`` for a shape (a vector: ``\\mathbb{R}^{8}``)."""
    dims = [int(d) for d in shape]
    if not dims or dims == [1]:  # a number
        return r"\mathbb{R}"
    return r"\mathbb{R}^{" + r" \times ".join(map(str, dims)) + "}"


def dimension_text(shape: tuple[int, ...] | tuple[Any, ...]) -> str:
    """``R^(2×8)`` for a shape."""
    dims = [int(d) for d in shape]
    return "R" if not dims or dims == [1] else "R^(" + "×".join(map(str, dims)) + ")"


@dataclass(frozen=True)
class FunctionDefinition:
    """A function a formula uses that is not elementary, defined in LaTeX and in text."""

    name: str
    latex: str
    text: str


#: Matrix functions by class name: (name, LaTeX, text) of their definition, row by row as
#: Keras computes them (in the column convention, read "column" for "row").
_MATRIX_FUNCTIONS = {
    "Softmax": ("softmax",
                r"\operatorname{softmax}(z)_{j} = \frac{e^{z_{j}}}{\sum_{k} e^{z_{k}}}",
                "softmax(z)_j = exp(z_j) / Σ_k exp(z_k), along each sample's entries"),
    "LogSoftmax": ("log_softmax",
                   r"\operatorname{log\_softmax}(z)_{j} = z_{j} - \log \sum_{k} e^{z_{k}}",
                   "log_softmax(z)_j = z_j - log Σ_k exp(z_k)"),
    "Standardize": ("mean, Var",
                    r"\operatorname{mean}(z) = \frac{1}{n}\sum_{k} z_{k},\quad "
                    r"\operatorname{Var}(z) = \frac{1}{n}\sum_{k} "
                    r"\bigl(z_{k} - \operatorname{mean}(z)\bigr)^{2}",
                    "mean(z) = Σ_k z_k / n, Var(z) = Σ_k (z_k - mean(z))² / n"),
    "RMSScale": ("mean",
                 r"\operatorname{mean}(z) = \frac{1}{n}\sum_{k} z_{k}",
                 "mean(z) = Σ_k z_k / n"),
}


def function_definitions(exprs: Iterable[Any]) -> list[FunctionDefinition]:
    """The functions of ``exprs`` that a reader needs defined (each once, in the order first
    met): activations that are not elementary (σ, GELU, softplus...: their exact definition),
    softmax and the other row-wise functions, and the entrywise operations ``⊙``, ``⊘``."""
    from ..functions import Activation
    from ..printing.latex import latex
    from ..printing.text import text

    t = sp.Symbol("t", real=True)
    found: dict[str, FunctionDefinition] = {}
    entrywise = False
    for expr in exprs:
        for node in sp.preorder_traversal(expr):
            cls = type(node)
            name = cls.__name__
            if isinstance(node, sp.HadamardProduct):
                entrywise = True
            if name in found:
                continue
            if isinstance(node, Activation) and not (cls.textbook_definition or cls.alias):
                options = node.options
                call = cls(t, *options) if options else cls(t)
                definition = cls.definition(t, *options)
                found[name] = FunctionDefinition(
                    name, f"{latex(call)} = {latex(definition)}",
                    f"{text(call)} = {text(definition)}")
            elif name in _MATRIX_FUNCTIONS:
                shown, tex, plain = _MATRIX_FUNCTIONS[name]
                found[name] = FunctionDefinition(shown, tex, plain)
    out = list(found.values())
    if entrywise:
        out.append(FunctionDefinition(
            "entrywise", r"(a \odot b)_{j} = a_{j} b_{j},\quad (a \oslash b)_{j} = a_{j} / b_{j}",
            "(a ⊙ b)_j = a_j b_j, (a ⊘ b)_j = a_j / b_j: entry by entry"))
    return out
