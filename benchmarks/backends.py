"""Ultralytics (PyTorch) against ONNX Runtime on CPU: same scene, checkpoint, tiles and thresholds.

Each backend runs the same count twice in this process; the second (warm) run is the figure
(the first pays model load, and for ONNX a one-off export if not cached).

    python -m benchmarks.backends SCENE.tif
"""

from __future__ import annotations

import sys
import time

import geotally


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    scene = sys.argv[1]
    print("| backend | first run s | warm run s | s per MP (warm) | trucks | cars |")
    print("|---|---|---|---|---|---|")
    for backend in ("ultralytics", "onnx"):
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            res = geotally.count(scene, backend=backend)
            times.append(time.perf_counter() - t0)
        c = res.counts.set_index(["zone", "class"])["count"]
        mp = res.scene.megapixels
        print(f"| {backend} | {times[0]:.1f} | {times[1]:.1f} | {times[1] / mp:.3f} | {c[('ALL', 'large_vehicle')]} | "
              f"{c[('ALL', 'small_vehicle')]} |", flush=True)


if __name__ == "__main__":
    main()
