"""Vehicle counts per zone and class: the stable table behind counts.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geotally.analysis.queues import PARKED
from geotally.config.defaults import SIZE_CLASSES
from geotally.models.classes import VEHICLE_CLASSES

ALL = "ALL"
COLUMNS = ["date", "zone", "class", "count"]
SIZE_TABLE = "counts_by_size.csv"  # vehicles per date, zone and size class


def count_table(zone: np.ndarray, cls: np.ndarray, zone_names: list[str],
                classes: tuple[str, ...] = VEHICLE_CLASSES) -> pd.DataFrame:
    """One row per (zone, class), zeros included, then ``zone=ALL`` totals per class.

    Only vehicle classes are counted; other detections (ships, planes…) stay in the
    detections file but not in this table.
    """
    one_key = np.full(len(zone), "", dtype=object)
    table = count_by(zone, cls, one_key, "_", zone_names, classes, keys=[""])
    return table.drop(columns="_").reset_index(drop=True)[COLUMNS[1:]]


def count_by(zone: np.ndarray, cls: np.ndarray, key: np.ndarray, key_name: str, zone_names: list[str],
             classes: tuple[str, ...] = VEHICLE_CLASSES, keys: list[str] | None = None) -> pd.DataFrame:
    """Counts per zone, a second key (activity, distance band…) and class, with zone=ALL totals.

    ``keys`` fixes the key values listed (zeros included); by default those present."""
    zone = np.asarray(zone, dtype=object).astype(str)
    cls = np.asarray(cls, dtype=object).astype(str)
    key = np.asarray(key, dtype=object).astype(str)
    keys = keys if keys is not None else sorted(set(key.tolist()))
    zones_order = list(dict.fromkeys(list(zone_names) + sorted(set(zone.tolist()) - set(zone_names))))
    rows = []
    for z in zones_order + [ALL]:
        in_zone = np.ones(len(zone), bool) if z == ALL else zone == z
        for k in keys:
            for c in classes:
                rows.append((z, k, c, int(np.count_nonzero(in_zone & (key == k) & (cls == c)))))
    return pd.DataFrame(rows, columns=["zone", key_name, "class", "count"])


def size_table(zone: np.ndarray, cls: np.ndarray, size: np.ndarray, zone_names: list[str]) -> pd.DataFrame:
    """Vehicles (either class) per zone and size class, zeros included, with zone=ALL totals: the rows
    of one zone sum to its vehicles in counts.csv."""
    veh = np.isin(np.asarray(cls, dtype=object).astype(str), VEHICLE_CLASSES)
    one_key = np.full(int(veh.sum()), "", dtype=object)
    table = count_by(np.asarray(zone, dtype=object)[veh], np.asarray(size, dtype=object)[veh], one_key, "_",
                     zone_names, SIZE_CLASSES, keys=[""])
    return table.drop(columns="_").rename(columns={"class": "size_class"}).reset_index(drop=True)


def size_claim_table(by_size: pd.DataFrame | None, claim_class: str) -> pd.DataFrame:
    """Per date and zone the count of a claimed size class (``heavy``: rigid trucks and articulated,
    10 m and longer), in counts.csv's columns, for check_claims."""
    from geotally.analysis.model_error import SIZE_GROUPS

    if by_size is None or not len(by_size):
        return pd.DataFrame(columns=COLUMNS)
    sel = by_size[by_size["size_class"].isin(SIZE_GROUPS[claim_class])]
    out = sel.groupby(["date", "zone"], sort=False, as_index=False)["count"].sum()
    return out.assign(**{"class": claim_class})[COLUMNS]


def claim_counts(counts: pd.DataFrame, tables: dict, claim_class: str) -> pd.DataFrame:
    """The table a claim of ``claim_class`` is tested against: counts.csv for a vehicle class, the size
    table for a size class, counts_by_type.csv for a trailer type."""
    from geotally.analysis.model_error import SIZE_GROUPS
    from geotally.analysis.types import claim_table

    if claim_class in SIZE_GROUPS:
        return size_claim_table(tables.get(SIZE_TABLE), claim_class)
    return claim_table(counts, tables, claim_class)


def band_names(edges: tuple[float, ...]) -> list[str]:
    """The bands' labels in order: '0-1000', '1000-5000', '5000+' for edges 0, 1000, 5000, after
    '<E' when the first edge E is above 0."""
    e = sorted(float(x) for x in edges)
    inner = [f"{e[i]:g}-{e[i + 1]:g}" for i in range(len(e) - 1)] + [f"{e[-1]:g}+"]
    return ([f"<{e[0]:g}"] if e[0] > 0 else []) + inner


def band_labels(distance_m: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    """Each distance to the border's band label (see band_names)."""
    e = np.asarray(sorted(edges), float)
    names = band_names(edges)
    labels = np.array(names[1:] if e[0] > 0 else names, dtype=object)
    idx = np.searchsorted(e, np.asarray(distance_m, float), side="right") - 1
    return np.where(idx >= 0, labels[np.maximum(idx, 0)], f"<{e[0]:g}").astype(object)


def add_intervals(counts: pd.DataFrame, cal, detections: pd.DataFrame | None = None) -> pd.DataFrame:
    """Columns ``estimate``, ``lo95`` and ``hi95`` from a calibration, per zone and class (a review
    sample of the scene itself needs the detections, to check they are the ones it sampled)."""
    from geotally.analysis.calibration import interval

    if hasattr(cal, "count_intervals"):
        return cal.count_intervals(counts, detections)

    refused = {c: cal.no_interval(c) for c in set(counts["class"])}  # once per class, not per zone
    est, lo, hi = [], [], []
    for _, row in counts.iterrows():
        c = cal.classes.get(row["class"])
        if c is None or refused[row["class"]]:
            est.append(None), lo.append(None), hi.append(None)
            continue
        e, a, b = interval(int(row["count"]), c)
        est.append(e), lo.append(a), hi.append(b)
    return counts.assign(estimate=est, lo95=lo, hi95=hi)


def count_tables(detections: pd.DataFrame, zone_names: list[str], cal=None,
                 distance_bands: tuple[float, ...] | None = None, side_names: list[str] | None = None,
                 dates: list[str | None] | None = None,
                 type_confusion: np.ndarray | None = None) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """counts.csv (with intervals when calibrated) and the extra tables by file name: per activity, and
    per border side and distance band when bands were asked for and the detections have sides.

    Every table is per date (a ``date`` column first, empty for undated scenes): the ``zone=ALL``
    rows total the zones of one date, never across dates. ``dates`` lists the run's dates in order,
    so a date with no vehicle still gets its rows of zeros.
    One scene's detections or several merged ones: both go through here, so they get the same files.
    """
    det_dates = _dates(detections)
    order = list(dict.fromkeys([_text(d) for d in (dates if dates is not None else det_dates)] + list(det_dates)))
    counts, activity, bands, sizes = [], [], [], []
    # every activity of the run's kind gets its rows, zeros included (with roads, on or off them), in
    # the alphabetical order the table always had
    activities = sorted(["queue", "on_road", "off_road"] if "on_road" in detections else ["queue", PARKED])
    for d in order:
        part = detections[det_dates == d]
        zone, cls = part["zone"].to_numpy(), part["class"].to_numpy()
        c = count_table(zone, cls, zone_names)
        if cal is not None:
            c = add_intervals(c, cal, part)
        counts.append(c.assign(date=d))
        activity.append(count_by(zone, cls, part["activity"].to_numpy(), "activity", zone_names,
                                 keys=sorted(_with_present(activities, part["activity"]))).assign(date=d))
        if "size_class" in part:
            sizes.append(size_table(zone, cls, part["size_class"].to_numpy(), zone_names).assign(date=d))
        if distance_bands and side_names and "side" in part:
            band = band_labels(part["border_dist_m"].to_numpy(), distance_bands)
            bands.append(count_by(part["side"].to_numpy(), cls, band, "band", list(side_names),
                                  keys=_with_present(band_names(distance_bands), pd.Series(band))).assign(date=d))
    first = lambda frames: (lambda df: df[["date"] + [k for k in df.columns if k != "date"]])(  # noqa: E731
        pd.concat(frames, ignore_index=True))
    tables = {"counts_by_activity.csv": first(activity)}
    if "trailer_type" in detections:  # large vehicles per trailer type (types from the second stage)
        from geotally.analysis.types import type_table

        types = tuple(c[2:] for c in detections.columns if c.startswith("p_"))
        tables["counts_by_type.csv"] = type_table(detections, zone_names, types, type_confusion, order)
    if bands:
        tables["counts_by_band.csv"] = first(bands)
    if sizes:
        tables[SIZE_TABLE] = first(sizes)
    return first(counts), tables


def _with_present(keys: list[str], values: pd.Series) -> list[str]:
    """``keys``, then any other value present (so none is dropped)."""
    return keys + sorted(set(values.astype(str)) - set(keys))


def _text(d) -> str:
    return "" if d is None or (isinstance(d, float) and d != d) else str(d)


def _dates(detections: pd.DataFrame) -> np.ndarray:
    """Each detection's date as text ('' when undated)."""
    if "date" not in detections:
        return np.full(len(detections), "", dtype=object)
    return np.array([_text(d) for d in detections["date"].to_numpy()], dtype=object)


def check_claims(claim: dict[str, float], counts: pd.DataFrame, cls: str = "large_vehicle",
                 model_rates: dict | None = None, scene_gsd: float | dict[str, float] | None = None,
                 calibrated: bool = False, coverage: pd.DataFrame | None = None) -> list[dict]:
    """Per date and claimed zone: the claim, the raw count, the interval if any, and a verdict.

    A scene calibration (``calibrated``: the table's intervals) always decides; without one, a claim
    is judged against the model's own validated rates (``model_rates``, its registry entry's
    error_rates) at the date's GSD (``scene_gsd``: one for all, or by date), and the row says so
    (``rates``, ``rates_source``). Where ``coverage`` (coverage.csv) says a date imaged only part of
    a zone, the row says so (``observed_share``, ``note``): its count, interval and verdict are of that
    part. (A zone may be a whole country's side, of which a scene only ever shows a corner, so the
    verdict is kept; a claim meant for all of a yard the imagery shows half of is not.)"""
    dates = counts["date"] if "date" in counts else [""] * len(counts)
    table = counts.assign(date=[_text(d) for d in dates]).set_index(["date", "zone", "class"])
    seen = {} if coverage is None else {(_text(d), z): (share, state) for d, z, share, state in
                                        coverage[["date", "zone", "observed_share", "coverage"]].itertuples(index=False)}
    rows = []
    for date in dict.fromkeys(table.index.get_level_values(0)):
        gsd = scene_gsd.get(date) if isinstance(scene_gsd, dict) else scene_gsd
        for zone, claimed in claim.items():
            row = _claim_row(table, date, zone, cls, claimed, model_rates, gsd, calibrated)
            share, state = seen.get((date, zone), (None, "ok"))
            if "raw_count" in row and state != "ok" and share is not None and share == share:
                row.update(observed_share=float(share), note=f"the imagery{' of ' + date if date else ''} covers "
                           f"{share:.0%} of {zone}: the count, its interval and the verdict are of that part")
            rows.append(row)
    return rows


def _claim_row(table: pd.DataFrame, date: str, zone: str, cls: str, claimed: float, model_rates: dict | None,
               scene_gsd: float | None, calibrated: bool) -> dict:
    """One claim tested against one date's count (and its interval: the scene calibration's, else the model's)."""
    from geotally.analysis.calibration import verdict
    from geotally.analysis.model_error import default_claim

    base = {"date": date, "zone": zone, "class": cls, "claimed": claimed}
    if (date, zone, cls) not in table.index:
        return dict(base, verdict="zone not in results")
    row = table.loc[(date, zone, cls)]
    item = dict(base, raw_count=int(row["count"]))
    if "lo95" in table.columns and row["lo95"] is not None and row["lo95"] == row["lo95"]:
        item.update(estimate=row["estimate"], lo95=row["lo95"], hi95=row["hi95"],
                    verdict=verdict(claimed, row["lo95"], row["hi95"]), rates="scene calibration")
    elif calibrated:
        item.update(verdict=f"untested: the calibration gives no interval for {cls}", rates="scene calibration")
    else:
        item = default_claim(item, model_rates, scene_gsd)
    return item
