"""Gradients of the real models in ../shared/wild-models/ and ../shared/onnx-models/: equal to
``tf.GradientTape`` for each Keras model (their LSTMs too), a directional finite difference for
each ONNX file — or refused by name."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import symnet
from symnet import SymnetWarning, UnsupportedLayerError

from .conftest import require_onnx_models, require_wild_models
from .gradtools import assert_gradient
from .test_onnx_models import DIMS, REFUSED, _files
from .test_wild_models import EXPLAINED, inputs_for


@pytest.mark.parametrize("name", EXPLAINED)
def test_real_keras_model_gradient_is_the_tape(keras, name):
    folder = require_wild_models()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SymnetWarning)
        net = symnet.explain(folder / name)
    model = net.model
    x = inputs_for(model, 3)
    y = net.evaluate(x)
    outputs = y if isinstance(y, list) else [y]
    rng = np.random.default_rng(1)
    t = [rng.normal(size=np.shape(a)).astype(np.float32) for a in outputs]
    target = t if len(t) > 1 else t[0]
    integer = any("int" in str(tensor.dtype) for tensor in model.inputs)
    assert_gradient(keras, model, x, target, "mse", family="real Keras models", exact=False,
                    input_gradient=not integer, rtol=1e-3)


#: 224×224 images through dozens of ReLUs: a finite step crosses kinks, and the difference
#: quotient converges to the gradient only as the step shrinks (resnet_tommyhuang821: 0.1297,
#: 0.1242, 0.1234, 0.1230 for steps 1e-4 … 1e-7, the gradient 0.1228).
LARGE = {"resnet_tommyhuang821.onnx", "unet_sasekazu.onnx"}


@pytest.mark.parametrize("name", [n for n in _files() if n not in LARGE])
def test_real_onnx_model_gradient_is_a_directional_derivative(name):
    _directional(name, steps=(1e-5,), rtol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LARGE))
def test_large_onnx_models_difference_quotients_converge_to_the_gradient(name):
    _directional(name, steps=(1e-4, 1e-7), rtol=1e-2)


def _directional(name, steps, rtol):
    folder = require_onnx_models()
    if name in REFUSED:
        return  # refused when read, by node (tests/test_onnx_models.py)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SymnetWarning)
        net = symnet.explain(folder / name, dims=DIMS.get(name))
    rng = np.random.default_rng(2)
    x = [rng.normal(size=(1, *s)) for s in net.input_shapes]
    x = x if len(x) > 1 else x[0]
    y = net.evaluate(x, "float64")
    outputs = y if isinstance(y, list) else [y]
    t = [rng.normal(size=np.shape(a)) for a in outputs]
    target = t if len(t) > 1 else t[0]
    try:
        g = net.gradient(x, target, loss="mse", precision="float64")
    except UnsupportedLayerError as exc:
        assert "no gradient" in str(exc) and "layer" in str(exc)
        return
    xs = x if isinstance(x, list) else [x]
    gs = g.input if isinstance(g.input, list) else [g.input]
    direction = [rng.normal(size=a.shape) for a in xs]

    def loss_at(step):
        moved = [a + step * d for a, d in zip(xs, direction)]
        return net.gradient(moved if len(moved) > 1 else moved[0], target, loss="mse",
                            precision="float64").loss

    analytic = sum(float(np.sum(a * d)) for a, d in zip(gs, direction))
    errors = [abs((loss_at(h) - loss_at(-h)) / (2 * h) - analytic) for h in steps]
    assert errors[-1] <= rtol * abs(analytic) + 1e-7, (errors, analytic)
    assert errors == sorted(errors, reverse=True)  # smaller steps, closer
