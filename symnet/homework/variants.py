"""The class's variants: every student's input and right answer, to tell when an answer is
another student's (``other_variant``, naming whose)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .decide import Hypothesis
from .numbers import Numbers

__all__ = ["VariantIndex", "input_key"]


def input_key(values: Iterable[float]) -> tuple[float, ...]:
    """An input as a key: its numbers (so ``2,1`` and ``2.0, 1`` are the same variant)."""
    return tuple(float(v) for v in np.asarray(list(values), np.float64).reshape(-1))


@dataclass
class VariantIndex:
    """Right answers by input, and the students who have each input; searched by value."""

    outputs: dict[tuple[float, ...], np.ndarray] = field(default_factory=dict)
    students: dict[tuple[float, ...], list[str]] = field(default_factory=dict)
    """The first few students of each input (a class that shares inputs has thousands)."""
    counts: dict[tuple[float, ...], int] = field(default_factory=dict)
    _sorted: list[tuple[float, tuple[float, ...]]] | None = None

    def add(self, student: str, key: tuple[float, ...], output: np.ndarray) -> None:
        if key not in self.outputs:
            self.outputs[key] = np.asarray(output, np.float64).reshape(-1)
            self._sorted = None
        names = self.students.setdefault(key, [])
        if len(names) < 3 and student not in names:
            names.append(student)
            self.counts[key] = self.counts.get(key, 0) + 1
        elif student not in names:
            self.counts[key] = self.counts.get(key, 0) + 1

    def __len__(self) -> int:
        return len(self.outputs)

    def who(self, key: tuple[float, ...]) -> str:
        names = self.students.get(key) or ["another student"]
        more = self.counts.get(key, len(names)) - len(names)
        return ", ".join(names) + (f" and {more} more" if more > 0 else "")

    def near(self, got: Numbers, own: tuple[float, ...] | None) -> list[Hypothesis]:
        """The variants (other than ``own``) whose right answer lies within one and a half
        units of the last digit written of ``got`` (or a relative 1e-6), as hypotheses."""
        if not self.outputs:
            return []
        if self._sorted is None:
            self._sorted = sorted((float(v[0]), k) for k, v in self.outputs.items())
        first = float(got.values[0])
        width = max(3 * float(got.half_units()[0]), 1e-6 * abs(first), 1e-12)
        low = bisect.bisect_left(self._sorted, (first - width,))
        out = []
        for value, key in self._sorted[low:]:
            if value > first + width:
                break
            if key == own:
                continue
            output = self.outputs[key]
            if output.size != got.size:
                continue
            out.append(Hypothesis("other_variant", f"the answer for {self.who(key)}'s input",
                                  output, "variant", who=self.who(key)))
            if len(out) >= 5:
                break
        return out
