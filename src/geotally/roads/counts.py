"""Counts per road: vehicles per class on each segment, named road and ref, per km, and the share queued.

Segment lengths are measured in metres within the scenes' footprints (a road crossing two
adjacent scenes is measured once over both), so vehicles per km compare across roads.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geotally.geo.metric import metric_geometries
from geotally.models.classes import VEHICLE_CLASSES

LEVELS = ("segment", "name", "ref")


def road_layer(roads, footprint, crs) -> gpd.GeoDataFrame:
    """The road segments within one scene's footprint, as a layer: id, attributes and geometry, one
    row per road id (a road the clip cut into pieces, leaving the scene and coming back, is one row)."""
    lines = shapely.intersection(roads.lines, footprint)
    keep = ~shapely.is_empty(lines) & (shapely.length(lines) > 0)
    return merge_layers([gpd.GeoDataFrame({"road_id": roads.road_id[keep], "highway": roads.highway[keep],
                                           "name": roads.name[keep], "ref": roads.ref[keep],
                                           "oneway": roads.oneway[keep]},
                                          geometry=gpd.GeoSeries(lines[keep], crs=crs), crs=crs)])


def merge_layers(layers: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """One layer from several scenes' layers: a segment seen in two scenes is one geometry (their union)."""
    both = gpd.GeoDataFrame(pd.concat(layers, ignore_index=True), crs=layers[0].crs)
    if both.empty:
        return both
    return both.dissolve(by="road_id", aggfunc="first", as_index=False)


def length_km(layer: gpd.GeoDataFrame) -> np.ndarray:
    """Each segment's length in km, in a local metric CRS for geographic layers."""
    if layer.empty:
        return np.zeros(0)
    return shapely.length(metric_geometries(layer.geometry.values, layer.crs)) / 1000.0


def road_counts(detections: pd.DataFrame, layer: gpd.GeoDataFrame, dates: list[str]) -> pd.DataFrame:
    """counts_by_road.csv: per date and level (segment, named road, ref), the vehicles per class on
    the road, the length in km, vehicles per km and the share of them in queues."""
    km = pd.Series(length_km(layer), index=layer["road_id"].to_numpy())
    attrs = pd.DataFrame({k: layer[k].to_numpy() for k in ("highway", "name", "ref")}, index=layer["road_id"].to_numpy())
    det_date = detections["date"].fillna("").astype(str).to_numpy() if "date" in detections else np.full(len(detections), "")
    veh = np.isin(detections["class"].to_numpy(), VEHICLE_CLASSES) & detections["on_road"].to_numpy(bool)
    rows = []
    for d in dates:
        sel = veh & (det_date == d)
        part = pd.DataFrame({"road_id": detections["road_id"].to_numpy()[sel], "class": detections["class"].to_numpy()[sel],
                             "queued": detections["queue_id"].to_numpy()[sel] >= 0})
        for level in LEVELS:
            key = "road_id" if level == "segment" else level
            keys = attrs.index.to_numpy() if level == "segment" else attrs[key].to_numpy()
            seg_key = pd.Series(keys, index=attrs.index)
            k_of = seg_key.reindex(part["road_id"]).to_numpy()
            groups = pd.Series(km.to_numpy(), index=keys).groupby(level=0).sum()
            groups = groups[groups.index != ""]
            for g, g_km in groups.items():
                on = k_of == g
                row = {"date": d, "level": level, "road": g,
                       "road_id": g if level == "segment" else "",
                       "name": attrs.at[g, "name"] if level == "segment" else (g if level == "name" else ""),
                       "ref": attrs.at[g, "ref"] if level == "segment" else (g if level == "ref" else ""),
                       "highway": attrs.at[g, "highway"] if level == "segment" else "",
                       "length_km": round(float(g_km), 3)}
                for c in VEHICLE_CLASSES:
                    row[c] = int((on & (part["class"].to_numpy() == c)).sum())
                n = int(on.sum())
                row["vehicles"] = n
                row["per_km"] = round(n / g_km, 2) if g_km > 0 else None
                row["queued_share"] = round(float(part["queued"].to_numpy()[on].mean()), 3) if n else None
                rows.append(row)
    cols = ["date", "level", "road", "road_id", "name", "ref", "highway", "length_km", *VEHICLE_CLASSES, "vehicles",
            "per_km", "queued_share"]
    return pd.DataFrame(rows, columns=cols)
