"""Running a detector over a whole scene, tile batch by tile batch."""

from __future__ import annotations

import logging
import math
from collections import deque
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from geotally.config.defaults import BATCH, OVERLAP, SEAM_IOU, TILE_SIZE
from geotally.detect.boxes import centres, xywhr_to_corners
from geotally.detect.nms import rotated_nms
from geotally.imagery.read import open_reader, read_tile
from geotally.imagery.scene import Scene
from geotally.imagery.windows import TileGrid, tile_grid
from geotally.models.backends import Detector, TileBoxes

log = logging.getLogger("geotally")
PREFETCH = 1  # batches read ahead of the model (4 tiles of 1024 px: 12.6 MB)


@dataclass
class Detections:
    """Oriented detections in scene pixel coordinates."""

    corners: np.ndarray  # (n, 4, 2) float64, scene pixels (col, row)
    score: np.ndarray  # (n,) float32
    class_id: np.ndarray  # (n,) int64, the model's own ids
    tile: np.ndarray  # (n,) int64, the tile each came from

    def __len__(self) -> int:
        return len(self.score)

    @classmethod
    def empty(cls) -> "Detections":
        return cls(np.zeros((0, 4, 2)), np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64))

    @classmethod
    def concat(cls, parts: list["Detections"]) -> "Detections":
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("corners", "score", "class_id", "tile")))

    def take(self, idx: np.ndarray) -> "Detections":
        return Detections(self.corners[idx], self.score[idx], self.class_id[idx], self.tile[idx])


def to_scene(boxes: TileBoxes, grid: TileGrid, tile: int) -> Detections:
    """Tile-pixel boxes to scene pixels, keeping only those centred in the tile's core (every score:
    class thresholds are applied at the merge, see merge_tiles)."""
    corners = xywhr_to_corners(boxes.xywhr)
    col, row = grid.windows[tile, :2]
    sx, sy = grid.scale[tile]
    corners = corners / np.array([sx, sy]) + np.array([col, row], dtype=float)
    c = centres(corners)
    x0, y0, x1, y1 = grid.cores[tile]
    inside = (c[:, 0] >= x0) & (c[:, 0] < x1) & (c[:, 1] >= y0) & (c[:, 1] < y1)
    n = int(inside.sum())
    return Detections(corners[inside], boxes.score[inside], boxes.cls[inside], np.full(n, tile, dtype=np.int64))


def _batches(indices: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(indices), size):
        yield indices[start:start + size]


def fitted_tile_size(scene: Scene, model_gsd: float, tile_size: int, stride: int = 32) -> int:
    """The tile side for a scene: ``tile_size``, or less when the whole scene fits in a smaller tile.

    A 500 x 370 px scene at model scale padded to a 1024 px tile spends four fifths of the
    model's time on padding; the smallest multiple of the model's stride that holds it is enough.
    """
    extent = max(scene.width * scene.gsd[0], scene.height * scene.gsd[1]) / model_gsd
    if extent >= tile_size:
        return tile_size
    return int(min(tile_size, max(2 * stride, math.ceil(extent / stride) * stride)))


def scene_grid(scene: Scene, model_gsd: float, tile_size: int, overlap: int) -> TileGrid:
    scale = (scene.gsd[0] / model_gsd, scene.gsd[1] / model_gsd)
    return tile_grid(scene.width, scene.height, scale, size=tile_size, overlap=min(overlap, tile_size // 2))


def _load(src, scene: Scene, grid: TileGrid, ids: np.ndarray,
          on_pixels: Callable[[TileGrid, int, np.ndarray], None] | None) -> list[tuple[int, np.ndarray]]:
    """The tiles ``ids`` read and resampled to model scale, those with any valid pixel."""
    out = []
    for t in ids:
        img, valid = read_tile(src, scene, grid.windows[t], grid.out_shapes[t], grid.out_size)
        if on_pixels:
            on_pixels(grid, int(t), img)
        if valid > 0:
            out.append((int(t), img))
    return out


@dataclass
class FirstBatch:
    """A scene's first batch of tiles, being read on another thread (``loaded`` gives what _load gives)."""

    ids: np.ndarray
    loaded: Future


def read_ahead(pool: Executor, scene: Scene, grid: TileGrid, batch: int = BATCH) -> FirstBatch:
    """Start reading the scene's first batch on ``pool``, with a handle of its own. A run of many
    small scenes reads each one while the model runs the one before, instead of between them: most
    such scenes are one tile, which detect_tiles' own read-ahead cannot overlap with anything."""
    ids = np.arange(min(batch, len(grid)), dtype=np.int64)

    def job() -> list[tuple[int, np.ndarray]]:
        with open_reader(scene) as src:
            return _load(src, scene, grid, ids, None)

    return FirstBatch(ids, pool.submit(job))


def detect_tiles(scene: Scene, detector: Detector, grid: TileGrid, tiles: np.ndarray, *, batch: int = 4,
                 on_batch: Callable[[int, int], None] | None = None,
                 on_tile: Callable[[int, Detections], None] | None = None,
                 on_pixels: Callable[[TileGrid, int, np.ndarray], None] | None = None,
                 prefetch: int = PREFETCH, first: FirstBatch | None = None) -> Detections:
    """Detections from the given tiles, core-filtered but not yet merged across seams.

    Up to ``prefetch`` batches ahead are read and resampled on a background thread while the model
    runs the current one (GDAL and OpenCV release the GIL); 0 reads each batch when the model needs
    it. One is enough: two were no faster, and making the model's input on that thread as well was
    slower on 2 cores (it takes CPU from the model's own threads; benchmarks/overlap.py).
    ``on_tile(tile, detections)`` sees every finished tile, empty ones included (for checkpoints);
    ``on_pixels(grid, tile, image)`` sees every tile's model-scale pixels as read (for a preview).
    ``first`` is the first batch, read ahead while the model ran the scene before (see read_ahead).
    """
    parts: list[Detections] = []
    seconds0, megapixels0 = getattr(detector, "model_seconds", 0.0), getattr(detector, "model_megapixels", 0.0)
    with open_reader(scene) as src, ThreadPoolExecutor(max_workers=1) as pool:
        def load(ids: np.ndarray) -> list[tuple[int, np.ndarray]]:
            return _load(src, scene, grid, ids, on_pixels)

        batches = list(_batches(np.asarray(tiles, dtype=np.int64), batch))
        # the first batch as read ahead, when it is this scene's first batch and no picture is made of it
        use_first = first is not None and on_pixels is None and batches and np.array_equal(first.ids, batches[0])
        ahead: deque[Future] = deque([first.loaded] if use_first else [])
        ahead.extend(pool.submit(load, b) for b in batches[len(ahead):prefetch])
        for k, ids in enumerate(batches):
            loaded = ahead.popleft().result() if ahead else load(ids)
            if prefetch and k + prefetch < len(batches):
                ahead.append(pool.submit(load, batches[k + prefetch]))
            found = 0
            by_tile = {int(t): Detections.empty() for t in ids}
            if loaded:
                results = detector.predict([img for _, img in loaded])
                for (t, _), boxes in zip(loaded, results):
                    by_tile[t] = to_scene(boxes, grid, t)
            for t, part in by_tile.items():
                found += len(part)
                parts.append(part)
                if on_tile:
                    on_tile(t, part)
            if on_batch:
                on_batch(len(ids), found)
    if hasattr(detector, "model_seconds"):
        log.info("time inside the model itself: %.2f s for %d tiles (%.1f MP of model input)",
                 detector.model_seconds - seconds0, len(tiles), detector.model_megapixels - megapixels0)
    return Detections.concat(parts)


def detect_scene(scene: Scene, detector: Detector, *, model_gsd: float, tile_size: int = TILE_SIZE,
                 overlap: int = OVERLAP, batch: int = BATCH, nms_iou: float = SEAM_IOU, min_score: np.ndarray | None = None,
                 on_batch: Callable[[int, int], None] | None = None,
                 finished: Detections | None = None, skip: set[int] = frozenset(),
                 on_tile: Callable[[int, Detections], None] | None = None,
                 on_pixels: Callable[[TileGrid, int, np.ndarray], None] | None = None,
                 runner: Callable | None = None, first: FirstBatch | None = None) -> Detections:
    """All detections in a scene, merged across tile seams with class-agnostic rotated NMS.

    Tiles keep every detection the detector returns (down to its score floor); that is what
    ``on_tile`` sees and a checkpoint stores. ``min_score[class_id]`` is applied at the merge,
    before the seam NMS, so that per-class thresholds can change later without detecting again
    and still give exactly what thresholding each tile would (in-tile NMS is per class, and the
    seam NMS only lets a higher score suppress a lower one).
    Tiles in ``skip`` are not run; their detections come in ``finished`` (a resumed run).
    ``runner(grid, tiles, on_tile)`` runs tiles elsewhere (process pool, Dask) instead of here;
    ``on_pixels`` then sees nothing, since the pixels stay where they were read. ``first``: the first
    batch read ahead (read_ahead), used when it is the first batch to run.
    """
    grid = scene_grid(scene, model_gsd, tile_size, overlap)
    todo = np.array([t for t in range(len(grid)) if t not in skip], dtype=np.int64)
    if on_batch and skip:
        on_batch(len(skip), len(finished) if finished is not None else 0)
    if not len(todo):  # every tile resumed: nothing to read or run
        new = Detections.empty()
    elif runner is None:
        new = detect_tiles(scene, detector, grid, todo, batch=batch, on_batch=on_batch, on_tile=on_tile,
                           on_pixels=on_pixels, first=first)
    else:
        parts: list[Detections] = []

        def collect(t: int, d: Detections) -> None:
            parts.append(d)
            if on_tile:
                on_tile(t, d)
            if on_batch:
                on_batch(1, len(d))

        runner(grid, todo, collect)
        new = Detections.concat(parts)
    raw = Detections.concat([finished, new]) if finished is not None else new
    return merge_tiles(raw, nms_iou, min_score)


def merge_tiles(raw: Detections, nms_iou: float = SEAM_IOU, min_score: np.ndarray | None = None) -> Detections:
    """Per-class thresholds, then one detection per vehicle across seams (class-agnostic rotated NMS)."""
    if min_score is not None and len(raw):
        raw = raw.take(np.flatnonzero(raw.score >= min_score[np.clip(raw.class_id, 0, len(min_score) - 1)]))
    order = np.lexsort((raw.tile, -raw.score))  # the same order however the tiles were run
    raw = raw.take(order)
    keep = rotated_nms(raw.corners, raw.score, nms_iou)
    return raw.take(np.sort(keep))
