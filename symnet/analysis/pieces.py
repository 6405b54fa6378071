"""A linear piece of a one-input network: what the piecewise analyses (the walk, the sweep,
ExactLine) all return."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Piece"]


@dataclass(frozen=True)
class Piece:
    """One linear piece of a one-input network: ``y = slope * x + intercept`` on [low, high]."""

    low: float
    high: float
    slope: np.ndarray
    intercept: np.ndarray

    def same_law(self, other: Piece) -> bool:
        return bool(np.allclose(self.slope, other.slope, rtol=1e-12, atol=1e-12)
                    and np.allclose(self.intercept, other.intercept, rtol=1e-12, atol=1e-12))
