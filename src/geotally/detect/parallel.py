"""Running tiles elsewhere: a local process pool or a Dask cluster.

Each worker process loads the model once and keeps it, opens the scene itself and reads
only its own windows; what travels is a small task description out and the tiles'
detections back. Results are merged in the caller exactly as in a single-process run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Callable, Iterator

import numpy as np

from geotally.detect.run import Detections, detect_tiles
from geotally.errors import GeotallyError, first_line
from geotally.imagery.preview import Piece, PreviewFrame
from geotally.imagery.scene import Scene
from geotally.imagery.windows import TileGrid

_CACHE: dict = {}


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to run tiles of one scene, as plain data."""

    scene: Scene
    weights: str
    conf: float
    iou: float
    imgsz: int
    threads: int
    grid: TileGrid | None
    batch: int
    preview: PreviewFrame | None = None  # when set, tiles also send back their piece of the report's picture


def _detector(job: Job):
    from geotally.models.backends import load_detector

    key = (job.weights, job.conf, job.iou, job.imgsz, job.threads)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = load_detector(job.weights, conf=job.conf, iou=job.iou, imgsz=job.imgsz, threads=job.threads)
    return _CACHE[key]


def run_tiles(job: Job, tiles: list[int]) -> list[tuple[int, Detections, Piece | None]]:
    """Run some tiles in this process; per tile, its core-filtered detections and preview piece."""
    out: list[tuple[int, Detections]] = []
    pieces: dict[int, Piece | None] = {}
    frame = job.preview
    detect_tiles(job.scene, _detector(job), job.grid, np.asarray(tiles, np.int64), batch=job.batch,
                 on_tile=lambda t, d: out.append((t, d)),
                 on_pixels=(lambda g, t, img: pieces.__setitem__(t, frame.piece(g, t, img))) if frame else None)
    return [(t, d, pieces.get(t)) for t, d in out]


def _deliver(results, on_tile, on_piece) -> None:
    for t, d, piece in results:
        on_tile(t, d)
        if on_piece:
            on_piece(piece)


def chunks(tiles: np.ndarray, size: int) -> Iterator[list[int]]:
    for s in range(0, len(tiles), size):
        yield [int(t) for t in tiles[s:s + size]]


def _watch_parent(parent: int, every_s: float = 0.5) -> None:
    """End this worker as soon as the run that spawned it is gone (killed with -9, say): a worker
    holds a model in memory and must never outlive its parent."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(1)

    threading.Thread(target=watch, name="geotally-parent-watch", daemon=True).start()


def _start_worker(parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's: it stops the pool (see run_pool)
    _watch_parent(parent)
    # Each worker gets its share of the cores; set before torch/onnxruntime start their pools.
    n = os.environ.get("GEOTALLY_THREADS", "1")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = n


def run_pool(job: Job, tiles: np.ndarray, workers: int, on_tile: Callable[[int, Detections], None],
             chunk: int = 4, on_piece: Callable[[Piece | None], None] | None = None) -> None:
    """Tiles on ``workers`` local processes (spawned, so torch is never forked)."""
    os.environ["GEOTALLY_THREADS"] = str(job.threads)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_start_worker,
                               initargs=(os.getpid(),))
    try:
        with _sigint_ignored():  # the workers start (on submit) ignoring Ctrl-C: no traceback from each
            futures = [pool.submit(run_tiles, job, c) for c in chunks(tiles, chunk)]
        for f in as_completed(futures):
            _deliver(f.result(), on_tile, on_piece)
    except BaseException:
        # Ctrl-C or an error: drop the tiles not begun (the workers finish the chunk they hold, at most
        # ``chunk`` tiles) instead of running the whole queue before the run may stop
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while processes are started, so they inherit it from their first instruction on
    (Python leaves an ignored SIGINT ignored); a no-op off the main thread, where signals cannot be set."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def dask_client(address: str):
    """``local:N`` starts a LocalCluster of N single-threaded workers; anything else is a scheduler address."""
    from distributed import Client, LocalCluster

    if address.startswith("local"):
        n = address.split(":", 1)[1] if ":" in address else str(os.cpu_count() or 1)
        if not n.isdigit() or int(n) < 1:
            raise GeotallyError(f"--dask local:N needs a number of workers N >= 1, got {address!r}")
        cluster = LocalCluster(n_workers=int(n), threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(address), None
    except (OSError, ValueError, TypeError) as exc:
        raise GeotallyError(f"cannot reach the Dask scheduler at {address!r} (give tcp://HOST:PORT of a running "
                            f"scheduler, or local:N): {first_line(exc)}") from None


def run_dask(job: Job, tiles: np.ndarray, address: str, on_tile: Callable[[int, Detections], None],
             chunk: int = 4, on_piece: Callable[[Piece | None], None] | None = None) -> None:
    """Tiles as Dask tasks; workers read their own windows (the scene path must be visible to them)."""
    from distributed import as_completed as dask_completed

    client, cluster = dask_client(address)
    try:
        job_f = client.scatter(job, broadcast=True)
        futures = [client.submit(run_tiles, job_f, c, pure=False) for c in chunks(tiles, chunk)]
        for f in dask_completed(futures):
            _deliver(f.result(), on_tile, on_piece)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
