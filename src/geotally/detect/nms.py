"""Rotated-box non-maximum suppression on whole arrays of polygons.

Candidate pairs come from an STR-tree, their IoU from one vectorised shapely call.
Greedy NMS is then reached by fixed-point iteration ("cluster NMS"): a box is kept
when no *kept* higher-scoring box overlaps it beyond the threshold. Each pass is a
numpy operation over the pair list; the fixed point equals the classic greedy result.
"""

from __future__ import annotations

import numpy as np
import shapely

from geotally.detect.boxes import corners_to_polygons


def overlap_pairs(polys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index pairs (i < j) of intersecting polygons and their intersection-over-union."""
    if len(polys) < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    tree = shapely.STRtree(polys)
    i, j = tree.query(polys, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    inter = shapely.area(shapely.intersection(polys[i], polys[j]))
    union = shapely.area(polys[i]) + shapely.area(polys[j]) - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return i, j, iou


def rotated_nms(corners: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.3) -> np.ndarray:
    """Indices of boxes kept, highest score first. ``corners`` is (n, 4, 2)."""
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(-scores, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    i, j, iou = overlap_pairs(corners_to_polygons(corners))
    hit = iou > iou_threshold
    i, j = i[hit], j[hit]
    # Orient every pair as (stronger, weaker).
    swap = rank[i] > rank[j]
    strong = np.where(swap, j, i)
    weak = np.where(swap, i, j)
    keep = np.ones(n, dtype=bool)
    for _ in range(n):
        suppressed = np.zeros(n, dtype=bool)
        suppressed[weak[keep[strong]]] = True
        new_keep = ~suppressed
        if np.array_equal(new_keep, keep):
            break
        keep = new_keep
    kept = np.flatnonzero(keep)
    return kept[np.argsort(rank[kept])]
