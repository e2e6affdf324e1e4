"""Trailer types: accuracy on real and synthetic vehicles, and what typing costs in a count.

1. Real crops (from the shipped classifier's model card): 2-fold cross-validation by image on the
   labelled real crops of benchmarks/trailer_labels/types.csv (SIMD, DOTA sample), at 0.15, 0.3 and
   0.5 m; per type precision and recall, and the confusion matrices.
2. Synthetic scenes with exact truth, seeds the classifier never saw (its synthetic crops come from
   a separate generator): `geotally synth` crossings at 0.3 m (tankers, box trailers, flatbeds),
   counted with the defaults and typing forced (--trailer-max-gsd 0.6); each detected large vehicle matched to the truth by centre (3 m);
   accuracy of its trailer type.
3. Cost, side by side in one run: `geotally demo`'s scene counted with trailer types (forced) and
   without (`--no-trailer-types`), three times each, the median wall time; extra milliseconds per typed vehicle.

    python -m benchmarks.trailer_types [--scenes 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

import geotally
from geotally.detect.trailer_types import TrailerParams
from geotally.models.trailers import TRAILER_TYPES, get_trailer_spec

# Typing forced at every GSD (--trailer-max-gsd 0.6): the shipped model's real validation allows none,
# and what is measured here is what the classifier does and costs when it runs.
FORCED = TrailerParams(max_gsd=0.6)
KIND_TYPE = {"tanker": "tanker", "box": "box", "flatbed": "flatbed_or_container", "rigid": "box", "bus": "bus",
             "tractor": "other"}


def model_card() -> None:
    spec = get_trailer_spec()
    v = spec.card["validation"]
    print(f"## {spec.name}: real crops ({v['method']})\n")
    print("real crops per type: " + ", ".join(f"{k} {n}" for k, n in spec.card["training"]["real_crops"].items()))
    print(f"types are reported for scenes up to {spec.max_gsd:g} m (held-out accuracy >= {v['min_real_accuracy']})\n")
    print("| GSD | accuracy | " + " | ".join(f"{t} P / R (n)" for t in TRAILER_TYPES) + " |")
    print("|---|---|" + "---|" * len(TRAILER_TYPES))
    for g in v["gsds"]:
        pt = v["per_type"][str(g)]
        cells = []
        for t in TRAILER_TYPES:
            p, r, n = pt[t]["precision"], pt[t]["recall"], pt[t]["support"]
            cells.append(f"{'-' if p is None else f'{p:.2f}'} / {'-' if r is None else f'{r:.2f}'} ({n})")
        print(f"| {g} m | {v['accuracy'][str(g)]:.3f} | " + " | ".join(cells) + " |")
    for g in v["gsds"]:
        print(f"\nconfusion at {g} m (rows true, columns predicted: {', '.join(TRAILER_TYPES)}):")
        for t, row in zip(TRAILER_TYPES, v["confusion"][str(g)]):
            print(f"    {t:>22}: {row}")


def synthetic(n_scenes: int, work: Path) -> None:
    from geotally.synth import LayoutParams, SynthParams, write_scene

    right = total = 0
    per = {t: [0, 0] for t in TRAILER_TYPES}
    for seed in range(n_scenes):
        lp = LayoutParams(width_m=300, height_m=700, queue={"TR": 14, "IQ": 20}, depot={"IQ": 8}, seed=900 + seed)
        s = write_scene(work / f"s{seed}", SynthParams(layout=lp, gsd=0.3))
        det = geotally.count(s["scene"], trailer=FORCED).detections
        det = det[det["class"] == "large_vehicle"]
        truth = gpd.read_file(s["truth"]).to_crs(det.crs)
        truth = truth[truth["class"] == "large_vehicle"]
        tc = shapely.get_coordinates(truth.geometry.centroid)
        dc = shapely.get_coordinates(det.geometry.centroid)
        if not len(dc):
            continue
        d = np.hypot(*(dc[:, None] - tc[None]).transpose(2, 0, 1))
        for i in range(len(det)):
            j = int(np.argmin(d[i]))
            if d[i, j] > 3.0:
                continue
            want = KIND_TYPE[truth["kind"].iloc[j]]
            got = det["trailer_type"].iloc[i]
            per[want][0] += got == want
            per[want][1] += 1
            right += got == want
            total += 1
    print(f"\n## synthetic crossings at 0.3 m, seeds 900-{899 + n_scenes} (exact truth)\n")
    print(f"type accuracy of matched large vehicles: {right}/{total} = {right / max(total, 1):.3f}; "
          + ", ".join(f"{t} {a}/{b}" for t, (a, b) in per.items() if b))


def cost(work: Path) -> None:
    from geotally.synth import LayoutParams, SynthParams, write_scene

    s = write_scene(work / "demo", SynthParams(layout=LayoutParams(seed=0), gsd=0.15))  # as `geotally demo`
    times = {True: [], False: []}
    typed = 0
    for _ in range(3):
        for on in (False, True):
            t0 = time.perf_counter()
            r = geotally.count(s["scene"], border=s["border"], sides=("TR", "IQ"),
                               trailer=FORCED if on else TrailerParams(enabled=False))
            times[on].append(time.perf_counter() - t0)
            if on:
                typed = int((r.detections["class"] == "large_vehicle").sum())
    off, on = np.median(times[False]), np.median(times[True])
    print(f"\n## cost on the demo scene ({typed} large vehicles typed), median of 3, this machine\n")
    print(f"count without types {off:.2f} s, with types {on:.2f} s: +{(on - off) / off:.1%}, "
          f"{(on - off) / max(typed, 1) * 1000:.1f} ms per typed vehicle")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=3)
    args = ap.parse_args()
    model_card()
    with tempfile.TemporaryDirectory() as tmp:
        synthetic(args.scenes, Path(tmp))
        cost(Path(tmp))
    print()
    print(json.dumps({"model": get_trailer_spec().describe()}))


if __name__ == "__main__":
    main()
