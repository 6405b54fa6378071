"""The arithmetic a forward pass runs on. Each op writes its computation once, against
:class:`Backend` (``matmul``, ``map``, ``softmax``, ``mean``, ``maximum``...) plus ordinary
operators on numpy arrays, and runs unchanged on:

- :class:`FloatBackend`: numpy in float32 (Keras' own arithmetic) or float64;
- :class:`ExactBackend`: exact rationals (every float32 weight is one); transcendental
  functions evaluated to ``WORK_DIGITS`` digits, and the result then marked inexact;
- :class:`SymbolicBackend`: SymPy expressions of the input symbols (the closed form);
- :class:`LinearizedBackend` / :class:`ExactLinearizedBackend`: piecewise-linear functions frozen
  on the piece active at a reference sample, recording the region where that holds.

A backend object serves one run: make a new one for each (they are cheap); none is shared
between calls or threads.
"""

from .base import Backend
from .exact import OUTPUT_DIGITS, WORK_DIGITS, ExactBackend, exact_fraction
from .float import FloatBackend
from .linearized import (
    Decision,
    ExactLinearizedBackend,
    LinearizedBackend,
    exact_interval,
    interval,
    piece_at,
)
from .symbolic import SymbolicBackend

__all__ = ["OUTPUT_DIGITS", "WORK_DIGITS", "Backend", "Decision", "ExactBackend",
           "ExactLinearizedBackend", "FloatBackend", "LinearizedBackend", "SymbolicBackend",
           "exact_fraction", "exact_interval", "interval", "piece_at"]
