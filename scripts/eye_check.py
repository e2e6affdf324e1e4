"""Contact sheet of a seeded random sample of detections, for judging precision by eye where labels
are not exhaustive (SIMD). Each crop shows one detection (red box) at the GSD it was found at,
enlarged 3x, with a tag: L = a label of the same class is within the match radius, - = none
(either a false positive or a vehicle the labels leave out; the eye decides).

    python -m scripts.eye_check --gsd 0.3 --cls large_vehicle --n 48 --out bench-out/eye_large_0.3.png
    python -m scripts.eye_check --split tune --conf 0.1 ...   # choosing a threshold: the tune split only
    python -m scripts.eye_check --split tune --conf 0.1 --max-score 0.25 ...   # only what 0.1 adds to 0.25
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np

from benchmarks.data import degrade_to, load_split
from geotally.training.validate import RADIUS_M


def _quads(res, cls: str) -> tuple[np.ndarray, np.ndarray]:
    """Pixel corners (n, 4, 2) and scores of one class's detections in a count result."""
    from geotally.training.validate import pixel_corners

    corners, classes, scores = pixel_corners(res)
    return corners[classes == cls], scores[classes == cls]


def _model_gsd(value: str | None, scene_gsd: float) -> float | None:
    """--model-gsd / --not-at: metres, 'native' (the scene's own GSD) or None (the model's)."""
    return None if value is None else scene_gsd if value == "native" else float(value)


def _near(points: np.ndarray, others: np.ndarray, radius: float) -> np.ndarray:
    """For each point (n, 2), whether any of ``others`` (m, 2) lies within ``radius``."""
    if not len(points) or not len(others):
        return np.zeros(len(points), bool)
    d = np.hypot(points[:, None, 0] - others[None, :, 0], points[:, None, 1] - others[None, :, 1])
    return d.min(axis=1) <= radius


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gsd", type=float, default=0.3)
    ap.add_argument("--cls", default="large_vehicle")
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--model", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="bench-out/eye.png")
    ap.add_argument("--split", default="val", choices=("val", "tune"))
    ap.add_argument("--conf", type=float, default=None, help="score threshold for the class (default: the model's)")
    ap.add_argument("--model-gsd", default=None, help="model GSD in metres, or 'native' (default: the model's)")
    ap.add_argument("--not-at", default=None,
                    help="only detections with none of the class within the match radius when counted at this "
                         "model GSD (or 'native') by --not-model: what changing the model GSD or the model adds")
    ap.add_argument("--not-model", default=None, help="the model for --not-at (default: --model)")
    ap.add_argument("--crop-m", type=float, default=28.0, help="side of each crop, metres")
    ap.add_argument("--max-score", type=float, default=None,
                    help="only detections scoring under this: the band a lower --conf adds")
    args = ap.parse_args()
    import geotally

    images = [im for im in load_split(args.split, None) if im.dataset == "simd"]
    found = []  # (image, crop centre, corners px, labelled?)
    with tempfile.TemporaryDirectory() as tmp:
        for im in images:
            path, truth_xy, gsd = degrade_to(im, args.gsd, Path(tmp))
            kw = {"conf": {args.cls: args.conf}} if args.conf is not None else {}
            radius = RADIUS_M[args.cls] / gsd
            px, scores = _quads(geotally.count(path, gsd=gsd, model_gsd=_model_gsd(args.model_gsd, gsd),
                                               model=args.model, **kw), args.cls)
            if args.not_at is not None and len(px):
                other = _quads(geotally.count(path, gsd=gsd, model_gsd=_model_gsd(args.not_at, gsd),
                                              model=args.not_model or args.model, **kw), args.cls)[0].mean(axis=1)
                near = _near(px.mean(axis=1), other, radius)
                px, scores = px[~near], scores[~near]
            if args.max_score is not None:
                band = scores < args.max_score
                px, scores = px[band], scores[band]
            if not len(px):
                continue
            img = cv2.imread(str(path))
            labelled = _near(px.mean(axis=1), truth_xy[im.cls == args.cls], radius)
            for quad, score, lab in zip(px, scores, labelled):
                found.append((img, quad.mean(axis=0), quad, bool(lab), score))
    rng = np.random.default_rng(args.seed)
    pick = rng.choice(len(found), min(args.n, len(found)), replace=False)
    half = int(round(args.crop_m / 2 / args.gsd))  # a square of --crop-m around each detection
    cells = []
    for k in pick:
        img, c, quad, lab, score = found[k]
        pad = cv2.copyMakeBorder(img, half, half, half, half, cv2.BORDER_CONSTANT)
        x, y = int(round(c[0])), int(round(c[1]))
        crop = pad[y:y + 2 * half, x:x + 2 * half].copy()
        crop = cv2.resize(crop, (192, 192), interpolation=cv2.INTER_NEAREST)
        s = 192 / (2 * half)
        q = ((quad - c + half) * s).astype(np.int32)
        cv2.polylines(crop, [q], True, (0, 0, 255), 1)
        cv2.putText(crop, f"{len(cells)}{'L' if lab else '-'} {score:.2f}", (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 255, 255), 1)
        cells.append(crop)
    while len(cells) % 8:
        cells.append(np.zeros_like(cells[0]))
    sheet = np.vstack([np.hstack(cells[i:i + 8]) for i in range(0, len(cells), 8)])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, sheet)
    print(f"{len(found)} {args.cls} detections at {args.gsd} m on {len(images)} SIMD {args.split} images; "
          f"{sum(f[3] for f in found)} next to a label; sheet of {len(pick)} in {args.out}")


if __name__ == "__main__":
    main()
