"""Train the 2x+5 regressor as the second seed question did, and save it (run once).

``python -m symnet.examples.train [PATH]`` writes ``regressor_2x_plus_5.keras``. The shipped file
was made this way; training is not bit-reproducible across machines, which is why the file ships.
"""

from __future__ import annotations

import sys
from pathlib import Path


def train(path: Path, seed: int = 2020) -> None:
    import keras
    import numpy as np

    keras.utils.set_random_seed(seed)
    x = np.arange(20, dtype=np.float32).reshape(-1, 1)
    y = 2 * x + 5
    model = keras.Sequential([
        keras.Input(shape=(1,), name="x"),
        keras.layers.Dense(16, activation="relu", name="dense"),
        keras.layers.Dense(1, activation="linear", name="dense_1"),
    ], name="regressor_2x_plus_5")
    model.compile(loss="mean_squared_error", optimizer="adam")
    model.fit(x, y, epochs=1000, batch_size=10, verbose=0)
    model.save(path)
    print(f"saved {path}; loss {float(model.evaluate(x, y, verbose=0)):.4g}; "
          f"f(10) = {float(model.predict(np.array([[10.0]]), verbose=0)[0, 0]):.6g}")


if __name__ == "__main__":
    from . import REGRESSOR_FILE

    train(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name(REGRESSOR_FILE))
