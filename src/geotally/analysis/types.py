"""Counts per trailer type, corrected for the classifier's confusions, with intervals.

The classifier's confusion matrix C (rows: true type, columns: predicted type; measured on real
labelled crops held out from training, in the model card) says how true types spread over the
predicted ones. Observed type counts n are then about C^T t for true counts t. Per zone, we draw
C's rows from Dirichlet(confusion counts + 1/2), resample the zone's typed vehicles (multinomial
with the observed shares) and solve for t >= 0 (non-negative least squares); the median of the
draws is the estimate and the 2.5% and 97.5% points the 95% interval. The correction covers type
confusion only: missed and false detections are the detection calibration's business.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

N_DRAWS = 400


def corrected(observed: np.ndarray, confusion: np.ndarray, n_draws: int = N_DRAWS,
              seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimate, low and high (per type) of the true type counts behind ``observed`` predicted counts."""
    observed = np.asarray(observed, float)
    k, total = len(observed), observed.sum()
    if total == 0:
        z = np.zeros(k)
        return z, z, z
    from scipy.optimize import nnls  # here, not above: SciPy's optimiser costs 0.3 s to import and
    # only a run with a confusion matrix (trailer types at a fine enough GSD) gets here

    rng = np.random.default_rng(seed)
    counts = np.asarray(confusion, float)
    draws = np.zeros((n_draws, k))
    for d in range(n_draws):
        c = np.vstack([rng.dirichlet(row + 0.5) for row in counts])
        obs = rng.multinomial(int(total), observed / total)
        draws[d], _ = nnls(c.T, obs.astype(float))
    return np.median(draws, axis=0), np.quantile(draws, 0.025, axis=0), np.quantile(draws, 0.975, axis=0)


def type_table(detections: pd.DataFrame, zone_names: list[str], types: tuple[str, ...],
               confusion: np.ndarray | None, dates: list[str]) -> pd.DataFrame:
    """counts_by_type.csv: per date, zone (and ALL) and type, the large vehicles' count, and with a
    confusion matrix the corrected estimate and its 95% interval. Types ``unknown`` (a scene too
    coarse to type) are counted as such and never corrected."""
    large = detections[detections["class"] == "large_vehicle"] if len(detections) else detections
    det_dates = large["date"].fillna("").astype(str).to_numpy() if "date" in large else np.full(len(large), "")
    names = list(types) + ["unknown"]
    rows = []
    for date in dates:
        part = large[det_dates == date]
        for zone in [*zone_names, "ALL"]:
            z = part if zone == "ALL" else part[part["zone"].astype(str) == zone]
            obs = np.array([int((z["trailer_type"] == t).sum()) for t in names]) if len(z) else np.zeros(len(names), int)
            est = lo = hi = np.full(len(types), np.nan)
            if confusion is not None:
                est, lo, hi = corrected(obs[:len(types)], confusion)
            for i, t in enumerate(names):
                row = {"date": date, "zone": zone, "class": t, "count": int(obs[i])}
                if confusion is not None:
                    row.update(estimate=float(est[i]) if i < len(types) else None,
                               lo95=float(lo[i]) if i < len(types) else None,
                               hi95=float(hi[i]) if i < len(types) else None)
                rows.append(row)
    return pd.DataFrame(rows)


def claim_table(counts: pd.DataFrame, tables: dict, claim_class: str) -> pd.DataFrame:
    """The table a claim of ``claim_class`` is tested against: counts.csv for a vehicle class,
    counts_by_type.csv (its corrected estimates, when there are any) for a trailer type."""
    from geotally.models.trailers import TRAILER_TYPES

    if claim_class not in TRAILER_TYPES:
        return counts
    by_type = tables.get("counts_by_type.csv")
    if by_type is None:
        return counts.iloc[0:0]
    return by_type
