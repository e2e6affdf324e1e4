"""The seed claim's scale: about 12,000 trucks queuing along 20-40 km of road at 0.5 m, counted per
side against the exact truth, with time and peak memory beside a plain whole-scene read of the
same file, each in a fresh process, in one run; and how many of the trucks the queue finder puts in
queues, without and with the generated road map (every truck stands in a queue).

The generated crossing is stretched to ``--km`` of road with ``--lanes`` lanes of trucks a side
(beyond two they stand on the shoulder and verge, as trucks do at a closed border); the trucks
are split between the two sides.

    python -m benchmarks.queue_scale [--trucks 12000] [--km 42] [--lanes 7] [--gsd 0.5] [--seed 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _peak_mib() -> float:
    """This process's own peak RSS (VmHWM; ru_maxrss would carry the parent's across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(kind: str, folder: str) -> dict:
    t0 = time.perf_counter()
    if kind in ("count", "count-roads"):
        import geotally

        roads = {"roads": Path(folder) / "roads.geojson"} if kind == "count-roads" else {}
        res = geotally.count(Path(folder) / "scene.tif", border=Path(folder) / "border.geojson", sides=("TR", "IQ"),
                             out=Path(folder) / ("results" if not roads else "results-roads"), **roads)
        got = res.counts.set_index(["zone", "class"])["count"].to_dict()
        extra = {f"{z}|{c}": int(v) for (z, c), v in got.items()}
        extra["queued"] = int((res.detections["queue_id"] >= 0).sum())
        extra["queues"] = int(res.detections.loc[res.detections["queue_id"] >= 0, "queue_id"].nunique())
    else:
        import rasterio

        with rasterio.open(Path(folder) / "scene.tif") as src:
            src.read()
        extra = {}
    return {"kind": kind, "seconds": time.perf_counter() - t0, "peak_mib": _peak_mib(), **extra}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trucks", type=int, default=12000)
    ap.add_argument("--km", type=float, default=42.0)
    ap.add_argument("--lanes", type=int, default=7)
    ap.add_argument("--gsd", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=5, help="layout seed (5: the scene the queue rules were tuned on)")
    ap.add_argument("--keep", default=None, help="write the scene here and keep it")
    ap.add_argument("--_child", nargs=2, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._child:
        print(json.dumps(child(*a._child)))
        return
    from geotally.synth import LayoutParams, SynthParams, write_scene

    folder = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="geotally-scale-"))
    lp = LayoutParams(width_m=40.0 + 2 * a.lanes * 3.6 * 1.6, height_m=a.km * 1000.0,
                      queue={"TR": a.trucks // 2, "IQ": a.trucks - a.trucks // 2}, depot={}, cars_road=0, cars_park=0,
                      queue_lanes=a.lanes, seed=a.seed)
    t0 = time.perf_counter()
    scene = write_scene(folder, SynthParams(layout=lp, gsd=a.gsd))
    made = time.perf_counter() - t0
    truth = scene["counts"]
    runs = []
    for kind in ("count", "count-roads", "read"):
        out = subprocess.run([sys.executable, "-m", "benchmarks.queue_scale", "--_child", kind, str(folder)], capture_output=True, text=True,
                             check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    import rasterio

    with rasterio.open(scene["scene"]) as src:
        w, h = src.width, src.height
    print(f"{sum(t.get('large_vehicle', 0) for t in truth.values()):,} trucks in queues along {a.km:g} km of road, "
          f"{a.lanes} lanes a side, at {a.gsd} m, seed {a.seed}: {w} x {h} px ({w * h / 1e6:.0f} MP); scene generated in {made:.0f} s")
    print("\n| run | seconds | peak RSS MiB |")
    print("|---|---|---|")
    for r in runs:
        label = {"count": "geotally count (defaults)", "count-roads": "geotally count --roads roads.geojson",
                 "read": "baseline: whole-scene rasterio read"}[r["kind"]]
        print(f"| {label} | {r['seconds']:.1f} | {r['peak_mib']:.0f} |")
    c = runs[0]
    print("\n| side | trucks counted | truth | error |")
    print("|---|---|---|---|")
    for side in ("TR", "IQ"):
        n, t = c.get(f"{side}|large_vehicle", 0), truth[side].get("large_vehicle", 0)
        print(f"| {side} | {n:,} | {t:,} | {(n - t) / t:+.1%} |")
    n, t = c.get("ALL|large_vehicle", 0), sum(v.get("large_vehicle", 0) for v in truth.values())
    print(f"| ALL | {n:,} | {t:,} | {(n - t) / t:+.1%} |")
    print("\nEvery truck in the scene stands in a queue. Vehicles geotally puts in queues:\n")
    print("| run | vehicles counted | in queues | share | queue lines |")
    print("|---|---|---|---|---|")
    for r in runs[:2]:
        n = r.get("ALL|large_vehicle", 0) + r.get("ALL|small_vehicle", 0)
        label = "without a road map" if r["kind"] == "count" else "with --roads (the generated trunk road)"
        print(f"| {label} | {n:,} | {r['queued']:,} | {r['queued'] / max(n, 1):.1%} | {r['queues']} |")


if __name__ == "__main__":
    main()
