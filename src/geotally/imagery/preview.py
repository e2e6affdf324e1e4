"""A downsampled picture of the whole scene, pieced together from the tiles detection reads anyway.

Reading a large scene a second time only to draw it costs as much I/O as detection itself;
each tile's core, shrunk to preview scale, fills its own part of the picture instead. Workers
(process pool, Dask) send their pieces back with their detections; only tiles that were not
read in this run (a resumed run) are read again, window by window.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np
from rasterio.enums import Resampling
from rasterio.windows import Window

from geotally.imagery.read import open_reader, to_uint8
from geotally.imagery.scene import Scene
from geotally.imagery.windows import TileGrid

PREVIEW_MAX = 2048  # longest side, pixels

Piece = tuple[int, int, np.ndarray]  # row and column of the top-left corner in the preview, pixels


def read_shrunk(src, scene: Scene, window: Window, width: int, height: int) -> np.ndarray:
    """One window of the scene read averaged down to (height, width, 3) uint8, masked pixels black."""
    data = src.read(list(scene.bands), window=window, out_shape=(len(scene.bands), height, width),
                    resampling=Resampling.nearest if scene.palette else Resampling.average)  # indices: no means
    mask = src.read_masks(scene.bands[0], window=window, out_shape=(height, width), resampling=Resampling.nearest)
    rgb = np.moveaxis(to_uint8(data, scene), 0, -1).copy()
    rgb[mask == 0] = 0
    return rgb


@dataclass(frozen=True)
class PreviewFrame:
    """Where each tile's core lands in a preview at ``factor`` of the scene's pixel size; plain data."""

    width: int
    height: int
    factor: float

    @classmethod
    def for_scene(cls, width: int, height: int, max_side: int = PREVIEW_MAX) -> "PreviewFrame":
        f = min(1.0, max_side / max(width, height))
        return cls(max(1, round(width * f)), max(1, round(height * f)), f)

    def usable_with(self, grid: TileGrid) -> bool:
        """Tiles can fill the preview only where they are at least as sharp as it."""
        return bool(len(grid)) and float(grid.scale.min()) >= self.factor

    def box(self, grid: TileGrid, tile: int) -> tuple[int, int, int, int]:
        """The tile core's (x0, y0, x1, y1) in preview pixels; cores tile the preview without gaps."""
        x0, y0, x1, y1 = grid.cores[tile]
        f = self.factor
        return (round(x0 * f), round(y0 * f), min(self.width, round(x1 * f)), min(self.height, round(y1 * f)))

    def piece(self, grid: TileGrid, tile: int, pixels: np.ndarray) -> Piece | None:
        """The tile's core, cut from its model-scale pixels (as read for detection) and shrunk."""
        px0, py0, px1, py1 = self.box(grid, tile)
        if px1 <= px0 or py1 <= py0:
            return None
        col, row = grid.windows[tile, :2]
        sx, sy = grid.scale[tile]
        x0, y0, x1, y1 = grid.cores[tile]
        tx0, ty0 = int(round((x0 - col) * sx)), int(round((y0 - row) * sy))
        tx1 = min(pixels.shape[1], max(tx0 + 1, int(round((x1 - col) * sx))))
        ty1 = min(pixels.shape[0], max(ty0 + 1, int(round((y1 - row) * sy))))
        part = cv2.resize(pixels[ty0:ty1, tx0:tx1], (px1 - px0, py1 - py0), interpolation=cv2.INTER_AREA)
        return py0, px0, part.reshape(py1 - py0, px1 - px0, 3)


class Preview:
    """An (h, w, 3) uint8 picture of the scene and which of its pixels are filled."""

    def __init__(self, frame: PreviewFrame):
        self.frame = frame
        self.image = np.zeros((frame.height, frame.width, 3), np.uint8)
        self.filled = np.zeros((frame.height, frame.width), bool)
        self._lock = threading.Lock()

    def paste(self, piece: Piece | None) -> None:
        if piece is None:
            return
        r, c, part = piece
        with self._lock:
            self.image[r:r + part.shape[0], c:c + part.shape[1]] = part
            self.filled[r:r + part.shape[0], c:c + part.shape[1]] = True

    def add(self, grid: TileGrid, tile: int, pixels: np.ndarray) -> None:
        """Paste the core of one model-scale tile."""
        self.paste(self.frame.piece(grid, tile, pixels))

    def fill(self, scene: Scene, grid: TileGrid) -> None:
        """Read, averaged down, the cores of tiles not pasted (tiles done in an earlier, resumed run)."""
        missing = [t for t in range(len(grid)) if not self._covered(grid, t)]
        if not missing:
            return
        with open_reader(scene) as src:
            for t in missing:
                px0, py0, px1, py1 = self.frame.box(grid, t)
                x0, y0, x1, y1 = grid.cores[t]
                part = read_shrunk(src, scene, Window(x0, y0, x1 - x0, y1 - y0), px1 - px0, py1 - py0)
                self.paste((py0, px0, part))

    def _covered(self, grid: TileGrid, tile: int) -> bool:
        px0, py0, px1, py1 = self.frame.box(grid, tile)
        return px1 <= px0 or py1 <= py0 or bool(self.filled[py0:py1, px0:px1].all())

    @property
    def complete(self) -> bool:
        return bool(self.filled.all())
