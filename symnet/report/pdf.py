"""PDF through a real LaTeX engine (``latexmk`` if installed, else ``pdflatex``)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import MissingToolError, SymnetError

__all__ = ["latex_to_pdf"]


def _engine() -> list[str]:
    if shutil.which("latexmk") and shutil.which("pdflatex"):
        return ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-quiet"]
    if shutil.which("pdflatex"):
        return ["pdflatex", "-interaction=nonstopmode", "-halt-on-error"]
    raise MissingToolError("writing a PDF needs a LaTeX engine: pdflatex (or latexmk) was not "
                           "found; install TeX Live (Debian: texlive-latex-base)")


def latex_to_pdf(tex: str, destination: Path, timeout: float = 120.0) -> Path:
    """Compile a complete LaTeX document into ``destination``; nothing is written on failure."""
    command = _engine()
    with tempfile.TemporaryDirectory(prefix="symnet-tex-") as folder:
        source = Path(folder) / "document.tex"
        source.write_text(tex, encoding="utf-8")
        try:
            result = subprocess.run([*command, source.name], cwd=folder, capture_output=True,
                                    text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise SymnetError(f"{command[0]} did not finish within {timeout:g} s") from None
        pdf = Path(folder) / "document.pdf"
        if result.returncode != 0 or not pdf.exists():
            errors = [line for line in result.stdout.splitlines() if line.startswith("!")]
            raise SymnetError(f"{command[0]} failed: {errors[0] if errors else 'see its log'}")
        destination.write_bytes(pdf.read_bytes())
    return destination
