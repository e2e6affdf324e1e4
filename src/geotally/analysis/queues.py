"""Queues: chains of vehicles standing head to tail along a line with agreeing headings.

Two vehicles are linked when their headings agree within ``max_turn`` degrees, each
lies ahead of the other along the other's own axis (lateral offset at most
``max_lateral`` metres from both axes), and the gap between their ends is under
``max_gap`` metres.
Linked vehicles form chains (connected components); chains of at least
``min_vehicles`` are queues, unless more than ``max_blocked`` of their vehicles stand
in a block (a parallel vehicle beside them on both sides, or beside one that has: the
inside and the outer rows of a car park or depot; a two-lane queue is neither) or the
chain winds (its length through the vehicles over the distance between its ends is more
than ``max_winding``), or more than ``max_wide_share`` of its gaps are over ``standing_gap``
(moving traffic keeps its distance; a queue stands close), or, with a road map, most of it stands off the roads. Candidate pairs come from a k-d tree, so the cost grows
with the number of vehicles, not its square.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from shapely.geometry import LineString

from geotally.imagery.dates import run_dates

PARKED = "parked_or_other"


def queue_totals(n_queues: int, queue_id: np.ndarray, is_vehicle: np.ndarray) -> dict:
    """What summary.json says about queues: how many, and vehicles in them or elsewhere (vehicles only)."""
    in_queue = int(np.count_nonzero(np.asarray(queue_id) >= 0))
    return {"count": int(n_queues), "vehicles_in_queues": in_queue,
            "vehicles_elsewhere": int(np.count_nonzero(is_vehicle)) - in_queue}


@dataclass(frozen=True)
class QueueParams:
    max_gap: float = 25.0  # metres between the back of one vehicle and the front of the next
    max_turn: float = 20.0  # degrees between headings
    max_lateral: float = 2.0  # metres off each vehicle's own axis
    # Five to seven vehicles stand head to tail by chance in any car park or yard (on SIMD's tune
    # images every such chain was one); a queue an analyst asks about is longer. --queue-min 5 finds
    # short queues at junctions, with those chance chains.
    min_vehicles: int = 8
    side_reach: float = 6.0  # metres across within which a parallel vehicle stands "beside" another
    max_blocked: float = 0.5  # a chain with more of its vehicles hemmed in on both sides is a lot, not a queue
    max_winding: float = 1.3  # chain length through its vehicles over the distance between its ends
    # Stationary vehicles stand a few metres apart (bumper to bumper, or a truck's length of brake
    # distance at most); moving traffic keeps about a second's headway, over 8 m at 30 km/h. A chain
    # with more than a quarter of its gaps wider is traffic passing, not a queue (a few holes up to
    # max_gap, where the detector missed a vehicle, still do not break one). A median would let
    # passing traffic through wherever two cars happen to be close or one is detected twice.
    standing_gap: float = 8.0
    max_wide_share: float = 0.25


@dataclass
class Queues:
    label: np.ndarray  # per vehicle: queue index, or -1
    lines: list[LineString]  # per queue, in metric coordinates
    members: list[np.ndarray]  # per queue, vehicle indices in order along the queue
    length_m: np.ndarray
    heading_deg: np.ndarray  # axial mean, [0, 180)


def _axial_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = np.abs(np.mod(a - b, 180.0))
    return np.minimum(d, 180.0 - d)


def link_pairs(xy: np.ndarray, heading_deg: np.ndarray, length_m: np.ndarray,
               p: QueueParams = QueueParams()) -> tuple[np.ndarray, np.ndarray]:
    """Vehicle index pairs that stand head to tail."""
    if len(xy) < 2:
        e = np.zeros(0, np.int64)
        return e, e
    reach = float(np.max(length_m)) + p.max_gap
    pairs = cKDTree(xy).query_pairs(reach, output_type="ndarray")
    if len(pairs) == 0:
        e = np.zeros(0, np.int64)
        return e, e
    i, j = pairs[:, 0], pairs[:, 1]
    ok = _axial_diff(heading_deg[i], heading_deg[j]) <= p.max_turn
    d = xy[j] - xy[i]
    # Offset across the pair's mean axis (heading is clockwise from north). Each vehicle's own axis
    # would do worse: a 2-3 degree heading error, usual for detections, swings 24 m of queue by a
    # metre, and trucks head to tail in one lane came out 2.3 m apart.
    h = np.radians(_axial_mean(np.stack([heading_deg[i], heading_deg[j]], axis=1)))
    lateral = np.abs(d[:, 0] * np.cos(h) - d[:, 1] * np.sin(h))
    along = np.abs(d[:, 0] * np.sin(h) + d[:, 1] * np.cos(h))
    gap = along - (length_m[i] + length_m[j]) / 2
    ok &= (lateral <= p.max_lateral) & (gap <= p.max_gap) & (gap >= -2.0)
    return i[ok], j[ok]


def hemmed_in(xy: np.ndarray, heading_deg: np.ndarray, length_m: np.ndarray, p: QueueParams) -> np.ndarray:
    """Per vehicle, whether it stands in a block: a parallel vehicle beside it on both sides (within
    ``p.side_reach`` metres across, overlapping along), or beside one that has. The inside of a car
    park or depot is the first, its outer rows the second; a two-lane queue is neither."""
    n = len(xy)
    if n < 2:
        return np.zeros(n, bool)
    pairs = cKDTree(xy).query_pairs(p.side_reach, output_type="ndarray")
    if not len(pairs):
        return np.zeros(n, bool)
    a, b = np.r_[pairs[:, 0], pairs[:, 1]], np.r_[pairs[:, 1], pairs[:, 0]]
    h = np.radians(heading_deg[a])
    d = xy[b] - xy[a]
    along = d[:, 0] * np.sin(h) + d[:, 1] * np.cos(h)
    across = d[:, 0] * np.cos(h) - d[:, 1] * np.sin(h)
    beside = (_axial_diff(heading_deg[a], heading_deg[b]) <= p.max_turn) & (np.abs(across) > p.max_lateral) \
        & (np.abs(along) < np.maximum(length_m[a], length_m[b]) / 2)
    left, right = np.zeros(n, bool), np.zeros(n, bool)
    np.logical_or.at(left, a[beside & (across < 0)], True)
    np.logical_or.at(right, a[beside & (across > 0)], True)
    inside = left & right
    edge = np.zeros(n, bool)
    np.logical_or.at(edge, a[beside], inside[b[beside]])
    return inside | edge


def _axial_mean(deg: np.ndarray) -> np.ndarray:
    """Mean of axial angles (mod 180) along the last axis."""
    a = np.radians(np.asarray(deg) * 2.0)
    return np.mod(np.degrees(np.arctan2(np.sin(a).mean(-1), np.cos(a).mean(-1))) / 2.0, 180.0)


def find_queues(xy: np.ndarray, heading_deg: np.ndarray, length_m: np.ndarray,
                p: QueueParams = QueueParams(), on_road: np.ndarray | None = None) -> Queues:
    """Queues among vehicles at metric positions ``xy`` (n, 2).

    ``on_road`` (from a road map) marks vehicles the map puts on a road: side-by-side neighbours
    there are the next lane of a multi-lane queue, not the next row of a lot, so they do not count
    against a chain; and a chain most of whose vehicles stand off the roads (a column in a car
    park or depot) is no queue: with a map, a queue follows a road."""
    n = len(xy)
    xy = np.asarray(xy, float)
    heading_deg, length_m = np.asarray(heading_deg, float), np.asarray(length_m, float)
    i, j = link_pairs(xy, heading_deg, length_m, p)
    blocked = hemmed_in(xy, heading_deg, length_m, p)
    if on_road is not None:
        blocked &= ~np.asarray(on_road, bool)
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, comp = connected_components(graph, directed=False) if n else (0, np.zeros(0, np.int64))
    sizes = np.bincount(comp, minlength=comp.max() + 1 if n else 0)
    keep = np.flatnonzero(sizes >= p.min_vehicles)
    label = np.full(n, -1, np.int64)
    lines, members, lengths, headings = [], [], [], []
    q = 0
    for c in keep:
        idx = np.flatnonzero(comp == c)
        hd = float(_axial_mean(heading_deg[idx][None, :])[0])
        axis = np.array([np.sin(np.radians(hd)), np.cos(np.radians(hd))])
        order = idx[np.argsort(xy[idx] @ axis)]
        pts = xy[order]
        span = float(np.linalg.norm(pts[-1] - pts[0]))
        steps = np.linalg.norm(np.diff(pts, axis=0), axis=1)
        path = float(steps.sum())
        gaps = steps - (length_m[order[:-1]] + length_m[order[1:]]) / 2
        if blocked[idx].mean() > p.max_blocked or path > p.max_winding * max(span, 1e-9) \
                or float(np.mean(gaps > p.standing_gap)) > p.max_wide_share \
                or (on_road is not None and np.asarray(on_road, bool)[idx].mean() <= 0.5):
            continue
        ends = np.vstack([pts[0] - axis * length_m[order[0]] / 2, pts, pts[-1] + axis * length_m[order[-1]] / 2])
        line = LineString(ends)
        label[order] = q
        q += 1
        lines.append(line)
        members.append(order)
        lengths.append(line.length)
        headings.append(hd)
    return Queues(label, lines, members, np.asarray(lengths), np.asarray(headings))


def find_queues_in_groups(groups: np.ndarray, xy: np.ndarray, heading_deg: np.ndarray, length_m: np.ndarray,
                          p: QueueParams = QueueParams(), on_road: np.ndarray | None = None) -> Queues:
    """Queues within each group (a date: vehicles seen on two dates never chain), numbered group by
    group in sorted order (the empty group, undated, last); members index the whole arrays."""
    keys = np.array(["" if d is None else str(d) for d in groups], dtype=object)
    order = [d or "" for d in run_dates(keys.tolist())]
    label = np.full(len(keys), -1, np.int64)
    lines, members, lengths, headings = [], [], [], []
    for d in order:
        idx = np.flatnonzero(keys == d)
        q = find_queues(xy[idx], heading_deg[idx], length_m[idx], p, None if on_road is None else on_road[idx])
        label[idx] = np.where(q.label >= 0, q.label + len(lines), -1)
        lines += q.lines
        members += [idx[m] for m in q.members]
        lengths.append(q.length_m)
        headings.append(q.heading_deg)
    return Queues(label, lines, members, np.concatenate(lengths) if lengths else np.zeros(0),
                  np.concatenate(headings) if headings else np.zeros(0))
