"""The errors symnet raises. All derive from :class:`SymnetError`."""

from __future__ import annotations

__all__ = [
    "ExpressionTooLarge",
    "InvalidInputError",
    "MissingToolError",
    "ModelLoadError",
    "SymnetError",
    "SymnetWarning",
    "UnsupportedLayerError",
]


class SymnetError(Exception):
    """Base class of every error symnet raises on purpose."""


class ModelLoadError(SymnetError, OSError):
    """A model file could not be read: missing, unreadable, corrupt or not a Keras model."""


class UnsupportedLayerError(SymnetError, ValueError):
    """A layer (or an option of a layer) has no exact converter.

    symnet never approximates or skips a layer it does not know: the message names the
    layer, its class and what is supported.
    """

    def __init__(self, message: str, *, layer: str | None = None, kind: str | None = None):
        super().__init__(message)
        self.layer = layer
        self.kind = kind


class ExpressionTooLarge(SymnetError, MemoryError):
    """An explicit expression would be too large to build; carries the size estimate."""

    def __init__(self, message: str, *, estimate: int, limit: int):
        super().__init__(message)
        self.estimate = estimate
        self.limit = limit


class InvalidInputError(SymnetError, ValueError):
    """An input value, shape, number or formula is malformed or does not fit the model."""


class MissingToolError(SymnetError, FileNotFoundError):
    """An external tool symnet needs for this output (a LaTeX engine...) is not installed."""


class SymnetWarning(UserWarning):
    """Something worth knowing that does not stop the computation (e.g. NaN weights)."""
