"""How many vehicles the queue finder puts in queues on real car parks, yards and streets, with the
single-file rules (geotally's) beside the plain chaining rule they replaced, in one run, and the
vehicles now put in queues by what they are when the image is looked at (queue_labels/).

Real scenes: SIMD's validation images (Google Earth streets, car parks, yards; at their native GSD,
estimated from car lengths) and the DOTA sample (truck yards and depots; in the detector's training
set). Neither has queue labels: the figure is the share of detected vehicles put in queues, which on
car parks and yards should be near zero; a few cars at traffic lights are real queues. The
synthetic crossings with exact queue truth are in tests/test_analysis.py.

    python benchmarks/queues_real.py [--limit N] [--save-overlays DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

import geotally
from geotally.analysis.queues import QueueParams, find_queues, link_pairs

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def plain_chains(xy, hd, ln, p=QueueParams()) -> np.ndarray:
    """The rule before: every head-to-tail link, connected components of >= min_vehicles are queues."""
    i, j = link_pairs(xy, hd, ln, p)
    n = len(xy)
    if not n:
        return np.zeros(0, bool)
    _, comp = connected_components(coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)), directed=False)
    sizes = np.bincount(comp)
    return sizes[comp] >= p.min_vehicles


def images(limit: int | None):
    from geotally.training.sources import read_source

    val = set((DATA / "simd" / "val.txt").read_text().split())
    simd = [it for it in read_source(DATA / "simd") if it.path.stem in val]
    dota = list(read_source(DATA / "dota-sample"))
    return (simd[:limit] if limit else simd) + dota


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="SIMD images to use (default: all of val.txt)")
    ap.add_argument("--save-overlays", default=None, help="write each image with its queues drawn, old and new")
    args = ap.parse_args()
    tallies, verdicts, by_verdict = {}, _verdicts(), {}
    for it in images(args.limit):
        r = geotally.count(str(it.path), gsd=float(it.gsd))
        det = r.detections
        veh = det[det["class"].isin(["large_vehicle", "small_vehicle"])]
        if not len(veh):
            continue
        c = np.asarray([[g.centroid.x, g.centroid.y] for g in veh.geometry.values])
        hd, ln = veh["heading_deg"].to_numpy(float), veh["length_m"].to_numpy(float)
        old = plain_chains(c, hd, ln)
        new = find_queues(c, hd, ln).label >= 0
        t = tallies.setdefault(Path(it.source).name, [0, 0, 0, 0])
        t[0] += len(veh)
        t[1] += int(old.sum())
        t[2] += int(new.sum())
        t[3] += 1
        if new.any():
            v = verdicts.get(it.path.stem, "not judged")
            by_verdict[v] = by_verdict.get(v, 0) + int(new.sum())
        if args.save_overlays and (old.any() or new.any()):
            draw(it.path, veh, old, new, Path(args.save_overlays), float(it.gsd))
    print("| images | vehicles detected | in queues, plain chaining (before) | in queues, single-file rules (now) |")
    print("|---|---|---|---|")
    for ds, (n, o, q, k) in tallies.items():
        print(f"| {ds}: {k} | {n} | {o} ({o / n:.1%}) | {q} ({q / n:.1%}) |")
    total = sum(by_verdict.values())
    print("\nVehicles in queues now, by what they are by eye (benchmarks/queue_labels/verdicts.csv):\n")
    print("| by eye | vehicles in queues | share |")
    print("|---|---|---|")
    for v, n in sorted(by_verdict.items(), key=lambda kv: -kv[1]):
        print(f"| {v} | {n} | {n / max(total, 1):.1%} |")


def _verdicts() -> dict[str, str]:
    import csv

    path = Path(__file__).resolve().parent / "queue_labels" / "verdicts.csv"
    with open(path, newline="") as f:
        return {row["image"]: row["verdict"] for row in csv.DictReader(f)}


def draw(path: Path, veh, old: np.ndarray, new: np.ndarray, out: Path, gsd: float) -> None:
    import cv2

    out.mkdir(parents=True, exist_ok=True)
    img = cv2.imread(str(path))
    for poly, o, q in zip(veh.geometry.values, old, new):
        px = (np.asarray(poly.exterior.coords)[:, :2] / [gsd, -gsd]).astype(np.int32)
        colour = (0, 0, 255) if q else (0, 200, 255) if o else (200, 200, 200)
        cv2.polylines(img, [px], True, colour, 2)
    cv2.imwrite(str(out / f"{path.stem}.jpg"), img)


if __name__ == "__main__":
    main()
