"""Does a calibration from other scenes cover the truth on a held-out scene? Leave one scene group out.

For each labelled image: the raw count per class (detections), the labelled count, and the true
positives by centre matching (the same rule as benchmarks.accuracy). Then, for each scene group
in turn, a calibration is made from all the other groups and applied to every image of the held-out
group: does its 95% interval contain the labelled count? Two calibrations side by side, in one run:

  * grouped (geotally now): the interval carries the spread of the rates between scene groups;
    with fewer than 3 training groups, or rates that vary more than tenfold between them, it
    gives no interval ("no interval": count says so);
  * pooled images (geotally before): images resampled as if they all came from one scene.

Data, from ../shared/data, never images the judged model trained on:
  * KIT Munich frames (exhaustive car labels), at 0.15 m; scene groups: the two sequences
    (MOS..., MunichStreet02-MOS...), and, as a second reading, blocks of 5 consecutive frames
    (consecutive frames overlap, so blocks of one street are not independent scenes);
  * SIMD Google Earth images at 0.3 m (labels not exhaustive: the "truth" is the labelled count, so
    false positives include unlabelled vehicles, the same way in training and held-out groups);
    scene groups: blocks of 20 image numbers, and each image a scene of its own (SIMD images are
    different places).
The stock yolov8n-obb-dota checkpoint trained on none of these; the shipped default
(geotally-vehicles-v1) is judged only on its held-out images (SIMD val + tune, KIT MOS74-93 and
MunichStreet02-MOS87-93).

    python -m benchmarks.calibration_transfer [--models yolov8n-obb-dota,geotally-vehicles-v1]
                                              [--cache bench-out/transfer-dets.json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.data import DATA, items, require, simd_names
from geotally.analysis.calibration import Calibration, ClassCalibration, interval
from geotally.training.validate import CLASSES, RADIUS_M, detect_pixels, match
from geotally.training.validate import degrade_to

V1_TRAINED_KIT = re.compile(r"^MunichStreet02-MOS(7[4-9]|8[0-6])$")


def images(model: str):
    held = simd_names("val") | simd_names("tune")
    out = []
    for ds, gsd in (("kit-munich", 0.15), ("simd", 0.3)):
        for it in items(DATA / ds):
            name = it.path.stem
            if model != "yolov8n-obb-dota" and ((ds == "simd" and name not in held) or V1_TRAINED_KIT.match(name)):
                continue
            out.append((ds, gsd, it))
    return out


def detect_all(model: str, cache: dict) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        todo = images(model)
        t0 = time.perf_counter()
        for k, (ds, gsd, it) in enumerate(todo):
            key = f"{model}|{ds}|{it.path.stem}|{gsd}"
            if key not in cache:
                path, truth_xy, g = degrade_to(it, gsd, Path(tmp))
                xy, cls, score = detect_pixels(path, g, model=model)
                rec = {}
                for c in CLASSES:
                    sel, tsel = cls == c, it.cls == c
                    rec[c] = {"raw": int(sel.sum()), "n_truth": int(tsel.sum()),
                              "tp": int(match(xy[sel], score[sel], truth_xy[tsel], RADIUS_M[c] / g))}
                cache[key] = rec
                if k % 25 == 0:
                    print(f"  {model}: {k + 1}/{len(todo)} images, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            rows.append({"dataset": ds, "image": it.path.stem, **cache[key]})
    return rows


def group_of(ds: str, name: str, scheme: str) -> str:
    if ds == "simd":
        return name if scheme == "image" else f"simd-{(int(name.split('_')[1]) - 1) // 20:02d}"
    seq, frame = re.match(r"^(.*?)(\d+)$", name).groups()
    return seq if scheme == "sequence" else f"{seq}{(int(frame) - 74) // 5}"


def loso(rows: list[dict], ds: str, cls: str, scheme: str) -> dict:
    sel = [r for r in rows if r["dataset"] == ds and (r[cls]["n_truth"] > 0 or r[cls]["raw"] > 0)]
    groups = np.array([group_of(ds, r["image"], scheme) for r in sel])
    out = {"images": len(sel), "groups": int(len(set(groups))), "grouped_hit": 0, "grouped_cannot": 0,
           "pooled_hit": 0, "widths": []}
    for g in sorted(set(groups)):
        train = [r for r, k in zip(sel, groups) if k != g]
        test = [r for r, k in zip(sel, groups) if k == g]
        tgroups = [k for k in groups if k != g]
        n = [r[cls]["n_truth"] for r in train]
        tp = [r[cls]["tp"] for r in train]
        fp = [r[cls]["raw"] - r[cls]["tp"] for r in train]
        if sum(n) == 0 or sum(tp) == 0:
            out["grouped_cannot"] += len(test)
            continue
        grouped, pooled = ClassCalibration(n, tp, fp, tgroups), ClassCalibration(n, tp, fp)
        for r in test:
            truth, raw = r[cls]["n_truth"], r[cls]["raw"]
            _, plo, phi = interval(raw, pooled, n_boot=400)
            out["pooled_hit"] += plo <= truth <= phi
            if Calibration({cls: grouped}).no_interval(cls):
                out["grouped_cannot"] += 1
                continue
            _, lo, hi = interval(raw, grouped, n_boot=400)
            out["grouped_hit"] += lo <= truth <= hi
            out["widths"].append((hi - lo) / max(truth, 1))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="yolov8n-obb-dota,geotally-vehicles-v1")
    ap.add_argument("--cache", default="bench-out/transfer-dets.json", help="detections per image (reused if present)")
    args = ap.parse_args()
    require()
    cache_path = Path(args.cache)
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    print("| model | data (GSD) | class | scene groups | images | grouped: covered | grouped: no interval "
          "| grouped: median width / truth | pooled images: covered |")
    print("|---|---|---|---|---|---|---|---|---|")
    for model in [m for m in args.models.split(",") if m]:
        rows = detect_all(model, cache)
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        cache_path.write_text(json.dumps(cache))
        for ds, cls, scheme, label in (("kit-munich", "small_vehicle", "sequence", "KIT (0.15 m), by sequence"),
                                       ("kit-munich", "small_vehicle", "block", "KIT (0.15 m), blocks of 5 frames"),
                                       ("simd", "large_vehicle", "block", "SIMD (0.3 m), blocks of 20"),
                                       ("simd", "small_vehicle", "block", "SIMD (0.3 m), blocks of 20"),
                                       ("simd", "large_vehicle", "image", "SIMD (0.3 m), each image a scene"),
                                       ("simd", "small_vehicle", "image", "SIMD (0.3 m), each image a scene")):
            r = loso(rows, ds, cls, scheme)
            n = r["images"]
            given = n - r["grouped_cannot"]
            cov = f"{r['grouped_hit']}/{given} = {r['grouped_hit'] / given:.3f}" if given else "-"
            width = f"{np.median(r['widths']):.2f}" if r["widths"] else "-"
            print(f"| {model} | {label} | {cls} | {r['groups']} | {n} | {cov} | {r['grouped_cannot']} | {width} "
                  f"| {r['pooled_hit']}/{n} = {r['pooled_hit'] / max(n, 1):.3f} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
