"""Reading a zones file (GeoJSON, GeoPackage, Shapefile…) into the scene's CRS."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely
from pyproj import CRS

from geotally.errors import GeotallyError, check_file, first_line
from geotally.imagery.offline import is_osm, osm_tag, read_local_vector

log = logging.getLogger("geotally")

if TYPE_CHECKING:  # imported where used: a count without zones or roads never loads them
    import geopandas as gpd


@dataclass(frozen=True)
class Zones:
    names: np.ndarray  # (k,) str
    polygons: np.ndarray  # (k,) shapely (multi)polygons in the scene CRS
    source: str
    field: str


def read_vector(path: str, what: str, pixel_space: bool = False) -> gpd.GeoDataFrame:
    """A vector file's features that have a geometry; ``what`` ("zones file", "border file") names it in errors.
    With ``pixel_space`` (the scene has no CRS), a GeoJSON without a ``crs`` member, WGS84 only by
    its standard, is taken as the scene's pixel-space metres."""
    check_file(path, what)
    try:
        gdf = read_local_vector(path, prefer=what.split()[0], pixel_space=pixel_space)  # "zones file": its zones layer
    except GeotallyError:
        raise
    except Exception as exc:
        raise GeotallyError(f"{what} {path} cannot be read as vector data: {first_line(exc)}") from None
    import geopandas as gpd

    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise GeotallyError(f"{what} {path} holds no geometries (a table without shapes); give a vector file "
                            "(GeoJSON, GeoPackage, Shapefile)")
    missing = np.flatnonzero((gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy())
    if len(missing) and is_osm(path):  # relations the extract cut off at its edge: no shape to use
        log.warning("%s: %d of its %d features have no usable geometry (cut off at the extract's edge) and are "
                    "left out", path, len(missing), len(gdf))
        gdf, missing = gdf.drop(index=gdf.index[missing]), []
    if len(missing):  # dropping it would drop a zone, a label or a stretch of border unsaid
        raise GeotallyError(f"{what} {path}: feature {int(missing[0]) + 1} has no geometry "
                            f"({len(missing)} of {len(gdf)} features); give it one or remove it")
    check_finite(gdf, path, what)
    check_degrees(gdf, path, what)
    return gdf


def check_degrees(gdf: gpd.GeoDataFrame, path: str, what: str) -> None:
    """Refuse coordinates beyond ±180° / ±90° in a geographic CRS: metres read as degrees (a GeoJSON
    without a ``crs`` member is WGS84 by its standard), which would reproject to nowhere."""
    if gdf.crs is None or not gdf.crs.is_geographic or gdf.empty:
        return
    x0, y0, x1, y1 = (float(v) for v in gdf.total_bounds)
    if min(x0, y0) < -180.5 or x1 > 360.5 or max(abs(y0), abs(y1)) > 90.5:
        raise GeotallyError(f"{what} {path} is in {gdf.crs.to_string()} (degrees) but its coordinates reach "
                            f"[{x0:.6g}, {y0:.6g}, {x1:.6g}, {y1:.6g}], which are not degrees: give the file the CRS "
                            "its coordinates are in (a GeoJSON without one is read as WGS84)")


def check_finite(gdf: gpd.GeoDataFrame, path: str, what: str) -> None:
    """Refuse a feature with a coordinate that is not a finite number (inf or NaN, which some writers
    emit): GEOS cannot place it, and every later step would fail or drop it unsaid."""
    xy, feature = shapely.get_coordinates(np.asarray(gdf.geometry.values, dtype=object), return_index=True)
    bad = feature[~np.isfinite(xy).all(axis=1)]
    if len(bad):
        raise GeotallyError(f"{what} {path}: feature {int(bad[0]) + 1} has a coordinate that is not a finite "
                            "number; fix or remove it")


# Said where a file without a CRS, taken to be in the scene's, lies off the scene: the likely cause.
NO_CRS = ("; the file names no CRS, so it was taken to be in the scene's: give it the CRS it is in "
          "(a shapefile's .prj beside it)")

RESERVED = ("ALL", "outside")  # the counts table's total row and the name for vehicles in no zone


def zone_names(values, path: str, field: str) -> np.ndarray:
    """Zone names as text (outer spaces dropped, Unicode in one form: names that print alike are one
    name), refusing the ambiguous: a missing name, a reserved one, or one given twice (two features
    of one name would be merged silently; dissolve them into one MultiPolygon instead)."""
    import unicodedata

    missing = np.flatnonzero(values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy())
    if len(missing):
        raise GeotallyError(f"zones file {path}: feature {int(missing[0]) + 1} has no {field!r}; name every zone")
    names = np.array([unicodedata.normalize("NFC", (v if isinstance(v, str) else f"{v:g}" if isinstance(v, float)
                                                    else str(v)).strip()) for v in values], dtype=object).astype(str)
    reserved = [n for n in names if n in RESERVED]
    if reserved:
        raise GeotallyError(f"zones file {path}: zone name {str(reserved[0])!r} is reserved for the counts table; rename it")
    uniq, n = np.unique(names, return_counts=True)
    if (n > 1).any():
        raise GeotallyError(f"zones file {path}: zone name {str(uniq[n > 1][0])!r} is used by {n[n > 1][0]} features; "
                            "give each zone its own name, or dissolve them into one (Multi)Polygon")
    return names


def _osm_zones(gdf: gpd.GeoDataFrame, path: str, field: str) -> gpd.GeoDataFrame:
    """An OpenStreetMap extract's zones: its closed areas with a value in ``field`` (a column of GDAL's
    OSM layer, or any tag), those of one name made one zone. Unnamed areas (buildings, car parks...)
    are not zones, and one place is often mapped in several pieces of one name."""
    if field not in gdf.columns and "other_tags" in gdf.columns:
        gdf = gdf.assign(**{field: osm_tag(gdf["other_tags"], field).replace("", None)})
    if field not in gdf.columns:
        return gdf
    named = gdf[gdf[field].notna() & (gdf[field].astype(str).str.strip() != "")]
    if len(named) < len(gdf):
        log.info("%s: %d of its %d closed areas have a %r and are the zones", path, len(named), len(gdf), field)
    if named.empty:
        raise GeotallyError(f"zones file {path}: none of its {len(gdf)} closed areas has a {field!r}; an OpenStreetMap "
                            "extract's zones are its named areas (give --zone-field another tag)")
    shapes = named[[named.geometry.name]].assign(**{field: named[field].astype(str).str.strip().to_numpy()})
    out = shapes.dissolve(by=field, as_index=False, sort=False)
    return out[[field, out.geometry.name]]


def load_zones(path: str, scene_crs: CRS | None, scene_bounds: tuple[float, float, float, float],
               field: str = "name", field_option: str | None = "--zone-field") -> Zones:
    """Zone polygons reprojected to the scene CRS, checked for overlap with the scene.

    Files without a CRS are taken to be in the scene CRS (or pixel-space local metres
    for scenes without one). ``field_option``: the option that names another field, where the
    command has one (its errors point to it).
    """
    gdf = read_vector(path, "zones file", pixel_space=scene_crs is None)
    if gdf.empty:
        osm = " (an OpenStreetMap extract's zones are its closed areas)" if is_osm(path) else ""
        raise GeotallyError(f"zones file {path} has no features with a geometry{osm}")
    if is_osm(path):
        gdf = _osm_zones(gdf, path, field)
    kinds = set(gdf.geometry.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise GeotallyError(f"zones file {path} must hold polygons; found {', '.join(sorted(kinds))} "
                            f"(pass a line as --border)")
    if field == gdf.geometry.name:
        raise GeotallyError(f"zones file {path}: {field!r} holds the zones' shapes, not their names; name the "
                            f"field that holds the names ({field_option or 'the zone field'})")
    if field not in gdf.columns:
        cols = ", ".join(c for c in gdf.columns if c != gdf.geometry.name)
        if not cols:
            raise GeotallyError(f"zones file {path} has shapes but no fields; give each zone a {field!r} property")
        fix = f"use {field_option} with one of: {cols}" if field_option else \
            f"its fields are {cols}: rename the one holding the zone names to {field!r}"
        raise GeotallyError(f"zones file {path} has no field {field!r}; {fix}")
    assumed = gdf.crs is None and scene_crs is not None
    if gdf.crs is not None and scene_crs is not None:
        gdf = gdf.to_crs(scene_crs)
    elif gdf.crs is not None and scene_crs is None:
        raise GeotallyError(f"zones file {path} is georeferenced but the scene is not; give zones in pixel-space metres without a CRS")
    polys = shapely.make_valid(np.asarray(gdf.geometry.values, dtype=object))
    scene_box = shapely.box(*scene_bounds)
    if not shapely.intersects(polys, scene_box).any():
        zb = shapely.total_bounds(polys)
        raise GeotallyError(f"zones in {path} do not overlap the scene (zones bounds {np.round(zb, 1).tolist()}, "
                            f"scene bounds {np.round(scene_bounds, 1).tolist()}, both in the scene CRS)"
                            + (NO_CRS if assumed else ""))
    names = zone_names(gdf[field], path, field)
    return Zones(names=names, polygons=polys, source=str(path), field=field)
