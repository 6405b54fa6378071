"""PDF through a real LaTeX engine, for callers of its earlier home: see :mod:`symnet.pdf`."""

from ..pdf import latex_to_pdf, require_engine

__all__ = ["latex_to_pdf", "require_engine"]
