"""Many small scenes against one big scene of the same pixels: seconds per megapixel of one
`geotally count` over 52 GeoTIFFs of 1024 x 768 px (cut from a generated crossing) beside one
count of the single GeoTIFF they tile, each in a fresh process, in one run. Issue 14 asks for at
most 1.2x the time per megapixel.

    python -m benchmarks.many_scenes [--cols 2] [--rows 26] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(inputs: list[str], out: str) -> dict:
    t0 = time.perf_counter()
    import geotally

    res = geotally.count_scenes(inputs, out=out)
    n = int(res.counts[(res.counts["zone"] == "ALL")]["count"].sum())
    return {"seconds": time.perf_counter() - t0, "vehicles": n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cols", type=int, default=2)
    ap.add_argument("--rows", type=int, default=26)
    ap.add_argument("--keep", default=None)
    ap.add_argument("--_child", nargs="+", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._child:
        print(json.dumps(child(a._child[1:], a._child[0])))
        return
    import rasterio
    from rasterio.windows import Window

    from geotally.synth import LayoutParams, SynthParams, write_scene

    w, h = 1024, 768
    folder = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="geotally-many-"))
    gsd = 0.15
    lp = LayoutParams(width_m=(a.cols * w + 64) * gsd, height_m=(a.rows * h + 64) * gsd,
                      queue={"TR": 40, "IQ": 60}, depot={"IQ": 20}, seed=9)
    scene = write_scene(folder / "source", SynthParams(layout=lp, gsd=gsd))
    pieces = []
    with rasterio.open(scene["scene"]) as src:
        profile = dict(src.profile, tiled=False, compress="deflate")
        full = Window(0, 0, a.cols * w, a.rows * h)
        with rasterio.open(folder / "one.tif", "w", **dict(profile, width=full.width, height=full.height,
                                                          transform=src.window_transform(full))) as dst:
            dst.write(src.read(window=full))
        (folder / "many").mkdir(exist_ok=True)
        for r in range(a.rows):
            for c in range(a.cols):
                win = Window(c * w, r * h, w, h)
                path = folder / "many" / f"piece_{r:02d}_{c}.tif"
                with rasterio.open(path, "w", **dict(profile, width=w, height=h,
                                                     transform=src.window_transform(win))) as dst:
                    dst.write(src.read(window=win))
                pieces.append(str(path))
    mp = a.cols * w * a.rows * h / 1e6
    runs = {}
    for label, inputs in (("one scene", [str(folder / "one.tif")]), (f"{len(pieces)} scenes", pieces)):
        out = folder / f"out_{len(inputs)}"
        res = subprocess.run([sys.executable, "-m", "benchmarks.many_scenes", "--_child", str(out), *inputs], capture_output=True,
                             text=True, check=True)
        runs[label] = json.loads(res.stdout.strip().splitlines()[-1])
    print(f"{mp:.1f} MP of a generated crossing at {gsd} m: one GeoTIFF, and the same pixels as {len(pieces)} "
          f"GeoTIFFs of {w} x {h}; each count in a fresh process, defaults")
    print("\n| run | seconds | s per MP | vehicles | × one scene |")
    print("|---|---|---|---|---|")
    base = runs["one scene"]["seconds"]
    for label, r in runs.items():
        print(f"| {label} | {r['seconds']:.1f} | {r['seconds'] / mp:.3f} | {r['vehicles']} | {r['seconds'] / base:.2f} |")


if __name__ == "__main__":
    main()
