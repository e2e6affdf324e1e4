"""Tile windows over a scene: overlapping, full-sized, and with cores that partition it.

A tile is read from a window of scene pixels and resampled to ``size`` x ``size``
model pixels. Each tile also owns a *core*: the part of the scene for which its
detections are kept. Cores split every overlap at its midpoint, so each scene
pixel belongs to exactly one core; with an overlap longer than any vehicle, a
vehicle whose centre lies in a core is seen whole by that tile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from geotally.config.defaults import OVERLAP, TILE_SIZE


@dataclass(frozen=True)
class TileGrid:
    """Windows in scene pixels (col_off, row_off, width, height) and their cores (x0, y0, x1, y1)."""

    windows: np.ndarray  # (n, 4) int64
    cores: np.ndarray  # (n, 4) float64
    out_shapes: np.ndarray  # (n, 2) int64: model pixels (width, height) the window is resampled to
    out_size: int  # side of the square model input; smaller reads are padded to it
    scene_shape: tuple[int, int]  # (height, width)

    def __len__(self) -> int:
        return len(self.windows)

    @property
    def scale(self) -> np.ndarray:
        """Model pixels per scene pixel, (n, 2) for x and y; tiles may differ by rounding."""
        return self.out_shapes / self.windows[:, 2:4].astype(float)


def _starts(length: int, span: int, step: int) -> np.ndarray:
    """Window starts covering [0, length) with windows of ``span``; the last one ends at the edge."""
    if span >= length:
        return np.array([0], dtype=np.int64)
    n = math.ceil((length - span) / step) + 1
    starts = np.arange(n, dtype=np.int64) * step
    starts[-1] = length - span
    return np.unique(starts)


def _cores(starts: np.ndarray, span: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    ends = np.minimum(starts + span, length)
    mids = (ends[:-1] + starts[1:]) / 2.0
    lo = np.concatenate([[0.0], mids])
    hi = np.concatenate([mids, [float(length)]])
    return lo, hi


def axis_windows(length: int, scale: float, size: int, overlap: int):
    """Starts, spans, output sizes, core lows and core highs along one axis (scene pixels)."""
    span = max(1, round(size / scale))
    ov = min(span - 1, max(0, round(overlap / scale)))
    starts = _starts(length, span, max(1, span - ov))
    spans = np.minimum(span, length - starts)
    outs = np.where(spans == span, size, np.clip(np.round(spans * scale), 1, size)).astype(np.int64)
    lo, hi = _cores(starts, span, length)
    return starts, spans, outs, lo, hi


def tile_grid(width: int, height: int, scale: tuple[float, float], size: int = TILE_SIZE,
              overlap: int = OVERLAP) -> TileGrid:
    """Tiles of ``size`` model pixels with ``overlap`` model pixels between neighbours.

    ``scale`` is model pixels per scene pixel along (x, y), from the scene's and the
    model's GSD. A scene smaller than one tile gives a single, partial window.
    """
    if width <= 0 or height <= 0:
        raise ValueError("scene has no pixels")
    if not 0 <= overlap < size:
        raise ValueError("overlap must be in [0, size)")
    xs, ws, xo, xlo, xhi = axis_windows(width, scale[0], size, overlap)
    ys, hs, yo, ylo, yhi = axis_windows(height, scale[1], size, overlap)
    iy, ix = np.meshgrid(np.arange(len(ys)), np.arange(len(xs)), indexing="ij")
    iy, ix = iy.ravel(), ix.ravel()
    windows = np.stack([xs[ix], ys[iy], ws[ix], hs[iy]], axis=1).astype(np.int64)
    cores = np.stack([xlo[ix], ylo[iy], xhi[ix], yhi[iy]], axis=1)
    out_shapes = np.stack([xo[ix], yo[iy]], axis=1)
    return TileGrid(windows=windows, cores=cores, out_shapes=out_shapes, out_size=size,
                    scene_shape=(height, width))
