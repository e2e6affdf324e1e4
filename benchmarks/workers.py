"""Speed-up from worker processes and a Dask LocalCluster, on one scene, side by side.

Runs `geotally count` (defaults) on SCENE with 1 process, `--workers 2`, and `--dask local:2`,
each in a fresh process, and prints wall time, MP/s and speed-up against the single process.
Counts must agree.

    python -m benchmarks.workers SCENE.tif
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import rasterio


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    scene = sys.argv[1]
    with rasterio.open(scene) as src:
        mp = src.width * src.height / 1e6
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, extra in (("1 process", []), ("--workers 2", ["--workers", "2"]),
                             ("--dask local:2", ["--dask", "local:2"])):
            out = Path(tmp) / label.replace(" ", "_").replace(":", "")
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "geotally.cli", "count", scene, "--out", str(out), "-q", *extra],
                           check=True)
            secs = time.perf_counter() - t0
            totals = [ln for ln in (out / "counts.csv").read_text().splitlines() if ln.startswith("ALL,")]
            rows.append((label, secs, "; ".join(totals)))
    base = rows[0][1]
    print(f"scene {mp:.0f} MP; wall time per run includes start-up (imports, model load per worker)")
    print("| run | seconds | MP/s | speed-up | counts |")
    print("|---|---|---|---|---|")
    for label, secs, totals in rows:
        print(f"| {label} | {secs:.1f} | {mp / secs:.2f} | {base / secs:.2f} | {totals} |")


if __name__ == "__main__":
    main()
