"""Geometries as plain coordinate lists for a map in scene pixels (the report's and the review app's)."""

from __future__ import annotations

import numpy as np
import shapely
from affine import Affine

from geotally.geo.transform import map_to_pixel


def ring_lists(geoms: np.ndarray) -> list[list[list[float]]]:
    """Each part's outer ring (polygons) or line, as lists of [x, y] rounded to 0.1, in order; empty
    parts give nothing."""
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    if not len(parts):
        return []
    polys = shapely.get_type_id(parts) == 3
    parts = np.where(polys, shapely.get_exterior_ring(parts), parts)
    xy, idx = shapely.get_coordinates(parts, return_index=True)
    splits = np.flatnonzero(np.diff(idx)) + 1
    return [np.round(a, 1).tolist() for a in np.split(xy, splits)] if len(xy) else []


def pixel_rings(transform: Affine, geoms: np.ndarray) -> list[list[list[float]]]:
    """:func:`ring_lists` of map geometries, in the pixel coordinates (column, row) of ``transform``."""
    return ring_lists(shapely.transform(np.asarray(geoms, dtype=object), lambda xy: map_to_pixel(transform, xy)))
