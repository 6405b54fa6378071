"""The documentation is true: the site builds in strict mode (a broken link, reference or
generated page fails it), and every example on it — and in the README — runs, printing what
the page shows.

An example is a fenced block of one of three kinds, run in order, page by page, in a fresh
folder holding the bundled models at ``symnet/examples/`` (as in a clone):

- ``pycon``: a doctest (``>>>`` lines and the output they print);
- ``python``: executed; it prints nothing, unless the next block is marked
  ``<!-- output -->``, which holds what it prints;
- ``console``: ``$ symnet ...`` lines and what each prints on stdout (also ``$ echo $?``,
  ``$ cat FILE``); a ``...`` line in the shown output stands for lines left out.

A block after ``<!-- file: NAME -->`` is written to ``NAME`` first (a roster, a JSON file of
steps). A block after ``<!-- not run: why -->`` is not run (it installs or needs what a test
cannot have). Blocks in other languages (``text``, ``sh``, ``latex``...) are not examples.
"""

from __future__ import annotations

import argparse
import contextlib
import doctest
import importlib.util
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import symnet
from symnet.cli import main

from .conftest import require_tool, require_torch

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
EXAMPLE_LANGUAGES = {"pycon", "python", "console"}
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS

BLOCK = re.compile(r"(?:<!-- (?P<mark>file|not run|output)(?::\s*(?P<arg>[^>]*?))?\s*-->\n)?"
                   r"^```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)\n```", re.S | re.M)


def blocks(text: str) -> list[tuple[str | None, str, str, str]]:
    """(mark, its argument, language, body) of every fenced block, in order."""
    return [(m.group("mark"), (m.group("arg") or "").strip(), m.group("lang"), m.group("body"))
            for m in BLOCK.finditer(text)]


def name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def same(shown: str, printed: str) -> bool:
    return doctest.OutputChecker().check_output(shown.strip() + "\n", printed.strip() + "\n",
                                                FLAGS)


def commands(body: str) -> list[tuple[str, str]]:
    out: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        else:
            assert out, f"a console block must start with '$ ': {line!r}"
            out[-1][1].append(line)
    return [(command, "\n".join(shown)) for command, shown in out]


def run_page(page: Path, folder: Path, capsys) -> int:
    """Run every example of the page in ``folder``; the number of examples run."""
    examples = folder / "symnet" / "examples"
    examples.mkdir(parents=True)
    for model in Path(symnet.examples.__file__).parent.glob("*.keras"):
        shutil.copy(model, examples / model.name)
    found = blocks(page.read_text(encoding="utf-8"))
    namespace: dict = {"__name__": "__docs__"}
    last = None
    ran = 0
    wrong: list[str] = []  # every example that does not print what the page shows
    for i, (mark, arg, lang, body) in enumerate(found):
        where = f"{name(page)}, block {i + 1} ({lang})"
        if mark == "file":
            (folder / arg).parent.mkdir(parents=True, exist_ok=True)
            (folder / arg).write_text(body + "\n", encoding="utf-8")
            continue
        if mark in ("not run", "output") or lang not in EXAMPLE_LANGUAGES:
            continue
        if lang == "pycon":
            test = doctest.DocTestParser().get_doctest(body, namespace, where, str(page), 0)
            runner = doctest.DocTestRunner(optionflags=FLAGS)
            out = io.StringIO()
            runner.run(test, out=out.write, clear_globs=False)
            assert runner.tries > 0, where
            if runner.failures:
                wrong.append(f"{where}:\n{out.getvalue()}")
            namespace.update(test.globs)  # a DocTest runs in a copy: later blocks see its names
        elif lang == "python":
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(body, where, "exec"), namespace)
            following = found[i + 1] if i + 1 < len(found) else None
            shown = following[3] if following is not None and following[0] == "output" else ""
            if not same(shown, printed.getvalue()):
                wrong.append(f"{where} printed:\n{printed.getvalue()}\nthe page shows:\n{shown}")
        else:
            for command, shown in commands(body):
                argv = shlex.split(command)
                if argv[0] == "symnet":
                    capsys.readouterr()
                    try:
                        last = main(argv[1:])
                    except SystemExit as exc:  # argparse's usage errors: exit 2
                        last = exc.code
                    printed = capsys.readouterr().out
                elif argv == ["echo", "$?"]:
                    printed = f"{last}\n"
                elif argv[0] == "cat" and len(argv) == 2:
                    printed = (folder / argv[1]).read_text(encoding="utf-8")
                else:
                    pytest.fail(f"{where} runs {command!r}, which this test does not know")
                if not same(shown, printed):
                    wrong.append(f"{where}: $ {command}\nprinted:\n{printed}\n"
                                 f"the page shows:\n{shown}")
        ran += 1
    assert not wrong, "\n\n".join(wrong)
    return ran


@pytest.mark.parametrize("page", [p for p in PAGES
                                  if any(lang in EXAMPLE_LANGUAGES and mark != "not run"
                                         for mark, _, lang, _ in
                                         blocks(p.read_text(encoding="utf-8")))],
                         ids=name)
def test_every_example_runs_and_prints_what_the_page_shows(page, keras, tmp_path, monkeypatch,
                                                           capsys):
    text = page.read_text(encoding="utf-8")
    if "import torch" in text:
        require_torch()  # the torch extra: skipped with the reason where it is not installed
    if 'save_report("model.pdf"' in text:
        require_tool("pdflatex")
    monkeypatch.chdir(tmp_path)
    start = time.perf_counter()
    assert run_page(page, tmp_path, capsys) > 0
    # kept small on purpose: examples reuse the small bundled networks
    print(f"{name(page)}: {time.perf_counter() - start:.1f} s")


def test_the_site_has_examples_and_the_readme_one():
    """Most pages teach by example; the README's example is one of them."""
    with_examples = [p for p in PAGES if any(lang in EXAMPLE_LANGUAGES and mark != "not run"
                                             for mark, _, lang, _ in
                                             blocks(p.read_text(encoding="utf-8")))]
    assert ROOT / "README.md" in with_examples
    assert len(with_examples) >= 10, [name(p) for p in with_examples]


def test_no_example_hides_from_the_runner():
    """A shell session (``$ ...``) or Python prompt (``>>>``) in any other kind of block would
    not run: every one is a ``console`` or ``pycon`` block (or says why it is not run)."""
    hidden = [(name(page), lang or "no language", body[:60])
              for page in PAGES
              for mark, _, lang, body in blocks(page.read_text(encoding="utf-8"))
              if mark not in ("not run", "output") and lang not in EXAMPLE_LANGUAGES
              and any(line.startswith(("$ ", ">>> ")) for line in body.splitlines())]
    assert not hidden


def test_every_mistake_code_is_documented():
    """Each code the mistake catalogue can give (a ``Rewrite``, ``Mistake`` or ``BackMistake``
    made with a literal code anywhere in the package) is on the diagnosis codes page."""
    page = (DOCS / "reference" / "diagnoses.md").read_text(encoding="utf-8")
    codes = set()
    for source in (ROOT / "symnet").rglob("*.py"):
        codes |= set(re.findall(r"\b(?:Rewrite|Mistake|BackMistake)\(\s*\"([a-z_]+)\"",
                                source.read_text(encoding="utf-8")))
    assert len(codes) >= 20, codes
    assert not {code for code in codes if f"`{code}`" not in page}


def require_mkdocs() -> None:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec(
            "mkdocstrings_handlers") is None:
        message = "mkdocs or mkdocstrings is not installed (pip install '.[docs]')"
        if os.environ.get("SYMNET_REQUIRE_TOOLS") == "1":
            pytest.fail(message + " and SYMNET_REQUIRE_TOOLS=1")
        pytest.skip(message)


def test_the_site_builds_strictly(tmp_path):
    require_mkdocs()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_MKDOCS_2_WARNING": "1",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    site = tmp_path / "site"
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d",
                          str(site)], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    # the generated pages hold what the code says
    cli = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    from symnet.cli import build_parser

    commands = next(a for a in build_parser()._actions
                    if isinstance(a, argparse._SubParsersAction))
    for command, parser in commands.choices.items():
        assert f"symnet {command}" in cli
        for option in parser._actions:
            if not isinstance(option, argparse._HelpAction):
                for flag in option.option_strings:
                    assert f"<code>{flag}</code>" in cli, (command, flag)
    layers = (site / "reference" / "layers" / "index.html").read_text(encoding="utf-8")
    for layer in symnet.supported_layers():
        assert f"<code>{layer}</code>" in layers, layer
    api = (site / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    for member in ("explain", "check", "Network", "why", "gradient", "Verdict", "Explanation"):
        assert member in api, member
    for picture in ("seed_regressor_plot.png", "moons_regions.png"):
        assert (site / "generated" / picture).read_bytes().startswith(b"\x89PNG")
    assert "<math" in (site / "generated" / "seed_regressor.html").read_text(encoding="utf-8")
