"""A drawing of a small fully connected network: its geometry once, printed as SVG (for the HTML
sheet) and as a LaTeX ``picture`` (for the PDF: only the LaTeX kernel, straight lines drawn as
``\\qbezier`` with the control point on the line, so no package is needed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Diagram", "diagram", "diagram_latex", "diagram_svg"]

_GAP_X, _GAP_Y, _RADIUS, _MARGIN = 34.0, 14.0, 4.0, 10.0  # millimetres


@dataclass(frozen=True)
class Node:
    x: float
    y: float
    label: str
    """In LaTeX math (``x_1``, ``h^{(1)}_2``, ``y``)."""
    text: str
    """The same in plain text with Unicode sub/superscripts, for the SVG."""


@dataclass(frozen=True)
class Diagram:
    """Nodes column by column (input, hidden layers, output), and the edges between
    consecutive columns; coordinates in millimetres, y growing upwards."""

    width: float
    height: float
    columns: tuple[tuple[Node, ...], ...]
    titles: tuple[str, ...]

    def edges(self) -> list[tuple[Node, Node]]:
        return [(a, b) for left, right in zip(self.columns, self.columns[1:])
                for a in left for b in right]


_SUB = str.maketrans("0123456789()", "₀₁₂₃₄₅₆₇₈₉₍₎")
_SUP = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")


def diagram(sizes: Sequence[int], activation: str = "ReLU",
            output: tuple[str, str] = ("y", "y")) -> Diagram:
    """The drawing of a network with these layer sizes: inputs, hidden widths, outputs
    (``activation``: the hidden layers'; ``output``: the outputs' name in LaTeX and text)."""
    tallest = max(sizes)
    height = 2 * _MARGIN + (tallest - 1) * _GAP_Y + 8
    columns = []
    titles = []
    for k, size in enumerate(sizes):
        x = _MARGIN + k * _GAP_X
        top = height / 2 + (size - 1) * _GAP_Y / 2 - 4
        nodes = []
        for i in range(size):
            if k == 0:
                label, text = (f"x_{{{i + 1}}}", f"x{str(i + 1).translate(_SUB)}") \
                    if size > 1 else ("x", "x")
            elif k == len(sizes) - 1:
                label, text = (f"{output[0]}_{{{i + 1}}}",
                               f"{output[1]}{str(i + 1).translate(_SUB)}") \
                    if size > 1 else output
            else:
                label = f"h^{{({k})}}_{{{i + 1}}}"
                text = f"h{f'({k})'.translate(_SUP)}{str(i + 1).translate(_SUB)}"
            nodes.append(Node(x, top - i * _GAP_Y, label, text))
        columns.append(tuple(nodes))
        titles.append("input" if k == 0 else "output" if k == len(sizes) - 1 else
                      f"layer {k} ({activation})")
    width = 2 * _MARGIN + (len(sizes) - 1) * _GAP_X
    return Diagram(width, height, tuple(columns), tuple(titles))


def diagram_svg(d: Diagram) -> str:
    """Inline SVG (scaled with the page), no external resources."""
    def y(value: float) -> float:  # SVG's y grows downwards
        return d.height - value

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="diagram" role="img" '
             f'aria-label="the network: {len(d.columns)} columns of units" '
             f'viewBox="0 0 {d.width:.1f} {d.height:.1f}" width="{d.width * 3.78:.0f}">']
    for a, b in d.edges():
        parts.append(f'<line x1="{a.x:.2f}" y1="{y(a.y):.2f}" x2="{b.x:.2f}" y2="{y(b.y):.2f}" '
                     'stroke="#8a9bb0" stroke-width="0.35"/>')
    for column, title in zip(d.columns, d.titles):
        parts.append(f'<text x="{column[0].x:.2f}" y="4.5" font-size="3.2" '
                     f'text-anchor="middle" fill="#445">{title}</text>')
        for n in column:
            parts.append(f'<circle cx="{n.x:.2f}" cy="{y(n.y):.2f}" r="{_RADIUS}" '
                         'fill="#eef3fb" stroke="#1f5fa8" stroke-width="0.5"/>')
            parts.append(f'<text x="{n.x:.2f}" y="{y(n.y) + 1.2:.2f}" font-size="3.2" '
                         f'text-anchor="middle">{n.text}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def diagram_latex(d: Diagram) -> str:
    """A ``picture`` environment (``\\unitlength`` 1 mm)."""
    lines = [r"\begingroup\setlength{\unitlength}{1mm}",
             rf"\begin{{picture}}({d.width:.1f},{d.height:.1f})"]
    for a, b in d.edges():
        # a straight line at any slope: a quadratic Bezier whose control point is the middle
        ax, ay = a.x + _RADIUS, a.y
        bx, by = b.x - _RADIUS, b.y
        lines.append(rf"\qbezier[300]({ax:.2f},{ay:.2f})({(ax + bx) / 2:.2f},{(ay + by) / 2:.2f})"
                     rf"({bx:.2f},{by:.2f})")
    for column, title in zip(d.columns, d.titles):
        lines.append(rf"\put({column[0].x:.2f},{d.height - 3:.2f}){{\makebox(0,0)"
                     rf"{{\footnotesize {title}}}}}")
        for n in column:
            lines.append(rf"\put({n.x:.2f},{n.y:.2f}){{\circle{{{2 * _RADIUS:.0f}}}}}")
            lines.append(rf"\put({n.x:.2f},{n.y:.2f}){{\makebox(0,0){{\scriptsize ${n.label}$}}}}")
    lines += [r"\end{picture}\endgroup"]
    return "\n".join(lines)
