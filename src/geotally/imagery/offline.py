"""Local inputs stay local: GDAL is given no way onto the network while geotally reads them.

A VRT is a local file that can name remote sources (``/vsicurl/http://…``), and GDAL would
fetch them. Every input a user names (scenes, zones, border, roads, truth, review files) must
be local, so a VRT (raster ``<VRTDataset>`` or vector ``<OGRVRTDataSource>``, whatever its
file name) that names a network source, directly or through another VRT, is refused before it
is opened, and every open runs with GDAL's curl-based file systems pointed at nothing, in
rasterio's GDAL and in pyogrio's (the wheels each carry their own copy, with their own config).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import rasterio

from geotally.errors import GeotallyError

# /vsicurl, /vsis3, /vsigs, /vsiaz, /vsiadls, /vsioss, /vsiswift, /vsihdfs, /vsiwebhdfs and plain URLs.
_NETWORK = re.compile(r"/vsi(curl|s3|gs|az|adls|oss|swift|hdfs|webhdfs)[_a-z]*/|\b(https?|ftps?)://", re.I)
_SOURCE = re.compile(r"<(SourceFilename|SrcDataSource)([^>]*)>([^<]+)</\1>", re.I)
_VRT_ROOT = re.compile(rb"<\s*(VRTDataset|OGRVRTDataSource)\b", re.I)

# GDAL config for every read: /vsicurl/ and the cloud file systems built on it accept only names
# ending in this made-up extension, so they refuse all others before any request; and any HTTP
# that still starts goes to a closed local port rather than out.
# GDAL still lists a local file's folder, so it finds the file's sidecars (a world file, .aux.xml,
# an external .msk mask or .ovr overviews).
NETWORK_OFF = {"CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".geotally-network-off", "GDAL_HTTP_PROXY": "127.0.0.1:9",
               "GDAL_HTTP_MAX_RETRY": "0"}


def check_local(path: str | Path, _seen: frozenset[str] = frozenset()) -> None:
    """Refuse a VRT (or a VRT it names) with a network source, naming the source."""
    p = Path(path)
    if not p.is_file() or str(p.resolve()) in _seen or not _is_vrt(p):
        return
    text = p.read_text(errors="replace")
    hit = _NETWORK.search(text)
    if hit:
        start = max(0, hit.start())
        raise GeotallyError(f"{p} names a network source ({text[start:start + 60].split('<')[0]}); geotally reads "
                            "local files only: download the data and point the VRT at it")
    for _, attrs, name in _SOURCE.findall(text):
        source = Path(name.strip())
        if 'relativeToVRT="1"' in attrs.replace("'", '"'):
            source = p.parent / source
        check_local(source, _seen | {str(p.resolve())})


def _is_vrt(path: Path) -> bool:
    """A VRT by name or by content: GDAL's VRT drivers take any file that opens with their root element."""
    if path.suffix.lower() == ".vrt":
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError:
        return False
    return _VRT_ROOT.search(head) is not None


@contextmanager
def vectors_offline() -> Iterator[None]:
    """NETWORK_OFF in pyogrio's GDAL (vector reads), put back as it was afterwards."""
    import pyogrio

    before = {k: pyogrio.get_gdal_config_option(k) for k in NETWORK_OFF}
    pyogrio.set_gdal_config_options(NETWORK_OFF)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)


def rasters_offline() -> rasterio.Env:
    """NETWORK_OFF in rasterio's GDAL (raster reads). Rasters are read by rasterio's GDAL alone, and
    setting pyogrio's as well made every raster open import pyogrio, which detection otherwise
    never needs."""
    return rasterio.Env(**NETWORK_OFF)


def read_local_vector(path: str | Path, prefer: str | None = None, pixel_space: bool = False, **kwargs):
    """``geopandas.read_file`` of a user's vector file, refused if it names a network source and read
    with the network off: the one way geotally opens vector inputs. A GeoPackage of several data
    layers is read at the layer named ``prefer``, and refused without one (never its first, unsaid).
    With ``pixel_space`` (for a scene without a CRS), a GeoJSON that names no CRS, WGS84 only by its
    standard, has none: its coordinates are the scene's pixel-space metres. A zip archive is read at
    the one vector file it holds, in whatever folder; an OpenStreetMap extract at the layer of GDAL's
    OSM driver that ``prefer`` needs (OSM_LAYERS); GeoParquet (Overture's, geotally's own) by PyArrow."""
    import geopandas as gpd

    check_local(path)
    with vectors_offline():
        if str(path).lower().endswith(".zip"):
            path = _zip_member(path, prefer)
        if "layer" not in kwargs and is_osm(path) and prefer in OSM_LAYERS:
            kwargs["layer"] = OSM_LAYERS[prefer]
        if is_osm(path):  # an extract cuts relations at its edge: their broken rings are read as no geometry
            kwargs.setdefault("on_invalid", "ignore")
        if "layer" not in kwargs and str(path).lower().endswith(".gpkg"):
            kwargs.update(_data_layer(path, prefer))
        if str(path).lower().endswith((".parquet", ".geoparquet")):  # GDAL's wheels read no (Geo)Parquet
            gdf = gpd.read_parquet(path)
        else:
            gdf = gpd.read_file(path, **kwargs)
    if pixel_space and getattr(gdf, "crs", None) is not None and _crs_by_standard(path):
        gdf = gdf.set_crs(None, allow_override=True)
    return gdf


# GDAL's OSM driver's layer for each input read from an OpenStreetMap extract: zones are its closed
# areas, a border and roads its ways (a border's are picked from them by their tags).
OSM_LAYERS = {"zones": "multipolygons", "border": "lines", "roads": "lines"}

# What a file in a zip archive may be: the vector formats geotally reads (a shapefile by its .shp).
VECTOR_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".fgb", ".kml", ".gml", ".geojsonl", ".geojsons",
                   ".geojsonseq", ".ndjson", ".osm", ".pbf", ".sqlite")


def is_osm(path: str | Path) -> bool:
    """An OpenStreetMap extract (.osm or .osm.pbf), read by GDAL's OSM driver."""
    p = str(path).lower()
    return p.endswith(".osm") or p.endswith(".pbf")


def osm_tag(other_tags, key: str):
    """One key of GDAL's OSM ``other_tags`` ('"ref"=>"A 7","oneway"=>"yes"') as a pandas Series, or ''."""
    return other_tags.fillna("").str.extract(rf'"{re.escape(key)}"=>"((?:[^"\\]|\\.)*)"', expand=False).fillna("")


def _zip_member(path: str | Path, prefer: str | None) -> str:
    """The GDAL path of the one vector file in a zip archive, in whatever folder of it (GDAL itself
    finds one only at the archive's top); of several, the one named ``prefer`` (zones.shp), else refused."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith(VECTOR_SUFFIXES) and "__MACOSX" not in n]
    except (OSError, zipfile.BadZipFile) as exc:
        raise GeotallyError(f"{path} is not a readable zip archive ({exc}); unzip it and give the vector file") from None
    if len(names) > 1 and prefer:
        named = [n for n in names if Path(n).stem.lower() == prefer.lower()]
        names = named or names
    if len(names) != 1:
        found = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "") if names else "none"
        raise GeotallyError(f"{path} holds {len(names) or 'no'} vector file{'s' if len(names) != 1 else ''} "
                            f"({found}); geotally reads one: unzip the one you mean and give it")
    return f"/vsizip/{Path(path).resolve()}/{names[0]}"


def _crs_by_standard(path: str | Path) -> bool:
    """Whether ``path`` is GeoJSON that names no CRS (GeoJSON text sequences never do)."""
    import json

    p = Path(path)
    if p.suffix.lower() in (".geojsonl", ".geojsons", ".geojsonseq", ".ndjson"):
        return True
    if p.suffix.lower() not in (".geojson", ".json"):
        return False
    try:
        doc = json.loads(p.read_text(errors="replace"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and "crs" not in doc


def _data_layer(path: str | Path, prefer: str | None) -> dict:
    """A GeoPackage's one data layer by name, where it also holds QGIS's ``layer_styles`` table (every
    GeoPackage geotally writes does, and so does one saved from QGIS with its style)."""
    import pyogrio

    names = [n for n, _ in pyogrio.list_layers(path) if n != "layer_styles"]
    if len(names) > 1:
        if prefer in names:
            return {"layer": prefer}
        raise GeotallyError(f"{path} holds {len(names)} layers ({', '.join(names)}); geotally reads one: save the "
                            "layer you mean as a file of its own")
    return {"layer": names[0]} if names else {}
