"""How resolution handling changes detection on real labelled DOTA images degraded to satellite GSD.

For each image in ../shared/data/dota-sample, at native GSD and area-averaged to 0.3 and
0.5 m/px, runs geotally.count with several model GSDs (the scale the tiles are resampled
to) and prints precision, recall and count error per vehicle class (rotated IoU >= 0.5
for boxes; the table also shows a centre-distance match, which is what a count needs).

    python -m benchmarks.resolution [--model-gsd 0.15,0.2,0.25] [--conf 0.25]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np

import geotally
from benchmarks.data import DOTA, dota_image, dota_truth, require
from geotally.analysis.scoring import score_class


def degrade(img: np.ndarray, factor: float) -> np.ndarray:
    if factor == 1.0:
        return img
    return cv2.resize(img, (round(img.shape[1] * factor), round(img.shape[0] * factor)), interpolation=cv2.INTER_AREA)


def evaluate(images: list[str], gsds: list[float | None], model_gsds: list[str], conf: float | None,
             tmp: Path) -> list[dict]:
    rows = []
    for name in images:
        truth0 = dota_truth(name)
        img0 = cv2.imread(str(dota_image(name)))
        for target in gsds:
            gsd = truth0.gsd if target is None else target
            factor = truth0.gsd / gsd
            truth = dota_truth(name, scale=factor)
            path = tmp / f"{name}_{gsd:.3f}.png"
            cv2.imwrite(str(path), degrade(img0, factor))
            for mg in model_gsds:
                m_gsd = gsd if mg == "scene" else float(mg)
                res = geotally.count(path, gsd=gsd, model_gsd=m_gsd, conf=conf)
                det = res.detections
                # pixel space: the result's geometry is local metres, y up; back to pixels for matching
                polys = _to_pixels(det.geometry.values, gsd)
                for cls in ("large_vehicle", "small_vehicle"):
                    sel, tsel = det["class"].values == cls, truth.cls == cls
                    s_iou = score_class(cls, polys[sel], det["score"].values[sel], truth.polygons[tsel],
                                        truth.difficult[tsel])
                    s_pt = score_class(cls, polys[sel], det["score"].values[sel], truth.polygons[tsel],
                                       truth.difficult[tsel], mode="centre",
                                       radius=(3.0 if cls == "large_vehicle" else 1.5) / gsd)
                    rows.append(dict(image=name, gsd=gsd, model_gsd=mg, cls=cls, n=s_iou.n_truth,
                                     det=s_iou.n_detected, p=s_iou.precision, r=s_iou.recall, ap=s_iou.ap50,
                                     p_pt=s_pt.precision, r_pt=s_pt.recall, err=s_pt.count_error))
    return rows


def _to_pixels(polys: np.ndarray, gsd: float) -> np.ndarray:
    import shapely
    return shapely.transform(polys, lambda xy: xy * np.array([1 / gsd, -1 / gsd]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default="P0004,P1888")
    ap.add_argument("--gsds", default="native,0.3,0.5")
    ap.add_argument("--model-gsd", default="scene,0.15,0.25")
    ap.add_argument("--conf", type=float, default=None, help="one threshold for all classes (default: geotally's per-class defaults)")
    args = ap.parse_args()
    require(DOTA, "the shared DOTA sample")
    gsds = [None if g == "native" else float(g) for g in args.gsds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        rows = evaluate(args.images.split(","), gsds, args.model_gsd.split(","), args.conf, Path(tmp))
    print(f"conf {args.conf or 'per-class defaults'}; P/R/AP: rotated IoU>=0.5; P,R (pt): centre within 3 m (large) / 1.5 m (small); "
          "err: detected - labelled (non-difficult)")
    print("| image | GSD m | model GSD | class | labelled | detected | P | R | AP50 | P (pt) | R (pt) | count err |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['image']} | {r['gsd']:.3f} | {r['model_gsd']} | {r['cls']} | {r['n']} | {r['det']} | "
              f"{r['p']:.2f} | {r['r']:.2f} | {r['ap']:.2f} | {r['p_pt']:.2f} | {r['r_pt']:.2f} | {r['err']:+d} |")


if __name__ == "__main__":
    main()
