"""Document printers: LaTeX (a complete document), Markdown (GitHub-flavoured, ``$$`` math) and
MathML (an XML document of every formula). Each walks the report model of
:func:`symnet.report.report_data`."""

from __future__ import annotations

from typing import Any

from ..escape import markdown_text, tex_text, xml_attribute, xml_text
from .model import number_text, region_lines, shape_text, why_rows

__all__ = ["render_latex", "render_markdown", "render_mathml"]

#: About how many characters of a formula fit on a line of the LaTeX report.
WIDTH = 68


def _display(latex: str, text: str | None = None) -> str:
    """A display formula; a long one broken across lines (never scaled). One that cannot be
    broken to fit (a wide matrix, a long remark) is printed as its plain ``text`` in a
    paragraph that wraps, or, too long for that too, replaced by a note."""
    from ..printing.layout import break_lines, visible_length

    lines = break_lines(latex, WIDTH)
    if max(visible_length(line) for line in lines) > 1.15 * WIDTH:
        if text == "":  # nothing to say instead: leave it out
            return ""
        if text is not None and len(text) <= 4000:
            return r"{\small " + tex_text(text, limit=None) + r"\par}"
        return (r"{\small (A formula too wide to typeset on the page: "
                rf"{len(latex):,} characters of LaTeX; the HTML report scrolls it.)\par}}")
    if len(lines) == 1:
        return r"\[ " + latex + r" \]"
    return r"\begin{multline*}" + " \\\\\n".join(lines) + r"\end{multline*}"


def _n(v: float | None) -> str:
    """A number in math mode."""
    return f"${number_text(v)}$".replace("$inf$", r"$\infty$").replace("$-inf$", r"$-\infty$")


def _values_latex(listed: dict[str, Any]) -> str:
    """A flat list of numbers as a paragraph that wraps, with its truncation stated."""
    body = ", ".join(_n(v) for v in listed["values"])
    if listed["truncated"]:
        body += rf", \dots{{}} (first {len(listed['values'])} of {listed['size']:,} entries)"
    return body


def _tabular_number(v: int) -> str:
    return f"{v:,}".replace(",", "{,}")


def render_latex(data: dict[str, Any]) -> str:
    """A complete LaTeX document (pdflatex, packages of TeX Live's base and recommended
    sets only)."""
    e = tex_text
    inputs = ", ".join(data["inputs"][:6]) + (", ..." if len(data["inputs"]) > 6 else "")
    out = [r"\documentclass[10pt]{article}", r"\usepackage[margin=2.5cm]{geometry}",
           r"\usepackage{amsmath,amssymb,booktabs,tabularx,longtable,array}",
           r"\setlength{\parindent}{0pt}", r"\setlength{\parskip}{4pt}",
           r"\setcounter{MaxMatrixCols}{64}",
           r"\allowdisplaybreaks", r"\begin{document}", r"\raggedright",
           rf"\section*{{Model {e(data['model'])}}}",
           "Inputs: " + e(inputs) + r"\\",
           rf"{_tabular_number(data['param_count'])} parameters "
           rf"({_tabular_number(data['trainable_count'])} trainable, "
           rf"{_tabular_number(data['non_trainable_count'])} non-trainable).", "",
           r"{\small\begin{tabularx}{\linewidth}{@{}>{\raggedright\arraybackslash}X l l r r r@{}}",
           r"\toprule layer & kind & output shape & parameters & trainable & non-trainable \\",
           r"\midrule"]
    for layer in data["layers"]:
        shape = shape_text(layer["output_shape"])
        out.append(f"{e(layer['name'])} & {e(layer['kind'])} & {shape} & "
                   f"{_tabular_number(layer['param_count'])} & "
                   f"{_tabular_number(layer['trainable_count'])} & "
                   f"{_tabular_number(layer['non_trainable_count'])} \\\\")
    out += [rf"\midrule total & & & {_tabular_number(data['param_count'])} & "
            rf"{_tabular_number(data['trainable_count'])} & "
            rf"{_tabular_number(data['non_trainable_count'])} \\ \bottomrule",
            r"\end{tabularx}}", "", r"\subsection*{Layers}"]
    for layer in data["layers"]:
        where = "" if layer.get("keras_index") is None else \
            rf" --- \texttt{{model.layers[{layer['keras_index']}]}}"
        out.append(rf"\paragraph{{{e(layer['name'])} ({e(layer['kind'])}){where}}}")
        out.append(_display(layer["formula"]["latex"], layer["formula"]["text"]))
        for d in layer.get("definitions", []):
            out.append("where " + _display(d["latex"], d["text"]))
        if layer["note"]:
            out.append(e(layer["note"], limit=None) + r"\par")
        if layer["parameters"]:
            out += _weights_latex(layer, e)
    out += [r"\subsection*{The whole network}",
            _display(data["structural_form"]["latex"], data["structural_form"]["text"])]
    if data["structural_form"].get("too_deep"):
        out.append(e(data["structural_form"]["too_deep"], limit=None) + r".\par")
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
            lines = [part for line in o["latex_lines"] for part in _break(line)]
            body = r" \\ &\quad ".join(lines)
            out.append(r"\begin{align*}" + f"{o['name']} &= {body}" + r"\end{align*}")
    if data.get("regions"):
        out.append(r"\subsection*{Linear regions}")
        out += [e(line, limit=None) + r"\par" for line in region_lines(data["regions"])]
    out += _latex_sample(data, e)
    if data.get("agreement"):
        out.append(r"\subsection*{Agreement}" + e(data["agreement"]["text"], limit=None) + r".\par")
    out += [r"\end{document}", ""]
    return "\n".join(out)


def _break(line: str) -> list[str]:
    from ..printing.layout import break_lines

    return break_lines(line, 60)


def _weights_latex(layer: dict[str, Any], e: Any) -> list[str]:
    """The layer's arrays: a table (``get_weights()`` index, Keras name, symbol, shape,
    trainable, meaning), then their numbers."""
    out = [r"{\footnotesize\begin{tabularx}{\linewidth}{@{}r l l l l "
           r">{\raggedright\arraybackslash}X@{}}",
           r"\toprule \texttt{get\_weights()} & Keras name & symbol & shape & trainable & "
           r"meaning \\ \midrule"]
    for p in layer["parameters"]:
        index = "--" if p["weights_index"] is None else f"{{[{p['weights_index']}]}}"
        symbol = f"${p['symbol_latex']}$" if p["symbol_latex"] else "--"
        out.append(rf"{index} & \texttt{{{e(p['keras_name'])}}} & {symbol} & "
                   rf"{e(shape_text(p['shape']))} & {'yes' if p['trainable'] else 'no'} & "
                   rf"{e(p['meaning'], limit=None)} \\")
    out += [r"\bottomrule\end{tabularx}}", ""]
    for p in layer["parameters"]:
        name = f"${p['symbol_latex']}$" if p["symbol_latex"] else \
            rf"\texttt{{{e(p['keras_name'])}}}"
        if p["listed"]["truncated"] and p["symbol_latex"] and p["matrix_latex"]:
            out.append(_display(f"{p['symbol_latex']} = {p['matrix_latex']}"))
            out.append(rf"{{\small ({_tabular_number(p['size'])} entries: the corners "
                       rf"shown.)\par}}")
        else:
            out.append(rf"{{\small\raggedright {name} $=$ {_values_latex(p['listed'])}\par}}")
    return out


def _latex_sample(data: dict[str, Any], e: Any) -> list[str]:
    if "trace" not in data:
        return []
    ev = data["evaluation"]["input"]
    shown = ", ".join(_n(v) for v in ev[:16]) + (r", \dots" if len(ev) > 16 else "")
    out = [r"\subsection*{The hand calculation}",
           f"At input ({shown}); every number as Keras computes it (float32)."]
    for step in data["trace"]:
        out.append(rf"\paragraph{{{e(step['layer'])} ({e(step['kind'])})}}")
        out.append(_display(step["formula_latex"], step["formula_text"]))
        if step["substituted_latex"]:
            out.append(_display(step["substituted_latex"], ""))
        for item in step["inputs"]:
            out.append(rf"{{\small\raggedright Put in: ${item['symbol_latex']}$ $=$ "
                       rf"{_values_latex(item)}\par}}")
        out += _unit_table(step, e)
        for w in step.get("worked", []):
            out.append(_display(w["latex"], w["text"]))
    rows = data["why"]
    out.append(r"\subsection*{Why this value}")
    out.append(r"{\small\begin{tabularx}{\linewidth}{@{}l >{\raggedright\arraybackslash}X@{}}"
               r"\toprule")
    for row in why_rows(rows):
        out.append(rf"{e(row['label'])} & {row['latex']} \\")
    out.append(r"\bottomrule\end{tabularx}}")
    if rows.get("contributions_grouped"):
        out.append(r"\par Contributions to the output (largest first):\par")
        out.append(r"{\small\begin{tabular}{@{}l r@{}}\toprule term & value \\ \midrule")
        for label, value in rows["contributions_grouped"]:
            out.append(rf"{_term_latex(label, e)} & {_n(value)} \\")
        out.append(rf"\midrule sum & {_n(rows['contributions_sum'])} \\ \bottomrule"
                   r"\end{tabular}}")
    return out


def _term_latex(label: str, e: Any) -> str:
    """``h_1[5]·W_2[5,0]`` as mathematics when it is one of symnet's own names."""
    import re

    if re.fullmatch(r"[A-Za-z]+_\d+\[[\d,]+\](·[A-Za-z]+_\d+\[[\d,]+\])?", label):
        math = re.sub(r"([A-Za-z]+)_(\d+)", r"\1_{\2}", label).replace("·", r" \cdot ")
        return f"${math}$"
    return e(label)


def _unit_table(step: dict[str, Any], e: Any) -> list[str]:
    """The values out of a layer; with an activation after other ops, unit by unit: before
    the activation, after it, and which units it clips."""
    pre, output = step["pre_activation"], step["output"]
    clipped = set(step["clipped"] or [])
    if pre and not output["truncated"] and len(output["shape"]) == 1:
        out = [r"{\small\begin{longtable}{@{}r r r l@{}}\toprule",
               rf"unit & ${pre['latex']}$ & ${output['symbol_latex']}$ & \\ \midrule"]
        for j, (a, b) in enumerate(zip(pre["values"], output["values"])):
            note = rf"clipped by {e(pre['activation'])}" if j in clipped else ""
            out.append(rf"{j} & {_n(a)} & {_n(b)} & {note} \\")
        out.append(r"\bottomrule\end{longtable}}")
        return out
    out = []
    if pre:
        out.append(rf"{{\small\raggedright Before {e(pre['activation'])}: ${pre['latex']}$ "
                   rf"$=$ {_values_latex(pre)}\par}}")
    out.append(rf"{{\small\raggedright Out: ${output['symbol_latex']}$ $=$ "
               rf"{_values_latex(output)}\par}}")
    if step["clipped"]:
        out.append(rf"{{\small Clipped units: {', '.join(map(str, step['clipped']))}.\par}}")
    return out


def render_markdown(data: dict[str, Any]) -> str:
    """GitHub-flavoured Markdown with ``$$`` display math."""
    m = markdown_text

    def number(v: Any) -> str:
        return number_text(v)

    def values(listed: dict[str, Any]) -> str:
        body = ", ".join(number(v) for v in listed["values"])
        if listed["truncated"]:
            body += f", … (first {len(listed['values'])} of {listed['size']:,} entries)"
        return body

    def display(latex: str) -> list[str]:
        from ..printing.layout import break_lines

        lines = break_lines(latex)
        if len(lines) == 1:
            return ["$$", latex, "$$", ""]
        return ["$$", r"\begin{aligned}", r" \\ &\quad ".join(["&" + lines[0], *lines[1:]]),
                r"\end{aligned}", "$$", ""]

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
        where = "" if layer.get("keras_index") is None else \
            f" — `model.layers[{layer['keras_index']}]`"
        out += [f"### {m(layer['name'])} ({m(layer['kind'])}){where}", "",
                *display(layer["formula"]["latex"])]
        for d in layer.get("definitions", []):
            out += ["where", "", *display(d["latex"])]
        if layer["note"]:
            out += [m(layer["note"], limit=None), ""]
        if layer["parameters"]:
            out += ["| `get_weights()` | Keras name | symbol | shape | trainable | meaning |",
                    "| ---: | --- | --- | --- | --- | --- |"]
            for p in layer["parameters"]:
                index = "–" if p["weights_index"] is None else f"[{p['weights_index']}]"
                symbol = f"${p['symbol_latex']}$" if p["symbol_latex"] else "–"
                out.append(f"| {index} | {m(p['keras_name'])} | {symbol} | "
                           f"{shape_text(p['shape'])} | {'yes' if p['trainable'] else 'no'} | "
                           f"{m(p['meaning'], limit=None)} |")
            out.append("")
            for p in layer["parameters"]:
                symbol = f"${p['symbol_latex']}$" if p["symbol_latex"] else m(p["keras_name"])
                out.append(f"- {symbol} = {values(p['listed'])}")
            out.append("")
    out += ["## The whole network", "", *display(data["structural_form"]["latex"])]
    if data["structural_form"].get("too_deep"):
        out += [m(data["structural_form"]["too_deep"], limit=None) + ".", ""]
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
    if data.get("regions"):
        out += ["## Linear regions", ""] + [f"- {m(line, limit=None)}"
                                            for line in region_lines(data["regions"])] + [""]
    if "trace" in data:
        shown = ", ".join(number(v) for v in data["evaluation"]["input"][:16])
        out += [f"## The hand calculation at input ({shown}"
                f"{', …' if len(data['evaluation']['input']) > 16 else ''})", "",
                "Every number as Keras computes it (float32).", ""]
        for step in data["trace"]:
            out += [f"### {m(step['layer'])} ({m(step['kind'])})", "",
                    *display(step["formula_latex"])]
            for item in step["inputs"]:
                out += [f"Put in: ${item['symbol_latex']}$ = {values(item)}", ""]
            pre, output = step["pre_activation"], step["output"]
            clipped = set(step["clipped"] or [])
            if pre and not output["truncated"] and len(output["shape"]) == 1:
                out += [f"| unit | ${pre['latex']}$ | ${output['symbol_latex']}$ | |",
                        "| ---: | ---: | ---: | --- |"]
                out += [f"| {j} | {number(a)} | {number(b)} | "
                        f"{'clipped by ' + m(pre['activation']) if j in clipped else ''} |"
                        for j, (a, b) in enumerate(zip(pre["values"], output["values"]))]
                out.append("")
            else:
                if pre:
                    out += [f"Before {m(pre['activation'])}: ${pre['latex']}$ = {values(pre)}",
                            ""]
                out += [f"Out: ${output['symbol_latex']}$ = {values(output)}", ""]
                if step["clipped"]:
                    out += [f"Clipped units: {', '.join(map(str, step['clipped']))}", ""]
            for w in step.get("worked", []):
                out += display(w["latex"])
        out += ["## Why this value", "", "| | |", "| --- | --- |"]
        out += [f"| {m(row['label'])} | {m(row['text'], limit=None)} |"
                for row in why_rows(data["why"])]
        out.append("")
        if data["why"].get("contributions_grouped"):
            out += ["Contributions to the output (largest first):", "", "| term | value |",
                    "| --- | ---: |"]
            out += [f"| {m(label)} | {number(v)} |"
                    for label, v in data["why"]["contributions_grouped"]]
            out += [f"| sum | {number(data['why']['contributions_sum'])} |", ""]
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
        out.append(formula("trace", step["substituted_latex"] or step["formula_latex"],
                           layer=step["layer"]))
        stages = [("input", item) for item in step["inputs"]]
        if step["pre_activation"]:
            stages.append((f"before {step['pre_activation']['activation']}",
                           step["pre_activation"]))
        stages.append(("output", step["output"]))
        for stage, listed in stages:
            numbers = " ".join(number_text(v) for v in listed["values"])
            out.append(f"  <values layer={xml_attribute(step['layer'])} "
                       f"stage={xml_attribute(stage)} size=\"{listed['size']}\" "
                       f"shown=\"{len(listed['values'])}\">{numbers}</values>")
        if step["clipped"] is not None:
            out.append(f"  <clipped layer={xml_attribute(step['layer'])}>"
                       f"{' '.join(map(str, step['clipped']))}</clipped>")
        for w in step.get("worked", []):
            out.append(formula("by_hand", w["latex"], layer=step["layer"]))
    if data.get("regions"):
        for line in region_lines(data["regions"]):
            out.append(f"  <regions>{xml_text(line, limit=None)}</regions>")
    if "why" in data:
        for row in why_rows(data["why"]):
            out.append(f"  <why label={xml_attribute(row['label'])}>"
                       f"{xml_text(row['text'], limit=None)}</why>")
        for label, value in data["why"].get("contributions_grouped") or []:
            out.append(f"  <contribution term={xml_attribute(label)}>{number_text(value)}"
                       f"</contribution>")
    if data.get("agreement"):
        out.append(f"  <agreement>{xml_text(data['agreement']['text'], limit=None)}</agreement>")
    out += ["</symnet-report>", ""]
    return "\n".join(out)
