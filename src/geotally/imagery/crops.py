"""Oriented crops of vehicles at a fixed ground scale, for the trailer-type classifier.

Every crop covers the same ground, ``size_m`` (24 x 8 m by default: a semi-trailer truck and a
margin), turned so that the vehicle's long axis runs along the crop's width, whatever the scene's
GSD: the classifier always sees a truck at the same size in pixels. The pixels come from the
scene at native resolution; a finer scene is area-averaged down to the crop's scale before the
rotation (so nothing aliases), a coarser one is interpolated up.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
from rasterio.windows import Window

from geotally.imagery.preview import read_shrunk
from geotally.imagery.read import open_reader
from geotally.imagery.scene import Scene

CELL_PX = 1024  # windows whose centres share a cell of this many scene pixels are read as one
SPARSE = 16.0  # ... unless their union is this many times the pixels they need: then one by one


def read_windows(src, scene: Scene, windows: np.ndarray, cell: int = CELL_PX) -> Iterator[tuple[int, np.ndarray]]:
    """Each window ``(col0, row0, col1, row1)`` (scene pixels, within the scene) as (index, (h, w, 3)
    uint8), exactly what reading it alone at native resolution gives (masked pixels black).

    The windows whose centres share a ``cell`` x ``cell`` block are read in one call and cut from it:
    one GDAL read per block of detections instead of one per detection (each read has a fixed cost,
    0.5-1 ms, well above that of a small window's pixels). A block whose windows are few and far
    apart is read window by window. Blocks come top to bottom, so strips and tiles are reused."""
    w = np.asarray(windows, np.int64).reshape(-1, 4)
    if not len(w):
        return
    key_r, key_c = (w[:, 1] + w[:, 3]) // 2 // cell, (w[:, 0] + w[:, 2]) // 2 // cell
    order = np.lexsort((key_c, key_r))
    cuts = np.flatnonzero(np.diff(key_r[order]) | np.diff(key_c[order])) + 1
    for group in np.split(order, cuts):
        c0, r0 = w[group, 0].min(), w[group, 1].min()
        c1, r1 = w[group, 2].max(), w[group, 3].max()
        need = ((w[group, 2] - w[group, 0]) * (w[group, 3] - w[group, 1])).sum()
        if len(group) == 1 or (c1 - c0) * (r1 - r0) > SPARSE * need:
            for i in group:
                a0, b0, a1, b1 = (int(v) for v in w[i])
                yield int(i), read_shrunk(src, scene, Window(a0, b0, a1 - a0, b1 - b0), a1 - a0, b1 - b0)
            continue
        block = read_shrunk(src, scene, Window(int(c0), int(r0), int(c1 - c0), int(r1 - r0)), int(c1 - c0),
                            int(r1 - r0))
        for i in group:
            a0, b0, a1, b1 = (int(v) for v in w[i])
            yield int(i), block[b0 - r0:b1 - r0, a0 - c0:a1 - c0]


@dataclass(frozen=True)
class CropSpec:
    """The ground a crop covers and its size in pixels (so its scale: 0.25 m per pixel by default)."""

    size_m: tuple[float, float] = (24.0, 8.0)
    size_px: tuple[int, int] = (96, 32)

    @property
    def gsd(self) -> float:
        return self.size_m[0] / self.size_px[0]


def long_axis(corners_px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres (n, 2) and unit vectors (n, 2) along the long side of oriented boxes (n, 4, 2)."""
    c = corners_px.mean(axis=1)
    e1, e2 = corners_px[:, 1] - corners_px[:, 0], corners_px[:, 2] - corners_px[:, 1]
    long = np.where((np.hypot(*e1.T) >= np.hypot(*e2.T))[:, None], e1, e2)
    return c, long / np.maximum(np.hypot(*long.T), 1e-9)[:, None]


def crop_from_array(img: np.ndarray, gsd: float, centre: np.ndarray, axis: np.ndarray,
                    spec: CropSpec = CropSpec()) -> np.ndarray:
    """One crop (h, w, 3) from an RGB array at ``gsd`` m/px: ``centre`` in its pixels, ``axis`` the
    unit vector of the vehicle's long axis."""
    f = gsd / spec.gsd  # crop pixels per image pixel
    if f < 1.0:  # area-average down first; the rotation then interpolates at the crop's own scale
        img = cv2.resize(img, (max(1, round(img.shape[1] * f)), max(1, round(img.shape[0] * f))),
                         interpolation=cv2.INTER_AREA)
        centre = np.asarray(centre, float) * f
        f = 1.0
    w, h = spec.size_px
    ux, uy = axis
    s = 1.0 / f  # image pixels per crop pixel
    # crop (x, y) -> image: centre + s * ((x - w/2) * u + (y - h/2) * n), with n = (-uy, ux)
    m = np.array([[s * ux, -s * uy, centre[0] - s * (ux * w / 2 - uy * h / 2)],
                  [s * uy, s * ux, centre[1] - s * (uy * w / 2 + ux * h / 2)]], np.float64)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


def scene_crops(scene: Scene, corners_px: np.ndarray, spec: CropSpec = CropSpec()) -> np.ndarray:
    """Crops (n, h, w, 3) uint8 of the boxes ``corners_px`` (scene pixels), cut from the scene read
    block by block (:func:`read_windows`; masked pixels and pixels beyond the scene black)."""
    n = len(corners_px)
    out = np.zeros((n, spec.size_px[1], spec.size_px[0], 3), np.uint8)
    if n == 0:
        return out
    centres, axes = long_axis(np.asarray(corners_px, float))
    half = 0.5 * np.hypot(*spec.size_m) / scene.gsd_m + 2  # scene pixels from centre to a crop corner
    lo, hi = np.floor(centres - half).astype(np.int64), np.ceil(centres + half).astype(np.int64)
    inside = np.column_stack([np.maximum(lo, 0), np.minimum(hi, (scene.width, scene.height))])
    some = np.flatnonzero((inside[:, 2] > inside[:, 0]) & (inside[:, 3] > inside[:, 1]))
    with open_reader(scene) as src:
        for k, rgb in read_windows(src, scene, inside[some]):
            i = some[k]
            (c0, r0), (c1, r1), (a0, b0) = lo[i], hi[i], inside[i, :2]
            patch = np.zeros((r1 - r0, c1 - c0, 3), np.uint8)
            patch[b0 - r0:b0 - r0 + rgb.shape[0], a0 - c0:a0 - c0 + rgb.shape[1]] = rgb
            out[i] = crop_from_array(patch, scene.gsd_m, centres[i] - (c0, r0), axes[i], spec)
    return out
