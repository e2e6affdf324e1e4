"""Queues measured along the road they stand on: a queue round a bend is as long as the road it fills.

A queue is tied to the segment most of its on-road vehicles are on; each vehicle's position along
that line (``line_locate_point``, metres from the line's start) widened by half its length gives
the queue's ends as road positions, and their difference is its length along the road.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely


@dataclass(frozen=True)
class AlongRoad:
    """Per queue: its segment (index into the roads, -1 when most of it is off road) and its ends along it."""

    road: np.ndarray  # (q,) int
    start_m: np.ndarray  # (q,) float, nan off road
    end_m: np.ndarray  # (q,) float

    @property
    def length_m(self) -> np.ndarray:
        return self.end_m - self.start_m


def along_road(members: list[np.ndarray], centres_m: np.ndarray, lengths_m: np.ndarray, road_index: np.ndarray,
               on_road: np.ndarray, lines_m: np.ndarray) -> AlongRoad:
    """Road and road positions of each queue (``members`` index ``centres_m``, ``lengths_m`` and the snaps)."""
    q = len(members)
    road, start, end = np.full(q, -1, np.int64), np.full(q, np.nan), np.full(q, np.nan)
    for k, idx in enumerate(members):
        idx = np.asarray(idx)
        on = idx[on_road[idx]]
        if 2 * len(on) <= len(idx):
            continue
        ids, n = np.unique(road_index[on], return_counts=True)
        r = int(ids[np.argmax(n)])
        sel = on[road_index[on] == r]
        pos = shapely.line_locate_point(lines_m[r], shapely.points(centres_m[sel]))
        total = float(shapely.length(lines_m[r]))
        road[k] = r
        start[k] = max(0.0, float(np.min(pos - lengths_m[sel] / 2)))
        end[k] = min(total, float(np.max(pos + lengths_m[sel] / 2)))
    return AlongRoad(road, start, end)
