"""Checking hand calculations: verdicts, the mistake catalogue, and the safe formula parser.

(Not ``check/``: a subpackage of that name would shadow the function ``symnet.check``.)
"""

from ..parse import parse_formula
from .numbers import Policy
from .steps import StepVerdict, UnitNote
from .verdict import Diagnosis, Verdict, check

__all__ = ["Diagnosis", "Policy", "StepVerdict", "UnitNote", "Verdict", "check",
           "parse_formula"]
