"""Choosing the score threshold and model GSD defaults by measurement on labelled DOTA images.

Detects once per (image, GSD, model GSD) at a low threshold, then scores every
candidate threshold on the same detections. Sums true/false positives over the
images at native, 0.3 and 0.5 m/px and prints F1 and count error per class.

    python benchmarks/thresholds.py [--model-gsd 0.15,0.2,0.25] [--confs 0.05,0.1,0.15,0.25,0.4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent))
import geotally  # noqa: E402
from geotally.analysis.evaluate import score_class  # noqa: E402
from geotally.analysis.truth import read_dota  # noqa: E402
from resolution import SHARED, _to_pixels, degrade  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default="P0004,P1888,P0706")
    ap.add_argument("--gsds", default="native,0.3,0.5")
    ap.add_argument("--model-gsd", default="0.15,0.2,0.25")
    ap.add_argument("--confs", default="0.05,0.1,0.15,0.2,0.25,0.35")
    args = ap.parse_args()
    if not SHARED.exists():
        raise SystemExit(f"{SHARED} not found: this benchmark needs the shared DOTA sample")
    confs = [float(c) for c in args.confs.split(",")]
    totals: dict = defaultdict(lambda: [0, 0, 0, 0, 0])  # tp, fp, fn, n_truth, n_det
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.images.split(","):
            label = SHARED / "labelTxt" / f"{name}.txt"
            gsd0 = read_dota(label).gsd
            img0 = cv2.imread(str(SHARED / "images" / f"{name}.png"))
            for g in args.gsds.split(","):
                gsd = gsd0 if g == "native" else float(g)
                truth = read_dota(label, scale=gsd0 / gsd)
                path = Path(tmp) / f"{name}_{gsd:.3f}.png"
                cv2.imwrite(str(path), degrade(img0, gsd0 / gsd))
                for mg in args.model_gsd.split(","):
                    det = geotally.count(path, gsd=gsd, model_gsd=float(mg), conf=min(confs)).detections
                    polys = _to_pixels(det.geometry.values, gsd)
                    for cls in ("large_vehicle", "small_vehicle"):
                        sel, tsel = det["class"].values == cls, truth.cls == cls
                        for c in confs:
                            s = score_class(cls, polys[sel], det["score"].values[sel], truth.polygons[tsel],
                                            truth.difficult[tsel], conf=c, mode="centre",
                                            radius=(3.0 if cls == "large_vehicle" else 1.5) / gsd)
                            t = totals[(mg, c, cls)]
                            for k, v in enumerate((s.tp, s.fp, s.fn, s.n_truth, s.n_detected)):
                                t[k] += v
    print(f"images {args.images} at {args.gsds} m/px; centre match (3 m large, 1.5 m small); difficult labels ignored")
    print("| model GSD | conf | class | labelled | detected | precision | recall | F1 | count error |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (mg, c, cls), (tp, fp, fn, n, nd) in sorted(totals.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1])):
        p = tp / (tp + fp) if tp + fp else float("nan")
        r = tp / (tp + fn) if tp + fn else float("nan")
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print(f"| {mg} | {c} | {cls} | {n} | {nd} | {p:.3f} | {r:.3f} | {f1:.3f} | {(nd - n) / n:+.1%} |")


if __name__ == "__main__":
    main()
