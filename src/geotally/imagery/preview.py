"""A downsampled picture of the whole scene, pieced together from the tiles detection reads anyway.

Reading a large scene a second time only to draw it costs as much I/O as detection itself;
each tile's core, shrunk to preview scale, fills its own part of the picture instead.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from geotally.imagery.windows import TileGrid

PREVIEW_MAX = 2048  # longest side, pixels


class Preview:
    """An (h, w, 3) uint8 picture of the scene at ``factor`` of its pixel size, with what is filled."""

    def __init__(self, width: int, height: int, max_side: int = PREVIEW_MAX):
        self.factor = min(1.0, max_side / max(width, height))
        self.width, self.height = max(1, round(width * self.factor)), max(1, round(height * self.factor))
        self.image = np.zeros((self.height, self.width, 3), np.uint8)
        self.filled = np.zeros((self.height, self.width), bool)
        self._lock = threading.Lock()

    def usable_with(self, grid: TileGrid) -> bool:
        """Tiles can fill the preview only where they are at least as sharp as it."""
        return bool(len(grid)) and float(grid.scale.min()) >= self.factor

    def add(self, grid: TileGrid, tile: int, pixels: np.ndarray) -> None:
        """Paste the core of one model-scale tile (as read for detection)."""
        col, row = grid.windows[tile, :2]
        sx, sy = grid.scale[tile]
        x0, y0, x1, y1 = grid.cores[tile]
        px0, py0 = round(x0 * self.factor), round(y0 * self.factor)
        px1, py1 = min(self.width, round(x1 * self.factor)), min(self.height, round(y1 * self.factor))
        if px1 <= px0 or py1 <= py0:
            return
        tx0, ty0 = int(round((x0 - col) * sx)), int(round((y0 - row) * sy))
        tx1 = min(pixels.shape[1], max(tx0 + 1, int(round((x1 - col) * sx))))
        ty1 = min(pixels.shape[0], max(ty0 + 1, int(round((y1 - row) * sy))))
        part = cv2.resize(pixels[ty0:ty1, tx0:tx1], (px1 - px0, py1 - py0), interpolation=cv2.INTER_AREA)
        with self._lock:
            self.image[py0:py1, px0:px1] = part.reshape(py1 - py0, px1 - px0, 3)
            self.filled[py0:py1, px0:px1] = True

    @property
    def complete(self) -> bool:
        return bool(self.filled.all())
