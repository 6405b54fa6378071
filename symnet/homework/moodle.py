"""A class set as Moodle questions (Moodle XML, "Import questions" in a course's question bank).

One numerical question per variant (per student, or the seed's own input without a roster),
named by the exercise, its kind and the variant's number (never a student's name), all in one
category per kind and seed: the right answer with a tolerance of half a unit in the last of the
required digits, and each catalogued mistake's answer as a 0% answer whose feedback says the
mistake in the sheet's notation. Moodle accepts any number within a tolerance: unlike ``symnet
check`` it does not count the digits written. With the multiple-choice version, one
multiple-choice question per variant too, in a sibling category, its distractors the
catalogue's wrong answers.
"""

from __future__ import annotations

import math
from typing import Any

from ..escape import html_text, xml_attribute, xml_text

__all__ = ["category", "moodle_xml", "question_name", "tolerance"]


def tolerance(answer: float, digits: int) -> float:
    """Half a unit in the last of ``digits`` significant digits of ``answer``."""
    if answer == 0:
        return 0.5 * 10.0 ** (-digits)
    return 0.5 * 10.0 ** (math.floor(math.log10(abs(answer))) - digits + 1)


def _text(tag: str, content: str, fmt: str | None = "html") -> str:
    attribute = f" format={xml_attribute(fmt)}" if fmt else ""
    return f"<{tag}{attribute}><text>{xml_text(content, None)}</text></{tag}>"


def _question_html(exercise: Any, variant: Any) -> str:
    """The question in HTML with TeX between \\( \\) (Moodle's MathJax filter shows it)."""
    from .sheet import build_sheet

    sheet = build_sheet(exercise, variant, False)
    lines = [f"<p>{html_text(sheet.task, None)}</p>"]
    lines += [f"<p>\\({html_text(line, None)}\\)</p>" for line in sheet.definitions]
    question = getattr(exercise.design, "question", r"What is \(y\)?")
    lines.append(f"<p>{question} Give it to {exercise.digits} significant digits.</p>")
    return "".join(lines)  # one line: xml_text shows a newline as \x0a


def question_name(exercise: Any, number: int, kind: str) -> str:
    """A question's name: the exercise, its kind and the variant's number (the sheet's), never
    a student's name (a question bank is shared; the key maps variants to students)."""
    return f"Exercise {exercise.seed} ({exercise.kind}), variant {number:03d}, {kind}"


def category(exercise: Any, multiple_choice: bool = False) -> str:
    """One category per kind of exercise and seed (and a sibling for the multiple choice):
    a quiz draws one variant per student with Moodle's "random question" from it."""
    name = f"$course$/top/symnet/{exercise.kind} exercise {exercise.seed}"
    return name + (" (multiple choice)" if multiple_choice else "")


def moodle_xml(exercise: Any, multiple_choice: bool = False) -> str:
    """The questions of every variant, as one Moodle XML document."""
    variants = exercise.variants or (exercise.base,)

    def header(choice: bool) -> list[str]:
        return ['<question type="category">', _text("category", category(exercise, choice),
                                                   None), "</question>"]

    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>", *header(False)]
    for number, variant in enumerate(variants, start=1):
        question = _question_html(exercise, variant)
        tol = tolerance(variant.answer, exercise.digits)
        out += ['<question type="numerical">',
                _text("name", question_name(exercise, number, "numerical"), None),
                _text("questiontext", question), "<defaultgrade>1</defaultgrade>",
                "<penalty>0.3333333</penalty>", "<hidden>0</hidden>",
                f'<answer fraction="100" format="moodle_auto_format">'
                f"<text>{variant.answer!r}</text>",
                _text("feedback", "Right."), f"<tolerance>{tol!r}</tolerance></answer>"]
        for w in variant.wrong:
            out += [f'<answer fraction="0" format="moodle_auto_format"><text>{w.value!r}</text>',
                    _text("feedback", w.message),
                    f"<tolerance>{tolerance(w.value, exercise.digits)!r}</tolerance></answer>"]
        out += ["<unitgradingtype>0</unitgradingtype>", "<unitpenalty>0</unitpenalty>",
                "<showunits>3</showunits>", "<unitsleft>0</unitsleft>", "</question>"]
    if multiple_choice:
        out += header(True)
        for number, variant in enumerate(variants, start=1):
            question = _question_html(exercise, variant)
            out += ['<question type="multichoice">',
                    _text("name", question_name(exercise, number, "multiple choice"), None),
                    _text("questiontext", question.replace(
                        f"Give it to {exercise.digits} significant digits.", "Choose one.")),
                    "<defaultgrade>1</defaultgrade>", "<single>true</single>",
                    "<shuffleanswers>false</shuffleanswers>",
                    "<answernumbering>ABCD</answernumbering>"]
            messages = {w.value: w.message for w in variant.wrong}
            for _, value, code in variant.choices:
                fraction = "100" if code is None else "0"
                feedback = "Right." if code is None else messages[value]
                out += [f'<answer fraction="{fraction}" format="html">'
                        f"<text>{xml_text(f'{value:.6g}', None)}</text>",
                        _text("feedback", feedback), "</answer>"]
            out.append("</question>")
    out += ["</quiz>", ""]
    return "\n".join(out)
