"""Remote COGs, read only where needed: the blocks of an asset that meet the area of interest.

Remote reading is opt-in: it happens only for an http(s) URL or a catalogue the user names. Each
asset is first asked for its identity (HEAD: ETag, Last-Modified, size; a redirect to any scheme but
http(s) is refused), then opened through GDAL's ``/vsicurl/`` with the options in
:data:`REMOTE_ENV`, and only the COG's blocks that meet the AOI are read (zones far apart, or a
border's bands along a diagonal line, do not pull the box between them), with retries and backoff.
They are written to a local GeoTIFF (the *crop*): the blocks read in place, the rest unwritten
(sparse) and masked out by an internal mask, so the count reads it like any local scene, under the
local-only guard (:mod:`geotally.imagery.offline`), and skips the masked tiles. A sidecar JSON
beside the crop holds the provenance that summary.json records (catalogue, collection, item, href,
ETag/Last-Modified, size, sha256 of the pixels read); a resume whose asset changed on the server is
refused by the run's checkpoint, which names the old and new ETag.

GDAL's own range requests follow redirects through libcurl, which allows http, https, ftp and ftps
and which GDAL 3.10 gives no option to narrow. While geotally reads, ftp and ftps requests are sent
through a refusing proxy of its own (:class:`_SchemeGuard`), so a range request redirected to them
never leaves the machine, and the read fails with one line naming the redirect; libcurl itself
never follows a redirect to file:, and a failed read is checked for such redirects by a request of
geotally's own.

Credentials come only from the environment: ``GDAL_HTTP_HEADER_FILE`` (HTTP headers, one a line),
which GDAL reads itself and :func:`auth_headers` reads for the HEAD request and the STAC client.
They are never written anywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
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
    "GDAL_CACHEMAX": 128 * 1024 * 1024,  # 128 MB of block cache (rasterio reads an integer as bytes)
    "VSI_CACHE": "FALSE",
}
RETRIES = 4  # whole-window retries on top of GDAL's own (a dropped connection is not retried by GDAL)
# GDAL's words for the one failure no retry mends: a server without range requests (a header cut by a stall
# reads as "not recognized as ... a supported file format", which a retry does mend)
NO_RANGES = "Range downloading not supported"
BACKOFF_S = 0.5
BLOCK = 512  # the window is widened to whole blocks of this many pixels where the COG has none


def check_scheme(url: str) -> None:
    """Only http and https are read; anything else (file:, ftp:, s3: ...) is refused, as are a user and
    password in the URL (credentials go in GDAL_HTTP_HEADER_FILE) and a URL with spaces."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise GeotallyError(f"{safe_url(url)}: only http and https are read remotely (got {scheme or 'no scheme'})")
    if urllib.parse.urlsplit(url).username is not None:
        raise GeotallyError(f"{safe_url(url)}: give credentials as HTTP headers in the file GDAL_HTTP_HEADER_FILE "
                            "names (Authorization: Basic ...), not as user:password in the URL")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise GeotallyError(f"{safe_url(url)!r} is not a valid URL: it has a space or control character "
                            "(write a space as %20)")


def is_remote(text: str) -> bool:
    return bool(re.match(r"^https?://", str(text), re.I))


def safe_url(url: str) -> str:
    """The URL without a query string or user:password, for messages and logs."""
    url = re.sub(r"//[^/@]*@", "//", str(url))
    return url.split("?", 1)[0]


def host(url: str) -> str:
    """The scheme, host and port of a URL: where credentials may go."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{parts.port or ''}"


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
    """Follow redirects only to http(s); any other scheme (file: included, which urllib would turn
    into a bare HTTP error) is refused in one line naming it. A HEAD stays a HEAD (urllib makes it a
    GET of the whole file), and the credentials go to the host they were given for, never to the
    one a redirect names (as curl does)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is None:
            return None
        if req.get_method() == "HEAD":
            new.method = "HEAD"
        if host(newurl) != host(req.full_url):
            secret = {k.lower() for k in auth_headers()} | {"authorization", "cookie"}
            for table in (new.headers, new.unredirected_hdrs):
                for k in [k for k in table if k.lower() in secret]:
                    del table[k]
        return new

    def http_error_302(self, req, fp, code, msg, headers):
        where = headers.get("Location") or headers.get("URI")
        if where:
            scheme = urllib.parse.urlsplit(urllib.parse.urljoin(req.full_url, where)).scheme.lower()
            if scheme not in SCHEMES:
                raise GeotallyError(f"{safe_url(req.full_url)} redirects to {scheme or 'no scheme'}:, which is not read "
                                    "(only http and https are)")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


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
                whole = (r.headers.get("Content-Range") or "").rpartition("/")[2]  # a range GET: bytes 0-0/SIZE
                size = whole if whole.isdigit() else size if req.get_method() == "HEAD" else None
                return Identity(r.geturl(), r.headers.get("ETag"), r.headers.get("Last-Modified"),
                                int(size) if size and size.isdigit() else None)
        except urllib.error.HTTPError as exc:
            if exc.code in (403, 405, 501) and req.get_method() == "HEAD":
                # a URL signed for GET only (S3's presigned URLs answer HEAD 403): ask for its first byte
                req = urllib.request.Request(url, headers={**auth_headers(), "Range": "bytes=0-0"})
                continue
            if exc.code not in (429, 500, 502, 503, 504):
                raise GeotallyError(f"{safe_url(url)}: the server answered HTTP {exc.code}") from None
            why = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            why = first_line(exc)
        if attempt < retries:
            log.info("%s: %s, retry %d of %d", safe_url(url), why, attempt + 1, retries)
            time.sleep(backoff_s * 2 ** attempt)
    raise GeotallyError(f"{safe_url(url)} cannot be reached after {retries} retries ({why})")


@dataclass(frozen=True)
class Blocks:
    """The blocks of an image that meet the AOI: a grid of ``size`` (width, height) pixels, and within
    the window ``(col, row, width, height)`` (the box of those blocks) which of them meet it."""

    size: tuple[int, int]
    window: tuple[int, int, int, int]
    meets: np.ndarray  # bool, (block rows, block columns) of the window

    def runs(self) -> list[tuple[int, int, int, int]]:
        """Windows (col, row, width, height) of the runs of consecutive blocks that meet the AOI, one
        block row at a time: each is one range request where the COG stores a row's blocks in order."""
        (bw, bh), (c0, r0, w, h) = self.size, self.window
        out = []
        for i, row in enumerate(self.meets):
            cols = np.flatnonzero(row)
            for run in np.split(cols, np.flatnonzero(np.diff(cols) != 1) + 1) if cols.size else ():
                col, row_px = run[0] * bw, i * bh
                out.append((int(c0 + col), int(r0 + row_px), int(min((run[-1] + 1) * bw, w) - col),
                            int(min(bh, h - row_px))))
        return out

    @property
    def partial(self) -> bool:
        return not bool(self.meets.all())


def _grid(src) -> tuple[int, int]:
    """The COG's own block size where it is tiled (a multiple of 16, as TIFF tiles are), else BLOCK."""
    bh, bw = src.block_shapes[0]
    tiled = (bw < src.width or bh < src.height) and bw % 16 == 0 and bh % 16 == 0
    return (bw, bh) if tiled else (BLOCK, BLOCK)


def blocks(src, aoi_wgs84: shapely.Geometry | None) -> Blocks | None:
    """The blocks of ``src`` that meet the AOI (lon/lat), on the COG's own block grid; all of them
    without an AOI; None where the AOI misses the image."""
    from pyproj import Transformer

    bw, bh = _grid(src)
    nx, ny = -(-src.width // bw), -(-src.height // bh)
    if aoi_wgs84 is None:
        return Blocks((bw, bh), (0, 0, src.width, src.height), np.ones((ny, nx), bool))
    if not src.crs:
        raise GeotallyError(f"{safe_url(src.name.removeprefix('/vsicurl/'))} has no georeference, so the area of "
                            "interest (zones, border, bbox) cannot be placed on it; count it whole (no --zones or "
                            "--border, with --gsd), or give a georeferenced COG")
    t = Transformer.from_crs(4326, src.crs, always_xy=True)
    g = shapely.transform(shapely.segmentize(aoi_wgs84, 0.001), t.transform, interleaved=False)
    a, b, c, d, e, f = tuple(~src.transform)[:6]  # map -> pixel (col, row)
    g = shapely.transform(g, lambda xy: np.column_stack((a * xy[:, 0] + b * xy[:, 1] + c,
                                                         d * xy[:, 0] + e * xy[:, 1] + f)))
    if g.is_empty:
        return None
    x0, y0, x1, y1 = g.bounds
    ix0, ix1 = max(0, int(np.floor(x0 / bw))), min(nx, int(np.ceil(x1 / bw)))
    iy0, iy1 = max(0, int(np.floor(y0 / bh))), min(ny, int(np.ceil(y1 / bh)))
    if ix1 <= ix0 or iy1 <= iy0:
        return None
    cols, rows = np.meshgrid(np.arange(ix0, ix1), np.arange(iy0, iy1))
    boxes = shapely.box(cols * bw, rows * bh, np.minimum((cols + 1) * bw, src.width),
                        np.minimum((rows + 1) * bh, src.height))
    shapely.prepare(g)
    meets = shapely.intersects(g, boxes)
    if not meets.any():
        return None
    keep_r, keep_c = np.flatnonzero(meets.any(1)), np.flatnonzero(meets.any(0))
    meets = meets[keep_r[0]:keep_r[-1] + 1, keep_c[0]:keep_c[-1] + 1]
    c0, r0 = int(ix0 + keep_c[0]) * bw, int(iy0 + keep_r[0]) * bh
    c1 = min(src.width, int(ix0 + keep_c[-1] + 1) * bw)
    r1 = min(src.height, int(iy0 + keep_r[-1] + 1) * bh)
    return Blocks((bw, bh), (c0, r0, c1 - c0, r1 - r0), meets)


class _SchemeGuard:
    """A proxy on 127.0.0.1 that refuses every request and remembers it. libcurl follows redirects
    to http, https, ftp and ftps, and GDAL 3.10 has no option to narrow that; while
    :meth:`active`, libcurl's ftp and ftps requests go to this proxy (its ``ftp_proxy`` and
    ``ftps_proxy`` variables), so a range request of GDAL's redirected there never leaves the machine."""

    _lock = threading.Lock()
    _started: "_SchemeGuard | None" = None

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.refused: list[str] = []
        threading.Thread(target=self._serve, daemon=True, name="geotally-scheme-guard").start()

    @classmethod
    def get(cls) -> "_SchemeGuard":
        with cls._lock:
            if cls._started is None:
                cls._started = cls()
            return cls._started

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    line = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    line = ""
                # "GET ftp://host/path HTTP/1.1" or "CONNECT host:990 HTTP/1.1"
                parts = line.split(" ")
                self.refused.append(parts[1] if len(parts) > 1 else line)

    @contextlib.contextmanager
    def active(self):
        """libcurl's ftp(s) proxy variables point here for the duration. Where the user has a proxy
        of their own (GDAL_HTTP_PROXY, or http(s)_proxy/all_proxy) their no_proxy list is kept, and a
        redirect to ftp at a host in it is not caught here; otherwise no_proxy is lifted meanwhile."""
        names = ("ftp_proxy", "FTP_PROXY", "ftps_proxy", "FTPS_PROXY")
        own = any(os.environ.get(k) for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                                "all_proxy", "ALL_PROXY", "GDAL_HTTP_PROXY"))
        lifted = () if own else ("no_proxy", "NO_PROXY")
        saved = {k: os.environ.get(k) for k in names + lifted}
        start = len(self.refused)
        for k in names:
            os.environ[k] = f"http://127.0.0.1:{self.port}"
        for k in lifted:
            os.environ.pop(k, None)
        try:
            yield lambda: self.refused[start:]
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _redirect_check(url: str) -> None:
    """After a failed read: a range request of our own, whose redirects are followed only to http(s),
    so that a redirect to file: (which libcurl refuses with a bare error) is named in one line."""
    req = urllib.request.Request(url, headers={**auth_headers(), "Range": "bytes=0-0"})
    try:
        with urllib.request.build_opener(_HttpOnly).open(req, timeout=float(env()["GDAL_HTTP_TIMEOUT"])):
            pass
    except GeotallyError:
        raise
    except Exception as exc:  # noqa: BLE001 - any other failure (HTTP error, dropped connection) is not a redirect
        log.debug("%s: no redirect to another scheme (%s); the read's own error stands", safe_url(url), first_line(exc))


@dataclass
class Crop:
    """An AOI's blocks of a remote asset, written locally, and its provenance."""

    path: Path
    provenance: dict
    bytes_read: int  # pixels read, uncompressed


def _open(vsi: str):
    import rasterio

    return rasterio.open(vsi)


LAYOUT = "blocks-2"  # how crops are laid out (2: with the asset's tags); part of their cache key, so a crop of another layout is not reused


def _sweep_parts(cache: Path) -> None:
    """Remove the partial files of reads whose process is gone (killed mid-read)."""
    for part in cache.glob(".*.part"):
        pid = part.name.rsplit(".", 2)[-2]
        if pid.isdigit():
            try:
                os.kill(int(pid), 0)
                continue  # its reader still runs
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
        part.unlink(missing_ok=True)


def crop(url: str, aoi_wgs84: shapely.Geometry | None, cache: str | os.PathLike, *, name: str = "scene",
         meta: dict | None = None, say: Callable[[str], None] = lambda msg: None,
         retries: int = RETRIES, backoff_s: float = BACKOFF_S) -> Crop:
    """Read the blocks of the COG at ``url`` that meet the AOI into a local GeoTIFF in ``cache``
    (reused while the server's ETag/Last-Modified/size stay the same; read again every time from a
    server that gives neither ETag nor Last-Modified). ``meta`` (catalogue,
    collection, item id) goes into the provenance. Faults are retried with backoff, then reported
    in one line; no partial file is left (one left by a killed process goes at the next read)."""
    import rasterio
    from rasterio.errors import RasterioIOError

    ident = identify(url, retries, backoff_s)
    cache = _cache_folder(cache)
    _sweep_parts(cache)
    aoi_key = aoi_wgs84.wkt if aoi_wgs84 is not None else ""
    # the whole URL: two that differ only in their query are two assets (only a digest of it is kept)
    key = hashlib.sha256(f"{url}|{aoi_key}|{LAYOUT}".encode()).hexdigest()[:16]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:60] or "scene"
    path = cache / f"{stem}-{key}.tif"
    side = path.with_name(path.name + ".remote.json")
    version = {"etag": ident.etag, "last_modified": ident.last_modified, "size": ident.size}
    # reused only where the server says which version it serves: a size alone does not tell two images apart
    if path.exists() and side.exists() and (ident.etag or ident.last_modified):
        old = json.loads(side.read_text())
        if all(old.get(k) == v for k, v in version.items()):
            return Crop(path, old, 0)
        say(f"{safe_url(url)} changed on the server (ETag {old.get('etag')} -> {ident.etag}); reading it again")
    vsi = "/vsicurl/" + ident.url
    guard = _SchemeGuard.get()
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    why = ""
    for attempt in range(retries + 1):
        try:
            # not cached between opens: a re-read after the asset changed must not get the old bytes
            # the credentials go to the host they were given for, not to the one a redirect named
            elsewhere = {"GDAL_HTTP_HEADER_FILE": os.devnull} if host(ident.url) != host(url) else {}
            with guard.active() as refused, rasterio.Env(**env(), CPL_VSIL_CURL_NON_CACHED=vsi, **elsewhere):
                try:
                    prov, nbytes = copy_blocks(vsi, aoi_wgs84, part, url, version)
                finally:
                    # refused even where GDAL got the bytes in the end (it retries the original URL)
                    if refused():
                        scheme = refused()[0].split("://", 1)[0] if "://" in refused()[0] else "ftps"
                        raise GeotallyError(f"{safe_url(url)}: a range request was redirected to {scheme}:, which is "
                                            "not read (only http and https are)") from None
            prov = dict(meta or {}, href=safe_url(url), **version, **prov,
                        **({"served_from": safe_url(ident.url)} if ident.url != url else {}))  # after redirects
            os.replace(part, path)
            tmp = side.with_name(f".{side.name}.{os.getpid()}.part")
            tmp.write_text(json.dumps(prov, indent=1))
            os.replace(tmp, side)
            return Crop(path, prov, nbytes)
        except RasterioIOError as exc:
            why = first_line(exc)
            _redirect_check(url)
            if NO_RANGES in why:  # the same answer however often it is asked
                break
        finally:
            part.unlink(missing_ok=True)
        if attempt < retries:
            log.info("%s: %s, retry %d of %d", safe_url(url), why, attempt + 1, retries)
            time.sleep(backoff_s * 2 ** attempt)
    why = why.replace(ident.url, safe_url(ident.url))
    if NO_RANGES in why:
        raise GeotallyError(f"{safe_url(url)}: the server does not answer HTTP range requests, which reading the area "
                            "of interest needs; download the file and count it locally")
    raise GeotallyError(f"{safe_url(url)} could not be read after {retries} retries ({why[:160]})")


def copy_blocks(vsi: str, aoi_wgs84: shapely.Geometry | None, part: Path, url: str,
                 version: dict) -> tuple[dict, int]:
    """Copy the blocks of ``vsi`` (a /vsicurl/ path, or a local file for a baseline) that meet the AOI
    into ``part``: a sparse GeoTIFF over their box, with an internal mask where not every block of the
    box is read or the COG has a mask of its own. Returns the provenance of what was read and its
    pixel bytes."""
    import rasterio
    from rasterio.enums import MaskFlags
    from rasterio.windows import Window

    with _open(vsi) as src:
        sel = blocks(src, aoi_wgs84)
        if sel is None:
            raise GeotallyError(f"{safe_url(url)}: the area of interest misses the image")
        (bw, bh), (c0, r0, w, h) = (int(v) for v in sel.size), (int(v) for v in sel.window)
        all_valid = all(MaskFlags.all_valid in f for f in src.mask_flag_enums)
        masked = sel.partial or not all_valid
        profile = dict(driver="GTiff", width=w, height=h, count=src.count, dtype=src.dtypes[0], crs=src.crs,
                       transform=src.window_transform(Window(c0, r0, w, h)), nodata=src.nodata, tiled=True,
                       blockxsize=bw, blockysize=bh, sparse_ok=True, compress="deflate", zlevel=1,
                       predictor=2 if np.dtype(src.dtypes[0]).kind in "iu" else 1)
        if [ci.name for ci in src.colorinterp] == ["red", "green", "blue"]:
            profile["photometric"] = "RGB"
        digest = hashlib.sha256()
        nbytes = 0
        runs = sel.runs()
        with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(part, "w", **profile) as dst:
            dst.colorinterp = src.colorinterp
            for col, row, ww, hh in runs:
                win = Window(col, row, ww, hh)
                block = src.read(window=win)
                digest.update(np.ascontiguousarray(block).tobytes())
                nbytes += block.nbytes
                out = Window(col - c0, row - r0, ww, hh)
                dst.write(block, window=out)
                if masked:
                    dst.write_mask(np.full((hh, ww), 255, np.uint8) if all_valid else src.dataset_mask(window=win),
                                   window=out)
            dst.update_tags(**{k: v for k, v in src.tags().items() if not k.startswith("GEOTALLY_")})  # its date
            # the asset's identity in the file: a changed asset is a changed scene checksum too
            dst.update_tags(GEOTALLY_REMOTE_HREF=safe_url(url), GEOTALLY_REMOTE_ETAG=version["etag"] or "",
                            GEOTALLY_REMOTE_LAST_MODIFIED=version["last_modified"] or "",
                            GEOTALLY_REMOTE_SIZE=str(version["size"] or ""), GEOTALLY_REMOTE_WINDOW=f"{c0},{r0},{w},{h}",
                            GEOTALLY_REMOTE_BLOCKS=f"{int(sel.meets.sum())}/{sel.meets.size}")
        prov = dict(window=[c0, r0, w, h], full_size_px=[src.width, src.height], block_size=[bw, bh],
                    blocks_read=int(sel.meets.sum()), blocks_in_window=int(sel.meets.size),
                    pixels_sha256=digest.hexdigest(), pixel_bytes_read=nbytes)
    return prov, nbytes


def provenance(scene_path: str | os.PathLike) -> dict | None:
    """The remote provenance of a crop (None for a scene that was never remote)."""
    side = Path(f"{scene_path}.remote.json")
    if not side.is_file():
        return None
    try:
        return json.loads(side.read_text())
    except (OSError, ValueError):
        return None


def asset_version(prov: dict) -> str:
    """A remote asset's version on its server, as a run's checkpoint keeps it: its ETag, else its
    Last-Modified and size (a resume against another version is refused)."""
    if prov.get("etag"):
        return f"ETag {prov['etag']}"
    return f"Last-Modified {prov.get('last_modified')}, {prov.get('size')} bytes"


def _cache_folder(path: str | os.PathLike) -> Path:
    """The crops' folder, made where missing; one that cannot be is one line naming GEOTALLY_REMOTE_CACHE."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GeotallyError(f"the remote crops' folder {path} cannot be made ({exc.strerror or exc}); set "
                            "GEOTALLY_REMOTE_CACHE to a folder you can write") from None
    return path


def default_cache() -> Path:
    """Where crops are kept: $GEOTALLY_REMOTE_CACHE, or the user's cache folder."""
    if os.environ.get("GEOTALLY_REMOTE_CACHE"):
        return Path(os.environ["GEOTALLY_REMOTE_CACHE"])
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("geotally")) / "remote"


def local_items(found: list, aoi_wgs84: shapely.Geometry | None, cache: str | os.PathLike | None = None,
                say: Callable[[str], None] = lambda msg: None) -> dict:
    """An ItemCollection whose assets are the local crops of ``found`` (:class:`~geotally.imagery.stac.Found`
    items), each item keeping its datetime: what ``geotally count`` reads after a catalogue search. The
    local assets of a catalogue on disk are listed as they are."""
    cache = Path(cache) if cache is not None else default_cache()
    feats = []
    for f in found:
        if not is_remote(f.href):  # an asset of a catalogue on disk: read where it is, whole, as a local scene
            path = Path(urllib.parse.unquote(urllib.parse.urlsplit(f.href).path) if f.href.startswith("file:")
                        else f.href)
            if not path.is_file():
                raise GeotallyError(f"item {f.id}'s asset {path} is not there; fix the catalogue's href or put the "
                                    "file back")
            feats.append(_local_item(f, path))
            continue
        c = crop(f.href, aoi_wgs84, cache, name=f"{f.collection or 'item'}-{f.id}",
                 meta={"catalogue": safe_url(f.catalogue), "collection": f.collection, "item_id": f.id}, say=say)
        say(f"{f.id}: window {c.provenance['window']} of {c.provenance['full_size_px']} px"
            + (f", {c.bytes_read / 1e6:.1f} MB of pixels read" if c.bytes_read else " (cached)"))
        feats.append(_local_item(f, c.path))
    return {"type": "FeatureCollection", "features": feats}


def _local_item(f, path: Path) -> dict:
    """Item ``f`` (a :class:`~geotally.imagery.stac.Found`) with its datetime, its one asset the local
    file at ``path``."""
    return {"type": "Feature", "stac_version": "1.0.0", "id": f.id, "collection": f.collection,
            "geometry": f.item.get("geometry"), "bbox": f.item.get("bbox"), "properties": {"datetime": f.datetime},
            "assets": {"data": {"href": str(path.resolve()), "type": "image/tiff", "roles": ["data"]}}, "links": []}


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
        given = [name for name, v in (("--datetime", datetime is not None), ("--collections", bool(collections)),
                                      ("--gsd-range", any(g is not None for g in gsd_range)),
                                      ("--max-cloud", max_cloud is not None), ("--max-items", max_items is not None))
                 if v]
        if given:  # a filter of catalogue items, with no catalogue: it would change nothing, unsaid
            raise GeotallyError(f"{given[0]} filters the items of a catalogue search (--stac-api or --catalog); "
                                "local scenes are all counted")
        if remote:
            raise GeotallyError("--remote reads the remote assets of STAC ItemCollection files (.json); "
                                "none of the scenes given is one")
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
            say(f"{len(hit.skipped)} item(s) of {safe_url(source)} skipped")
        if not hit.items:
            raise GeotallyError(f"no item of {safe_url(source)} meets the area of interest and the time range")
        found += hit.items
    folder = Path(cache) if cache is not None else default_cache()
    doc = local_items(found, aoi, folder, say) if found else {"type": "FeatureCollection", "features": []}
    for u in urls:
        c = crop(u, aoi, folder, name=Path(safe_url(u)).stem,
                 meta={"catalogue": None, "collection": None, "item_id": None}, say=say)
        doc["features"].append({"type": "Feature", "stac_version": "1.0.0", "id": Path(safe_url(u)).stem,
                                "geometry": None, "properties": {"datetime": None},
                                "assets": {"data": {"href": str(c.path.resolve()), "type": "image/tiff"}}})
    folder = _cache_folder(folder)
    text = json.dumps(doc, indent=1)
    listing = folder / f"items-{hashlib.sha256(text.encode()).hexdigest()[:12]}.json"
    tmp = listing.with_name(f".{listing.name}.{os.getpid()}.part")
    tmp.write_text(text)
    os.replace(tmp, listing)  # a run killed while writing it leaves no half listing
    return [s for s in scenes if s not in urls and s not in stac_files] + [str(listing)]
