"""Reading a class's answers: a CSV file, streamed row by row, in the encodings spreadsheets
write, with stated limits; and writing CSV that a spreadsheet opens safely.

- **Encodings**: UTF-8, with or without the byte order mark Excel writes ("CSV UTF-8"), and
  UTF-16 with its byte order mark (Excel's "Unicode text"). Anything else — Latin-1 or
  Windows-1252 bytes, UTF-32, UTF-16 without a byte order mark — is refused with the reason and
  what to do, never guessed.
- **Limits**: a cell holds at most :data:`MAX_CELL` characters (a longer one makes its row
  invalid, the others are graded), a line at most :data:`MAX_LINE` (a longer one stops the
  file: it is not a class list). Rows are read one at a time: the file's size is not.
- **Output**: every cell goes through :func:`symnet.escape.csv_cell`: a cell a spreadsheet would
  run as a formula (``=HYPERLINK(...)``) starts with ``'``, control characters are shown as
  ``\\xNN``.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import InvalidInputError
from ..escape import csv_cell, terminal_text

__all__ = ["MAX_CELL", "MAX_LINE", "Row", "number_cell", "open_class_csv", "read_rows",
           "read_table", "unguarded", "write_csv"]

MAX_CELL = 100_000
"""Characters in one cell of a class CSV."""
MAX_LINE = 1_000_000
"""Characters in one line of a class CSV."""

_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass(frozen=True)
class Row:
    """One row of the class CSV: its line number, and its cells by column name (``None`` for
    a row that could not be read, with the reason)."""

    line: int
    cells: dict[str, str] | None
    problem: str = ""


def _encoding(head: bytes, shown: str) -> str:
    for bom, name in _BOMS:
        if head.startswith(bom):
            if name == "UTF-32":
                raise InvalidInputError(f"{shown} is UTF-32 text, which is not read: save it as "
                                        "UTF-8 (in Excel: 'CSV UTF-8')")
            return name
    if b"\x00" in head:
        raise InvalidInputError(f"{shown} contains NUL bytes: UTF-16 without a byte order "
                                "mark, or not a text file; save it as UTF-8 (in Excel: 'CSV "
                                "UTF-8')")
    return "utf-8"


def open_class_csv(source: str | Path | BinaryIO) -> io.TextIOWrapper:
    """The file as text in its encoding (see the module); ``InvalidInputError`` when it cannot
    be opened or its encoding is not one of those read."""
    shown = repr(terminal_text(str(getattr(source, "name", source)), limit=120))
    if isinstance(source, (str, Path)):
        try:
            raw: Any = open(source, "rb")
        except OSError as exc:
            raise InvalidInputError(f"cannot read answers file {shown}: {exc.strerror}"
                                    ) from None
    else:
        raw = source
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)
    encoding = _encoding(buffered.peek(4096)[:4096], shown)
    return io.TextIOWrapper(buffered, encoding=encoding, errors="strict", newline="")


def _lines(text: io.TextIOBase, shown: str) -> Iterator[str]:
    number = 0
    while True:
        try:
            line = text.readline(MAX_LINE + 1)
        except UnicodeDecodeError as exc:
            byte = exc.object[exc.start:exc.start + 1].hex()
            raise InvalidInputError(
                f"{shown} is not UTF-8: byte 0x{byte} on line {number + 1} (Latin-1 or "
                "Windows-1252?). Save it as UTF-8 (in Excel: 'CSV UTF-8') or UTF-16") from None
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE:
            raise InvalidInputError(f"{shown}: line {number} is longer than {MAX_LINE:,} "
                                    "characters, the limit for a class CSV")
        yield line


def read_rows(text: io.TextIOBase, required: Sequence[str], optional: Iterable[str],
              shown: str = "the answers CSV") -> tuple[list[str], Iterator[Row]]:
    """The header's column names (known ones lower-cased, the others as written) and the
    rows, streamed. ``required``: columns the file must have (in lower case)."""
    names, rows, _ = read_table(text, required, optional, shown)
    return names, rows


def read_table(text: io.TextIOBase, required: Sequence[str], optional: Iterable[str],
               shown: str = "the answers CSV") -> tuple[list[str], Iterator[Row], str]:
    """As :func:`read_rows`, and the delimiter: ``,``, or ``;`` (a spreadsheet's CSV where
    the comma is the decimal mark) or a tab, whichever the header row uses most."""
    lines = _lines(text, shown)
    first = next(lines, "")
    delimiter = max((",", ";", "\t"), key=lambda d: (first.count(d), d == ","))
    reader = csv.reader(itertools.chain([first] if first else [], lines), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInputError(f"{shown} is empty: expected a header row with the columns "
                                f"{', '.join(required)}") from None
    except csv.Error as exc:
        raise InvalidInputError(f"{shown}: the header row cannot be read ({exc})") from None
    known = {*required, *optional}
    names = [c.strip().lower() if c.strip().lower() in known else c.strip() for c in header]
    missing = [c for c in required if c not in names]
    if missing:
        raise InvalidInputError(
            f"{shown} needs the columns {', '.join(repr(c) for c in required)} (and optionally "
            f"{', '.join(repr(c) for c in sorted(optional))}); received "
            f"{terminal_text(header, limit=200)}")
    return names, _rows(reader, names), delimiter


def _rows(reader: Any, names: list[str]) -> Iterator[Row]:
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problem = (f"a cell is longer than {MAX_CELL:,} characters, the limit"
                       if "field larger" in str(exc) else f"not CSV ({exc})")
            yield Row(reader.line_num, None, problem)
            continue
        if not any(c.strip() for c in cells):
            continue  # a blank line
        if any(len(c) > MAX_CELL for c in cells):
            yield Row(reader.line_num, None, f"a cell is longer than {MAX_CELL:,} characters, "
                      "the limit")
            continue
        if len(cells) > len(names):
            yield Row(reader.line_num, None, f"{len(cells)} cells for {len(names)} columns")
            continue
        yield Row(reader.line_num, {n: c.strip() for n, c in zip(names, cells)})


def unguarded(cell: str) -> str:
    """A cell as it was before ``csv_cell`` guarded it from spreadsheets: ``'-1,2`` (an input
    written by ``symnet exercise`` that starts with a minus) reads as ``-1,2``."""
    if cell.startswith("'") and cell[1:].lstrip(" ")[:1] in ("=", "+", "-", "@"):
        return cell[1:]
    return cell


#: Minus signs a student or a word processor writes, read as ``-``: the minus sign, the
#: small and full-width hyphen-minus.
_MINUSES = str.maketrans({"\u2212": "-", "\ufe63": "-", "\uff0d": "-"})


def number_cell(cell: str, decimal_comma: bool = False) -> str:
    """A cell of numbers as a student writes them, in the plain form ``read_numbers`` reads:
    the Unicode minus read as ``-``; with ``decimal_comma``, ``-26,5`` is -26.5 and several
    numbers are separated by spaces or ``;`` (``1,5 -2,25``); without it, by commas."""
    text = unguarded(cell.strip()).translate(_MINUSES)
    if decimal_comma:
        parts = [p for p in text.replace(";", " ").split() if p]
        return ",".join(p.replace(",", ".") for p in parts)
    return text


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]], delimiter: str = ","
              ) -> str:
    """CSV text, every cell made safe for a spreadsheet (:func:`symnet.escape.csv_cell`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", delimiter=delimiter)
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow(["" if v is None else csv_cell(v) for v in row])
    return out.getvalue()
