"""Does multi-scale inference pay for its cost? Each image is counted at several model GSDs, and the
union of two or more of them is merged by the same class-agnostic rotated NMS that joins tiles
(IoU 0.3, highest score kept). Recall and count error are scored as in benchmarks.accuracy, on
the TUNE split by default (a choice of inference settings), in one run; seconds are the sum of the
single passes a union needs.

    python -m benchmarks.multiscale [--split tune|val] [--gsds 0.15,0.3,0.5]
                                    [--model-gsds 0.25,0.2,0.35] [--unions 0.25+0.2,0.25+0.35]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.accuracy import Tally, score_image
from benchmarks.data import degrade_to, load_split, require


def detect(path: Path, gsd: float, model_gsd: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel corners (n, 4, 2), classes and scores of what ``geotally.count`` finds at ``model_gsd``."""
    import geotally
    from geotally.training.validate import pixel_corners

    return pixel_corners(geotally.count(path, gsd=gsd, model_gsd=model_gsd))


def union(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from geotally.detect.nms import rotated_nms

    corners, cls, score = (np.concatenate([p[k] for p in parts]) for k in range(3))
    keep = rotated_nms(corners, score, 0.3) if len(score) else np.zeros(0, dtype=np.int64)
    return corners[keep], cls[keep], score[keep]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="tune", choices=("tune", "val"))
    ap.add_argument("--gsds", default="0.15,0.3,0.5")
    ap.add_argument("--model-gsds", default="0.25,0.2,0.35")
    ap.add_argument("--unions", default="0.25+0.2,0.25+0.35")
    a = ap.parse_args()
    require()
    singles = [float(v) for v in a.model_gsds.split(",")]
    unions = [[float(v) for v in u.split("+")] for u in a.unions.split(",") if u]
    missing = {m for u in unions for m in u} - set(singles)
    if missing:
        sys.exit(f"--unions uses model GSDs {sorted(missing)} that --model-gsds does not list")
    images = load_split(a.split, None)
    tallies: dict = defaultdict(Tally)
    seconds: dict = defaultdict(float)
    with tempfile.TemporaryDirectory() as tmp:
        for g in [float(v) for v in a.gsds.split(",")]:
            for img in images:
                path, truth_xy, gsd = degrade_to(img, g, Path(tmp))
                found = {}
                for m in singles:
                    t0 = time.perf_counter()
                    found[m] = detect(path, gsd, m)
                    seconds[(str(m), g)] += time.perf_counter() - t0
                    c, k, s = found[m]
                    score_image(tallies, (str(m), g), img, c.mean(axis=1), k, s, truth_xy, gsd)
                for u in unions:
                    label = "+".join(map(str, u))
                    c, k, s = union([found[m] for m in u])
                    score_image(tallies, (label, g), img, c.mean(axis=1), k, s, truth_xy, gsd)
    for u in unions:  # a union costs the passes it needs
        for g in [float(v) for v in a.gsds.split(",")]:
            seconds[("+".join(map(str, u)), g)] = sum(seconds[(str(m), g)] for m in u)
    n_simd = sum(i.dataset == "simd" for i in images)
    print(f"{a.split} split: {n_simd} SIMD images, {len(images) - n_simd} KIT frames; 2-core CPU\n")
    print("| GSD | model GSD(s) | SIMD large recall (any class) | large detections | SIMD small recall "
          "| KIT cars P / R | KIT count error | s |")
    print("|---|---|---|---|---|---|---|---|")
    for (label, g), secs in sorted(seconds.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        sl, ss, kc = (tallies[(label, g, d, c)] for d, c in (("simd", "large_vehicle"), ("simd", "small_vehicle"),
                                                                ("kit", "small_vehicle")))
        print(f"| {g} | {label} | {sl.tp / sl.n_truth:.3f} ({sl.any_tp / sl.n_truth:.3f}) | {sl.n_det} "
              f"| {ss.tp / ss.n_truth:.3f} | {kc.tp / max(kc.n_det, 1):.3f} / {kc.tp / kc.n_truth:.3f} "
              f"| {(kc.n_det - kc.n_truth) / kc.n_truth:+.1%} | {secs:.1f} |")


if __name__ == "__main__":
    main()
