"""Queue membership on real images, against regions labelled by eye: precision and recall of the
queue finder's calls, with the plain chaining rule it replaced beside it, in one run.

Labels (benchmarks/queue_labels/regions.csv, see its README): in each image where plain chaining
finds a chain of five, the places where vehicles stand are drawn as buffered lines of one kind:
`queue` (vehicles close behind each other in a driving lane: the positives), `kerb` (parked along a
kerb or lay-by), `traffic` (in a lane, keeping their distance) or `unsure` (left out of both figures);
everything not drawn is car park, yard, depot or elsewhere (`lot_or_other`). A detected vehicle takes
the kind of the region its centre lies in. The images are SIMD's tune and validation splits
(benchmarks/splits/simd_tune.txt, ../shared/data/simd/val.txt; Google Earth, each at its native GSD
from car lengths) and the DOTA sample (truck yards and a bus depot; in the stock detector's training
set). Queue rules are chosen on `tune` and reported on `val`. The `--roads` row takes the lines of
the labelled rows (every kind) as the road map: the streets where vehicles stand in line, and no
car-park aisle (geotally drops OSM's), so it is a best case for a map, not an OSM extract. Kerb-parked rows are not queues to an
analyst, but one still image shows them exactly as a queue in the lane beside the kerb: `precision`
counts them as wrong calls, `precision, kerb rows left out` scores them as neither (like `unsure`).

    python -m benchmarks.queues_real [--split tune|val|dota|all] [--cache FILE] [--save-overlays DIR]
"""

from __future__ import annotations

import argparse
import csv
import pickle
from pathlib import Path

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from benchmarks.data import BENCH, DOTA, SIMD, items, simd_names
from geotally.analysis.queues import QueueParams, find_queues, link_pairs

KINDS = ("queue", "unsure", "kerb", "traffic", "lot_or_other")


def plain_chains(xy, hd, ln, p=QueueParams(min_vehicles=5)) -> np.ndarray:
    """The rule before: every head-to-tail link, connected components of five or more are queues."""
    i, j = link_pairs(xy, hd, ln, p)
    n = len(xy)
    if not n:
        return np.zeros(0, bool)
    _, comp = connected_components(coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)), directed=False)
    return np.bincount(comp)[comp] >= p.min_vehicles


def images(split: str) -> list:
    if split == "dota":
        return list(items(DOTA))
    keep = simd_names(split)
    return [it for it in items(SIMD) if it.path.stem in keep]


def _rows() -> list[dict]:
    with open(BENCH / "queue_labels" / "regions.csv", newline="") as f:
        return list(csv.DictReader(f))


def _line(row: dict):
    return shapely.LineString([tuple(map(float, p.split())) for p in row["polyline_px"].split(",")])


def regions() -> dict[str, list[tuple[str, object]]]:
    """Per image, (kind, polygon in pixel coordinates) from regions.csv."""
    out: dict[str, list] = {}
    for row in _rows():
        out.setdefault(row["image"], []).append((row["kind"], shapely.buffer(_line(row), float(row["half_width_px"]))))
    return out


def drawn_roads() -> dict[str, list]:
    """Per image, the labelled rows' lines (pixel coordinates) taken as road centrelines: a map that has
    every street where vehicles stand in line and no car-park aisle (geotally drops OSM's)."""
    out: dict[str, list] = {}
    for row in _rows():
        out.setdefault(row["image"], []).append(_line(row))
    return out


def on_drawn_roads(scene: dict, roads: dict) -> np.ndarray:
    """Which vehicles geotally ties to those roads (residential width: within 7.25 m of the line)."""
    from geotally.config.params import RoadParams
    from geotally.roads.snap import snap_to_roads

    lines = roads.get(scene["image"], [])
    if not lines:
        return np.zeros(len(scene["xy"]), bool)
    g = scene["gsd"]
    lines_m = shapely.transform(np.asarray(lines, dtype=object), lambda xy: xy * [g, -g])
    reach = RoadParams().widths_m["residential"] / 2 + RoadParams().margin_m
    return snap_to_roads(scene["xy"], lines_m, np.full(len(lines_m), reach)).on_road


def detect(split: str, cache: Path | None) -> list[dict]:
    """Vehicles of each image of the split (centre in metres and in pixels, heading, length)."""
    import geotally

    if cache and cache.exists():
        return pickle.loads(cache.read_bytes())
    out = []
    for it in images(split):
        g = float(it.gsd)
        det = geotally.count(str(it.path), gsd=g).detections
        veh = det[det["class"].isin(["large_vehicle", "small_vehicle"])]
        c = shapely.get_coordinates(shapely.centroid(veh.geometry.values)) if len(veh) else np.zeros((0, 2))
        out.append({"image": it.path.stem, "path": str(it.path), "gsd": g, "xy": c, "px": c / [g, -g],
                    "heading": veh["heading_deg"].to_numpy(float), "length": veh["length_m"].to_numpy(float),
                    "polys": list(veh.geometry.values)})
    if cache:
        cache.write_bytes(pickle.dumps(out))
    return out


def kinds_of(scene: dict, labelled: dict) -> np.ndarray:
    """Each vehicle's labelled kind: the first region holding its centre, else lot_or_other."""
    kind = np.full(len(scene["xy"]), "lot_or_other", dtype=object)
    pts = shapely.points(scene["px"]) if len(kind) else np.zeros(0, object)
    for k, poly in reversed(labelled.get(scene["image"], [])):
        kind[shapely.contains(poly, pts)] = k
    return kind


def score(scenes: list[dict], kinds: list[np.ndarray], rule) -> dict:
    """Calls by labelled kind (``kinds``: per scene, from kinds_of), and queue-membership precision and
    recall (unsure left out). ``rule`` takes (xy, heading, length, scene)."""
    called = dict.fromkeys(KINDS, 0)
    truth = dict.fromkeys(KINDS, 0)
    for s, k in zip(scenes, kinds):
        if not len(s["xy"]):
            continue
        q = rule(s["xy"], s["heading"], s["length"], s)
        for name in KINDS:
            called[name] += int(np.count_nonzero(q & (k == name)))
            truth[name] += int(np.count_nonzero(k == name))
    judged = sum(called.values()) - called["unsure"]
    lenient = judged - called["kerb"]
    return {"called": called, "truth": truth, "precision": called["queue"] / judged if judged else float("nan"),
            "precision_no_kerb": called["queue"] / lenient if lenient else float("nan"),
            "recall": called["queue"] / truth["queue"] if truth["queue"] else float("nan")}


ROADS = drawn_roads()
RULES = {
    "plain chaining (before)": lambda xy, hd, ln, s: plain_chains(xy, hd, ln),
    "geotally, --queue-min 5": lambda xy, hd, ln, s: find_queues(xy, hd, ln, QueueParams(min_vehicles=5)).label >= 0,
    "geotally (defaults)": lambda xy, hd, ln, s: find_queues(xy, hd, ln).label >= 0,
    "geotally --roads (the labelled rows' lines)":
        lambda xy, hd, ln, s: find_queues(xy, hd, ln, on_road=on_drawn_roads(s, ROADS)).label >= 0,
    "geotally --roads (the same), --queue-min 5":
        lambda xy, hd, ln, s: find_queues(xy, hd, ln, QueueParams(min_vehicles=5),
                                          on_road=on_drawn_roads(s, ROADS)).label >= 0,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="all", choices=["tune", "val", "dota", "all"])
    ap.add_argument("--cache", default=None, help="keep each split's detections in FILE.<split>.pkl and reuse them")
    ap.add_argument("--save-overlays", default=None, help="write each image with queue calls drawn")
    args = ap.parse_args()
    splits = ["tune", "val", "dota"] if args.split == "all" else [args.split]
    labelled = regions()
    print("| split | rule | vehicles (queue / unsure / kerb / traffic / lot or other) | called: queue / unsure / kerb / "
          "traffic / lot or other | precision | precision, kerb rows left out | recall |")
    print("|---|---|---|---|---|---|---|")
    for split in splits:
        cache = Path(f"{args.cache}.{split}.pkl") if args.cache else None
        scenes = detect(split, cache)
        kinds = [kinds_of(sc, labelled) for sc in scenes]  # the labels do not depend on the rule
        for name, rule in RULES.items():
            r = score(scenes, kinds, rule)
            t = " / ".join(str(r["truth"][k]) for k in KINDS)
            c = " / ".join(str(r["called"][k]) for k in KINDS)
            print(f"| {split} ({len(scenes)} images) | {name} | {t} | {c} | {r['precision']:.2f} | "
                  f"{r['precision_no_kerb']:.2f} | {r['recall']:.2f} |")
        if args.save_overlays:
            for s in scenes:
                draw(s, RULES["geotally (defaults)"], Path(args.save_overlays), labelled)


def draw(scene: dict, rule, out: Path, labelled: dict) -> None:
    """The image with its labelled regions (cyan), queue calls (red) and other vehicles (grey)."""
    import cv2

    if not len(scene["xy"]):
        return
    q = rule(scene["xy"], scene["heading"], scene["length"], scene)
    out.mkdir(parents=True, exist_ok=True)
    img = cv2.imread(scene["path"])
    g = scene["gsd"]
    for _, poly in labelled.get(scene["image"], []):
        cv2.polylines(img, [np.asarray(poly.exterior.coords, np.int32)], True, (255, 255, 0), 1)
    for poly, inq in zip(scene["polys"], q):
        px = (np.asarray(poly.exterior.coords)[:, :2] / [g, -g]).astype(np.int32)
        cv2.polylines(img, [px], True, (0, 0, 255) if inq else (200, 200, 200), 2 if inq else 1)
    cv2.imwrite(str(out / f"{scene['image']}.png"), img)


if __name__ == "__main__":
    main()
