"""LaTeX of formulas, for callers of its earlier home: see :mod:`symnet.printing.latex`."""

from ..printing.latex import SymnetLatexPrinter, latex
from ..printing.layout import break_lines, visible_length

__all__ = ["SymnetLatexPrinter", "break_lines", "latex", "visible_length"]
