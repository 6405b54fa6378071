"""Text and JSON of a training step, for ``symnet step`` (a gradient and its backward trace
are printed by the report's printers: :meth:`symnet.analysis.gradients.Gradient.report`).
No TensorFlow import here."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

__all__ = ["step_data", "step_json", "step_text"]

#: Entries of an array written out in JSON.
MAX_JSON = 4096


def _numbers(value: Any, limit: int) -> Any:
    """An array as nested lists of floats (``None`` beyond ``limit`` entries)."""
    arr = np.asarray(value, dtype=object)
    if arr.size > limit:
        return None
    return np.vectorize(lambda v: float(v), otypes=[object])(arr).tolist() if arr.size else []


def _dump(data: Any) -> str:
    from .report import strict_json

    return json.dumps(strict_json(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def step_data(step: Any) -> dict[str, Any]:
    """What a training-step section holds: the optimizer, the loss before, every weight after
    (and which moved)."""
    return {"optimizer": step.optimizer,
            "options": {k: v for k, v in step.options.items()},
            "loss": float(step.loss), "updated": list(step.updated),
            "weights": {k: _numbers(v, MAX_JSON) for k, v in step.items()}}


def step_json(step: Any) -> str:
    return _dump(step_data(step))


def step_text(step: Any, before: Any) -> str:
    """The step for a terminal: each weight after it, and by how much it moved."""
    from .report.text import array_text, scalar_text

    options = ", ".join(f"{k}={v}" for k, v in step.options.items() if v not in (None, False)
                        and k != "learning_rate")
    lines = [f"one {step.optimizer} step (learning rate {step.options['learning_rate']}"
             + (f", {options}" if options else "") + f"), loss before: {scalar_text(step.loss)}"]
    width = max((len(k) for k in step), default=0)
    for key, value in step.items():
        change = np.asarray(value, dtype=np.float64) - np.asarray(before[key], dtype=np.float64)
        if key in step.updated:
            note = f"  change {array_text(change)}"
        elif np.any(change != 0):
            note = "  (BatchNorm's moving statistic, moved toward the batch's)"
        else:
            note = "  (unchanged: frozen or not trainable)"
        lines.append(f"  {key:<{width}} = {array_text(value)}{note}")
    return "\n".join(lines) + "\n"
