"""geotally.geo.neighbours against SciPy's k-d tree and connected components, which it replaced in
the queue rules: the same pairs and the same component numbers, ties at exactly r included."""

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geotally.geo.neighbours import components, neighbours_within, pairs_within


def _scipy_pairs(xy, r):
    p = cKDTree(xy).query_pairs(r, output_type="ndarray").reshape(-1, 2)
    return p[np.lexsort((p[:, 1], p[:, 0]))]


@pytest.mark.parametrize("seed", range(20))
def test_pairs_and_neighbours_match_the_kd_tree(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 300))
    xy = rng.uniform(0, 200, (n, 2))
    if seed % 2:
        xy = np.round(xy)  # integer grid: many pairs exactly r apart
    r = float(rng.integers(1, 30))
    assert np.array_equal(pairs_within(xy, r), _scipy_pairs(xy, r))
    at = rng.choice(n, min(n, 25), replace=False)
    tree = cKDTree(xy)
    for a, got in zip(at, neighbours_within(xy, at, r)):
        assert got.tolist() == sorted(tree.query_ball_point(xy[a], r))


def test_fewer_than_two_points_have_no_pairs():
    assert pairs_within(np.zeros((1, 2)), 5.0).shape == (0, 2)
    assert neighbours_within(np.zeros((3, 2)), np.zeros(0, np.int64), 1.0) == []


@pytest.mark.parametrize("seed", range(20))
def test_components_number_like_scipy(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(1, 400))
    m = int(rng.integers(0, 2 * n))
    i, j = rng.integers(0, n, m), rng.integers(0, n, m)
    expected = connected_components(coo_matrix((np.ones(m), (i, j)), shape=(n, n)), directed=False)[1]
    assert np.array_equal(components(n, i, j), expected)


def test_one_long_shuffled_chain_is_one_component():
    rng = np.random.default_rng(7)
    n = 20_000
    order = rng.permutation(n)
    got = components(n, order[:-1], order[1:])
    assert np.array_equal(got, np.zeros(n, np.int64))
    assert components(0, np.zeros(0, np.int64), np.zeros(0, np.int64)).shape == (0,)
