"""Gradients of PyTorch modules (read through ONNX) against PyTorch's own autograd: weights
stored (out, in) as ``Linear`` keeps them, convolutions with output channels first,
transposed convolutions, arithmetic with constant arrays; keys are the ``state_dict``'s."""

from __future__ import annotations

import numpy as np
import pytest

import symnet
from symnet.errors import UnsupportedLayerError

from .conftest import require_torch
from .gradtools import record


def torch_gradient(module, x, t):
    torch = require_torch()
    xt = torch.tensor(x, requires_grad=True)
    loss = torch.nn.functional.mse_loss(module(xt), torch.tensor(t))
    module.zero_grad()
    loss.backward()
    return float(loss), {k: v.grad.numpy() for k, v in module.named_parameters()}, \
        xt.grad.numpy()


def check(module, x, t, family):
    torch = require_torch()
    module.eval()
    net = symnet.explain(module, example_input=torch.tensor(x[:1]))
    value, weights, dx = torch_gradient(module, x, t)
    g = net.gradient(x, t, loss="mse")
    assert g.loss == pytest.approx(value, rel=1e-5)
    scale = max([1.0] + [float(np.abs(w).max()) for w in weights.values()])
    worst = float(np.abs(g.input - dx).max()) / scale
    np.testing.assert_allclose(g.input, dx, rtol=2e-4, atol=2e-5 * scale)
    for key, want in weights.items():
        assert key in g.parameters, (key, list(g.parameters))
        np.testing.assert_allclose(g.parameters[key], want, rtol=2e-4, atol=2e-5 * scale,
                                   err_msg=key)
        worst = max(worst, float(np.abs(g.parameters[key] - want).max()) / scale)
    exact = net.gradient(x[:1], t[:1], loss="mse", precision="exact")
    f64 = net.gradient(x[:1], t[:1], loss="mse", precision="float64")
    exact_diff = 0.0
    for key in f64.parameters:
        e = np.asarray(exact.parameters[key], np.float64)
        np.testing.assert_allclose(e, f64.parameters[key], rtol=1e-9, atol=1e-12)
        exact_diff = max(exact_diff, float(np.abs(e - f64.parameters[key]).max()))
    record(family, worst, exact_diff)
    return net


def data(*shape, n=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32)


def test_linear_layers():
    torch = require_torch()
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    net = check(module, data(3), data(2, seed=1), "PyTorch Linear")
    assert set(net.gradient(data(3), data(2, seed=1), loss="mse").parameters) == {
        "0.weight", "0.bias", "2.weight", "2.bias"}


def test_convolutions_pooling_and_batchnorm():
    torch = require_torch()
    torch.manual_seed(1)
    module = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1, groups=2), torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.ConvTranspose2d(4, 2, 2, stride=2),
        torch.nn.AvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(2 * 3 * 3, 3),
        torch.nn.Sigmoid())
    with torch.no_grad():
        module[1].running_mean.normal_()
        module[1].running_var.uniform_(0.5, 2.0)
        module[1].weight.uniform_(0.5, 1.5)
    check(module, data(2, 6, 6), data(3, seed=2), "PyTorch Conv2d, BatchNorm2d, pools")


def test_arithmetic_with_constants():
    torch = require_torch()
    torch.manual_seed(2)

    class Scaled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("shift", torch.tensor([0.5, -1.0, 2.0]))
            self.linear = torch.nn.Linear(3, 2)

        def forward(self, x):
            return self.linear((x - self.shift) / 2.0) * 3.0 + 1.0

    check(Scaled(), data(3), data(2, seed=3), "PyTorch arithmetic with constants")


def test_one_sgd_step_and_batchnorm_refused():
    torch = require_torch()
    torch.manual_seed(3)
    module = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    module.eval()
    x, t = data(3), data(1, seed=4)
    net = symnet.explain(module, example_input=torch.tensor(x[:1]))
    step = net.train_step(x, t, loss="mse", learning_rate=0.1)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    optimizer.zero_grad()
    torch.nn.functional.mse_loss(module(torch.tensor(x)), torch.tensor(t)).backward()
    optimizer.step()
    for key, value in module.state_dict().items():
        np.testing.assert_allclose(step[key], value.numpy(), rtol=1e-6, atol=1e-7, err_msg=key)
    bn = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    bn.eval()
    net = symnet.explain(bn, example_input=torch.tensor(x[:1]))
    with pytest.raises(UnsupportedLayerError, match="no Keras training mode"):
        net.train_step(x, data(2, seed=5), loss="mse", learning_rate=0.1)


def test_attention_products_reductions_and_a_class_token():
    """What the ONNX work added, against autograd: products of computed tensors (Q·Kᵀ, A·V),
    a class token joined to the tokens (a parameter), a LayerNorm and GELU spelled out
    (mean, square, √, ÷, erf), a mean over the tokens."""
    torch = require_torch()
    torch.manual_seed(4)

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.cls = torch.nn.Parameter(torch.randn(1, 1, 4))
            self.q, self.k, self.v = (torch.nn.Linear(4, 4) for _ in range(3))
            self.gamma = torch.nn.Parameter(torch.rand(4) + 0.5)

        def forward(self, x):
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
            d = x - x.mean(dim=-1, keepdim=True)
            h = d / torch.sqrt((d ** 2).mean(dim=-1, keepdim=True) + 1e-5) * self.gamma
            a = torch.softmax(self.q(h) @ self.k(h).transpose(1, 2) / 2.0, dim=-1)
            o = a @ self.v(h)
            return (o * 0.5 * (1.0 + torch.erf(o / 1.4142135))).mean(dim=1)

    net = check(Block(), data(3, 4), data(4, seed=5), "PyTorch attention (products, reductions)")
    from symnet.ops.tensors import Joined, Product, Reduce

    ops = {type(n.op) for n in net.graph.nodes}
    assert {Joined, Product, Reduce} <= ops


def test_embedding_gradient():
    """The table's rows collect the gradient of the positions that read them; the integer
    input has none."""
    torch = require_torch()
    torch.manual_seed(5)

    class Bag(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(6, 3)
            self.fc = torch.nn.Linear(3, 2)

        def forward(self, idx):
            return self.fc(self.emb(idx)).mean(dim=1)

    module = Bag().eval()
    idx = np.array([[1, 2, 2], [5, 0, 1]])
    t = data(2, n=2, seed=6)
    net = symnet.explain(module, example_input=torch.tensor(idx[:1]))
    loss = torch.nn.functional.mse_loss(module(torch.tensor(idx)), torch.tensor(t))
    module.zero_grad()
    loss.backward()
    g = net.gradient(idx, t, loss="mse")
    assert g.loss == pytest.approx(float(loss), rel=1e-5)
    for key, value in module.named_parameters():
        np.testing.assert_allclose(g.parameters[key], value.grad.numpy(), rtol=2e-5,
                                   atol=1e-7, err_msg=key)


def test_a_step_trains_the_parameters_only():
    """A module's buffer and its forward's constants (÷ 2, × 3, + 1: stored by the export as
    arrays beside the weights) are not trained: one SGD step changes what
    torch.optim.SGD(module.parameters()) changes, and nothing else."""
    torch = require_torch()
    torch.manual_seed(4)

    class Scaled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("shift", torch.tensor([0.5, -1.0, 2.0]))
            self.linear = torch.nn.Linear(3, 2)

        def forward(self, x):
            return self.linear((x - self.shift) / 2.0) * 3.0 + 1.0

    module = Scaled().eval()
    x, t = data(3, seed=6), data(2, seed=7)
    net = symnet.explain(module, example_input=torch.tensor(x[:1]))
    trained = {n for n, _ in module.named_parameters()}
    step = net.train_step(x, t, loss="mse", learning_rate=0.1)
    assert set(step.updated) == trained, step.updated
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    optimizer.zero_grad()
    torch.nn.functional.mse_loss(module(torch.tensor(x)), torch.tensor(t)).backward()
    optimizer.step()
    for key, value in module.state_dict().items():
        np.testing.assert_allclose(step[key], value.numpy(), rtol=1e-6, atol=1e-7, err_msg=key)
    constants = [p for layer in net.layers for p in layer.params if p.name not in trained]
    assert constants and not any(p.trainable for p in constants)
    for p in constants:  # the shift buffer and the three numbers of the forward, unchanged
        assert np.array_equal(step[p.name], p.value), p.name
