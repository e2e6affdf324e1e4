"""Calibrated counts: from a raw detector count to an estimated true count with an interval.

Method (plain words). On labelled images of the same kind of imagery, each class has a
detection rate r (true vehicles found / true vehicles) and a false-positive rate f
(false detections / true vehicles). A zone's raw count D is then, for N true vehicles,
the found ones, Binomial(N, r), plus the false ones, Poisson(f N). We resample the
labelled images with replacement (bootstrap) to get many plausible (r, f) pairs, and for
each candidate N compute how likely the observed D is under each pair (the rates themselves
are drawn from Beta and Gamma distributions given each resample's totals) (normal
approximation to that sum). Averaging over the pairs and normalising over N (flat prior)
gives a distribution for N: its median is the estimate, its 2.5% and 97.5% points the
95% interval. Both the uncertainty of the rates (few labelled images) and the chance
variation of detection in the zone itself widen the interval.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from geotally.errors import GeotallyError

N_BOOT = 1000


@dataclass
class ClassCalibration:
    """Per labelled image: true vehicles, true positives, false positives."""

    n_truth: list[int]
    tp: list[int]
    fp: list[int]

    def rates(self) -> tuple[float, float]:
        n = max(sum(self.n_truth), 1)
        return sum(self.tp) / n, sum(self.fp) / n

    def bootstrap(self, n_boot: int = N_BOOT, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(r, f) draws: images resampled with replacement (variation between images), then the
        rates drawn from Beta/Gamma given the resampled totals (finite counts, so even a single
        labelled image gives honest uncertainty)."""
        n, tp, fp = (np.asarray(a, float) for a in (self.n_truth, self.tp, self.fp))
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, len(n), size=(n_boot, len(n)))
        total, found, false = n[idx].sum(1), tp[idx].sum(1), fp[idx].sum(1)
        r = rng.beta(found + 0.5, np.maximum(total - found, 0) + 0.5)
        f = rng.gamma(false + 0.5, 1.0 / np.maximum(total, 1.0))
        return r, f


@dataclass
class Calibration:
    classes: dict[str, ClassCalibration]
    source: str = ""
    source_sha256: str = ""
    method: str = "bootstrap over labelled images of (detection rate, false-positive rate); normal approximation to Binomial(N, r) + Poisson(f N); flat prior on N"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for cls, c in self.classes.items():
            check_rates(cls, c, self.source or "the calibration")

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "Calibration":
        try:
            data = json.loads(Path(path).read_text())
            if isinstance(data, dict) and data.get("kind") == "scene-sample":
                from geotally.analysis.sampling import SampleCalibration

                return SampleCalibration.from_dict(data)
            classes = {str(k): ClassCalibration(**v) for k, v in data["classes"].items()}
        except FileNotFoundError:
            raise GeotallyError(f"calibration file not found: {path}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise GeotallyError(f"{path} is not a geotally calibration file ({type(exc).__name__}: {exc}); "
                                "make one with 'geotally calibrate EVAL.json -o cal.json'") from None
        return cls(classes=classes, **{k: data[k] for k in ("source", "source_sha256", "method", "meta") if k in data})

    @classmethod
    def from_evaluation(cls, evaluation: dict, source: str = "") -> "Calibration":
        what = source or "the evaluation"
        per_image = evaluation.get("per_image") if isinstance(evaluation, dict) else None
        if not isinstance(per_image, list):
            raise GeotallyError(f"{what} is not an evaluation from 'geotally evaluate' (no per_image list)")
        classes: dict[str, ClassCalibration] = {}
        try:
            for row in per_image:
                c = classes.setdefault(str(row["class"]), ClassCalibration([], [], []))
                c.n_truth.append(_count(row["n_truth"]))
                c.tp.append(_count(row["tp"]))
                c.fp.append(_count(row["fp"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise GeotallyError(f"{what}: a per_image row is not an evaluation row ({type(exc).__name__}: {exc})") \
                from None
        classes = {k: v for k, v in classes.items() if sum(v.n_truth) > 0}
        if not classes:
            raise GeotallyError(f"{source or 'the evaluation'} has no labelled vehicles per image to calibrate from")
        sha = hashlib.sha256(Path(source).read_bytes()).hexdigest() if source and Path(source).exists() else ""
        return cls(classes=classes, source=str(source), source_sha256=sha)


def _count(v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v < 0 or int(v) != v:
        raise ValueError(f"counts must be whole numbers >= 0, got {v!r}")
    return int(v)


def check_rates(cls: str, c: ClassCalibration, where: str) -> None:
    """A calibration must rest on labelled vehicles that the detector found at least once: with a
    detection rate of 0 a raw count says nothing about the true count, and no interval is honest."""
    n = len(c.n_truth)
    if not (len(c.tp) == len(c.fp) == n) or n == 0:
        raise GeotallyError(f"{where}: class {cls!r} needs one n_truth, tp and fp per labelled image")
    for v in (*c.n_truth, *c.tp, *c.fp):
        _count(v)
    if any(t > m for t, m in zip(c.tp, c.n_truth)):
        raise GeotallyError(f"{where}: class {cls!r} has more true positives than labelled vehicles on an image")
    if sum(c.n_truth) > 0 and sum(c.tp) == 0:
        raise GeotallyError(f"{where}: the detector found none of the {sum(c.n_truth)} labelled {cls} vehicles "
                            "(detection rate 0), so no calibration can correct its counts; evaluate on imagery "
                            "the model detects, or use another model")


def interval(raw: int, cal: ClassCalibration, level: float = 0.95, n_boot: int = N_BOOT,
             seed: int = 0) -> tuple[float, float, float]:
    """Estimated true count and its ``level`` interval for a raw count ``raw``."""
    r, f = cal.bootstrap(n_boot, seed)
    rho = max(float(np.median(r + f)), 1e-3)
    top = int(max(raw + 30, 3 * raw / rho + 30))
    n = np.arange(top + 1, dtype=float)[:, None]
    mean = n * (r + f)[None, :]
    var = np.maximum(n * (r * (1 - r) + f)[None, :], 0.25)
    like = np.exp(-0.5 * (raw - mean) ** 2 / var) / np.sqrt(var)
    post = like.mean(axis=1)
    if post.sum() <= 0:
        return float(raw), float(raw), float(raw)
    cdf = np.cumsum(post) / post.sum()
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    pick = lambda q: float(np.searchsorted(cdf, q))  # noqa: E731
    return pick(0.5), pick(lo_q), pick(hi_q)


def verdict(claimed: float, lo: float, hi: float) -> str:
    """Where a claimed count stands against the interval."""
    if claimed > hi:
        return "too high"
    if claimed < lo:
        return "too low"
    return "consistent"
