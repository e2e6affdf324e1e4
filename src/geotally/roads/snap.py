"""Vehicles tied to the road network: the nearest road segment, and whether the vehicle is on it.

A vehicle is on a road when its centre lies within the road's half-width plus a margin (OSM lines
follow the road's centre only to a few metres, and imagery is misregistered by as much). The
half-width comes from the road's class unless ``RoadParams.distance_m`` fixes one distance for all.
Distances are in metres, in the scene's local metric CRS; one STRtree query serves every vehicle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from geotally.config.params import DEFAULT_WIDTH_M, RoadParams
from geotally.roads.load import Roads

@dataclass(frozen=True)
class RoadMatch:
    """Per vehicle: the nearest segment (index into the roads, -1 if there are none), its distance, on it or not."""

    index: np.ndarray  # (n,) int
    distance_m: np.ndarray  # (n,) float, nan without roads
    on_road: np.ndarray  # (n,) bool


def reach_m(roads: Roads, params: RoadParams) -> np.ndarray:
    """Per segment, how far from its line a vehicle still counts as on it."""
    if params.distance_m is not None:
        return np.full(len(roads), float(params.distance_m))
    width = np.array([params.widths_m.get(h, DEFAULT_WIDTH_M) for h in roads.highway], float)
    return width / 2 + params.margin_m


def snap_to_roads(centres_m: np.ndarray, lines_m: np.ndarray, reach: np.ndarray) -> RoadMatch:
    """Nearest segment of ``lines_m`` (metric lines) to each centre (metric), and whether within its ``reach``."""
    n = len(centres_m)
    if n == 0 or len(lines_m) == 0:
        return RoadMatch(np.full(n, -1, np.int64), np.full(n, np.nan), np.zeros(n, bool))
    pts = shapely.points(np.asarray(centres_m, float))
    tree = shapely.STRtree(lines_m)
    index = np.full(n, -1, np.int64)
    dist = np.full(n, np.nan)
    on = np.zeros(n, bool)
    # Among every segment within reach the nearest wins: the nearest line may be a lane too narrow to
    # reach while a wider road a little further does.
    pi, pj = tree.query(pts, predicate="dwithin", distance=float(reach.max()))
    pd_ = shapely.distance(pts[pi], lines_m[pj])
    ok = pd_ <= reach[pj]
    pi, pj, pd_ = pi[ok], pj[ok], pd_[ok]
    if len(pi):
        order = np.lexsort((pd_, pi))
        first = order[np.r_[True, pi[order][1:] != pi[order][:-1]]]
        on[pi[first]] = True
        index[pi[first]], dist[pi[first]] = pj[first], pd_[first]
    # The rest are off road; they keep the nearest segment's distance.
    off = np.flatnonzero(~on)
    if len(off):
        (i, j), d = tree.query_nearest(pts[off], return_distance=True, all_matches=False)
        index[off[i]], dist[off[i]] = j, d
    return RoadMatch(index, dist, on)
