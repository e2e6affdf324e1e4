"""Reading beside the model: what the detection loop's read-ahead, the report's crops in one pass and
GDAL's block cache each give, every one against its baseline in the same run.

  * detection loop: a scene's first tiles through `detect_tiles`, interleaved rounds of: one batch read
    ahead with ONNX Runtime spin-waiting (geotally before issue 36), without, and as geotally now
    chooses (spinning only when no other task runs as the session is made); no read-ahead; two
    batches ahead; on the machine as it is and again beside another job (a process keeping one core
    busy, started before the sessions are made). Wall seconds, seconds inside the model, the process's CPU seconds, and whether
    the detections are identical to the first variant's. (Making the model's input on the reader
    thread too was measured at commit 3574354 and dropped: slower on 2 cores, 2.85-2.94 s against
    2.60 s for 12 tiles);
  * crops: the report's crops of ~800 vehicles, one read per crop (before) against one read per
    block of crops (`imagery.crops.read_windows`), and whether the JPEGs are identical;
  * block cache: every tile of the scene read (`read_tile`) with the cache geotally had before (256
    bytes: rasterio takes an integer GDAL_CACHEMAX in bytes) and with the one it has.

The scene: ``--scene PATH``, else a 1,000 x 1,000 m crossing at 0.3 m made by `geotally synth`. The
load average is printed: on a shared machine, compare rows only within one run. Nothing is asserted.

    python -m benchmarks.overlap [--scene PATH] [--tiles 12] [--rounds 4] [--quiet-only]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def crossing(folder: Path) -> Path:
    """A generated crossing at 0.3 m (11 MP), as benchmarks.whole_process makes one."""
    exe = Path(sys.executable).parent / "geotally"
    subprocess.run([str(exe), "synth", "--out", str(folder), "--width-m", "1000", "--height-m", "1000", "--gsd", "0.3",
                    "--seed", "7", "--queue", "TR=18,IQ=32", "--depot", "IQ=12", "--cars", "24", "--parked", "20"],
                   check=True, capture_output=True)
    return folder / "scene.tif"


def _busy() -> None:
    """Another job on the machine: one core kept busy until killed."""
    while True:
        pass


def loop_table(sc, tiles: int, rounds: int, busy: bool):
    """The detection loop's variants, interleaved; returns the first variant's detections."""
    import multiprocessing

    from geotally.detect.run import detect_tiles, scene_grid
    from geotally.models.backends import OnnxDetector
    from geotally.models.cache import ensure_model
    from geotally.models.registry import DEFAULT_MODEL, get_spec

    other = multiprocessing.get_context("spawn").Process(target=_busy, daemon=True) if busy else None
    if other:  # before the sessions are made: geotally's choice of spin-waiting sees it
        other.start()
        time.sleep(1.0)
    try:
        weights = ensure_model(get_spec(DEFAULT_MODEL))
        spin = OnnxDetector(weights, 0.1, 0.7, 1024, spinning=True)
        still = OnnxDetector(weights, 0.1, 0.7, 1024, spinning=False)
        now = OnnxDetector(weights, 0.1, 0.7, 1024)  # geotally's own choice
        chosen = "spin-waiting" if now.spinning else "no spin-waiting"
        grid = scene_grid(sc, 0.25, 1024, 160)
        ids = np.arange(min(tiles, len(grid)))
        variants = {
            "1 batch ahead, spin-waiting (before)": (spin, 1),
            "1 batch ahead, no spin-waiting": (still, 1),
            f"1 batch ahead, chosen as the session is made (now: {chosen})": (now, 1),
            f"no read-ahead, {chosen}": (now, 0),
            f"2 batches ahead, {chosen}": (now, 2),
        }
        rows = {k: {"wall": [], "model": [], "cpu": []} for k in variants}
        first, same = None, {}
        for label, (det, ahead) in variants.items():  # a warm-up run each, which is also the one compared
            d = detect_tiles(sc, det, grid, ids, batch=4, prefetch=ahead)
            first = first or d
            same[label] = all(np.array_equal(getattr(d, f), getattr(first, f))
                              for f in ("corners", "score", "class_id"))
        for r in range(rounds):
            order = list(variants.items())
            for label, (det, ahead) in order if r % 2 == 0 else order[::-1]:
                det.reset_timing()
                t0, c0 = time.perf_counter(), time.process_time()
                detect_tiles(sc, det, grid, ids, batch=4, prefetch=ahead)
                rows[label]["wall"].append(time.perf_counter() - t0)
                rows[label]["cpu"].append(time.process_time() - c0)
                rows[label]["model"].append(det.model_seconds)
    finally:
        if other:
            other.kill()
    where = "beside another job (one core kept busy)" if busy else "on the machine as it is"
    print(f"\n### Detection loop {where}: {len(ids)} tiles of 1024 px in batches of 4, {rounds} interleaved "
          f"rounds; load average {os.getloadavg()[0]:.2f} after\n")
    print("| variant | wall s | × before | inside the model s | wall − model s | CPU s | detections |")
    print("|---|---|---|---|---|---|---|")
    base = statistics.median(rows[next(iter(rows))]["wall"])
    for label, r in rows.items():
        w, m = statistics.median(r["wall"]), statistics.median(r["model"])
        print(f"| {label} | {w:.2f} | {base / w:.2f} | {m:.2f} | {w - m:.2f} | {statistics.median(r['cpu']):.2f} "
              f"| {'identical' if same[label] else 'DIFFERENT'} |")
    return first


def crops_table(sc, corners: np.ndarray, rounds: int) -> None:
    import base64

    import cv2
    from rasterio.windows import Window

    from geotally.imagery.preview import read_shrunk
    from geotally.imagery.read import open_reader
    from geotally.report.payload import CROP_PX, crops

    rng = np.random.default_rng(1)
    boxes = np.concatenate([corners] + [corners + rng.uniform(-300, 300, (len(corners), 1, 2))
                                        for _ in range(max(1, 800 // max(len(corners), 1)))])
    c = boxes.mean(axis=1)
    boxes = boxes[(c[:, 0] > 0) & (c[:, 1] > 0) & (c[:, 0] < sc.width) & (c[:, 1] < sc.height)]
    centres, length = boxes.mean(axis=1), np.hypot(*(boxes[:, 1] - boxes[:, 0]).T).clip(20)
    order = np.argsort(-length, kind="stable")

    def one_by_one() -> dict[int, str]:
        """The report's crops as geotally cut them before: one read per crop."""
        out = {}
        sides = np.clip(np.ceil(1.6 * length), *CROP_PX).astype(int)
        pick = order[np.argsort(centres[order, 1], kind="stable")]
        with open_reader(sc) as src:
            for i in pick:
                side = int(sides[i])
                c0 = int(np.clip(round(centres[i, 0] - side / 2), 0, max(sc.width - side, 0)))
                r0 = int(np.clip(round(centres[i, 1] - side / 2), 0, max(sc.height - side, 0)))
                w, h = min(side, sc.width - c0), min(side, sc.height - r0)
                _, buf = cv2.imencode(".jpg", read_shrunk(src, sc, Window(c0, r0, w, h), w, h)[..., ::-1],
                                       [cv2.IMWRITE_JPEG_QUALITY, 82])
                out[int(i)] = "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode()
        return out

    times: dict[str, list[float]] = {"one read per crop (before)": [], "one read per block of crops": []}
    results = {}
    for _ in range(rounds):
        for label, fn in (("one read per crop (before)", one_by_one),
                          ("one read per block of crops", lambda: crops(sc, centres, length, order, limit=len(order)))):
            t0 = time.perf_counter()
            results[label] = fn()
            times[label].append(time.perf_counter() - t0)
    a, b = results.values()
    print(f"\n### The report's crops: {len(boxes)} vehicles, {rounds} interleaved rounds\n")
    print("| crops | s (median) | identical JPEGs, same order |")
    print("|---|---|---|")
    for label, t in times.items():
        print(f"| {label} | {statistics.median(t):.3f} | {list(a.items()) == list(b.items())} |")


def cache_table(sc, rounds: int) -> None:
    import rasterio

    from geotally.detect.run import scene_grid
    from geotally.imagery.read import BLOCK_CACHE_MB, read_tile

    grid = scene_grid(sc, 0.25, 1024, 160)
    times: dict[int, list[tuple[float, float]]] = {256: [], BLOCK_CACHE_MB * 1024 * 1024: []}
    for _ in range(rounds):
        for cache, seconds in times.items():
            t0, c0 = time.perf_counter(), time.process_time()
            with rasterio.Env(GDAL_CACHEMAX=cache), rasterio.open(sc.path) as src:
                for t in range(len(grid)):
                    read_tile(src, sc, grid.windows[t], grid.out_shapes[t], grid.out_size)
            seconds.append((time.perf_counter() - t0, time.process_time() - c0))
    print(f"\n### GDAL block cache: every tile of the scene ({len(grid)}) read and resampled, {rounds} rounds\n")
    print("| block cache | wall s | CPU s |")
    print("|---|---|---|")
    for cache, t in times.items():
        label = "256 bytes (before)" if cache == 256 else f"{cache // 2**20} MB"
        print(f"| {label} | {statistics.median(x for x, _ in t):.2f} | {statistics.median(y for _, y in t):.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scene", default=None, help="a raster; default: a generated 11 MP crossing at 0.3 m")
    ap.add_argument("--tiles", type=int, default=12, help="tiles through the detection loop")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--quiet-only", action="store_true", help="leave out the detection loop beside another job")
    a = ap.parse_args()
    from geotally.imagery.scene import open_scene

    with tempfile.TemporaryDirectory(prefix="geotally-overlap-") as tmp:
        path = Path(a.scene) if a.scene else crossing(Path(tmp))
        sc = open_scene(path)
        load0 = os.getloadavg()[0]
        print(f"{path.name}: {sc.width} x {sc.height} px at {sc.gsd_m:.2f} m; {os.cpu_count()} cores")
        dets = loop_table(sc, a.tiles, a.rounds, busy=False)
        if not a.quiet_only:
            loop_table(sc, a.tiles, a.rounds, busy=True)
        crops_table(sc, dets.corners, a.rounds)
        cache_table(sc, a.rounds)
        print(f"\nload average (1 min): {load0:.2f} before, {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
