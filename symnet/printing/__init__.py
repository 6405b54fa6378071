"""Formula printers: symnet's formulas (SymPy expressions) as LaTeX and as plain text, in the
notation a textbook uses (:mod:`.notation`), and numbers to the digits asked for
(:mod:`.numbers`). Long formulas are broken across lines by LaTeX itself (the report's
``\\symnetdisplay``), never by scanning printed text.

A neutral package: layers, ops, analyses, homework sheets and the reports all print formulas
with it; it imports nothing of symnet's but itself.
"""

from .latex import SymnetLatexPrinter, latex
from .numbers import number_latex, number_text
from .text import TextPrinter, text

__all__ = ["SymnetLatexPrinter", "TextPrinter", "latex", "number_latex", "number_text", "text"]
