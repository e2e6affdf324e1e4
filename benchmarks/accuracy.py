"""Honest accuracy on real labelled imagery the judged models did not train on, side by side with SAHI.

Data (from ../shared/data, see benchmarks/splits/README.md):
  * SIMD Google Earth images, the validation split (val.txt) or the tune split. Labels are not
    exhaustive, so only recall is reported (labelled vehicles found, centre matching).
  * KIT AIS Munich aerial frames, sequence MOS74-93 (validation) or MunichStreet02-MOS88-93 (tune).
    Labels are exhaustive, so precision and count error are reported too.
Every image is area-averaged from its own GSD to each target GSD (labels scaled with it).

Runs, in one process on the same images: geotally's defaults (whatever model and settings
`geotally count` uses with no options), each model named with --models run with its registered
settings, and SAHI (`get_sliced_prediction`, 1024 slices, 0.2 overlap, confidence 0.25) with
the stock yolov8n-obb checkpoint. Seconds are wall time over all images of that GSD.

    python -m benchmarks.accuracy [--split val|tune] [--gsds 0.15,0.3,0.5] [--models yolov8n-obb-dota]
                                   [--no-sahi] [--limit N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from benchmarks.data import Image, degrade_to, load_split, require
from benchmarks.runners import run_geotally, sahi_runner
from geotally.training.validate import CLASSES, RADIUS_M, match


@dataclass
class Tally:
    tp: int = 0
    n_truth: int = 0
    n_det: int = 0
    any_tp: int = 0  # found as either vehicle class
    per_image: list = field(default_factory=list)  # (det, truth) per KIT image
    inner_det: int = 0  # detections and labels whose centre is at least EDGE_M inside the frame
    inner_truth: int = 0


EDGE_M = 3.0  # KIT sequences differ on whether a car cut by the frame edge is labelled


def score_image(tallies: dict, key, img: Image, det_xy: np.ndarray, det_cls: np.ndarray, det_score: np.ndarray,
                truth_xy: np.ndarray, gsd: float, size: tuple[int, int] | None = None) -> None:
    """Add one image's matches to ``tallies``; ``size`` (width, height in pixels) enables the edge-band counts."""
    veh_det = np.isin(det_cls, CLASSES)
    band = EDGE_M / gsd
    inner = (lambda xy: ((xy[:, 0] >= band) & (xy[:, 0] <= size[0] - band)  # noqa: E731
                         & (xy[:, 1] >= band) & (xy[:, 1] <= size[1] - band))) if size is not None else None
    for cls in CLASSES:
        t = tallies[key + (img.dataset, cls)]
        sel, tsel = det_cls == cls, img.cls == cls
        r = RADIUS_M[cls] / gsd
        t.tp += match(det_xy[sel], det_score[sel], truth_xy[tsel], r)
        t.any_tp += match(det_xy[veh_det], det_score[veh_det], truth_xy[tsel], r)
        t.n_truth += int(tsel.sum())
        t.n_det += int(sel.sum())
        t.per_image.append((int(sel.sum()), int(tsel.sum())))
        if inner is not None:
            t.inner_det += int(inner(det_xy[sel].reshape(-1, 2)).sum())
            t.inner_truth += int(inner(truth_xy[tsel].reshape(-1, 2)).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="val", choices=("val", "tune"))
    ap.add_argument("--gsds", default="0.15,0.3,0.5")
    ap.add_argument("--models", default="yolov8n-obb-dota", help="registered models to run beside the defaults")
    ap.add_argument("--no-sahi", action="store_true")
    ap.add_argument("--limit", type=int, default=None, help="at most this many images per data set")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    require()
    from geotally.models.registry import DEFAULT_MODEL, get_spec

    images = load_split(args.split, args.limit)
    runs: dict[str, object] = {f"geotally defaults ({DEFAULT_MODEL})": lambda p, g: run_geotally(p, g, {})}
    for m in [m for m in args.models.split(",") if m]:
        get_spec(m)  # an unknown name fails here, before any image is read
        runs[f"geotally --model {m}"] = (lambda name: lambda p, g: run_geotally(p, g, {"model": name}))(m)
    if not args.no_sahi:
        runs["SAHI 1024 slices, stock yolov8n-obb"] = sahi_runner()
    tallies: dict = defaultdict(Tally)
    seconds: dict = defaultdict(float)
    megapixels: dict = defaultdict(float)
    with tempfile.TemporaryDirectory() as tmp:
        for g in [float(v) for v in args.gsds.split(",")]:
            prepared = [(img, *degrade_to(img, g, Path(tmp))) for img in images]
            sizes = [cv2.imread(str(p[1])).shape[1::-1] for p in prepared]  # (width, height), read once
            for label, fn in runs.items():
                fn(prepared[0][1], prepared[0][3])  # warm-up: model load, first-call costs
                for (img, path, truth_xy, gsd), (w, h) in zip(prepared, sizes):
                    t0 = time.perf_counter()
                    xy, cls, score = fn(path, gsd)
                    seconds[(label, g)] += time.perf_counter() - t0
                    megapixels[(label, g)] += h * w / 1e6
                    score_image(tallies, (label, g), img, xy, cls, score, truth_xy, gsd, (w, h))
    n_simd = sum(i.dataset == "simd" for i in images)
    n_kit = len(images) - n_simd
    print(f"split {args.split}: {n_simd} SIMD images, {n_kit} KIT frames; centre match within "
          f"{RADIUS_M['large_vehicle']} m (large) / {RADIUS_M['small_vehicle']} m (small); 2-core CPU")
    print("\n| GSD | run | SIMD large recall | SIMD small recall | KIT cars recall | KIT cars precision | "
          f"KIT cars count error (pooled) | same, {EDGE_M:g} m frame edge left out | KIT mean abs. error per frame "
          "| s | MP/s | × SAHI |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    out = []
    for (label, g), secs in seconds.items():
        sl, ss, kc = (tallies[(label, g, d, c)] for d, c in (("simd", "large_vehicle"), ("simd", "small_vehicle"),
                                                                ("kit", "small_vehicle")))
        rec = lambda t: t.tp / t.n_truth if t.n_truth else float("nan")  # noqa: E731
        prec = kc.tp / kc.n_det if kc.n_det else float("nan")
        err = (kc.n_det - kc.n_truth) / kc.n_truth if kc.n_truth else float("nan")
        err_in = (kc.inner_det - kc.inner_truth) / kc.inner_truth if kc.inner_truth else float("nan")
        per = [abs(d - t) / t for d, t in kc.per_image if t > 0]
        mps = megapixels[(label, g)] / secs
        sahi = [v for (lb, gg), v in seconds.items() if gg == g and lb.startswith("SAHI")]
        rel = (megapixels[(label, g)] / secs) / (megapixels[(label, g)] / sahi[0]) if sahi else float("nan")
        print(f"| {g} | {label} | {rec(sl):.3f} ({sl.tp}/{sl.n_truth}; any class {sl.any_tp / max(sl.n_truth, 1):.3f}) "
              f"| {rec(ss):.3f} ({ss.tp}/{ss.n_truth}) | {rec(kc):.3f} | {prec:.3f} | {err:+.1%} ({kc.n_det} vs {kc.n_truth}) "
              f"| {err_in:+.1%} ({kc.inner_det} vs {kc.inner_truth}) "
              f"| {np.mean(per) if per else float('nan'):.1%} | {secs:.1f} | {mps:.2f} | {rel:.2f} |")
        out.append({"gsd": g, "run": label, "simd_large_recall": rec(sl), "simd_small_recall": rec(ss),
                    "simd_large_any_class_recall": sl.any_tp / max(sl.n_truth, 1),
                    "kit_car_recall": rec(kc), "kit_car_precision": prec, "kit_car_count_error": err,
                    "kit_car_count_error_inner": err_in,
                    "kit_mean_abs_rel_error": float(np.mean(per)) if per else None, "seconds": secs,
                    "megapixels_per_s": mps, "x_sahi": rel, "n_simd_large": sl.n_truth, "n_simd_small": ss.n_truth,
                    "n_kit_cars": kc.n_truth})
    if args.json:
        Path(args.json).write_text(json.dumps({"split": args.split, "rows": out}, indent=1))


if __name__ == "__main__":
    main()
