"""Vehicles that stand where a vehicle stood on the previous date: evidence of parked fleets.

A still image cannot tell a standing queue from a parked row, but two dates can. A vehicle of date
B is *stationary* when the previous date that imaged its place had a vehicle of the same class at
the same spot (centres within ``radius_m``), on the same axis and of about the same length. Queues
move between dates; rows in depots and along kerbs mostly do not. A queue stuck for the whole
interval (a closure lasting longer than the gap between the dates) stands still too, so this is
evidence for the analyst to weigh, never a verdict.

Two dates of satellite imagery are rarely registered to better than a few metres, so the shift
between them is measured first from the vehicles themselves: the mode of the offsets between
nearby vehicle pairs of the two dates (vehicles that stayed put all share one offset, the rest
spread out). It is applied only when enough pairs agree on it; otherwise none is applied and the
summary says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from geotally.config.params import StationaryParams
from geotally.imagery.dates import run_dates

YES, NO, UNKNOWN = "yes", "no", "unknown"


@dataclass(frozen=True)
class Registration:
    """The shift measured between two dates (metres, added to the later date's positions)."""

    earlier: str
    later: str
    dx_m: float
    dy_m: float
    support: int  # vehicle pairs that agree on the shift
    applied: bool

    def as_dict(self) -> dict:
        return {"earlier": self.earlier, "later": self.later, "dx_m": round(self.dx_m, 2),
                "dy_m": round(self.dy_m, 2), "support": self.support, "applied": self.applied}


@dataclass(frozen=True)
class Stationary:
    """Per vehicle: ``state`` yes / no / unknown (first date, or its place not imaged on the
    previous date), ``since`` the earlier date matched ('' otherwise); the registrations used."""

    state: np.ndarray
    since: np.ndarray
    registrations: list[Registration]


def register(earlier_xy: np.ndarray, later_xy: np.ndarray, p: StationaryParams = StationaryParams()) -> tuple[np.ndarray, int]:
    """The offset (dx, dy) that brings the later vehicles onto the earlier ones, and how many pairs
    agree on it (0 when there are no pairs). The peak is the densest bin of the pair offsets,
    refined to the median of the offsets within one bin of it."""
    if not len(earlier_xy) or not len(later_xy):
        return np.zeros(2), 0
    tree = shapely.STRtree(shapely.points(earlier_xy))
    later_i, earlier_i = tree.query(shapely.points(later_xy), predicate="dwithin", distance=p.search_m)
    if not len(later_i):
        return np.zeros(2), 0
    off = earlier_xy[earlier_i] - later_xy[later_i]
    edges = np.arange(-p.search_m, p.search_m + p.bin_m, p.bin_m)
    hist, _, _ = np.histogram2d(off[:, 0], off[:, 1], bins=(edges, edges))
    # sum of 2 x 2 neighbouring bins, so a peak on a bin edge is not split in four
    pooled = hist[:-1, :-1] + hist[1:, :-1] + hist[:-1, 1:] + hist[1:, 1:]
    i, j = np.unravel_index(int(np.argmax(pooled)), pooled.shape)
    centre = np.array([edges[i + 1], edges[j + 1]])
    near = np.hypot(*(off - centre).T) <= p.bin_m
    return np.median(off[near], axis=0), int(near.sum())


def _same_spot(a_xy, a_head, a_len, a_cls, b_xy, b_head, b_len, b_cls, p: StationaryParams) -> np.ndarray:
    """(len(b),) bool: some vehicle of ``a`` stands at each of ``b``'s spots (see the module docstring)."""
    out = np.zeros(len(b_xy), bool)
    if not len(a_xy) or not len(b_xy):
        return out
    tree = shapely.STRtree(shapely.points(a_xy))
    bi, ai = tree.query(shapely.points(b_xy), predicate="dwithin", distance=p.radius_m)
    turn = np.abs((a_head[ai] - b_head[bi] + 90.0) % 180.0 - 90.0)
    ratio = np.maximum(a_len[ai], b_len[bi]) / np.maximum(np.minimum(a_len[ai], b_len[bi]), 1e-6)
    ok = (turn <= p.heading_deg) & (ratio <= p.length_ratio) & (a_cls[ai] == b_cls[bi])
    out[bi[ok]] = True
    return out


def find_stationary(dates: np.ndarray, xy_m: np.ndarray, heading_deg: np.ndarray, length_m: np.ndarray,
                    cls: np.ndarray, seen: dict[str, shapely.Geometry], xy_seen: np.ndarray,
                    p: StationaryParams = StationaryParams()) -> Stationary:
    """Mark each vehicle against the date before its own (see the module docstring).

    ``xy_m`` are metric centres; ``seen`` maps each date to the area its scenes imaged and
    ``xy_seen`` are the centres in that area's CRS (a vehicle whose place the previous date did not
    image is ``unknown``). Undated vehicles ('' or None) are ``unknown``."""
    n = len(dates)
    state = np.full(n, UNKNOWN, dtype=object)
    since = np.full(n, "", dtype=object)
    d = np.array([x or "" for x in dates], dtype=object)
    ordered = [x for x in run_dates(d.tolist()) if x]
    regs = []
    for prev, day in zip(ordered, ordered[1:]):
        a, b = np.flatnonzero(d == prev), np.flatnonzero(d == day)
        area = seen.get(prev)
        covered = shapely.contains_xy(area, xy_seen[b, 0], xy_seen[b, 1]) if area is not None and len(b) \
            else np.zeros(len(b), bool)
        b_seen = b[covered]
        shift, support = register(xy_m[a], xy_m[b_seen], p)
        applied = support >= p.min_support
        regs.append(Registration(prev, day, float(shift[0]), float(shift[1]), support, applied))
        moved = xy_m[b_seen] + (shift if applied else 0.0)
        hit = _same_spot(xy_m[a], heading_deg[a], length_m[a], cls[a], moved, heading_deg[b_seen],
                         length_m[b_seen], cls[b_seen], p)
        state[b_seen] = np.where(hit, YES, NO)
        since[b_seen[hit]] = prev
    return Stationary(state, since, regs)


def still_shares(state: np.ndarray, members: list[np.ndarray]) -> list[float | None]:
    """Per queue, the share of its vehicles marked stationary among those that could be (None: none)."""
    out = []
    for mm in members:
        s = state[mm]
        known = (s == YES) | (s == NO)
        out.append(round(float((s[known] == YES).mean()), 3) if known.any() else None)
    return out


def stationary_counts(table: pd.DataFrame) -> pd.DataFrame:
    """stationary.csv: from the second date on, per date, zone and class, the vehicles standing where
    one stood on the date before, those that did not, and those whose place the date before did not
    image."""
    d = table["date"].fillna("").astype(str)
    first = (run_dates(d.tolist()) or [None])[0]  # nothing before it to stand still against
    keep = (table["stationary"].astype(str) != "") & (d != "") & (d != first)
    t = table[keep]
    cols = ["date", "zone", "class", "vehicles", "stationary", "not_stationary", "unknown", "stationary_share"]
    if not len(t):
        return pd.DataFrame(columns=cols)
    g = t.assign(date=d[keep], _yes=t["stationary"] == YES, _no=t["stationary"] == NO,
                 _unk=t["stationary"] == UNKNOWN).groupby(["date", "zone", "class"], sort=True)
    out = g.agg(vehicles=("_yes", "size"), stationary=("_yes", "sum"), not_stationary=("_no", "sum"),
                unknown=("_unk", "sum")).reset_index()
    known = out["stationary"] + out["not_stationary"]
    out["stationary_share"] = (out["stationary"] / known.where(known > 0)).round(3)
    return out[cols]
