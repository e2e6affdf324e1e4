"""Are dark cars missed? Recall of SIMD's labelled cars and vans by how bright the car is, side by side
for geotally's defaults, the stock checkpoint through geotally, and SAHI with the stock checkpoint.

A car's brightness is the mean grey level (0-255) of the middle half of its label box in the native
image: dark < 70, mid 70-140, light >= 140 (fixed bands, not quantiles, so runs compare). SIMD's
labels are not exhaustive, and by eye its annotators boxed light cars more often than dark ones in
car parks: the dark band's recall is measured on the dark cars that are labelled, and the share of
dark cars among the labels says nothing about how many there are.

    python -m benchmarks.dark_cars [--split val|tune] [--gsds 0.15,0.3,0.5] [--no-sahi]
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from benchmarks.data import SIMD, degrade_to, items, load_split, require
from benchmarks.runners import run_geotally, sahi_runner
from geotally.training.validate import RADIUS_M, matched

BANDS = ("dark", "mid", "light")


def brightness(img: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Mean grey level of the middle half (by side) of each label box, native pixels."""
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    out = np.zeros(len(corners))
    for k, quad in enumerate(corners):
        c = quad.mean(axis=0)
        inner = np.round(c + 0.5 * (quad - c)).astype(np.int32)
        m = np.zeros(grey.shape, np.uint8)
        cv2.fillPoly(m, [inner], 1)
        out[k] = grey[m > 0].mean() if m.any() else grey[int(c[1]) % grey.shape[0], int(c[0]) % grey.shape[1]]
    return out


def band(level: np.ndarray) -> np.ndarray:
    return np.where(level < 70, "dark", np.where(level < 140, "mid", "light"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="val", choices=("val", "tune"))
    ap.add_argument("--gsds", default="0.15,0.3,0.5")
    ap.add_argument("--no-sahi", action="store_true")
    a = ap.parse_args()
    require()
    from geotally.models.registry import DEFAULT_MODEL

    images = [im for im in load_split(a.split, None) if im.dataset == "simd"]
    labelled = {it.path.stem: it for it in items(SIMD)}
    levels = {}
    for im in images:
        small = im.cls == "small_vehicle"
        levels[im.name] = band(brightness(cv2.imread(str(im.path)), labelled[im.name].corners[small]))
    runs = {f"geotally defaults ({DEFAULT_MODEL})": lambda p, g: run_geotally(p, g, {}),
            "geotally, stock yolov8n-obb-dota": lambda p, g: run_geotally(p, g, {"model": "yolov8n-obb-dota"})}
    if not a.no_sahi:
        runs["SAHI 1024 slices, stock yolov8n-obb"] = sahi_runner()
    tally: dict = defaultdict(lambda: [0, 0])
    with tempfile.TemporaryDirectory() as tmp:
        for g in [float(v) for v in a.gsds.split(",")]:
            prepared = [(im, *degrade_to(im, g, Path(tmp))) for im in images]
            for label, fn in runs.items():
                for im, path, truth_xy, gsd in prepared:
                    xy, cls, score = fn(path, gsd)
                    sel = cls == "small_vehicle"
                    hit = matched(xy[sel], score[sel], truth_xy[im.cls == "small_vehicle"],
                                  RADIUS_M["small_vehicle"] / gsd)
                    for b in BANDS:
                        inb = levels[im.name] == b
                        tally[(g, label, b)][0] += int(hit[inb].sum())
                        tally[(g, label, b)][1] += int(inb.sum())
    n = {b: sum(int((lv == b).sum()) for lv in levels.values()) for b in BANDS}
    print(f"{a.split} split: {len(images)} SIMD images; labelled cars and vans: "
          + ", ".join(f"{b} {n[b]}" for b in BANDS) + "\n")
    print("| GSD | run | " + " | ".join(f"recall, {b} cars" for b in BANDS) + " |")
    print("|---|---|" + "---|" * len(BANDS))
    for g in [float(v) for v in a.gsds.split(",")]:
        for label in runs:
            cells = [tally[(g, label, b)] for b in BANDS]
            print(f"| {g} | {label} | " + " | ".join(f"{tp / t:.3f} ({tp}/{t})" if t else "–" for tp, t in cells) + " |")


if __name__ == "__main__":
    main()
