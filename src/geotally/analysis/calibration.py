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

Between scenes. Rates measured on some scenes do not hold on another: on KIT frames the detection
rate of one street was 0.88 and of the next 0.65. So the labelled images are grouped into scenes
(a sequence, a site, a date: ``groups``), and the rates for the scene being counted are drawn from
the spread between those groups (a random-effects predictive: logit detection rate and log
false-positive rate per group, Student t with G - 1 degrees of freedom, scaled by sqrt(1 + 1/G);
from EMPIRICAL_GROUPS groups on, the rates of a group drawn at random, with the Beta and Gamma
uncertainty of its own counts).
With fewer than MIN_GROUPS groups that spread cannot be measured, and no interval is given.
A calibration also records the GSD, sensor and kind of imagery it came from, and ``count`` warns
when a scene's GSD is outside it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from geotally.errors import GeotallyError, first_line

N_BOOT = 1000
MIN_GROUPS = 3  # scene groups needed to measure the spread of the rates between scenes
EMPIRICAL_GROUPS = 20  # from this many groups on, a new scene's rates are those of a random group
MAX_SPREAD = 10.0  # no interval when a new scene's detections per true vehicle may differ more than this (97.5% / 2.5%)
GSD_SLACK = 1.25  # a scene's GSD may differ this much (ratio) from the calibration's range


@dataclass
class ClassCalibration:
    """Per labelled image: true vehicles, true positives, false positives."""

    n_truth: list[int]
    tp: list[int]
    fp: list[int]
    groups: list[str] | None = None  # the scene group of each labelled image
    # How a new scene's rates are drawn from the groups': "spread" (below), or "random-effects": the spread
    # between groups net of each group's own sampling noise (DerSimonian-Laird), used for the model's own rates
    between: str = "spread"

    def n_groups(self) -> int:
        """Scene groups (with random effects: those with labelled vehicles, the only ones it uses)."""
        if not self.groups:
            return 0
        if self.between == "random-effects":
            return int((self.group_totals()[0] > 0).sum())
        return len(set(self.groups))

    def group_totals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per scene group: true vehicles, true positives, false positives."""
        keys, inv = np.unique(np.asarray(self.groups, dtype=str), return_inverse=True)
        return tuple(np.bincount(inv, weights=np.asarray(a, float), minlength=len(keys))
                     for a in (self.n_truth, self.tp, self.fp))

    def rates(self) -> tuple[float, float]:
        n = max(sum(self.n_truth), 1)
        return sum(self.tp) / n, sum(self.fp) / n

    def bootstrap(self, n_boot: int = N_BOOT, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(r, f) draws: images resampled with replacement (variation between images), then the
        rates drawn from Beta/Gamma given the resampled totals (finite counts, so even a single
        labelled image gives honest uncertainty)."""
        rng = np.random.default_rng(seed)
        if self.groups:
            return self._between_groups(n_boot, rng)
        n, tp, fp = (np.asarray(a, float) for a in (self.n_truth, self.tp, self.fp))
        idx = rng.integers(0, len(n), size=(n_boot, len(n)))
        total, found, false = n[idx].sum(1), tp[idx].sum(1), fp[idx].sum(1)
        r = rng.beta(found + 0.5, np.maximum(total - found, 0) + 0.5)
        f = rng.gamma(false + 0.5, 1.0 / np.maximum(total, 1.0))
        return r, f

    def _between_groups(self, n_boot: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(r, f) draws for a new scene: the predictive of the spread between scene groups."""
        n, tp, fp = self.group_totals()
        g = len(n)
        if g < MIN_GROUPS:
            raise GeotallyError(f"the calibration has {g} scene group(s); at least {MIN_GROUPS} are needed to "
                                "measure how the rates vary between scenes")
        if self.between == "random-effects":
            return _random_effects(n, tp, fp, n_boot, rng)
        if g >= EMPIRICAL_GROUPS:  # enough scenes to draw a new scene's rates from theirs directly
            pick = rng.integers(0, g, n_boot)
            r = rng.beta(tp[pick] + 0.5, np.maximum(n[pick] - tp[pick], 0) + 0.5)
            f = rng.gamma(fp[pick] + 0.5, 1.0 / np.maximum(n[pick], 1.0))
            return r, f
        lr = np.log((tp + 0.5) / (np.maximum(n - tp, 0) + 0.5))
        lf = np.log((fp + 0.5) / (n + 1.0))
        scale = np.sqrt(1 + 1 / g)
        t_r, t_f = rng.standard_t(g - 1, n_boot), rng.standard_t(g - 1, n_boot)
        r = 1 / (1 + np.exp(-(lr.mean() + lr.std(ddof=1) * scale * t_r)))
        f = np.exp(lf.mean() + lf.std(ddof=1) * scale * t_f)
        return r, f


def _pooled(y: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """Random-effects mean of per-group values ``y`` with sampling variances ``v`` (DerSimonian-Laird), and
    the predictive standard deviation for a new group: between-group spread plus the mean's uncertainty."""
    w = 1.0 / v
    mean = float((w * y).sum() / w.sum())
    q = float((w * (y - mean) ** 2).sum())
    tau2 = max(0.0, (q - (len(y) - 1)) / (w.sum() - (w ** 2).sum() / w.sum()))
    return mean, float(np.sqrt(tau2 + 1.0 / w.sum()))


def _random_effects(n: np.ndarray, tp: np.ndarray, fp: np.ndarray, n_boot: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(r, f) draws for a new scene: logit detection rate and log false-positive rate per group with labelled
    vehicles, their between-group variance net of sampling noise, Student t with G - 1 degrees of freedom.
    A group of one or two vehicles then widens the interval by its noise, not as if scenes differed that much."""
    keep = n > 0
    n, tp, fp = n[keep], tp[keep], fp[keep]
    if len(n) < MIN_GROUPS:
        raise GeotallyError(f"the calibration has {len(n)} scene group(s) with labelled vehicles; at least "
                            f"{MIN_GROUPS} are needed to measure how the rates vary between scenes")
    miss = np.maximum(n - tp, 0)
    mr, sr = _pooled(np.log((tp + 0.5) / (miss + 0.5)), 1 / (tp + 0.5) + 1 / (miss + 0.5))
    mf, sf = _pooled(np.log((fp + 0.5) / (n + 1.0)), 1 / (fp + 0.5) + 1 / (n + 1.0))
    t_r, t_f = rng.standard_t(len(n) - 1, n_boot), rng.standard_t(len(n) - 1, n_boot)
    return 1 / (1 + np.exp(-(mr + sr * t_r))), np.exp(mf + sf * t_f)


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

    def no_interval(self, cls: str) -> str | None:
        """Why no honest interval can be given for ``cls`` (None when one can)."""
        c = self.classes.get(cls)
        if c is None:
            return f"the calibration has no {cls}"
        if c.groups is not None and c.n_groups() < MIN_GROUPS:
            return (f"the calibration's {cls} rates come from {c.n_groups()} scene group(s), fewer than "
                    f"{MIN_GROUPS}, so how they vary between scenes is unknown: no interval (review a sample of "
                    "this scene instead: geotally review RESULTS --sample 200)")
        if c.groups is not None:
            r, f = c.bootstrap(2000, seed=0)
            lo, hi = np.quantile(r + f, [0.025, 0.975])
            if hi > MAX_SPREAD * max(lo, 1e-9):
                return (f"the calibration's {cls} detections per true vehicle vary from {lo:.2f} to {hi:.2f} between "
                        f"its scenes (more than {MAX_SPREAD:g}-fold), so an interval would say next to nothing: "
                        "none is given (review a sample of this scene instead: geotally review RESULTS --sample 200)")
        return None

    def warnings(self, scene_gsd_m: float) -> list[str]:
        """Where a scene falls outside the imagery the calibration came from."""
        out = []
        lo, hi = self.meta.get("gsd_m_min"), self.meta.get("gsd_m_max")
        if lo and hi and not lo / GSD_SLACK <= scene_gsd_m <= hi * GSD_SLACK:
            at = f"{lo:g} m" if lo == hi else f"{lo:g}-{hi:g} m"
            out.append(f"the calibration comes from imagery at {at}, this scene is {scene_gsd_m:.3g} m: "
                       "its rates may not hold here")
        if not any(c.groups for c in self.classes.values()):
            out.append("the calibration does not measure how rates vary between scenes (made without scene groups); "
                       "its interval holds only for scenes like its own images")
        what = ", ".join(f"{k} {self.meta[k]}" for k in ("sensor", "kind") if self.meta.get(k))
        if what:
            out.append(f"calibrated on {what}: apply it only to imagery of that kind")
        return out

    @classmethod
    def load(cls, path: str | Path) -> "Calibration":
        try:
            data = json.loads(Path(path).read_text())
            if isinstance(data, dict) and data.get("kind") == "scene-sample":
                from geotally.analysis.sampling import SampleCalibration, check_sample

                check_sample(data.get("detections"), data.get("windows"), str(path))  # named by this file
                return SampleCalibration.from_dict(data)
            if isinstance(data, dict) and "per_image" in data and "classes" not in data:
                raise GeotallyError(f"{path} is an evaluation, not a calibration; make one from it with "
                                    f"'geotally calibrate {path} -o cal.json'")
            if not isinstance(data, dict) or not isinstance(data.get("classes"), dict):
                raise GeotallyError(f"{path} is not a geotally calibration file (it has no table of classes); "
                                    "make one with 'geotally calibrate EVAL.json -o cal.json'")
            classes = {str(k): ClassCalibration(**v) for k, v in data["classes"].items()}
        except FileNotFoundError:
            raise GeotallyError(f"calibration file not found: {path}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise GeotallyError(f"{path} is not a geotally calibration file ({first_line(exc)}); "
                                "make one with 'geotally calibrate EVAL.json -o cal.json'") from None
        return cls(classes=classes, **{k: data[k] for k in ("source", "source_sha256", "method", "meta") if k in data})

    @classmethod
    def from_evaluation(cls, evaluation: dict, source: str = "", group: str | None = None,
                        meta: dict | None = None) -> "Calibration":
        """Per class and labelled image the rates; ``group`` a regular expression whose first group
        (or whole match) in an image's name names its scene group (None: no groups)."""
        import re

        what = source or "the evaluation"
        pattern = None
        if group is not None:
            try:
                pattern = re.compile(group)
            except re.error as exc:
                raise GeotallyError(f"--group {group!r} is not a regular expression: {exc}") from None
        per_image = evaluation.get("per_image") if isinstance(evaluation, dict) else None
        if not isinstance(per_image, list):
            raise GeotallyError(f"{what} is not an evaluation from 'geotally evaluate' (no per_image list)")
        classes: dict[str, ClassCalibration] = {}
        try:
            for row in per_image:
                c = classes.setdefault(str(row["class"]), ClassCalibration([], [], [], [] if pattern else None))
                if pattern is not None:
                    name = str(row.get("image", ""))
                    m = pattern.search(name)  # no match: the image is a group of its own
                    c.groups.append(name if m is None else (m.group(1) if m.groups() else m.group(0)) or name)
                c.n_truth.append(whole_count(row["n_truth"]))
                c.tp.append(whole_count(row["tp"]))
                c.fp.append(whole_count(row["fp"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise GeotallyError(f"{what}: a per_image row is not an evaluation row ({type(exc).__name__}: {exc})") \
                from None
        classes = {k: v for k, v in classes.items() if sum(v.n_truth) > 0}
        if not classes:
            raise GeotallyError(f"{source or 'the evaluation'} has no labelled vehicles per image to calibrate from")
        sha = hashlib.sha256(Path(source).read_bytes()).hexdigest() if source and Path(source).exists() else ""
        return cls(classes=classes, source=str(source), source_sha256=sha, meta=dict(meta or {}, group=group))


def whole_count(v) -> int:
    """``v`` as an int where it is a whole number from 0 (a count in a calibration file), else ValueError."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v < 0 or int(v) != v:
        raise ValueError(f"counts must be whole numbers >= 0, got {v!r}")
    return int(v)


def check_rates(cls: str, c: ClassCalibration, where: str) -> None:
    """A calibration must rest on labelled vehicles that the detector found at least once: with a
    detection rate of 0 a raw count says nothing about the true count, and no interval is honest."""
    n = len(c.n_truth)
    if not (len(c.tp) == len(c.fp) == n) or n == 0:
        raise GeotallyError(f"{where}: class {cls!r} needs one n_truth, tp and fp per labelled image")
    if c.groups is not None and len(c.groups) != n:
        raise GeotallyError(f"{where}: class {cls!r} needs one scene group per labelled image")
    for v in (*c.n_truth, *c.tp, *c.fp):
        whole_count(v)
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
