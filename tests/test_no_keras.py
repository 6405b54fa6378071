"""Keras only when asked (issue 24): ``symnet why``, ``check``, ``grad`` and ``explain
--format text`` (the agreement with ``model.predict`` left out: ``--sections=-agreement``) on
every bundled example and every real model the file reader reads never import TensorFlow or
Keras; the agreement line, when asked for, imports Keras then and only then."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from symnet.examples import seed_regressor_path

from .conftest import WILD_MODELS, require_wild_models
from .test_saved_reader import READ_WITHOUT_KERAS

EXAMPLES = sorted(Path(seed_regressor_path()).parent.glob("*.keras"))

#: Runs the command lines given as JSON in one process (so that the test takes seconds, not
#: minutes) and prints, after each, its exit code and whether TensorFlow or Keras was imported.
_RUNNER = r"""
import contextlib, io, json, sys
from symnet.cli import main
for args in json.loads(sys.argv[1]):
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with contextlib.redirect_stdout(out):
        code = main(args)
    out.flush()
    text = out.buffer.getvalue().decode("utf-8")
    print(json.dumps([args[0], args[1], code, len(text),
                      sorted(m for m in ("tensorflow", "keras") if m in sys.modules)]))
"""


def _sizes(path: Path) -> tuple[str, str]:
    """An input and an answer of the model's sizes (read from the file without Keras)."""
    import symnet

    net = symnet.explain(path, reader="file")
    if len(net.input_shapes) > 1:  # the command line's --input takes one input only
        return "", ""
    return (",".join(["0.5"] * sum(math.prod(s) for s in net.input_shapes)),
            ",".join(["0.25"] * sum(math.prod(s) for s in net.output_shapes)))


def _commands(paths: list[Path]) -> list[list[str]]:
    out = []
    for path in paths:
        x, answer = _sizes(path)
        out.append(["explain", str(path), "--format", "text", "--sections=-agreement"])
        if not x:
            continue
        out += [["why", str(path), "--input", x],
                ["check", str(path), "--input", x, "--answer", answer],
                ["grad", str(path), "--input", x, "--target", answer, "--loss", "mse"],
                ["explain", str(path), "--format", "text", "--input", x,
                 "--sections=-agreement"]]
    return out


def _run(commands: list[list[str]]) -> list[list]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", _RUNNER, json.dumps(commands)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("[")]


def _no_keras(paths: list[Path]) -> None:
    commands = _commands(paths)
    results = _run(commands)
    assert len(results) == len(commands)
    for (_command, _path, code, size, imported), args in zip(results, commands):
        assert code in (0, 1) and size > 0, args  # check exits 1 on a wrong answer
        assert imported == [], f"{' '.join(args)} imported {imported}"


def test_bundled_examples_never_import_keras():
    _no_keras(EXAMPLES)


def test_real_models_read_without_keras_never_import_keras():
    require_wild_models()
    _no_keras([WILD_MODELS / name for name in sorted(READ_WITHOUT_KERAS)])


def test_wrappers_and_attention_never_import_keras(keras, tmp_path):
    """A model of TimeDistributed, Bidirectional, MultiHeadAttention and AdditiveAttention
    layers, as .keras and legacy .h5: every command reads it without Keras."""
    from .conftest import randomize

    L = keras.layers
    start = keras.Input((4, 3))
    steps = L.Bidirectional(L.LSTM(2, return_sequences=True))(
        L.TimeDistributed(L.Dense(3, activation="relu"))(start))
    heads = L.MultiHeadAttention(2, 2)(steps, steps)
    joined = L.Add()([heads, L.AdditiveAttention()([heads, steps])])
    model = keras.Model(start, L.Dense(1)(L.Bidirectional(L.GRU(2))(joined)))
    randomize(model, 12)
    model.save(tmp_path / "wrappers.keras")
    model.save(tmp_path / "wrappers.h5")
    _no_keras([tmp_path / "wrappers.keras", tmp_path / "wrappers.h5"])


def test_files_of_every_layer_class_the_file_reader_reads_never_import_keras(keras, tmp_path):
    """A file of each shape-moving class and each other convolution the file reader reads
    (saved here, as .keras and legacy .h5) is read, explained and checked without Keras."""
    from symnet.io.keras import file_layers

    from .test_saved_reader_shapes import _models

    paths = []
    kinds: set[str] = set()
    for case, make in _models(keras).items():
        model = make()
        kinds |= {type(layer).__name__ for layer in model.layers}
        for suffix in (".keras", ".h5"):
            model.save(tmp_path / f"{case}{suffix}")
            paths.append(tmp_path / f"{case}{suffix}")
    assert kinds <= set(file_layers())
    _no_keras(paths)


def test_the_agreement_line_imports_keras_when_asked():
    """The report keeps its agreement with model.predict by default (Keras imported for it),
    and ``--reader keras`` reads with Keras."""
    path = str(EXAMPLES[0])
    results = _run([["explain", path, "--format", "text"],
                    ["why", path, "--input", _sizes(EXAMPLES[0])[0], "--reader", "keras"]])
    assert [r[2] for r in results] == [0, 0]
    assert "keras" in results[0][4]


@pytest.mark.parametrize("sections", ["-agreement,summary", "-nothing"])
def test_dropped_sections_are_checked(sections, capsys):
    from symnet.cli import main

    try:
        code = main(["explain", str(EXAMPLES[0]), f"--sections={sections}"])
    except SystemExit as exc:  # argparse's refusal
        code = exc.code
    assert code == 2
    assert "sections" in capsys.readouterr().err
