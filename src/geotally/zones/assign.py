"""Which zone each vehicle is in, decided by its centre."""

from __future__ import annotations

import numpy as np
import shapely

from geotally.zones.load import Zones

OUTSIDE = "outside"


def assign_zones(centres_xy: np.ndarray, zones: Zones | None) -> np.ndarray:
    """Zone name per centre point.

    A centre on a zone's boundary belongs to that zone (``covers``). When zones
    overlap or share a boundary, the first zone in file order wins, so the rule is
    deterministic. Centres in no zone are ``outside``.
    """
    n = len(centres_xy)
    out = np.full(n, OUTSIDE, dtype=object)
    if zones is None or n == 0:
        return out
    points = shapely.points(np.asarray(centres_xy, dtype=np.float64))
    tree = shapely.STRtree(zones.polygons)
    pt_idx, zone_idx = tree.query(points, predicate="covered_by")
    if len(pt_idx):
        first = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(first, pt_idx, zone_idx)
        hit = first != np.iinfo(np.int64).max
        out[hit] = zones.names[first[hit]]
    return out
