"""Plain-text printing: formulas with SymPy's ``StrPrinter`` (plus the matrix operations it
lacks), and the text report."""

from __future__ import annotations

from typing import Any

from sympy.printing.str import StrPrinter

from ..escape import terminal_text

__all__ = ["render_text", "text"]


class TextPrinter(StrPrinter):
    """``str`` of SymPy, with ``∘`` for entrywise products and powers."""

    def _print_HadamardProduct(self, expr: Any) -> str:
        return " ∘ ".join(self.parenthesize(a, 50) for a in expr.args)

    def _print_HadamardPower(self, expr: Any) -> str:
        return f"{self.parenthesize(expr.base, 60)}^∘({self._print(expr.exp)})"

    def _print_OneMatrix(self, expr: Any) -> str:
        return "𝟙"

    def _print_Equality(self, expr: Any) -> str:
        return f"{self._print(expr.lhs)} = {self._print(expr.rhs)}"


def text(expr: Any) -> str:
    """One formula as plain text."""
    return TextPrinter().doprint(expr)


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_text(data: dict[str, Any]) -> str:
    """The text report of :func:`symnet.report.report_data`'s model."""
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
        out.append(f"  {terminal_text(layer['name'], limit=200)} ({layer['kind']}): "
                   f"{layer['formula']['text']}")
        if layer["note"]:
            out.append(f"      {layer['note']}")
        for p in layer["parameters"]:
            symbol = p["symbol"] or "(not in the formula)"
            role = "trainable" if p["trainable"] else "non-trainable"
            out.append(f"      {symbol} = {p['meaning']} [{role}]")
    out += ["", "Whole network (structural form):", f"  {data['structural_form']['text']}", ""]
    if data.get("simplification"):
        out.append("Simplification (at inference):")
        for step in data["simplification"]:
            out.append(f"  {step['pass']}:")
            out += [f"    {note}" for note in step["notes"]] or ["    (nothing to do)"]
        out.append(f"  result: {' -> '.join(data['simplification'][-1]['after'])}")
        out.append("")
    closed = data["closed_form"]
    if "too_large" in closed:
        out.append(f"Closed form: not built: {closed['too_large']}")
    else:
        out.append("Closed form (trained numbers substituted):")
        out += [f"  {o['name']} = {o['text']}" for o in closed["outputs"]]
    if "evaluation" in data:
        ev = data["evaluation"]
        out += ["", f"At input {ev['input']}: output {ev['output']} ({ev['precision']})"]
        out += ["", "Why this value:"] + [f"  {line}" for line in
                                          data["why"]["summary"].rstrip().splitlines()]
    if data.get("agreement"):
        out += ["", data["agreement"]["text"]]
    return terminal_text("\n".join(out), lines=True) + "\n"
