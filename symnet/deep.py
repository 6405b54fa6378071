"""Room for deep expressions: a call run on a thread with a large stack.

SymPy's printers, ``srepr``, ``xreplace`` and its comparisons are recursive over an
expression's tree, and the structural formula of a network is as deep as the network (three
levels per Dense layer: ``Max(·)`` of a sum of a product). A network of 500 layers nests 1,500
levels, past Python's default limit of 1,000 frames. symnet's own loops over layers are
iterative; what SymPy does recursively runs here, on a thread whose stack and recursion limit
leave room for networks of thousands of layers. Beyond that, the limit is a clean
``ExpressionTooLarge``, never a crash.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import ExpressionTooLarge

__all__ = ["RECURSION_LIMIT", "STACK_BYTES", "deep_call"]

T = TypeVar("T")

STACK_BYTES = 512 * 1024 * 1024
"""The thread's stack: reserved address space, of which only what is used is memory."""
RECURSION_LIMIT = 60_000
"""Python frames allowed on it (a frame of SymPy's printers takes well under 8 KiB of C
stack)."""

_LOCK = threading.Lock()
_local = threading.local()
_active = 0  # deep calls running
_old_limit = 1000  # the recursion limit before the first of them


def deep_call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` with room for deep recursion; its result or its exception.

    A ``RecursionError`` left is a ``ExpressionTooLarge`` naming the limit. Nested calls run
    in place.
    """
    if getattr(_local, "deep", False):
        return fn(*args, **kwargs)
    box: dict[str, Any] = {}

    def run() -> None:
        _local.deep = True
        try:
            box["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller's thread, raised there
            box["error"] = exc

    global _active, _old_limit
    with _LOCK:  # the stack size and the recursion limit are process-wide settings
        if _active == 0:
            _old_limit = sys.getrecursionlimit()
        _active += 1
        sys.setrecursionlimit(max(_old_limit, RECURSION_LIMIT))
        old_stack = threading.stack_size()
        threading.stack_size(STACK_BYTES)
        try:
            worker = threading.Thread(target=run, name="symnet-deep", daemon=True)
            worker.start()
        except (RuntimeError, MemoryError):  # no thread of that stack here: run in place
            worker = None
        finally:
            threading.stack_size(old_stack)
        if worker is None:
            _active -= 1
            if _active == 0:
                sys.setrecursionlimit(_old_limit)
    if worker is None:
        return fn(*args, **kwargs)
    try:
        while worker.is_alive():
            worker.join(0.1)  # in steps, so that Ctrl-C reaches the main thread
    finally:
        with _LOCK:
            _active -= 1
            if _active == 0 and not worker.is_alive():
                sys.setrecursionlimit(_old_limit)
    error = box.get("error")
    if isinstance(error, RecursionError):
        raise ExpressionTooLarge(
            f"an expression nests deeper than {RECURSION_LIMIT:,} levels of SymPy calls; use "
            "net.trace(x) or net.evaluate(x) for numbers", estimate=RECURSION_LIMIT,
            limit=RECURSION_LIMIT) from error
    if error is not None:
        raise error
    return box["result"]
