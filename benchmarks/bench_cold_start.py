"""Cold start of the command line on files read without Keras (issue 24): ``symnet why``,
``check`` and ``explain --format text --sections=-agreement`` each in a new process, beside
``python -c "import tensorflow"`` measured in the same run, on the bundled examples, the seed
MLP saved as ``.keras`` and as legacy ``.h5``, and two real models of ``../shared/wild-models``
(when present); and the same command through Keras (``--reader keras``, or the report's
agreement with ``model.predict``) for comparison.

Run: ``python benchmarks/bench_cold_start.py`` (best of 3 runs of each command).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import best_of

HERE = Path(__file__).resolve().parent
WILD = HERE.parent.parent / "shared" / "wild-models"


def _models(folder: Path) -> list[tuple[str, Path]]:
    import symnet
    from symnet.examples import seed_regressor_path

    examples = Path(seed_regressor_path()).parent
    mlp = symnet.examples.seed_mlp()
    mlp.save(folder / "seed_mlp.keras")
    mlp.save(folder / "seed_mlp.h5")
    out = [("seed_regressor.keras", examples / "seed_regressor.keras"),
           ("moons_classifier.keras", examples / "moons_classifier.keras"),
           ("seed MLP (.keras, 1120-512-256-38)", folder / "seed_mlp.keras"),
           ("seed MLP (legacy .h5)", folder / "seed_mlp.h5")]
    for name in ("churn_ankit.h5", "rain_arj010.keras", "malgan_combined.h5"):
        if (WILD / name).is_file():
            out.append((f"wild {name}", WILD / name))
    return out


def _sizes(path: Path) -> tuple[str, str]:
    import symnet

    net = symnet.explain(path, reader="file")
    return (",".join(["0.5"] * sum(math.prod(s) for s in net.input_shapes)),
            ",".join(["0.25"] * sum(math.prod(s) for s in net.output_shapes)))


def main() -> tuple[str, dict[str, float]]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    symnet_cmd = [sys.executable, "-m", "symnet"]

    def timed(command: list[str]) -> float:
        return best_of(lambda: subprocess.run(command, capture_output=True, env=env))

    figures: dict[str, float] = {}
    tf = timed([sys.executable, "-c", "import tensorflow"])
    figures["import tensorflow"] = tf
    label = 'python -c "import tensorflow"'
    lines = [f"{label:<62} {tf:5.2f} s   1.00x",
             "", f"{'command (file read without Keras unless said)':<62} {'time':>7}   "
                 "x import"]
    with tempfile.TemporaryDirectory(prefix="symnet-bench-") as folder:
        for label, path in _models(Path(folder)):
            x, answer = _sizes(path)
            runs = [("why", ["why", str(path), "--input", x]),
                    ("check", ["check", str(path), "--input", x, "--answer", answer]),
                    ("explain --format text --sections=-agreement",
                     ["explain", str(path), "--format", "text", "--input", x,
                      "--sections=-agreement"])]
            if label.startswith("seed"):
                runs += [("why --reader keras", ["why", str(path), "--input", x, "--reader",
                                                 "keras"]),
                         ("explain --format text (agreement: Keras)",
                          ["explain", str(path), "--format", "text", "--input", x])]
            for name, args in runs:
                t = timed([*symnet_cmd, *args])
                figures[f"{label}: {name}"] = t
                lines.append(f"{label + ': ' + name:<62} {t:5.2f} s   {t / tf:4.2f}x")
    text = "\n".join(lines)
    print(text)
    return text, figures


if __name__ == "__main__":
    main()
