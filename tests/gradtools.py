"""Gradients against ``tf.GradientTape`` through ``model(x, training=False)`` with Keras' own
loss, and the exact gradient against the float64 one; the figures per layer family are
printed at the end of the session (``GRADIENT_FIDELITY``)."""

from __future__ import annotations

import numpy as np
import sympy as sp

#: family -> [max |float32 − tape| / scale, max |exact − float64| / scale]
GRADIENT_FIDELITY: dict[str, list[float]] = {}

KERAS_LOSSES = {
    "mse": "MeanSquaredError", "mean_squared_error": "MeanSquaredError",
    "mae": "MeanAbsoluteError", "mean_absolute_error": "MeanAbsoluteError",
    "binary_crossentropy": "BinaryCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
}


def summary(reporter) -> None:
    if not GRADIENT_FIDELITY:
        return
    reporter.section("gradients against tf.GradientTape (float32), per family")
    reporter.write_line(f"{'family':<34}{'|g32-tape|/s':>14}{'|exact-f64|/s':>15}")
    for family in sorted(GRADIENT_FIDELITY):
        a, e = GRADIENT_FIDELITY[family]
        shown = f"{e:>15.2e}" if e >= 0 else f"{'-':>15}"
        reporter.write_line(f"{family:<34}{a:>14.2e}{shown}")


def record(family: str, tape_diff: float, exact_diff: float = -1.0) -> None:
    old = GRADIENT_FIDELITY.setdefault(family, [0.0, -1.0])
    GRADIENT_FIDELITY[family] = [max(old[0], tape_diff), max(old[1], exact_diff)]


def keras_loss(keras, loss, t, y):
    """The loss as Keras computes it (summed over the outputs of a multi-output model); a
    formula loss given as a callable of (t, y) on tensors."""
    import tensorflow as tf

    ys = y if isinstance(y, (list, tuple)) else [y]
    ts = t if isinstance(t, (list, tuple)) and len(ys) > 1 else [t]
    total = 0.0
    for target, out in zip(ts, ys):
        if callable(loss):
            total = total + tf.reduce_sum(loss(tf.cast(target, out.dtype), out))
        else:
            total = total + getattr(keras.losses, KERAS_LOSSES[loss])()(target, out)
    return total


def tape(keras, model, x, t, loss):
    """(loss, gradient of every weight in ``model.weights`` order, gradient of each input)."""
    import tensorflow as tf

    xs = [tf.constant(a) for a in (x if isinstance(x, list) else [x])]
    with tf.GradientTape(persistent=True) as tp:
        for a in xs:
            tp.watch(a)
        for v in model.weights:
            tp.watch(v.value if hasattr(v, "value") else v)
        y = model(xs if isinstance(x, list) else xs[0], training=False)
        value = keras_loss(keras, loss, t, y)
    weights = [None if w is None else tf.convert_to_tensor(w).numpy() for w in tp.gradient(
        value, [v.value if hasattr(v, "value") else v for v in model.weights])]
    inputs = [None if g is None else g.numpy() for g in tp.gradient(value, xs)]
    return float(value), weights, inputs


def weight_keys(net, model) -> dict[int, str]:
    """id(Keras variable) -> symnet's key ``layer_name/weight_name``, layer by layer in
    ``get_weights()`` order (Keras' own paths vary: a Sequential built in code prefixes its
    name, a wrapped layer adds the inner layer's, a loaded one may not). A nested model's
    layers are named by their path (``inner_model/dense``) in symnet: their variables are
    matched by name and value."""
    keys = {}
    names = {layer.name for layer in net.layers}
    loose = []
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name not in names:
            loose.extend(layer.weights)
            continue
        ours = [p for p in net.layer(layer.name).params if p.weight]
        assert len(ours) == len(layer.weights), (layer.name, ours, layer.weights)
        for variable, p in zip(layer.weights, ours):
            assert p.name.split("/")[-1] == variable.name, (p.name, variable.name)
            keys[id(variable)] = f"{layer.name}/{p.name}"
    candidates = [(f"{layer.name}/{p.name}", p) for layer in net.layers for p in layer.params
                  if p.weight]
    for variable in loose:
        value = np.asarray(variable.numpy())
        found = [k for k, p in candidates if p.name.split("/")[-1] == variable.name
                 and p.value.shape == value.shape and np.array_equal(p.value, value)
                 and k not in keys.values()]
        assert found, variable.path
        keys[id(variable)] = found[0]
    return keys


def assert_gradient(keras, model, x, t, loss="mse", *, family: str, exact: bool | int = True,
                    symnet_loss=None, rtol: float = 2e-4, atol: float = 2e-5,
                    input_gradient: bool = True):
    """``net.gradient`` in float32 and float64 equals the tape; the exact gradient of the
    first ``exact`` samples equals the float64 one. Returns the float32 gradient."""
    import symnet

    net = symnet.explain(model)
    name = symnet_loss if symnet_loss is not None else loss
    value, weights, inputs = tape(keras, model, x, t, loss)
    g32 = net.gradient(x, t, loss=name)
    g64 = net.gradient(x, t, loss=name, precision="float64")
    assert np.isclose(g32.loss, value, rtol=1e-5, atol=1e-6), (g32.loss, value)
    grads = [w for w in weights if w is not None] + ([i for i in inputs] if input_gradient
                                                    else [])
    scale = max([1.0] + [float(np.max(np.abs(np.asarray(w)))) for w in grads])
    worst = 0.0
    pairs = []
    names = weight_keys(net, model)
    for variable, expected in zip(model.weights, weights):
        key = names[id(variable)]
        assert key in g32.parameters, (key, list(g32.parameters))
        if expected is None:
            # Keras' Normalization computes with copies of its adapted statistics: the tape
            # sees no path to those (non-trainable) variables
            assert not variable.trainable, key
            continue
        expected = np.asarray(expected)
        pairs.append((key, g32.parameters[key], g64.parameters[key], expected))
    if input_gradient:
        ours = g32.input if isinstance(x, list) else [g32.input]
        ours64 = g64.input if isinstance(x, list) else [g64.input]
        for k, (a, b, e) in enumerate(zip(ours, ours64, inputs)):
            pairs.append((f"input {k}", a, b, np.asarray(e)))
    for key, got, got64, expected in pairs:
        assert got.shape == expected.shape, (key, got.shape, expected.shape)
        assert got.dtype == np.float32 and got64.dtype == np.float64, key
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol * scale, err_msg=key)
        np.testing.assert_allclose(got64, expected, rtol=rtol, atol=atol * scale, err_msg=key)
        worst = max(worst, float(np.max(np.abs(got - expected), initial=0.0)) / scale)
    exact_diff = -1.0
    if exact:
        n = int(exact)
        first = [a[:n] for a in x] if isinstance(x, list) else x[:n]
        tfirst = [a[:n] for a in t] if isinstance(t, list) else t[:n]
        ge = net.gradient(first, tfirst, loss=name, precision="exact")
        gf = net.gradient(first, tfirst, loss=name, precision="float64")
        assert isinstance(ge.loss, sp.Number)
        exact_diff = abs(float(ge.loss) - gf.loss) / max(1.0, abs(gf.loss))
        for key in gf.parameters:
            e = np.asarray(ge.parameters[key], dtype=np.float64)
            f = gf.parameters[key]
            s = max(1.0, float(np.max(np.abs(f), initial=0.0)))
            np.testing.assert_allclose(e, f, rtol=1e-9, atol=1e-11 * s, err_msg=key)
            exact_diff = max(exact_diff, float(np.max(np.abs(e - f), initial=0.0)) / s)
    record(family, worst, exact_diff)
    return g32


def with_param(op, param, value: np.ndarray):
    """The op with one parameter array replaced (found by identity: a field, or an entry of a
    tuple field)."""
    import dataclasses

    from symnet.ops import Param

    new = Param(param.name, param.symbol, value, param.trainable, param.meaning, param.weight)
    changes = {}
    for f in dataclasses.fields(op):
        current = getattr(op, f.name)
        if current is param:
            changes[f.name] = new
        elif isinstance(current, tuple) and any(c is param for c in current):
            changes[f.name] = tuple(new if c is param else c for c in current)
    assert changes, (op, param.name)
    return dataclasses.replace(op, **changes)


def assert_backward_is_the_difference(op, xs: list[np.ndarray], g: np.ndarray, grads, name: str,
                                      backend, h: float = 1e-6) -> None:
    """``op.backward``'s gradients (``grads``, for the cotangent ``g`` at ``xs``) equal the
    central differences of ``sum(forward · g)``, for every input and every parameter array."""
    def loss(o, arrays):
        return float(np.sum(np.asarray(o.forward(backend, *arrays), np.float64) * g))

    for k, x in enumerate(xs):
        numeric = np.zeros_like(x)
        for index in np.ndindex(*x.shape):
            up, down = [a.copy() for a in xs], [a.copy() for a in xs]
            up[k][index] += h
            down[k][index] -= h
            numeric[index] = (loss(op, up) - loss(op, down)) / (2 * h)
        np.testing.assert_allclose(grads.inputs[k], numeric, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name}: input {k}")
    for param, got in grads.params.items():
        value = np.asarray(param.value, np.float64)
        numeric = np.zeros_like(value)
        for index in np.ndindex(*value.shape):
            up, down = value.copy(), value.copy()
            up[index] += h
            down[index] -= h
            numeric[index] = (loss(with_param(op, param, up), xs)
                              - loss(with_param(op, param, down), xs)) / (2 * h)
        np.testing.assert_allclose(np.asarray(got, np.float64), numeric, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name}: {param.name}")
        assert np.shape(got) == param.shape
