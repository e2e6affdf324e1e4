"""Observed area per zone and date: how much of each zone the scenes' valid pixels cover, vehicles
per km² of it, and a flag where a date covers less than ``CoverageParams.min_share`` of a zone.

A count over half a zone must never be compared with a count over all of it, so counts.csv carries
each row's observed share and ``coverage`` ('ok' or 'partial'), and ``geotally change`` says when
it compares a partial date.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from geotally.geo.metric import metric_geometries
from geotally.zones.assign import OUTSIDE

COVERAGE_COLUMNS = ["date", "zone", "zone_km2", "observed_km2", "observed_share", "coverage"]


@dataclass(frozen=True)
class CoverageParams:
    """Every coverage default, declared once."""

    min_share: float = 0.9  # a date that images less of a zone than this is 'partial' there
    # two dates compare where a zone is partial on either only if they imaged shares of it this close
    # (the same footprint twice: 85% and 85%); further apart they compare different areas, not dates
    share_gap: float = 0.05


def _km2(geoms: np.ndarray, crs) -> np.ndarray:
    """Areas in km² (a local UTM for geographic CRS; pixel-space metres without a CRS)."""
    return shapely.area(metric_geometries(geoms, crs)) / 1e6


def zone_coverage(outlines: dict[str, shapely.Geometry], zones, crs,
                  params: CoverageParams = CoverageParams()) -> pd.DataFrame:
    """coverage.csv: per date (key of ``outlines``, '' undated) and zone, and for ALL zones together."""
    rows = []
    names = list(zones.names) if zones is not None else []
    polys = np.asarray(zones.polygons, dtype=object) if zones is not None else np.zeros(0, dtype=object)
    for date, seen in outlines.items():
        if len(names):
            areas = _km2(np.r_[polys, [shapely.union_all(polys)]], crs)
            got = _km2(np.r_[shapely.intersection(polys, seen), [shapely.intersection(shapely.union_all(polys), seen)]],
                       crs)
            for name, a, g in zip(names + ["ALL"], areas, got):
                share = float(g / a) if a > 0 else float("nan")
                rows.append((date, name, round(float(a), 6), round(float(g), 6), round(share, 4),
                             "ok" if share >= params.min_share else "partial"))
        else:  # no zones: the scenes' own area; a date with no valid pixel at all imaged nothing
            km2 = float(_km2(np.array([seen], dtype=object), crs)[0])
            rows.append((date, "ALL", None, round(km2, 6), None, "ok" if km2 > 0 else "nothing imaged"))
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


def imaged_overlap(zones: np.ndarray, a: shapely.Geometry, b: shapely.Geometry) -> np.ndarray:
    """Per zone, the share of what either date imaged of it that both did (area of zone ∩ a ∩ b over
    zone ∩ (a ∪ b); NaN where neither imaged the zone). Equal imaged shares cannot tell the same half of
    a zone twice (1.0) from its two halves (0.0); this can. Areas in the geometries' own units: a ratio."""
    zones = np.asarray(zones, dtype=object)
    both = shapely.area(shapely.intersection(zones, shapely.intersection(a, b)))
    either = shapely.area(shapely.intersection(zones, shapely.union(a, b)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(either > 0, both / either, np.nan)


def with_coverage(counts: pd.DataFrame, coverage: pd.DataFrame) -> pd.DataFrame:
    """counts.csv with each row's observed km², observed share, vehicles per observed km² and coverage
    ('ok' / 'partial'); rows for vehicles outside every zone have none. Where there are zones, the ALL
    row's density is of the vehicles in them (its area is theirs); without zones, of every vehicle
    over the scenes' area."""
    key = coverage.assign(date=_date_key(coverage))[["date", "zone", "observed_km2", "observed_share", "coverage"]]
    out = counts.assign(_d=_date_key(counts)).merge(
        key.rename(columns={"date": "_d"}), on=["_d", "zone"], how="left").drop(columns="_d")
    km2 = out["observed_km2"].astype(float)
    counted = out["count"].astype(float)
    if (coverage["zone"] != "ALL").any():  # ALL's area is the zones': its density is of the vehicles in them
        outside = counts[counts["zone"] == OUTSIDE]
        outside = pd.Series(outside["count"].to_numpy(float),
                            index=pd.MultiIndex.from_arrays([_date_key(outside), outside["class"]]))
        beyond = outside.reindex(pd.MultiIndex.from_arrays([_date_key(out), out["class"]])).fillna(0).to_numpy()
        counted = np.where(out["zone"] == "ALL", counted - beyond, counted)
    out["per_observed_km2"] = np.where(km2 > 0, np.round(counted / km2, 2), np.nan)
    out.loc[out["zone"] == OUTSIDE, ["observed_km2", "observed_share", "coverage", "per_observed_km2"]] = None
    return out


def _date_key(table: pd.DataFrame) -> pd.Series:
    """A table's dates as text, '' for undated rows: what rows of one date are matched on."""
    return table["date"].fillna("").astype(str)
