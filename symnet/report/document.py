"""Document printers: LaTeX (a complete document), Markdown (GitHub-flavoured, ``$$`` math) and
MathML (an XML document of every formula). Each walks the report model of
:func:`symnet.report.report_data`."""

from __future__ import annotations

from typing import Any

from ..escape import markdown_code_fence, markdown_text, tex_text, xml_attribute, xml_text
from . import shape_text

__all__ = ["render_latex", "render_markdown", "render_mathml"]

def _display(latex: str, width: int = 160) -> str:
    """A display formula; a long one is scaled to the line width."""
    if len(latex) > width:
        return r"\[ \resizebox{\linewidth}{!}{$\displaystyle " + latex + r"$} \]"
    return r"\[ " + latex + r" \]"


def render_latex(data: dict[str, Any]) -> str:
    """A complete LaTeX document (pdflatex, packages of TeX Live's base set only)."""
    e = tex_text
    out = [r"\documentclass[10pt]{article}", r"\usepackage{amsmath,amssymb,graphicx}",
           r"\setlength{\parindent}{0pt}", r"\begin{document}",
           rf"\section*{{Model {e(data['model'])}}}",
           "Inputs: " + e(", ".join(data["inputs"][:6]) + (", ..." if len(data["inputs"]) > 6
                                                          else "")) + r"\\",
           rf"{data['param_count']:,} parameters ({data['trainable_count']:,} trainable, "
           rf"{data['non_trainable_count']:,} non-trainable).".replace(",", "{,}"),
           "", r"\begin{tabular}{llrrrr}", r"layer & kind & output shape & parameters & "
           r"trainable & non-trainable \\ \hline"]
    for layer in data["layers"]:
        shape = shape_text(layer["output_shape"])
        out.append(f"{e(layer['name'])} & {e(layer['kind'])} & {shape} & "
                   f"{layer['param_count']} & {layer['trainable_count']} & "
                   f"{layer['non_trainable_count']} \\\\")
    out += [r"\end{tabular}", "", r"\subsection*{Layers}"]
    for layer in data["layers"]:
        out.append(rf"\paragraph{{{e(layer['name'])} ({e(layer['kind'])})}}")
        out.append(_display(layer["formula"]["latex"]))
        for d in layer.get("definitions", []):
            out.append("where " + _display(d["latex"]))
        if layer["note"]:
            out.append(e(layer["note"], limit=None) + r"\par")
        for p in layer["parameters"]:
            role = "trainable" if p["trainable"] else "non-trainable"
            symbol = f"${p['symbol_latex']}$" if p["symbol_latex"] else "(not in the formula)"
            out.append(rf"{symbol}: {e(p['meaning'], limit=None)} ({role}).\par")
            if p["symbol_latex"] and p["matrix_latex"]:
                out.append(_display(f"{p['symbol_latex']} = {p['matrix_latex']}"))
    out += [r"\subsection*{The whole network}", _display(data["structural_form"]["latex"])]
    if data.get("simplification"):
        out.append(r"\subsection*{Simplification at inference}")
        out.append(r"\begin{itemize}")
        for step in data["simplification"]:
            for note in step["notes"] or ["nothing to do"]:
                out.append(rf"\item {e(step['pass'])}: {e(note, limit=None)}")
        out.append(r"\end{itemize}")
        result = "Result: " + " -> ".join(data["simplification"][-1]["after"])
        out.append(e(result, limit=None) + r"\par")
    out.append(r"\subsection*{Closed form}")
    closed = data["closed_form"]
    if "too_large" in closed:
        out.append(e(closed["too_large"], limit=None) + r"\par")
    else:
        for o in closed["outputs"]:
            lines = o["latex_lines"]
            body = r" \\ &\quad ".join(lines)
            out.append(r"\begin{align*}" + f"{o['name']} &= {body}" + r"\end{align*}")
    out += _latex_sample(data, e)
    if data.get("agreement"):
        out.append(r"\subsection*{Agreement}" + e(data["agreement"]["text"], limit=None) + r".\par")
    out += [r"\end{document}", ""]
    return "\n".join(out)


def _latex_sample(data: dict[str, Any], e: Any) -> list[str]:
    if "trace" not in data:
        return []
    out = [rf"\subsection*{{At input {e(str(data['evaluation']['input']))}}}"]
    for step in data["trace"]:
        out.append(rf"\paragraph{{{e(step['layer'])}}}")
        out.append(_display(step["substituted_latex"]))
        out.append(_display(step["value_latex"]))
        for w in step.get("worked", []):
            out.append(_display(w["latex"]))
    # Escaped text line by line, never verbatim: the summary holds names from the model file.
    out.append(r"\subsection*{Why this value}{\footnotesize\ttfamily")
    out += [e(line, limit=None) + r"\\" for line in data["why"]["summary"].splitlines()]
    out.append("}")
    return out


def render_markdown(data: dict[str, Any]) -> str:
    """GitHub-flavoured Markdown with ``$$`` display math."""
    m = markdown_text

    out = [f"# Model {m(data['model'])}", "",
           f"{data['param_count']:,} parameters ({data['trainable_count']:,} trainable, "
           f"{data['non_trainable_count']:,} non-trainable).", "",
           "| layer | kind | output shape | parameters | trainable | non-trainable |",
           "| --- | --- | --- | ---: | ---: | ---: |"]
    for layer in data["layers"]:
        out.append(f"| {m(layer['name'])} | {m(layer['kind'])} | "
                   f"{shape_text(layer['output_shape'])} | {layer['param_count']:,} | "
                   f"{layer['trainable_count']:,} | {layer['non_trainable_count']:,} |")
    out += ["", "## Layers", ""]
    for layer in data["layers"]:
        out += [f"### {m(layer['name'])} ({m(layer['kind'])})", "", "$$", layer["formula"]["latex"],
                "$$", ""]
        for d in layer.get("definitions", []):
            out += ["where", "", "$$", d["latex"], "$$", ""]
        if layer["note"]:
            out += [m(layer["note"], limit=None), ""]
        for p in layer["parameters"]:
            role = "trainable" if p["trainable"] else "non-trainable"
            symbol = f"${p['symbol_latex']}$" if p["symbol_latex"] else "(not in the formula)"
            out.append(f"- {symbol}: {m(p['meaning'], limit=None)} ({role})")
        out.append("")
    out += ["## The whole network", "", "$$", data["structural_form"]["latex"], "$$", ""]
    if data.get("simplification"):
        out += ["## Simplification at inference", ""]
        for step in data["simplification"]:
            out += [f"- {m(step['pass'])}: {m(note, limit=None)}"
                    for note in step["notes"] or ["nothing to do"]]
        out += ["", "Result: " + m(" → ".join(data["simplification"][-1]["after"]), limit=None), ""]
    out += ["## Closed form", ""]
    closed = data["closed_form"]
    if "too_large" in closed:
        out += [m(closed["too_large"], limit=None), ""]
    else:
        for o in closed["outputs"]:
            out += ["$$", r"\begin{aligned}", f"{o['name']} &= " + r" \\ &\quad ".join(
                o["latex_lines"]), r"\end{aligned}", "$$", ""]
    if "trace" in data:
        out += [f"## At input {data['evaluation']['input']}", ""]
        for step in data["trace"]:
            out += [f"### {m(step['layer'])}", "", "$$", step["substituted_latex"], "$$", ""]
            for w in step.get("worked", []):
                out += ["$$", w["latex"], "$$", ""]
        out += ["## Why this value", "", markdown_code_fence(data["why"]["summary"].rstrip()), ""]
    if data.get("agreement"):
        out += [f"*{m(data['agreement']['text'], limit=None)}.*", ""]
    return "\n".join(out)


def render_mathml(data: dict[str, Any]) -> str:
    """Every formula of the report as MathML (``display="block"``) in one XML document."""
    from latex2mathml.converter import convert

    def formula(name: str, latex: str, **attrs: str) -> str:
        extra = "".join(f" {k}={xml_attribute(v)}" for k, v in attrs.items())
        return (f"  <formula name={xml_attribute(name)}{extra}>\n    "
                f"{convert(latex, display='block')}\n  </formula>")

    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f"<symnet-report schema={xml_attribute(data['schema'])} "
           f"model={xml_attribute(data['model'])}>"]
    for layer in data["layers"]:
        out.append(formula("layer", layer["formula"]["latex"], layer=layer["name"],
                           kind=layer["kind"]))
    out.append(formula("structural_form", data["structural_form"]["latex"]))
    if "outputs" in data["closed_form"]:
        for o in data["closed_form"]["outputs"]:
            out.append(formula("closed_form", f"{o['name']} = " + " ".join(o["latex_lines"]),
                               output=o["name"]))
    for layer in data["layers"]:
        for d in layer.get("definitions", []):
            out.append(formula("definition", d["latex"], layer=layer["name"]))
    for step in data.get("trace", []):
        out.append(formula("trace", step["substituted_latex"], layer=step["layer"]))
        for w in step.get("worked", []):
            out.append(formula("by_hand", w["latex"], layer=step["layer"]))
    if data.get("agreement"):
        out.append(f"  <agreement>{xml_text(data['agreement']['text'], limit=None)}</agreement>")
    out += ["</symnet-report>", ""]
    return "\n".join(out)
