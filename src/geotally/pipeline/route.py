"""A route through a count's results: the path over the roads file between waypoints, cut into
stretches, with the vehicles along each stretch per date (route.gpkg, counts_by_route.csv).

Runs on a finished result (one scene or a merged mosaic), so the route can cross several scenes
and the gaps between them: each stretch says how much of it the scenes imaged.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geotally.errors import GeotallyError
from geotally.geo.metric import from_metric, local_metric_crs, to_metric
from geotally.geo.transform import map_to_wgs84, wgs84_to_map
from geotally.models.classes import VEHICLE_CLASSES
from geotally.roads.load import load_roads
from geotally.roads.route import Route, RouteParams, along_route, parse_waypoints, plan_route
from geotally.zones.assign import assign_zones


@dataclass(frozen=True)
class PlannedRoute:
    """A route planned before any detection (so a gap in the roads fails at once), and its frame."""

    plan: Route
    lonlat: np.ndarray
    crs: object
    metric_crs: object
    outline: shapely.Geometry  # the scenes' footprints, scene CRS
    roads: str
    params: RouteParams


def plan(roads: str, route: str, footprints: list, crs, params: RouteParams = RouteParams()) -> PlannedRoute:
    """Plan ``route`` ('LON,LAT;LON,LAT...') over ``roads`` around the scenes' ``footprints``."""
    if crs is None:
        raise GeotallyError("--route takes longitude and latitude, so it needs a georeferenced scene")
    lonlat = parse_waypoints(route)
    outline = shapely.union_all(footprints)
    bounds = tuple(shapely.bounds(outline))
    centre = map_to_wgs84(crs, np.array([[(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2]]))[0]
    metric_crs = local_metric_crs(crs, tuple(centre))
    net = load_roads(roads, crs, bounds, margin_m=params.margin_km * 1000.0)
    lines_m = shapely.transform(net.lines, lambda xy: to_metric(xy, crs, metric_crs))
    way_m = to_metric(wgs84_to_map(crs, lonlat), crs, metric_crs)
    return PlannedRoute(plan_route(lines_m, way_m, lonlat, params), lonlat, crs, metric_crs, outline, net.source,
                        params)


def add_route(result, planned: PlannedRoute) -> None:
    """Add the route layer, the counts_by_route.csv table and each detection's ``route_stretch``
    (-1: not along it) to ``result``."""
    plan, lonlat, crs, metric_crs, params = planned.plan, planned.lonlat, planned.crs, planned.metric_crs, planned.params
    outline = planned.outline
    det = result.detections
    c = shapely.centroid(np.asarray(det.geometry.values, dtype=object))
    centres_m = to_metric(shapely.get_coordinates(c), crs, metric_crs)
    stretch = along_route(plan, centres_m, det["on_road"].to_numpy(bool), det["road_dist_m"].to_numpy(float))
    result.detections = det.assign(route_stretch=stretch)
    outline_m = shapely.transform(outline, lambda xy: to_metric(xy, crs, metric_crs))
    seen = shapely.length(shapely.intersection(plan.stretches_m, outline_m)) / shapely.length(plan.stretches_m)
    to_scene = lambda xy: from_metric(xy, crs, metric_crs)  # noqa: E731
    stretches = shapely.transform(plan.stretches_m, to_scene)
    mid = shapely.get_coordinates(shapely.line_interpolate_point(stretches, 0.5, normalized=True))
    zone = assign_zones(mid, result.zones) if result.zones is not None else np.full(len(stretches), "", object)
    km = shapely.length(plan.stretches_m) / 1000.0
    dates = result.detections["date"].fillna("").astype(str).to_numpy()
    cls = result.detections["class"].to_numpy()
    rows = []
    for d in result.summary.dates:
        for k in range(len(stretches)):
            on = (stretch == k) & (dates == d)
            row = {"date": d, "stretch": k + 1, "start_km": round(plan.starts_m[k] / 1000, 3),
                   "length_km": round(float(km[k]), 3), "observed_share": round(float(seen[k]), 3), "zone": zone[k]}
            for v in VEHICLE_CLASSES:
                row[v] = int((on & (cls == v)).sum()) if seen[k] > 0 else None
            row["vehicles"] = int((on & np.isin(cls, VEHICLE_CLASSES)).sum()) if seen[k] > 0 else None
            row["per_observed_km"] = round(row["vehicles"] / (km[k] * seen[k]), 2) if seen[k] > 0 else None
            rows.append(row)
    table = pd.DataFrame(rows)
    result.tables["counts_by_route.csv"] = table
    result.route = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(np.tile(stretches, len(table) // len(stretches)),
                                                                  crs=crs), crs=crs)
    result.summary.route = {"points": lonlat.tolist(), "roads": planned.roads, "length_km": round(plan.path_m.length / 1000, 3),
                               "stretch_km": params.stretch_km,
                               "observed_km": round(float((km * seen).sum()), 3),
                               "vehicles_along": int(((stretch >= 0) & np.isin(cls, VEHICLE_CLASSES)).sum()),
                               "rule": "on a road, and the route passes within 1 m of the vehicle's distance to that road"}
