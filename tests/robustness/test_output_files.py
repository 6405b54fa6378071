"""``-o``: regular files replaced whole, FIFOs and devices written to, links written through,
permissions kept."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from symnet.errors import InvalidInputError
from symnet.files import parse_vector, write_output


def test_regular_file_replaced_with_its_permissions(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    path.chmod(0o640)
    write_output("new", path)
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temporary file left


def test_new_file_gets_the_umask_applied(tmp_path):
    path = tmp_path / "fresh.txt"
    write_output(b"\x00\x01", path)
    umask = os.umask(0o022)  # the test reads the umask; the library never does
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert path.read_bytes() == b"\x00\x01"


def test_fifo_is_written_to_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    write_output("through the pipe", fifo)
    reader.join(10)
    assert received == ["through the pipe"] and stat.S_ISFIFO(fifo.stat().st_mode)


def test_device_is_written_to_not_replaced():
    before = os.stat("/dev/null")
    write_output("discarded", "/dev/null")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


def test_symlink_is_written_through(tmp_path):
    target = tmp_path / "target.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    write_output("new", link)
    assert link.is_symlink() and target.read_text() == "new"


def test_read_only_file_is_refused_as_a_shell_would(tmp_path):
    path = tmp_path / "ro.txt"
    path.write_text("keep")
    path.chmod(0o444)
    if os.access(path, os.W_OK):  # root: a shell's redirection writes it too; the mode stays
        write_output("new", path)
        assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o444
        return
    with pytest.raises(InvalidInputError, match="read-only"):
        write_output("new", path)
    assert path.read_text() == "keep"


def test_folder_and_missing_folder(tmp_path):
    with pytest.raises(InvalidInputError, match="folder"):
        write_output("x", tmp_path)
    with pytest.raises(InvalidInputError, match="does not exist"):
        write_output("x", tmp_path / "missing" / "x.txt")


@pytest.mark.parametrize("text", ["１０", "١٠", "1_000", "1e-400", "1e39", "-1e309", "nan",
                                  "inf", "0x10", " ", "1,,2", "1e5000"])
def test_inputs_are_plain_ascii_numbers_float32_holds(text):
    with pytest.raises(InvalidInputError):
        parse_vector(text)


def test_plain_numbers_are_read():
    assert parse_vector("10, -2.5,1e-3,.5,3.") == [10.0, -2.5, 1e-3, 0.5, 3.0]
    assert parse_vector("0.0") == [0.0] and parse_vector("3.4e38") == [3.4e38]


def test_an_overflowing_output_is_never_graded(keras, capsys, tmp_path):
    import symnet
    from symnet.cli import main

    model = str(symnet.examples.regressor_path())
    assert main(["check", model, "--input", "2e38", "--answer", "5"]) == 2
    err = capsys.readouterr().err
    assert "not a finite number" in err and err.count("\n") == 1
    answers = tmp_path / "class.csv"
    answers.write_text("student,input,answer\nana,2e38,5\nbo,10,24.6\n")
    assert main(["check", model, "--answers", str(answers), "--format", "json"]) == 1
    import json

    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [(r["correct"], r["code"]) for r in rows] == [(False, "invalid"), (True, "rounding")]
