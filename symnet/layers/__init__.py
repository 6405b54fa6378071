"""One converter per Keras layer class, found in a registry keyed by the class name.

A converter receives a :class:`LayerContext` (the layer, its shapes, the symbols of its input and
output) and returns a :class:`Conversion`: the right side of its formula and its forward pass.
Supporting a new layer is one decorated function in one module of this package. The registry only
accepts Keras' own classes: a user subclass named ``Dense`` is a custom layer, and refused.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..errors import SymnetWarning, UnsupportedLayerError
from ..ir import Forward, LayerFormula, Parameter
from ..symbolic import matrix_shape

__all__ = ["Conversion", "LayerContext", "convert_layer", "converter", "supported_layers"]


@dataclass(frozen=True)
class Conversion:
    """What a converter gives: the formula's right side and the same map as a forward pass."""

    rhs: Any
    forward: Forward
    size: Callable[[list[float]], float]
    note: str = ""
    constants: Mapping[str, Any] = field(default_factory=dict)
    piecewise_linear: bool = False


Converter = Callable[["LayerContext"], Conversion]
_CONVERTERS: dict[str, Converter] = {}


def converter(*class_names: str) -> Callable[[Converter], Converter]:
    """Register a function as the converter of the Keras layer classes named."""

    def register(fn: Converter) -> Converter:
        for name in class_names:
            if name in _CONVERTERS:
                raise RuntimeError(f"two converters for {name}")
            _CONVERTERS[name] = fn
        return fn

    return register


def supported_layers() -> list[str]:
    """The Keras layer class names symnet converts, sorted."""
    _load_converters()
    return sorted(_CONVERTERS)


def _load_converters() -> None:
    # Importing the modules runs their @converter decorators.
    from . import core, merging, normalization, preprocessing, regularization, reshaping  # noqa: F401


def is_supported_class(cls: type) -> bool:
    _load_converters()
    return cls.__name__ in _CONVERTERS and cls.__module__.split(".")[0] == "keras"


def unsupported(layer_name: str, kind: str, why: str = "") -> UnsupportedLayerError:
    """The error for a layer without a converter, listing what is supported."""
    reason = f" ({why})" if why else ""
    return UnsupportedLayerError(
        f"layer {layer_name!r} of class {kind} has no exact converter{reason}. "
        f"Supported layer classes: {', '.join(supported_layers())}. "
        "Lambda and custom layers are never supported: symnet does not approximate or skip layers.",
        layer=layer_name,
        kind=kind,
    )


class LayerContext:
    """A layer being converted: its config, shapes, symbols, and the weights it has consumed."""

    def __init__(
        self,
        layer: Any,
        index: int,
        input_shapes: list[tuple[int, ...]],
        output_shape: tuple[int, ...],
        input_symbols: tuple[sp.MatrixSymbol, ...],
        output_symbol: sp.MatrixSymbol,
    ) -> None:
        self.layer = layer
        self.index = index
        self.name: str = layer.name
        self.kind: str = type(layer).__name__
        self.config: dict[str, Any] = layer.get_config()
        self.input_shapes = input_shapes
        self.output_shape = output_shape
        self.input_symbols = input_symbols
        self.output_symbol = output_symbol
        self.params: list[Parameter] = []
        self.scalars: tuple[sp.Symbol, ...] | None = None
        self._weights = {v.name: v for v in layer.weights}

    @property
    def x(self) -> sp.MatrixSymbol:
        """The input symbol of a one-input layer."""
        return self.input_symbols[0]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.input_shapes[0]

    @property
    def rows(self) -> int:
        """Rows of the input's matrix view: 1 for the usual ``(features,)`` input."""
        return matrix_shape(self.input_shape)[0]

    def reject(self, why: str) -> UnsupportedLayerError:
        """An error for an option of this layer that has no exact converter."""
        return UnsupportedLayerError(
            f"layer {self.name!r} of class {self.kind}: {why}", layer=self.name, kind=self.kind)

    def param(self, weight: str, symbol: str | None, meaning: str) -> sp.MatrixSymbol:
        """Take the layer's weight named ``weight`` into the formula as ``{symbol}_{index}``."""
        variable = self._weights.get(weight)
        if variable is None:
            raise self.reject(f"expected a weight named {weight!r}, found {sorted(self._weights)}")
        value = np.array(variable.numpy())
        if value.dtype != np.float32 and symbol is not None:
            raise self.reject(f"weight {weight!r} has dtype {value.dtype}; expected float32")
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
            warnings.warn(
                f"layer {self.name!r} ({self.kind}): weight {weight!r} holds {bad} NaN or Inf "
                "value(s); evaluation propagates them as Keras does",
                SymnetWarning, stacklevel=2)
        sym = None if symbol is None else sp.MatrixSymbol(f"{symbol}_{self.index}",
                                                          *matrix_shape(value.shape))
        self.params.append(Parameter(weight, sym, value, bool(variable.trainable), meaning))
        return sym  # type: ignore[return-value]

    def broadcast_row(self, row: Any) -> Any:
        """A ``(1, n)`` parameter, repeated on every row of this layer's input matrix."""
        return row if self.rows == 1 else sp.OneMatrix(self.rows, 1) * row


def convert_layer(
    layer: Any,
    index: int,
    input_shapes: list[tuple[int, ...]],
    output_shape: tuple[int, ...],
    input_symbols: tuple[sp.MatrixSymbol, ...],
    output_symbol: sp.MatrixSymbol,
    scalars: tuple[sp.Symbol, ...] | None = None,
) -> LayerFormula:
    """The :class:`LayerFormula` of one Keras layer, or ``UnsupportedLayerError``."""
    kind = type(layer).__name__
    if not is_supported_class(type(layer)):
        raise unsupported(layer.name, kind)
    ctx = LayerContext(layer, index, input_shapes, output_shape, input_symbols, output_symbol)
    ctx.scalars = scalars
    policy = getattr(layer, "dtype_policy", None)
    compute = getattr(policy, "compute_dtype", "float32")
    if compute != "float32" or getattr(policy, "quantization_mode", None):
        raise ctx.reject(f"dtype policy {getattr(policy, 'name', compute)!r} is not supported; "
                         "symnet reproduces float32 layers")
    conversion = _CONVERTERS[kind](ctx)
    unused = sorted(set(ctx._weights) - {p.name for p in ctx.params})
    if unused:
        raise ctx.reject(f"weights {unused} are not part of any known formula of this layer")
    return LayerFormula(
        name=layer.name,
        kind=kind,
        formula=sp.Eq(output_symbol, conversion.rhs, evaluate=False),
        params=tuple(ctx.params),
        constants=dict(conversion.constants),
        input_shape=input_shapes[0] if len(input_shapes) == 1 else list(input_shapes),
        output_shape=output_shape,
        note=conversion.note,
        input_symbols=input_symbols,
        output_symbol=output_symbol,
        forward=conversion.forward,
        size=conversion.size,
        piecewise_linear=conversion.piecewise_linear,
    )
