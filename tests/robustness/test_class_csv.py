"""Class CSV (issue 15, "Class CSV (17)"): the encodings spreadsheets write are read, others
refused with the reason; stated limits; names escaped on a terminal; formula cells neutralised
in every CSV symnet writes; a large class graded in seconds, streaming."""

from __future__ import annotations

import codecs
import csv
import io
import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symnet
from symnet.cli import main
from symnet.homework.classcsv import MAX_CELL, MAX_LINE

GOOD = "student,input,answer\nana,10,24.6\nbo,10,22.86\n"


@pytest.fixture(scope="module")
def model():
    return str(symnet.examples.regressor_path())


def run(model, capsys, data: bytes, *extra):
    path = run.folder / "class.csv"
    path.write_bytes(data)
    code = main(["check", model, "--answers", str(path), *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture(autouse=True)
def folder(tmp_path):
    run.folder = tmp_path


def graded(out: str) -> list[tuple[str, str]]:
    rows = json.loads(out)["rows"]
    return [(r["student"], r["code"]) for r in rows]


@pytest.mark.parametrize(("name", "data"), [
    ("utf-8", GOOD.encode("utf-8")),
    ("utf-8 with BOM (Excel)", codecs.BOM_UTF8 + GOOD.encode("utf-8")),
    ("utf-16 LE with BOM", GOOD.encode("utf-16")),
    ("utf-16 BE with BOM", codecs.BOM_UTF16_BE + GOOD.encode("utf-16-be")),
    ("CRLF and blank lines", GOOD.replace("\n", "\r\n\r\n").encode("utf-8")),
])
def test_the_encodings_spreadsheets_write_are_read(model, capsys, name, data):
    code, out, _ = run(model, capsys, data, "--format", "json")
    assert code == 1
    assert graded(out) == [("ana", "rounding"), ("bo", "missing_activation")], name


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("latin-1", "student,input,answer\nJosé,10,24.6\n".encode("latin-1"), "byte 0xe9"),
    ("windows-1252", "student,input,answer\n“Bo”,10,24.6\n".encode("cp1252"), "byte 0x93"),
    ("utf-32", GOOD.encode("utf-32"), "UTF-32"),
    ("utf-16 without BOM", GOOD.encode("utf-16-le"), "NUL bytes"),
])
def test_other_encodings_are_refused_with_the_reason(model, capsys, name, data, reason):
    code, out, err = run(model, capsys, data)
    assert code == 2 and out == ""
    assert err.startswith("symnet: error: ") and err.count("\n") == 1
    assert reason in err and "UTF-8" in err, (name, err)


@pytest.mark.parametrize("size", [MAX_CELL + 1, 131_073, 200_000])
def test_a_long_cell_makes_its_row_invalid_and_the_others_are_graded(model, capsys, size):
    data = f"student,input,answer\nana,10,24.6\nlong,10,{'9' * size}\nbo,10,22.86\n"
    _code, out, _ = run(model, capsys, data.encode(), "--format", "json")
    rows = json.loads(out)["rows"]
    assert [r["code"] for r in rows] == ["rounding", "invalid", "missing_activation"]
    assert f"{MAX_CELL:,} characters" in rows[1]["message"]


def test_a_line_beyond_the_limit_stops_the_file(model, capsys):
    data = "student,input,answer\n" + ",".join(["1"] * (MAX_LINE // 2 + 10)) + "\n"
    code, _, err = run(model, capsys, data.encode())
    assert code == 2 and f"{MAX_LINE:,}" in err


def test_nul_and_ragged_rows_are_invalid_rows(model, capsys):
    filler = "".join(f"s{i},10,24.6\n" for i in range(400))  # past the first 4096 bytes
    data = f"student,input,answer\n{filler}nul,1\x000,3\nragged,10,24.6,extra\nbo,10,24.6\n"
    _code, out, _ = run(model, capsys, data.encode(), "--format", "json")
    rows = json.loads(out)["rows"]
    assert [r["code"] for r in rows[-3:]] == ["invalid", "invalid", "rounding"]


def test_empty_and_header_only(model, capsys):
    code, _, err = run(model, capsys, b"")
    assert code == 2 and "empty" in err
    code, out, _ = run(model, capsys, b"student,input,answer\n")
    assert code == 0 and "0 of 0 correct" in out


HOSTILE = ["\x1b[31mred\x1b[0m", "\x1b]0;pwned\x07", "\x9b31m", "=HYPERLINK(\"http://x\",\"a\")",
           "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "\t=1+1"]


def class_csv(rows) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([["student", "input", "answer"], *rows])
    return out.getvalue().encode()


def test_names_with_control_characters_are_escaped_on_a_terminal(model, capsys):
    data = class_csv([name, "10", "22.86"] for name in HOSTILE)
    code, out, _ = run(model, capsys, data)
    assert code == 1
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert "\\x1b[31mred" in out
    code, out, _ = run(model, capsys, data, "--format", "json")
    assert "\x1b" not in out and "\x9b" not in out and "\\u001b" in out


def test_formula_cells_are_neutralised_in_the_csv_written(model, capsys):
    data = class_csv([*([name, "10", "22.86"] for name in HOSTILE), ["ok", "10", "-3.5"]])
    _code, out, _ = run(model, capsys, data, "--format", "csv")
    cells = list(csv.reader(io.StringIO(out)))
    for row in cells[1:]:
        for cell in row:
            assert cell.lstrip(" \t\r\n")[:1] not in ("=", "+", "@") or cell.startswith("'")
            if cell.startswith("-") and cell != "-3.5":
                pytest.fail(f"unneutralised cell {cell!r}")
            assert "\x1b" not in cell and "\t" not in cell
    students = [row[0] for row in cells[1:]]
    assert students[3] == "'=HYPERLINK(\"http://x\",\"a\")" and students[6] == "'-2+3"
    assert cells[-1][2] == "-3.5"  # a plain number stays a number


def test_ten_thousand_rows_stream_quickly(model, capsys, tmp_path):
    rows = "".join(f"s{i},{i % 20},{'24.6' if i % 2 else '22.86'}\n" for i in range(10_000))
    start = time.perf_counter()
    code, out, _ = run(model, capsys, ("student,input,answer\n" + rows).encode(), "--format",
                       "csv")
    assert time.perf_counter() - start < 5
    assert code == 1 and out.count("\n") == 10_001


@pytest.mark.slow
def test_a_hundred_thousand_rows_in_seconds(model, tmp_path):
    from symnet.homework import Policy
    from symnet.homework.grade import grade_file, render_grades

    net = symnet.explain(model)
    path = tmp_path / "big.csv"
    answers = ("24.6", "22.86", "25", "abc", "24.597")
    with path.open("w") as f:
        f.write("student,input,answer\n")
        for i in range(100_000):
            f.write(f"s{i},{i % 20},{answers[i % 5]}\n")
    start = time.perf_counter()
    rows = grade_file(net, path, Policy())
    text = render_grades(rows, "csv")
    seconds = time.perf_counter() - start
    assert len(rows) == 100_000 and text.count("\n") == 100_001
    print(f"100,000 rows graded in {seconds:.1f} s")  # benchmarks/bench_grading.py: memory
    assert seconds < 20
    assert rows[3].code == "invalid"
    # 25 at x = 2 (about 8.9) is not that output rounded, but the output at x = 10 (24.597)
    # rounded to two digits: perhaps another student's answer, said as a possibility
    assert (rows[2].code, rows[2].confidence) == ("other_variant", "rounding")
    assert rows[2].message.startswith("Perhaps")


@st.composite
def class_csvs(draw):
    """CSV text with the cells classes contain, and worse: each column's usual values or
    anything."""
    junk = st.one_of(st.sampled_from(["", "abc", "1e309", "-0", "١٠", "1_000", "=1+1", '"',
                                      "nan", "\x00", "\x1b[31m"]), st.text(max_size=12))
    usual = {"student": st.text(max_size=10), "input": st.sampled_from(["10", "5", "0", "-3"]),
             "answer": st.sampled_from(["24.6", "22.86", "25", "13.8", "2.86", "0"]),
             "digits": st.sampled_from(["", "2", "3", "9"]),
             "dense": st.sampled_from(["", "1,2", ",".join(["0"] * 16)])}
    header = draw(st.one_of(
        st.permutations(list(usual)),
        st.lists(st.sampled_from(["student", "input", "answer", "x"]), min_size=1,
                 max_size=4)))
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        rows.append([draw(st.one_of(usual.get(name, junk), junk) if draw(st.booleans())
                          else usual.get(name, junk)) for name in header]
                    + draw(st.lists(junk, max_size=1)))
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    return out.getvalue()


@settings(max_examples=150, deadline=None)
@given(text=class_csvs(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_any_class_csv_is_graded_or_refused_by_name(net_for_hypothesis, text, encoding):
    from symnet.errors import InvalidInputError
    from symnet.homework.classcsv import open_class_csv
    from symnet.homework.grade import grade, render_grades

    try:
        with open_class_csv(io.BytesIO(text.encode(encoding, errors="surrogatepass"))) as f:
            rows = list(grade(net_for_hypothesis, f))
    except InvalidInputError as exc:
        assert str(exc)
        return
    except UnicodeEncodeError:
        return
    for fmt in ("text", "json", "csv"):
        out = render_grades(rows, fmt)
        assert "\x1b" not in out and "\x00" not in out
    assert all(r.code for r in rows)


@pytest.fixture(scope="module")
def net_for_hypothesis():
    return symnet.explain(symnet.examples.regressor_path())
