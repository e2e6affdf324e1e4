"""Metric coordinates for distances between vehicles and to lines.

Distances and areas are measured in the scenes' own projected CRS where its scale there is true
(UTM, national grids: within 1%), and in the UTM zone around the scenes otherwise: a geographic CRS,
or a projection that stretches the ground where the scenes are (Web Mercator by 1/cos(latitude),
1.25 at Zakho's 37 degrees north).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer

from geotally.geo.transform import map_to_wgs84, scene_centre_lonlat

TRUE_SCALE = 0.01  # a projected CRS whose scale at the scenes is off by more than this is not measured in
_GEOD = Geod(ellps="WGS84")


def local_metric_crs(crs: CRS, lonlat: tuple[float, float]) -> CRS:
    """The CRS to measure in around (lon, lat): ``crs`` itself where it is projected and its scale
    there is true, else the UTM zone of the point. (A local engineering CRS is taken as it is.)"""
    if not (crs.is_projected or crs.is_geographic) or (crs.is_projected and abs(scale_at(crs, *lonlat) - 1.0)
                                                       <= TRUE_SCALE):
        return crs
    lon, lat = lonlat
    zone = min(int((lon + 180) // 6) + 1, 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def scale_at(crs: CRS, lon: float, lat: float) -> float:
    """Metres in the projected ``crs`` per metre on the ground at (lon, lat), the larger of east-west
    and north-south (1 for a true-scale projection, 1/cos(lat) for Web Mercator)."""
    return _scale_at(crs, round(float(lon), 3), round(float(lat), 3))


@lru_cache(maxsize=64)
def _scale_at(crs: CRS, lon: float, lat: float) -> float:
    to_map = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    step = 100.0  # metres along the ellipsoid, east and north
    lons, lats, _ = _GEOD.fwd([lon, lon], [lat, lat], [90.0, 0.0], [step, step])
    x, y = to_map.transform([lon, *lons], [lat, *lats])
    if not np.isfinite(np.concatenate([x, y])).all():
        return float("inf")  # the point is outside the projection's domain: never measured in it
    unit = metres_per_unit(crs)
    return float(max(np.hypot(x[1] - x[0], y[1] - y[0]), np.hypot(x[2] - x[0], y[2] - y[0])) * unit / step)


def scenes_metric_crs(scenes: list, crs: CRS | None) -> CRS | None:
    """One metric CRS for the scenes of a run in ``crs``, chosen by :func:`local_metric_crs` at their
    mean centre (a scene's own for one scene)."""
    if crs is None:
        return None
    centres = np.array([scene_centre_lonlat(sc.transform, sc.width, sc.height, sc.crs) for sc in scenes
                        if sc.crs is not None])
    return local_metric_crs(crs, tuple(centres.mean(axis=0)))


def to_metric(xy: np.ndarray, crs: CRS | None, target: CRS | None = None) -> np.ndarray:
    """Scene-CRS coordinates to metres in ``target`` (None: :func:`local_metric_crs` around the
    points): unit-scaled where that is ``crs`` itself, reprojected otherwise."""
    xy = np.asarray(xy, float).reshape(-1, 2)
    if crs is None:
        return xy  # pixel-space scenes are already in local metres
    if target is None:
        target = local_metric_crs(crs, _lonlat(xy, crs))
    if _same(target, crs):
        return xy * metres_per_unit(crs)
    x, y = Transformer.from_crs(crs, target, always_xy=True).transform(xy[:, 0], xy[:, 1])
    return np.stack([x, y], axis=1)


def from_metric(xy: np.ndarray, crs: CRS | None, metric_crs: CRS | None) -> np.ndarray:
    """The inverse of :func:`to_metric` with the same ``metric_crs``: metres back to ``crs``."""
    xy = np.asarray(xy, float).reshape(-1, 2)
    if crs is None:
        return xy
    if metric_crs is None or _same(metric_crs, crs):
        return xy / metres_per_unit(crs)
    x, y = Transformer.from_crs(metric_crs, crs, always_xy=True).transform(xy[:, 0], xy[:, 1])
    return np.stack([x, y], axis=1)


def _same(a: CRS, b: CRS) -> bool:
    return a is b or a == b


def _lonlat(xy: np.ndarray, crs: CRS) -> tuple[float, float]:
    """The (lon, lat) of the mean of ``xy`` (0, 0 for none)."""
    if not len(xy):
        return 0.0, 0.0
    mean = np.nanmean(xy, axis=0)
    lon, lat = mean if crs.is_geographic else map_to_wgs84(crs, mean[None])[0]
    return float(lon), float(lat)


def metres_per_unit(crs: CRS | None) -> float:
    """Metres in one unit of a projected CRS (1 for pixel-space scenes without one)."""
    return crs.axis_info[0].unit_conversion_factor if crs is not None and crs.axis_info else 1.0


def metric_geometries(geoms: np.ndarray, crs: CRS | None) -> np.ndarray:
    """Geometries of ``crs`` in metres (see :func:`to_metric`), for lengths and areas."""
    return shapely.transform(np.asarray(geoms, dtype=object), lambda xy: to_metric(xy, crs))
