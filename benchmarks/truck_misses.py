"""Where SIMD's labelled large vehicles are lost: per SIMD label class (truck, longvehicle, bus), how
many a model finds as a large vehicle within 3 m, finds only 3-6 m away, finds as a small vehicle,
or misses (nothing within 6 m); and the same by the label's length (its box's long side: under 6 m,
6-10 m, 10 m and over; the bands of geotally's size classes), since SIMD's "truck" runs from pickups
to lorries. Images area-averaged to the GSD as in benchmarks.accuracy.

    python -m benchmarks.truck_misses [--split val|tune] [--gsd 0.3] [--model NAME] [--list]
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from benchmarks.data import degrade_to, load_split, require, simd_labels
from benchmarks.runners import run_geotally

LARGE = ("truck", "longvehicle", "bus")


def verdict(dist_m: float, cls: str) -> str:
    if dist_m <= 3 and cls == "large_vehicle":
        return "found as large"
    if dist_m <= 3:
        return "found as small"
    if dist_m <= 6 and cls == "large_vehicle":
        return "large 3-6 m away"
    return "missed (nothing within 6 m)" if dist_m > 6 or cls != "small_vehicle" else "small 3-6 m away"


BANDS = ("under 6 m", "6-10 m", "10 m and over")


def band(length_m: float) -> str:
    return BANDS[0] if length_m < 6 else BANDS[1] if length_m < 10 else BANDS[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="val", choices=("val", "tune"))
    ap.add_argument("--gsd", type=float, default=0.3)
    ap.add_argument("--model", default=None)
    ap.add_argument("--list", action="store_true", help="print every label not found as large")
    a = ap.parse_args()
    require()
    images = [im for im in load_split(a.split, None) if im.dataset == "simd"]
    tally, lengths, lost, bands = Counter(), {}, [], Counter()
    with tempfile.TemporaryDirectory() as tmp:
        for img in images:
            path, truth_xy, gsd = degrade_to(img, a.gsd, Path(tmp))
            xy, cls, _ = run_geotally(path, gsd, {"model": a.model} if a.model else {})
            for c, kind, length in zip(*simd_labels(img, gsd)):
                if kind not in LARGE:
                    continue
                d = np.hypot(*(xy - c).T) * gsd if len(xy) else np.array([np.inf])
                j = int(np.argmin(d))
                v = verdict(float(d[j]), str(cls[j]) if len(xy) else "")
                tally[(kind, v)] += 1
                lengths.setdefault(v, []).append(length)
                bands[(band(length), v)] += 1
                if v != "found as large":
                    lost.append((img.name, kind, v, round(float(d[j]), 1)))
    print(f"{a.split} split, {len(images)} SIMD images at {a.gsd} m, model {a.model or 'default'}")
    print("\n| SIMD class | labelled | " + " | ".join(sorted({v for _, v in tally})) + " |")
    kinds = sorted({v for _, v in tally})
    print("|---|---|" + "---|" * len(kinds))
    for k in LARGE:
        n = sum(c for (kk, _), c in tally.items() if kk == k)
        print(f"| {k} | {n} | " + " | ".join(str(tally[(k, v)]) for v in kinds) + " |")
    print("\nmedian label length (m): " + ", ".join(f"{v} {np.median(x):.1f}" for v, x in sorted(lengths.items())))
    print("\n| label length | labelled | found as large | found as either class | large within 6 m |")
    print("|---|---|---|---|---|")
    for b in BANDS:
        n = sum(c for (bb, _), c in bands.items() if bb == b)
        large, small, near = (bands[(b, v)] for v in ("found as large", "found as small", "large 3-6 m away"))
        if n:
            print(f"| {b} | {n} | {large} ({large / n:.2f}) | {large + small} ({(large + small) / n:.2f}) "
                  f"| {large + near} ({(large + near) / n:.2f}) |")
    if a.list:
        for row in lost:
            print(*row)


if __name__ == "__main__":
    main()
