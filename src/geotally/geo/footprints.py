"""Vehicle footprints: polygons in the scene CRS, sizes in metres, headings, WGS84 centroids."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from affine import Affine
from pyproj import CRS, Geod

from geotally.detect.boxes import corners_to_polygons
from geotally.geo.transform import map_to_wgs84, pixel_to_map

_GEOD = Geod(ellps="WGS84")


@dataclass
class Footprints:
    polygons: np.ndarray  # shapely polygons, scene CRS (or local metres when not georeferenced)
    polygons_wgs84: np.ndarray | None
    centre_map: np.ndarray  # (n, 2)
    lonlat: np.ndarray  # (n, 2); NaN when the scene has no CRS
    length_m: np.ndarray
    width_m: np.ndarray
    heading_deg: np.ndarray  # long axis, degrees clockwise from north, in [0, 180)


def _edge_lengths_and_azimuths(lonlat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    lon, lat = lonlat[..., 0], lonlat[..., 1]
    az_a, _, len_a = _GEOD.inv(lon[:, 0], lat[:, 0], lon[:, 1], lat[:, 1])
    az_b, _, len_b = _GEOD.inv(lon[:, 1], lat[:, 1], lon[:, 2], lat[:, 2])
    return np.asarray(len_a), np.asarray(len_b), np.asarray(az_a), np.asarray(az_b)


def planar_edges(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lengths and azimuths (degrees clockwise from +y) of the first two edges of (n, 4, 2) planar boxes."""
    ea = xy[:, 1] - xy[:, 0]
    eb = xy[:, 2] - xy[:, 1]
    return (np.hypot(ea[:, 0], ea[:, 1]), np.hypot(eb[:, 0], eb[:, 1]),
            np.degrees(np.arctan2(ea[:, 0], ea[:, 1])), np.degrees(np.arctan2(eb[:, 0], eb[:, 1])))


def footprints(corners_px: np.ndarray, transform: Affine, crs: CRS | None) -> Footprints:
    """Footprints of (n, 4, 2) pixel corners.

    With a CRS, lengths and headings are geodesic (measured on the WGS84 ellipsoid),
    so they are right for geographic CRS and free of projection scale error. Without
    one, ``transform`` maps pixels to local metres and headings are relative to image up.
    """
    corners_px = np.asarray(corners_px, dtype=np.float64).reshape(-1, 4, 2)
    xy = pixel_to_map(transform, corners_px)
    polys = corners_to_polygons(xy)
    centre = xy.mean(axis=1)
    if crs is not None and len(xy):
        ll = map_to_wgs84(crs, xy)
        len_a, len_b, az_a, az_b = _edge_lengths_and_azimuths(ll)
        lonlat = map_to_wgs84(crs, centre)
        polys_ll = corners_to_polygons(ll)
    else:
        len_a, len_b, az_a, az_b = planar_edges(xy)
        lonlat = np.full((len(xy), 2), np.nan)
        polys_ll = None if crs is None else corners_to_polygons(xy)
    a_longer = len_a >= len_b
    length = np.where(a_longer, len_a, len_b)
    width = np.where(a_longer, len_b, len_a)
    heading = np.mod(np.where(a_longer, az_a, az_b), 180.0)
    return Footprints(polys, polys_ll, centre, lonlat, length, width, heading)
