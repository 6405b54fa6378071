"""Checking hand calculations: verdicts, the mistake catalogue, and the safe formula parser.

(Not ``check/``: a subpackage of that name would shadow the function ``symnet.check``.)
"""

from .parse import parse_formula
from .verdict import Diagnosis, Verdict, check

__all__ = ["Diagnosis", "Verdict", "check", "parse_formula"]
