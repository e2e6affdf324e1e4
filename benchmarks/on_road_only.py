"""What `--on-road-only` does to precision and recall on real frames with exhaustive car labels.

The KIT Munich validation frames (MOS74-MOS93, one junction, every car labelled) with the two
roads drawn by eye in `road_labels/kit_mos.json`. Each frame, area-averaged to the GSD, is counted
with `--roads` (all detections, each with `on_road`) and with `--roads --on-road-only`, in one
run. Labels are put on or off the road by the same rule geotally uses for detections (within the
road class's half-width plus the margin of its line). Rows:

* all cars: every detection against every label (the default count);
* on-road only: what `--on-road-only` keeps against the labels on the roads, which is what it
  claims to count; the labels off the roads (parked in the car park, the bays along the top) are
  left out by design, and their number is printed;
* and how many vehicles the queue finder puts in queues without and with the roads.

    python -m benchmarks.on_road_only [--gsd 0.15 0.3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.data import BENCH, degrade_to, load_split
from geotally.config.params import RoadParams
from geotally.roads.load import load_roads
from geotally.roads.snap import reach_m, snap_to_roads
from geotally.training.validate import RADIUS_M, match

ROADS = BENCH / "road_labels" / "kit_mos.json"


def roads_file(path: Path, metres_per_native_px: float) -> Path:
    """The drawn centrelines in pixel-space metres (x = col * gsd, y = -row * gsd), as a GeoPackage
    without CRS (GeoJSON would be read as WGS84)."""
    import geopandas as gpd
    from shapely.geometry import LineString

    doc = json.loads(ROADS.read_text())
    lines = [LineString([(x * metres_per_native_px, -y * metres_per_native_px) for x, y in r["line"]])
             for r in doc["roads"]]
    gpd.GeoDataFrame({k: [r[k] for r in doc["roads"]] for k in ("id", "highway", "name")},
                     geometry=lines, crs=None).to_file(path, driver="GPKG")
    return path


def labels_on_road(centres_px: np.ndarray, gsd: float, roads_path: Path, size: tuple[int, int]) -> np.ndarray:
    """Which label centres (pixels of the degraded frame) lie on a road, by geotally's rule."""
    w, h = size
    roads = load_roads(str(roads_path), None, (0.0, -h * gsd, w * gsd, 0.0))
    xy = np.column_stack([centres_px[:, 0] * gsd, -centres_px[:, 1] * gsd])
    return snap_to_roads(xy, roads.lines, reach_m(roads, RoadParams())).on_road


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gsd", type=float, nargs="+", default=[0.15, 0.3])
    args = ap.parse_args()
    import cv2

    import geotally

    frames = [im for im in load_split("val", None) if im.dataset == "kit" and im.name.startswith("MOS")]
    models: dict = {}
    rows, queue_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for g in args.gsd:
            t = {k: [0, 0, 0] for k in ("all", "on_road_only")}  # tp, detected, labelled
            off_labels = 0
            queued = {"without roads": 0, "with roads": 0}  # vehicles put in queues
            for im in frames:
                path, centres, gsd = degrade_to(im, g, work)
                cars = centres[im.cls == "small_vehicle"]
                h, w = cv2.imread(str(path)).shape[:2]
                roads = roads_file(work / f"roads_{im.name}_{g}.gpkg", im.gsd)
                on = labels_on_road(cars, gsd, roads, (w, h))
                off_labels += int((~on).sum())
                plain = geotally.count(str(path), gsd=gsd, models=models).detections
                queued["without roads"] += int((plain["queue_id"] >= 0).sum())
                for key, only in (("all", False), ("on_road_only", True)):
                    det = geotally.count(str(path), gsd=gsd, roads=str(roads), on_road_only=only,
                                         models=models).detections
                    if not only:
                        queued["with roads"] += int((det["queue_id"] >= 0).sum())
                    det = det[det["class"] == "small_vehicle"]
                    c = det.geometry.centroid
                    xy = np.column_stack([c.x.to_numpy() / gsd, -c.y.to_numpy() / gsd]) if len(det) else np.zeros((0, 2))
                    truth = cars if key == "all" else cars[on]
                    t[key][0] += match(xy, det["score"].to_numpy(), truth, RADIUS_M["small_vehicle"] / gsd)
                    t[key][1] += len(det)
                    t[key][2] += len(truth)
                if Path(path).parent == work:
                    Path(path).unlink(missing_ok=True)
            for key, (tp, nd, nt) in t.items():
                rows.append((g, key, nt, nd, tp / max(nd, 1), tp / max(nt, 1), (nd - nt) / max(nt, 1)))
            rows.append((g, "labelled cars off the roads (left out by --on-road-only)", off_labels, None, None, None,
                         None))
            queue_rows.append((g, queued))
    print(f"KIT Munich validation frames MOS74-MOS93 ({len(frames)}), cars; roads drawn by eye "
          "(benchmarks/road_labels/kit_mos.json); centre match within 2 m\n")
    print("| GSD | run | labelled | detected | precision | recall | count error |")
    print("|---|---|---|---|---|---|---|")
    for g, key, nt, nd, p, r, e in rows:
        if nd is None:
            print(f"| {g} | {key} | {nt} | | | | |")
        else:
            print(f"| {g} | {key} | {nt} | {nd} | {p:.3f} | {r:.3f} | {e:+.1%} |")
    print("\nVehicles the queue finder puts in queues (by eye no queue stands at the junction; a column of "
          "the car park chains up without a map):\n")
    print("| GSD | without roads | with roads |")
    print("|---|---|---|")
    for g, q in queue_rows:
        print(f"| {g} | {q['without roads']} | {q['with roads']} |")


if __name__ == "__main__":
    main()
