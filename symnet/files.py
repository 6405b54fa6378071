"""Output files written whole or not at all, and numbers read from the command line or a CSV.

The library and the command line share these; neither writes files or parses vectors any other
way. Nothing here changes process-wide state (the umask is applied by the kernel when the file
is created, never read by setting it).
"""

from __future__ import annotations

import math
import os
import re
import secrets
import shutil
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .errors import InvalidInputError

__all__ = ["FLOAT32_MAX", "parse_number", "parse_vector", "staged_folder", "write_output"]

#: The largest finite float32: inputs beyond it cannot be given to a float32 network.
FLOAT32_MAX = float(np.finfo(np.float32).max)
_TINY = float(np.finfo(np.float32).smallest_subnormal)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_number(text: str, what: str = "--input") -> float:
    """One plain ASCII decimal number (``10``, ``-2.5``, ``1e-3``) that float32 can hold."""
    item = text.strip()
    where = f"{what}: " if what else ""
    if not _DECIMAL.fullmatch(item):
        raise InvalidInputError(f"{where}expected plain decimal numbers such as 10, -2.5 or "
                                f"1e-3, received {_shown(text)}")
    value = float(item)
    if not math.isfinite(value) or abs(value) > FLOAT32_MAX:
        raise InvalidInputError(f"{where}{_shown(item)} is beyond float32's range (|x| <= "
                                f"{FLOAT32_MAX:.8g})")
    mantissa = re.split("[eE]", item)[0]
    if (value != 0.0 and abs(value) < _TINY) or (value == 0.0 and re.search("[1-9]", mantissa)):
        raise InvalidInputError(f"{where}{_shown(item)} is too small for float32 (it would be "
                                f"0; the smallest is {_TINY:.3g})")
    return value


def parse_vector(text: str, what: str = "--input") -> list[float]:
    """``"10"`` or ``"1,2.5,-3"`` -> floats; anything else is an ``InvalidInputError``."""
    if len(text) > 1_000_000:
        raise InvalidInputError(f"{what or 'vector'}: {len(text):,} characters is too long")
    return [parse_number(item, what) for item in text.split(",")]


def _shown(text: str) -> str:
    from .escape import terminal_text

    return repr(terminal_text(text, limit=80))


def write_output(data: str | bytes, destination: str | os.PathLike[str] | None) -> None:
    """Write text (UTF-8) or bytes to stdout (``None`` or ``-``) or to a file.

    A regular file is replaced atomically: all of the new content or the old file untouched,
    its permissions kept (a new file gets the usual ``0666`` less the umask). A FIFO or a device
    (``/dev/null``, ``/dev/stdout``) is written to, never replaced. A symbolic link is written
    through: its target is replaced, the link stays. A read-only file is refused, as a shell
    redirection would refuse it.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if destination is None or str(destination) == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
        return
    shown = repr(str(destination))
    path = Path(destination)
    if path.is_symlink():
        path = path.resolve()
    try:
        info = path.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise InvalidInputError(f"cannot write {shown}: {exc.strerror}") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise InvalidInputError(f"cannot write {shown}: it is a folder")
    if info is not None and not stat.S_ISREG(info.st_mode):
        _stream(raw, path, shown)
        return
    if info is not None and not os.access(path, os.W_OK):
        raise InvalidInputError(f"cannot write {shown}: permission denied (the file is "
                                "read-only)")
    folder = path.parent
    if not folder.is_dir():
        raise InvalidInputError(f"cannot write {shown}: folder {str(folder)!r} does not exist")
    tmp = folder / f".{path.name[:100]}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                     0o666 if info is None else 0o600)
    except OSError as exc:
        raise InvalidInputError(f"cannot write {shown}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        if info is not None:
            os.chmod(tmp, stat.S_IMODE(info.st_mode))
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InvalidInputError(f"cannot write {shown}: {exc.strerror}") from None
        raise


def _stream(raw: bytes, path: Path, shown: str) -> None:
    try:
        with open(path, "wb") as handle:
            handle.write(raw)
    except OSError as exc:
        raise InvalidInputError(f"cannot write {shown}: {exc.strerror}") from None


@contextmanager
def staged_folder(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """A fresh folder beside ``folder`` to write a set of files into; on success they take
    their place in ``folder`` (renamed into it whole when it does not exist yet, else each
    file replaced atomically, other files kept), on any failure nothing of them is left.

    ``folder`` existing as a file, or a parent that cannot be created or written, is an
    ``InvalidInputError`` before anything is written.
    """
    target = Path(folder)
    shown = repr(str(target))
    if target.exists() and not target.is_dir():
        raise InvalidInputError(f"cannot write into {shown}: it exists and is not a folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"cannot create the folder {str(target.parent)!r}: "
                                f"{exc.strerror}") from None
    while True:
        stage = target.parent / f".{target.name[:100]}.{secrets.token_hex(6)}.tmp"
        try:
            os.mkdir(stage)  # 0777 less the umask, as the folder itself would be
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise InvalidInputError(f"cannot write into {shown}: {exc.strerror}") from None
    try:
        yield stage
        _move_into(stage, target, shown)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _move_into(stage: Path, target: Path, shown: str) -> None:
    try:
        if not target.exists():
            os.rename(stage, target)
            return
        if not os.access(target, os.W_OK):
            raise InvalidInputError(f"cannot write into {shown}: permission denied")
        for path in sorted(stage.rglob("*")):
            final = target / path.relative_to(stage)
            if path.is_dir():
                if final.exists() and not final.is_dir():
                    raise InvalidInputError(f"cannot write into {shown}: {str(final)!r} "
                                            "exists and is not a folder")
                final.mkdir(exist_ok=True)
            else:
                if final.is_dir():
                    raise InvalidInputError(f"cannot write {str(final)!r}: it is a folder")
                os.replace(path, final)
    except OSError as exc:
        raise InvalidInputError(f"cannot write into {shown}: {exc.strerror}") from None
