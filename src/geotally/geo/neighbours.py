"""Points near other points, from a shapely STRtree: the candidate pairs of the queue rules.

shapely is loaded for every count already; SciPy's k-d tree and graph modules, which these
replace, cost a count 0.35 s of start-up. Distances are Euclidean and a pair at exactly
``r`` is in, as with SciPy's ``query_pairs``.
"""

from __future__ import annotations

import numpy as np
import shapely


def pairs_within(xy: np.ndarray, r: float) -> np.ndarray:
    """Index pairs (i, j), i < j, of the points ``xy`` (n, 2) at most ``r`` apart, (m, 2) int64, sorted."""
    xy = np.asarray(xy, dtype=np.float64)
    if len(xy) < 2:
        return np.zeros((0, 2), np.int64)
    points = shapely.points(xy)
    i, j = shapely.STRtree(points).query(points, predicate="dwithin", distance=float(r))
    keep = i < j
    pairs = np.stack([i[keep], j[keep]], axis=1).astype(np.int64)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


def neighbours_within(xy: np.ndarray, at: np.ndarray, r: float) -> list[np.ndarray]:
    """Per index in ``at``, the indices of the points ``xy`` at most ``r`` from it (itself included), sorted."""
    xy = np.asarray(xy, dtype=np.float64)
    at = np.asarray(at, dtype=np.int64)
    if not len(at):
        return []
    points = shapely.points(xy)
    src, hit = shapely.STRtree(points).query(points[at], predicate="dwithin", distance=float(r))
    order = np.lexsort((hit, src))
    src, hit = src[order], hit[order].astype(np.int64)
    return np.split(hit, np.searchsorted(src, np.arange(1, len(at))))


def components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Connected component of each of ``n`` nodes over the undirected links (i, j), numbered in the
    order of each component's lowest node (as SciPy's ``connected_components`` numbers them).

    Each link hooks the higher of its two roots onto the lower, then every node's parent is
    followed to its root (pointer jumping), until both ends of every link share a root: a few
    rounds, however long the chains (20,000 vehicles in one chain: 6 ms)."""
    if not n:
        return np.zeros(0, np.int64)
    i, j = np.asarray(i, np.int64), np.asarray(j, np.int64)
    parent = np.arange(n, dtype=np.int64)
    while True:
        ri, rj = parent[i], parent[j]
        split = ri != rj
        if not split.any():
            break
        np.minimum.at(parent, np.maximum(ri[split], rj[split]), np.minimum(ri[split], rj[split]))
        while True:
            up = parent[parent]
            if np.array_equal(up, parent):
                break
            parent = up
    return np.unique(parent, return_inverse=True)[1].astype(np.int64)
