"""Text and JSON of a gradient, its backward trace and a training step, for ``symnet grad`` and
``symnet step``.

Self-contained on purpose: the report package is being redesigned into typed sections with one
printer per format, and this module's two functions per record are what a "backpropagation"
section will print (see :func:`gradient_data`: the data such a section holds). No TensorFlow
import here.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

__all__ = ["formula_text", "gradient_data", "gradient_json", "gradient_text", "step_data",
           "step_json", "step_text"]

#: Entries of an array written out in text; larger ones by their first entries and a count.
MAX_TEXT = 24
#: Entries of an array written out in JSON.
MAX_JSON = 4096

_GREEK = {"delta": "δ", "gamma": "γ", "beta": "β", "mu": "μ", "sigma": "σ", "epsilon": "ε",
          "alpha": "α"}


def _name(name: str) -> str:
    stem, sep, rest = name.partition("_")
    power = ""
    if stem.endswith("^2"):
        stem, power = stem[:-2], "²"
    return _GREEK.get(stem, stem) + power + sep + rest


class _Text(StrPrinter):
    """Formulas as a textbook prints them in plain text: ``δ_2 W_2ᵀ ⊙ σ'(z_1)``."""

    def _print_MatrixSymbol(self, expr: Any) -> str:
        return _name(expr.name)

    def _print_Symbol(self, expr: Any) -> str:
        return _name(expr.name)

    def _print_Transpose(self, expr: Any) -> str:
        return self.parenthesize(expr.arg, PRECEDENCE["Pow"]) + "ᵀ"

    def _print_HadamardProduct(self, expr: Any) -> str:
        return " ⊙ ".join(self.parenthesize(a, 45) for a in expr.args)

    def _print_HadamardPower(self, expr: Any) -> str:
        if expr.exp == -1:
            return "1 ⊘ " + self.parenthesize(expr.base, PRECEDENCE["Pow"])
        return f"{self.parenthesize(expr.base, PRECEDENCE['Pow'])}^∘{self._print(expr.exp)}"

    def _print_MatMul(self, expr: Any) -> str:
        args = list(expr.args)
        ones = [a for a in args if isinstance(a, sp.OneMatrix)]
        if ones and args[0] is ones[0] and int(ones[0].shape[0]) == 1 and len(args) > 1:
            rest = sp.MatMul(*args[1:]) if len(args) > 2 else args[1]
            return f"Σ_rows({self._print(rest)})"  # 1ᵀ M: the sum of M's rows
        # a row or a number repeated over a matrix (1 b, ε 1): the repeated thing
        kept = [a for a in args if not isinstance(a, sp.OneMatrix)]
        coeff = [a for a in kept if not getattr(a, "is_Matrix", False)]
        mats = [a for a in kept if getattr(a, "is_Matrix", False)]
        parts = []
        if coeff:
            number = sp.Mul(*coeff)
            if number == -1:
                parts.append("−")
            elif number != 1:
                parts.append(self.parenthesize(number, 45))
        parts += [self.parenthesize(a, 45) for a in mats]
        text = " ".join(parts)
        return text.replace("− ", "−", 1) if text.startswith("− ") else text

    def _print_MatAdd(self, expr: Any) -> str:
        positive, negative = [], []
        for term in expr.args:
            coeff, rest = term.as_coeff_mmul() if hasattr(term, "as_coeff_mmul") else (1, term)
            if coeff.is_number and coeff < 0:
                negative.append(self._print(sp.MatMul(-coeff, *rest.args)
                                            if isinstance(rest, sp.MatMul) else -term))
            else:
                positive.append(self._print(term))
        text = " + ".join(positive) if positive else ""
        for n in negative:
            text = f"{text} − {n}" if text else f"−{n}"
        return text

    def _print_Reshape(self, expr: Any) -> str:
        return f"reshape({self._print(expr.args[0])})"

    def _print_ElementwiseApplyFunction(self, expr: Any) -> str:
        body = expr.function.expr
        name = getattr(type(body), "__name__", "f")
        if name.endswith("Prime"):
            label = name[:-5].lower().replace("sigmoid", "σ")
            return f"{label}'({self._print(expr.expr)})"
        variable = expr.function.variables[0]
        inner = sp.Symbol(f"({self._print(expr.expr)})")
        return self._print(body.xreplace({variable: inner}))

    def _print_OneMatrix(self, expr: Any) -> str:
        return f"1_{expr.shape[0]}×{expr.shape[1]}"

    def _print_MatrixElement(self, expr: Any) -> str:
        i, j = expr.i, expr.j
        parent = self._print(expr.parent)
        rows = int(expr.parent.shape[0])
        return f"{parent}_{int(j) + 1}" if rows == 1 else f"{parent}[{int(i)},{int(j)}]"

    def _print_ImmutableDenseMatrix(self, expr: Any) -> str:
        rows = [", ".join(self._print(v) for v in expr.row(i)) for i in range(expr.rows)]
        return "[" + "; ".join(rows) + "]"

    _print_MutableDenseMatrix = _print_ImmutableDenseMatrix

    def _print_Float(self, expr: Any) -> str:
        return f"{float(expr):.7g}"

    def _print_Heaviside(self, expr: Any) -> str:
        return f"H({self._print(expr.args[0])})"


def formula_text(expr: Any) -> str:
    """A formula of the backward trace in plain text."""
    return _Text({"order": "none"}).doprint(expr)


def _latex(expr: Any) -> str:
    from .report.latex import latex

    return latex(expr)


def _numbers(value: Any, limit: int) -> Any:
    """An array as nested lists of floats (``None`` beyond ``limit`` entries)."""
    arr = np.asarray(value, dtype=object)
    if arr.size > limit:
        return None
    return np.vectorize(lambda v: float(v), otypes=[object])(arr).tolist() if arr.size else []


def _text_numbers(value: Any) -> str:
    arr = np.asarray(value, dtype=object)
    flat = [float(v) + 0.0 for v in arr.reshape(-1)[:MAX_TEXT]]  # + 0.0: no "-0"
    shown = ", ".join(f"{v:.7g}" for v in flat)
    if arr.ndim >= 2 and arr.size <= MAX_TEXT:
        cols = arr.shape[-1]
        rows = [", ".join(f"{v:.7g}" for v in flat[r * cols:(r + 1) * cols])
                for r in range(arr.size // cols)]
        return "[" + "; ".join(rows) + "]"
    more = f" … ({arr.size:,} entries, shape {arr.shape})" if arr.size > MAX_TEXT else ""
    return f"[{shown}{more}]"


def _quantity(q: Any, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "formula": None if q.formula is None else
                           formula_text(q.formula), "latex": None if q.formula is None else
                           _latex(q.formula), "value": _numbers(q.value, MAX_JSON),
                           "shape": list(np.shape(q.value))}
    if q.key:
        out["weight"] = q.key
    return out


def _label(q: Any) -> str:
    symbol = formula_text(q.symbol)
    return f"∂L/∂{symbol}" if q.gradient else symbol


def gradient_data(gradient: Any, trace: Any | None) -> dict[str, Any]:
    """What a backpropagation report section holds: the loss, ``∂L/∂x``, every weight's
    gradient, each layer's δ, and (for one sample) the backward trace: per layer the formula
    of δ and of each gradient (text and LaTeX), the values."""
    exact = gradient.precision == "exact"
    data: dict[str, Any] = {
        "loss": {"name": gradient.loss_name, "value": float(gradient.loss),
                 "precision": gradient.precision},
        "parameters": {k: _numbers(v, MAX_JSON) for k, v in gradient.parameters.items()},
        "deltas": {k: _numbers(v, MAX_JSON) for k, v in gradient.deltas.items()},
    }
    if exact:
        data["loss"]["exact"] = str(gradient.loss)
    try:
        data["input_gradient"] = _numbers(gradient.input, MAX_JSON) if not isinstance(
            gradient.input, list) else [_numbers(g, MAX_JSON) for g in gradient.input]
    except Exception as exc:  # not defined: an Embedding's indices
        data["input_gradient"] = None
        data["input_gradient_note"] = str(exc)
    if trace is not None:
        steps = []
        for s in trace.steps:
            step: dict[str, Any] = {
                "layer": s.layer, "kind": s.kind,
                "output_gradient": _quantity(s.output_gradient, _label(s.output_gradient)),
                "delta": _quantity(s.delta, _label(s.delta)),
                "parameters": [_quantity(q, _label(q)) for q in s.parameters],
                "input_gradient": [_quantity(q, _label(q)) for q in s.input_gradient]}
            if s.pre_activation is not None:
                step["pre_activation"] = _quantity(s.pre_activation, _label(s.pre_activation))
            if s.slope is not None:
                step["slope"] = _quantity(s.slope, "f'(" + _label(s.slope) + ")")
            steps.append(step)
        loss = trace.loss
        data["trace"] = {
            "sample": trace.sample, "batch": trace.batch,
            "loss_formula": None if loss.loss.formula is None else formula_text(
                loss.loss.formula),
            "loss_gradients": [dict(_quantity(q, _label(q)), fused=f)
                               for q, f in zip(loss.gradients, loss.fused)],
            "steps": steps}
    return data


def _dump(data: Any) -> str:
    from .report import strict_json

    return json.dumps(strict_json(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def gradient_json(gradient: Any, trace: Any | None) -> str:
    return _dump(gradient_data(gradient, trace))


def gradient_text(gradient: Any, trace: Any | None) -> str:
    """The gradient for a terminal: the loss, then backpropagation layer by layer (output
    first), then every weight's gradient."""
    lines = [f"loss {gradient.loss_name}: {_scalar(gradient.loss)} ({gradient.precision})"]
    if trace is not None:
        lines.append("")
        lines.append("backpropagation, output layer first"
                     + ("" if trace.batch == 1 else
                        f" (sample {trace.sample} of {trace.batch}; weight gradients summed "
                        "over the batch)") + ":")
        for q, fused in zip(trace.loss.gradients, trace.loss.fused):
            what = "δ at the logits (Keras computes the loss from them)" if fused else _label(q)
            lines.append(f"  {what} = {_formula(q)}{_text_numbers(q.value)}")
        for s in trace.steps:
            lines.append(f"  {s.layer} ({s.kind}):")
            if s.pre_activation is not None:
                lines.append(f"    {_label(s.pre_activation)} = {_formula(s.pre_activation)}"
                             f"{_text_numbers(s.pre_activation.value)}")
            if s.slope is not None:
                lines.append(f"    {formula_text(s.slope.formula)} = "
                             f"{_text_numbers(s.slope.value)}")
            lines.append(f"    {_label(s.delta)} = {_formula(s.delta)}"
                         f"{_text_numbers(s.delta.value)}")
            for q in s.parameters:
                lines.append(f"    {_label(q)} = {_formula(q)}{_text_numbers(q.value)}")
            for q in s.input_gradient:
                lines.append(f"    {_label(q)} = {_formula(q)}{_text_numbers(q.value)}")
    lines.append("")
    lines.append("gradients of the weights (∂L/∂, summed over the batch):")
    width = max((len(k) for k in gradient.parameters), default=0)
    for key, value in gradient.parameters.items():
        lines.append(f"  {key:<{width}}  {tuple(np.shape(value))!s:<10} "
                     f"{_text_numbers(value)}")
    try:
        lines.append(f"∂L/∂x = {_text_numbers(gradient.input)}")
    except Exception as exc:
        lines.append(f"∂L/∂x: {exc}")
    return "\n".join(lines) + "\n"


def _formula(q: Any) -> str:
    return "" if q.formula is None else f"{formula_text(q.formula)} = "


def _scalar(value: Any) -> str:
    if isinstance(value, sp.Rational):
        return f"{value} = {float(value):.10g}"
    return f"{float(value):.10g}"


def step_data(step: Any) -> dict[str, Any]:
    """What a training-step section holds: the optimizer, the loss before, every weight after
    (and which moved)."""
    return {"optimizer": step.optimizer,
            "options": {k: v for k, v in step.options.items()},
            "loss": float(step.loss), "updated": list(step.updated),
            "weights": {k: _numbers(v, MAX_JSON) for k, v in step.items()}}


def step_json(step: Any) -> str:
    return _dump(step_data(step))


def step_text(step: Any, before: Any) -> str:
    """The step for a terminal: each weight after it, and by how much it moved."""
    options = ", ".join(f"{k}={v}" for k, v in step.options.items() if v not in (None, False)
                        and k != "learning_rate")
    lines = [f"one {step.optimizer} step (learning rate {step.options['learning_rate']}"
             + (f", {options}" if options else "") + f"), loss before: {_scalar(step.loss)}"]
    width = max((len(k) for k in step), default=0)
    for key, value in step.items():
        change = np.asarray(value, dtype=np.float64) - np.asarray(before[key], dtype=np.float64)
        if key in step.updated:
            note = f"  change {_text_numbers(change)}"
        elif np.any(change != 0):
            note = "  (BatchNorm's moving statistic, moved toward the batch's)"
        else:
            note = "  (unchanged: frozen or not trainable)"
        lines.append(f"  {key:<{width}} = {_text_numbers(value)}{note}")
    return "\n".join(lines) + "\n"
