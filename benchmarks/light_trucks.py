"""Light trucks called small vehicles: would a post-hoc rule win them back? Two rules, side by side with
the default in one run, on SIMD and KIT images of a split (tune by default: a choice is made there):

  * class by box length: a small-vehicle box at least T metres long is called large;
  * class-score bias: a box whose best class is small is called large when its large-vehicle score is
    at least R times its small-vehicle score (the detections stay the same; only the class changes).

Printed per GSD and rule: SIMD trucks, long vehicles and buses found as large (centre within 3 m),
SIMD cars and vans found as small, KIT cars found as small, and large detections on SIMD and KIT.

    python -m benchmarks.light_trucks [--split tune|val] [--gsds 0.3,0.5] [--lengths 5.5,6.5,7.5]
                                      [--ratios 0.7,0.5,0.3]
"""

from __future__ import annotations

import argparse
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from benchmarks.data import degrade_to, load_split, require, simd_labels

LARGE = {"truck", "longvehicle", "bus"}


@contextmanager
def class_bias(ratio: float):
    """Within the block, ONNX decoding calls a small vehicle large when large >= ratio * small."""
    from geotally.models import backends

    original = backends.OnnxDetector._decode

    def biased(self, pred, scale):
        names = {v: k for k, v in self.names.items()}
        big, small = names["large vehicle"], names["small vehicle"]
        pred = pred.copy()
        sc = pred[4:4 + len(self.names)]
        flip = (sc.argmax(axis=0) == small) & (sc[big] >= ratio * sc[small])
        sc[big, flip], sc[small, flip] = sc[small, flip], sc[big, flip]
        return original(self, pred, scale)

    backends.OnnxDetector._decode = biased
    try:
        yield
    finally:
        backends.OnnxDetector._decode = original


def detections(images, gsd: float, tmp: Path) -> list[dict]:
    """Per image: detection centres (px), classes and box lengths (m); label centres (px) and classes."""
    import geotally
    from geotally.training.validate import pixel_corners

    out = []
    for img in images:
        path, truth_xy, g = degrade_to(img, gsd, tmp)
        corners, cls, _ = pixel_corners(geotally.count(path, gsd=g))
        sides = np.linalg.norm(corners[:, 1] - corners[:, 0], axis=1), np.linalg.norm(corners[:, 2] - corners[:, 1], axis=1)
        if img.dataset == "simd":
            truth_xy, kind, _ = simd_labels(img, g)
        else:
            kind = np.full(len(truth_xy), "car", dtype=object)
        out.append({"ds": img.dataset, "xy": corners.mean(axis=1), "cls": cls, "length": np.maximum(*sides) * g,
                    "txy": truth_xy, "kind": kind, "gsd": g})
        Path(path).unlink()
    return out


def tally(scenes: list[dict], min_large_m: float | None = None) -> dict:
    found = dict.fromkeys(("large", "carvan", "kit"), 0)
    n = dict.fromkeys(found, 0)
    large_dets = {"simd": 0, "kit": 0}
    for s in scenes:
        cls = s["cls"].astype(object)
        if min_large_m is not None:
            cls = np.where((cls == "small_vehicle") & (s["length"] >= min_large_m), "large_vehicle", cls)
        large_dets[s["ds"]] += int((cls == "large_vehicle").sum())
        if not len(s["txy"]):
            continue
        d = np.hypot(*(s["xy"][:, None] - s["txy"][None]).transpose(2, 0, 1)) * s["gsd"] if len(cls) else None
        for j, k in enumerate(s["kind"]):
            key, want = ("kit", "small_vehicle") if s["ds"] == "kit" else ("large", "large_vehicle") if k in LARGE \
                else ("carvan", "small_vehicle") if k in ("car", "van") else (None, None)
            if key is None:
                continue
            n[key] += 1
            if d is not None:
                i = int(np.argmin(d[:, j]))
                found[key] += int(d[i, j] <= 3 and cls[i] == want)
    return {"found": found, "n": n, "large_dets": large_dets}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="tune", choices=("tune", "val"))
    ap.add_argument("--gsds", default="0.3,0.5")
    ap.add_argument("--lengths", default="5.5,6.5,7.5")
    ap.add_argument("--ratios", default="0.7,0.5,0.3")
    a = ap.parse_args()
    require()
    images = load_split(a.split, None)
    print(f"{a.split} split, {len(images)} images, default model")
    print("\n| GSD | rule | SIMD trucks/long/buses as large | SIMD cars and vans as small | KIT cars as small "
          "| large detections SIMD / KIT |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for gsd in map(float, a.gsds.split(",")):
            plain = detections(images, gsd, Path(tmp))
            runs = [("default", tally(plain))]
            runs += [(f"length >= {t:g} m is large", tally(plain, t)) for t in map(float, a.lengths.split(","))]
            for r in map(float, a.ratios.split(",")):
                with class_bias(r):
                    runs.append((f"large score >= {r:g} x small is large", tally(detections(images, gsd, Path(tmp)))))
            for name, t in runs:
                f, n = t["found"], t["n"]
                print(f"| {gsd:g} | {name} | {f['large']}/{n['large']} | {f['carvan']}/{n['carvan']} | "
                      f"{f['kit']}/{n['kit']} | {t['large_dets']['simd']} / {t['large_dets']['kit']} |")


if __name__ == "__main__":
    main()
