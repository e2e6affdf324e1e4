"""Calibration between scenes: rates vary from scene to scene, so an interval from other scenes
must carry that spread (scene groups), and with too few groups there is no interval at all."""

from __future__ import annotations

import numpy as np
import pytest

from geotally.analysis.calibration import Calibration, ClassCalibration, interval
from geotally.errors import GeotallyError


def _scenes(rng, n_groups: int, images: int = 5):
    """Scene groups whose detection and false-positive rates differ (logit-normal, log-normal)."""
    n, tp, fp, groups = [], [], [], []
    for g in range(n_groups):
        r = 1 / (1 + np.exp(-rng.normal(np.log(0.8 / 0.2), 0.7)))
        f = np.exp(rng.normal(np.log(0.05), 0.6))
        for _ in range(images):
            m = int(rng.poisson(40))
            n.append(m), tp.append(int(rng.binomial(m, r))), fp.append(int(rng.poisson(f * m))), groups.append(f"s{g}")
    return n, tp, fp, groups


def _coverage(grouped: bool, reps: int = 150, n_groups: int = 8) -> float:
    rng = np.random.default_rng(7)
    hits = 0
    for rep in range(reps):
        n, tp, fp, groups = _scenes(rng, n_groups + 1)
        held = [g == f"s{n_groups}" for g in groups]
        keep = [not h for h in held]
        pick = lambda a: [v for v, k in zip(a, keep) if k]  # noqa: E731
        cal = ClassCalibration(pick(n), pick(tp), pick(fp), pick(groups) if grouped else None)
        # the new scene: one image of the held-out group
        i = held.index(True)
        raw = tp[i] + fp[i]
        _, lo, hi = interval(raw, cal, seed=rep, n_boot=400)
        hits += lo <= n[i] <= hi
    return hits / reps


def test_grouped_interval_covers_a_new_scene_and_the_pooled_one_does_not():
    grouped, pooled = _coverage(True), _coverage(False)
    print(f"coverage of a held-out scene at nominal 0.95: grouped {grouped:.3f}, pooled images {pooled:.3f}")
    assert grouped >= 0.90
    assert pooled < grouped - 0.05  # the old interval ignores the spread between scenes


def test_fewer_than_three_groups_give_no_interval():
    cal = Calibration({"small_vehicle": ClassCalibration([40, 40], [35, 30], [2, 1], ["a", "b"])})
    assert "fewer than 3" in cal.no_interval("small_vehicle")
    with pytest.raises(GeotallyError, match="at least 3"):
        interval(30, cal.classes["small_vehicle"])
    three = Calibration({"small_vehicle": ClassCalibration([40] * 3, [35, 30, 33], [2, 1, 0], ["a", "b", "c"])})
    assert three.no_interval("small_vehicle") is None


def test_calibration_warns_outside_its_gsd_and_names_its_imagery():
    cal = Calibration({"small_vehicle": ClassCalibration([40] * 3, [35, 30, 33], [2, 1, 0], ["a", "b", "c"])},
                      meta={"gsd_m_min": 0.13, "gsd_m_max": 0.15, "sensor": "KIT 3K camera", "kind": "urban streets"})
    assert not [w for w in cal.warnings(0.15) if "GSD" in w or " m:" in w]
    assert any("0.5 m" in w for w in cal.warnings(0.5))
    assert any("KIT 3K camera" in w and "urban streets" in w for w in cal.warnings(0.15))
