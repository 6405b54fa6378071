"""What symnet hands out is ordinary SymPy: SymPy's own tools work on it and mean the numbers
``evaluate(..., "float64")`` gives.

Per activation class and per layer family, and for every public object (the closed form, the
structural form, each layer's formula, ``piecewise``, ``why``'s local law, a parsed formula):
``sympy.lambdify`` with numpy, scipy, math and mpmath (jax and torch too when installed),
``latex`` naming every function, ``mathml``, ``pycode``, ``srepr`` and ``pickle`` round trips,
``diff`` (against a central difference of ``evaluate`` and, for the activations, against
TensorFlow's gradient, its choice at a kink included), ``subs``/``evalf``.
"""

from __future__ import annotations

import importlib.util
import pickle

import numpy as np
import pytest
import sympy as sp

import symnet
import symnet.functions as fx
from symnet.functions.activations import ACTIVATION_CLASSES

from .conftest import randomize

#: The modules lambdify is checked with, jax and torch when installed (not dependencies of
#: symnet); matrix formulas with the array modules (math and mpmath have no arrays, and
#: symnet's matrix classes print numpy code, which jax arrays pass through but torch's do not).
MODULES = ["numpy", "scipy", "math", "mpmath"] + [
    m for m in ("jax", "torch") if importlib.util.find_spec(m) is not None]
ARRAY_MODULES = [m for m in MODULES if m in ("numpy", "scipy", "jax")]
NAMESPACE = {**vars(sp), **{n: getattr(fx, n) for n in fx.__all__}}
T = sp.Symbol("t", real=True)

#: Each activation class with the options it is tested at (Keras' defaults first).
OPTIONS = {
    "ReLU": [(), (6, 0, 0), (sp.Rational(5, 2), sp.Rational(1, 10), sp.Rational(1, 2)),
             (sp.oo, sp.Rational(1, 10), 0), (sp.oo, 0, -1), (5, sp.Rational(1, 10), 0),
             (6, 0, 1)],
    "LeakyReLU": [(sp.Rational(1, 5),)],
    "ELU": [(), (2,)],
    "CELU": [(), (sp.Rational(1, 2),)],
}
ACTIVATIONS = [(name, options) for name, cls in sorted(ACTIVATION_CLASSES.items())
               if not cls.alias for options in OPTIONS.get(name, [()])]
POINTS = np.array([-7.5, -3.2, -1.7, -0.9, -0.4, -0.15, 0.12, 0.33, 0.8, 1.3, 2.7, 6.5])


def relative(got, expected) -> float:
    got, expected = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (got, expected))
    return float(np.max(np.abs(got - expected) / np.maximum(np.abs(expected), 1e-300)))


def call(fn, module, *arrays):
    """A lambdified function on arrays: entry by entry for math and mpmath."""
    if module in ("math", "mpmath"):
        rows = zip(*[np.asarray(a, np.float64).reshape(-1) for a in arrays])
        return np.array([float(fn(*row)) for row in rows])
    if module == "torch":
        import torch

        return fn(*[torch.tensor(np.asarray(a, np.float64)) for a in arrays]).numpy()
    return np.asarray(fn(*arrays), dtype=np.float64)


def scalar_call(fn, module, values) -> float:
    """A lambdified scalar function at one point."""
    if module == "torch":
        import torch

        return float(fn(*[torch.tensor(float(v), dtype=torch.float64) for v in values]))
    return float(np.asarray(fn(*[float(v) for v in values]), dtype=np.float64).reshape(-1)[0])


def rebuilt(expr):
    return eval(sp.srepr(expr), dict(NAMESPACE))


# --- each activation class -------------------------------------------------------------------

@pytest.mark.parametrize(("name", "options"), ACTIVATIONS, ids=[f"{n}{o}" for n, o in ACTIVATIONS])
@pytest.mark.parametrize("module", MODULES)
def test_activation_lambdifies_to_its_numbers(name, options, module):
    cls = ACTIVATION_CLASSES[name]
    expected = cls.numeric(POINTS.copy(), *[float(o) for o in options])
    fn = sp.lambdify([T], cls(T, *options), module)
    got = call(fn, module, POINTS) * np.ones_like(POINTS)
    assert relative(got, expected) <= 1e-12


@pytest.mark.parametrize(("name", "options"), ACTIVATIONS, ids=[f"{n}{o}" for n, o in ACTIVATIONS])
def test_activation_is_ordinary_sympy(name, options):
    cls = ACTIVATION_CLASSES[name]
    expr = cls(T, *options)
    shown = sp.latex(expr)
    assert shown.startswith(cls.label) and cls.label  # named, never an empty label
    assert sp.latex(expr**2).startswith(cls.label)
    assert sp.mathml(expr) and sp.mathml(expr, printer="presentation")
    assert "lambda" not in sp.pycode(expr) and sp.pycode(expr)
    assert rebuilt(expr) == expr and pickle.loads(pickle.dumps(expr)) == expr
    # its definition in elementary functions, and evalf, are the same function
    elementary = expr.rewrite(sp.exp).rewrite(sp.Piecewise)
    assert not elementary.has(cls)
    for v in (-1.3, 0.4, 2.2):
        value = float(cls.numeric(np.array([v]), *[float(o) for o in options])[0])
        assert float(expr.subs(T, v).evalf(30)) == pytest.approx(value, rel=1e-12, abs=1e-15)
        assert float(elementary.subs(T, sp.Float(v, 30)).evalf(30)) == pytest.approx(
            value, rel=1e-12, abs=1e-15)


def keras_function(name, options):
    """The Keras activation a class with these options is (``None``: a helper, not one)."""
    import keras

    a = keras.activations
    floats = [float(o) for o in options]
    table = {"Sigmoid": a.sigmoid, "Softplus": a.softplus, "Softsign": a.softsign,
             "SiLU": a.silu, "GELU": lambda x: a.gelu(x, approximate=False), "Mish": a.mish,
             "HardSiLU": a.hard_silu, "LogSigmoid": a.log_sigmoid, "SquarePlus": a.squareplus,
             "SparsePlus": a.sparse_plus, "TanhShrink": a.tanh_shrink, "SELU": a.selu,
             "HardSigmoid": a.hard_sigmoid, "HardTanh": a.hard_tanh,
             "SparseSigmoid": a.sparse_sigmoid, "SoftShrink": a.soft_shrink,
             "HardShrink": a.hard_shrink}
    if name == "ReLU":
        max_value, slope, threshold = floats or (np.inf, 0.0, 0.0)
        return lambda x: a.relu(x, negative_slope=slope, threshold=threshold,
                                max_value=None if max_value == np.inf else max_value)
    if name == "LeakyReLU":
        return lambda x: a.leaky_relu(x, negative_slope=floats[0])
    if name in ("ELU", "CELU"):
        alpha = floats[0] if floats else 1.0
        return lambda x: getattr(a, name.lower())(x, alpha=alpha)
    return table[name]


@pytest.mark.parametrize(("name", "options"), ACTIVATIONS, ids=[f"{n}{o}" for n, o in ACTIVATIONS])
def test_derivative_is_tensorflows_gradient(name, options):
    """``fdiff`` equals ``tf.GradientTape`` at its kinks (TensorFlow's choice there: ReLU'(0)
    = 0) and between them."""
    import tensorflow as tf

    cls = ACTIVATION_CLASSES[name]
    kinks = [float(k) for k in cls.kinks(*options)] if cls.piecewise_linear else []
    kinks += [0.0, -1.0, 1.0, -3.0, 3.0, 0.5, -0.5, 6.0]  # every kink of every class
    points = np.array(sorted(set(kinks) | set(POINTS.tolist())), np.float32)
    x = tf.Variable(points)
    with tf.GradientTape() as tape:
        y = keras_function(name, options)(x)
    expected = np.asarray(tape.gradient(y, x), np.float64)
    derivative = cls(T, *options).diff(T)
    got = np.array([float(derivative.subs(T, sp.Float(float(p), 30)).evalf(30))
                    for p in points])
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=2e-6,
                               err_msg=f"{name}{options} at {points.tolist()}")


def test_relu_derivative_at_zero_is_zero():
    assert fx.ReLU(T).diff(T).subs(T, 0) == 0
    assert fx.ReLU(T, 6, 0, 0).diff(T).subs(T, 6) == 0
    assert fx.LeakyReLU(T, sp.Rational(1, 5)).diff(T).subs(T, 0) == sp.Rational(1, 5)


def test_aliases_never_reach_an_expression():
    """``tanh``, ``exp``, ``1/sqrt`` and ``max(sqrt, ε)`` are SymPy's own wherever a formula
    holds them."""
    for cls in (fx.Tanh, fx.Exponential, fx.InverseSqrt):
        assert cls.label and not isinstance(cls(T), cls)
        assert not isinstance(cls.textbook(T), cls)
    assert fx.Tanh(T) == sp.tanh(T) and fx.Exponential(T) == sp.exp(T)


# --- networks: every public object ---------------------------------------------------------

def _families(keras):
    """One small network per layer family (float32 weights drawn at random)."""
    layers = keras.layers
    out = {}

    def seq(key, shape, *stack, seed=0):
        model = keras.Sequential([keras.Input(shape), *stack])
        randomize(model, seed)
        out[key] = model

    seq("smooth", (2,), layers.Dense(3, "tanh"), layers.Dense(3, "exponential"),
        layers.LayerNormalization(), layers.Dense(2, "sigmoid"))
    seq("relu_family", (2,), layers.Dense(2), layers.ReLU(max_value=2.0, negative_slope=0.1,
                                                          threshold=0.2),
        layers.Dense(2, "leaky_relu"), layers.PReLU(), layers.Dense(1))
    # every other activation, two by two (their closed forms nest: kept small)
    seq("selu_gelu", (2,), layers.Dense(2, "selu"), layers.Dense(1, "gelu"))
    seq("softplus_elu_mish", (2,), layers.Dense(2, "softplus"), layers.ELU(alpha=0.5),
        layers.Dense(1, "mish"))
    seq("softsign_log_sigmoid", (2,), layers.Dense(2, "softsign"),
        layers.Dense(1, "log_sigmoid"))
    seq("silu_hard_silu", (2,), layers.Dense(2, "silu"), layers.Dense(1, "hard_silu"))
    seq("batchnorm", (3,), layers.Dense(3), layers.BatchNormalization(),
        layers.Activation("relu"), layers.Dropout(0.5), layers.Dense(3),
        layers.BatchNormalization(), layers.Softmax())
    seq("normalization", (2, 2), layers.Normalization(axis=-1, mean=[0.5, -1.0],
                                                      variance=[2.0, 0.5]),
        layers.LayerNormalization(axis=(1, 2)), layers.RMSNormalization(),
        layers.Rescaling(0.5, 0.25), layers.Flatten(), layers.Dense(1))
    seq("convolution", (5, 2), layers.Conv1D(2, 2, padding="same"), layers.MaxPooling1D(2),
        layers.Conv1D(2, 2, activation="relu"), layers.GlobalAveragePooling1D())
    seq("conv2d", (4, 4, 1), layers.Conv2D(2, 2), layers.AveragePooling2D(2),
        layers.Flatten(), layers.Dense(1))
    seq("reshaping", (2, 3), layers.ZeroPadding1D(1), layers.Permute((2, 1)),
        layers.UpSampling1D(2), layers.Cropping1D(1), layers.Reshape((2, 8)), layers.Flatten(),
        layers.RepeatVector(2), layers.Flatten(), layers.Dense(1))
    seq("recurrent", (3, 2), layers.SimpleRNN(2, return_sequences=True),
        layers.GRU(2, return_sequences=True), layers.LSTM(2))
    seq("bidirectional", (3, 2), layers.Bidirectional(layers.SimpleRNN(2)))
    seq("embedding", (3,), layers.Embedding(5, 2), layers.Flatten(), layers.Dense(1))
    x = keras.Input((3, 2))
    y = keras.Input((3, 2))
    merged = layers.Concatenate()([layers.Add()([x, y]), layers.Multiply()([x, y]),
                                   layers.Maximum()([x, y])])
    attended = layers.MultiHeadAttention(2, 2)(merged, merged)
    model = keras.Model([x, y], layers.Dense(1)(layers.Flatten()(attended)))
    randomize(model, 3)
    out["merge_attention"] = model
    ops = keras.ops
    x = keras.Input((3, 2))
    h = layers.Dense(2, "tanh")(x)
    y = ops.mean(ops.matmul(x + h, ops.transpose(h, (0, 2, 1))) * 0.5, axis=1)
    model = keras.Model(x, layers.Dense(1)(ops.relu(y - 1.0)))
    randomize(model, 4)
    out["keras_operations"] = model
    return out


FAMILIES = ["smooth", "relu_family", "selu_gelu", "softplus_elu_mish", "softsign_log_sigmoid",
            "silu_hard_silu", "batchnorm", "normalization", "convolution", "conv2d",
            "reshaping", "recurrent", "bidirectional", "embedding", "merge_attention",
            "keras_operations"]
#: The families whose closed form is small enough to print and lambdify entry by entry (the
#: recurrent and attention families' closed forms have hundreds of thousands of nodes).
CLOSED = [f for f in FAMILIES if f not in ("recurrent", "bidirectional", "merge_attention")]
#: SymPy's torch printer writes SymPy's own Max(0, x) as torch.max(0, x), which torch refuses
#: (it takes tensors only): closed forms are checked with the other modules.
CLOSED_MODULES = [m for m in MODULES if m != "torch"]


@pytest.fixture(scope="module")
def networks(keras):
    return {k: symnet.explain(m) for k, m in _families(keras).items()}


def sample_for(net, family, seed=0):
    rng = np.random.default_rng(seed)
    if family == "embedding":  # whole indices
        return [rng.integers(0, 5, (1, *net.input_shapes[0])).astype(np.float64)]
    return [rng.normal(0, 1, (1, *shape)) for shape in net.input_shapes]


def features(arrays):
    return np.concatenate([a.reshape(-1) for a in arrays])


def reference(net, arrays):
    out = net.evaluate(arrays if len(arrays) > 1 else arrays[0], "float64")
    return np.concatenate([np.asarray(o).reshape(-1) for o in (
        out if isinstance(out, list) else [out])])


def parameter_values(net):
    values = {}
    for layer in net.layers:
        for symbol, value in layer.symbol_values().items():
            values[symbol] = (np.array(value.tolist(), np.float64) if hasattr(value, "tolist")
                              else float(value))
    return values


@pytest.mark.parametrize("family", CLOSED)
def test_closed_form_works_in_sympys_tools(networks, family):
    net = networks[family]
    arrays = sample_for(net, family)
    expected = reference(net, arrays)
    form = net.closed_form()
    values = features(arrays)
    for module in CLOSED_MODULES:
        got = [scalar_call(sp.lambdify(net.inputs, entry, module), module, values)
               for entry in form]
        assert relative(got, expected) <= 1e-12, module
    subs = dict(zip(net.inputs, [sp.Float(float(v), 30) for v in values]))
    assert relative([float(e.subs(subs).evalf(30)) for e in form], expected) <= 1e-12
    assert rebuilt(form) == form and pickle.loads(pickle.dumps(form)) == form
    assert sp.mathml(form[0]) and sp.pycode(form[0])
    # diff: the derivative of the formula is the slope of evaluate (not of an index)
    h = 1e-6
    for k, symbol in enumerate(net.inputs[:3] if family != "embedding" else ()):
        up, down = values.copy(), values.copy()
        up[k] += h
        down[k] -= h
        slope = (reference(net, _split(net, up)) - reference(net, _split(net, down))) / (2 * h)
        exact = np.array([float(e.diff(symbol).subs(subs).evalf(30)) for e in form])
        np.testing.assert_allclose(exact, slope, rtol=1e-5, atol=1e-6)


def _split(net, values):
    arrays, start = [], 0
    for shape in net.input_shapes:
        size = int(np.prod(shape))
        arrays.append(values[start:start + size].reshape((1, *shape)))
        start += size
    return arrays


@pytest.mark.parametrize("family", FAMILIES)
def test_structural_form_and_layer_formulas_lambdify(networks, family):
    net = networks[family]
    arrays = sample_for(net, family)
    expected = reference(net, arrays)
    values = parameter_values(net)
    inputs = [net.graph.symbols[k] for k in net.graph.inputs]
    structural = net.structural_form()
    if len(inputs) > 1:
        # x^(1), x^(2) are not Python identifiers, which lambdify needs of a matrix symbol
        # (SymPy issue 20883): the inputs of a model with several are renamed to pass them.
        named = [sp.MatrixSymbol(f"x_input{k}", *s.shape) for k, s in enumerate(inputs)]
        structural = structural.xreplace(dict(zip(inputs, named)))
        inputs = named
    outputs = list(structural) if isinstance(structural, sp.Tuple) else [structural]
    params = sorted((s for s in structural.free_symbols if s in values), key=str)
    given = [a.reshape(tuple(int(d) for d in s.shape)) for a, s in zip(arrays, inputs)]
    for module in ARRAY_MODULES:
        fn = sp.lambdify([*inputs, *params], outputs, module)
        args = [*given, *[values[p] for p in params]]
        got = np.concatenate([np.asarray(o, np.float64).reshape(-1) for o in fn(*args)])
        assert relative(got, expected) <= 1e-12, module
    structural = net.structural_form()
    assert rebuilt(structural) == structural
    assert pickle.loads(pickle.dumps(structural)) == structural
    # each layer's formula: its right side, a numpy function of its inputs and parameters
    run = net.graph.run(symnet.backends.FloatBackend(np.float64),
                        net.graph.batch(arrays if len(arrays) > 1 else arrays[0]))
    for call_ in net.graph.calls:
        layer = call_.layer
        if layer.is_input:
            continue
        assert rebuilt(layer.formula) == layer.formula
        assert pickle.loads(pickle.dumps(layer.formula)) == layer.formula
        rhs = layer.formula.rhs
        sides = list(rhs) if isinstance(rhs, sp.Tuple) else [rhs]
        used = sorted((s for s in rhs.free_symbols if s in values), key=str)
        names = [sp.MatrixSymbol(f"input{k}", *s.shape) for k, s in enumerate(
            layer.input_symbols)]  # h_3^(2) and x^(1) are not identifiers (SymPy issue 20883)
        sides = [side.xreplace(dict(zip(layer.input_symbols, names))) for side in sides]
        fn = sp.lambdify([*names, *used], sides, "numpy")
        ins = [np.asarray(run[k])[0].reshape(tuple(int(d) for d in s.shape))
               for k, s in zip(call_.inputs, layer.input_symbols)]
        got = fn(*ins, *[values[p] for p in used])
        for out, value in zip(call_.outputs, got):
            assert relative(value, run[out]) <= 1e-12, layer.name


def test_latex_names_every_function(networks):
    """A network with tanh, exp, sigmoid and LayerNormalization: every function is in the
    LaTeX SymPy prints (and Jupyter shows), entrywise functions applied to their matrix."""
    net = networks["smooth"]
    closed = sp.latex(net.closed_form()[0])
    for name in (r"\tanh", "e^{", r"\sigma", r"\sqrt"):
        assert name in closed
    structural = sp.latex(net.structural_form())
    for name in (r"\tanh", "e^{", r"\sigma", r"\operatorname{mean}"):
        assert name in structural
    assert r"\mapsto" not in structural and r"\tanh{\left(b_{1} + x W_{1} \right)}" in structural
    first = net.graph.calls[0].layer
    # A layer formula is a LayerEquation: printed as the report writes it, x W + b.
    assert sp.latex(first.formula) == r"h_{1} = \tanh{\left(x W_{1} + b_{1} \right)}"
    assert str(first.formula.rhs) == "tanh(b_1 + x*W_1)"


def test_piecewise_local_law_and_parsed_formulas(keras):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(6, "relu"),
                              keras.layers.Dense(1)])
    randomize(model, 4)
    net = symnet.explain(model)
    xs = np.linspace(-4, 4, 41)
    expected = net.evaluate(xs.reshape(-1, 1), "float64").reshape(-1)
    piecewise = net.piecewise()
    law = net.why(0.7).local_law
    x = net.inputs[0]
    for module in MODULES:
        got = call(sp.lambdify([x], piecewise, module), module, xs)
        assert relative(got, expected) <= 1e-12, module
        near = call(sp.lambdify([x], law, module), module, np.array([0.7]))
        assert relative(near, net.evaluate([[0.7]], "float64")) <= 1e-12
    assert rebuilt(piecewise) == piecewise and pickle.loads(pickle.dumps(piecewise)) == piecewise
    from symnet.homework import parse_formula

    parsed = parse_formula("sigmoid(2x) + relu(x - 1) + exp(-x^2) + tanh(x)", [x])
    exact = 1 / (1 + np.exp(-2 * xs)) + np.maximum(xs - 1, 0) + np.exp(-xs**2) + np.tanh(xs)
    for module in CLOSED_MODULES:  # SymPy's own Max in it
        assert relative(call(sp.lambdify([x], parsed, module), module, xs), exact) <= 1e-12


def test_no_function_class_prints_as_an_empty_label():
    """Every function class symnet defines has a name in LaTeX, aliases included (they never
    reach an expression, but a user may make one)."""
    from symnet.functions.activations import Activation

    def classes(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from classes(sub)

    for cls in classes(Activation):
        if cls.__module__.startswith("symnet.") and not cls.__name__.startswith("_"):
            assert cls.label, cls.__name__
