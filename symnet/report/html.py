"""The HTML report: one self-contained page (no CDN), math as MathML; long formulas and wide
tables scroll inside the column, never the page. ``interactive=True`` adds the explorer of
:mod:`symnet.report.explorer` (its script is in the page)."""

from __future__ import annotations

from functools import partial
from typing import Any

from ..escape import html_text
from .model import number_text, region_lines, shape_text, why_rows

__all__ = ["mathml", "render_html", "trace_html"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: .6rem 0; }
th, td { border-bottom: 1px solid #ccc; padding: .2rem .6rem; text-align: left;
         vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.s { white-space: nowrap; }
tr.off td { color: #888; }
.math, .scroll { overflow-x: auto; max-width: 100%; }
.math math { margin: .5rem 0; }
.note { color: #555; }
.values { font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; }
""".strip()


def mathml(latex: str, display: str = "block") -> str:
    """MathML for a LaTeX formula, by ``latex2mathml``; a block scrolls when it is wider than
    the column."""
    from latex2mathml.converter import convert

    if display == "inline":
        return convert(latex, display="inline")
    return f'<div class="math">{convert(latex, display="block")}</div>'


def _values(listed: dict[str, Any]) -> str:
    body = ", ".join(number_text(v) for v in listed["values"])
    if listed["truncated"]:
        body += f", … (first {len(listed['values'])} of {listed['size']:,} entries)"
    return body


def trace_html(steps: list[dict[str, Any]]) -> str:
    """The hand calculation: per layer the formula, the numbers in, and a table of the units
    (before the activation, after it, clipped or not)."""
    e = html_text
    out = []
    for step in steps:
        out.append(f"<h3><code>{e(step['layer'])}</code> ({e(step['kind'])})</h3>")
        out.append(mathml(step["formula_latex"]))
        if step["substituted_latex"]:
            out.append(mathml(step["substituted_latex"]))
        for item in step["inputs"]:
            out.append(f"<p class=values>Put in: {mathml(item['symbol_latex'], 'inline')} = "
                       f"{_values(item)}</p>")
        pre, output = step["pre_activation"], step["output"]
        clipped = set(step["clipped"] or [])
        if pre and not output["truncated"] and len(output["shape"]) == 1:
            out.append('<div class="scroll"><table><thead><tr><th class=n>unit</th>'
                       f"<th class=n>{mathml(pre['latex'], 'inline')}</th>"
                       f"<th class=n>{mathml(output['symbol_latex'], 'inline')}</th><th></th>"
                       "</tr></thead><tbody>")
            for j, (a, b) in enumerate(zip(pre["values"], output["values"])):
                off = j in clipped
                out.append(f"<tr{' class=off' if off else ''}><td class=n>{j}</td>"
                           f"<td class=n>{number_text(a)}</td><td class=n>{number_text(b)}</td>"
                           f"<td>{'clipped by ' + e(pre['activation']) if off else ''}</td></tr>")
            out.append("</tbody></table></div>")
        else:
            if pre:
                out.append(f"<p class=values>Before {e(pre['activation'])}: "
                           f"{mathml(pre['latex'], 'inline')} = {_values(pre)}</p>")
            out.append(f"<p class=values>Out: {mathml(output['symbol_latex'], 'inline')} = "
                       f"{_values(output)}</p>")
            if step["clipped"]:
                out.append(f"<p>Clipped units: {', '.join(map(str, step['clipped']))}</p>")
        out += [mathml(w["latex"]) for w in step.get("worked", [])]
    return "\n".join(out)


def _weights_html(layer: dict[str, Any]) -> list[str]:
    e, t = html_text, partial(html_text, limit=None)
    heads = layer.get("columns", ("<code>get_weights()</code>", "Keras name"))
    indexed = len(heads) == 2  # ONNX and PyTorch arrays have no get_weights() index
    out = ['<div class="scroll"><table><thead><tr>' + "".join(f"<th>{h}</th>" for h in heads)
           + "<th>symbol</th><th>shape</th><th>trainable</th><th>meaning</th>"
           "</tr></thead><tbody>"]
    for p in layer["parameters"]:
        index = "–" if p["weights_index"] is None else f"[{p['weights_index']}]"
        index = f"<td class=n>{index}</td>" if indexed else ""
        symbol = mathml(p["symbol_latex"], "inline") if p["symbol_latex"] else "–"
        out.append(f"<tr>{index}<td><code>{e(p['keras_name'])}</code></td>"
                   f"<td>{symbol}</td><td class=s>{shape_text(p['shape'])}</td>"
                   f"<td>{'yes' if p['trainable'] else 'no'}</td><td>{t(p['meaning'])}</td></tr>")
    out.append("</tbody></table></div>")
    for p in layer["parameters"]:
        symbol = mathml(p["symbol_latex"], "inline") if p["symbol_latex"] else \
            f"<code>{e(p['keras_name'])}</code>"
        if p["listed"]["truncated"] and p["symbol_latex"] and p["matrix_latex"]:
            out.append(mathml(f"{p['symbol_latex']} = {p['matrix_latex']}"))
            out.append(f"<p class=note>({p['size']:,} entries: the corners shown.)</p>")
        else:
            out.append(f"<p class=values>{symbol} = {_values(p['listed'])}</p>")
    return out


def why_html(why: dict[str, Any]) -> list[str]:
    """Why this value, as a table; the contributions as a second table, zero terms grouped."""
    e, t = html_text, partial(html_text, limit=None)
    out = ['<div class="scroll"><table><tbody>']
    out += [f"<tr><th>{e(row['label'])}</th><td>{t(row['text'])}</td></tr>"
            for row in why_rows(why)]
    out.append("</tbody></table></div>")
    if why.get("contributions_grouped"):
        out.append("<p>Contributions to the output (largest first):</p>"
                   '<div class="scroll"><table><thead><tr><th>term</th><th class=n>value</th>'
                   "</tr></thead><tbody>")
        out += [f"<tr><td>{e(label)}</td><td class=n>{number_text(v)}</td></tr>"
                for label, v in why["contributions_grouped"]]
        out.append(f"<tr><th>sum</th><td class=n>{number_text(why['contributions_sum'])}</td>"
                   "</tr></tbody></table></div>")
    return out


def render_html(data: dict[str, Any], plot: str | None = None,
                explorer: str | None = None, regions: str | None = None) -> str:
    """A complete HTML document of the report model (``explorer``: the interactive part,
    placed first)."""
    e = html_text
    t = partial(html_text, limit=None)
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{e(data['model'])} — symnet</title>", f"<style>{_STYLE}</style>", "</head>",
           "<body>", f"<h1>Model <code>{e(data['model'])}</code></h1>",
           f"<p>{data['param_count']:,} parameters ({data['trainable_count']:,} trainable, "
           f"{data['non_trainable_count']:,} non-trainable).</p>",
           '<div class="scroll"><table><thead><tr><th>layer</th><th>kind</th>'
           "<th>output shape</th><th class=n>parameters</th><th class=n>trainable</th>"
           "<th class=n>non-trainable</th></tr></thead><tbody>"]
    for layer in data["layers"]:
        out.append(f"<tr><td><code>{e(layer['name'])}</code></td><td>{e(layer['kind'])}</td>"
                   f"<td class=s>{shape_text(layer['output_shape'])}</td>"
                   f"<td class=n>{layer['param_count']:,}</td>"
                   f"<td class=n>{layer['trainable_count']:,}</td>"
                   f"<td class=n>{layer['non_trainable_count']:,}</td></tr>")
    out.append(f"<tr><th>total</th><td></td><td></td><td class=n>{data['param_count']:,}</td>"
               f"<td class=n>{data['trainable_count']:,}</td>"
               f"<td class=n>{data['non_trainable_count']:,}</td></tr>")
    out.append("</tbody></table></div>")
    if explorer:
        out.append(explorer)
    out.append("<h2>Layers</h2>")
    for layer in data["layers"]:
        where = "" if layer.get("keras_index") is None else \
            f" — <code>model.layers[{layer['keras_index']}]</code>"
        out.append(f"<h3><code>{e(layer['name'])}</code> ({e(layer['kind'])}){where}</h3>")
        out.append(mathml(layer["formula"]["latex"]))
        for d in layer.get("definitions", []):
            out.append("<p class=note>where</p>" + mathml(d["latex"]))
        if layer["note"]:
            out.append(f'<p class="note">{t(layer["note"])}</p>')
        if layer["parameters"]:
            out += _weights_html(layer)
    out += ["<h2>The whole network</h2>", mathml(data["structural_form"]["latex"])]
    if data["structural_form"].get("too_deep"):
        out.append(f"<p class=note>{t(data['structural_form']['too_deep'])}.</p>")
    if data.get("simplification"):
        out.append("<h2>Simplification at inference</h2><ul>")
        for step in data["simplification"]:
            for note in step["notes"] or ["nothing to do"]:
                out.append(f"<li>{e(step['pass'])}: {t(note)}</li>")
        result = " → ".join(data["simplification"][-1]["after"])
        out.append(f"</ul><p>Result: {t(result)}</p>")
    out.append("<h2>Closed form</h2>")
    closed = data["closed_form"]
    if "too_large" in closed:
        out.append(f"<p>{t(closed['too_large'])}</p>")
    else:
        for o in closed["outputs"]:  # one block a line: MathML has no reliable alignment
            lines = o["latex_lines"]
            out.append(mathml(f"{o['name']} = {lines[0]}"))
            out += [mathml(r"\quad " + line) for line in lines[1:]]
    if plot:
        out.append(f"<h2>The network's function</h2><figure>{plot}</figure>")
    if data.get("regions"):
        out.append("<h2>Linear regions</h2>")
        if regions:
            out.append(f"<figure>{regions}</figure>")
        out.append("<ul>" + "".join(f"<li>{t(line)}</li>" for line in
                                    region_lines(data["regions"])) + "</ul>")
    if "trace" in data:
        shown = ", ".join(number_text(v) for v in data["evaluation"]["input"][:16])
        more = ", …" if len(data["evaluation"]["input"]) > 16 else ""
        out.append(f"<h2>The hand calculation at input ({e(shown)}{more})</h2>"
                   f"<p class=note>Every number as {e(data.get('computes', 'Keras'))} computes "
                   "it (float32).</p>")
        out.append(trace_html(data["trace"]))
        out.append("<h2>Why this value</h2>")
        out += why_html(data["why"])
    if data.get("agreement"):
        out.append(f'<p class="note">{t(data["agreement"]["text"])}.</p>')
    out += ["</body>", "</html>", ""]
    return "\n".join(out)
