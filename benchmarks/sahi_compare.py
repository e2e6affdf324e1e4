"""geotally against SAHI's sliced prediction and plain Ultralytics predict, side by side.

The scene is the synthetic border crossing at 0.15 m (exact truth: 62 trucks, 44 cars and vans).
SAHI and the "matched" runs use the stock yolov8n-obb checkpoint; "geotally defaults" is what
`geotally count` does with no options (the shipped model). "matched" runs use SAHI's settings:
1024 px slices with 20% overlap at the scene's own resolution, confidence 0.25 for every class.
Each timed call is the second of two (warm: model loaded, files cached). Trucks are matched to
truth by centre within 3 m.

    python -m benchmarks.sahi_compare [--workdir /tmp/gt-sahi]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import geopandas as gpd
import numpy as np
import rasterio

import geotally
from benchmarks.runners import centres, sahi_model, sahi_predict, stock_checkpoint
from geotally.models import DEFAULT_MODEL
from geotally.synth import SynthParams, write_scene


def recall_precision(centres_px: np.ndarray, truth_px: np.ndarray, radius_px: float) -> tuple[float, float]:
    if len(centres_px) == 0:
        return 0.0, 0.0
    d = np.hypot(centres_px[:, None, 0] - truth_px[None, :, 0], centres_px[:, None, 1] - truth_px[None, :, 1])
    taken, tp = np.zeros(len(truth_px), bool), 0
    for i in np.argsort(d.min(axis=1)):
        j = np.argmin(np.where(taken, np.inf, d[i]))
        if d[i, j] <= radius_px and not taken[j]:
            taken[j], tp = True, tp + 1
    return tp / len(truth_px), tp / len(centres_px)


def timed(fn, reps: int = 2):
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        secs = time.perf_counter() - t0
    return out, secs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="/tmp/gt-sahi")
    args = ap.parse_args()
    work = Path(args.workdir)
    res = write_scene(work, SynthParams())
    with rasterio.open(res["scene"]) as src:
        img = np.moveaxis(src.read(), 0, -1)
        transform, gsd = src.transform, src.res[0]
    png = work / "scene.png"
    cv2.imwrite(str(png), img[..., ::-1])
    mp = img.shape[0] * img.shape[1] / 1e6
    truth = gpd.read_file(res["truth"])
    trucks = truth[truth["class"] == "large_vehicle"].geometry.centroid
    truth_px = np.array([~transform * (p.x, p.y) for p in trucks])
    radius = 3.0 / gsd
    weights = str(stock_checkpoint())
    rows = []

    model = sahi_model(weights)
    result, secs = timed(lambda: sahi_predict(model, png))
    preds = [p for p in result if p.category.name == "large vehicle"]
    c = centres(preds)
    rows.append(("SAHI get_sliced_prediction (1024, 0.2 overlap)", secs, len(preds), *recall_precision(c, truth_px, radius)))

    from ultralytics import YOLO

    yolo = YOLO(weights)
    r, secs = timed(lambda: yolo.predict(str(png), imgsz=1024, conf=0.25, verbose=False, device="cpu")[0])
    names = r.names
    keep = [i for i, k in enumerate(r.obb.cls.tolist()) if names[int(k)] == "large vehicle"]
    c = r.obb.xywhr[keep, :2].numpy() if keep else np.zeros((0, 2))
    rows.append(("Ultralytics predict, whole image (imgsz 1024)", secs, len(keep), *recall_precision(c, truth_px, radius)))

    def run(**kw):
        out = geotally.count(res["scene"], **kw)
        d = out.detections[out.detections["class"] == "large_vehicle"]
        cc = np.array([~transform * (p.x, p.y) for p in d.geometry.centroid]).reshape(-1, 2)
        return len(d), cc

    matched = dict(model="yolov8n-obb-dota", model_gsd=gsd, tile_size=1024, overlap=205, conf=0.25)
    for label, kw in (("geotally, matched settings, Ultralytics backend", dict(matched, backend="ultralytics")),
                      ("geotally, matched settings, ONNX backend", dict(matched, backend="onnx")),
                      (f"geotally defaults ({DEFAULT_MODEL}, ONNX)", {})):
        (n, cc), secs = timed(lambda: run(**kw))
        rows.append((label, secs, n, *recall_precision(cc, truth_px, radius)))

    sahi_mps = mp / rows[0][1]
    print(f"scene {img.shape[1]}x{img.shape[0]} px ({mp:.1f} MP) at {gsd} m; {len(truth_px)} true trucks; 2 cores, no GPU")
    print("| run | seconds | MP/s | × SAHI | trucks detected | truck recall | truck precision |")
    print("|---|---|---|---|---|---|---|")
    for label, secs, n, rec, prec in rows:
        print(f"| {label} | {secs:.1f} | {mp / secs:.2f} | {mp / secs / sahi_mps:.2f} | {n} | {rec:.3f} | {prec:.3f} |")


if __name__ == "__main__":
    main()
