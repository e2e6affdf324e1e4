"""The vehicle table: every detection measured and placed, one row each.

Footprints in metres, class, zone, side and distance to the border, size class, queue membership,
and with roads the segment each vehicle is on. This is the one place the table's columns are made;
counts, queues, routes and the report read it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geotally.analysis.queues import PARKED, QueueParams, Queues, find_queues
from geotally.analysis.sizes import size_class
from geotally.detect.run import Detections
from geotally.detect.trailer_types import TrailerTypes
from geotally.geo.footprints import footprints
from geotally.geo.metric import local_metric_crs, to_metric
from geotally.geo.transform import scene_centre_lonlat
from geotally.imagery.scene import Scene
from geotally.models.classes import VEHICLE_CLASSES
from geotally.roads.along import AlongRoad, along_road
from geotally.roads.config import RoadParams
from geotally.roads.load import Roads
from geotally.roads.snap import reach_m, snap_to_roads
from geotally.zones.assign import assign_zones
from geotally.zones.load import Zones


@dataclass(frozen=True)
class VehicleTable:
    """The table (GeoDataFrame in the scene CRS) and what the queue layer and the summary need."""

    table: gpd.GeoDataFrame
    found: Queues  # queues among the vehicles (indices into the vehicle rows)
    along: AlongRoad | None  # each queue's road positions, with roads
    centre_map: np.ndarray  # (n, 2) every detection's centre, scene CRS
    zone: np.ndarray  # (n,) every detection's zone
    lengths_m: np.ndarray  # (n,) every detection's length
    is_vehicle: np.ndarray  # (n,) bool

    @property
    def vehicle_lengths_m(self) -> np.ndarray:
        return self.lengths_m[self.is_vehicle]

    def only(self, keep: np.ndarray) -> VehicleTable:
        """The rows ``keep`` retains (the queues found over all of them are kept as they were)."""
        return replace(self, table=self.table[keep].reset_index(drop=True), centre_map=self.centre_map[keep],
                       zone=self.zone[keep], lengths_m=self.lengths_m[keep], is_vehicle=self.is_vehicle[keep])


def build_vehicle_table(sc: Scene, dets: Detections, names: dict[int, str], model_names: dict[int, str],
                        zone_set: Zones | None, border_obj, size_thresholds, queue: QueueParams,
                        date: str | None = None, roads: Roads | None = None,
                        road: RoadParams = RoadParams(), types: TrailerTypes | None = None) -> VehicleTable:
    """Every detection measured and placed (see the module docstring); ``names`` maps class ids to
    geotally classes, ``model_names`` to the model's own names."""
    fp = footprints(dets.corners, sc.transform, sc.crs)
    cls = np.array([names.get(int(c), str(c)) for c in dets.class_id], dtype=object)
    raw = np.array([model_names.get(int(c), str(c)) for c in dets.class_id], dtype=object)
    zone = assign_zones(fp.centre_map, zone_set)
    stem = Path(sc.path).stem
    columns = {
        # A detection's id to cite (scene name and a running number, kept when rows are filtered out).
        "det_id": np.array([f"{stem}-{i + 1:05d}" for i in range(len(dets))], dtype=object),
        "class": cls, "model_class": raw, "score": np.round(dets.score.astype(float), 4),
        "length_m": np.round(fp.length_m, 2), "width_m": np.round(fp.width_m, 2),
        "heading_deg": np.round(fp.heading_deg, 1), "lon": fp.lonlat[:, 0], "lat": fp.lonlat[:, 1],
        "zone": zone.astype(str), "scene": np.full(len(dets), Path(sc.path).name, dtype=object),
        "date": np.full(len(dets), date, dtype=object),
        "size_class": size_class(fp.length_m, size_thresholds),
    }
    metric_crs = local_metric_crs(sc.crs, scene_centre_lonlat(sc.transform, sc.width, sc.height, sc.crs)) \
        if sc.crs is not None else None
    metric = to_metric(fp.centre_map, sc.crs, metric_crs)
    if border_obj is not None:
        columns["side"] = assign_zones(fp.centre_map, border_obj.zones).astype(str)
        line_m = to_metric(np.asarray(border_obj.extended.coords), sc.crs, metric_crs)
        columns["border_dist_m"] = np.round(shapely.distance(shapely.points(metric), shapely.linestrings(line_m)), 1)
    is_vehicle = np.isin(cls, VEHICLE_CLASSES)
    if types is not None:
        for k, name in enumerate(types.names):
            columns[f"p_{name}"] = np.round(types.probs[:, k].astype(float), 3)
        columns["trailer_type"] = types.types.astype(object)
        columns["trailer_type_score"] = np.round(types.score.astype(float), 3)
    if roads is not None:
        lines_m = shapely.transform(roads.lines, lambda xy: to_metric(xy, sc.crs, metric_crs))
        hit = snap_to_roads(metric, lines_m, reach_m(roads, road))
    found = find_queues(metric[is_vehicle], fp.heading_deg[is_vehicle], fp.length_m[is_vehicle], queue,
                        hit.on_road[is_vehicle] if roads is not None else None)
    queue_id = np.full(len(dets), -1, np.int64)
    queue_id[is_vehicle] = found.label
    columns["queue_id"] = queue_id
    columns["activity"] = np.where(queue_id >= 0, "queue", PARKED).astype(object)
    along = None
    if roads is not None:
        columns["road_id"] = np.where(hit.on_road, roads.road_id[np.maximum(hit.index, 0)], "").astype(object)
        columns["road_name"] = np.where(hit.on_road, roads.name[np.maximum(hit.index, 0)], "").astype(object)
        columns["road_dist_m"] = np.round(hit.distance_m, 1)
        columns["on_road"] = hit.on_road
        # Queues stay queues; the rest is told apart by the map: on a road, or off it (a depot, a lot).
        columns["activity"] = np.where(queue_id >= 0, "queue", np.where(hit.on_road, "on_road", "off_road")).astype(object)
        along = along_road(found.members, metric[is_vehicle], fp.length_m[is_vehicle], hit.index[is_vehicle],
                           hit.on_road[is_vehicle], lines_m)
    table = gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(fp.polygons, crs=sc.crs), crs=sc.crs)
    return VehicleTable(table, found, along, fp.centre_map, zone, fp.length_m, is_vehicle)
