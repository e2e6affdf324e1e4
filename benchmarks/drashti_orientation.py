"""Heading and length errors on real oriented labels: the DRASHTI drone samples degraded to satellite GSD.

../shared/data/drashti-samples holds 27 nadir drone frames (Ahmedabad, about 0.066 m/px) with human-drawn
oriented boxes of trucks, tippers, containers, tankers, buses, vans and cars: the only real oriented
truck labels here that no model trained on (evaluation only). Each frame is area-averaged to each GSD
(0.15, 0.3, 0.5 m; labels scaled with it) and counted by each model in one run (the shipped default and
the stock checkpoint by default). A detection of the same class within 3 m (large) / 2 m (small) of a
label's centre is its match (one to one, by score). Per model, GSD and class: labels found, the heading
error of the long axis (degrees, 0-90; median and 90th percentile), the length error (median of
|detected - labelled| / labelled) and its signed median, and, for large vehicles, how often the detected
length puts the vehicle in the same size class as its labelled length. The labels are not exhaustive
(parked vehicles left unlabelled in at least one frame): recall, headings and lengths, not precision.

    python -m benchmarks.drashti_orientation [--models geotally-vehicles-v8,yolov8n-obb-dota] [--gsds 0.15,0.3,0.5]
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.data import DRASHTI, drashti_items, require
from benchmarks.orientation import angle_diff, long_axis
from geotally.analysis.sizes import size_class
from geotally.config.defaults import DEFAULT_MODEL, STOCK_MODEL
from geotally.training.validate import CLASSES, RADIUS_M, degrade_to, pixel_corners


def match_pairs(det_xy: np.ndarray, score: np.ndarray, truth_xy: np.ndarray, radius: float) -> list[tuple[int, int]]:
    """(detection, label) pairs: greedy one to one by score, centre within ``radius`` pixels."""
    if not len(det_xy) or not len(truth_xy):
        return []
    d = np.hypot(det_xy[:, None, 0] - truth_xy[None, :, 0], det_xy[:, None, 1] - truth_xy[None, :, 1])
    taken = np.zeros(len(truth_xy), bool)
    out = []
    for i in np.argsort(-score, kind="stable"):
        cand = np.where(taken, np.inf, d[i])
        j = int(np.argmin(cand))
        if cand[j] <= radius:
            taken[j] = True
            out.append((int(i), j))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=f"{DEFAULT_MODEL},{STOCK_MODEL}")
    ap.add_argument("--gsds", default="0.15,0.3,0.5")
    args = ap.parse_args()
    require(DRASHTI, "../shared/data/drashti-samples")
    import geotally

    items = drashti_items()
    gsds = [float(g) for g in args.gsds.split(",")]
    models = [m for m in args.models.split(",") if m]
    stats: dict = defaultdict(lambda: {"n": 0, "found": 0, "dh": [], "dl": [], "sl": [], "same_size": 0})
    with tempfile.TemporaryDirectory() as tmp:
        for g in gsds:
            for it in items:
                path, _, gsd = degrade_to(it, g, Path(tmp))
                tc = it.corners * (it.gsd / gsd)
                th, tl = long_axis(tc) if len(tc) else (np.zeros(0), np.zeros(0))
                for model in models:
                    corners, cls, score = pixel_corners(geotally.count(path, model=model, gsd=gsd))
                    heading, length = long_axis(corners) if len(corners) else (np.zeros(0), np.zeros(0))
                    for c in CLASSES:
                        sel, tsel = np.flatnonzero(cls == c), np.flatnonzero(it.cls == c)
                        s = stats[(model, g, c)]
                        s["n"] += len(tsel)
                        pairs = match_pairs(corners[sel].mean(axis=1).reshape(-1, 2), score[sel],
                                            tc[tsel].mean(axis=1).reshape(-1, 2), RADIUS_M[c] / gsd)
                        if not pairs:
                            continue
                        di, ti = (np.array(v) for v in zip(*pairs))
                        d, t = sel[di], tsel[ti]
                        s["found"] += len(pairs)
                        s["dh"].extend(angle_diff(heading[d], th[t]).tolist())
                        rel = (length[d] - tl[t]) / tl[t]
                        s["dl"].extend(np.abs(rel).tolist())
                        s["sl"].extend(rel.tolist())
                        s["same_size"] += int((size_class(length[d] * gsd) == size_class(tl[t] * gsd)).sum())
                Path(path).unlink(missing_ok=True)
    n_large = sum(int((it.cls == "large_vehicle").sum()) for it in items)
    print(f"DRASHTI samples: {len(items)} frames, {n_large} labelled large vehicles (trucks, tippers, containers, "
          "tankers, buses, trailer, mixer); models in one run")
    print("\n| model | GSD | class | found / labelled | heading error median / p90 (deg) | length error median "
          "(signed) | same size class as the label |")
    print("|---|---|---|---|---|---|---|")
    for (model, g, c), s in sorted(stats.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][0])):
        if not s["found"]:
            print(f"| {model} | {g:g} | {c} | 0 / {s['n']} | - | - | - |")
            continue
        dh, dl = np.array(s["dh"]), np.array(s["dl"])
        print(f"| {model} | {g:g} | {c} | {s['found']} / {s['n']} | {np.median(dh):.1f} / {np.percentile(dh, 90):.1f} "
              f"| {np.median(dl):.1%} ({np.median(s['sl']):+.1%}) | {s['same_size'] / s['found']:.0%} |")
    lengths = defaultdict(list)  # labelled lengths per DRASHTI type, to check the size thresholds
    for it in items:
        raw = [ln.split()[8] for ln in (DRASHTI / "labels" / f"{it.path.stem}.txt").read_text().splitlines()
               if ln.strip() and ":" not in ln.split()[0]]
        _, tl = long_axis(it.corners) if len(it.corners) else (None, np.zeros(0))
        for name, metres in zip(raw, tl * it.gsd):
            lengths[name].append(metres)
    print("\nLabelled lengths (m) per DRASHTI type, and the size class they fall in:")
    print("| type | labels | median length | range | size classes |")
    print("|---|---|---|---|---|")
    for name, v in sorted(lengths.items(), key=lambda kv: -np.median(kv[1])):
        v = np.array(v)
        cls, n = np.unique(size_class(v), return_counts=True)
        print(f"| {name} | {len(v)} | {np.median(v):.1f} | {v.min():.1f}-{v.max():.1f} | "
              f"{', '.join(f'{c} {k}' for c, k in zip(cls, n))} |")


if __name__ == "__main__":
    main()
