"""Change between two dates: per zone and class the difference and ratio of counts and, with a
calibration, the 95% interval of the true difference and what it supports.

Method: the calibration's bootstrap gives draws of the detection and false-positive rates (r, f).
Both dates were counted by the same detector, so each draw is shared by the two dates. Under a
draw, each date's true count N has the likelihood of its raw count that ``calibration.interval``
uses; the draws are weighted by how well they explain both raw counts, N_a and N_b are sampled
from their per-draw posteriors, and the quantiles of N_b - N_a give the estimate and the interval.
The verdict is "increase" or "decrease" only when the interval excludes zero; otherwise "no
detectable change". Words are careful: an increase is "consistent with" the data, never proven.
"""

from __future__ import annotations

import numpy as np

from geotally.analysis.calibration import N_BOOT, ClassCalibration

SAMPLES_PER_DRAW = 20


def _likelihood(raw: int, n: np.ndarray, r: np.ndarray, f: np.ndarray) -> np.ndarray:
    """(len(n), draws) likelihood of a raw count for each true count and rate draw (normal approximation)."""
    mean = n[:, None] * (r + f)[None, :]
    var = np.maximum(n[:, None] * (r * (1 - r) + f)[None, :], 0.25)
    return np.exp(-0.5 * (raw - mean) ** 2 / var) / np.sqrt(var)


def _sample(like: np.ndarray, n: np.ndarray, per_draw: int, rng: np.random.Generator) -> np.ndarray:
    """(draws, per_draw) true counts sampled from each draw's posterior (flat prior on N)."""
    cdf = np.cumsum(like, axis=0)
    total = cdf[-1]
    u = rng.random((like.shape[1], per_draw)) * np.where(total > 0, total, 1.0)[:, None]
    idx = np.array([np.searchsorted(cdf[:, k], u[k]) for k in range(like.shape[1])])
    return n[np.minimum(idx, len(n) - 1)]


def difference_interval(raw_a: int, raw_b: int, cal: ClassCalibration, level: float = 0.95,
                        n_boot: int = N_BOOT, seed: int = 0) -> tuple[float, float, float]:
    """Estimate and ``level`` interval of the true count on date B minus date A."""
    r, f = cal.bootstrap(n_boot, seed)
    rho = max(float(np.median(r + f)), 1e-3)
    top = int(max(raw_a, raw_b) * 3 / rho + 30)
    n = np.arange(top + 1, dtype=float)
    like_a, like_b = _likelihood(raw_a, n, r, f), _likelihood(raw_b, n, r, f)
    weight = like_a.sum(axis=0) * like_b.sum(axis=0)
    if weight.sum() <= 0:
        d = float(raw_b - raw_a)
        return d, d, d
    rng = np.random.default_rng(seed + 1)
    draws = rng.choice(len(r), size=len(r), p=weight / weight.sum())
    na = _sample(like_a[:, draws], n, SAMPLES_PER_DRAW, rng)
    nb = _sample(like_b[:, draws], n, SAMPLES_PER_DRAW, rng)
    diff = (nb - na).reshape(-1)
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    return float(np.median(diff)), float(np.quantile(diff, lo_q)), float(np.quantile(diff, hi_q))


def change_verdict(lo: float, hi: float) -> str:
    """What the interval of a difference supports."""
    if lo > 0:
        return "increase (consistent with the data)"
    if hi < 0:
        return "decrease (consistent with the data)"
    return "no detectable change"


def _judged(est: float, lo: float, hi: float) -> dict:
    """A row's interval columns to the hundredth (the quantiles carried float noise: 17.024999999997817)
    and the verdict the interval supports."""
    return {"estimate_difference": round(est, 2), "lo95": round(lo, 2), "hi95": round(hi, 2),
            "verdict": change_verdict(lo, hi)}


def compare(a, b, cal=None, n_boot: int = N_BOOT, default=None):
    """Per zone and class of two counts tables (one date each): counts, difference, ratio and, with a
    calibration (geotally.analysis.calibration.Calibration), the interval of the true difference.
    Without one, ``default`` judges: the model's validated rates (model_error.DefaultRates, their
    interval stretched as claims' are, the row saying where they come from), or why there are none."""
    import pandas as pd

    key = ["zone", "class"]
    m = a[key + ["count"]].merge(b[key + ["count"]], on=key, how="outer", suffixes=("_a", "_b")).fillna(0)
    rows = []
    for z, c, ca, cb in m[key + ["count_a", "count_b"]].itertuples(index=False):
        ca, cb = int(ca), int(cb)
        row = {"zone": z, "class": c, "count_a": ca, "count_b": cb, "difference": cb - ca,
               "ratio": round(cb / ca, 4) if ca else None}
        cc = cal.classes.get(c) if cal is not None else None
        if cc is not None:
            row.update(_judged(*difference_interval(ca, cb, cc, n_boot=n_boot)))
        elif cal is not None:  # a size class, or a class the calibration was not made for
            row["verdict"] = f"untested: the calibration has no {c} rates"
        elif isinstance(default, str):
            row.update(verdict=f"untested: {default}", rates="none")
        elif default is not None and c in default.calibration.classes:
            from geotally.analysis.model_error import widened

            row.update(_judged(*widened(difference_interval(ca, cb, default.calibration.classes[c], n_boot=n_boot),
                                        default.widen[c], floor=None)),  # stretched as the claims' interval is
                       rates="model validation (default)", rates_source=default.source)
        elif default is not None:
            row.update(verdict="untested: " + default.refused.get(c, f"the model's error rates have no {c}"),
                       rates="none")
        else:
            row["verdict"] = "untested: raw counts (count with --calibration for an interval)"
        rows.append(row)
    out = pd.DataFrame(rows)
    if len(out) and "observed_share" in a.columns and "observed_share" in b.columns:
        # A date that imaged less of a zone than the other compares different areas, not dates.
        share = lambda t: t.set_index(key)["observed_share"].replace("", np.nan).astype(float)  # noqa: E731
        sa, sb = share(a).reindex(out.set_index(key).index), share(b).reindex(out.set_index(key).index)
        out["observed_share_a"], out["observed_share_b"] = sa.to_numpy(), sb.to_numpy()
        cov = lambda t: t.set_index(key)["coverage"].reindex(out.set_index(key).index).to_numpy()  # noqa: E731
        from geotally.analysis.coverage import CoverageParams

        gap = np.abs(sa.to_numpy() - sb.to_numpy())
        partial = ((cov(a) == "partial") | (cov(b) == "partial")) & ~(gap <= CoverageParams().share_gap)
        out.loc[partial, "verdict"] = [f"not comparable: the dates imaged {x:.0%} and {y:.0%} of the zone"
                                       for x, y in zip(sa.to_numpy()[partial], sb.to_numpy()[partial])]
    return out


def series(counts, cal=None, n_boot: int = N_BOOT, default=None):
    """Consecutive dates of one counts table compared, with ``date_a`` and ``date_b`` columns;
    ``default(date_a, date_b)`` gives compare's ``default`` for each pair."""
    import pandas as pd

    dates = [d for d in dict.fromkeys(counts["date"].fillna("").astype(str)) if d]
    parts = []
    for da, db in zip(dates, dates[1:]):
        pick = lambda d: counts[counts["date"].fillna("").astype(str) == d]  # noqa: E731
        parts.append(compare(pick(da), pick(db), cal, n_boot, default(da, db) if default else None)
                     .assign(date_a=da, date_b=db))
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    return out[["date_a", "date_b"] + [c for c in out.columns if c not in ("date_a", "date_b")]]


def change_point(table, zone: str = "ALL", cls: str = "large_vehicle") -> dict | None:
    """The largest step between consecutive dates for one zone and class: where it happened and how big."""
    rows = table[(table["zone"] == zone) & (table["class"] == cls)] if len(table) else table
    if len(rows):  # a step into or out of a partly imaged date is a change of area, not of vehicles
        rows = rows[~rows["verdict"].astype(str).str.startswith("not comparable")]
    if not len(rows):
        return None
    k = rows["difference"].abs().to_numpy().argmax()
    r = rows.iloc[k]
    return {"zone": zone, "class": cls, "from": r["date_a"], "to": r["date_b"], "difference": int(r["difference"]),
            "verdict": r["verdict"]}
