"""``symnet demo``: the reports of the bundled examples, written deterministically."""

from __future__ import annotations

from pathlib import Path

from .cli import write_output
from .report import FORMATS, render

__all__ = ["DEMO_INPUTS", "write_demo"]

#: The input each example's report is evaluated at: x = 10 is the second seed's question.
DEMO_INPUTS = {"regressor_2x_plus_5": 10.0, "seed_mlp": None}

_SUFFIX = {"text": ".txt", "json": ".json"}


def write_demo(folder: Path) -> list[Path]:
    """Write every available format for both examples into ``folder``; returns the paths."""
    from . import examples
    from .network import explain

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in (("regressor_2x_plus_5", examples.regressor_2x_plus_5),
                        ("seed_mlp", examples.seed_mlp)):
        net = explain(build())
        for fmt in FORMATS:
            path = folder / f"{name}{_SUFFIX[fmt]}"
            x = DEMO_INPUTS[name]
            write_output(render(net, fmt, None if x is None else [x]), str(path))
            written.append(path)
    return written
