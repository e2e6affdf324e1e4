"""Reading road lines into the scene's CRS: vector files and OpenStreetMap extracts.

OpenStreetMap ``.osm`` and ``.osm.pbf`` files are read by GDAL's OSM driver (through pyogrio,
which geotally already needs): its ``lines`` layer has ``highway`` and ``name`` as fields and the
other tags, ``ref`` and ``oneway`` among them, in ``other_tags``. Ways that no vehicle drives
(footways, cycleways, steps...) are dropped, and so are the aisles of car parks
(``service=parking_aisle``): a vehicle standing there is parked, and with them on the map every car
park would be "on a road" and its columns of cars would pass for queues. Lines are clipped to the scene with a margin, so a
country-sized extract costs what the scene covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely
from pyproj import CRS

from geotally.errors import GeotallyError, check_file, first_line
from geotally.geo.metric import metres_per_unit, scale_at
from geotally.geo.transform import map_to_wgs84
from geotally.imagery.offline import is_osm, osm_tag, read_local_vector

if TYPE_CHECKING:  # imported where used: a count without zones or roads never loads them
    import geopandas as gpd

# OSM highway values that carry no motor vehicles, or are not roads yet.
NOT_FOR_VEHICLES = {"footway", "cycleway", "path", "steps", "pedestrian", "bridleway", "corridor", "elevator",
                    "proposed", "construction", "platform", "trail", "via_ferrata", "abandoned", "razed", "bus_stop",
                    "crossing", "escalator"}
ATTRIBUTES = ("highway", "name", "ref", "oneway")
NOT_ROADS_SERVICE = {"parking_aisle"}  # OSM service=* values that lie inside car parks
MARGIN_M = 100.0  # roads are kept this far beyond the scene, so vehicles at its edge still find theirs


@dataclass(frozen=True)
class Roads:
    """Road segments in the scene CRS: one line each, with its id and attributes (missing ones empty)."""

    lines: np.ndarray  # (k,) shapely LineStrings
    road_id: np.ndarray  # (k,) str: the file's id (osm_id, id, fid) or the feature number
    highway: np.ndarray  # (k,) str
    name: np.ndarray  # (k,) str
    ref: np.ndarray  # (k,) str
    oneway: np.ndarray  # (k,) str
    source: str

    def __len__(self) -> int:
        return len(self.lines)


def _read(path: str, pixel_space: bool) -> gpd.GeoDataFrame:
    check_file(path, "roads file")
    try:
        gdf = read_local_vector(path, prefer="roads", pixel_space=pixel_space)
    except GeotallyError:
        raise
    except Exception as exc:
        raise GeotallyError(f"roads file {path} cannot be read as vector data: {first_line(exc)}") from None
    return gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]


def _text(gdf: gpd.GeoDataFrame, key: str) -> np.ndarray:
    if key in gdf.columns:
        return gdf[key].astype(object).where(gdf[key].notna(), "").astype(str).to_numpy()
    if "other_tags" in gdf.columns:
        return osm_tag(gdf["other_tags"], key).to_numpy().astype(str)
    return np.full(len(gdf), "", dtype=object).astype(str)


def _ids(gdf: gpd.GeoDataFrame) -> np.ndarray:
    for key in ("osm_id", "road_id", "id", "fid"):
        if key in gdf.columns and gdf[key].notna().all():
            ids = gdf[key].astype(str).to_numpy()
            if len(np.unique(ids)) == len(ids):
                return ids
    return np.array([str(i + 1) for i in range(len(gdf))])


def _units_per_metre(crs: CRS | None, bounds) -> float:
    """CRS units in a metre on the ground around ``bounds`` (its stretch included: Web Mercator's 1/cos(lat))."""
    if crs is None:
        return 1.0
    if crs.is_geographic:
        return 1.0 / 111_320.0  # a degree of latitude; a degree of longitude is shorter, so the margin only grows
    if not crs.is_projected:
        return 1.0 / metres_per_unit(crs)
    lon, lat = map_to_wgs84(crs, np.array([[(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2]]))[0]
    return scale_at(crs, lon, lat) / metres_per_unit(crs)


def load_roads(path: str, scene_crs: CRS | None, scene_bounds: tuple[float, float, float, float],
               margin_m: float = MARGIN_M) -> Roads:
    """Road lines reprojected to the scene CRS, clipped to the scene plus ``MARGIN_M``.

    Multi-part lines become one segment per part (each keeps the feature's id, numbered
    ``ID/1``, ``ID/2``...). Files without a CRS are taken to be in the scene CRS (or pixel-space
    local metres for scenes without one), as zones are.
    """
    gdf = _read(path, pixel_space=scene_crs is None)
    if gdf.empty:
        raise GeotallyError(f"roads file {path} has no features with a geometry")
    kinds = set(gdf.geometry.geom_type)
    if not kinds & {"LineString", "MultiLineString"}:
        raise GeotallyError(f"roads file {path} must hold lines; found {', '.join(sorted(kinds))}")
    gdf = gdf[gdf.geometry.geom_type.isin(["LineString", "MultiLineString"])]
    if "highway" in gdf.columns:
        hw = gdf["highway"].astype(object)
        keep = hw.notna().to_numpy().copy() if is_osm(path) else np.ones(len(gdf), bool)
        keep &= ~hw.astype(str).isin(NOT_FOR_VEHICLES).to_numpy()
        keep &= ~np.isin(_text(gdf, "service"), list(NOT_ROADS_SERVICE))
        gdf = gdf[keep]
        if gdf.empty:
            raise GeotallyError(f"roads file {path} has no lines that vehicles drive on (only footways, paths...)")
    if gdf.crs is not None and scene_crs is not None:
        declared = gdf.crs
        gdf = gdf.to_crs(scene_crs)
        if not np.isfinite(gdf.total_bounds).all():
            raise GeotallyError(f"roads file {path}: its coordinates cannot be placed in the CRS it declares "
                                f"({declared.to_string()}); check the file's CRS")
    elif gdf.crs is not None and scene_crs is None and not is_osm(path):
        raise GeotallyError(f"roads file {path} is georeferenced but the scene is not; "
                            "give roads in pixel-space metres without a CRS")
    elif scene_crs is None and is_osm(path):
        raise GeotallyError(f"roads file {path} is an OpenStreetMap extract but the scene has no CRS to place it")
    ids, attrs = _ids(gdf), {k: _text(gdf, k) for k in ATTRIBUTES}
    parts, index = shapely.get_parts(np.asarray(gdf.geometry.values, dtype=object), return_index=True)
    n_parts = np.bincount(index, minlength=len(gdf))
    seq = np.arange(len(parts)) - np.searchsorted(index, index)
    part_id = np.where(n_parts[index] > 1, np.char.add(np.char.add(ids[index].astype(str), "/"),
                                                       (seq + 1).astype(str)), ids[index].astype(str))
    pad = margin_m * _units_per_metre(scene_crs, scene_bounds)
    window = shapely.box(*scene_bounds).buffer(pad, join_style="mitre")
    clipped = shapely.intersection(parts, window)
    clipped = shapely.line_merge(clipped)
    ok = ~shapely.is_empty(clipped) & (shapely.length(clipped) > 0)
    if not ok.any():
        rb = shapely.total_bounds(parts)
        raise GeotallyError(f"roads file {path} does not overlap the scene (roads span {rb.round(1).tolist()}, "
                            f"scene {np.round(scene_bounds, 1).tolist()} in the scene CRS)")
    # A clip can cut a line into several pieces; each stays a segment of the same road.
    pieces, j = shapely.get_parts(clipped[ok], return_index=True)
    src = np.flatnonzero(ok)[j]
    lines = pieces[shapely.get_type_id(pieces) == 1]
    src = src[shapely.get_type_id(pieces) == 1]
    return Roads(lines, part_id[src], *(attrs[k][index[src]] for k in ATTRIBUTES), source=path)
