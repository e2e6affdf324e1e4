"""Validation of a registered model on labelled folders: recall, precision and count error per GSD and class.

Images are area-averaged from their own GSD to each target GSD (labels scaled with them) and
counted with the model's registered settings; detections are matched to labels one to one by
centre distance, greedily by score. Precision and count error mean something only where labels
are exhaustive; the caller says which folders are.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from geotally.training.sources import LabelledImage

RADIUS_M = {"large_vehicle": 3.0, "small_vehicle": 2.0}
CLASSES = ("large_vehicle", "small_vehicle")


def matched(det_xy: np.ndarray, det_score: np.ndarray, truth_xy: np.ndarray, radius: float) -> np.ndarray:
    """Which labels a detection takes: greedy one-to-one by score, centre within ``radius``."""
    taken = np.zeros(len(truth_xy), bool)
    if len(det_xy) == 0 or len(truth_xy) == 0:
        return taken
    d = np.hypot(det_xy[:, None, 0] - truth_xy[None, :, 0], det_xy[:, None, 1] - truth_xy[None, :, 1])
    for i in np.argsort(-det_score, kind="stable"):
        cand = np.where(taken, np.inf, d[i])
        j = int(np.argmin(cand))
        if cand[j] <= radius:
            taken[j] = True
    return taken


def match(det_xy: np.ndarray, det_score: np.ndarray, truth_xy: np.ndarray, radius: float) -> int:
    """True positives: greedy one-to-one by score, centre within ``radius``."""
    return int(matched(det_xy, det_score, truth_xy, radius).sum())


def degrade_to(item: LabelledImage, gsd: float, work: Path) -> tuple[Path, np.ndarray, float]:
    """The image area-averaged to ``gsd`` (left as is when already coarser), its label centres, its GSD."""
    f = min(1.0, item.gsd / gsd)
    src = cv2.imread(str(item.path), cv2.IMREAD_COLOR)
    if f < 1.0:
        src = cv2.resize(src, (max(1, round(src.shape[1] * f)), max(1, round(src.shape[0] * f))),
                         interpolation=cv2.INTER_AREA)
    path = work / f"{Path(item.source).name}_{item.path.stem}_{gsd:.2f}.png"
    cv2.imwrite(str(path), src)
    return path, item.corners.mean(axis=1) * f, item.gsd / f


def pixel_corners(result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Corners (n, 4, 2) in the scene's pixels, classes and scores of a count result's detections.

    Through the scene's own transform, so it holds for georeferenced scenes and for pixel-space
    ones (x = col * gsd, y = -row * gsd) alike."""
    import shapely

    det = result.detections
    if not len(det):
        return np.zeros((0, 4, 2)), np.zeros(0, dtype=str), np.zeros(0)
    geo = shapely.get_coordinates(det.geometry.values).reshape(len(det), -1, 2)[:, :4]
    corners = np.stack(~result.scene.transform * (geo[..., 0], geo[..., 1]), axis=-1)
    return corners, det["class"].to_numpy().astype(str), det["score"].to_numpy()


def detect_pixels(path: Path, gsd: float, **kw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres (pixels), classes and scores of what ``geotally.count`` finds in an image."""
    import geotally

    corners, cls, score = pixel_corners(geotally.count(path, gsd=gsd, **kw))
    return corners.mean(axis=1), cls, score


def validate(model: str, items: list[LabelledImage], gsds: list[float], exhaustive: set[str]) -> list[dict]:
    """Per GSD and class: labelled, detected, found; recall; precision and count error where exhaustive."""
    tally: dict = defaultdict(lambda: [0, 0, 0])  # tp, truth, detected
    with tempfile.TemporaryDirectory(prefix="geotally-val-") as tmp:
        for g in gsds:
            for it in items:
                path, truth_xy, gsd = degrade_to(it, g, Path(tmp))
                xy, cls, score = detect_pixels(path, gsd, model=model)
                for c in CLASSES:
                    sel, tsel = cls == c, it.cls == c
                    t = tally[(g, c, it.source in exhaustive)]
                    t[0] += match(xy[sel], score[sel], truth_xy[tsel], RADIUS_M[c] / gsd)
                    t[1] += int(tsel.sum())
                    t[2] += int(sel.sum())
                Path(path).unlink()
    rows = []
    for (g, c, full), (tp, n, nd) in sorted(tally.items()):
        if n == 0:
            continue
        row = {"gsd_m": g, "class": c, "labels_exhaustive": full, "labelled": n, "found": tp,
               "recall": round(tp / n, 4)}
        if full:
            row.update(detected=nd, precision=round(tp / nd, 4) if nd else None, count_error=round((nd - n) / n, 4))
        rows.append(row)
    return rows
