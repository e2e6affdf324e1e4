"""Oriented crops of vehicles at a fixed ground scale, for the trailer-type classifier.

Every crop covers the same ground, ``size_m`` (24 x 8 m by default: a semi-trailer truck and a
margin), turned so that the vehicle's long axis runs along the crop's width, whatever the scene's
GSD: the classifier always sees a truck at the same size in pixels. The pixels come from the
scene at native resolution; a finer scene is area-averaged down to the crop's scale before the
rotation (so nothing aliases), a coarser one is interpolated up.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from rasterio.windows import Window

from geotally.imagery.preview import read_shrunk
from geotally.imagery.read import open_reader
from geotally.imagery.scene import Scene


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
    """Crops (n, h, w, 3) uint8 of the boxes ``corners_px`` (scene pixels), each read from its own
    window of the scene (masked pixels black)."""
    n = len(corners_px)
    out = np.zeros((n, spec.size_px[1], spec.size_px[0], 3), np.uint8)
    if n == 0:
        return out
    centres, axes = long_axis(np.asarray(corners_px, float))
    half = 0.5 * np.hypot(*spec.size_m) / scene.gsd_m + 2  # scene pixels from centre to a crop corner
    with open_reader(scene) as src:
        for i in np.argsort(centres[:, 1], kind="stable"):  # top to bottom: strips and blocks are reused
            c0, r0 = int(np.floor(centres[i, 0] - half)), int(np.floor(centres[i, 1] - half))
            c1, r1 = int(np.ceil(centres[i, 0] + half)), int(np.ceil(centres[i, 1] + half))
            a0, b0, a1, b1 = max(c0, 0), max(r0, 0), min(c1, scene.width), min(r1, scene.height)
            if a1 <= a0 or b1 <= b0:
                continue
            patch = np.zeros((r1 - r0, c1 - c0, 3), np.uint8)
            patch[b0 - r0:b1 - r0, a0 - c0:a1 - c0] = read_shrunk(src, scene, Window(a0, b0, a1 - a0, b1 - b0),
                                                                   a1 - a0, b1 - b0)
            out[i] = crop_from_array(patch, scene.gsd_m, centres[i] - (c0, r0), axes[i], spec)
    return out
