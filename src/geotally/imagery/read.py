"""Reading one tile: only its window, resampled to model scale, as 8-bit RGB."""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Iterator

import cv2
import numpy as np
import rasterio
from rasterio.enums import MaskFlags
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.windows import Window

from geotally.errors import GeotallyError, first_line
from geotally.imagery.offline import NETWORK_OFF
from geotally.imagery.scene import Scene

PAD_VALUE = 0
# GDAL's block cache defaults to 5% of RAM and fills as a scene is read window by window. A bounded
# one keeps memory flat yet holds the blocks one row of tiles shares with the next (their overlap)
# on scenes up to about 10,000 px wide; wider ones decode those blocks twice, as without a cache.
# rasterio takes an integer GDAL_CACHEMAX in bytes (this was 256: 256 bytes, no cache at all). A
# 100 MP scene (10,000 px square, 512 px blocks): the whole count 27.7-29.1 s without, 23.8-25.4 s
# with; peak memory 777-781 MB without, 853-879 MB with (16 and 32 MB gave no speed there).
BLOCK_CACHE_MB = 64


@contextmanager
def open_reader(scene: Scene) -> Iterator[rasterio.DatasetReader]:
    """Open the scene's file for window reads (one handle per worker)."""
    with rasterio.Env(GDAL_CACHEMAX=BLOCK_CACHE_MB * 1024 * 1024, **NETWORK_OFF), warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(scene.path) as src:
            yield src


def to_uint8(data: np.ndarray, scene: Scene) -> np.ndarray:
    """The scene's bands-first pixels as 8-bit RGB: colour-table indices as their colours, deeper data
    through the scene's percentile stretch."""
    if scene.palette is not None:
        table = np.asarray(scene.palette, np.uint8)
        return np.moveaxis(table[np.clip(data[0], 0, len(table) - 1).astype(np.intp)], -1, 0)
    stretch = scene.stretch
    if stretch is None:
        return data.astype(np.uint8, copy=False)
    lo = np.array([s[0] for s in stretch], dtype=np.float32)[:, None, None]
    hi = np.array([s[1] for s in stretch], dtype=np.float32)[:, None, None]
    scaled = (data.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(scaled + 0.5, 0, 255).astype(np.uint8)


def _resize(arr: np.ndarray, width: int, height: int, interpolation: int) -> np.ndarray:
    """Resize a (h, w) or (h, w, c) array; cv2 is several times faster than GDAL's resampling here."""
    if arr.shape[1] == width and arr.shape[0] == height:
        return arr
    return cv2.resize(arr, (width, height), interpolation=interpolation)


def read_tile(src: rasterio.DatasetReader, scene: Scene, window: np.ndarray, out_shape: np.ndarray,
              size: int) -> tuple[np.ndarray, float]:
    """RGB tile (size, size, 3) uint8, padded at scene edges, and the fraction of valid pixels.

    The window is read at native resolution and resampled in memory: area-averaged when
    shrinking, bilinear when enlarging. Pixels masked by nodata, a mask band or alpha are
    set to black so the model sees no texture there.
    """
    col, row, w, h = (int(v) for v in window)
    ow, oh = int(out_shape[0]), int(out_shape[1])
    interpolation = cv2.INTER_LINEAR if (ow >= w and oh >= h) else cv2.INTER_AREA
    win = Window(col, row, w, h)
    try:
        data = src.read(list(scene.bands), window=win)
        all_valid = all(MaskFlags.all_valid in src.mask_flag_enums[b - 1] for b in scene.bands)
        mask = None if all_valid else src.read_masks(scene.bands[0], window=win)
    except RasterioIOError as exc:
        msg = first_line(exc, "read failed").replace(" See previous exception for details.", "")
        raise GeotallyError(f"{scene.path}: cannot read window at col {col}, row {row} "
                            f"(truncated or corrupt raster): {msg}") from None
    if np.issubdtype(data.dtype, np.floating):  # NaN and inf are no data, tagged or not
        finite = np.isfinite(data).all(axis=0)
        if not finite.all():
            base = np.full(finite.shape, 255, np.uint8) if mask is None else mask
            mask = np.where(finite, base, 0).astype(np.uint8)
            data = np.where(finite[None], data, 0)
    rgb = _resize(np.ascontiguousarray(np.moveaxis(to_uint8(data, scene), 0, -1)), ow, oh, interpolation)
    tile = np.full((size, size, 3), PAD_VALUE, dtype=np.uint8)
    if mask is None:
        valid_fraction = 1.0
    else:
        valid = _resize(mask, ow, oh, cv2.INTER_NEAREST) > 0
        rgb[~valid] = PAD_VALUE
        valid_fraction = float(valid.mean())
    tile[:oh, :ow] = rgb
    return tile, valid_fraction
