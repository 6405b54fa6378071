"""Whole-network forms: the structural formula, the closed form, and the size guard before it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy as sp

from .errors import ExpressionTooLarge
from .ir import GraphNode
from .numeric import SymbolicBackend

__all__ = ["DEFAULT_MAX_SIZE", "closed_form", "estimate_size", "lambdify", "structural_form"]

#: Default limit on the estimated number of SymPy nodes of a closed form.
DEFAULT_MAX_SIZE = 200_000


def structural_form(nodes: Sequence[GraphNode], inputs: dict[str, Any], outputs: Sequence[str]
                    ) -> Any:
    """Compose the layers' formulas: each layer's input symbol replaced by what produces it."""
    values = dict(inputs)
    for node in nodes:
        if node.layer.kind == "InputLayer":
            continue
        replace = {sym: values[key] for sym, key in zip(node.layer.input_symbols, node.inputs)}
        values[node.output] = node.layer.formula.rhs.xreplace(replace)
    exprs = [values[k] for k in outputs]
    return exprs[0] if len(exprs) == 1 else sp.Tuple(*exprs)


def estimate_size(nodes: Sequence[GraphNode], input_keys: Sequence[str], outputs: Sequence[str],
                  output_shapes: Sequence[tuple[int, ...]]) -> int:
    """Estimated SymPy nodes of the closed form, from the shapes alone (nothing is built)."""
    per_entry = {k: 1.0 for k in input_keys}
    for node in nodes:
        if node.layer.kind == "InputLayer":
            continue
        per_entry[node.output] = float(node.layer.size([per_entry[k] for k in node.inputs]))
    total = 0.0
    for key, shape in zip(outputs, output_shapes):
        total += per_entry[key] * math.prod(shape)
    return int(min(total, 10.0**18))


def closed_form(nodes: Sequence[GraphNode], input_keys: Sequence[str],
                input_arrays: Sequence[np.ndarray], outputs: Sequence[str],
                output_shapes: Sequence[tuple[int, ...]], weights: Any, *, simplify: bool,
                max_size: int) -> sp.Matrix:
    """The outputs as explicit expressions of the input symbols, trained numbers substituted."""
    estimate = estimate_size(nodes, input_keys, outputs, output_shapes)
    if estimate > max_size:
        raise ExpressionTooLarge(
            f"the closed form would have about {estimate:,} SymPy nodes, over the limit of "
            f"{max_size:,}; use net.structural_form() for the formula over parameter symbols, "
            "or net.evaluate(x) for numbers (or raise max_size if you really want it)",
            estimate=estimate, limit=max_size)
    backend = SymbolicBackend()
    values = dict(zip(input_keys, input_arrays))
    for node in nodes:
        if node.layer.kind == "InputLayer":
            continue
        values[node.output] = node.layer.forward(
            backend, [values[k] for k in node.inputs], weights(backend, node.layer))
    entries: list[Any] = []
    for key in outputs:
        entries.extend(values[key].reshape(-1))
    if simplify:
        # Targeted and bounded: multiply out the top-level products into one sum. Not deep
        # (rebuilding every Max re-runs SymPy's costly comparisons of its arguments, which are
        # flat sums already), and never sympy.simplify, which can run unbounded on Max trees.
        entries = [sp.expand(e, deep=False, power_base=False, power_exp=False, log=False,
                             multinomial=False) for e in entries]
    return sp.Matrix(len(entries), 1, entries)


def _heaviside(x: Any, at_zero: Any = 0.5) -> Any:
    return np.heaviside(x, at_zero)


def lambdify(symbols: Sequence[Any], exprs: Any, **kwargs: Any) -> Any:
    """``sympy.lambdify`` to numpy/scipy, with ``Heaviside`` mapped to ``numpy.heaviside``.

    SymPy's numpy printer rewrites ``Heaviside`` into ``Piecewise`` (and ``Abs`` inside it into
    more ``Piecewise``), which grows exponentially when activations are nested; a direct call
    keeps the generated code the size of the formula.
    """
    return sp.lambdify(symbols, exprs, modules=[{"Heaviside": _heaviside}, "scipy", "numpy"],
                       **kwargs)
