"""The vehicle table: every detection measured and placed, one row each.

Footprints in metres, class, zone, side and distance to the border, size class, queue membership,
with roads the segment each vehicle is on, and with several dates whether it stands where a
vehicle stood on the date before. This is the one place the table's columns are made;
counts, queues, routes and the report read it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geotally.analysis.queues import PARKED, QueueParams, Queues, find_queues_in_groups
from geotally.analysis.sizes import size_class
from geotally.analysis.stationary import Registration, StationaryParams, find_stationary
from geotally.detect.run import Detections
from geotally.detect.trailer_types import TrailerTypes
from geotally.geo.footprints import footprints
from geotally.geo.metric import scenes_metric_crs, to_metric
from geotally.geo.transform import map_to_map
from geotally.imagery.labels import label_stem
from geotally.imagery.scene import Scene
from geotally.models.classes import VEHICLE_CLASSES, names_of
from geotally.roads.along import AlongRoad, along_road
from geotally.config.params import RoadParams
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
    registrations: tuple[Registration, ...] = ()  # shifts measured between consecutive dates

    @property
    def vehicle_lengths_m(self) -> np.ndarray:
        return self.lengths_m[self.is_vehicle]

    def only(self, keep: np.ndarray) -> VehicleTable:
        """The rows ``keep`` retains (the queues found over all of them are kept as they were)."""
        return replace(self, table=self.table[keep].reset_index(drop=True), centre_map=self.centre_map[keep],
                       zone=self.zone[keep], lengths_m=self.lengths_m[keep], is_vehicle=self.is_vehicle[keep])


@dataclass(frozen=True)
class ScenePart:
    """One scene's detections as they enter the analysis (those the overlap rule kept), with their
    ids (the scene's stem and a running number over all of its detections), date and trailer types."""

    scene: Scene
    detections: Detections
    det_id: np.ndarray  # (n,) str
    date: str | None = None
    types: TrailerTypes | None = None
    label: str = ""  # the scene's name in the results (imagery.labels.scene_labels); its file name if empty


def detection_ids(label: str, n: int) -> np.ndarray:
    """Ids to cite: the scene's label (imagery.labels.scene_labels) without its suffix, folders joined by
    "_", and a running number, kept when rows are filtered out."""
    stem = label_stem(label)
    return np.array([f"{stem}-{i + 1:05d}" for i in range(n)], dtype=object)


def _in_crs(xy: np.ndarray, polygons: np.ndarray, src, dst) -> tuple[np.ndarray, np.ndarray]:
    """Centres and polygons of one scene in the run's CRS (scenes of a run may come in several)."""
    if src is None or dst is None or src == dst or not len(xy):
        return xy, polygons
    return map_to_map(src, dst, xy), shapely.transform(polygons, lambda c: map_to_map(src, dst, c))


def build_vehicle_table(parts: list[ScenePart], crs, names: dict[int, str], model_names: dict[int, str],
                        zone_set: Zones | None, border_obj, size_thresholds, queue: QueueParams,
                        roads: Roads | None = None, road: RoadParams = RoadParams(),
                        seen: dict | None = None, still: StationaryParams = StationaryParams()) -> VehicleTable:
    """Every detection of every scene measured and placed, in the run's CRS ``crs`` (see the module
    docstring); ``names`` maps class ids to geotally classes, ``model_names`` to the model's own names.
    Queues are found within each date, across the scenes of that date (within each scene when the
    scenes have no georeference). With ``seen`` (per date, the area its scenes imaged, in ``crs``)
    and more than one date, vehicles are marked stationary or not against the date before."""
    fps = [footprints(p.detections.corners, p.scene.transform, p.scene.crs) for p in parts]
    placed = [_in_crs(fp.centre_map, fp.polygons, p.scene.crs, crs) for p, fp in zip(parts, fps)]
    centre_map = np.concatenate([c for c, _ in placed]).reshape(-1, 2)
    polygons = np.concatenate([g for _, g in placed])
    cat = lambda attr: np.concatenate([getattr(fp, attr) for fp in fps])  # noqa: E731
    length_m, width_m, heading, lonlat = cat("length_m"), cat("width_m"), cat("heading_deg"), cat("lonlat")
    lonlat = lonlat.reshape(-1, 2)
    n_each = [len(p.detections) for p in parts]
    class_id = np.concatenate([p.detections.class_id for p in parts]).astype(np.int64)
    score = np.concatenate([p.detections.score for p in parts])
    dates = np.repeat(np.array([p.date for p in parts], dtype=object), n_each)
    cls, raw = names_of(class_id, names), names_of(class_id, model_names)
    zone = assign_zones(centre_map, zone_set)
    columns = {
        "det_id": np.concatenate([p.det_id for p in parts]).astype(object),
        "class": cls, "model_class": raw, "score": np.round(score.astype(float), 4),
        "length_m": np.round(length_m, 2), "width_m": np.round(width_m, 2),
        "heading_deg": np.round(heading, 1), "lon": lonlat[:, 0], "lat": lonlat[:, 1],
        "zone": zone.astype(str),
        "scene": np.repeat(np.array([p.label or Path(p.scene.path).name for p in parts], dtype=object), n_each),
        "date": dates,
        "size_class": size_class(length_m, size_thresholds),
    }
    metric_crs = scenes_metric_crs([p.scene for p in parts], crs)
    metric = to_metric(centre_map, crs, metric_crs)
    if border_obj is not None:
        columns["side"] = assign_zones(centre_map, border_obj.zones).astype(str)
        line_m = to_metric(np.asarray(border_obj.extended.coords), crs, metric_crs)
        columns["border_dist_m"] = np.round(shapely.distance(shapely.points(metric), shapely.linestrings(line_m)), 1)
    is_vehicle = np.isin(cls, VEHICLE_CLASSES)
    typed = [p.types for p in parts if p.types is not None]
    if typed and len(typed) == len(parts):
        for k, name in enumerate(typed[0].names):
            columns[f"p_{name}"] = np.round(np.concatenate([t.probs[:, k] for t in typed]).astype(float), 3)
        columns["trailer_type"] = np.concatenate([t.types for t in typed]).astype(object)
        columns["trailer_type_score"] = np.round(np.concatenate([t.score for t in typed]).astype(float), 3)
    if roads is not None:
        lines_m = shapely.transform(roads.lines, lambda xy: to_metric(xy, crs, metric_crs))
        hit = snap_to_roads(metric, lines_m, reach_m(roads, road))
    vehicle_rows = np.flatnonzero(is_vehicle)
    # Queues form within one date; scenes without georeference share no frame, so each is its own.
    groups = dates if crs is not None else np.char.add(dates.astype(str), columns["scene"].astype(str))
    found = find_queues_in_groups(groups[vehicle_rows], metric[vehicle_rows], heading[vehicle_rows],
                                length_m[vehicle_rows], queue,
                                hit.on_road[vehicle_rows] if roads is not None else None)
    queue_id = np.full(len(cls), -1, np.int64)
    queue_id[is_vehicle] = found.label
    columns["queue_id"] = queue_id
    columns["activity"] = np.where(queue_id >= 0, "queue", PARKED).astype(object)
    registrations: tuple[Registration, ...] = ()
    if seen is not None and crs is not None and len({d for d in dates.tolist() if d}) > 1:
        st = find_stationary(dates[vehicle_rows], metric[vehicle_rows], heading[vehicle_rows],
                             length_m[vehicle_rows], cls[vehicle_rows], seen, centre_map[vehicle_rows], still)
        state, since = np.full(len(cls), "", dtype=object), np.full(len(cls), "", dtype=object)
        state[vehicle_rows], since[vehicle_rows] = st.state, st.since
        columns["stationary"], columns["stationary_since"] = state, since
        registrations = tuple(st.registrations)
    along = None
    if roads is not None:
        columns["road_id"] = np.where(hit.on_road, roads.road_id[np.maximum(hit.index, 0)], "").astype(object)
        columns["road_name"] = np.where(hit.on_road, roads.name[np.maximum(hit.index, 0)], "").astype(object)
        columns["road_dist_m"] = np.round(hit.distance_m, 1)
        columns["on_road"] = hit.on_road
        # Queues stay queues; the rest is told apart by the map: on a road, or off it (a depot, a lot).
        columns["activity"] = np.where(queue_id >= 0, "queue", np.where(hit.on_road, "on_road", "off_road")).astype(object)
        along = along_road(found.members, metric[is_vehicle], length_m[is_vehicle], hit.index[is_vehicle],
                           hit.on_road[is_vehicle], lines_m)
    table = gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(polygons, crs=crs), crs=crs)
    return VehicleTable(table, found, along, centre_map, zone, length_m, is_vehicle, registrations)
