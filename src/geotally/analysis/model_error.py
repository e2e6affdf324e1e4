"""The model's own error rates, measured on its validation scenes, as a default calibration for claims.

A model's registry entry may carry an ``error_rates`` block (written by ``python -m
benchmarks.model_error --write``): per validated GSD and per class or size class, the labelled
vehicles, true positives and false detections of each scene group of the validation data. Without a
scene-specific calibration, a claim is judged against the interval those rates give (the spread between
scene groups carried into it, as for ``geotally calibrate --group``), and the verdict says that the rates
come from the validation scenes, not from the scene counted. Where the scene's GSD is outside what was
validated, or the rates give no useful interval, the claim stays untested, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geotally.analysis.calibration import GSD_SLACK, Calibration, ClassCalibration, interval, verdict
from geotally.config.defaults import HEAVY, SIZE_CLASSES
from geotally.config.thresholds import same_thresholds, thresholds_text
SIZE_GROUPS = {**{s: (s,) for s in SIZE_CLASSES}, HEAVY: ("rigid_truck", "articulated")}
LEVEL_COVERAGE = 0.90  # a default interval is given only where leave-one-group-out coverage reached this
BETWEEN = "random-effects"  # the model's rates carry the spread between validation groups net of sampling noise
REVIEW = "review a sample for a scene-specific answer"


def truth_size(length_m: np.ndarray) -> np.ndarray:
    """Size class of labelled vehicles from their lengths (the count's own thresholds)."""
    from geotally.analysis.sizes import size_class

    return size_class(np.asarray(length_m, float)) if len(length_m) else np.zeros(0, dtype=object)


def source_text(block: dict, gsd_key: str) -> str:
    """Where the default rates come from, in plain words."""
    return (f"rates from the model's validation scenes ({block.get('data', 'validation data')}; "
            f"{block.get('split', 'val')} split, at {gsd_key} m), not from this scene; {REVIEW}")


def at_conf(block: dict | None, validated: dict | None, kept: dict | None) -> dict | None:
    """The model's error rates for a run whose detections were kept at ``kept`` score thresholds: as
    they are where those are the ``validated`` ones (the model's default --conf, at which they were
    measured), else marked refused, with why (a run at --conf 0.5 was judged with rates of 0.25)."""
    if not block or not isinstance(validated, dict) or not isinstance(kept, dict) or same_thresholds(validated, kept):
        return block
    return dict(block, refused=f"the model's error rates were measured at its default --conf "
                               f"({thresholds_text(validated)}); this run keeps {thresholds_text(kept)}: count at the "
                               f"default for a verdict, or {REVIEW}")


def pick_gsd(block: dict, scene_gsd: float) -> tuple[str | None, str | None]:
    """The validated GSD nearest the scene's (in ratio), or None and why not."""
    if block.get("refused"):
        return None, block["refused"]
    keys = sorted(block.get("gsds", {}), key=float)
    if not keys:
        return None, "the model carries no validated error rates"
    lo, hi = float(keys[0]), float(keys[-1])
    if not lo / GSD_SLACK <= scene_gsd <= hi * GSD_SLACK:
        return None, (f"the scene's GSD ({scene_gsd:.3g} m) is outside the {lo:g}-{hi:g} m at which the model's "
                      f"error rates were validated; {REVIEW}")
    return min(keys, key=lambda k: abs(np.log(float(k) / scene_gsd))), None


def date_gsd(dates, gsds) -> dict[str, float]:
    """Each date's GSD ('' undated) from its scenes' (date, GSD in metres): the coarsest, whose error rates
    judge the date's claims and changes."""
    out: dict[str, float] = {}
    for d, gsd in zip(dates, gsds):
        out[d or ""] = max(out.get(d or "", 0.0), float(gsd))
    return out


def class_calibration(rates: dict) -> ClassCalibration:
    """A stored class entry (per scene group: labelled, found, false) as a grouped calibration."""
    return ClassCalibration(list(rates["n_truth"]), list(rates["tp"]), list(rates["fp"]), list(rates["groups"]),
                            between=BETWEEN)


def default_interval(block: dict | None, cls: str, raw: int,
                     scene_gsd: float) -> tuple[tuple[float, float, float] | None, str]:
    """(estimate, lo95, hi95) for a raw count of ``cls`` from the model's validated rates, and where the
    rates come from; or None and the reason no interval is given."""
    if not block:
        return None, f"the model carries no validated error rates (run with --calibration, or {REVIEW})"
    key, why = pick_gsd(block, scene_gsd)
    if key is None:
        return None, why
    rates = block["gsds"][key].get(cls)
    if rates is None:
        return None, f"the model's error rates at {key} m have no {cls}; {REVIEW}"
    if rates.get("no_interval"):
        return None, f"no default interval for {cls} at {key} m: {rates['no_interval']}; {REVIEW}"
    cal = class_calibration(rates)
    refused = Calibration({cls: cal}, source="model validation").no_interval(cls)
    if refused:
        return None, f"no default interval for {cls} at {key} m: {refused.split(' (review')[0]}; {REVIEW}"
    return widened(interval(int(raw), cal), float(rates.get("widen", 1.0))), source_text(block, key)


@dataclass(frozen=True)
class DefaultRates:
    """The model's validated rates at one GSD, as the calibration of a comparison of two dates: the
    classes with an interval, each one's stretch, where the rates come from, and why the others have none."""

    calibration: Calibration
    widen: dict[str, float]
    source: str
    refused: dict[str, str]


def default_rates(block: dict | None, gsd_a: float, gsd_b: float) -> DefaultRates | str:
    """The rates that judge a change between dates imaged at ``gsd_a`` and ``gsd_b`` without a scene
    calibration (the rates claims use, at the validated GSD nearest both), or why there are none: both
    dates must take the rates of one validated GSD, since the difference's interval shares them."""
    if not block:
        return f"the model carries no validated error rates (count with --calibration, or {REVIEW})"
    (key_a, why_a), (key_b, why_b) = pick_gsd(block, gsd_a), pick_gsd(block, gsd_b)
    if key_a is None or key_b is None:
        return why_a or why_b
    if key_a != key_b:
        return (f"the dates' GSDs ({gsd_a:.3g} and {gsd_b:.3g} m) take the model's error rates at {key_a} and "
                f"{key_b} m; compare dates of one GSD, or {REVIEW}")
    classes, widen, refused = {}, {}, {}
    for cls, rates in block["gsds"][key_a].items():
        cal = class_calibration(rates)
        why = rates.get("no_interval") or Calibration({cls: cal}, source="model validation").no_interval(cls)
        if why:
            refused[cls] = f"no default interval for {cls} at {key_a} m: {str(why).split(' (review')[0]}; {REVIEW}"
        else:
            classes[cls], widen[cls] = cal, float(rates.get("widen", 1.0))
    return DefaultRates(Calibration(classes, source="model validation"), widen, source_text(block, key_a), refused)


def widened(iv: tuple[float, float, float], k: float, floor: float | None = 0.0) -> tuple[float, float, float]:
    """An interval stretched ``k`` times about its estimate (the rule measured on the tune split), never below
    ``floor`` (a count's 0; None for a difference between dates, which may be negative)."""
    est, lo, hi = iv
    lo = est - k * (est - lo)
    return est, lo if floor is None else max(floor, lo), est + k * (hi - est)


def default_claim(item: dict, block: dict | None, scene_gsd: float | None) -> dict:
    """A claim row without a scene calibration, judged against the model's own rates where they allow."""
    if "raw_count" not in item:
        return item
    if scene_gsd is None:
        return dict(item, verdict="untested: counts are uncorrected (run with --calibration)")
    got, text = default_interval(block, item["class"], item["raw_count"], scene_gsd)
    if got is None:
        return dict(item, verdict=f"untested: {text}", rates="none")
    est, lo, hi = got
    return dict(item, estimate=est, lo95=lo, hi95=hi, verdict=verdict(item["claimed"], lo, hi),
                rates="model validation (default)", rates_source=text)
