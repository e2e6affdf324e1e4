"""Scenes of one date that overlap: each vehicle counted once, from the scene that sees it best.

A detection is kept only by the scene in which its centre lies farthest from the scene's edge
(ties go to the scene listed first), so exactly one scene keeps each vehicle of an overlap. Scenes
of different dates are different observations and never take vehicles from each other.
"""

from __future__ import annotations

import numpy as np
import shapely


def kept_in_overlaps(centres: list[np.ndarray], footprints: list[shapely.Geometry],
                     dates: list[str | None]) -> list[np.ndarray]:
    """Per scene, which of its detections (centres (n, 2), in the footprints' common CRS) it keeps."""
    keep = []
    boundaries = [f.boundary for f in footprints]
    tree = shapely.STRtree(footprints)
    for i, xy in enumerate(centres):
        pts = shapely.points(np.asarray(xy, float).reshape(-1, 2))
        own = shapely.distance(pts, boundaries[i])
        k = np.ones(len(pts), bool)
        for j in sorted(tree.query(footprints[i], predicate="intersects").tolist()):
            if j == i or dates[j] != dates[i] or not len(pts):
                continue
            inside = shapely.covers(footprints[j], pts)
            theirs = shapely.distance(pts, boundaries[j])
            k &= ~(inside & ((theirs > own) | ((theirs == own) & (j < i))))
        keep.append(k)
    return keep
