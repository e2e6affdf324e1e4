"""Metric coordinates for distances between vehicles and to lines."""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS, Transformer


def local_metric_crs(crs: CRS, xy_centre: tuple[float, float]) -> CRS:
    """The UTM zone around a point of a geographic CRS (projected CRS are returned as they are)."""
    if not crs.is_geographic:
        return crs
    lon, lat = xy_centre
    zone = int((lon + 180) // 6) + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def scenes_metric_crs(scenes: list, crs: CRS | None) -> CRS | None:
    """One metric CRS for the scenes of a run in ``crs``: around their mean centre (a scene's own
    for one scene); ``crs`` itself when it is projected."""
    from geotally.geo.transform import scene_centre_lonlat

    if crs is None:
        return None
    centres = np.array([scene_centre_lonlat(sc.transform, sc.width, sc.height, sc.crs) for sc in scenes
                        if sc.crs is not None])
    return local_metric_crs(crs, tuple(centres.mean(axis=0)))


def to_metric(xy: np.ndarray, crs: CRS | None, target: CRS | None = None) -> np.ndarray:
    """Scene-CRS coordinates to metres: UTM for geographic CRS, unit-scaled for projected ones."""
    xy = np.asarray(xy, float).reshape(-1, 2)
    if crs is None:
        return xy  # pixel-space scenes are already in local metres
    if crs.is_geographic:
        target = target or local_metric_crs(crs, tuple(np.nanmean(xy, axis=0)) if len(xy) else (0.0, 0.0))
        x, y = Transformer.from_crs(crs, target, always_xy=True).transform(xy[:, 0], xy[:, 1])
        return np.stack([x, y], axis=1)
    return xy * metres_per_unit(crs)


def from_metric(xy: np.ndarray, crs: CRS | None, metric_crs: CRS | None) -> np.ndarray:
    """The inverse of :func:`to_metric` with the same ``metric_crs``: metres back to ``crs``."""
    xy = np.asarray(xy, float).reshape(-1, 2)
    if crs is None:
        return xy
    if crs.is_geographic:
        x, y = Transformer.from_crs(metric_crs, crs, always_xy=True).transform(xy[:, 0], xy[:, 1])
        return np.stack([x, y], axis=1)
    return xy / metres_per_unit(crs)


def metres_per_unit(crs: CRS | None) -> float:
    """Metres in one unit of a projected CRS (1 for pixel-space scenes without one)."""
    return crs.axis_info[0].unit_conversion_factor if crs is not None and crs.axis_info else 1.0


def metric_geometries(geoms: np.ndarray, crs: CRS | None) -> np.ndarray:
    """Geometries of ``crs`` in metres (see :func:`to_metric`), for lengths and areas."""
    return shapely.transform(np.asarray(geoms, dtype=object), lambda xy: to_metric(xy, crs))
