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
    count? Where that is under 0.90, --tune tries stretches of the interval (x1.25, 1.5, 2, 3 about its
    estimate) on the tune split (SIMD simd_tune.txt, KIT MunichStreet02-MOS88-93) and keeps the smallest that
    covers 0.90 there, if it also covers 0.90 of the validation images; otherwise the row gets no default
    interval (a claim there is untested, with the reason).

Data: SIMD val.txt (88 images) and KIT MOS74-93 (20 frames), from ../shared/data, read through
benchmarks.data (the same reader as benchmarks.accuracy). Detections are cached per image, so a
second run only recomputes the tables.

    python -m benchmarks.model_error [--gsds 0.15,0.3,0.5] [--limit N] [--cache bench-out/model-error.json]
                                     [--tune] [--write]   # --write: the error_rates block into the model's registry entry
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
from geotally.analysis.calibration import MIN_GROUPS, Calibration, interval
from geotally.analysis.model_error import (LEVEL_COVERAGE, SIZE_GROUPS, class_calibration, truth_size,
                                           widened)
from geotally.config.defaults import CLAIM_SIZE_CLASSES as CLAIM_SIZES
from geotally.config.defaults import DEFAULT_MODEL, VEHICLE_CLASSES
from geotally.training.validate import RADIUS_M, matched

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


def class_rows(rows: list[dict]) -> list[dict]:
    """Per image, GSD and class or size class: labelled, found, detected, false, unlabelled detections."""
    out = []
    for r in rows:
        d = r["det"]
        xy = np.asarray(d["xy"], float).reshape(-1, 2)
        cls, size, score = np.asarray(d["cls"], str), np.asarray(d["size"], str), np.asarray(d["score"], float)
        gsd = d["gsd"]
        txy, tcls = np.asarray(r["truth_xy"], float).reshape(-1, 2), np.asarray(r["truth_cls"], str)
        is_veh_t = np.isin(tcls, VEHICLE_CLASSES)
        tsize = np.asarray(r["truth_size"], str)
        is_veh_d = np.isin(cls, VEHICLE_CLASSES)
        any_label = matched(txy, np.ones(len(txy)), xy, RADIUS_M["large_vehicle"] / gsd)  # detections near any label
        for name in (*VEHICLE_CLASSES, *CLAIM_SIZES):
            if name in VEHICLE_CLASSES:
                dsel, tsel, radius = cls == name, tcls == name, RADIUS_M[name]
            else:
                keep = list(SIZE_GROUPS[name])
                dsel, tsel = is_veh_d & np.isin(size, keep), is_veh_t & np.isin(tsize, keep)
                radius = RADIUS_M["small_vehicle" if name == "car" else "large_vehicle"]
            tp = int(matched(xy[dsel], score[dsel], txy[tsel], radius / gsd).sum())
            raw = int(dsel.sum())
            out.append({"gsd": r["gsd"], "dataset": r["dataset"], "image": r["image"], "group": r["group"],
                        "class": name, "n_truth": int(tsel.sum()), "tp": tp, "raw": raw, "fp": raw - tp,
                        "unlabelled": int((dsel & ~any_label).sum())})
    return out


def _labelled(tot: dict) -> int:
    """Scene groups with a labelled vehicle (the random-effects spread rests on these)."""
    return sum(1 for n in tot["n_truth"] if n > 0)


def rates_block(per_image: list[dict], gsds: list[float]) -> dict:
    """The registry entry's error_rates: per GSD and class, per scene group labelled/found/false."""
    out: dict = {"method": "per scene group: labelled vehicles (n_truth), found by a detection of the same class or "
                           "size class (tp, centre match), detections of it matching none of its labels (fp); a "
                           "new scene's rates are drawn from the spread between the groups with labelled vehicles, "
                           "net of each group's sampling noise (random effects, DerSimonian-Laird; geotally.analysis."
                           "calibration)",
                 "groups": "SIMD: blocks of 20 image numbers; KIT: blocks of 5 consecutive frames",
                 "false_detections": "KIT labels every vehicle: its false detections are judged; SIMD labels are "
                                     "not exhaustive: its 'false' detections include unlabelled vehicles (an upper "
                                     "bound); 'unlabelled' counts detections matching no SIMD label of any kind",
                 "gsds": {}}
    for g in gsds:
        at = out["gsds"][f"{g:g}"] = {}
        for name in (*VEHICLE_CLASSES, *CLAIM_SIZES):
            rows = [r for r in per_image if r["gsd"] == g and r["class"] == name]
            groups = sorted({r["group"] for r in rows if r["n_truth"] or r["raw"]})
            if not groups:
                continue
            tot = {k: [sum(r[k] for r in rows if r["group"] == gr) for gr in groups] for k in ("n_truth", "tp", "fp")}
            n = max(sum(tot["n_truth"]), 1)
            kit = [r for r in rows if r["dataset"] == "kit"]
            entry = {"groups": groups, **tot, "detection_rate": round(sum(tot["tp"]) / n, 4),
                     "false_rate": round(sum(tot["fp"]) / n, 4),
                     "fp_judged": sum(r["fp"] for r in kit), "det_judged": sum(r["raw"] for r in kit),
                     "unlabelled": sum(r["unlabelled"] for r in rows if r["dataset"] == "simd")}
            if sum(tot["tp"]) and _labelled(tot) >= MIN_GROUPS:
                rr, ff = class_calibration(entry).bootstrap(2000, seed=0)
                entry["spread"] = [round(float(v), 3) for v in np.quantile(rr + ff, [0.025, 0.975])]
            else:
                entry["spread"] = [0.0, 0.0]
                entry["no_interval"] = f"{_labelled(tot)} scene group(s) with a labelled {name}"
            at[name] = entry
    return out


WIDEN = (1.25, 1.5, 2.0, 3.0)  # stretches tried, smallest first


def tune_widen(val_rows: list[dict], tune_rows: list[dict], g: float, name: str) -> tuple[float | None, dict]:
    """The smallest stretch of the default interval (all validation groups' rates) that covers the labelled
    count on at least LEVEL_COVERAGE of the tune split's images; None when none of WIDEN does."""
    rows = [r for r in val_rows if r["gsd"] == g and r["class"] == name]
    groups = sorted({r["group"] for r in rows if r["n_truth"] or r["raw"]})
    tot = {k: [sum(r[k] for r in rows if r["group"] == gr) for gr in groups] for k in ("n_truth", "tp", "fp")}
    test = [r for r in tune_rows if r["gsd"] == g and r["class"] == name and (r["n_truth"] or r["raw"])]
    if _labelled(tot) < MIN_GROUPS or not sum(tot["tp"]) or not test:
        return None, {"images": len(test)}
    cal = class_calibration({"groups": groups, **tot})
    ivs = [(interval(r["raw"], cal, n_boot=400), r["n_truth"]) for r in test]
    for k in WIDEN:
        hit = sum(lo <= t <= hi for (est, lo, hi), t in ((widened(iv, k), t) for iv, t in ivs))
        if hit / len(ivs) >= LEVEL_COVERAGE:
            return k, {"images": len(ivs), "covered": hit}
    return None, {"images": len(ivs)}


def coverage_of(per_image: list[dict], g: float, name: str, k: float = 1.0) -> dict:
    """Leave one scene group out: a calibration from the other groups, applied to each image of the held-out
    group that has a labelled or detected vehicle of ``name``: is the labelled count in its 95% interval?"""
    rows = [r for r in per_image if r["gsd"] == g and r["class"] == name and (r["n_truth"] or r["raw"])]
    out = {"scenes": 0, "covered": 0, "refused": 0}
    for held in sorted({r["group"] for r in rows}):
        train = [r for r in rows if r["group"] != held]
        groups = sorted({r["group"] for r in train if r["n_truth"] or r["raw"]})
        tot = {k: [sum(r[k] for r in train if r["group"] == gr) for gr in groups] for k in ("n_truth", "tp", "fp")}
        test = [r for r in rows if r["group"] == held]
        if _labelled(tot) < MIN_GROUPS or not sum(tot["tp"]):
            out["refused"] += len(test)
            continue
        cal = class_calibration({"groups": groups, **tot})
        if Calibration({name: cal}).no_interval(name):
            out["refused"] += len(test)
            continue
        for r in test:
            _, lo, hi = widened(interval(r["raw"], cal, n_boot=400), k)
            out["scenes"] += 1
            out["covered"] += int(lo <= r["n_truth"] <= hi)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gsds", default="0.15,0.3,0.5")
    ap.add_argument("--limit", type=int, default=None, help="at most this many images per data set (a smoke run)")
    ap.add_argument("--cache", default="bench-out/model-error.json")
    ap.add_argument("--tune", action="store_true", help="where coverage is under 0.90, measure a stretch on the tune split")
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
    tune_rows = []
    if args.tune:
        try:
            tune_rows = class_rows(collect("tune", gsds, args.limit, cache))
        finally:
            cache_path.write_text(json.dumps(cache))
    block = rates_block(per_image, gsds)
    n_simd = len({r["image"] for r in val if r["dataset"] == "simd"})
    n_kit = len({r["image"] for r in val if r["dataset"] == "kit"})
    block.update(model=DEFAULT_MODEL, split="val", widen_split="tune" if args.tune else None,
                 data=f"SIMD val.txt ({n_simd} images, Google Earth) and KIT Munich MOS74-93 ({n_kit} aerial frames), "
                      "area-averaged to each GSD",
                 date=dt.date.today().isoformat(), script="python -m benchmarks.model_error --tune --write")
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
            if c.get("no_interval"):
                pass
            elif not cov["scenes"]:
                c["no_interval"] = "no held-out validation image could test its default interval"
            elif cov["covered"] / cov["scenes"] < LEVEL_COVERAGE and tune_rows:
                k, on_tune = tune_widen(per_image, tune_rows, g, name)
                wide = coverage_of(per_image, g, name, k) if k else None
                c["widen_tried"] = {"tune": on_tune, "stretch": k, "validation": wide}
                if k and wide["scenes"] and wide["covered"] / wide["scenes"] >= LEVEL_COVERAGE:
                    c["widen"], c["coverage_unstretched"], cov = k, cov, dict(wide, stretch=k)
                else:
                    c["no_interval"] = (f"its default 95% interval covered the labelled count in only {cov['covered']} "
                                        f"of {cov['scenes']} held-out validation images (leave one scene group out), "
                                        "and no stretch measured on the tune split mended it")
            elif cov["covered"] / cov["scenes"] < LEVEL_COVERAGE:
                c["no_interval"] = (f"its default 95% interval covered the labelled count in only {cov['covered']} of "
                                    f"{cov['scenes']} held-out validation images (leave one scene group out)")
            c["coverage"] = cov
            s = c["spread"]
            print(f"| {g:g} | {name} | {sum(c['n_truth'])} | {sum(c['tp'])} | {c['detection_rate']:.3f} "
                  f"| {c['false_rate']:.3f} | {c['fp_judged']} of {c['det_judged']} det. | {c['unlabelled']} "
                  f"| {len(c['groups'])} | {s[0]:.2f}-{s[1]:.2f} "
                  f"| {cov['covered']}/{cov['scenes']} ({cov['covered'] / max(cov['scenes'], 1):.2f}); "
                  f"{cov['refused']} refused{f'; stretched x{k}' if (k := c.get('widen')) else ''} | {'none: ' + c['no_interval'][:40] if c.get('no_interval') else 'yes'} |")
    if args.write:
        path = WEIGHTS / f"{DEFAULT_MODEL}.json"
        entry = json.loads(path.read_text())
        entry["error_rates"] = block
        path.write_text(json.dumps(entry, indent=1) + "\n")
        print(f"\nwritten: {path} (error_rates)")


if __name__ == "__main__":
    main()
