"""Queues: chains of vehicles standing head to tail along a line with agreeing headings.

Two vehicles are linked when their headings agree within ``max_turn`` degrees, each
lies ahead of the other along the other's own axis (lateral offset at most
``max_lateral`` metres from both axes), and the gap between their ends is under
``max_gap`` metres (boxes in line may overlap: a vehicle detected twice or boxed long).
Linked vehicles form chains (connected components); chains of at least
``min_vehicles`` are queues, unless more than ``max_blocked`` of their vehicles stand
in a block (a parallel vehicle beside them on both sides, or beside one that has: the
inside and the outer rows of a car park or depot; a two-lane queue is neither) or the
chain winds (its length through the vehicles over the distance between its ends is more
than ``max_winding``), or more than ``max_wide_share`` of its gaps are over ``standing_gap``
(moving traffic keeps its distance; a queue stands close), or, with a road map, most of it
stands off the roads.

A queue of three lanes or more is hemmed in like a lot, and its lanes link into one zig-zag
chain. So a chain that is no queue is cut into single files (each vehicle keeps its nearest
link ahead and behind), and a file is a lane of a multi-lane queue when it passes the rules
but the block one, is of trucks or buses (median length ``lane_min_length``), runs at least
``lane_aspect`` times as long as the row abreast of it is wide, and stands beside another
such lane (with a road map: a lane on a road, or beside one that is). Candidate pairs come
from an STRtree (geotally.geo.neighbours), so the cost grows with the number of vehicles,
not its square.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from shapely.geometry import LineString

from geotally.config.params import QueueParams
from geotally.geo.neighbours import components, neighbours_within, pairs_within
from geotally.imagery.dates import run_dates

PARKED = "parked_or_other"


def queue_totals(n_queues: int, queue_id: np.ndarray, is_vehicle: np.ndarray,
                 lane_group: np.ndarray | None = None) -> dict:
    """What summary.json says about queues: how many queue lines, how many queues once the lanes of a
    multi-lane queue are counted together (``lane_group``: per queue line, its group), and vehicles in
    them or elsewhere (vehicles only)."""
    in_queue = int(np.count_nonzero(np.asarray(queue_id) >= 0))
    groups = int(n_queues) if lane_group is None else len(np.unique(np.asarray(lane_group)))
    return {"count": int(n_queues), "groups": groups, "vehicles_in_queues": in_queue,
            "vehicles_elsewhere": int(np.count_nonzero(is_vehicle)) - in_queue}


def queue_totals_by_date(dates: np.ndarray, queue_id: np.ndarray, is_vehicle: np.ndarray,
                         lane_group: np.ndarray | None = None) -> dict[str, dict] | None:
    """queue_totals for each date of a multi-date run ('' undated; None for a run of one date): queues
    are found within one date, so each queue line belongs to the date of its vehicles."""
    dates = np.asarray(["" if d is None or d != d else str(d) for d in dates], dtype=object)
    order = list(dict.fromkeys(dates.tolist()))
    if len(order) < 2:
        return None
    queue_id = np.asarray(queue_id)
    out = {}
    for d in order:
        m = dates == d
        ids = np.unique(queue_id[m][queue_id[m] >= 0]).astype(int)
        out[d] = queue_totals(len(ids), queue_id[m], np.asarray(is_vehicle)[m],
                              None if lane_group is None else np.asarray(lane_group)[ids])
    return out


@dataclass
class Queues:
    label: np.ndarray  # per vehicle: queue index, or -1
    lines: list[LineString]  # per queue, in metric coordinates
    members: list[np.ndarray]  # per queue, vehicle indices in order along the queue
    length_m: np.ndarray
    heading_deg: np.ndarray  # axial mean, [0, 180)
    # per queue, the queue index of the first lane of the multi-lane queue it is a lane of (its own
    # index for a queue of one file), so lanes standing side by side can be summed as one queue
    lane_group: np.ndarray


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
    pairs = pairs_within(xy, reach)
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
    overlap = p.max_overlap_share * np.minimum(length_m[i], length_m[j])
    ok &= (lateral <= p.max_lateral) & (gap <= p.max_gap) & (gap >= -overlap)
    return i[ok], j[ok]


def single_file(xy: np.ndarray, heading_deg: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Which of the head-to-tail links (i, j) to keep so that each vehicle has at most one neighbour
    ahead and one behind. Links are taken cheapest first (a metre off the line counts as five
    along it), in rounds: each round keeps every link that is the cheapest left at both of its
    ends, and frees nothing it took. Without this, a vehicle a few degrees askew links into the
    next lane, and the lanes of a multi-lane queue merge into one zig-zag chain."""
    n = len(xy)
    keep = np.zeros(len(i), bool)
    if not len(i):
        return keep
    d = xy[j] - xy[i]
    u = np.radians(heading_deg)
    h = np.radians(_axial_mean(np.stack([heading_deg[i], heading_deg[j]], axis=1)))
    lateral = np.abs(d[:, 0] * np.cos(h) - d[:, 1] * np.sin(h))
    cost = np.hypot(d[:, 0], d[:, 1]) + 5.0 * lateral
    # Each end of a vehicle is a slot: the end towards its heading (1) or away from it (0).
    slot_i = 2 * i + (d[:, 0] * np.sin(u[i]) + d[:, 1] * np.cos(u[i]) > 0)
    slot_j = 2 * j + (-d[:, 0] * np.sin(u[j]) - d[:, 1] * np.cos(u[j]) > 0)
    free = np.ones(2 * n, bool)
    open_ = np.ones(len(i), bool)
    while open_.any():
        k = np.flatnonzero(open_)
        best = np.full(2 * n, np.inf)
        np.minimum.at(best, slot_i[k], cost[k])
        np.minimum.at(best, slot_j[k], cost[k])
        take = k[(cost[k] <= best[slot_i[k]]) & (cost[k] <= best[slot_j[k]])]
        # Ties: a slot takes one link only.
        take = take[np.unique(slot_i[take], return_index=True)[1]]
        take = take[np.unique(slot_j[take], return_index=True)[1]]
        keep[take] = True
        free[slot_i[take]] = free[slot_j[take]] = False
        open_ &= free[slot_i] & free[slot_j]
    return keep


def abreast_width(xy: np.ndarray, heading_deg: np.ndarray, length_m: np.ndarray, at: np.ndarray,
                  reach: float, p: QueueParams) -> np.ndarray:
    """Per vehicle index in ``at``, the width in metres of the row of parallel vehicles standing
    beside it (overlapping along, each within ``p.side_reach`` across of the next), counted out to
    ``reach`` metres either side: one lane's width for a lone vehicle, the row's for a car park."""
    out = np.empty(len(at))
    near = neighbours_within(xy, at, np.hypot(reach, float(np.max(length_m))))
    for k, (a, b) in enumerate(zip(at, near)):
        h = np.radians(heading_deg[a])
        d = xy[b] - xy[a]
        along = d[:, 0] * np.sin(h) + d[:, 1] * np.cos(h)
        across = d[:, 0] * np.cos(h) - d[:, 1] * np.sin(h)
        ok = (_axial_diff(heading_deg[b], heading_deg[a]) <= p.max_turn) \
            & (np.abs(along) < np.maximum(length_m[b], length_m[a]) / 2) & (np.abs(across) <= reach)
        s = np.sort(np.r_[across[ok], 0.0])
        breaks = np.flatnonzero(np.diff(s) > p.side_reach)
        me = np.searchsorted(s, 0.0)
        lo = s[breaks[breaks < me][-1] + 1] if np.any(breaks < me) else s[0]
        hi = s[breaks[breaks >= me][0]] if np.any(breaks >= me) else s[-1]
        out[k] = hi - lo + p.lane_width
    return out


def beside_pairs(xy: np.ndarray, heading_deg: np.ndarray, length_m: np.ndarray,
                 p: QueueParams) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ordered pairs (a, b) of parallel vehicles standing side by side (b within ``p.side_reach``
    metres across a's axis, overlapping along it), with b's signed offsets across a's axis and
    along it."""
    e = np.zeros(0, np.int64)
    if len(xy) < 2:
        return e, e, np.zeros(0), np.zeros(0)
    pairs = pairs_within(xy, p.side_reach)
    if not len(pairs):
        return e, e, np.zeros(0), np.zeros(0)
    a, b = np.r_[pairs[:, 0], pairs[:, 1]], np.r_[pairs[:, 1], pairs[:, 0]]
    h = np.radians(heading_deg[a])
    d = xy[b] - xy[a]
    along = d[:, 0] * np.sin(h) + d[:, 1] * np.cos(h)
    across = d[:, 0] * np.cos(h) - d[:, 1] * np.sin(h)
    ok = (_axial_diff(heading_deg[a], heading_deg[b]) <= p.max_turn) & (np.abs(across) > p.max_lateral) \
        & (np.abs(along) < np.maximum(length_m[a], length_m[b]) / 2)
    return a[ok], b[ok], across[ok], along[ok]


def hemmed_in(xy: np.ndarray, heading_deg: np.ndarray, length_m: np.ndarray, p: QueueParams) -> np.ndarray:
    """Per vehicle, whether it stands in a block: a parallel vehicle beside it on both sides (within
    ``p.side_reach`` metres across, overlapping along), or beside one that has. The inside of a car
    park or depot is the first, its outer rows the second; a two-lane queue is neither."""
    n = len(xy)
    a, b, across, _ = beside_pairs(xy, heading_deg, length_m, p)
    left, right = np.zeros(n, bool), np.zeros(n, bool)
    np.logical_or.at(left, a[across < 0], True)
    np.logical_or.at(right, a[across > 0], True)
    inside = left & right
    edge = np.zeros(n, bool)
    np.logical_or.at(edge, a, inside[b])
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
    road = None if on_road is None else np.asarray(on_road, bool)
    if road is not None:
        blocked &= ~road
    chains = components(n, i, j)
    # The same links, each vehicle keeping one neighbour ahead and one behind: the lanes within a
    # chain. Lanes nest in chains, since they use a subset of the links.
    lanes = components(n, *(k[single_file(xy, heading_deg, i, j)] for k in (i, j)))
    found, cut = [], []
    for idx in (np.flatnonzero(chains == c) for c in np.flatnonzero(np.bincount(chains) >= p.min_vehicles)):
        q = _as_queue(idx, xy, heading_deg, length_m, blocked, road, p)
        if q is not None:
            found.append(q)
        else:  # a zig-zag or a block as one chain may still hold lanes of a queue standing side by side
            cut += [f for c in np.unique(lanes[idx]) if np.count_nonzero(lanes == c) >= p.min_vehicles
                    for f in [_as_queue(np.flatnonzero(lanes == c), xy, heading_deg, length_m, blocked, None, p,
                                        lane=True)] if f is not None]
    lane_group = np.arange(len(found))
    side, group = _side_by_side(cut, xy, heading_deg, length_m, road, p)
    first = {g: len(found) + k for k, g in reversed(list(enumerate(group.tolist())))}
    lane_group = np.r_[lane_group, [first[g] for g in group.tolist()]].astype(np.int64)
    found += side
    label = np.full(n, -1, np.int64)
    for k, (order, _, _) in enumerate(found):
        label[order] = k
    return Queues(label, [f[1] for f in found], [f[0] for f in found], np.array([f[1].length for f in found]),
                  np.array([f[2] for f in found]), lane_group)


def _side_by_side(lanes: list, xy: np.ndarray, heading_deg: np.ndarray, length_m: np.ndarray,
                  road: np.ndarray | None, p: QueueParams) -> tuple[list, np.ndarray]:
    """Of the candidate lanes (single files cut from chains that were no queue), those standing
    beside another one: the lanes of a multi-lane queue, with the number of the queue each is a
    lane of (lanes beside each other, lane by lane). One file alone, hemmed in or cut from a
    zig-zag, is a column of a lot. With a road map, only lanes on a road and those standing beside
    them (a queue spilling onto the shoulder and the verge)."""
    if len(lanes) < 2:
        return [], np.zeros(0, np.int64)
    lane_of = np.full(len(xy), -1, np.int64)
    for k, (order, _, _) in enumerate(lanes):
        lane_of[order] = k
    a, b, _, _ = beside_pairs(xy, heading_deg, length_m, p)
    ok = (lane_of[a] >= 0) & (lane_of[b] >= 0) & (lane_of[a] != lane_of[b])
    group = components(len(lanes), lane_of[a[ok]], lane_of[b[ok]])
    size = np.bincount(group)
    keep = size[group] >= 2
    if road is not None:
        on = np.array([road[order].mean() > 0.5 for order, _, _ in lanes])
        keep &= np.isin(group, group[on])
    return [f for f, k in zip(lanes, keep) if k], group[keep]


def _as_queue(idx: np.ndarray, xy: np.ndarray, heading_deg: np.ndarray, length_m: np.ndarray, blocked: np.ndarray,
              road: np.ndarray | None, p: QueueParams, lane: bool = False) -> tuple[np.ndarray, LineString, float] | None:
    """The chain of vehicles ``idx`` as a queue (members in order along it, its line, its heading), or
    None where the rules say it is not one (see the module's docstring). A ``lane`` (one file cut
    from a chain that was not a queue as a whole) is not judged by the vehicles hemmed in beside
    it but must be of trucks or buses and run longer than the row abreast of it is wide, as the
    lanes of a queue do and a column of a lot does not."""
    hd = float(_axial_mean(heading_deg[idx][None, :])[0])
    axis = np.array([np.sin(np.radians(hd)), np.cos(np.radians(hd))])
    order = idx[np.argsort(xy[idx] @ axis)]
    pts = xy[order]
    span = float(np.linalg.norm(pts[-1] - pts[0]))
    steps = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    gaps = steps - (length_m[order[:-1]] + length_m[order[1:]]) / 2
    if float(steps.sum()) > p.max_winding * max(span, 1e-9) or float(np.mean(gaps > p.standing_gap)) > p.max_wide_share \
            or (road is not None and road[idx].mean() <= 0.5):
        return None
    if not lane:
        return None if blocked[idx].mean() > p.max_blocked else (order, _line(order, pts, axis, length_m), hd)
    if float(np.median(length_m[idx])) < p.lane_min_length:
        return None
    at = order[np.linspace(0, len(order) - 1, min(len(order), 9)).round().astype(int)]
    if p.lane_aspect * float(np.median(abreast_width(xy, heading_deg, length_m, at, span / p.lane_aspect, p))) > span:
        return None  # a block: a car park or a depot, not the lanes of a queue
    return order, _line(order, pts, axis, length_m), hd


def _line(order: np.ndarray, pts: np.ndarray, axis: np.ndarray, length_m: np.ndarray) -> LineString:
    """A queue's line: through its vehicles, from the back of the last to the front of the first."""
    return LineString(np.vstack([pts[0] - axis * length_m[order[0]] / 2, pts, pts[-1] + axis * length_m[order[-1]] / 2]))


def find_queues_in_groups(groups: np.ndarray, xy: np.ndarray, heading_deg: np.ndarray, length_m: np.ndarray,
                          p: QueueParams = QueueParams(), on_road: np.ndarray | None = None) -> Queues:
    """Queues within each group (a date: vehicles seen on two dates never chain), numbered group by
    group in sorted order (the empty group, undated, last); members index the whole arrays."""
    keys = np.array(["" if d is None else str(d) for d in groups], dtype=object)
    order = [d or "" for d in run_dates(keys.tolist())]
    label = np.full(len(keys), -1, np.int64)
    lines, members, lengths, headings, groups_of = [], [], [], [], []
    for d in order:
        idx = np.flatnonzero(keys == d)
        q = find_queues(xy[idx], heading_deg[idx], length_m[idx], p, None if on_road is None else on_road[idx])
        label[idx] = np.where(q.label >= 0, q.label + len(lines), -1)
        groups_of.append(q.lane_group + len(lines))
        lines += q.lines
        members += [idx[m] for m in q.members]
        lengths.append(q.length_m)
        headings.append(q.heading_deg)
    return Queues(label, lines, members, np.concatenate(lengths) if lengths else np.zeros(0),
                  np.concatenate(headings) if headings else np.zeros(0),
                  np.concatenate(groups_of).astype(np.int64) if groups_of else np.zeros(0, np.int64))
