"""Ground sample distance in metres, for projected and geographic CRS alike."""

from __future__ import annotations

import numpy as np
from affine import Affine
from pyproj import CRS, Geod, Transformer

_GEOD = Geod(ellps="WGS84")


def pixel_size_m(transform: Affine, crs: CRS | None, width: int, height: int,
                 gsd: float | None = None) -> tuple[float, float]:
    """Ground size (x, y) in metres of one pixel at the scene centre.

    Geographic CRS pixels are measured on the ellipsoid, so a degree of longitude
    shrinks with latitude; projected CRS use their linear unit factor. A scene
    without a CRS needs an explicit ``gsd``.
    """
    if crs is None:
        if gsd is None:
            raise ValueError("scene has no CRS; a GSD must be given")
        return float(gsd), float(gsd)
    col, row = width / 2.0, height / 2.0
    cols = np.array([col, col + 1.0, col])
    rows = np.array([row, row, row + 1.0])
    xs = transform.a * cols + transform.b * rows + transform.c
    ys = transform.d * cols + transform.e * rows + transform.f
    if crs.is_geographic:
        lon, lat = np.asarray(xs, float), np.asarray(ys, float)
    else:
        to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        lon, lat = to_ll.transform(np.asarray(xs, float), np.asarray(ys, float))
    _, _, dx = _GEOD.inv(lon[0], lat[0], lon[1], lat[1])
    _, _, dy = _GEOD.inv(lon[0], lat[0], lon[2], lat[2])
    return float(dx), float(dy)


def resample_factors(scene_gsd: tuple[float, float], model_gsd: float) -> tuple[float, float]:
    """Model pixels per scene pixel along x and y: >1 upsamples, <1 downsamples."""
    return scene_gsd[0] / model_gsd, scene_gsd[1] / model_gsd
