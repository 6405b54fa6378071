"""Train the 2x+5 regressor as the second seed question did, and save it (run once).

``python -m symnet.examples.train [PATH]`` writes ``regressor_2x_plus_5.keras``;
``python -m symnet.examples.train --moons [PATH]`` the two-moons classifier,
``moons_classifier.keras``. The shipped files were made this way; training is not
bit-reproducible across machines, which is why the files ship.
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


def train_moons(path: Path, seed: int = 0) -> None:
    """The 2 -> 8 -> 8 -> 3 softmax classifier on :func:`symnet.examples.moons_data`."""
    import keras
    import numpy as np

    from . import moons_data

    keras.utils.set_random_seed(seed)
    x, y = moons_data()
    model = keras.Sequential([
        keras.Input(shape=(2,), name="x"),
        keras.layers.Dense(8, activation="relu", name="dense"),
        keras.layers.Dense(8, activation="relu", name="dense_1"),
        keras.layers.Dense(3, activation="softmax", name="dense_2"),
    ], name="moons")
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=400, batch_size=32, verbose=0)
    model.save(path)
    loss, accuracy = model.evaluate(x, y, verbose=0)
    print(f"saved {path}; loss {loss:.4g}; accuracy {accuracy:.4g}; "
          f"{int(np.sum(np.argmax(model.predict(x, verbose=0), axis=1) != y))} misclassified")


if __name__ == "__main__":
    from . import MOONS_FILE, REGRESSOR_FILE

    args = [a for a in sys.argv[1:] if a != "--moons"]
    if "--moons" in sys.argv[1:]:
        train_moons(Path(args[0]) if args else Path(__file__).with_name(MOONS_FILE))
    else:
        train(Path(args[0]) if args else Path(__file__).with_name(REGRESSOR_FILE))
