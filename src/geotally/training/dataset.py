"""Writing an Ultralytics OBB dataset from labelled images: oriented labels, GSD copies, tiles.

Each image becomes ``copies`` degraded versions at random satellite GSDs (and up to
``copies_large`` in all of which only tiles holding a large vehicle are kept), each resampled to the
model's GSD the way inference resamples, cut into ``imgsz`` tiles padded black like inference
tiles (so Ultralytics never rescales them), with labels clipped to each tile.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import shapely

from geotally.detect.boxes import xywhr_to_corners
from geotally.config.training import DatasetParams
from geotally.training.degrade import degrade, sample_gsd, to_model_scale
from geotally.training.orient import aabb_iou, aabb_of, orient_labels
from geotally.training.sources import LabelledImage

# Class ids of the DOTA-v1 head the stock checkpoints have: training on those ids keeps the
# pretrained head, and the model keeps its names.
def _train_ids() -> dict[str, int]:
    from geotally.models.classes import class_map
    from geotally.models.spec import DOTA_V1

    return {name: idx for idx, name in class_map(DOTA_V1).items()}


TRAIN_IDS = _train_ids()  # large_vehicle 9, small_vehicle 10, plane 0, ship 1, harbor 7, ...
VEHICLES = ("large_vehicle", "small_vehicle")
LARGE_ID = str(TRAIN_IDS["large_vehicle"])
MIN_VISIBLE = 0.45  # share of a label inside a tile for it to count as labelled there


@dataclass
class DatasetSummary:
    root: Path
    images: int
    tiles: int
    labels: dict[str, int]
    orientation: dict[str, int]  # how axis-aligned labels got their angle
    masked: int
    sources: list[str]

    def as_dict(self) -> dict:
        d = asdict(self)
        d["root"] = str(self.root)
        return d


# image, GSD -> (n, 7): xywhr of detected vehicles, their scores (column 5) and 1 for large (column 6)
Detect = Callable[[Path, float], np.ndarray]


def _starts(size: int, tile: int, stride: int) -> list[int]:
    if size <= tile:
        return [0]
    return sorted(set(list(range(0, size - tile, stride)) + [size - tile]))


def _fill(img: np.ndarray, corners: np.ndarray, colour: np.ndarray) -> None:
    for quad in corners:
        cv2.fillPoly(img, [np.round(quad).astype(np.int32)], colour.tolist())


def prepare(item: LabelledImage, detect: Detect | None, mask_score: float,
            pseudo_score: float | None = None, unlabelled: Detect | None = None,
            mask_score_large: float | None = None,
            measured_angles_only: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, Counter, int]:
    """The image (BGR) with ignored and unlabelled vehicles masked, oriented label corners, classes.

    With ``pseudo_score``, unlabelled detections scoring at least that become labels of the
    detector's class (``how['pseudo']``) instead of being masked: labels that leave many vehicles
    out (SIMD boxes few dark cars) would otherwise teach the ones the mask misses as background.
    ``detect`` orients the labels; ``unlabelled`` (default: ``detect``) finds the vehicles they
    leave out. ``mask_score_large`` (default: ``mask_score``) is the mask threshold of its
    large-vehicle detections. With ``measured_angles_only``, labels whose angle had to be guessed
    (``elongated``, ``gradient``) are left out (``how['dropped_guessed_angle']``), neither taught
    nor masked: for a refit of the angle branch alone.
    """
    img = cv2.imread(str(item.path), cv2.IMREAD_COLOR)
    corners, cls = item.corners.copy(), item.cls.copy()
    how: Counter = Counter()
    keep = cls != "ignore"
    masked = int((~keep).sum())  # ignored labels (cyclists, airport vehicles) are greyed out
    colour = np.median(img.reshape(-1, 3), axis=0)
    to_mask = [corners[~keep]]
    if item.axis_aligned:
        dets = detect(item.path, item.gsd) if detect is not None else np.zeros((0, 7))
        xywhr, score = dets[:, :5], dets[:, 5]
        veh = np.isin(cls, VEHICLES)
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        o = orient_labels(corners[veh], cls[veh], xywhr, gray)
        corners[veh] = xywhr_to_corners(o.xywhr)
        how.update(o.how.tolist())
        if measured_angles_only:
            guessed = np.zeros(len(cls), bool)
            guessed[np.flatnonzero(veh)] = o.how != "matched"
            keep &= ~guessed  # left out of the labels, but not greyed out
            how["dropped_guessed_angle"] += int(guessed.sum())
        if unlabelled is not None:
            dets = unlabelled(item.path, item.gsd)
            xywhr, score = dets[:, :5], dets[:, 5]
        # Confident detections that no label covers: likely vehicles the labels leave out.
        if len(xywhr):
            lab = aabb_of(item.corners)
            cx, cy = xywhr[:, 0], xywhr[:, 1]
            covered = ((cx[:, None] >= lab[None, :, 0] - 2) & (cx[:, None] <= lab[None, :, 2] + 2)
                       & (cy[:, None] >= lab[None, :, 1] - 2) & (cy[:, None] <= lab[None, :, 3] + 2)).any(axis=1) \
                if len(lab) else np.zeros(len(xywhr), bool)
            pseudo = (~covered) & (score >= pseudo_score) if pseudo_score is not None else np.zeros(len(score), bool)
            loose = (~covered) & (score >= mask_score) & ~pseudo
            if mask_score_large is not None:
                # The extra band masks only boxes clear of every label: a doubtful box over a row of
                # labelled cars must not grey them out.
                clear = ~(aabb_iou(aabb_of(xywhr_to_corners(xywhr)), lab) > 0).any(axis=1)
                loose |= (~covered) & ~pseudo & (dets[:, 6] > 0.5) & (score >= mask_score_large) & clear
            to_mask.append(xywhr_to_corners(xywhr[loose] * np.array([1, 1, 1.15, 1.3, 1.0])))
            masked += int(loose.sum())
            if pseudo.any():
                corners = np.concatenate([corners, xywhr_to_corners(xywhr[pseudo])])
                cls = np.concatenate([cls, np.where(dets[pseudo, 6] > 0.5, "large_vehicle", "small_vehicle")])
                keep = np.concatenate([keep, np.ones(int(pseudo.sum()), bool)])
                how["pseudo"] += int(pseudo.sum())
    for quads in to_mask:
        if len(quads):
            _fill(img, quads, colour)
    return img, corners[keep], cls[keep], how, masked


def _tile_labels(polys: np.ndarray, cls: np.ndarray, x0: int, y0: int, size: int) -> tuple[list[str], np.ndarray]:
    """YOLO-OBB rows for the labels visible in a tile, and the corners of partial ones to mask."""
    if len(polys) == 0:
        return [], np.zeros((0, 4, 2))
    tile = shapely.box(x0, y0, x0 + size, y0 + size)
    area = shapely.area(polys)
    clipped = shapely.intersection(polys, tile)
    frac = shapely.area(clipped) / np.maximum(area, 1e-9)
    full = frac >= MIN_VISIBLE
    rows = []
    if full.any():
        rect = shapely.oriented_envelope(clipped[full])
        xy = shapely.get_coordinates(rect).reshape(int(full.sum()), -1, 2)[:, :4]
        xy = np.clip((xy - np.array([x0, y0])) / size, 0.0, 1.0)
        for c, quad in zip(cls[full], xy):
            rows.append(f"{TRAIN_IDS[c]} " + " ".join(f"{v:.6f}" for v in quad.reshape(-1)))
    partial = (frac > 0) & ~full
    if not partial.any():
        return rows, np.zeros((0, 4, 2))
    pc = shapely.get_coordinates(polys[partial]).reshape(int(partial.sum()), -1, 2)[:, :4] - np.array([x0, y0])
    return rows, pc


def build_dataset(items: list[LabelledImage], out_dir: str | Path, p: DatasetParams = DatasetParams(),
                  detect: Detect | None = None, progress: Callable[[int, int], None] | None = None,
                  unlabelled: Detect | None = None) -> DatasetSummary:
    """Write ``out_dir/images/train``, ``out_dir/labels/train`` and ``out_dir/data.yaml``."""
    root = Path(out_dir)
    img_dir, lab_dir = root / "images" / "train", root / "labels" / "train"
    img_dir.mkdir(parents=True, exist_ok=True)
    lab_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(p.seed)
    counts: Counter = Counter()
    how: Counter = Counter()
    n_tiles, masked = 0, 0
    stride = p.imgsz - p.overlap
    for k, item in enumerate(items):
        img, corners, cls, h, m = prepare(item, detect, p.mask_score, p.pseudo_score, unlabelled, p.mask_score_large,
                                          p.measured_angles_only)
        how.update(h)
        masked += m
        colour = np.median(img.reshape(-1, 3), axis=0)
        n_copies = max(p.copies, p.copies_large) if (cls == "large_vehicle").any() else p.copies
        for copy in range(n_copies):
            g = sample_gsd(item.gsd, p.degrade, rng)
            small = to_model_scale(degrade(img, item.gsd, g, p.degrade, rng), g, p.model_gsd)
            sx, sy = small.shape[1] / img.shape[1], small.shape[0] / img.shape[0]
            polys = shapely.polygons(np.concatenate([corners, corners[:, :1]], axis=1) * np.array([sx, sy])) \
                if len(corners) else np.empty(0, dtype=object)
            for ty in _starts(small.shape[0], p.imgsz, stride):
                for tx in _starts(small.shape[1], p.imgsz, stride):
                    rows, partial = _tile_labels(polys, cls, tx, ty, p.imgsz)
                    if not rows and rng.random() > p.empty_keep:
                        continue
                    if copy >= p.copies and not any(r.split()[0] == LARGE_ID for r in rows):
                        continue
                    tile = np.zeros((p.imgsz, p.imgsz, 3), np.uint8)  # black pad, as inference pads
                    part = small[ty:ty + p.imgsz, tx:tx + p.imgsz]
                    tile[:part.shape[0], :part.shape[1]] = part
                    if len(partial):
                        _fill(tile, partial, colour)
                    stem = f"{item.path.stem}_c{copy}_{tx}_{ty}"
                    cv2.imwrite(str(img_dir / f"{stem}.jpg"), tile, [cv2.IMWRITE_JPEG_QUALITY, 95])
                    (lab_dir / f"{stem}.txt").write_text("\n".join(rows) + ("\n" if rows else ""))
                    counts.update(r.split()[0] for r in rows)
                    n_tiles += 1
        if progress:
            progress(k + 1, len(items))
    from geotally.models.spec import DOTA_V1

    # Ultralytics validates at the end of training whatever val= says; a few linked training tiles
    # keep that step to seconds (it measured 3 minutes on all 1,574). Validation is --val's job.
    for sub in ("images", "labels"):
        (root / sub / "val").mkdir(exist_ok=True)
    for img in sorted(img_dir.glob("*.jpg"))[:8]:
        for src, dst in ((img, root / "images" / "val" / img.name),
                         (lab_dir / f"{img.stem}.txt", root / "labels" / "val" / f"{img.stem}.txt")):
            if not dst.exists():
                os.link(src, dst)
    names = "\n".join(f"  {i}: {n}" for i, n in DOTA_V1.items())
    (root / "data.yaml").write_text(f"path: {root.resolve()}\ntrain: images/train\nval: images/val\nnames:\n{names}\n")
    id_names = {str(v): k for k, v in TRAIN_IDS.items()}
    summary = DatasetSummary(root, len(items), n_tiles, {id_names[k]: v for k, v in sorted(counts.items())},
                             dict(how), masked, sorted({it.source for it in items}))
    (root / "dataset.json").write_text(json.dumps(dict(summary.as_dict(), params=asdict(p)), indent=1, default=str))
    return summary
