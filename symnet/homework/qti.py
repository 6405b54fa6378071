"""A class set for Canvas: an IMS QTI 1.2 package (``canvas-qti.zip``, Canvas' "Import course
content" → "QTI .zip file"), the format Canvas exports and imports; Blackboard and D2L
Brightspace read QTI 1.2 too.

One assessment per exercise with a question group per kind of question (numerical; multiple
choice) that draws one variant per student, as Moodle's random question does. A numerical
question accepts the right answer within half a unit of the last required digit; each
catalogued mistake's answer has its own feedback in the sheet's notation.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from ..escape import html_text, xml_attribute, xml_text
from .moodle import tolerance

__all__ = ["qti_zip", "qti_assessment"]

_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"


def _mattext(html: str) -> str:
    return f'<material><mattext texttype="text/html">{xml_text(html, None)}</mattext></material>'


def _meta(kind: str, points: int = 1) -> str:
    return ("<itemmetadata><qtimetadata>"
            f"<qtimetadatafield><fieldlabel>question_type</fieldlabel><fieldentry>{kind}"
            "</fieldentry></qtimetadatafield>"
            f"<qtimetadatafield><fieldlabel>points_possible</fieldlabel><fieldentry>{points}"
            "</fieldentry></qtimetadatafield></qtimetadata></itemmetadata>")


def _question(exercise: Any, variant: Any, choice: bool) -> str:
    from .moodle import _question_html

    html = _question_html(exercise, variant)
    if choice:
        html = html.replace(f"Give it to {exercise.digits} significant digits.", "Choose one.")
    return html


def _numerical(exercise: Any, variant: Any, ident: str, title: str) -> str:
    tol = tolerance(variant.answer, exercise.digits)
    out = [f"<item ident={xml_attribute(ident)} title={xml_attribute(title)}>",
           _meta("numerical_question"), "<presentation>", _mattext(_question(exercise, variant,
                                                                             False)),
           '<response_str ident="response1" rcardinality="Single"><render_fib fibtype="Decimal">'
           '<response_label ident="answer1"/></render_fib></response_str></presentation>',
           '<resprocessing><outcomes><decvar maxvalue="100" minvalue="0" varname="SCORE" '
           'vartype="Decimal"/></outcomes>']
    for k, w in enumerate(variant.wrong):
        wtol = tolerance(w.value, exercise.digits)
        out.append(f'<respcondition continue="Yes"><conditionvar><vargte respident="response1">'
                   f"{w.value - wtol!r}</vargte><varlte respident=\"response1\">"
                   f"{w.value + wtol!r}</varlte></conditionvar>"
                   f'<displayfeedback feedbacktype="Response" linkrefid="{ident}_w{k}"/>'
                   "</respcondition>")
    out.append('<respcondition continue="No"><conditionvar><or><varequal respident="response1">'
               f"{variant.answer!r}</varequal><and><vargte respident=\"response1\">"
               f"{variant.answer - tol!r}</vargte><varlte respident=\"response1\">"
               f"{variant.answer + tol!r}</varlte></and></or></conditionvar>"
               '<setvar action="Set" varname="SCORE">100</setvar></respcondition>')
    out.append("</resprocessing>")
    for k, w in enumerate(variant.wrong):
        out.append(f'<itemfeedback ident="{ident}_w{k}"><flow_mat>'
                   f"{_mattext(html_text(w.message, None))}</flow_mat></itemfeedback>")
    out.append("</item>")
    return "".join(out)


def _choice(exercise: Any, variant: Any, ident: str, title: str) -> str:
    messages = {w.value: w.message for w in variant.wrong}
    out = [f"<item ident={xml_attribute(ident)} title={xml_attribute(title)}>",
           _meta("multiple_choice_question"), "<presentation>",
           _mattext(_question(exercise, variant, True)),
           '<response_lid ident="response1" rcardinality="Single"><render_choice>']
    for letter, value, _ in variant.choices:
        out.append(f'<response_label ident="{ident}_{letter}"><material><mattext '
                   f'texttype="text/plain">{xml_text(f"{value:.6g}", None)}</mattext>'
                   "</material></response_label>")
    out += ["</render_choice></response_lid></presentation>",
            '<resprocessing><outcomes><decvar maxvalue="100" minvalue="0" varname="SCORE" '
            'vartype="Decimal"/></outcomes>']
    for letter, _, code in variant.choices:
        if code is not None:
            out.append(f'<respcondition continue="Yes"><conditionvar><varequal '
                       f'respident="response1">{ident}_{letter}</varequal></conditionvar>'
                       f'<displayfeedback feedbacktype="Response" linkrefid="{ident}_f{letter}"/>'
                       "</respcondition>")
    out.append(f'<respcondition continue="No"><conditionvar><varequal respident="response1">'
               f"{ident}_{variant.letter}</varequal></conditionvar>"
               '<setvar action="Set" varname="SCORE">100</setvar></respcondition>'
               "</resprocessing>")
    for letter, value, code in variant.choices:
        if code is not None:
            out.append(f'<itemfeedback ident="{ident}_f{letter}"><flow_mat>'
                       f"{_mattext(html_text(messages[value], None))}</flow_mat></itemfeedback>")
    out.append("</item>")
    return "".join(out)


def qti_assessment(exercise: Any, multiple_choice: bool = False) -> str:
    """The assessment's QTI 1.2 XML: a question group per kind of question, one variant
    drawn per student."""
    from .moodle import question_name

    variants = exercise.variants or (exercise.base,)
    ident = f"symnet_{exercise.kind}_{exercise.seed}"
    title = f"Exercise {exercise.seed} ({exercise.kind})"
    groups = [("numerical", _numerical)] + ([("multiple choice", _choice)]
                                           if multiple_choice else [])
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<questestinterop xmlns="{_NS}">',
           f"<assessment ident={xml_attribute(ident)} title={xml_attribute(title)}>",
           '<qtimetadata><qtimetadatafield><fieldlabel>cc_maxattempts</fieldlabel>'
           "<fieldentry>1</fieldentry></qtimetadatafield></qtimetadata>",
           '<section ident="root_section">']
    for kind, make in groups:
        slug = kind.replace(" ", "_")
        out += [f'<section ident="{ident}_{slug}" title={xml_attribute(f"{title}, {kind}")}>',
                "<selection_ordering><selection><selection_number>1</selection_number>"
                "<selection_extension><points_per_item>1</points_per_item>"
                "</selection_extension></selection></selection_ordering>"]
        for number, variant in enumerate(variants, start=1):
            out.append(make(exercise, variant, f"{ident}_{slug}_{number:03d}",
                            question_name(exercise, number, kind)))
        out.append("</section>")
    out += ["</section>", "</assessment>", "</questestinterop>", ""]
    return "\n".join(out)


def qti_zip(exercise: Any, multiple_choice: bool = False) -> bytes:
    """The QTI package: ``imsmanifest.xml`` and the assessment, zipped (fixed timestamps, so
    the same exercise gives the same bytes)."""
    ident = f"symnet_{exercise.kind}_{exercise.seed}"
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<manifest identifier="{ident}_manifest" '
        'xmlns="http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1">'
        "<metadata><schema>IMS Content</schema><schemaversion>1.1.3</schemaversion></metadata>"
        "<organizations/><resources>"
        f'<resource identifier="{ident}" type="imsqti_xmlv1p2">'
        f'<file href="{ident}/{ident}.xml"/></resource></resources></manifest>\n')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("imsmanifest.xml", manifest),
                           (f"{ident}/{ident}.xml", qti_assessment(exercise, multiple_choice))):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()
