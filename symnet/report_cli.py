"""The command line's options for a report written into a paper: ``--fragment``,
``--sections``, ``--digits``, ``--numbering``, ``--convention``, ``--symbol``, ``--box`` (for
``symnet explain``; ``--fragment`` and ``--digits`` also for ``symnet grad``)."""

from __future__ import annotations

import argparse
import re
from typing import Any

__all__ = ["add_report_options", "report_options"]


def _digits(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,2}", text.strip()) or not 1 <= int(text) <= 17:
        raise argparse.ArgumentTypeError(f"--digits expects a whole number from 1 to 17, "
                                         f"received {text!r}")
    return int(text)


def _sections(text: str) -> list[str]:
    from .report.sections import SECTIONS

    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n.removeprefix("-") not in SECTIONS]
    if any(n.startswith("-") for n in names) and not all(n.startswith("-") for n in names):
        unknown = names
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"--sections takes names among {', '.join(SECTIONS)}, "
                                         f"separated by commas (or all of them -NAME: all "
                                         f"but those); received {text!r}")
    return names


def _symbol(text: str) -> tuple[str, str]:
    name, sep, new = text.partition("=")
    if not sep or not name.strip() or not new.strip():
        raise argparse.ArgumentTypeError(f"--symbol expects NAME=NEW (a layer, an array or a "
                                         f"symbol, and its new name), received {text!r}")
    return name.strip(), new.strip()


def _box(text: str) -> tuple[tuple[float, float], tuple[float, float]]:
    from .errors import InvalidInputError
    from .files import parse_vector

    try:
        values = parse_vector(text, what="")
    except InvalidInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"--box expects X1_LOW,X1_HIGH,X2_LOW,X2_HIGH, "
                                         f"received {text!r}")
    return (values[0], values[1]), (values[2], values[3])


def add_report_options(parser: argparse.ArgumentParser, *, paper: bool = True) -> None:
    """Add the options of a report for a paper to ``parser`` (``paper=False``: only
    ``--fragment`` and ``--digits``)."""
    parser.add_argument("--fragment", action="store_true",
                        help="a fragment for your own document (LaTeX: no preamble, to "
                             "\\input after the lines symnet.latex_preamble() gives; HTML: "
                             "an element)")
    parser.add_argument("--digits", type=_digits, default=None, metavar="D",
                        help="significant digits of every number shown (default: 7)")
    if not paper:
        return
    parser.add_argument("--sections", type=_sections, default=None, metavar="A,B",
                        help="only these parts: summary, notation, layers, weights, forms, "
                             "simplification, plot, regions, trace, why, agreement; or all "
                             "but some: --sections=-agreement leaves out the comparison with "
                             "model.predict (and Keras' start-up with it)")
    parser.add_argument("--numbering", choices=("layer", "parameters"), default=None,
                        help="symbols numbered by layer (W_1, W_5) or counting only layers "
                             "with parameters (W^(1), W^(2))")
    parser.add_argument("--convention", choices=("row", "column"), default=None,
                        help="row vectors, x W + b, as Keras computes (default); or column "
                             "vectors, W x + b")
    parser.add_argument("--symbol", type=_symbol, action="append", default=None,
                        metavar="NAME=NEW",
                        help="rename a layer's array (dense=A), an array (dense/bias=c) or a "
                             "symbol (x=u); repeatable")
    parser.add_argument("--box", type=_box, default=None, metavar="A,B,C,D",
                        help="two inputs: the linear regions on [A, B] x [C, D]")


def report_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of ``render`` the options give (those given only)."""
    options: dict[str, Any] = {"standalone": not args.fragment}
    if args.digits is not None:
        options["digits"] = args.digits
    for name in ("sections", "numbering", "convention", "box"):
        value = getattr(args, name, None)
        if value is not None:
            options[name] = value
    if getattr(args, "symbol", None):
        options["symbols"] = dict(args.symbol)
    return options
