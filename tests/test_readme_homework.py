"""The README's homework section is true: its Python example runs as a doctest, and every
command of it runs, in order, in a fresh folder, printing exactly what the README shows."""

from __future__ import annotations

import doctest
import re
import shlex
import shutil
from pathlib import Path

import pytest

import symnet
from symnet.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index("### Checking a hand calculation"):text.index(
        "### Simplification passes")]


def blocks(text: str) -> list[tuple[str, str | None, str]]:
    """(language, file it is written to or None, body) of every fenced block, in order."""
    found = []
    pattern = re.compile(r"(?:<!-- file: (?P<file>[^ ]+) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)"
                         r"\n```", re.S)
    for m in pattern.finditer(text):
        found.append((m.group("lang"), m.group("file"), m.group("body")))
    return found


def test_the_python_example_is_a_doctest(keras):
    examples = [body for lang, _, body in blocks(section()) if lang == "pycon"]
    assert examples
    for body in examples:
        test = doctest.DocTestParser().get_doctest(body, {}, "README", str(README), 0)
        runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
        runner.run(test)
        assert runner.failures == 0 and runner.tries > 0


def commands(body: str) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        else:
            out[-1][1].append(line)
    return out


def test_every_command_runs_and_prints_what_the_readme_shows(keras, tmp_path, monkeypatch,
                                                             capsys):
    examples = tmp_path / "symnet" / "examples"
    examples.mkdir(parents=True)
    shutil.copy(symnet.examples.regressor_path(), examples / "regressor_2x_plus_5.keras")
    monkeypatch.chdir(tmp_path)
    last = None
    ran = 0
    for lang, target, body in blocks(section()):
        if target is not None:
            (tmp_path / target).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / target).write_text(body + "\n", encoding="utf-8")
            continue
        if lang != "console":
            continue
        for command, shown in commands(body):
            argv = shlex.split(command)
            if argv[0] == "symnet":
                last = main(argv[1:])
                printed = capsys.readouterr().out
            elif argv == ["echo", "$?"]:
                printed = f"{last}\n"
            elif argv[0] == "cat":
                printed = (tmp_path / argv[1]).read_text(encoding="utf-8")
            else:
                pytest.fail(f"the README runs {command!r}, which this test does not know")
            assert printed.splitlines() == shown, f"$ {command}"
            ran += 1
    assert ran >= 6
