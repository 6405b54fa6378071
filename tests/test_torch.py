"""PyTorch modules: ``explain(module, example_input=...)`` exports with PyTorch's own exporter
and reads the result. The seed regressor as ``nn.Sequential(Linear, ReLU, Linear)`` with the
seed's weights (transposed, as PyTorch stores them) gives the seed's numbers, and ``why`` says
what it says of the Keras file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import symnet

from .conftest import require_torch

SEED = Path(symnet.__file__).parent / "examples" / "seed_regressor.keras"


@pytest.fixture(scope="module")
def seed_pair():
    torch = require_torch()
    keras_net = symnet.explain(SEED, reader="file")
    kernel1, bias1 = (keras_net.layers[0].parameters[k] for k in ("kernel", "bias"))
    kernel2, bias2 = (keras_net.layers[1].parameters[k] for k in ("kernel", "bias"))
    module = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    with torch.no_grad():
        module[0].weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel1.T)))
        module[0].bias.copy_(torch.from_numpy(bias1))
        module[2].weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel2.T)))
        module[2].bias.copy_(torch.from_numpy(bias2))
    net = symnet.explain(module, example_input=torch.zeros(1, 1))
    return keras_net, net, module


def test_seed_regressor_numbers(seed_pair):
    keras_net, net, module = seed_pair
    import torch

    assert net.framework == "pytorch"
    value = float(np.asarray(net.evaluate(10)).reshape(-1)[0])
    assert round(value, 4) == 25.0047
    with torch.no_grad():
        assert value == float(module(torch.tensor([[10.0]]))[0, 0])  # the module's own forward
    exact = np.asarray(net.evaluate(10, "exact")).reshape(-1)[0]
    assert exact == np.asarray(keras_net.evaluate(10, "exact")).reshape(-1)[0]
    xs = np.linspace(-5, 25, 31, dtype=np.float32).reshape(-1, 1)
    np.testing.assert_allclose(np.asarray(net.evaluate(xs)).reshape(-1),
                               net.reference([xs])[0].reshape(-1), rtol=1e-6, atol=1e-6)


def test_names_layout_and_modules(seed_pair):
    _, net, _ = seed_pair
    from symnet.report.latex import latex

    assert [(layer.name, layer.kind) for layer in net.layers] == [
        ("0", "Linear"), ("1", "ReLU"), ("2", "Linear")]
    assert [p.name for p in net.layers[0].params] == ["0.weight", "0.bias"]
    assert net.layers[0].params[0].shape == (16, 1)  # (out, in), as state_dict holds it
    assert latex(net.layers[0].formula) == r"h_{1} = x W_{1}^{T} + b_{1}"


def test_why_says_the_same_as_for_the_keras_file(seed_pair):
    keras_net, net, _ = seed_pair
    ours = net.why(10, target="2*x + 5", domain=(0, 20))
    theirs = keras_net.why(10, target="2*x + 5", domain=(0, 20))
    assert ours.value == theirs.value
    assert ours.local_law == theirs.local_law
    assert ours.region == theirs.region
    assert ours.without_activation == theirs.without_activation
    assert ours.target_error == theirs.target_error
    assert ours.max_target_error == theirs.max_target_error
    assert [list(v) for v in ours.active.values()] == [list(v) for v in theirs.active.values()]
    assert [list(v) for v in ours.dead_units.values()] == [
        list(v) for v in theirs.dead_units.values()]
    assert sorted(ours.contributions.values()) == sorted(theirs.contributions.values())
    # The terms named as PyTorch stores the weight: W_3[0, j] for h_2[j].
    assert "h_2[5]·W_3[0,5]" in ours.contributions
    assert "(float32, as the module's forward)" in ours.summary()
    assert "(float32, as model.predict)" in theirs.summary()
    assert net.piecewise() .args[0][0] == keras_net.piecewise().args[0][0]


def test_transposed_weight_mistake():
    """The PyTorch student's mistake: x·W for x·Wᵀ (a square weight)."""
    torch = require_torch()
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    net = symnet.explain(module, example_input=torch.zeros(1, 3))
    x = np.array([0.5, -1.0, 2.0], np.float32)
    w, b = module[0].weight.detach().numpy(), module[0].bias.detach().numpy()
    w2, b2 = module[2].weight.detach().numpy(), module[2].bias.detach().numpy()
    wrong = np.maximum(x.astype(np.float64) @ w + b, 0) @ w2.T + b2  # W not transposed
    verdict = symnet.check(net, x, answer=f"{float(wrong[0]):.6f}")
    assert not verdict.correct
    assert verdict.diagnosis.code == "transposed_kernel"
    assert "PyTorch" in verdict.diagnosis.message


def test_a_module_needs_an_example_input():
    torch = require_torch()
    with pytest.raises(symnet.InvalidInputError, match="example_input"):
        symnet.explain(torch.nn.Linear(2, 1))


def test_convolution_module_grouped_by_module():
    torch = require_torch()
    torch.manual_seed(1)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 2, 3, padding=1)
            self.bn = torch.nn.BatchNorm2d(2)
            self.fc1 = torch.nn.Linear(2 * 4 * 4, 3)

        def forward(self, x):
            h = torch.relu(self.bn(self.conv(x)))
            return self.fc1(torch.flatten(torch.nn.functional.max_pool2d(h, 2), 1))

    module = Net()
    with torch.no_grad():
        module.bn.running_mean.uniform_(-0.5, 0.5)
        module.bn.running_var.uniform_(0.5, 2.0)
    net = symnet.explain(module, example_input=torch.zeros(1, 1, 8, 8))
    names = [layer.name for layer in net.layers]
    assert names[:2] == ["conv", "bn"] and "fc1" in names
    assert [p.name for p in net.layer("bn").params] == [
        "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(net.evaluate(x.reshape((3, *net.input_shapes[0])))
                                          ).reshape(3, -1),
                               net.reference([x.reshape((3, *net.input_shapes[0]))])[0],
                               rtol=1e-5, atol=1e-5)


def test_embedding_module():
    """nn.Embedding exported (Gather of emb.weight at the int64 input): the lookup, equal to
    the module's forward, exact in rationals; indices out of the table refused."""
    torch = require_torch()
    torch.manual_seed(2)

    class Bag(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(10, 4)
            self.fc = torch.nn.Linear(4, 2)

        def forward(self, idx):
            return self.fc(self.emb(idx)).mean(dim=1)

    module = Bag()
    net = symnet.explain(module, example_input=torch.tensor([[1, 2, 3]]))
    assert [(layer.name, layer.kind) for layer in net.layers][:2] == [
        ("emb", "Embedding"), ("fc", "Linear")]
    assert [p.name for p in net.layer("emb").params] == ["emb.weight"]
    idx = np.array([[1, 2, 3], [9, 0, 4], [5, 5, 5]])
    with torch.no_grad():
        theirs = module(torch.as_tensor(idx)).numpy()
    np.testing.assert_allclose(net.evaluate(idx), theirs, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(net.reference([idx])[0], theirs, rtol=0, atol=0)
    table = module.emb.weight.detach().numpy().astype(np.float64)
    w, b = (t.detach().numpy().astype(np.float64) for t in (module.fc.weight, module.fc.bias))
    np.testing.assert_allclose(np.asarray(net.evaluate(idx[:1], "exact"), np.float64),
                               (table[idx[0]] @ w.T + b).mean(axis=0, keepdims=True),
                               rtol=1e-12)
    with pytest.raises(symnet.InvalidInputError, match="whole indices from 0 to 9"):
        net.evaluate([[1, 10, 2]])


def test_attention_block_module():
    """A class token joined to the tokens, LayerNorm, Q·Kᵀ/2, softmax, ·V, GELU, a mean: the
    products of computed tensors equal the module's forward."""
    torch = require_torch()
    torch.manual_seed(3)

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = torch.nn.LayerNorm(4)
            self.q, self.k, self.v = (torch.nn.Linear(4, 4) for _ in range(3))
            self.act = torch.nn.GELU()
            self.cls = torch.nn.Parameter(torch.randn(1, 1, 4))

        def forward(self, x):
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
            h = self.norm(x)
            a = torch.softmax(self.q(h) @ self.k(h).transpose(1, 2) / 2.0, dim=-1)
            return self.act(a @ self.v(h)).mean(dim=1)

    module = Block()
    net = symnet.explain(module, example_input=torch.zeros(1, 3, 4))
    x = np.random.default_rng(4).normal(size=(3, 3, 4)).astype(np.float32)
    batch = x.reshape((3, *net.input_shapes[0]))
    np.testing.assert_allclose(np.asarray(net.evaluate(batch)).reshape(3, -1),
                               net.reference([batch])[0], rtol=1e-5, atol=1e-6)
    kinds = [layer.kind for layer in net.layers]
    assert "LayerNorm" in kinds and "GELU" in kinds and kinds.count("MatMul") == 2
    assert [p.name for p in net.layer("cat").params] == ["cls"]
