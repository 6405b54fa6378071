"""The exact backend: FLINT products, piece laws and remembered function values give the very
rationals of the plain ``Fraction`` arithmetic it replaced, on every network kind; square roots
correctly rounded, as a reference computed another way (mpmath) rounds them."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symnet
from symnet.backends import ExactBackend
from symnet.backends.exact import FractionBackend

from .conftest import randomize


def both(net, x):
    """Every tensor of a run on the new backend and on the old one, and the outputs."""
    new, old = ExactBackend(), FractionBackend()
    ours = net.graph.run(new, net.graph.batch(x, exact=True))
    theirs = net.graph.run(old, net.graph.batch(x, exact=True))
    assert new.inexact == old.inexact
    for key in net.graph.outputs:
        got, want = new.finish(ours[key]), old.finish(theirs[key])
        assert got.shape == want.shape
        assert all(type(a) is type(b) and a == b for a, b in
                   zip(got.reshape(-1), want.reshape(-1)))
    return ours, theirs


def assert_identical(ours, theirs):
    assert ours.keys() == theirs.keys()
    for key in ours:
        a, b = np.asarray(ours[key]), np.asarray(theirs[key])
        assert a.shape == b.shape, key
        assert all(type(u) is Fraction and u == v for u, v in zip(a.reshape(-1),
                                                                  b.reshape(-1))), key


def mlp(keras, *middle, inputs=5, outputs=3, seed=0):
    model = keras.Sequential([keras.Input((inputs,)), *middle, keras.layers.Dense(outputs)])
    randomize(model, seed)
    return model


NETS = {
    "relu": lambda k: [k.layers.Dense(7, activation="relu")],
    "bn_relu_softmax": lambda k: [k.layers.Dense(6), k.layers.BatchNormalization(),
                                  k.layers.Activation("relu"), k.layers.Dense(4),
                                  k.layers.Activation("softmax")],
    "relu_options": lambda k: [k.layers.Dense(8), k.layers.ReLU(max_value=1.0,
                                                                negative_slope=0.1,
                                                                threshold=0.2)],
    "leaky_hard_sigmoid": lambda k: [k.layers.Dense(6), k.layers.LeakyReLU(0.3),
                                     k.layers.Dense(6, activation="hard_sigmoid")],
    "prelu": lambda k: [k.layers.Dense(6), k.layers.PReLU()],
    "tanh_layernorm": lambda k: [k.layers.Dense(6, activation="tanh"),
                                 k.layers.LayerNormalization()],
}


@pytest.mark.parametrize("name", sorted(NETS))
def test_exact_is_the_fraction_arithmetic(keras, name):
    net = symnet.explain(mlp(keras, *NETS[name](keras), seed=len(name)))
    x = np.random.default_rng(len(name)).normal(size=(4, 5))
    x[0, 0] = 0.0
    assert_identical(*both(net, x))


def test_exact_kinks_and_exact_inputs(keras):
    """Inputs on the kinks (where a ReLU's threshold jumps) and rationals that are not floats."""
    model = keras.Sequential([keras.Input((6,)), keras.layers.ReLU(max_value=2.0,
                                                                   negative_slope=0.25,
                                                                   threshold=0.5)])
    net = symnet.explain(model)
    x = np.array([[Fraction(1, 2), Fraction(2), Fraction(0), Fraction(-1, 3), Fraction(7, 5),
                   Fraction(5, 2)]], dtype=object)
    assert_identical(*both(net, x))
    assert list(net.evaluate(x, "exact").reshape(-1)) == [
        Fraction(0), Fraction(2), Fraction(-1, 8), Fraction(-5, 24), Fraction(7, 5),
        Fraction(2)]


def test_exact_convolution_and_recurrence(keras):
    """Products of weights that are not a layer's kernel (windows, recurrent matrices)."""
    conv = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Conv2D(3, 3, activation="relu"),
                             keras.layers.Flatten(), keras.layers.Dense(2)])
    randomize(conv, 3)
    x = np.random.default_rng(3).normal(size=(2, 6, 6, 2))
    assert_identical(*both(symnet.explain(conv), x))
    rnn = keras.Sequential([keras.Input((3, 2)), keras.layers.SimpleRNN(3, activation="relu"),
                            keras.layers.Dense(1)])
    randomize(rnn, 4)
    x = np.random.default_rng(4).normal(size=(2, 3, 2))
    assert_identical(*both(symnet.explain(rnn), x))


def test_exact_regressor_is_unchanged():
    net = symnet.explain(symnet.examples.regressor_2x_plus_5())
    x = np.array([[10.0], [0.0], [-3.5]])
    ours, theirs = both(net, x)
    assert_identical(ours, theirs)


@pytest.mark.slow
def test_exact_seed_mlp_is_unchanged():
    net = symnet.explain(symnet.examples.seed_mlp())
    x = np.random.default_rng(0).normal(size=(2, 1120))
    assert_identical(*both(net, x))
    # a second run reuses the weights' integer matrices and square roots: still the same
    assert_identical(*both(net, x))


@pytest.mark.filterwarnings("ignore::symnet.SymnetWarning")
def test_nan_weights_are_refused(keras):
    from symnet import InvalidInputError

    model = mlp(keras, keras.layers.Dense(3, activation="relu"))
    kernel = model.layers[0].get_weights()
    kernel[0][0, 0] = np.nan
    model.layers[0].set_weights(kernel)
    with pytest.raises(InvalidInputError, match="finite weights"):
        symnet.explain(model).evaluate(np.zeros((1, 5)), "exact")


@settings(max_examples=300, deadline=None)
@given(num=st.integers(1, 2**200), den=st.integers(1, 2**200))
def test_square_roots_are_correctly_rounded(num, den):
    """The root has ROOT_BITS significant bits and is the nearest such number to the true
    root: ``(2n - 1)² <= 4·v·4^k < (2n + 1)²`` in integers, with ``root = n / 2^k``."""
    from symnet.backends.exact import ROOT_BITS, correctly_rounded_root

    v = Fraction(num, den)
    root, rounded = correctly_rounded_root(v)
    if not rounded:
        assert root * root == v
        return
    assert root.denominator & (root.denominator - 1) == 0  # a dyadic rational
    n, k = root.numerator, root.denominator.bit_length() - 1  # root = n / 2^k
    shift = ROOT_BITS - n.bit_length()  # the same number written with ROOT_BITS bits
    if shift < 0:
        assert n % (1 << -shift) == 0  # no more significant bits than ROOT_BITS
        n >>= -shift
    else:
        n <<= shift
    k += shift
    assert n.bit_length() == ROOT_BITS
    four_a = 4 * v * Fraction(4) ** k
    assert (2 * n - 1) ** 2 <= four_a < (2 * n + 1) ** 2


def test_perfect_squares_stay_exact():
    from symnet.backends.exact import correctly_rounded_root

    assert correctly_rounded_root(Fraction(9, 16)) == (Fraction(3, 4), False)
    assert correctly_rounded_root(Fraction(0)) == (Fraction(0), False)
    root, rounded = correctly_rounded_root(Fraction(2))
    assert rounded and abs(float(root) - 2**0.5) < 1e-16


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**16), rows=st.integers(1, 3), n=st.integers(1, 40),
       m=st.integers(1, 6), bits=st.integers(1, 400), spread=st.integers(0, 30))
def test_limb_products_are_exact(seed, rows, n, m, bits, spread):
    """A few rows times a float32 weight by float64 products of 16-bit limbs: the very
    integers of Python's own arithmetic (numerators of any length and sign, weights of any
    magnitude, zeros)."""
    from symnet.backends.fast_exact import limb_product

    rng = np.random.default_rng(seed)
    weight = (rng.normal(0, 1, (n, m)) * 2.0 ** rng.integers(-spread, spread + 1, (n, m))
              ).astype(np.float32)
    weight[rng.random((n, m)) < 0.2] = 0.0
    nums = [int(rng.integers(-2**62, 2**62)) * (1 << int(rng.integers(0, bits))) +
            int(rng.integers(-5, 6)) for _ in range(rows * n)]
    dens = [int(rng.integers(1, 1000)) for _ in range(rows)]
    got = limb_product(nums, dens, rows, weight)
    if got is None:  # numerators too long for limbs: FLINT's product is the cheaper
        return
    exact = [[Fraction(v) for v in row] for row in weight.astype(np.float64).tolist()]
    for r in range(rows):
        x = [Fraction(v, dens[r]) for v in nums[r * n:(r + 1) * n]]
        want = [sum((x[k] * exact[k][j] for k in range(n)), Fraction(0)) for j in range(m)]
        assert list(got[r]) == want


def test_many_rows_take_flints_product(keras):
    """Past a few rows the product is FLINT's (the weight's integer matrix built once): the
    same rationals as the plain arithmetic, as the limb products of a few rows are."""
    net = symnet.explain(mlp(keras, keras.layers.Dense(7, activation="relu"),
                             keras.layers.BatchNormalization(), seed=9))
    x = np.random.default_rng(9).normal(size=(90, 5))
    assert_identical(*both(net, x))
