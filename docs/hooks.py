"""MkDocs hooks: the pages that are generated from symnet itself, and the pictures.

- ``<!-- generated: cli -->`` becomes every command and option of ``symnet``'s argparse parser;
- ``<!-- generated: layers -->`` every class ``symnet.supported_layers()`` lists, with the
  options its converter declares (``symnet/layers/spec.py``) and the values it accepts;
- ``<!-- generated: operations -->`` the Keras operations of functional graphs;
- the pictures and pages under ``generated/`` are made by symnet during the build (a plot, a
  region map, a report and the explorer of a bundled network), never committed by hand.

mkdocs.yml names this file in ``hooks:``; it is excluded from the site itself.
"""

from __future__ import annotations

import argparse
import io
import os
import re
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")


# --- the command line ----------------------------------------------------------------------

def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _option_row(action: argparse.Action) -> str:
    if action.option_strings:
        names = ", ".join(f"`{name}`" for name in action.option_strings)
    else:
        names = f"`{action.metavar or action.dest}`"
    if action.nargs == 0:
        value = ""
    elif action.choices is not None:
        value = " \\| ".join(f"`{choice}`" for choice in action.choices)
    else:
        value = f"`{action.metavar or action.dest.upper()}`"
    if action.nargs in ("*", "+") or isinstance(action, argparse._AppendAction):
        value += " (repeatable)" if action.option_strings else " ..."
    default = action.default
    shown = "" if default in (None, False, argparse.SUPPRESS, []) or action.nargs == 0 \
        else f"`{default}`"
    return f"| {names} | {value} | {shown} | {_escape(action.help or '')} |"


def cli_markdown() -> str:
    from symnet.cli import build_parser

    os.environ["COLUMNS"] = "100"  # argparse wraps usage lines to the terminal's width
    parser = build_parser()
    out = []
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in commands._choices_actions}
    out.append("| command | what it does |\n| --- | --- |")
    for name in commands.choices:
        out.append(f"| [`symnet {name}`](#symnet-{name}) | {_escape(helps.get(name) or '')} |")
    out.append("")
    out.append("`symnet --version` prints the version; `symnet --help` and "
               "`symnet COMMAND --help` print what is below.")
    for name, sub in commands.choices.items():
        out.append(f"\n## symnet {name}\n")
        if sub.description:
            out.append(_escape(sub.description) + "\n")
        usage = sub.format_usage().strip().removeprefix("usage: ")
        out.append(f"```text\n{usage}\n```\n")
        rows = [a for a in sub._actions if not isinstance(a, argparse._HelpAction)]
        out.append("| argument | value | default | meaning |\n| --- | --- | --- | --- |")
        out.extend(_option_row(action) for action in rows)
    return "\n".join(out) + "\n"


# --- supported layers ----------------------------------------------------------------------

def layers_markdown() -> str:
    import symnet
    from symnet.layers import spec_of
    from symnet.layers.spec import Inert

    out = [f"symnet {symnet.__version__} converts these {len(symnet.supported_layers())} "
           "Keras layer classes. For each: the config options that change what the layer "
           "computes, and the values its converter accepts; any other option or value is "
           "refused by name.\n",
           "| layer | options and accepted values |", "| --- | --- |"]
    for name in symnet.supported_layers():
        spec = spec_of(name)
        if spec is None:
            options = "—"
        else:
            shown = [f"`{key}`: {_escape(domain.describe())}"
                     for key, domain in sorted(spec.config.items())
                     if not isinstance(domain, Inert) and key != "dtype"]
            options = "<br>".join(shown) if shown else "no option changes the computation"
        out.append(f"| `{name}` | {options} |")
    return "\n".join(out) + "\n"


def operations_markdown() -> str:
    from symnet.layers import supported_operations

    return ", ".join(f"`{kind}`" for kind in supported_operations()) + "\n"


GENERATED = {
    "<!-- generated: cli -->": cli_markdown,
    "<!-- generated: layers -->": layers_markdown,
    "<!-- generated: operations -->": operations_markdown,
}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    for marker, make in GENERATED.items():
        if marker in markdown:
            markdown = markdown.replace(marker, make())
    return markdown


# --- pictures and pages made by symnet -----------------------------------------------------

def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight",
                   metadata={"Software": None})
    return buffer.getvalue()


def generated_files() -> dict[str, bytes | str]:
    """Path in the site -> content, made by symnet from the bundled examples."""
    import symnet

    seed = symnet.explain(symnet.examples.seed_regressor_path())
    moons = symnet.explain(symnet.examples.moons_path())
    points, classes = symnet.examples.moons_data()
    return {
        "generated/seed_regressor_plot.png": _png(
            seed.plot((0, 20), target="2*x + 5", x=10, figsize=(5.5, 3.4))),
        "generated/moons_regions.png": _png(
            moons.plot(data=points, labels=classes, figsize=(5, 4))),
        "generated/seed_regressor.html": seed.report(
            "html", x=10, target="2*x + 5", domain=(0, 20)),
        "generated/seed_regressor.explorer.html": seed.report(
            "html", x=10, target="2*x + 5", domain=(0, 20), interactive=True),
    }


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for path, content in generated_files().items():
        files.append(File.generated(config, path, content=content))
    return files


# --- docstrings written for Sphinx ---------------------------------------------------------

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|obj|exc):(?=<code>)")


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    """A docstring's Sphinx role (``:class:`Network```) shows as the code it marks."""
    return _ROLE.sub("", html)
