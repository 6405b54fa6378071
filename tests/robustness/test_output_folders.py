"""``exercise`` and ``demo`` write a set of files whole or not at all, and refuse a folder they
cannot use with one ``symnet: error:`` line; bad ``--seed`` and ``--steps`` files likewise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import symnet
from symnet.cli import main
from symnet.errors import InvalidInputError
from symnet.files import staged_folder

EXAMPLE = str(Path(symnet.__file__).parent / "examples" / "regressor_2x_plus_5.keras")


def _error(argv: list[str], capsys, *words: str) -> str:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's errors: one line too (cli._Parser)
        code = exc.code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("symnet: error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("command", [["exercise", "--seed", "1"], ["demo"]])
def test_an_existing_file_is_not_a_folder(command, tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("mine")
    _error(command + ["-o", str(target)], capsys, "is not a folder")
    assert target.read_text() == "mine" and _leftovers(tmp_path) == []


def test_exercise_is_written_whole_into_a_new_folder(tmp_path, capsys):
    folder = tmp_path / "deep" / "ex"
    assert main(["exercise", "--seed", "3", "-o", str(folder)]) == 0
    names = sorted(p.name for p in folder.iterdir())
    assert {"exercise.keras", "exercise.tex", "exercise.html", "key.txt", "steps.json",
            "input.txt"} <= set(names)
    assert _leftovers(folder.parent) == []
    assert main(["check", str(folder / "exercise.keras"), "--input",
                 (folder / "input.txt").read_text().strip(), "--steps",
                 str(folder / "steps.json")]) == 0
    capsys.readouterr()


def test_a_failure_midway_leaves_nothing(tmp_path, monkeypatch):
    import symnet.files as files

    calls = []
    real = files.write_output

    def failing(data, destination):
        calls.append(destination)
        if len(calls) == 3:
            raise InvalidInputError("cannot write: No space left on device")
        real(data, destination)

    monkeypatch.setattr(files, "write_output", failing)
    from symnet.homework.exercise import make_exercise

    with pytest.raises(InvalidInputError, match="No space left"):
        make_exercise(4, tmp_path / "ex")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_keeps_its_other_files(tmp_path, capsys):
    folder = tmp_path / "ex"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    (folder / "key.txt").write_text("old key")
    assert main(["exercise", "--seed", "5", "-o", str(folder)]) == 0
    capsys.readouterr()
    assert (folder / "notes.txt").read_text() == "keep me"
    assert (folder / "key.txt").read_text() != "old key"
    assert _leftovers(tmp_path) == []


def test_staged_folder_leaves_nothing_on_an_exception(tmp_path):
    with pytest.raises(RuntimeError), staged_folder(tmp_path / "out") as stage:
        (stage / "a.txt").write_text("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_folder_is_refused(tmp_path, capsys, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() == 0:  # root writes into read-only folders: the system refuses as it would
        real_mkdir = os.mkdir

        def refuse(path, *args, **kwargs):
            if Path(path).parent == locked:
                raise PermissionError(13, "Permission denied", str(path))
            return real_mkdir(path, *args, **kwargs)

        monkeypatch.setattr(os, "mkdir", refuse)
    locked.chmod(0o555)
    try:
        _error(["exercise", "--seed", "1", "-o", str(locked / "ex")], capsys,
               "Permission denied")
        _error(["demo", "-o", str(locked / "reports")], capsys, "Permission denied")
    finally:
        locked.chmod(0o755)
    assert list(locked.iterdir()) == []


@pytest.mark.parametrize("seed", ["-1", "1.5", "x", "1" * 30, ""])
def test_bad_seeds_are_refused(seed, capsys):
    _error(["exercise", "--seed", seed], capsys, "--seed")


def test_a_latin1_steps_file_is_refused(tmp_path, capsys):
    steps = tmp_path / "steps.json"
    steps.write_bytes('{"dense": [1, 2], "café": [3]}'.encode("latin-1"))
    _error(["check", EXAMPLE, "--input", "1", "--steps", str(steps)], capsys, "not UTF-8")


def test_a_deeply_nested_steps_file_is_refused(tmp_path, capsys):
    steps = tmp_path / "steps.json"
    steps.write_text("[" * 100_000 + "]" * 100_000)
    _error(["check", EXAMPLE, "--input", "1", "--steps", str(steps)], capsys, "steps")


def test_a_missing_steps_file_is_refused(tmp_path, capsys):
    _error(["check", EXAMPLE, "--input", "1", "--steps", str(tmp_path / "none.json")], capsys,
           "cannot read steps file")
