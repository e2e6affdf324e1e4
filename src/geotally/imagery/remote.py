"""Remote COGs, read only where needed: the windows of an asset that meet the area of interest.

Remote reading is opt-in: it happens only for an http(s) URL or a catalogue the user names. Each
asset is first asked for its identity (HEAD: ETag, Last-Modified, size; a redirect to any scheme but
http(s) is refused), then opened through GDAL's ``/vsicurl/`` with the options in
:data:`REMOTE_ENV`, and only the blocks of the AOI's window are read, block row by block row, with
retries and backoff. They are written to a local GeoTIFF (the *crop*) that the count then reads like
any local scene, under the local-only guard (:mod:`geotally.imagery.offline`). The crop carries the
asset's identity in its tags, so an asset that changed on the server changes the scene checksum and
a resume against it is refused; a sidecar JSON beside it holds the provenance that summary.json
records (catalogue, collection, item, href, ETag/Last-Modified, size, sha256 of the pixels read).

Credentials come only from the environment: ``GDAL_HTTP_HEADER_FILE`` (HTTP headers, one a line),
which GDAL reads itself and :func:`auth_headers` reads for the HEAD request and the STAC client.
They are never written anywhere.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import shapely

from geotally.errors import GeotallyError, first_line

log = logging.getLogger("geotally")

SCHEMES = ("http", "https")
# GDAL's HTTP options for remote COGs, chosen rather than left to defaults:
REMOTE_ENV: dict[str, str | int] = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",  # no directory listing (or .aux/.ovr probes) per open
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff,.TIF,.TIFF",  # only GeoTIFF names are requested at all
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",  # adjacent blocks of a window in one range request
    "GDAL_HTTP_MULTIPLEX": "YES",  # parallel ranges over one HTTP/2 connection where the server has it
    "GDAL_HTTP_VERSION": "2",  # HTTP/2 where offered (TLS ALPN); HTTP/1.1 otherwise
    "CPL_VSIL_CURL_CACHE_SIZE": str(64 * 1024 * 1024),  # bounded in-memory cache of fetched ranges
    "GDAL_INGESTED_BYTES_AT_OPEN": str(64 * 1024),  # the COG header and tile index in the first request
    "GDAL_HTTP_MAX_RETRY": "4",  # 429, 500, 502, 503, 504 retried by GDAL ...
    "GDAL_HTTP_RETRY_DELAY": "0.5",  # ... with this first delay, doubled each time
    "GDAL_HTTP_TIMEOUT": "60",
    "GDAL_HTTP_CONNECTTIMEOUT": "15",
    "GDAL_HTTP_LOW_SPEED_TIME": "20",  # a stalled transfer (under 1 byte/s for this long) is cut and retried
    "GDAL_HTTP_LOW_SPEED_LIMIT": "1",
    "GDAL_CACHEMAX": 128,  # MB of block cache
    "VSI_CACHE": "FALSE",
}
RETRIES = 4  # whole-window retries on top of GDAL's own (a dropped connection is not retried by GDAL)
BACKOFF_S = 0.5
BLOCK = 512  # the window is widened to whole blocks of this many pixels where the COG has none


def check_scheme(url: str) -> None:
    """Only http and https are read; anything else (file:, ftp:, s3: ...) is refused."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise GeotallyError(f"{_safe(url)}: only http and https are read remotely (got {scheme or 'no scheme'})")


def is_remote(text: str) -> bool:
    return bool(re.match(r"^https?://", str(text), re.I))


def _safe(url: str) -> str:
    """The URL without a query string or user:password, for messages and logs."""
    url = re.sub(r"//[^/@]*@", "//", str(url))
    return url.split("?", 1)[0]


def env() -> dict[str, str | int]:
    """GDAL config for remote reads: :data:`REMOTE_ENV`, where the process environment does not set its own."""
    return {k: os.environ.get(k, v) for k, v in REMOTE_ENV.items()}


def auth_headers() -> dict[str, str]:
    """HTTP headers from the file GDAL_HTTP_HEADER_FILE names (``Name: value`` a line); none without it."""
    path = os.environ.get("GDAL_HTTP_HEADER_FILE")
    if not path:
        return {}
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise GeotallyError(f"GDAL_HTTP_HEADER_FILE cannot be read ({exc.strerror})") from None
    out = {}
    for line in lines:
        if ":" in line and not line.lstrip().startswith("#"):
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


class _HttpOnly(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http(s)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if newurl.split("://", 1)[0].lower() not in SCHEMES:
            raise GeotallyError(f"{_safe(req.full_url)} redirects to {newurl.split('://', 1)[0]}:, which is not read")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


@dataclass(frozen=True)
class Identity:
    """What the server says an asset is: where it ended up, its ETag or Last-Modified, and its size."""

    url: str
    etag: str | None
    last_modified: str | None
    size: int | None


def identify(url: str, retries: int = RETRIES, backoff_s: float = BACKOFF_S) -> Identity:
    """HEAD the asset (retrying 429/5xx and dropped connections with backoff)."""
    check_scheme(url)
    opener = urllib.request.build_opener(_HttpOnly)
    req = urllib.request.Request(url, method="HEAD", headers=auth_headers())
    timeout = float(env()["GDAL_HTTP_TIMEOUT"])
    why = ""
    for attempt in range(retries + 1):
        try:
            with opener.open(req, timeout=timeout) as r:
                size = r.headers.get("Content-Length")
                return Identity(r.geturl(), r.headers.get("ETag"), r.headers.get("Last-Modified"),
                                int(size) if size and size.isdigit() else None)
        except urllib.error.HTTPError as exc:
            if exc.code not in (429, 500, 502, 503, 504):
                raise GeotallyError(f"{_safe(url)}: the server answered HTTP {exc.code}") from None
            why = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            why = first_line(exc)
        if attempt < retries:
            log.info("%s: %s, retry %d of %d", _safe(url), why, attempt + 1, retries)
            time.sleep(backoff_s * 2 ** attempt)
    raise GeotallyError(f"{_safe(url)} cannot be reached after {retries} retries ({why})")


def _window(src, aoi_wgs84: shapely.Geometry | None):
    """Pixel window (col, row, width, height) of the AOI in the dataset, widened to whole blocks; None if
    the AOI misses it."""
    from pyproj import Transformer

    if aoi_wgs84 is None:
        return 0, 0, src.width, src.height
    t = Transformer.from_crs(4326, src.crs, always_xy=True)
    g = shapely.transform(shapely.segmentize(aoi_wgs84, 0.001), t.transform, interleaved=False)
    x0, y0, x1, y1 = g.bounds
    inv = ~src.transform
    cols, rows = zip(*(inv * (x, y) for x, y in ((x0, y0), (x0, y1), (x1, y0), (x1, y1))))
    bw, bh = src.block_shapes[0][1], src.block_shapes[0][0]
    bw, bh = (bw, bh) if bw < src.width or bh < src.height else (BLOCK, BLOCK)
    c0 = max(0, int(np.floor(min(cols) / bw)) * bw)
    r0 = max(0, int(np.floor(min(rows) / bh)) * bh)
    c1 = min(src.width, int(np.ceil(max(cols) / bw)) * bw)
    r1 = min(src.height, int(np.ceil(max(rows) / bh)) * bh)
    if c1 <= c0 or r1 <= r0:
        return None
    return c0, r0, c1 - c0, r1 - r0


@dataclass
class Crop:
    """An AOI's window of a remote asset, written locally, and its provenance."""

    path: Path
    provenance: dict
    bytes_read: int  # pixels read, uncompressed


def _open(vsi: str):
    import rasterio

    return rasterio.open(vsi)


def crop(url: str, aoi_wgs84: shapely.Geometry | None, cache: str | os.PathLike, *, name: str = "scene",
         meta: dict | None = None, say: Callable[[str], None] = lambda msg: None,
         retries: int = RETRIES, backoff_s: float = BACKOFF_S) -> Crop:
    """Read the AOI's window of the COG at ``url`` into a local GeoTIFF in ``cache`` (reused while the
    server's ETag/Last-Modified/size stay the same). ``meta`` (catalogue, collection, item id) goes
    into the provenance. Faults are retried with backoff, then reported in one line; no partial file
    is left."""
    import rasterio
    from rasterio.errors import RasterioIOError
    from rasterio.windows import Window

    ident = identify(url, retries, backoff_s)
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(f"{_safe(url)}|{aoi_wgs84.wkt if aoi_wgs84 is not None else ''}".encode()).hexdigest()[:16]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:60] or "scene"
    path = cache / f"{stem}-{key}.tif"
    side = path.with_name(path.name + ".remote.json")
    version = {"etag": ident.etag, "last_modified": ident.last_modified, "size": ident.size}
    if path.exists() and side.exists():
        old = json.loads(side.read_text())
        if all(old.get(k) == v for k, v in version.items()):
            return Crop(path, old, 0)
        say(f"{_safe(url)} changed on the server (ETag {old.get('etag')} -> {ident.etag}); reading it again")
    vsi = "/vsicurl/" + ident.url
    why = ""
    for attempt in range(retries + 1):
        part = path.with_name(f".{path.name}.part")
        try:
            # not cached between opens: a re-read after the asset changed must not get the old bytes
            with rasterio.Env(**env(), CPL_VSIL_CURL_NON_CACHED=vsi):
                with _open(vsi) as src:
                    win = _window(src, aoi_wgs84)
                    if win is None:
                        raise GeotallyError(f"{_safe(url)}: the area of interest misses the image")
                    c0, r0, w, h = win
                    profile = dict(driver="GTiff", width=w, height=h, count=src.count, dtype=src.dtypes[0],
                                   crs=src.crs, transform=src.window_transform(Window(c0, r0, w, h)),
                                   nodata=src.nodata, tiled=True, blockxsize=BLOCK, blockysize=BLOCK,
                                   compress="deflate", zlevel=1, predictor=2 if np.dtype(src.dtypes[0]).kind in "iu" else 1)
                    if [ci.name for ci in src.colorinterp] == ["red", "green", "blue"]:
                        profile["photometric"] = "RGB"
                    digest = hashlib.sha256()
                    nbytes = 0
                    step = BLOCK * 2
                    with rasterio.open(part, "w", **profile) as dst:
                        dst.colorinterp = src.colorinterp
                        for r in range(0, h, step):
                            hh = min(step, h - r)
                            block = src.read(window=Window(c0, r0 + r, w, hh))
                            digest.update(np.ascontiguousarray(block).tobytes())
                            nbytes += block.nbytes
                            dst.write(block, window=Window(0, r, w, hh))
                        # the asset's identity in the file: a changed asset is a changed scene checksum
                        dst.update_tags(GEOTALLY_REMOTE_HREF=_safe(url), GEOTALLY_REMOTE_ETAG=ident.etag or "",
                                        GEOTALLY_REMOTE_LAST_MODIFIED=ident.last_modified or "",
                                        GEOTALLY_REMOTE_SIZE=str(ident.size or ""),
                                        GEOTALLY_REMOTE_WINDOW=f"{c0},{r0},{w},{h}")
                    full = (src.width, src.height)
            prov = dict(meta or {}, href=_safe(url), **version, window=[c0, r0, w, h], full_size_px=list(full),
                        pixels_sha256=digest.hexdigest(), pixel_bytes_read=nbytes)
            os.replace(part, path)
            tmp = side.with_name(side.name + ".tmp")
            tmp.write_text(json.dumps(prov, indent=1))
            os.replace(tmp, side)
            return Crop(path, prov, nbytes)
        except RasterioIOError as exc:
            why = first_line(exc)
        finally:
            Path(part).unlink(missing_ok=True)
        if attempt < retries:
            log.info("%s: %s, retry %d of %d", _safe(url), why, attempt + 1, retries)
            time.sleep(backoff_s * 2 ** attempt)
    why = why.replace(ident.url, _safe(ident.url))
    raise GeotallyError(f"{_safe(url)} could not be read after {retries} retries ({why[:160]})")


def provenance(scene_path: str | os.PathLike) -> dict | None:
    """The remote provenance of a crop (None for a scene that was never remote)."""
    side = Path(f"{scene_path}.remote.json")
    if not side.is_file():
        return None
    try:
        return json.loads(side.read_text())
    except (OSError, ValueError):
        return None


def default_cache() -> Path:
    """Where crops are kept: $GEOTALLY_REMOTE_CACHE, or the user's cache folder."""
    if os.environ.get("GEOTALLY_REMOTE_CACHE"):
        return Path(os.environ["GEOTALLY_REMOTE_CACHE"])
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("geotally")) / "remote"


def local_items(found: list, aoi_wgs84: shapely.Geometry | None, cache: str | os.PathLike | None = None,
                say: Callable[[str], None] = lambda msg: None) -> dict:
    """An ItemCollection whose assets are the local crops of ``found`` (:class:`~geotally.imagery.stac.Found`
    items), each item keeping its datetime: what ``geotally count`` reads after a catalogue search."""
    cache = Path(cache) if cache is not None else default_cache()
    feats = []
    for f in found:
        c = crop(f.href, aoi_wgs84, cache, name=f"{f.collection or 'item'}-{f.id}",
                 meta={"catalogue": _safe(f.catalogue), "collection": f.collection, "item_id": f.id}, say=say)
        say(f"{f.id}: window {c.provenance['window']} of {c.provenance['full_size_px']} px"
            + (f", {c.bytes_read / 1e6:.1f} MB of pixels read" if c.bytes_read else " (cached)"))
        feats.append({"type": "Feature", "stac_version": "1.0.0", "id": f.id, "collection": f.collection,
                      "geometry": f.item.get("geometry"), "bbox": f.item.get("bbox"),
                      "properties": {"datetime": f.datetime},
                      "assets": {"data": {"href": str(c.path.resolve()), "type": "image/tiff",
                                          "roles": ["data"]}}, "links": []})
    return {"type": "FeatureCollection", "features": feats}


def resolve_inputs(scenes: list, *, stac_api: str | None = None, catalog: str | None = None,
                   collections: tuple[str, ...] = (), datetime: str | None = None, bbox: str | None = None,
                   gsd_range: tuple[float | None, float | None] = (None, None), max_cloud: float | None = None,
                   max_items: int | None = None, remote: bool = False, zones=None, border=None,
                   distance_bands=None, cache: str | os.PathLike | None = None,
                   say: Callable[[str], None] = lambda msg: None) -> list[str]:
    """A count's inputs with everything remote made local: the items a catalogue search finds (the user
    named the catalogue), http(s) URLs given as scenes, and, with ``remote``, ItemCollection files whose
    assets are remote. Each becomes the local crop of the area of interest (--bbox, else the zones, else
    the border's widest distance band, else the whole image), listed in a local ItemCollection that keeps
    the items' datetimes. Local scenes pass through untouched (and stay under the local-only guard)."""
    from geotally.imagery.stac import aoi_geometry, search

    scenes = [str(s) for s in scenes]
    urls = [s for s in scenes if "://" in s]
    stac_files = [s for s in scenes if remote and s.lower().endswith(".json") and Path(s).is_file()]
    if not (stac_api or catalog or urls or stac_files):
        if bbox is not None:
            raise GeotallyError("--bbox picks the area read from remote imagery (--stac-api, --catalog, URLs or "
                                "--remote); local scenes are counted whole")
        return scenes
    for u in urls:
        check_scheme(u)
    if zones is not None or bbox is not None:
        aoi = aoi_geometry(zones=zones, bbox=bbox, margin_m=0 if bbox is not None else 100.0)
    elif border is not None and distance_bands:
        aoi = aoi_geometry(border=border, border_m=max(distance_bands) + 100.0)
    else:
        aoi = None  # the sides of a border reach across the whole image
    if (stac_api or catalog) and aoi is None:
        raise GeotallyError("a catalogue search needs an area of interest: give --bbox, --zones, or --border with "
                            "--distance-bands")
    found = []
    sources = [(stac_api, True)] if stac_api else []
    sources += [(catalog, False)] if catalog else []
    sources += [(f, False) for f in stac_files]
    for source, api in sources:
        hit = search(source, aoi=aoi if aoi is not None else shapely.box(-180, -90, 180, 90), datetime=datetime,
                     collections=collections, gsd=gsd_range, max_cloud=max_cloud, max_items=max_items, api=api,
                     say=say)
        if hit.skipped:
            say(f"{len(hit.skipped)} item(s) of {_safe(source)} skipped")
        if not hit.items:
            raise GeotallyError(f"no item of {_safe(source)} meets the area of interest and the time range")
        found += hit.items
    doc = local_items(found, aoi, cache, say) if found else {"type": "FeatureCollection", "features": []}
    for u in urls:
        c = crop(u, aoi, Path(cache) if cache is not None else default_cache(), name=Path(_safe(u)).stem,
                 meta={"catalogue": None, "collection": None, "item_id": None}, say=say)
        doc["features"].append({"type": "Feature", "stac_version": "1.0.0", "id": Path(_safe(u)).stem,
                                "geometry": None, "properties": {"datetime": None},
                                "assets": {"data": {"href": str(c.path.resolve()), "type": "image/tiff"}}})
    folder = Path(cache) if cache is not None else default_cache()
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=1)
    listing = folder / f"items-{hashlib.sha256(text.encode()).hexdigest()[:12]}.json"
    listing.write_text(text)
    return [s for s in scenes if s not in urls and s not in stac_files] + [str(listing)]
