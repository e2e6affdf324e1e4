"""The shipped default model's own error, measured on validation data only, and written into its registry entry.

Per GSD (0.15, 0.3, 0.5 m), per vehicle class (large_vehicle, small_vehicle) and per size class (car,
van_light_truck, rigid_truck, articulated, and heavy = rigid_truck + articulated, 10 m and longer):

  * detection rate: labelled vehicles found (centre within 3 m, 2 m for small vehicles and cars, one to
    one by score) by a detection of the same class (size class: a detection whose own length puts it in
    the same size class; a label's length is the long side of its axis-aligned box);
  * false-detection rate: detections of the class not matched to a label of it, per labelled vehicle.
    KIT labels every vehicle, so there these are false detections (or vehicles put in the wrong class);
    SIMD labels are not exhaustive, so there they also hold unlabelled real vehicles: the SIMD figure is
    an upper bound, and detections matching no label at all are counted apart ("unlabelled");
  * their spread between scene groups (SIMD: blocks of 20 image numbers, KIT: blocks of 5 frames, as in
    benchmarks/calibration_transfer.py), and leave one group out: a calibration from the other groups
    applied to each image of the held-out group -- how often does its 95% interval cover the labelled
    count? Rows covered less than 0.90 of the time get no default interval.

Data: SIMD val.txt (88 images) and KIT MOS74-93 (20 frames), from ../shared/data, read through
benchmarks.data (the same reader as benchmarks.accuracy). Detections are cached per image, so a
second run only recomputes the tables.

    python -m benchmarks.model_error [--gsds 0.15,0.3,0.5] [--limit N] [--cache bench-out/model-error.json]
                                     [--write]   # --write: the error_rates block into the model's registry entry
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.calibration_transfer import group_of
from benchmarks.data import degrade_to, load_split, require
from geotally.analysis.model_error import (CLAIM_SIZES, LEVEL_COVERAGE, class_rows, coverage_of, rates_block,
                                           truth_size)
from geotally.config.defaults import DEFAULT_MODEL

WEIGHTS = Path(__file__).resolve().parents[1] / "src" / "geotally" / "models" / "weights"


def detect(path: Path, gsd: float) -> dict:
    """What geotally.count finds with its defaults: centres (px), classes, size classes, scores."""
    import geotally
    from geotally.training.validate import pixel_corners

    res = geotally.count(path, gsd=gsd)
    corners, cls, score = pixel_corners(res)
    sizes = res.detections["size_class"].to_numpy().astype(str) if len(res.detections) else np.zeros(0, str)
    return {"xy": corners.mean(axis=1).round(2).tolist(), "cls": cls.tolist(), "size": sizes.tolist(),
            "score": np.round(score, 4).tolist()}


def collect(split: str, gsds: list[float], limit: int | None, cache: dict) -> list[dict]:
    """Per image and GSD: the detections (cached) and the labels (centres, classes, lengths)."""
    rows = []
    images = load_split(split, limit)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for g in gsds:
            for k, img in enumerate(images):
                key = f"{DEFAULT_MODEL}|{split}|{img.dataset}|{img.name}|{g}"
                path, truth_xy, gsd = degrade_to(img, g, Path(tmp))
                if key not in cache:
                    cache[key] = dict(detect(path, gsd), gsd=gsd)
                    if k % 20 == 0:
                        print(f"  {split} {g} m: {k + 1}/{len(images)}, {time.perf_counter() - t0:.0f} s",
                              file=sys.stderr)
                Path(path).unlink(missing_ok=True)
                corners_len = _label_lengths(img)
                rows.append({"split": split, "gsd": g, "dataset": img.dataset, "image": img.name,
                             "group": group_of("simd" if img.dataset == "simd" else "kit", img.name, "block"),
                             "truth_xy": truth_xy, "truth_cls": img.cls, "truth_size": truth_size(corners_len),
                             "det": cache[key]})
    return rows


def _label_lengths(img) -> np.ndarray:
    """Each label's long side in metres (axis-aligned boxes: a diagonal vehicle reads a little short)."""
    from benchmarks.data import items, KIT, SIMD

    cached = _LENGTHS.get(img.dataset)
    if cached is None:
        cached = _LENGTHS[img.dataset] = {it.path.stem: it for it in items(SIMD if img.dataset == "simd" else KIT)}
    it = cached[img.name]
    side = np.linalg.norm(np.diff(it.corners[:, [0, 1, 2]], axis=1), axis=2)  # (n, 2) two sides
    return side.max(axis=1) * it.gsd


_LENGTHS: dict = {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gsds", default="0.15,0.3,0.5")
    ap.add_argument("--limit", type=int, default=None, help="at most this many images per data set (a smoke run)")
    ap.add_argument("--cache", default="bench-out/model-error.json")
    ap.add_argument("--write", action="store_true", help="write the error_rates block into the registry entry")
    args = ap.parse_args()
    require()
    gsds = [float(v) for v in args.gsds.split(",")]
    cache_path = Path(args.cache)
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    try:
        val = collect("val", gsds, args.limit, cache)
    finally:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        cache_path.write_text(json.dumps(cache))
    per_image = class_rows(val)
    block = rates_block(per_image, gsds)
    n_simd = len({r["image"] for r in val if r["dataset"] == "simd"})
    n_kit = len({r["image"] for r in val if r["dataset"] == "kit"})
    block.update(model=DEFAULT_MODEL, split="val",
                 data=f"SIMD val.txt ({n_simd} images, Google Earth) and KIT Munich MOS74-93 ({n_kit} aerial frames), "
                      "area-averaged to each GSD",
                 date=dt.date.today().isoformat(), script="python -m benchmarks.model_error --write")
    print(f"{DEFAULT_MODEL}, validation split: {n_simd} SIMD images, {n_kit} KIT frames; "
          "rates per labelled vehicle, spread = 2.5-97.5% of a new scene group's detections per true vehicle")
    print("\n| GSD | class | labelled | found | detection rate | false det. rate | of them judged (KIT) "
          "| unlabelled (SIMD) | groups | spread (det. per true) | LOGO coverage of 95% | default interval |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for g in gsds:
        for name in (*("large_vehicle", "small_vehicle"), *CLAIM_SIZES):
            c = block["gsds"][f"{g:g}"].get(name)
            if c is None:
                continue
            cov = coverage_of(per_image, g, name)
            c["coverage"] = cov
            if cov["scenes"] and cov["covered"] / cov["scenes"] < LEVEL_COVERAGE:
                c["no_interval"] = (f"its default 95% interval covered the labelled count in only {cov['covered']} of "
                                    f"{cov['scenes']} held-out validation images (leave one scene group out)")
            s = c["spread"]
            print(f"| {g:g} | {name} | {sum(c['n_truth'])} | {sum(c['tp'])} | {c['detection_rate']:.3f} "
                  f"| {c['false_rate']:.3f} | {c['fp_judged']} of {c['det_judged']} det. | {c['unlabelled']} "
                  f"| {len(c['groups'])} | {s[0]:.2f}-{s[1]:.2f} "
                  f"| {cov['covered']}/{cov['scenes']} ({cov['covered'] / max(cov['scenes'], 1):.2f}); "
                  f"{cov['refused']} refused | {'none: ' + c['no_interval'][:40] if c.get('no_interval') else 'yes'} |")
    if args.write:
        path = WEIGHTS / f"{DEFAULT_MODEL}.json"
        entry = json.loads(path.read_text())
        entry["error_rates"] = block
        path.write_text(json.dumps(entry, indent=1) + "\n")
        print(f"\nwritten: {path} (error_rates)")


if __name__ == "__main__":
    main()
