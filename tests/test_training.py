"""``net.train_step`` against ``model.train_on_batch`` with a fresh Keras optimizer: SGD (momentum,
Nesterov), Adam, RMSprop, clipping and weight decay; BatchNorm in training mode; frozen
weights; what is refused."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.errors import InvalidInputError, UnsupportedLayerError

from .conftest import randomize

#: optimizer -> [max |symnet − Keras| / scale of the weights] over the tests
STEP_FIDELITY: dict[str, float] = {}

OPTIMIZERS = [
    ("sgd", {}), ("sgd", {"momentum": 0.9}), ("sgd", {"momentum": 0.8, "nesterov": True}),
    ("adam", {}), ("adam", {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-4, "amsgrad": True}),
    ("rmsprop", {}), ("rmsprop", {"rho": 0.8, "momentum": 0.5, "centered": True}),
    ("sgd", {"clipnorm": 0.05}), ("adam", {"global_clipnorm": 0.1}),
    ("rmsprop", {"clipvalue": 0.01}), ("adam", {"weight_decay": 0.1}),
]
KERAS_NAMES = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop"}


def batch(shape, n=6, seed=1):
    return np.random.default_rng(seed).normal(0.0, 1.5, (n, *shape)).astype(np.float32)


def classifier(keras, seed=0, bn_trainable=True):
    model = keras.Sequential([
        keras.Input((4,)), keras.layers.Dense(6, activation="relu"),
        keras.layers.BatchNormalization(momentum=0.9, trainable=bn_trainable),
        keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(3, activation="softmax")])
    randomize(model, seed)
    return model


def keras_step(keras, model, x, t, loss, optimizer, options, learning_rate):
    opt = getattr(keras.optimizers, KERAS_NAMES[optimizer])(learning_rate=learning_rate,
                                                            **options)
    model.compile(optimizer=opt, loss=loss, jit_compile=False)
    before = [w.copy() for w in model.get_weights()]
    value = model.train_on_batch(x, t)
    return before, model.get_weights(), float(np.asarray(value).reshape(-1)[0])


def compare(net, model, step, after, label, rtol=2e-5):
    keys = [f"{layer.name}/{p.name}" for layer in net.layers for p in layer.params if p.weight]
    assert list(step) == keys
    scale = max(1.0, max(float(np.max(np.abs(w))) for w in after))
    worst = 0.0
    for key, want in zip(keys, after):
        got = step[key]
        assert got.shape == want.shape and got.dtype == np.float32, key
        np.testing.assert_allclose(got, want, rtol=rtol, atol=2e-6 * scale, err_msg=key)
        worst = max(worst, float(np.max(np.abs(got - want))) / scale)
    STEP_FIDELITY[label] = max(STEP_FIDELITY.get(label, 0.0), worst)


@pytest.mark.parametrize(("optimizer", "options"), OPTIMIZERS)
def test_step_equals_train_on_batch(keras, optimizer, options):
    model = classifier(keras)
    net = symnet.explain(model)
    x = batch((4,))
    t = np.random.default_rng(2).integers(0, 3, (6,))
    step = net.train_step(x, t, loss="sparse_categorical_crossentropy", optimizer=optimizer,
                          learning_rate=0.05, **options)
    before, after, value = keras_step(keras, model, x, t, "sparse_categorical_crossentropy",
                                      optimizer, options, 0.05)
    assert step.loss == pytest.approx(value, rel=1e-5)
    compare(net, model, step, after, f"{optimizer} {options}")
    # BatchNorm's moving statistics moved; trainable weights moved
    bn = model.layers[1].name
    assert not np.allclose(step[f"{bn}/moving_mean"], before[4])
    assert set(step.updated) == {k for k in step if "moving" not in k}


def test_mse_regression_with_frozen_layer_and_frozen_batchnorm(keras):
    model = keras.Sequential([
        keras.Input((4,)), keras.layers.Dense(6, activation="relu", trainable=False),
        keras.layers.BatchNormalization(momentum=0.9, trainable=False),
        keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(2)])
    randomize(model, 3)
    net = symnet.explain(model)
    x, t = batch((4,)), batch((2,), seed=5)
    step = net.train_step(x, t, loss="mse", optimizer="sgd", learning_rate=0.1, momentum=0.5)
    _, after, _ = keras_step(keras, model, x, t, "mse", "sgd", {"momentum": 0.5}, 0.1)
    compare(net, model, step, after, "sgd frozen layers")
    first = model.layers[0].name
    np.testing.assert_array_equal(step[f"{first}/kernel"], net.layers[0].parameters["kernel"])
    assert not any(k.startswith(first) for k in step.updated)


def test_frozen_names_keep_their_values(keras):
    model = classifier(keras, seed=4)
    net = symnet.explain(model)
    x, t = batch((4,)), np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2]]
    last = model.layers[-1].name
    step = net.train_step(x, t, loss="categorical_crossentropy", learning_rate=0.5,
                          frozen=[f"{last}/bias", model.layers[2].name])
    np.testing.assert_array_equal(step[f"{last}/bias"], net.layer(last).parameters["bias"])
    assert f"{last}/kernel" in step.updated and f"{last}/bias" not in step.updated
    with pytest.raises(InvalidInputError, match="frozen names no weight"):
        net.train_step(x, t, loss="categorical_crossentropy", learning_rate=0.5,
                       frozen=["nope/kernel"])


def test_exact_step_equals_float64(keras):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(2)])
    randomize(model, 6)
    net = symnet.explain(model)
    x, t = batch((3,), n=2), batch((2,), n=2, seed=7)
    exact = net.train_step(x, t, loss="mse", learning_rate=0.1, precision="exact",
                           momentum=0.9, nesterov=True)
    f64 = net.train_step(x, t, loss="mse", learning_rate=0.1, precision="float64",
                         momentum=0.9, nesterov=True)
    for key in f64:
        assert all(isinstance(v, sp.Rational) for v in np.asarray(exact[key]).reshape(-1))
        np.testing.assert_allclose(np.asarray(exact[key], np.float64), f64[key], rtol=1e-12,
                                   atol=1e-14)
    adam = net.train_step(x, t, loss="mse", learning_rate=0.1, precision="exact",
                          optimizer="adam")
    adam64 = net.train_step(x, t, loss="mse", learning_rate=0.1, precision="float64",
                            optimizer="adam")
    for key in adam64:
        np.testing.assert_allclose(np.asarray(adam[key], np.float64), adam64[key], rtol=1e-12)


def test_dropout_is_refused_unless_left_out(keras):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dropout(0.4), keras.layers.Dense(1)])
    randomize(model, 8)
    net = symnet.explain(model)
    x, t = batch((3,)), batch((1,), seed=9)
    with pytest.raises(UnsupportedLayerError, match=r"dropout.*rate=0.4.*random_layers='omit'"):
        net.train_step(x, t, loss="mse", learning_rate=0.1)
    step = net.train_step(x, t, loss="mse", learning_rate=0.1, random_layers="omit")
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(1)])
    plain.set_weights(model.get_weights())
    _, after, _ = keras_step(keras, plain, x, t, "mse", "sgd", {}, 0.1)
    for got, want in zip(step.values(), after):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    noiseless = keras.Sequential([keras.Input((3,)), keras.layers.Dropout(0.0),
                                  keras.layers.GaussianNoise(0.0), keras.layers.Dense(1)])
    symnet.explain(noiseless).train_step(x, t, loss="mse", learning_rate=0.1)  # not random


@pytest.mark.parametrize("layer", [
    lambda L: L.Dense(2, kernel_regularizer="l2"),
    lambda L: L.Dense(2, bias_constraint="non_neg"),
    lambda L: L.ActivityRegularization(l1=0.1),
])
def test_training_only_options_are_refused(keras, layer):
    model = keras.Sequential([keras.Input((2,)), layer(keras.layers), keras.layers.Dense(1)])
    net = symnet.explain(model)
    with pytest.raises(UnsupportedLayerError, match="symnet does not reproduce"):
        net.train_step(batch((2,)), batch((1,)), loss="mse", learning_rate=0.1)


def test_bad_optimizer_and_options(keras):
    net = symnet.explain(classifier(keras))
    x, t = batch((4,)), np.zeros(6)
    loss = "sparse_categorical_crossentropy"
    with pytest.raises(InvalidInputError, match="optimizer must be one of"):
        net.train_step(x, t, loss=loss, optimizer="adagrad", learning_rate=0.1)
    with pytest.raises(InvalidInputError, match=r"unknown option\(s\) \['beta_1'\]"):
        net.train_step(x, t, loss=loss, optimizer="sgd", learning_rate=0.1, beta_1=0.9)
    with pytest.raises(InvalidInputError, match="learning_rate must be a number"):
        net.train_step(x, t, loss=loss, learning_rate="fast")


def test_step_fidelity_summary():
    """Keeps the figures for the report (printed with -s)."""
    for label, worst in sorted(STEP_FIDELITY.items()):
        print(f"train_step vs train_on_batch  {label:<60} {worst:.2e}")


def test_recurrent_dropout_is_refused_and_simple_rnn_steps(keras):
    model = keras.Sequential([keras.Input((3, 2)),
                              keras.layers.Bidirectional(keras.layers.SimpleRNN(
                                  2, dropout=0.2)), keras.layers.Dense(1)])
    randomize(model, 9)
    net = symnet.explain(model)
    x, t = batch((3, 2)), batch((1,), seed=10)
    with pytest.raises(UnsupportedLayerError, match=r"dropout=0.2"):
        net.train_step(x, t, loss="mse", learning_rate=0.1)
    plain = keras.Sequential([keras.Input((3, 2)),
                              keras.layers.Bidirectional(keras.layers.SimpleRNN(2)),
                              keras.layers.Dense(1)])
    plain.set_weights(model.get_weights())
    step = symnet.explain(plain).train_step(x, t, loss="mse", learning_rate=0.1,
                                            optimizer="adam")
    _, after, _ = keras_step(keras, plain, x, t, "mse", "adam", {}, 0.1)
    compare(symnet.explain(plain), plain, step, after, "adam bidirectional SimpleRNN")


@pytest.mark.parametrize(("optimizer", "options"), [
    ("adam", {}), ("rmsprop", {"rho": 0.8}), ("sgd", {"momentum": 0.8, "nesterov": True}),
    ("sgd", {"clipnorm": 0.05})])
def test_check_grades_a_step_of_any_optimizer(keras, optimizer, options):
    """A student's weights after one step of Adam, RMSprop, Nesterov's SGD or clipped SGD
    (Keras' train_on_batch computes them): right with that optimizer, wrong with plain
    gradient descent; the step taken upwards is named."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh",
                                                                    name="hidden"),
                              keras.layers.Dense(2, name="out")])
    randomize(model, 5)
    net = symnet.explain(model)
    x = batch((3,), n=4, seed=7)
    t = np.random.default_rng(8).normal(0.0, 1.0, (4, 2)).astype(np.float32)
    before, after, _ = keras_step(keras, model, x, t, "mse", optimizer, options, 0.05)
    keys = ["hidden/kernel", "hidden/bias", "out/kernel", "out/bias"]
    updated = {k: w.astype(np.float64) for k, w in zip(keys, after)}
    common = dict(target=t, loss="mse", learning_rate=0.05, updated=updated, digits=4)
    right = symnet.check(net, x, optimizer=optimizer, optimizer_options=options, **common)
    assert right.correct, right.summary()
    plain = symnet.check(net, x, **common)
    assert not plain.correct, plain.summary()
    upwards = {k: 2 * w0 - w1 for k, w0, w1 in zip(keys, before, after)}
    wrong = symnet.check(net, x, optimizer=optimizer, optimizer_options=options,
                         **{**common, "updated": upwards})
    assert not wrong.correct and wrong.diagnosis.code == "gradient_ascent", wrong.summary()
    with pytest.raises(InvalidInputError, match="unknown option"):
        symnet.check(net, x, optimizer=optimizer, optimizer_options={"beta": 1}, **common)
