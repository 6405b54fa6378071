"""Convex polygons of the input plane, in whatever number type they are given (``Fraction``
for exact regions, ``float`` for the region around a point): clipping by a half-plane, area."""

from __future__ import annotations

from typing import Any

__all__ = ["area", "clip"]


def clip(polygon: list[tuple[Any, Any]], a: Any, b: Any, c: Any) -> list[tuple[Any, Any]]:
    """The part of a convex polygon where ``a x + b y + c >= 0`` (Sutherland–Hodgman), its
    corners in the same order, a corner that repeats removed."""
    out = []
    n = len(polygon)
    for i in range(n):
        p, q = polygon[i], polygon[(i + 1) % n]
        fp, fq = a * p[0] + b * p[1] + c, a * q[0] + b * q[1] + c
        if fp >= 0:
            out.append(p)
        if (fp >= 0) != (fq >= 0):
            t = fp / (fp - fq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    unique: list[tuple[Any, Any]] = []
    for point in out:
        if not unique or unique[-1] != point:
            unique.append(point)
    if len(unique) > 1 and unique[0] == unique[-1]:
        unique.pop()
    return unique


def area(polygon: list[tuple[Any, Any]]) -> Any:
    """The signed area (positive counter-clockwise), by the shoelace formula."""
    n = len(polygon)
    twice = sum(polygon[i][0] * polygon[(i + 1) % n][1] - polygon[(i + 1) % n][0] * polygon[i][1]
                for i in range(n))
    return twice / 2
