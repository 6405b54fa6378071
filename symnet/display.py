"""How symnet's records show themselves — in Jupyter (``_repr_latex_``, ``_repr_html_``) and as
text — without knowing who prints them.

The records (:class:`~symnet.network.Network`, :class:`~symnet.graph.LayerFormula`,
:class:`~symnet.analysis.explanation.Trace`, ``TraceStep``, ``Explanation``,
:class:`~symnet.homework.Verdict`) hold numbers and SymPy objects. They inherit
:class:`Displayed`, whose methods look up a *hook* registered here for the record's class (along
its MRO) and for the kind of display (``"latex"``, ``"html"``, ``"text"``, ``"data"``). The hooks
are the report printers' (:mod:`symnet.report.display` registers them); ``symnet/__init__.py``
tells this module how to load them on first use (:func:`install`). So the analyses never import
the printers, and this module imports nothing of symnet's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["Displayed", "hook_for", "install", "register", "show"]

F = TypeVar("F", bound=Callable[..., Any])

_HOOKS: dict[tuple[str, type], Callable[..., Any]] = {}
_loaders: list[Callable[[], object]] = []


def register(kind: str, cls: type) -> Callable[[F], F]:
    """Decorate the function that displays ``cls`` (and its subclasses) as ``kind``."""
    def decorate(hook: F) -> F:
        _HOOKS[(kind, cls)] = hook
        return hook

    return decorate


def install(loader: Callable[[], object]) -> None:
    """Run ``loader`` (which registers hooks) the first time a display is asked for."""
    _loaders.append(loader)


def _find(obj: object, kind: str) -> Callable[..., Any] | None:
    for cls in type(obj).__mro__:
        hook = _HOOKS.get((kind, cls))
        if hook is not None:
            return hook
    return None


def hook_for(obj: object, kind: str) -> Callable[..., Any] | None:
    """The hook that displays ``obj`` as ``kind`` (loading the hooks on first use), or
    ``None``."""
    hook = _find(obj, kind)
    while hook is None and _loaders:
        _loaders.pop(0)()
        hook = _find(obj, kind)
    return hook


def show(obj: object, kind: str) -> Any:
    """``obj`` displayed as ``kind`` by its registered hook."""
    hook = hook_for(obj, kind)
    if hook is None:
        raise LookupError(f"no {kind!r} display is registered for {type(obj).__name__}")
    return hook(obj)


class Displayed:
    """A record that shows itself in Jupyter through the registered hooks (a display with no
    hook is ``None``: Jupyter then uses another)."""

    __slots__ = ()

    def _repr_latex_(self) -> str | None:
        hook = hook_for(self, "latex")
        return None if hook is None else str(hook(self))

    def _repr_html_(self) -> str | None:
        hook = hook_for(self, "html")
        return None if hook is None else str(hook(self))
