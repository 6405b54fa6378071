"""symnet: a trained Keras network as mathematics you can read, check and trust.

``import symnet`` does not import TensorFlow; Keras is imported when a model is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    ExpressionTooLarge,
    InvalidInputError,
    ModelLoadError,
    SymnetError,
    SymnetWarning,
    UnsupportedLayerError,
)

if TYPE_CHECKING:
    from .network import Network

__version__ = "0.1.0"

__all__ = [
    "ExpressionTooLarge",
    "InvalidInputError",
    "ModelLoadError",
    "Network",
    "SymnetError",
    "SymnetWarning",
    "UnsupportedLayerError",
    "__version__",
    "examples",
    "explain",
    "supported_layers",
]


def explain(model: Any, *, input_names: Any = None, output_names: Any = None) -> Network:
    """Read a Keras model (object or ``.keras``/``.h5`` path) and give its :class:`Network`.

    See :func:`symnet.network.explain`.
    """
    from .network import explain as _explain

    return _explain(model, input_names=input_names, output_names=output_names)


def supported_layers() -> list[str]:
    """The Keras layer classes symnet converts exactly."""
    from .layers import supported_layers as _supported

    return _supported()


def __getattr__(name: str) -> Any:
    # Lazy: ``symnet.examples`` and ``symnet.Network`` without importing Keras up front.
    if name == "examples":
        import importlib

        return importlib.import_module(".examples", __name__)
    if name == "Network":
        from .network import Network

        return Network
    raise AttributeError(f"module 'symnet' has no attribute {name!r}")
