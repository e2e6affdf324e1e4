"""Matching detections to labelled truth: precision, recall, F1, AP50 and count error per class.

Matching is greedy in descending score, as in PASCAL VOC / DOTA: each detection
takes the unmatched truth of its class with the highest overlap. Overlap is
rotated IoU (polygons), or, for point labels, centre distance within a radius.
Truth marked *difficult* may absorb a detection but is never counted as missed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely


@dataclass
class ClassScore:
    cls: str
    tp: int
    fp: int
    fn: int
    n_truth: int
    n_detected: int
    ap50: float

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else 0.0

    @property
    def count_error(self) -> int:
        return self.n_detected - self.n_truth

    def as_dict(self) -> dict:
        rel = self.count_error / self.n_truth if self.n_truth else None
        return {"class": self.cls, "tp": self.tp, "fp": self.fp, "fn": self.fn, "n_truth": self.n_truth,
                "n_detected": self.n_detected, "precision": round4(self.precision), "recall": round4(self.recall),
                "f1": round4(self.f1), "ap50": round4(self.ap50), "count_error": self.count_error,
                "count_error_rel": round4(rel) if rel is not None else None}


def round4(x: float | None) -> float | None:
    """Rounded to 4 decimals for reports; None for missing or NaN."""
    return None if x is None or np.isnan(x) else round(float(x), 4)


def pair_overlaps(det: np.ndarray, truth: np.ndarray, mode: str = "iou",
                  radius: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate (det, truth) pairs and their overlap: IoU, or 1 - distance/radius for centres."""
    if len(det) == 0 or len(truth) == 0:
        e = np.zeros(0, np.int64)
        return e, e, np.zeros(0)
    tree = shapely.STRtree(truth)
    if mode == "iou":
        i, j = tree.query(det, predicate="intersects")
        inter = shapely.area(shapely.intersection(det[i], truth[j]))
        union = shapely.area(det[i]) + shapely.area(truth[j]) - inter
        return i, j, np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    dc, tc = shapely.centroid(det), shapely.centroid(truth)
    i, j = tree.query(dc, predicate="dwithin", distance=radius)
    dist = shapely.distance(dc[i], tc[j])
    return i, j, 1.0 - dist / radius


def match(det: np.ndarray, scores: np.ndarray, truth: np.ndarray, difficult: np.ndarray | None = None,
          threshold: float = 0.5, mode: str = "iou", radius: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per detection: 1 true positive, 0 false positive, -1 ignored (matched a difficult truth).

    Also returns, per truth, whether it was matched. Detections and truth are of one class.
    """
    difficult = np.zeros(len(truth), bool) if difficult is None else np.asarray(difficult, bool)
    i, j, ov = pair_overlaps(det, truth, mode, radius)
    ok = ov >= (threshold if mode == "iou" else 0.0)
    i, j, ov = i[ok], j[ok], ov[ok]
    order = np.lexsort((-ov, -np.asarray(scores)[i]))  # by detection score, then overlap
    i, j = i[order], j[order]
    outcome = np.zeros(len(det), np.int64)
    taken = np.zeros(len(truth), bool)
    decided = np.zeros(len(det), bool)
    for di, tj in zip(i.tolist(), j.tolist()):
        if decided[di] or taken[tj]:
            continue
        taken[tj] = True
        decided[di] = True
        outcome[di] = -1 if difficult[tj] else 1
    return outcome, taken


def average_precision(scores: np.ndarray, outcome: np.ndarray, n_truth: int) -> float:
    """Area under the interpolated precision-recall curve (VOC all-point)."""
    if n_truth == 0:
        return float("nan")
    keep = outcome >= 0
    order = np.argsort(-np.asarray(scores)[keep], kind="stable")
    tp = (outcome[keep][order] == 1).astype(float)
    if len(tp) == 0:
        return 0.0
    ctp, cfp = np.cumsum(tp), np.cumsum(1 - tp)
    recall = ctp / n_truth
    precision = ctp / (ctp + cfp)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[1.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    steps = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def score_class(cls: str, det: np.ndarray, scores: np.ndarray, truth: np.ndarray,
                difficult: np.ndarray | None = None, conf: float = 0.0, threshold: float = 0.5,
                mode: str = "iou", radius: float = 0.0) -> ClassScore:
    """Scores of one class; AP uses every detection, the counts only those at or above ``conf``."""
    scores = np.asarray(scores, float)
    difficult = np.zeros(len(truth), bool) if difficult is None else np.asarray(difficult, bool)
    outcome, _ = match(det, scores, truth, difficult, threshold, mode, radius)
    n_truth = int((~difficult).sum())
    ap = average_precision(scores, outcome, n_truth)
    above = scores >= conf
    kept_outcome, _ = match(det[above], scores[above], truth, difficult, threshold, mode, radius)
    tp = int((kept_outcome == 1).sum())
    fp = int((kept_outcome == 0).sum())
    n_det = int((kept_outcome >= 0).sum())
    return ClassScore(cls, tp, fp, n_truth - tp, n_truth, n_det, ap)
