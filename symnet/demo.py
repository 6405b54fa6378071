"""``symnet demo``: the reports of the bundled examples, written deterministically."""

from __future__ import annotations

from pathlib import Path

from .files import staged_folder, write_output
from .report import FORMATS, render

__all__ = ["DEMO_INPUTS", "write_demo"]

#: The input each example's report is evaluated at: x = 10 is the second seed's question,
#: with the target it was trained on and the interval of its training data.
DEMO_INPUTS = {"regressor_2x_plus_5": ([10.0], "2*x + 5", (0.0, 20.0)),
               "seed_mlp": (None, None, None)}

_SUFFIX = {"text": ".txt", "json": ".json", "latex": ".tex", "markdown": ".md",
           "mathml": ".mml", "html": ".html"}


def write_demo(folder: Path) -> list[Path]:
    """Write every available format for both examples into ``folder``; returns the paths."""
    from . import examples
    from .network import explain

    written = []
    with staged_folder(folder) as stage:  # every report, or none
        for name, build in (("regressor_2x_plus_5", examples.regressor_2x_plus_5),
                            ("seed_mlp", examples.seed_mlp)):
            net = explain(build())
            x, target, domain = DEMO_INPUTS[name]
            for fmt in FORMATS:
                file = f"{name}{_SUFFIX[fmt]}"
                write_output(render(net, fmt, x, target=target, domain=domain),
                             str(stage / file))
                written.append(Path(folder) / file)
    return written
