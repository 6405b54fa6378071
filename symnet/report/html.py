"""The HTML report: one self-contained page (no CDN, no script), math as MathML."""

from __future__ import annotations

from functools import partial
from typing import Any

from ..escape import html_text
from . import shape_text

__all__ = ["mathml", "render_html"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border-bottom: 1px solid #ccc; padding: .25rem .6rem; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
math[display=block] { margin: .6rem 0; }
.note { color: #555; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
""".strip()


def mathml(latex: str) -> str:
    """Block MathML for a LaTeX formula, by ``latex2mathml``."""
    from latex2mathml.converter import convert

    return convert(latex, display="block")




def render_html(data: dict[str, Any], plot: str | None = None) -> str:
    """A complete HTML document of the report model."""
    e = html_text
    t = partial(html_text, limit=None)
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>{e(data['model'])} — symnet</title>", f"<style>{_STYLE}</style>", "</head>",
           "<body>", f"<h1>Model <code>{e(data['model'])}</code></h1>",
           f"<p>{data['param_count']:,} parameters ({data['trainable_count']:,} trainable, "
           f"{data['non_trainable_count']:,} non-trainable).</p>",
           "<table><thead><tr><th>layer</th><th>kind</th><th>output shape</th>"
           "<th>parameters</th><th>trainable</th><th>non-trainable</th></tr></thead><tbody>"]
    for layer in data["layers"]:
        out.append(f"<tr><td><code>{e(layer['name'])}</code></td><td>{e(layer['kind'])}</td>"
                   f"<td>{shape_text(layer['output_shape'])}</td>"
                   f"<td class=n>{layer['param_count']:,}</td>"
                   f"<td class=n>{layer['trainable_count']:,}</td>"
                   f"<td class=n>{layer['non_trainable_count']:,}</td></tr>")
    out += ["</tbody></table>", "<h2>Layers</h2>"]
    for layer in data["layers"]:
        out.append(f"<h3><code>{e(layer['name'])}</code> ({e(layer['kind'])})</h3>")
        out.append(mathml(layer["formula"]["latex"]))
        for d in layer.get("definitions", []):
            out.append("<p class=note>where</p>" + mathml(d["latex"]))
        if layer["note"]:
            out.append(f'<p class="note">{t(layer["note"])}</p>')
        if layer["parameters"]:
            out.append("<ul>")
            for p in layer["parameters"]:
                role = "trainable" if p["trainable"] else "non-trainable"
                out.append(f"<li>{e(p['symbol'] or '(not in the formula)')}: {t(p['meaning'])} "
                           f"({role})</li>")
            out.append("</ul>")
            for p in layer["parameters"]:
                if p["symbol_latex"] and p["matrix_latex"]:
                    out.append(mathml(f"{p['symbol_latex']} = {p['matrix_latex']}"))
    out += ["<h2>The whole network</h2>", mathml(data["structural_form"]["latex"])]
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
    if "trace" in data:
        out.append(f"<h2>At input {e(str(data['evaluation']['input']))}</h2>")
        for step in data["trace"]:
            out.append(f"<h3><code>{e(step['layer'])}</code></h3>")
            out.append(mathml(step["substituted_latex"]))
            out += [mathml(w["latex"]) for w in step.get("worked", [])]
        out.append(f"<h2>Why this value</h2><pre>{t(data['why']['summary'])}</pre>")
    if data.get("agreement"):
        out.append(f'<p class="note">{t(data["agreement"]["text"])}.</p>')
    out += ["</body>", "</html>", ""]
    return "\n".join(out)
