"""The safe formula parser: math in, everything else refused at once, nothing executed."""

from __future__ import annotations

import time

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symnet import InvalidInputError
from symnet.homework.parse import FUNCTIONS, MAX_DEPTH, parse_formula

x, y = sp.symbols("x y", real=True)


@pytest.mark.parametrize(("text", "expected"), [
    ("2*x + 5", 2 * x + 5), ("2x+5", 2 * x + 5), ("max(0, 3x - 1)", sp.Max(0, 3 * x - 1)),
    ("2(x+1)^2", 2 * (x + 1) ** 2), ("relu(x) - 0.5x", sp.Max(0, x) - x / 2),
    ("exp(-x) / (1 + exp(-x))", sp.exp(-x) / (1 + sp.exp(-x))), ("x y", x * y),
    ("pi*x", sp.pi * x), ("-x", -x), ("abs(x - y)", sp.Abs(x - y)),
    (r"\max(0, 3x - 1)", sp.Max(0, 3 * x - 1)), (r"\frac{1}{2}x + 5", x / 2 + 5),
    (r"\sqrt{x^{2} + 1}", sp.sqrt(x**2 + 1)), (r"2 \cdot x \times y", 2 * x * y),
    (r"\left(x + 1\right)^{2}", (x + 1) ** 2), (r"\operatorname{relu}(x)", sp.Max(0, x)),
    ("x^{2}", x**2),
])
def test_math_is_parsed(text, expected):
    assert sp.simplify(parse_formula(text, [x, y]) - expected) == 0


@pytest.mark.parametrize("attack", [
    "__import__('os').system('touch /tmp/pwned')", "x.__class__.__bases__", "().__class__",
    "9**9**9**9", "((10**64)**64)**64", "exp(x)**1000", "x if x else 1", "[x for x in ()]",
    "lambda: 1", "open('f')", "eval('1')", "x; 1", "x == 1", "{}", "'text'", "x[0]",
    "sum(x)", "2**x", "a" * 200_000, "(" * 500 + "x" + ")" * 500, "", "   ", "f(x)", "True",
    r"\input{/etc/passwd}", r"\frac{1}{", "x}", r"2^{2^{100}}", "{" * 900 + "x" + "}" * 900,
    r"\def\x{1}", r"\sum_{i=1}^{10} i",
])
def test_attacks_are_refused_quickly(attack, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    start = time.perf_counter()
    with pytest.raises(InvalidInputError):
        parse_formula(attack.replace("/tmp/pwned", str(marker)), [x])
    assert time.perf_counter() - start < 1.0
    assert not marker.exists() and list(tmp_path.iterdir()) == []
    assert capsys.readouterr() == ("", "")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_random_text_parses_or_is_refused(text):
    try:
        result = parse_formula(text, [x, y])
    except InvalidInputError:
        return
    assert isinstance(result, sp.Basic)
    assert result.free_symbols <= {x, y}


@pytest.mark.parametrize(("text", "said"), [
    ("relu(x, 1)", "relu() takes exactly 1 argument, received 2"),
    ("exp(x, 1)", "exp() takes exactly 1 argument, received 2"),
    ("abs()", "abs() takes exactly 1 argument, received 0"),
    ("tanh(x, x)", "tanh() takes exactly 1 argument, received 2"),
    ("sqrt(x, 2)", "sqrt() takes exactly 1 argument, received 2"),
    ("max()", "max() takes at least 2 arguments, received 0"),
    ("min(x)", "min() takes at least 2 arguments, received 1"),
    ("max(*x)", "plain arguments"), ("exp(x=1)", "plain arguments"),
    ("relu", "without its argument"),
])
def test_arity_is_checked_and_the_input_quoted(text, said):
    with pytest.raises(InvalidInputError) as caught:
        parse_formula(text, [x])
    assert said in str(caught.value) and repr(text) in str(caught.value)


# --- the grammar, generated: arity and nesting errors are reached ---------------------------

NAMES = sorted(n for n in FUNCTIONS if n.islower())


@st.composite
def formula_tree(draw, depth=0):
    """(text, fault): a formula of the grammar, with at most one arity fault in it."""
    if depth > 4 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(["x", "y", "2", "0.5", "3x", "pi", "1e-3"])), None
    kind = draw(st.sampled_from(["binary", "unary", "power", "call", "call"]))
    if kind == "binary":
        (a, fa), (b, fb) = draw(formula_tree(depth + 1)), draw(formula_tree(depth + 1))
        op = draw(st.sampled_from(["+", "-", "*"]))
        return f"({a}) {op} ({b})", fa or fb
    if kind == "unary":
        inner, fault = draw(formula_tree(depth + 1))
        return f"-({inner})", fault
    if kind == "power":
        inner, fault = draw(formula_tree(depth + 1))
        return f"({inner})^{draw(st.integers(0, 3))}", fault
    name = draw(st.sampled_from(NAMES))
    least, most = FUNCTIONS[name].arity
    wrong = draw(st.booleans())
    if wrong:
        count = draw(st.sampled_from([n for n in range(4) if n < least or (
            most is not None and n > most)]))
    else:
        count = draw(st.integers(least, most if most is not None else least + 2))
    args = [draw(formula_tree(depth + 1)) for _ in range(count)]
    fault = name if wrong else next((f for _, f in args if f), None)
    return f"{name}({', '.join(a for a, _ in args)})", fault


@settings(max_examples=400, deadline=None)
@given(formula_tree())
def test_generated_formulas_parse_or_name_their_fault(case):
    text, fault = case
    try:
        result = parse_formula(text, [x, y])
    except InvalidInputError as exc:
        message = str(exc)
        assert text[:60] in message or "nested too deeply" in message \
            or "formula too long" in message
        if fault is not None:
            assert "takes" in message or "not a real number" in message \
                or "not defined" in message or "too large" in message, message
        return
    assert fault is None, f"{text}: the fault in {fault}() was not found"
    assert result.free_symbols <= {x, y}


@settings(max_examples=50, deadline=None)
@given(st.integers(MAX_DEPTH + 1, 3 * MAX_DEPTH),
       st.sampled_from(["-({})", "max(0, {})", "abs({})", "({})^1", "1 + {}"]))
def test_nesting_beyond_the_bound_is_refused(levels, wrap):
    text = "x"
    for _ in range(levels):
        text = wrap.format(text)
    with pytest.raises(InvalidInputError, match="nested too deeply|too long"):
        parse_formula(text, [x])
