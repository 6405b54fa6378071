"""Whole-network forms: the structural formula, the closed form and the size guard before it,
and the closed form compiled to numpy."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy as sp

from ..backends import SymbolicBackend
from ..errors import ExpressionTooLarge
from ..graph import Graph

__all__ = ["DEFAULT_MAX_SIZE", "closed_form", "estimate_size", "explicit", "lambdify",
           "round_floats", "structural_form"]

#: Default limit on the estimated number of SymPy nodes of a closed form.
DEFAULT_MAX_SIZE = 200_000


def structural_form(graph: Graph) -> Any:
    """The layers' formulas composed: each layer's input symbols replaced by the expressions
    that produce them. One matrix expression (a ``Tuple`` of them for several outputs)."""
    values: dict[str, Any] = {name: graph.symbols[name] for name in graph.inputs}
    for call in graph.calls:
        formula = call.layer.formula
        replace = {sym: values[key] for sym, key in zip(call.layer.input_symbols, call.inputs)}
        values[call.output] = formula.rhs.xreplace(replace)
    from ..functions import canonical

    exprs = [canonical(values[k]) for k in graph.outputs]
    return exprs[0] if len(exprs) == 1 else sp.Tuple(*exprs)


def estimate_size(graph: Graph) -> int:
    """Estimated SymPy nodes of the closed form, from the shapes alone (nothing is built)."""
    per_entry = {k: 1.0 for k in graph.inputs}
    for node in graph.nodes:
        sizes = [per_entry[k] for k in node.inputs]
        shapes = [graph.shapes[k] for k in node.inputs]
        per_entry[node.output] = min(float(node.op.size(sizes, shapes)), 1e18)
    total = sum(per_entry[k] * math.prod(graph.shapes[k]) for k in graph.outputs)
    return int(min(total, 10.0**18))


def closed_form(graph: Graph, *, simplify: bool = True, max_size: int = DEFAULT_MAX_SIZE
                ) -> sp.Matrix:
    """The outputs (an m×1 ``Matrix``) as explicit expressions of the input symbols.

    Raises ``ExpressionTooLarge`` (nothing built) when the estimate exceeds ``max_size``.
    """
    estimate = estimate_size(graph)
    if estimate > max_size:
        raise ExpressionTooLarge(
            f"the closed form would have about {estimate:,} SymPy nodes, over the limit of "
            f"{max_size:,}; use net.structural_form() for the formula over parameter symbols, "
            "or net.evaluate(x) for numbers (or raise max_size if you really want it)",
            estimate=estimate, limit=max_size)
    arrays, start = [], 0
    for shape in graph.input_shapes:
        size = math.prod(shape)
        arrays.append(np.array(list(graph.features[start:start + size]), dtype=object)
                      .reshape((1,) + shape))
        start += size
    values = graph.run(SymbolicBackend(), arrays)
    entries: list[Any] = []
    for key in graph.outputs:
        entries.extend(values[key].reshape(-1))
    if simplify:
        # Targeted and bounded: multiply out the top-level products into one sum. Not deep
        # (rebuilding every Max re-runs SymPy's costly comparisons of its arguments, which are
        # flat sums already), and never sympy.simplify, which can run unbounded on Max trees.
        entries = [sp.expand(e, deep=False, power_base=False, power_exp=False, log=False,
                             multinomial=False) for e in entries]
    return sp.Matrix(len(entries), 1, entries)


def lambdify(symbols: Sequence[Any], exprs: Any, **kwargs: Any) -> Any:
    """``sympy.lambdify`` to scipy and numpy (symnet's functions print their own code)."""
    return sp.lambdify(symbols, exprs, modules=["scipy", "numpy"], **kwargs)


def explicit(expr: Any) -> sp.ImmutableMatrix:
    """An explicit matrix from a matrix expression whose symbols were all replaced by matrices.

    SymPy's own ``as_explicit`` goes entry by entry and, through ``MatMul``, with symbolic
    summation indices; this evaluates bottom-up with integer indices only, which every matrix
    class of :mod:`symnet.functions` supports.
    """
    if isinstance(expr, sp.MatrixBase):
        return sp.ImmutableMatrix(expr)
    if not getattr(expr, "is_Matrix", False):
        return expr
    if isinstance(expr, sp.MatrixSymbol):
        raise ValueError(f"{expr} has no value: substitute a matrix for it first")
    if isinstance(expr, sp.OneMatrix):
        return sp.ImmutableMatrix(sp.ones(*expr.shape))
    args = [explicit(a) for a in expr.args]
    if isinstance(expr, sp.MatAdd):
        out = args[0]
        for a in args[1:]:
            out = out + a
        return sp.ImmutableMatrix(out)
    if isinstance(expr, sp.MatMul):
        out = args[0]
        for a in args[1:]:
            out = out * a
        return sp.ImmutableMatrix(out)
    if isinstance(expr, sp.HadamardProduct):
        out = args[0]
        for a in args[1:]:
            out = out.multiply_elementwise(a)
        return sp.ImmutableMatrix(out)
    if isinstance(expr, sp.HadamardPower):
        return sp.ImmutableMatrix(args[0].applyfunc(lambda v: v ** args[1]))
    if isinstance(expr, sp.BlockMatrix):
        return sp.ImmutableMatrix(sp.BlockMatrix(expr.blocks.applyfunc(explicit)).as_explicit())
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

    if isinstance(expr, ElementwiseApplyFunction):
        return sp.ImmutableMatrix(explicit(expr.expr).applyfunc(expr.function))
    return sp.ImmutableMatrix(expr.func(*args).as_explicit())


def round_floats(expr: Any, digits: int) -> Any:
    """``expr`` with its numbers shown to ``digits`` significant digits (for display only)."""
    return expr.xreplace({f: sp.Float(f, digits) for f in expr.atoms(sp.Float)})
