"""Plain-text printing: formulas with SymPy's ``StrPrinter`` plus the notation of
:mod:`symnet.report.notation`, and the text report."""

from __future__ import annotations

from typing import Any

from ..escape import terminal_text
from ..printing.text import TextPrinter, text
from .model import listed_lines, number_text, region_lines

__all__ = ["TextPrinter", "render_text", "text"]


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def weights_rows(layer: dict[str, Any]) -> list[list[str]]:
    """The weights table of one layer: ``get_weights()`` index, Keras name, symbol, shape,
    trainable, meaning."""
    rows = []
    for p in layer["parameters"]:
        index = "-" if p["weights_index"] is None else str(p["weights_index"])
        rows.append([index, p["keras_name"], p["symbol"] or "-", str(tuple(p["shape"])),
                     "yes" if p["trainable"] else "no", p["meaning"]])
    return rows


def _values(label: str, listed: dict[str, Any], note: str = "") -> list[str]:
    lines = listed_lines(listed, width=84)
    out = [f"    {label} = {lines[0]}{note if len(lines) == 1 else ''}"]
    out += [f"      {line}" for line in lines[1:]]
    if len(lines) > 1 and note:
        out.append(f"      {note.strip()}")
    return out


def trace_lines(steps: list[dict[str, Any]]) -> list[str]:
    """The hand calculation, layer by layer, as lines of text."""
    out = []
    for step in steps:
        out.append(f"  {terminal_text(step['layer'], limit=200)} ({step['kind']}): "
                   f"{step['formula_text']}")
        for item in step["inputs"]:
            out += _values(item["symbol"], item)
        pre = step["pre_activation"]
        if pre:
            out += _values(pre["text"], pre, f"   (before {pre['activation']})")
        out += _values(step["output"]["symbol"], step["output"])
        if step["clipped"] is not None:
            clipped = step["clipped"]
            shown = ", ".join(map(str, clipped)) if clipped else "none"
            out.append(f"    clipped to the activation's flat piece: units {shown} "
                       f"({len(clipped)} of {len(step['active'])})")
        if step.get("worked"):
            out.append("    by hand:")
            out += [f"      {w['text']}" for w in step["worked"]]
    return out


def render_text(data: dict[str, Any]) -> str:
    """The text report of :func:`symnet.report.build_report`'s model."""
    model = terminal_text(data["model"], limit=200)
    out = [f"Model {model}: inputs {', '.join(data['inputs'][:6])}"
           f"{' ...' if len(data['inputs']) > 6 else ''} -> outputs "
           f"{', '.join(data['outputs'][:6])}{' ...' if len(data['outputs']) > 6 else ''}", ""]
    rows = [["layer", "kind", "output shape", "params", "trainable", "non-trainable"]]
    for layer in data["layers"]:
        rows.append([terminal_text(layer["name"], limit=200), layer["kind"],
                     str(tuple(layer["output_shape"])),
                     f"{layer['param_count']:,}", f"{layer['trainable_count']:,}",
                     f"{layer['non_trainable_count']:,}"])
    rows.append(["total", "", "", f"{data['param_count']:,}", f"{data['trainable_count']:,}",
                 f"{data['non_trainable_count']:,}"])
    out += [_table(rows), "", "Layers:"]
    for layer in data["layers"]:
        where = "" if layer.get("keras_index") is None else \
            f" = model.layers[{layer['keras_index']}]"
        out.append(f"  {terminal_text(layer['name'], limit=200)} ({layer['kind']}){where}: "
                   f"{layer['formula']['text']}")
        out += [f"      where {d['text']}" for d in layer.get("definitions", [])]
        if layer["note"]:
            out.append(f"      {layer['note']}")
        if not layer["parameters"]:
            continue
        table = _table([["get_weights()", "Keras name", "symbol", "shape", "trainable",
                         "meaning"], *weights_rows(layer)])
        out += ["      " + line for line in table.splitlines()]
        for p in layer["parameters"]:
            lines = listed_lines(p["listed"], width=80)
            out.append(f"      {p['symbol'] or p['keras_name']} = {lines[0]}")
            out += [f"        {line}" for line in lines[1:]]
    out += ["", "Whole network (structural form):", f"  {data['structural_form']['text']}"]
    if data["structural_form"].get("too_deep"):
        out.append(f"  ({data['structural_form']['too_deep']})")
    out.append("")
    if data.get("simplification"):
        out.append("Simplification (at inference):")
        for step in data["simplification"]:
            out.append(f"  {step['pass']}:")
            out += [f"    {note}" for note in step["notes"]] or ["    (nothing to do)"]
        out.append(f"  result: {' -> '.join(data['simplification'][-1]['after'])}")
        out.append("")
    closed = data["closed_form"]
    if "too_large" in closed:
        out.append(f"Closed form: {closed['too_large']}")
    else:
        out.append("Closed form (trained numbers substituted):")
        out += [f"  {o['name']} = {o['text']}" for o in closed["outputs"]]
    if data.get("regions"):
        out += ["", "Linear regions:"] + [f"  {line}" for line in region_lines(data["regions"])]
    if "evaluation" in data:
        ev = data["evaluation"]
        shown = ", ".join(number_text(v) for v in ev["input"][:16])
        more = " ..." if len(ev["input"]) > 16 else ""
        outputs = ", ".join(number_text(v) for v in ev["output"][:16])
        out += ["", f"Hand calculation at input [{shown}{more}] (float32, as Keras computes):"]
        out += trace_lines(data["trace"])
        out += [f"  output: [{outputs}{' ...' if len(ev['output']) > 16 else ''}]"]
        out += ["", "Why this value:"] + [f"  {line}" for line in
                                          data["why"]["summary"].rstrip().splitlines()]
    if data.get("agreement"):
        out += ["", data["agreement"]["text"]]
    return terminal_text("\n".join(out), lines=True) + "\n"
