"""PDF through a real LaTeX engine (``pdflatex``), run so that a document cannot reach out.

The engine runs in a fresh temporary folder with shell escape off and TeX's file access
restricted to that folder (``openin_any=p``, ``openout_any=p``): even a document that managed to
smuggle in ``\\input`` or ``\\write18`` could read or run nothing. The PDF is then written whole
or not at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import MissingToolError, SymnetError
from .files import write_output

__all__ = ["latex_to_pdf", "require_engine"]


def require_engine() -> str:
    """The path of ``pdflatex``; ``MissingToolError`` naming the package when it is missing."""
    engine = shutil.which("pdflatex")
    if engine is None:
        raise MissingToolError("writing a PDF needs a LaTeX engine: pdflatex was not found; "
                               "install TeX Live (Debian: texlive-latex-base)")
    return engine


def latex_to_pdf(tex: str, destination: Path, timeout: float = 120.0) -> Path:
    """Compile a complete LaTeX document into ``destination``; nothing is written on failure."""
    engine = require_engine()
    env = {**os.environ, "openin_any": "p", "openout_any": "p", "shell_escape": "f"}
    with tempfile.TemporaryDirectory(prefix="symnet-tex-") as folder:
        source = Path(folder) / "document.tex"
        source.write_text(tex, encoding="utf-8")
        try:
            result = subprocess.run(
                [engine, "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
                 source.name], cwd=folder, capture_output=True, text=True, errors="replace",
                timeout=timeout, stdin=subprocess.DEVNULL, env=env)
        except subprocess.TimeoutExpired:
            raise SymnetError(f"pdflatex did not finish within {timeout:g} s") from None
        pdf = Path(folder) / "document.pdf"
        if result.returncode != 0 or not pdf.exists():
            errors = [line for line in result.stdout.splitlines() if line.startswith("!")]
            raise SymnetError(f"pdflatex failed: {errors[0] if errors else 'see its log'}")
        write_output(pdf.read_bytes(), destination)
    return Path(destination)
