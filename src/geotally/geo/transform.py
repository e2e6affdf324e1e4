"""Coordinate conversions on arrays of points (..., 2)."""

from __future__ import annotations

import numpy as np
from affine import Affine
from pyproj import CRS, Transformer


def pixel_to_map(transform: Affine, xy: np.ndarray) -> np.ndarray:
    """Scene pixel (col, row) to map (x, y) in the scene CRS."""
    xy = np.asarray(xy, dtype=np.float64)
    a, b, c, d, e, f = transform.a, transform.b, transform.c, transform.d, transform.e, transform.f
    x = a * xy[..., 0] + b * xy[..., 1] + c
    y = d * xy[..., 0] + e * xy[..., 1] + f
    return np.stack([x, y], axis=-1)


def map_to_pixel(transform: Affine, xy: np.ndarray) -> np.ndarray:
    """Map (x, y) in the scene CRS to scene pixel (col, row)."""
    return pixel_to_map(~transform, xy)


def _transformer(src: CRS, dst: CRS | str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def map_to_map(src: CRS | None, dst: CRS | None, xy: np.ndarray) -> np.ndarray:
    """Map coordinates (n, 2) of ``src`` in ``dst`` (as they are when either has no CRS, or both are one)."""
    xy = np.asarray(xy, dtype=np.float64)
    if src is None or dst is None or src == dst or not len(xy):
        return xy
    x, y = _transformer(src, dst).transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def map_to_wgs84(crs: CRS, xy: np.ndarray) -> np.ndarray:
    """Map coordinates to (lon, lat) degrees."""
    xy = np.asarray(xy, dtype=np.float64)
    lon, lat = _transformer(crs, "EPSG:4326").transform(xy[..., 0], xy[..., 1])
    return np.stack([np.asarray(lon), np.asarray(lat)], axis=-1)


def wgs84_to_map(crs: CRS, lonlat: np.ndarray) -> np.ndarray:
    """(lon, lat) degrees to map coordinates of ``crs``."""
    lonlat = np.asarray(lonlat, dtype=np.float64)
    x, y = _transformer(CRS.from_epsg(4326), crs).transform(lonlat[..., 0], lonlat[..., 1])
    return np.stack([np.asarray(x), np.asarray(y)], axis=-1)


def scene_corners(transform: Affine, width: int, height: int) -> np.ndarray:
    """The scene's four corners in map coordinates (top-left, top-right, bottom-right, bottom-left)."""
    return pixel_to_map(transform, np.array([[0, 0], [width, 0], [width, height], [0, height]], float))


def scene_centre_lonlat(transform: Affine, width: int, height: int, crs: CRS) -> tuple[float, float]:
    """The (lon, lat) of a georeferenced scene's centre pixel."""
    centre = pixel_to_map(transform, np.array([[width / 2, height / 2]]))
    return tuple(float(v) for v in map_to_wgs84(crs, centre)[0])


def scene_footprint(sc, crs: CRS | None):
    """A scene's outline (a shapely Polygon), in ``crs`` when both have one."""
    import shapely

    corners = scene_corners(sc.transform, sc.width, sc.height)
    return shapely.Polygon(map_to_map(sc.crs, crs, corners) if crs is not None and sc.crs is not None else corners)
