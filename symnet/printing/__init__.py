"""Formula printers: symnet's formulas (SymPy expressions) as LaTeX and as plain text, in the
notation a textbook uses (:mod:`.notation`), and the layout of long printed formulas.

A neutral package: layers, ops, analyses, homework sheets and the reports all print formulas
with it; it imports nothing of symnet's but itself.
"""

from .latex import SymnetLatexPrinter, latex
from .layout import break_lines, visible_length
from .text import TextPrinter, text

__all__ = ["SymnetLatexPrinter", "TextPrinter", "break_lines", "latex", "text",
           "visible_length"]
