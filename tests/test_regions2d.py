"""Exact linear regions of two-input networks: a partition of the box into convex polygons
whose laws are the network, exactly, everywhere sampled (hypothesis-generated networks)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symnet
from symnet import InvalidInputError, UnsupportedLayerError

from .conftest import randomize

ACTIVATIONS = {
    "relu": lambda k: k.layers.ReLU(),
    "leaky": lambda k: k.layers.LeakyReLU(0.2),
    "relu6": lambda k: k.layers.ReLU(max_value=6.0),
    "hard_sigmoid": lambda k: k.layers.Activation("hard_sigmoid"),
}
BOXES = [((-3.0, 3.0), (-2.0, 4.0)), ((0.0, 1.0), (0.0, 1.0)), ((-10.0, 0.5), (2.0, 2.25))]


def network(keras, depth, width, act, outputs, seed):
    layers = [keras.Input((2,))]
    for _ in range(depth):
        layers += [keras.layers.Dense(width), ACTIVATIONS[act](keras)]
    layers.append(keras.layers.Dense(outputs))
    model = keras.Sequential(layers)
    randomize(model, seed)
    return symnet.explain(model)


def cross(o, a, b):
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def inside(region, p) -> bool:
    v = region.vertices
    return all(cross(v[i], v[(i + 1) % len(v)], p) >= 0 for i in range(len(v)))


def value(region, p):
    return [a1 * p[0] + a2 * p[1] + b for (a1, a2), b in zip(region.slope, region.intercept)]


def exact(net, points):
    x = np.empty((len(points), 2), dtype=object)
    x[:] = points
    y = net.evaluate(x, "exact").reshape(len(points), -1)
    return [[Fraction(int(v.p), int(v.q)) for v in row] for row in y]


def assert_partition(net, regions, box):
    (x0, x1), (y0, y1) = ((Fraction(a), Fraction(b)) for a, b in box)
    assert sum(r.area for r in regions) == (x1 - x0) * (y1 - y0)
    for r in regions:
        assert r.area > 0 and len(r.vertices) >= 3
        v = r.vertices
        assert all(cross(v[i], v[(i + 1) % len(v)], v[(i + 2) % len(v)]) >= 0
                   for i in range(len(v)))  # convex, counter-clockwise
        assert all(x0 <= a <= x1 and y0 <= b <= y1 for a, b in v)
    centroids = [(sum(a for a, _ in r.vertices) / len(r.vertices),
                  sum(b for _, b in r.vertices) / len(r.vertices)) for r in regions]
    for c in centroids:  # in its region only: no two regions overlap
        assert sum(inside(r, c) for r in regions) == 1
    # the law at each region's centroid and corners, and on a grid, is the network exactly
    points, owners = [], []
    for r, c in zip(regions, centroids):
        points += [c, *r.vertices]
        owners += [r] * (1 + len(r.vertices))
    grid = [(x0 + (x1 - x0) * Fraction(i, 9), y0 + (y1 - y0) * Fraction(j, 11))
            for i in range(10) for j in range(12)]
    for p in grid:
        owners.append(next(r for r in regions if inside(r, p)))
        points.append(p)
    for p, r, y in zip(points, owners, exact(net, points)):
        assert value(r, p) == y


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(depth=st.integers(1, 3), width=st.integers(1, 5), act=st.sampled_from(sorted(ACTIVATIONS)),
       outputs=st.integers(1, 2), seed=st.integers(0, 10_000), box=st.sampled_from(BOXES))
def test_regions_partition_the_box_and_are_the_network(keras, depth, width, act, outputs, seed,
                                                       box):
    net = network(keras, depth, width, act, outputs, seed)
    regions = net.regions2d(box)
    assert_partition(net, regions, box)
    for r in regions[:5]:  # the float local law agrees
        c = [float(sum(v[i] for v in r.vertices) / len(r.vertices)) for i in (0, 1)]
        a, b = net.local_affine(np.array(c))
        np.testing.assert_allclose(a, np.array(r.slope, dtype=np.float64), atol=1e-9)
        np.testing.assert_allclose(b, np.array(r.intercept, dtype=np.float64), atol=1e-9)


def test_regions_of_a_wider_network(keras):
    net = network(keras, 2, 8, "relu", 1, 3)
    box = ((-3.0, 3.0), (-2.0, 4.0))
    regions = net.regions2d(box)
    assert len(regions) > 20
    assert_partition(net, regions, box)


def test_regions2d_refuses_what_it_cannot_follow(keras):
    jump = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3),
                             keras.layers.ReLU(threshold=0.5), keras.layers.Dense(1)])
    randomize(jump, 1)
    with pytest.raises(UnsupportedLayerError, match="continuous"):
        symnet.explain(jump).regions2d(((0, 1), (0, 1)))
    bn = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3),
                           keras.layers.BatchNormalization(), keras.layers.ReLU(),
                           keras.layers.Dense(1)])
    randomize(bn, 2)
    with pytest.raises(UnsupportedLayerError, match="not exact"):
        symnet.explain(bn).regions2d(((0, 1), (0, 1)))
    one = symnet.explain(symnet.examples.regressor_2x_plus_5())
    with pytest.raises(InvalidInputError, match="two inputs"):
        one.regions2d(((0, 1), (0, 1)))
    net = network(keras, 1, 2, "relu", 1, 0)
    for box in [((1, 0), (0, 1)), ((0, np.inf), (0, 1)), (0, 1)]:
        with pytest.raises(InvalidInputError, match="box"):
            net.regions2d(box)
