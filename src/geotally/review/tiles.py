"""Map tiles of a scene at full resolution, read window by window from the raster itself.

Tile (z, x, y) of the pyramid covers scene pixels ``x * 256 * 2**(Z - z)`` onwards, where Z is the
zoom at which one screen pixel is one scene pixel, so the map's coordinates are the scene's pixel
coordinates (Leaflet's ``CRS.Simple``). Only the tile's window is read, so a 40,000 px scene opens
as fast as a small one; far-out zooms read through the file's overviews when it has them, and are
limited to 16 scene pixels per screen pixel when it has none.
"""

from __future__ import annotations

import math
import queue
from contextlib import contextmanager
from typing import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import rasterio
from rasterio.windows import Window

from geotally.imagery.offline import rasters_offline
from geotally.imagery.preview import read_shrunk
from geotally.imagery.scene import Scene

TILE = 256
MAX_SHRINK_NO_OVERVIEWS = 4  # zoom levels below native when the file has no overviews (16x)


@dataclass(frozen=True)
class Pyramid:
    """The zoom range of a scene's tiles."""

    max_zoom: int  # native: one scene pixel per map pixel
    min_zoom: int

    def to_dict(self) -> dict:
        return {"max_zoom": self.max_zoom, "min_zoom": self.min_zoom, "tile": TILE}


class TileSource:
    """Reads JPEG tiles of one scene. The server starts a thread per request, so open datasets are
    kept in a pool and lent to one request at a time (opening a GeoTIFF costs more than a tile)."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self._pool: queue.SimpleQueue = queue.SimpleQueue()
        z = max(0, math.ceil(math.log2(max(scene.width, scene.height) / TILE)))
        with rasters_offline(), rasterio.open(scene.path) as src:
            has_overviews = bool(src.overviews(scene.bands[0]))
        self.pyramid = Pyramid(z, 0 if has_overviews else max(0, z - MAX_SHRINK_NO_OVERVIEWS))

    @contextmanager
    def _src(self) -> Iterator[rasterio.DatasetReader]:
        try:
            src = self._pool.get_nowait()
        except queue.Empty:
            with rasters_offline():
                src = rasterio.open(self.scene.path)
        try:
            yield src
        finally:
            self._pool.put(src)

    def tile(self, z: int, x: int, y: int, quality: int = 88) -> bytes | None:
        """The JPEG bytes of tile (z, x, y), or None outside the scene or the zoom range."""
        p = self.pyramid
        if not (p.min_zoom <= z <= p.max_zoom) or x < 0 or y < 0:
            return None
        f = 2 ** (p.max_zoom - z)
        span = TILE * f
        c0, r0 = x * span, y * span
        if c0 >= self.scene.width or r0 >= self.scene.height:
            return None
        w, h = min(span, self.scene.width - c0), min(span, self.scene.height - r0)
        ow, oh = max(1, round(w / f)), max(1, round(h / f))
        with self._src() as src:
            rgb = read_shrunk(src, self.scene, Window(c0, r0, w, h), ow, oh)
        canvas = np.zeros((TILE, TILE, 3), np.uint8)
        canvas[:oh, :ow] = rgb[:TILE, :TILE]
        ok, buf = cv2.imencode(".jpg", canvas[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        return buf.tobytes() if ok else None
