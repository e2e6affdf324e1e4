"""How often a scene's own review sample gives an interval that holds the true count.

A reviewer who answers from the exact truth reviews the seeded sample of a generated crossing
(every sampled detection accepted, relabelled or rejected as the truth says; every missed vehicle in
each sampled window added), `calibrate` reads the review, and each interval (per side and for the
whole scene, trucks and cars) is checked against the truth. Per scene, several sample seeds.

Scenes: `geotally synth` crossings with the defaults (62 trucks, 44 cars; layout seeds 0, 1, 2 by
default) reviewed with the default sample, and ``--small``: the tests' 200 x 600 m crossing with 40
detections and 30 windows of 30 m. ``--estimator-only``: re-estimate the calibrations saved by an
earlier run in ``--work`` (seconds), to compare estimators on the same reviews.

    python -m benchmarks.review_coverage [--layouts 0,1,2] [--small] [--seeds 16] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

LARGE = ("large_vehicle", "truck", "tanker", "box", "flatbed", "bus")


def truth_matches(det, truth):
    """Each detection's true class (or None) and which truth vehicles some detection found (centres
    within 3 m, nearest first)."""
    import shapely

    tc = shapely.get_coordinates(truth.geometry.centroid)
    dc = shapely.get_coordinates(det.geometry.centroid)
    d = np.linalg.norm(dc[:, None] - tc[None], axis=2)
    cls = np.array([None] * len(det), dtype=object)
    used = np.zeros(len(truth), bool)
    for i in np.argsort(d.min(axis=1)):
        j = int(np.argmin(np.where(used, np.inf, d[i])))
        if d[i, j] < 3.0:
            used[j] = True
            cls[i] = "large_vehicle" if truth["class"].iloc[j] in LARGE else "small_vehicle"
    return cls, used


def review_from_truth(res: Path, truth_path: str, params) -> None:
    """The oracle's review of the sample drawn with ``params``, into res/review.gpkg (also the tests')."""
    import geopandas as gpd
    import shapely

    from geotally.review.run import prepare
    from geotally.review.session import to_pixels

    app = prepare(res, params, reviewer="oracle")
    det = gpd.read_file(res / "detections.gpkg", layer="detections")
    truth = gpd.read_file(truth_path).to_crs(det.crs)
    true_cls, found = truth_matches(det, truth)
    by_id = dict(zip(det["det_id"], true_cls))
    det_cls = dict(zip(det["det_id"], det["class"]))
    sc = app.session.scenes[0].scene
    tpx = to_pixels(sc, truth.geometry.to_numpy(), truth.crs)
    tcent = shapely.get_coordinates(shapely.centroid(tpx))
    for unit in app.payload()["sample"]:
        if unit["unit"] == "detection":
            t = by_id[unit["id"]]
            body = ({"action": "reject"} if t is None else {"action": "accept"} if t == det_cls[unit["id"]]
                    else {"action": "relabel", "label_class": t})
            app.decide(dict(body, det_id=unit["id"], sample_unit=unit["id"]))
            continue
        ring = np.asarray(unit["ring"])
        (x0, y0), (x1, y1) = ring.min(axis=0), ring.max(axis=0)
        inside = (~found) & (tcent[:, 0] >= x0) & (tcent[:, 0] < x1) & (tcent[:, 1] >= y0) & (tcent[:, 1] < y1)
        for j in np.flatnonzero(inside):
            cls = "large_vehicle" if truth["class"].iloc[j] in LARGE else "small_vehicle"
            ring_px = np.asarray(shapely.get_exterior_ring(tpx[j]).coords)[:4].tolist()
            app.decide({"action": "add", "label_class": cls, "ring": ring_px, "scene": Path(sc.path).name,
                        "sample_unit": unit["id"]})
        app.decide({"action": "searched", "det_id": unit["id"], "sample_unit": unit["id"]})


def _truths(scene: dict) -> dict[tuple[str, str], int]:
    """True counts per (zone or ALL, class)."""
    import geopandas as gpd

    truth = gpd.read_file(scene["truth"])
    zones = gpd.read_file(scene["sides"]).to_crs(truth.crs)
    name = [c for c in zones.columns if c != "geometry"][0]
    side = gpd.sjoin(truth.set_geometry(truth.geometry.centroid), zones[[name, "geometry"]], how="left",
                     predicate="within")[name]
    out = {}
    for cls in ("large_vehicle", "small_vehicle"):
        is_c = truth["class"].isin(LARGE) if cls == "large_vehicle" else ~truth["class"].isin(LARGE)
        out[("ALL", cls)] = int(is_c.sum())
        for z in zones[name]:
            out[(str(z), cls)] = int((is_c & (side == z)).sum())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layouts", default="0,1,2", help="layout seeds of default-size crossings ('' for none)")
    ap.add_argument("--small", action="store_true", help="also the tests' small crossing (layout seed 1)")
    ap.add_argument("--seeds", type=int, default=16, help="sample seeds per scene")
    ap.add_argument("--work", type=Path, default=Path("/tmp/geotally-review-coverage"))
    ap.add_argument("--estimator-only", action="store_true", help="re-estimate the saved calibrations")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import geotally
    from geotally.analysis.sampling import SampleCalibration, SampleParams
    from geotally.config.synth import LayoutParams, SynthParams
    from geotally.review.calibrate import sample_calibration
    from geotally.synth import write_scene

    scenes = [(f"default-{s}", LayoutParams(seed=s), SampleParams(seed=0))
              for s in (int(x) for x in args.layouts.split(",") if x.strip())]
    if args.small:
        scenes.append(("small-1", LayoutParams(width_m=200, height_m=600, queue={"TR": 8, "IQ": 14}, depot={"IQ": 6},
                                               cars_road=10, cars_park=0, seed=1),
                       SampleParams(detections=40, windows=30, window_m=30)))
    print("| scene | class | zone | true | held | median estimate [median 95% interval] |\n|---|---|---|---|---|---|")
    held_all = []
    for name, layout, sample in scenes:
        work = args.work / name
        if not args.estimator_only:
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            scene = write_scene(work / "scene", SynthParams(layout=layout))
            geotally.count_scenes([scene["scene"]], out=work / "res", zones=scene["sides"], border=scene["border"],
                                  sides=layout.sides)
            (work / "scene.json").write_text(json.dumps({k: str(v) for k, v in scene.items() if k != "counts"}))
            for seed in range(args.seeds):
                res = work / "r"
                shutil.rmtree(res, ignore_errors=True)
                shutil.copytree(work / "res", res)
                review_from_truth(res, str(scene["truth"]), replace(sample, seed=seed))
                sample_calibration(res / "review.gpkg").save(work / f"cal_{seed}.json")
        scene = json.loads((work / "scene.json").read_text())
        truth = _truths(scene)
        cals = [SampleCalibration.from_dict(json.loads((work / f"cal_{s}.json").read_text())) for s in range(args.seeds)]
        for (zone, cls), n in truth.items():
            est = np.array([c.estimate(None if zone == "ALL" else zone, cls) for c in cals])
            held = (est[:, 1] <= n) & (n <= est[:, 2])
            held_all.extend(held)
            med = np.median(est, axis=0)
            print(f"| {name} | {cls} | {zone} | {n} | {held.sum()}/{len(held)} | {med[0]:.0f} [{med[1]:.0f}–{med[2]:.0f}] |")
    print(f"\nintervals that held the truth: {int(np.sum(held_all))} of {len(held_all)}")


if __name__ == "__main__":
    main()
