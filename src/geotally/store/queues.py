"""Queues as a vector layer: one LineString per queue with its figures."""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import numpy as np
from pyproj import CRS
from shapely.geometry import LineString

from geotally.analysis.queues import Queues

QUEUE_COLUMNS = ["queue_id", "vehicles", "length_km", "vehicles_per_km", "heading_deg", "zone"]


def queue_table(q: Queues, vehicle_idx: np.ndarray, centre_map: np.ndarray, zone: np.ndarray,
                crs: CRS | None) -> gpd.GeoDataFrame:
    """Queue lines through their vehicles' centres (scene CRS); length measured in metres."""
    rows, geoms = [], []
    for k, members in enumerate(q.members):
        idx = vehicle_idx[members]
        pts = centre_map[idx]
        geoms.append(LineString(pts) if len(pts) > 1 else LineString([pts[0], pts[0]]))
        km = float(q.length_m[k]) / 1000.0
        rows.append((k, len(idx), round(km, 4), round(len(idx) / km, 1) if km > 0 else None,
                     round(float(q.heading_deg[k]), 1), Counter(zone[idx].tolist()).most_common(1)[0][0]))
    data = {c: [r[i] for r in rows] for i, c in enumerate(QUEUE_COLUMNS)}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)
