"""Finding imagery in catalogues: a STAC API (pystac-client) or a static STAC catalogue (pystac).

:func:`search` returns the items that cover an area of interest in a time range, with what a user
needs to choose among them (date, GSD, the share of the area covered, cloud cover) and the asset to
be read. Items that cannot be counted (no datetime, no raster asset, an asset that is not a GeoTIFF,
a footprint that misses the area) are skipped one line each, so a broken catalogue never stops a
search. Credentials come from the environment only (the header file GDAL reads, see
:func:`geotally.imagery.remote.auth_headers`) and are never part of what is returned or saved.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import shapely
from pyproj import CRS, Transformer

from geotally.errors import GeotallyError

DATA_KEYS = ("visual", "image", "data", "analytic")
TIFF_TYPES = ("image/tiff", "image/geotiff", "image/vnd.stac.geotiff")
RASTER_SUFFIXES = (".tif", ".tiff")
CATALOGUE_KEY = "geotally:catalogue"  # where a saved item keeps the catalogue it came from


@dataclass(frozen=True)
class Found:
    """One item that can be counted: its identity, date, GSD, cover of the AOI, cloud and asset."""

    id: str
    datetime: str  # ISO 8601, UTC
    gsd: float | None  # metres, as the item states it
    aoi_share: float  # 0-1, the share of the area of interest inside the item's footprint
    cloud_cover: float | None  # percent (eo:cloud_cover), where the item has it
    href: str  # the asset to be read
    asset: str  # its key in the item's assets
    collection: str | None
    catalogue: str
    item: dict = field(compare=False, repr=False)  # the STAC item as served

    @property
    def date(self) -> str:
        return self.datetime[:10]

    def row(self) -> dict:
        """The table row, as the CLI prints it and a script may log it."""
        return {"id": self.id, "datetime": self.datetime, "gsd_m": self.gsd, "aoi_share": round(self.aoi_share, 4),
                "cloud_cover": self.cloud_cover, "asset": self.href}


@dataclass
class Search:
    """What a search found and what it skipped (one line per item)."""

    items: list[Found]
    skipped: list[str]
    catalogue: str


def parse_bbox(text: str | Iterable[float]) -> tuple[float, float, float, float]:
    """``W,S,E,N`` in degrees (WGS84), checked."""
    try:
        vals = [float(v) for v in (text.split(",") if isinstance(text, str) else text)]
    except ValueError:
        raise GeotallyError(f"--bbox takes W,S,E,N in degrees, e.g. 44.0,37.1,44.1,37.2; got {text!r}") from None
    if len(vals) != 4:
        raise GeotallyError(f"--bbox takes four numbers W,S,E,N in degrees; got {len(vals)}")
    w, s, e, n = vals
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise GeotallyError(f"--bbox {w},{s},{e},{n} is not W,S,E,N in degrees with W < E and S < N")
    return w, s, e, n


def parse_datetime(text: str | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``START/END`` (either open with ``..``) or one date, as UTC datetimes; a date alone is its whole day."""
    if not text:
        return None, None
    parts = text.split("/")
    if len(parts) > 2:
        raise GeotallyError(f"--datetime takes START/END, e.g. 2015-12-01/2015-12-31; got {text!r}")
    if len(parts) == 1:
        parts = [parts[0], parts[0]]

    def one(s: str, end: bool) -> dt.datetime | None:
        s = s.strip()
        if s in ("", ".."):
            return None
        try:
            if len(s) == 10:
                d = dt.datetime.fromisoformat(s).replace(tzinfo=dt.timezone.utc)
                return d + dt.timedelta(days=1) - dt.timedelta(microseconds=1) if end else d
            d = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
        except ValueError:
            raise GeotallyError(f"--datetime {s!r} is not a date (YYYY-MM-DD) or an ISO 8601 time") from None
        return d if d.tzinfo else d.replace(tzinfo=dt.timezone.utc)

    start, end = one(parts[0], False), one(parts[1], True)
    if start and end and start > end:
        raise GeotallyError(f"--datetime {text}: the start is after the end")
    return start, end


def aoi_geometry(*, zones: str | os.PathLike | None = None, border: str | os.PathLike | None = None,
                 bbox: str | Iterable[float] | None = None, margin_m: float = 0.0,
                 border_m: float | None = None) -> shapely.Geometry:
    """The area of interest in WGS84 lon/lat: a --bbox, the union of a zones file, or a border line
    buffered by ``border_m`` (the widest distance band); ``margin_m`` widens it (context around a zone)."""
    import geopandas as gpd

    given = [k for k, v in (("--bbox", bbox), ("--zones", zones), ("--border", border)) if v is not None]
    if not given:
        raise GeotallyError("an area of interest is needed: give --bbox W,S,E,N, --zones FILE or --border FILE")
    if bbox is not None:
        geom, crs = shapely.box(*parse_bbox(bbox)), CRS.from_epsg(4326)
    else:
        path = Path(zones if zones is not None else border)  # type: ignore[arg-type]
        try:
            frame = gpd.read_file(path)
        except Exception as exc:  # pyogrio raises several kinds; all mean the same to a user
            raise GeotallyError(f"{path} cannot be read as vector data: {str(exc).splitlines()[0]}") from None
        if frame.empty or frame.crs is None:
            raise GeotallyError(f"{path} has no features or no CRS; an area of interest needs both")
        geom, crs = shapely.union_all(frame.geometry.values), frame.crs
        if zones is None:
            margin_m += border_m if border_m is not None else 1000.0
    if margin_m > 0:
        geom, crs = _buffer_m(geom, crs, margin_m)
    return _to_wgs84(geom, crs)


def _local_metric(geom: shapely.Geometry, crs) -> CRS:
    lon, lat = _to_wgs84(geom.centroid, crs).coords[0]
    zone = int((lon + 180) // 6) + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + min(max(zone, 1), 60))


def _buffer_m(geom: shapely.Geometry, crs, metres: float) -> tuple[shapely.Geometry, CRS]:
    """``geom`` widened by ``metres`` on the ground, in the UTM zone around it (a projected CRS's own
    units may be feet, and its scale off: Web Mercator's is 1/cos(latitude))."""
    crs = CRS.from_user_input(crs)
    metric = _local_metric(geom, crs)
    g = geom if metric == crs else shapely.transform(geom, Transformer.from_crs(crs, metric, always_xy=True).transform,
                                                     interleaved=False)
    return shapely.buffer(g, metres), metric


def _to_wgs84(geom: shapely.Geometry, crs) -> shapely.Geometry:
    crs = CRS.from_user_input(crs)
    if crs.equals(CRS.from_epsg(4326)):
        return geom
    t = Transformer.from_crs(crs, 4326, always_xy=True)
    return shapely.transform(shapely.segmentize(geom, 1e3 if crs.is_projected else 0.01), t.transform,
                             interleaved=False)


def aoi_share(footprint: shapely.Geometry, aoi: shapely.Geometry) -> float:
    """Share of the AOI's area inside the footprint, measured in a local UTM zone (both in WGS84)."""
    metric = _local_metric(aoi, 4326)
    t = Transformer.from_crs(4326, metric, always_xy=True)
    a, f = (shapely.transform(shapely.segmentize(g, 0.01), t.transform, interleaved=False) for g in (aoi, footprint))
    return float(shapely.area(shapely.intersection(a, f)) / shapely.area(a)) if a.area > 0 else 0.0


def pick_asset(item: dict) -> tuple[str, dict] | str:
    """The item's raster asset (key, asset), or why it has none usable."""
    assets = item.get("assets") if isinstance(item.get("assets"), dict) else {}
    assets = {k: a for k, a in assets.items() if isinstance(a, dict) and isinstance(a.get("href"), str) and a["href"]}
    if not assets:
        return "has no asset with an href"

    def rank(k: str) -> tuple[int, int]:
        roles = assets[k].get("roles") if isinstance(assets[k].get("roles"), list) else []
        return (0 if k in DATA_KEYS else 1 if "data" in roles or "visual" in roles else 2,
                DATA_KEYS.index(k) if k in DATA_KEYS else 9)

    seen_types = []
    for key in sorted(assets, key=rank):
        a = assets[key]
        kind = str(a.get("type") or "").split(";")[0].strip().lower()
        suffix = Path(a["href"].split("?")[0]).suffix.lower()
        if kind in TIFF_TYPES or (not kind and suffix in RASTER_SUFFIXES):
            if rank(key)[0] < 2 or suffix in RASTER_SUFFIXES or kind:
                return key, a
        seen_types.append(f"{key}: {kind or suffix or 'no type'}")
    return f"has no GeoTIFF asset ({', '.join(seen_types[:3])})"


def _item_datetime(props: dict) -> str | None:
    value = props.get("datetime") or props.get("start_datetime")
    if not isinstance(value, str):
        return None
    try:
        d = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    d = d if d.tzinfo else d.replace(tzinfo=dt.timezone.utc)
    return d.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _gsd(item: dict, asset: dict) -> float | None:
    for src in (asset, item.get("properties") or {}):
        v = src.get("gsd")
        if isinstance(v, (int, float)) and v > 0:
            return float(v)
    return None


def examine(item: dict, aoi: shapely.Geometry, catalogue: str, start=None, end=None) -> Found | str:
    """The item as a :class:`Found`, or the one line that says why it is skipped."""
    iid = item.get("id") if isinstance(item.get("id"), str) else "(no id)"
    props = item.get("properties") if isinstance(item.get("properties"), dict) else {}
    when = _item_datetime(props)
    if when is None:
        return f"item {iid} skipped: it has no datetime"
    if (start or end):
        t = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
        if (start and t < start) or (end and t > end):
            return f"item {iid} skipped: {when} is outside --datetime"
    picked = pick_asset(item)
    if isinstance(picked, str):
        return f"item {iid} skipped: it {picked}"
    key, asset = picked
    try:
        footprint = shapely.geometry.shape(item["geometry"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return f"item {iid} skipped: it has no footprint geometry"
    share = aoi_share(footprint, aoi)
    if share <= 0:
        return f"item {iid} skipped: its footprint misses the area of interest"
    cloud = props.get("eo:cloud_cover")
    return Found(id=iid, datetime=when, gsd=_gsd(item, asset), aoi_share=share,
                 cloud_cover=float(cloud) if isinstance(cloud, (int, float)) else None, href=asset["href"], asset=key,
                 collection=item.get("collection") if isinstance(item.get("collection"), str) else None,
                 catalogue=catalogue, item=item)


def _absolute_hrefs(item: dict, base: str) -> dict:
    """Asset hrefs made absolute against the document they came from (static catalogues use relative ones)."""
    from urllib.parse import urljoin

    item = json.loads(json.dumps(item))
    for a in (item.get("assets") or {}).values():
        if isinstance(a, dict) and isinstance(a.get("href"), str) and "://" not in a["href"] and base:
            a["href"] = urljoin(base, a["href"]) if "://" in base else str((Path(base).parent / a["href"]).resolve())
    return item


def _api_items(url: str, aoi, start, end, collections, max_items, headers) -> Iterable[dict]:
    from pystac_client import Client, ConformanceClasses
    from pystac_client.warnings import DoesNotConformTo
    from pystac_client.exceptions import APIError

    from geotally.imagery.remote import safe_url

    shown = safe_url(url)  # its query may hold a key
    unreachable = f"STAC API {shown} cannot be reached (nothing answers there, or it timed out)"
    try:
        client = Client.open(url, headers=headers or None)
        window = None
        if start or end:
            window = f"{start.isoformat() if start else '..'}/{end.isoformat() if end else '..'}"
        # "the oldest N": sorted by the server where it can sort, else every match is fetched (to a cap)
        sortable = bool(max_items) and client.conforms_to(ConformanceClasses.SORT)
        limit = (max_items * 4 if sortable else ALL_ITEMS_CAP) if max_items else None
        found = client.search(intersects=shapely.geometry.mapping(aoi), datetime=window,
                              collections=list(collections) or None, max_items=limit,
                              sortby="+properties.datetime" if sortable else None)
        n = 0
        for item in found.items_as_dicts():
            n += 1
            yield item
        if max_items and not sortable and n >= ALL_ITEMS_CAP:
            raise GeotallyError(f"STAC API {shown} has more than {ALL_ITEMS_CAP} items for this search and cannot sort "
                                "them, so the oldest --max-items cannot be told; narrow --datetime or the area")
    except GeotallyError:
        raise
    except DoesNotConformTo:
        raise GeotallyError(f"{shown} is not a STAC API with item search (a static catalogue, collection or "
                            "ItemCollection is given as --catalog)") from None
    except APIError as exc:
        text, status = str(exc).strip(), getattr(exc, "status_code", None)
        if "Max retries exceeded" in text or "NewConnectionError" in text:
            raise GeotallyError(unreachable) from None
        if text.startswith("<") or not text:  # an HTML page or nothing: a web server, not a STAC API
            raise GeotallyError(f"{shown} answered {f'HTTP {status}' if status else 'with no STAC JSON'}: is it a STAC "
                                "API's URL (a static catalogue is given as --catalog)?") from None
        raise GeotallyError(f"STAC API {shown} refused the search: {text.splitlines()[0][:200]}") from None
    except Exception as exc:  # noqa: BLE001 - requests' and pystac-client's many kinds: one line each
        if type(exc).__name__ in ("ConnectionError", "ConnectTimeout", "ReadTimeout", "Timeout"):
            raise GeotallyError(unreachable) from None
        raise GeotallyError(f"{shown} cannot be read as a STAC API ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:160] if str(exc) else 'no detail'}); check the URL") from None


ALL_ITEMS_CAP = 10_000  # items fetched to find the oldest N where the API cannot sort


def _static_io(href: str):
    """pystac's reader for a static catalogue at ``href``: over http(s), with the credentials of
    GDAL_HTTP_HEADER_FILE for that catalogue's host only (never for a host it links to)."""
    import pystac
    from pystac.stac_io import DefaultStacIO

    from geotally.imagery.remote import auth_headers, host, is_remote

    if not is_remote(href):
        return pystac.StacIO.default()

    class HostHeaders(DefaultStacIO):
        def read_text_from_href(self, source: str) -> str:
            self.headers = auth_headers() if host(str(source)) == host(href) else {}
            return super().read_text_from_href(source)

    return HostHeaders()


def _static_items(href: str, collections) -> Iterable[dict]:
    import pystac

    io = _static_io(href)
    try:
        doc = io.read_json(href)
    except Exception as exc:  # a missing file, a refused URL, not JSON
        raise GeotallyError(f"{href} cannot be read as STAC JSON: {str(exc).splitlines()[0][:200]}") from None
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":  # an ItemCollection, read as served:
        for d in doc.get("features") or []:  # a broken item is skipped later, one line, not fatal here
            if isinstance(d, dict) and (not collections or d.get("collection") in collections):
                yield _absolute_hrefs(d, href)
        return
    try:
        root = pystac.read_dict(doc, href=href, stac_io=io)
    except Exception as exc:  # pystac raises many kinds for a bad document
        raise GeotallyError(f"{href} is not a STAC catalogue, collection or item collection: "
                            f"{str(exc).splitlines()[0][:200]}") from None
    if isinstance(root, pystac.ItemCollection):
        items = root.items
    elif isinstance(root, pystac.Item):
        items = [root]
    else:
        items = root.get_items(recursive=True)
    for it in items:
        if collections and it.collection_id not in collections:
            continue
        d = it.to_dict(transform_hrefs=False)
        base = it.get_self_href() or href
        yield _absolute_hrefs(d, base)


def search(source: str, *, aoi: shapely.Geometry, datetime: str | None = None, collections: Iterable[str] = (),
           gsd: tuple[float | None, float | None] = (None, None), max_cloud: float | None = None,
           max_items: int | None = None, api: bool | None = None,
           say: Callable[[str], None] = lambda msg: None) -> Search:
    """Items of ``source`` (a STAC API URL, or a static catalogue/collection/ItemCollection URL or file)
    that meet ``aoi`` (WGS84) in ``datetime`` (START/END), within ``gsd`` (min, max metres) and
    ``max_cloud`` (percent), at most ``max_items``, oldest first. Skipped items are said one line each."""
    from geotally.imagery.remote import auth_headers, check_scheme, safe_url

    start, end = parse_datetime(datetime)
    collections = [c for c in collections if c]
    lo, hi = gsd
    is_url = "://" in source
    if is_url:
        check_scheme(source)
    elif not Path(source).exists():
        raise GeotallyError(f"catalogue not found: {source}")
    if api is None:
        api = is_url and not Path(source.split("?")[0]).suffix.lower() == ".json"
    shown = safe_url(source) if is_url else source  # a catalogue URL's query may hold a token: never written
    raw = (_api_items(source, aoi, start, end, collections, max_items, auth_headers()) if api
           else _static_items(source, set(collections)))
    items, skipped = [], []
    for item in raw:
        if collections and item.get("collection") not in collections and api:
            continue
        got = examine(item, aoi, shown, start, end)
        if isinstance(got, Found) and is_url and "://" not in got.href:
            got = f"item {got.id} skipped: its asset {got.href} is a local path in a remote catalogue"
        elif isinstance(got, Found) and is_url and got.href.startswith("file:"):
            got = f"item {got.id} skipped: its asset is a file: href in a remote catalogue"
        if isinstance(got, str):
            skipped.append(got)
            say(got)
            continue
        if got.gsd is not None and ((lo is not None and got.gsd < lo) or (hi is not None and got.gsd > hi)):
            continue
        if max_cloud is not None and got.cloud_cover is not None and got.cloud_cover > max_cloud:
            continue
        items.append(got)
    items.sort(key=lambda f: (f.datetime, f.id))
    if max_items is not None:
        items = items[:max_items]
    return Search(items, skipped, shown)


def item_collection(found: Search | list[Found]) -> dict:
    """The items as a STAC ItemCollection (as served, each with the catalogue it came from)."""
    items = found.items if isinstance(found, Search) else found
    feats = []
    for f in items:
        d = json.loads(json.dumps(f.item))
        d.setdefault("properties", {})[CATALOGUE_KEY] = f.catalogue
        feats.append(d)
    return {"type": "FeatureCollection", "features": feats}


def save_items(found: Search | list[Found], path: str | os.PathLike) -> Path:
    """Write the items as an ItemCollection JSON, atomically (never half a file)."""
    path = Path(path)
    if path.suffix.lower() != ".json":
        raise GeotallyError(f"--save {path}: an ItemCollection is saved as .json")
    if not path.parent.is_dir():
        raise GeotallyError(f"--save {path}: folder {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(item_collection(found), indent=1))
    os.replace(tmp, path)
    return path


def find(*, stac_api: str | None = None, catalog: str | os.PathLike | None = None, collections: Iterable[str] = (),
         datetime: str | None = None, bbox=None, zones=None, border=None,
         gsd_range: tuple[float | None, float | None] = (None, None), max_cloud: float | None = None,
         max_items: int | None = None, save: str | os.PathLike | None = None,
         say: Callable[[str], None] = lambda msg: None) -> Search:
    """One search as the CLI asks for it: exactly one of ``stac_api`` and ``catalog``, the area of interest
    from ``bbox``, ``zones`` or ``border``, and the items written to ``save`` (an ItemCollection)."""
    if (stac_api is None) == (catalog is None):
        raise GeotallyError("give one catalogue: --stac-api URL or --catalog URL|FILE")
    if save is not None and Path(save).suffix.lower() != ".json":
        raise GeotallyError(f"--save {save}: an ItemCollection is saved as .json")
    lo, hi = gsd_range
    for name, v in (("--gsd-range", lo), ("--gsd-range", hi)):
        if v is not None and not 0 < v < 1000:
            raise GeotallyError(f"{name} takes metres above 0 and below 1000, got {v}")
    if max_cloud is not None and not 0 <= max_cloud <= 100:
        raise GeotallyError(f"--max-cloud is a percentage 0-100, got {max_cloud}")
    if max_items is not None and not 1 <= max_items <= 100_000:
        raise GeotallyError(f"--max-items must be 1 to 100000, got {max_items}")
    aoi = aoi_geometry(zones=zones, border=border, bbox=bbox)
    found = search(str(stac_api or catalog), aoi=aoi, datetime=datetime, collections=collections, gsd=gsd_range,
                   max_cloud=max_cloud, max_items=max_items, api=stac_api is not None, say=say)
    if save is not None:
        save_items(found, save)
    return found
