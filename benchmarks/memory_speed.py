"""Peak memory and throughput of `geotally count` against scene size, beside a whole-scene read.

Builds tiled GeoTIFFs of N x N pixels (default 5000 and 20000) at 0.15 m by repeating a
generated border-crossing chunk with trucks and cars, written window by window. Each
measurement runs in a fresh process; peak RSS comes from the OS (ru_maxrss of the child).

The baseline is what a tool that loads the scene does: one `rasterio.read()` of the whole
raster, nothing else.

    python -m benchmarks.memory_speed [--sizes 5000,20000] [--workdir /tmp/gt-bench]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window


def build_scene(path: Path, size: int, chunk: np.ndarray) -> None:
    if path.exists():
        return
    ch, cw = chunk.shape[1:]
    profile = dict(driver="GTiff", width=size, height=size, count=3, dtype="uint8", crs="EPSG:32638",
                   transform=Affine(0.15, 0, 283000, 0, -0.15, 4115000), tiled=True, blockxsize=512,
                   blockysize=512, compress="deflate", photometric="RGB", BIGTIFF="IF_SAFER")
    with rasterio.open(path, "w", **profile) as dst:
        for r in range(0, size, ch):
            for c in range(0, size, cw):
                h, w = min(ch, size - r), min(cw, size - c)
                dst.write(chunk[:, :h, :w], window=Window(c, r, w, h))


def chunk_image(workdir: Path) -> np.ndarray:
    from geotally.synth import LayoutParams, SynthParams, write_scene

    lp = LayoutParams(width_m=300, height_m=600, queue={"TR": 10, "IQ": 14}, depot={"IQ": 10}, seed=3)
    res = write_scene(workdir / "chunk", SynthParams(layout=lp))
    with rasterio.open(res["scene"]) as src:
        return src.read()


def run_child(code: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one child process, from its own rusage (os.wait4).

    Linux keeps a process's RSS high-water mark across fork and exec, so the parent that
    spawns measured children must itself stay small: scenes are built in a separate child.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(code, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    secs = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(code)} failed: {proc.stderr.read().decode()[-500:]}")
    return secs, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="5000,20000")
    ap.add_argument("--workdir", default="/tmp/gt-bench")
    ap.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if args.build_only:
        chunk = chunk_image(work)
        for size in sizes:
            build_scene(work / f"scene_{size}.tif", size, chunk)
        return
    subprocess.run([sys.executable, "-m", "benchmarks.memory_speed", "--build-only", "--sizes", args.sizes, "--workdir", str(work)], check=True)
    rows = []
    for size in sizes:
        scene = work / f"scene_{size}.tif"
        out = work / f"out_{size}"
        secs, rss = run_child([sys.executable, "-m", "geotally.cli", "count", str(scene), "--out", str(out), "-q", "--fresh"])
        with (out / "counts.csv").open() as fh:  # zone ALL, per class (counts.csv leads with the date)
            total = [f"{r['class']} {r['count']}" for r in csv.DictReader(fh) if r["zone"] == "ALL"]
        rows.append(("geotally count", size, secs, rss, "; ".join(total)))
    for size in sorted(int(s) for s in args.sizes.split(",")):
        scene = work / f"scene_{size}.tif"
        code = f"import rasterio; a = rasterio.open({str(scene)!r}).read(); print(a.nbytes)"
        secs, rss = run_child([sys.executable, "-c", code])
        rows.append(("baseline: whole-scene read", size, secs, rss, ""))
    print(f"machine: {os.cpu_count()} cores; scene GSD 0.15 m, model GSD 0.25 m, tile 1024, default thresholds")
    print("| run | scene px | MP | seconds | s per MP | peak RSS MiB | counts (ALL) |")
    print("|---|---|---|---|---|---|---|")
    for name, size, secs, rss, counts in rows:
        mp = size * size / 1e6
        print(f"| {name} | {size}x{size} | {mp:.0f} | {secs:.1f} | {secs / mp:.3f} | {rss:.0f} | {counts} |")


if __name__ == "__main__":
    main()
