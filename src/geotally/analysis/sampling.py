"""A seeded random review sample of one scene, and the unbiased count it gives.

Plain words. A person cannot check every detection of a large scene, but can check a random
sample of them and a random sample of map windows, and from those the scene's own error rates
follow, with intervals that account for the sample size.

- **Detections** are sampled stratified by (zone, detected class): in every stratum a share of
  the detections, at least two where there are two. Each reviewed detection has an outcome: true
  and of its class, true but of another class (relabelled), or not a vehicle (rejected).
- **Windows** (squares of ``window_m`` metres over the scene) are sampled stratified by (zone,
  occupied or empty): in each sampled window the reviewer adds every vehicle the model missed.
  Occupied windows are sampled too, because misses sit beside found vehicles as often as in the
  open; the empty ones are where whole missed lots hide.

The estimate of a zone's true count of class c is the sampled true ones plus, for the unsampled
rest, draws from the posterior predictive: per detection stratum the outcome shares are
Dirichlet(outcomes + 1/2) and the unsampled detections' outcomes Multinomial; per window stratum
the miss rate is Gamma(misses + a, 1/windows) over a Bayesian bootstrap of the sampled windows
(so clustered misses widen it) and the unsampled windows' misses Poisson. The prior shapes ``a`` of
the strata one estimate sums add up to Jeffreys' 1/2 (``miss_prior``), so a zone and the whole scene
carry the same prior weight. The median of the draws
is the estimate, the 2.5% and 97.5% points the 95% interval. ``tests/test_sampling.py`` shows by
simulation that the interval covers the truth at about the nominal rate.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from geotally.config.params import SampleParams
from geotally.errors import GeotallyError

REJECT = "not_a_vehicle"
N_DRAWS = 4000


@dataclass(frozen=True)
class SamplePlan:
    """The review sample: detection rows and windows, each with its stratum, and every stratum's size."""

    detection_rows: np.ndarray  # (k,) row indices into the vehicle table, in review order
    detection_strata: np.ndarray  # (k,) stratum key "zone|class"
    windows: np.ndarray  # (m, 4) x0, y0, x1, y1 in the scene CRS
    window_strata: np.ndarray  # (m,) stratum key "zone|occupied" or "zone|empty"
    strata: pd.DataFrame  # unit ('detection'|'window'), stratum, zone, population, sampled
    params: SampleParams


def _allocate(sizes: np.ndarray, total: int, floor: int) -> np.ndarray:
    """Sample sizes per stratum: ``floor`` each (or the whole stratum), the rest proportional."""
    sizes = np.asarray(sizes, int)
    take = np.minimum(sizes, floor)
    left = max(total - int(take.sum()), 0)
    room = sizes - take
    if left and room.sum():
        extra = np.floor(left * room / room.sum()).astype(int)
        take = take + np.minimum(extra, room)
        # hand out what the rounding left, largest remainders first
        rest = min(left - int(extra.sum()), int((sizes - take).sum()))
        order = np.argsort(-(left * room / room.sum() - extra), kind="stable")
        for i in order:
            if rest <= 0:
                break
            if take[i] < sizes[i]:
                take[i] += 1
                rest -= 1
    return take


def _strata_sample(keys: np.ndarray, n: int, floor: int, rng: np.random.Generator) -> tuple[np.ndarray, pd.DataFrame]:
    """Row indices of a stratified sample without replacement, shuffled, and the strata table."""
    names, inverse, sizes = np.unique(keys.astype(str), return_inverse=True, return_counts=True)
    take = _allocate(sizes, n, floor)
    picked = [rng.choice(np.flatnonzero(inverse == i), size=int(t), replace=False) for i, t in enumerate(take)]
    rows = np.concatenate(picked) if picked else np.zeros(0, int)
    rng.shuffle(rows)
    return rows.astype(int), pd.DataFrame({"stratum": names, "population": sizes, "sampled": take})


def window_grid(bounds: tuple[float, float, float, float], side: float) -> np.ndarray:
    """(m, 4) squares of ``side`` map units covering ``bounds`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = bounds
    nx, ny = max(int(np.ceil((x1 - x0) / side)), 1), max(int(np.ceil((y1 - y0) / side)), 1)
    gx, gy = np.meshgrid(x0 + side * np.arange(nx), y0 + side * np.arange(ny))
    gx, gy = gx.ravel(), gy.ravel()
    return np.column_stack([gx, gy, np.minimum(gx + side, x1), np.minimum(gy + side, y1)])


def draw_sample(classes: np.ndarray, zones: np.ndarray, centres: np.ndarray, windows: np.ndarray,
                window_zones: np.ndarray, params: SampleParams = SampleParams()) -> SamplePlan:
    """Draw the seeded stratified sample. ``classes``/``zones``/``centres`` describe the detections
    (centres in the scene CRS); ``windows`` are the candidate windows and ``window_zones`` the zone
    of each window's centre (windows outside the imaged area should be left out by the caller)."""
    rng = np.random.default_rng(params.seed)
    det_keys = np.array([f"{z}|{c}" for z, c in zip(zones, classes)], dtype=object)
    det_rows, det_strata = _strata_sample(det_keys, params.detections, params.min_per_stratum, rng)
    det_strata = det_strata.assign(unit="detection", zone=[s.split("|")[0] for s in det_strata["stratum"]])
    occupied = np.zeros(len(windows), bool)
    if len(centres) and len(windows):  # candidate pairs from a tree, then the half-open test on them only
        pt, win = shapely.STRtree(shapely.box(*windows.T)).query(shapely.points(centres), predicate="intersects")
        c, w = centres[pt], windows[win]
        inside = (c[:, 0] >= w[:, 0]) & (c[:, 0] < w[:, 2]) & (c[:, 1] >= w[:, 1]) & (c[:, 1] < w[:, 3])
        occupied[win[inside]] = True
    win_keys = np.array([f"{z}|{'occupied' if o else 'empty'}" for z, o in zip(window_zones, occupied)], dtype=object)
    win_rows, win_strata = _strata_sample(win_keys, params.windows, 1, rng)
    win_strata = win_strata.assign(unit="window", zone=[s.split("|")[0] for s in win_strata["stratum"]])
    strata = pd.concat([det_strata, win_strata], ignore_index=True)[["unit", "stratum", "zone", "population", "sampled"]]
    return SamplePlan(det_rows, det_keys[det_rows], windows[win_rows], win_keys[win_rows], strata, params)


MISS_PRIOR = 0.5  # Jeffreys' shape for one Poisson rate: the prior's whole weight for any one estimate


def miss_prior(strata: dict[str, tuple[int, int]]) -> dict[str, float]:
    """Each window stratum's share of the miss rate's prior shape, for one estimate over ``strata``
    (key -> (windows, searched)): ``MISS_PRIOR`` split by unsearched windows.

    Why split: each stratum given the whole 0.5 adds phantom misses that do not cancel when strata are
    summed; a scene of four strata with none missed got an ALL interval whose lower end stood above
    the truth (11 and 12 of 16 sample seeds held it on two generated crossings). Split, a zone's
    estimate and the scene's carry the same prior weight, and one stratum alone keeps Jeffreys' 0.5."""
    left = {k: max(w - n, 0) for k, (w, n) in strata.items()}
    total = sum(left.values())
    return {k: MISS_PRIOR * u / total if total else 0.0 for k, u in left.items()}


MAX_MISSES_PER_WINDOW = 10_000  # more vehicles than any review window holds: a file edited by hand


def check_sample(detections, windows, where: str) -> None:
    """Refuse, in one line, a review sample that cannot be one: counts that are not whole numbers from 0,
    outcomes that are not vehicle classes (or not a vehicle), more reviewed than the stratum holds, or
    more misses in one window than it can hold (a file edited by hand gave 15,000,003,401 vehicles)."""
    from geotally.analysis.calibration import whole_count
    from geotally.models.classes import VEHICLE_CLASSES

    def whole(v, what: str) -> int:
        try:
            return whole_count(v)
        except ValueError:
            raise GeotallyError(f"{where}: {what} must be a whole number from 0, got {v!r}") from None

    if not isinstance(detections, dict) or not isinstance(windows, dict):
        raise GeotallyError(f"{where}: detections and windows must be tables of strata")
    for key, st in detections.items():
        if not isinstance(st, dict) or not isinstance(st.get("outcomes"), dict):
            raise GeotallyError(f"{where}: detection stratum {key} needs a population and outcomes")
        population = whole(st.get("population"), f"detection stratum {key}'s population")
        for outcome, n in st["outcomes"].items():
            if outcome not in (*VEHICLE_CLASSES, REJECT):
                raise GeotallyError(f"{where}: detection stratum {key} has outcome {outcome!r}; outcomes are "
                                    f"{', '.join(VEHICLE_CLASSES)} or {REJECT}")
            whole(n, f"detection stratum {key}'s {outcome} outcomes")
        if sum(st["outcomes"].values()) > population:
            raise GeotallyError(f"{where}: detection stratum {key} has more reviewed outcomes than its {population} "
                                "detections")
    for key, st in windows.items():
        if not isinstance(st, dict) or not isinstance(st.get("misses"), list):
            raise GeotallyError(f"{where}: window stratum {key} needs a population and misses")
        population = whole(st.get("population"), f"window stratum {key}'s population")
        if len(st["misses"]) > population:
            raise GeotallyError(f"{where}: window stratum {key} has more searched windows than its {population}")
        for k, found in enumerate(st["misses"]):
            if not isinstance(found, dict):
                raise GeotallyError(f"{where}: window {k + 1} of stratum {key} needs its misses per class")
            for c, n in found.items():
                if c not in VEHICLE_CLASSES:
                    raise GeotallyError(f"{where}: window {k + 1} of stratum {key} has misses of {c!r}; classes are "
                                        f"{', '.join(VEHICLE_CLASSES)}")
                if whole(n, f"window {k + 1} of stratum {key}'s {c} misses") > MAX_MISSES_PER_WINDOW:
                    raise GeotallyError(f"{where}: window {k + 1} of stratum {key} has {n} missed {c}, more than a "
                                        "review window holds; the file was edited, make it again with geotally calibrate")


@dataclass
class SampleCalibration:
    """What a reviewed sample says about one scene: per stratum its size and what review found.

    ``detections``: stratum -> {"population": D, "outcomes": {true class or REJECT: n}};
    ``windows``: stratum -> {"population": W, "misses": [{class: n} per reviewed window]}.
    """

    detections: dict
    windows: dict
    scene_sha256: list = field(default_factory=list)
    source: str = ""
    source_sha256: str = ""
    kind: str = "scene-sample"
    method: str = ("stratified review sample of this scene: Dirichlet-multinomial outcomes per detection stratum, "
                   "Gamma-Poisson misses per window stratum over a Bayesian bootstrap of the windows")
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_sample(self.detections, self.windows, self.source or "the calibration")

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def from_dict(cls, data: dict) -> "SampleCalibration":
        keys = ("detections", "windows", "scene_sha256", "source", "source_sha256", "kind", "method", "meta")
        return cls(**{k: data[k] for k in keys if k in data})

    def check_scene(self, sha256: str, name: str) -> None:
        """A review sample speaks for its own scene only."""
        if self.scene_sha256 and sha256 and sha256 not in self.scene_sha256:
            raise GeotallyError(f"{self.source or 'the calibration'} is a review sample of another scene, not {name}; "
                                "a scene's own review calibrates only that scene")

    def classes(self) -> list[str]:
        out = {c for s in self.detections.values() for c in s["outcomes"] if c != REJECT}
        out |= {c for s in self.windows.values() for w in s["misses"] for c in w}
        out |= {k.split("|", 1)[1] for k in self.detections}
        return sorted(out)

    def draws(self, zone: str | None, cls: str, n_draws: int = N_DRAWS, seed: int = 0) -> np.ndarray:
        """Draws of the true count of ``cls`` in ``zone`` (None: the whole scene)."""
        rng = np.random.default_rng(seed)
        total = np.zeros(n_draws)
        for key, s in self.detections.items():
            if zone is not None and key.split("|", 1)[0] != zone:
                continue
            D, out = int(s["population"]), s["outcomes"]
            names = sorted(set(out) | {cls, REJECT})
            counts = np.array([out.get(k, 0) for k in names], float)
            n = int(counts.sum())
            known, rest = out.get(cls, 0), max(D - n, 0)
            if rest == 0:
                total += known
                continue
            if n == 0:
                raise GeotallyError(f"stratum {key} has {D} detections and none reviewed; review at least one "
                                    "detection per zone and class, or draw the sample again")
            share = rng.dirichlet(counts + 0.5, size=n_draws)[:, names.index(cls)]
            total += known + rng.binomial(rest, share)
        strata = {k: s for k, s in self.windows.items() if zone is None or k.split("|", 1)[0] == zone}
        prior = miss_prior({k: (int(s["population"]), len(s["misses"])) for k, s in strata.items()})
        for key, s in strata.items():
            W, m = int(s["population"]), np.array([w.get(cls, 0) for w in s["misses"]], float)
            n = len(m)
            if n == 0:
                if W:
                    raise GeotallyError(f"window stratum {key} has {W} windows and none reviewed; review the "
                                        "sampled windows too (they find what the model missed)")
                continue
            total += m.sum()
            if W <= n:  # searched in full: its misses are known
                continue
            weights = rng.dirichlet(np.ones(n), size=n_draws)
            rate = rng.gamma(n * (weights @ m) + prior[key], 1.0 / n)
            total += rng.poisson((W - n) * rate)
        return total

    def estimate(self, zone: str | None, cls: str, level: float = 0.95, **kw) -> tuple[float, float, float]:
        d = self.draws(zone, cls, **kw)
        q = (1 - level) / 2
        return float(np.median(d)), float(np.quantile(d, q)), float(np.quantile(d, 1 - q))

    def rates(self, cls: str) -> tuple[float, float]:
        """Point estimates of this scene's detection rate and false positives per true vehicle for ``cls``."""
        tp = fp = 0.0
        for key, s in self.detections.items():
            if key.split("|", 1)[1] != cls:
                continue
            n = sum(s["outcomes"].values())
            if n:
                tp += s["population"] * s["outcomes"].get(cls, 0) / n
                fp += s["population"] * (n - s["outcomes"].get(cls, 0)) / n
        miss = sum(s["population"] * np.mean([w.get(cls, 0) for w in s["misses"]])
                   for s in self.windows.values() if s["misses"])
        truth = self.estimate(None, cls)[0]
        if truth <= 0:
            return float("nan"), float("nan")
        return min(tp / max(tp + miss, 1e-9), 1.0), fp / truth

    def count_intervals(self, counts: pd.DataFrame, detections: pd.DataFrame) -> pd.DataFrame:
        """``estimate``, ``lo95``, ``hi95`` per zone and class of a counts table, from this sample."""
        raw = detections.groupby(["zone", "class"]).size() if len(detections) else pd.Series(dtype=int)
        now = {f"{z}|{c}": int(n) for (z, c), n in raw.items()}
        for key, s in self.detections.items():
            if now.get(key, 0) != int(s["population"]):
                raise GeotallyError(f"the review sampled from {s['population']} detections in {key.replace('|', ', ')}, "
                                    f"these results have {now.get(key, 0)}: recount with the thresholds and zones "
                                    "the review was made on, or review a new sample")
        est, lo, hi = [], [], []
        for _, row in counts.iterrows():
            zone = None if row["zone"] == "ALL" else str(row["zone"])
            e, a, b = self.estimate(zone, str(row["class"]))
            est.append(e), lo.append(a), hi.append(b)
        return counts.assign(estimate=est, lo95=lo, hi95=hi)
