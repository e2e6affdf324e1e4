"""Queues as a vector layer: one LineString per queue with its figures."""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import numpy as np
from pyproj import CRS
from shapely.geometry import LineString

from geotally.analysis.queues import Queues

QUEUE_COLUMNS = ["queue_id", "vehicles", "length_km", "vehicles_per_km", "heading_deg", "zone"]


def lane_groups(queues) -> np.ndarray:
    """Per row of a queue layer, the queue it is a lane of (``lane_group``); a layer written before
    lanes were grouped has no such column, and each of its lines is a queue of its own."""
    return queues["lane_group"].to_numpy() if "lane_group" in queues else np.arange(len(queues))


def queue_table(q: Queues, vehicle_idx: np.ndarray, centre_map: np.ndarray, zone: np.ndarray,
                crs: CRS | None, along=None, road_ids: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """Queue lines through their vehicles' centres (scene CRS); length measured in metres.

    With ``along`` (a :class:`geotally.roads.along.AlongRoad`) a queue on a road is measured along
    it: ``length_km`` is then the road distance between its ends, which are given as road positions
    (``road_start_m``, ``road_end_m`` from the start of segment ``road_id``); ``length_line_km`` is
    always the line through its vehicles."""
    rows, geoms = [], []
    for k, members in enumerate(q.members):
        idx = vehicle_idx[members]
        pts = centre_map[idx]
        geoms.append(LineString(pts) if len(pts) > 1 else LineString([pts[0], pts[0]]))
        on_road = along is not None and along.road[k] >= 0
        km = float(along.length_m[k] if on_road else q.length_m[k]) / 1000.0
        rows.append((k, len(idx), round(km, 4), round(len(idx) / km, 1) if km > 0 else None,
                     round(float(q.heading_deg[k]), 1), Counter(zone[idx].tolist()).most_common(1)[0][0]))
    data = {c: [r[i] for r in rows] for i, c in enumerate(QUEUE_COLUMNS)}
    # Lanes of one multi-lane queue share lane_group (the queue_id of its first lane); lanes: how many.
    data["lane_group"] = np.asarray(q.lane_group, np.int64).tolist()
    data["lanes"] = np.bincount(q.lane_group, minlength=len(rows))[q.lane_group].tolist() if len(rows) else []
    if along is not None:
        on = along.road >= 0
        data["measured"] = np.where(on, "along_road", "through_vehicles").tolist()
        data["length_line_km"] = np.round(q.length_m / 1000.0, 4).tolist()
        data["road_id"] = np.where(on, road_ids[np.maximum(along.road, 0)] if len(on) else [], "").tolist()
        data["road_start_m"] = np.round(along.start_m, 1).tolist()
        data["road_end_m"] = np.round(along.end_m, 1).tolist()
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)
