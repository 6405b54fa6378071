"""``symnet demo``: the reports of the bundled examples, written deterministically."""

from __future__ import annotations

from pathlib import Path

from .files import staged_folder, write_output
from .report import FORMATS, render

__all__ = ["DEMO_INPUTS", "write_demo"]

#: The input each example's report is evaluated at: x = 10 is the second seed's question,
#: with the target it was trained on and the interval of its training data.
DEMO_INPUTS = {"seed_regressor": ([10.0], "2*x + 5", (0.0, 20.0)),
               "regressor_2x_plus_5": ([10.0], "2*x + 5", (0.0, 20.0)),
               "seed_mlp": (None, None, None)}
#: The examples whose page also gets the interactive explorer (``NAME.explorer.html``).
INTERACTIVE = ("seed_regressor", "regressor_2x_plus_5")

_SUFFIX = {"text": ".txt", "json": ".json", "latex": ".tex", "markdown": ".md",
           "mathml": ".mml", "html": ".html"}


def write_demo(folder: Path) -> list[Path]:
    """Write every format for each example into ``folder`` (and the explorer pages); returns
    the paths."""
    from . import examples
    from .network import explain

    written = []
    with staged_folder(folder) as stage:  # every report, or none
        for name, build in (("seed_regressor", examples.seed_regressor),
                            ("regressor_2x_plus_5", examples.regressor_2x_plus_5),
                            ("seed_mlp", examples.seed_mlp)):
            net = explain(build())
            x, target, domain = DEMO_INPUTS[name]
            for fmt in FORMATS:
                file = f"{name}{_SUFFIX[fmt]}"
                write_output(render(net, fmt, x, target=target, domain=domain),
                             str(stage / file))
                written.append(Path(folder) / file)
            if name in INTERACTIVE:
                file = f"{name}.explorer.html"
                write_output(render(net, "html", x, target=target, domain=domain,
                                    interactive=True), str(stage / file))
                written.append(Path(folder) / file)
    return written
