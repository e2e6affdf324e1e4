"""Detection of one scene as a run does it: tiles checkpointed (and resumed), the report's picture
pieced together from the tiles, the tiles run here, on local workers or on Dask."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from geotally.detect.run import Detections, FirstBatch, detect_scene, fitted_tile_size, scene_grid
from geotally.imagery.preview import Preview, PreviewFrame
from geotally.imagery.scene import Scene
from geotally.imagery.windows import TileGrid
from geotally.config.limits import check_tile_count
from geotally.pipeline.model import RunModel

if TYPE_CHECKING:
    from geotally.store.checkpoint import TileStore


@dataclass
class Params:
    """Every parameter that shapes detection and the count, recorded in summary.json."""

    model: str | None
    weights: str | None
    conf: dict
    model_iou: float
    seam_iou: float
    tile_size: int
    overlap: int
    batch: int
    model_gsd: float
    gsd: float | None
    bands: list[int] | None
    zone_field: str
    threads: int | None
    backend: str = "auto"


@dataclass
class SceneDetections:
    """One scene's detections merged over its tiles, its picture for the report, and its tiles."""

    scene: Scene
    detections: Detections
    picture: np.ndarray | None  # (h, w, 3) uint8, when asked for
    tiles: int
    resumed: int


def plan_tiles(sc: Scene, m: RunModel, params: Params) -> tuple[int, TileGrid]:
    """The scene's tile side and tile grid (a scene smaller than a tile gets a tile fitted to it);
    a grid of more tiles than geotally allows (a mistaken GSD, say) is refused before it is made."""
    tile = fitted_tile_size(sc, m.gsd, m.tile_size) if getattr(m.detector, "dynamic_size", False) else m.tile_size
    check_tile_count(_tile_estimate(sc, m.gsd, tile, params.overlap))
    return tile, scene_grid(sc, m.gsd, tile, params.overlap)


def detect_one(sc: Scene, m: RunModel, params: Params, store_dir, fresh: bool, workers: int,
               dask: str | None, progress, say, picture: bool = True,
               first: FirstBatch | None = None, opened: Future | None = None,
               close_later: Callable[[TileStore], object] | None = None,
               say_resumed: bool = True) -> SceneDetections:
    """Detections merged over the scene, resumed from the checkpoint in ``store_dir``; with
    ``picture``, also the report's picture of it (pieced together from the tiles, and kept in the
    checkpoint so a recount need not read the scene again). ``first``: its first batch of tiles,
    read ahead (geotally.detect.run.read_ahead); ``opened``: its checkpoint, opened ahead (a Future
    of open_checkpoint's result; its error, if any, is raised here, in the scene's turn); ``close_later``:
    given a finished scene's checkpoint, closes it on another thread (SQLite's last write and sync, a
    few milliseconds a scene, then overlap the next scene's model time). A failed scene's checkpoint
    is closed here, and removed if it holds no tile."""
    store = opened.result() if opened is not None else open_checkpoint(store_dir, sc, m, params, fresh)
    failed = True
    try:
        tile, grid = plan_tiles(sc, m, params)
        preview = Preview(PreviewFrame.for_scene(sc.width, sc.height)) if picture else None
        pieced = picture and preview.frame.usable_with(grid)  # else the picture is read afterwards, averaged down
        done = [0, 0]

        def on_batch(tiles: int, found: int) -> None:
            done[0] += tiles
            done[1] += found
            if progress:
                progress(done[0], len(grid), done[1])

        if progress:
            progress(0, len(grid), 0)  # the bar appears, and its clock starts, as detection starts
        finished = store.load() if store else None
        done_tiles = store.done() if store else frozenset()
        resumed = len(done_tiles)
        if resumed and say_resumed:  # a recount reads every tile from the checkpoint by design: nothing to say
            say(f"resuming: {resumed} of {len(grid)} tiles already done in {store_dir}")
        dets = detect_scene(sc, m.detector, model_gsd=m.gsd, tile_size=tile, overlap=params.overlap,
                            batch=params.batch, nms_iou=params.seam_iou, min_score=m.min_score, on_batch=on_batch,
                            finished=finished, skip=done_tiles,
                            on_tile=store.put if store else None, on_pixels=preview.add if pieced else None,
                            runner=_runner(workers, dask, sc, m, params, preview if pieced else None), first=first)
        if preview is not None:
            stored = store.preview(preview.image.shape[:2]) if store and resumed == len(grid) else None
            if stored is not None:  # nothing was detected this time: the picture of the first run
                preview.image = stored
            else:
                preview.fill(sc, grid)
                if store:
                    store.put_preview(preview.image)
        failed = False
    finally:
        if store and close_later is not None and not failed:
            close_later(store)
        elif store:
            store.close(discard_if_empty=failed)
    return SceneDetections(sc, dets, preview.image if preview is not None else None, len(grid), resumed)


def _runner(workers: int, dask: str | None, sc: Scene, m: RunModel, params: Params, preview: Preview | None):
    """Where tiles run: here (None), on a local process pool, or on a Dask cluster.

    With ``preview``, workers send back their tiles' pieces of the report's picture.
    """
    if workers == 1 and not dask:
        return None
    from dataclasses import replace

    from geotally.detect.parallel import Job, run_dask, run_pool

    n = workers if not dask else 1
    threads = max(1, (params.threads or os.cpu_count() or 1) // n)  # --threads in all, split between workers
    job = Job(scene=sc, weights=str(m.run_file), conf=m.conf, iou=params.model_iou, imgsz=m.tile_size,
              threads=threads, grid=None, batch=params.batch,
              preview=preview.frame if preview else None)
    paste = preview.paste if preview else None
    if dask:
        return lambda grid, tiles, cb: run_dask(replace(job, grid=grid, threads=1), tiles, dask, cb, on_piece=paste)
    return lambda grid, tiles, cb: run_pool(replace(job, grid=grid), tiles, workers, cb, on_piece=paste)


def open_checkpoint(out, sc: Scene, m: RunModel, params: Params, fresh: bool):
    """The scene's tile checkpoint in ``out`` (none without ``out``): a TileStore, usable from any one
    thread at a time."""
    if out is None:
        return None
    from geotally.imagery.remote import asset_version, provenance
    from geotally.store.checkpoint import TileStore, checkpoint_path, manifest, remove

    path = checkpoint_path(out, sc.path)
    if fresh:
        remove(path)
    # What shapes the stored tiles; class thresholds are applied afterwards, so they may change.
    detection = {k: v for k, v in asdict(params).items() if k not in ("zone_field", "threads", "batch", "conf")}
    detection["score_floor"] = m.conf
    remote = provenance(sc.path)  # a crop of a remote COG: its asset's version on the server
    return TileStore(path, manifest(sc.sha256, m.sha, detection, m.run_sha,
                                    remote_asset=asset_version(remote) if remote else None))


def _tile_estimate(sc: Scene, model_gsd: float, tile: int, overlap: int) -> int:
    """Tiles a grid would have, without making it (a mistaken GSD could ask for billions)."""
    step = max(1, tile - min(overlap, tile // 2))
    return int(np.ceil(sc.width * sc.gsd[0] / model_gsd / step) * np.ceil(sc.height * sc.gsd[1] / model_gsd / step))
