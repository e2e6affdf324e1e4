"""Vehicles cut by the edge between two scenes of one date that touch without overlapping.

Each scene sees only its own piece of such a vehicle, so without care it is counted twice, once
short on each side. Two pieces are one vehicle when both touch their own scene's edge, they lie
within ``gap_m`` of each other across it, their headings agree (for pieces long enough to have
one), and the rectangle that holds both is no longer than the longest vehicle of the larger
piece's class. The pair is then one detection: that rectangle, in the scene that holds the larger
piece. Pieces are paired one to one, nearest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from geotally.geo.footprints import planar_edges


@dataclass(frozen=True)
class SeamParams:
    """When two pieces at a seam are one vehicle; every default declared once here."""

    edge_m: float = 1.0  # a piece this close to its scene's edge may be cut by it
    gap_m: float = 1.5  # pieces this close to each other across the seam are one vehicle's
    max_turn_deg: float = 20.0  # headings of both pieces (when each is at least 1.5x longer than wide)
    max_length_m: dict[str, float] = field(default_factory=lambda: {"small_vehicle": 7.5, "large_vehicle": 25.0})


@dataclass(frozen=True)
class SeamPair:
    """One vehicle in two pieces: scene and row of the piece kept (the larger) and of the one joined to it."""

    keep_scene: int
    keep_row: int
    drop_scene: int
    drop_row: int
    rectangle: shapely.Polygon  # both pieces, metric coordinates


def _box_sides(rects: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Long side, short side and axial heading (degrees) of minimum rotated rectangles."""
    corners = shapely.get_coordinates(shapely.get_exterior_ring(rects)).reshape(len(rects), -1, 2)[:, :4]
    len_a, len_b, az_a, az_b = planar_edges(corners)
    return np.maximum(len_a, len_b), np.minimum(len_a, len_b), np.mod(np.where(len_a >= len_b, az_a, az_b), 180.0)


def seam_pairs(polygons_m: list[np.ndarray], classes: list[np.ndarray], footprints_m: list[shapely.Geometry],
               dates: list[str | None], p: SeamParams = SeamParams()) -> list[SeamPair]:
    """Pairs of pieces to join, over scenes whose detections are ``polygons_m`` (metric coordinates,
    one array per scene) with class names ``classes``, outlines ``footprints_m`` and ``dates``."""
    rows = [np.flatnonzero(shapely.dwithin(polys, foot.boundary, p.edge_m)) if len(polys) else np.zeros(0, int)
            for polys, foot in zip(polygons_m, footprints_m)]  # pieces that touch their own scene's edge
    scene = np.concatenate([np.full(len(r), s) for s, r in enumerate(rows)]).astype(int)
    row = np.concatenate(rows).astype(int)
    if len(row) < 2:
        return []
    geoms = np.concatenate([np.asarray(polygons_m[s], dtype=object)[r] for s, r in enumerate(rows)])
    cls = np.concatenate([np.asarray(classes[s], dtype=object)[r] for s, r in enumerate(rows)]).astype(str)
    date = np.array(["" if d is None else str(d) for d in dates], dtype=object)[scene]
    long, short, heading = _box_sides(shapely.minimum_rotated_rectangle(geoms))
    ratio = long / np.maximum(short, 1e-9)
    i, j = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=p.gap_m)
    ok = (i < j) & (scene[i] != scene[j]) & (date[i] == date[j])
    i, j = i[ok], j[ok]
    turn = np.abs(np.mod(heading[i] - heading[j], 180.0))
    turn = np.minimum(turn, 180.0 - turn)
    oriented = (ratio[i] >= 1.5) & (ratio[j] >= 1.5)
    i, j = i[~oriented | (turn <= p.max_turn_deg)], j[~oriented | (turn <= p.max_turn_deg)]
    if not len(i):
        return []
    rect = shapely.minimum_rotated_rectangle(shapely.union(geoms[i], geoms[j]))
    length = _box_sides(rect)[0]
    bigger = np.where(shapely.area(geoms[i]) >= shapely.area(geoms[j]), i, j)
    limit = np.array([p.max_length_m.get(c, 0.0) for c in cls[bigger]])
    fits = length <= limit
    gap = shapely.distance(geoms[i], geoms[j])
    pairs, used = [], set()
    for k in np.flatnonzero(fits)[np.argsort(gap[fits], kind="stable")]:
        a, b = int(i[k]), int(j[k])
        if a in used or b in used:
            continue
        used |= {a, b}
        keep, drop = (a, b) if bigger[k] == a else (b, a)
        pairs.append(SeamPair(int(scene[keep]), int(row[keep]), int(scene[drop]), int(row[drop]), rect[k]))
    return pairs
