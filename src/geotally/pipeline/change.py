"""Comparing dates from results folders: a multi-date run's consecutive dates, or two runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from geotally.analysis.calibration import Calibration
from geotally.analysis.change import change_point, compare, series
from geotally.analysis.model_error import SIZE_GROUPS, date_gsd
from geotally.config.defaults import HEAVY
from geotally.config.limits import iso_date
from geotally.errors import GeotallyError
from geotally.imagery.offline import read_local_vector
from geotally.models.classes import VEHICLE_CLASSES
from geotally.store.summary import RunSummary, read_summary
from geotally.zones.assign import OUTSIDE


def _counts(folder: Path) -> pd.DataFrame:
    """counts.csv, and the vehicles per size class (counts_by_size.csv) as rows of their own, class = size
    class, with ``heavy`` (rigid trucks and articulated, 10 m and longer: what claims of trucks mean)."""
    counts = pd.read_csv(folder / "counts.csv", keep_default_na=False, dtype={"date": str, "zone": str})
    if (folder / "counts_by_size.csv").exists():
        sizes = pd.read_csv(folder / "counts_by_size.csv", keep_default_na=False, dtype={"date": str, "zone": str})
        area = [c for c in ("observed_share", "coverage") if c in counts]  # the zone's imaged share, per date
        if area:
            sizes = sizes.merge(counts[["date", "zone", *area]].drop_duplicates(["date", "zone"]), on=["date", "zone"],
                                how="left")
        sizes = sizes.rename(columns={"size_class": "class"})
        heavy = sizes[sizes["class"].isin(SIZE_GROUPS[HEAVY])].groupby(["date", "zone"], sort=False, as_index=False).agg(
            {"count": "sum", **{c: "first" for c in ("observed_share", "coverage") if c in sizes}})
        counts = pd.concat([counts, sizes, heavy.assign(**{"class": HEAVY})], ignore_index=True)
    return counts


def _calibration(summaries: list[RunSummary]) -> Calibration | None:
    """The runs' calibration when they share one; none when uncalibrated; an error when they differ."""
    cals = [s.calibration for s in summaries]
    if not all(cals):
        return None
    if len({c["source_sha256"] for c in cals}) > 1:
        raise GeotallyError("the runs were calibrated from different evaluations; recount them with one "
                            "--calibration to compare them")
    path = cals[0].get("file")
    if not path or not Path(path).is_file():
        raise GeotallyError(f"the runs' calibration file {path} is no longer there; recount with --calibration")
    return Calibration.load(path)


def _date_gsd(summary: RunSummary) -> dict[str, float]:
    """Each date's GSD in a run, as its claims were judged at (summary.json keeps each scene's x and y GSD)."""
    return date_gsd([sc.date for sc in summary.scenes], [np.sqrt(sc.gsd_m[0] * sc.gsd_m[1]) for sc in summary.scenes])


def _default_rates(summaries: list[RunSummary], gsd_a: float | None, gsd_b: float | None):
    """What judges a change without a calibration: the model's validated rates where both runs used one
    model and both dates take its rates at one GSD (model_error.default_rates), else why not."""
    from geotally.analysis.model_error import at_conf, default_rates
    from geotally.models.registry import get_spec

    models = {(s.model.name, s.model.sha256) for s in summaries}
    if len(models) != 1:
        return "the runs used different models (count them with one)"
    name = next(iter(models))[0]
    try:
        card = (get_spec(name).card or {}) if name else {}
    except GeotallyError:  # weights of the user's own: no validated rates
        card = {}
    # the runs keep detections at one set of thresholds (_same_settings; one run for a series)
    block = at_conf(card.get("error_rates"), card.get("conf"), summaries[0].parameters.get("conf"))
    if gsd_a is None or gsd_b is None:
        return "a date's GSD is unknown"
    return default_rates(block, gsd_a, gsd_b)


def _iso(text: str) -> bool:
    """Whether ``text`` is a date (an undated run is named by its folder instead)."""
    try:
        return iso_date(text) == text
    except GeotallyError:
        return False


def _same_zones(a: RunSummary, b: RunSummary, fa: Path, fb: Path) -> None:
    """Two runs compare only over the same zones and sides: zones are matched by name, so a zones file
    redrawn, or a border whose sides were named the other way round, would compare one area with
    another unsaid (a recount with --sides swapped showed IQ 42 -> 19, TR 19 -> 42 for one image)."""
    fix = f"recount {fb} with the --zones, --border and --sides of {fa} to compare them"
    # without --zones, the zones are the border's sides and summary.json names the border file for them
    own = lambda r: None if r.zones is None or (r.border and r.zones.get("file") == r.border.get("file")) else r.zones  # noqa: E731
    for what, ra, rb in (("zones", own(a), own(b)), ("border", a.border, b.border)):
        if (ra is None) != (rb is None):
            has, lacks = (fa, fb) if ra is not None else (fb, fa)
            raise GeotallyError(f"{has} was counted with {what} and {lacks} without; {fix}")
        if ra is not None and ra.get("sha256") != rb.get("sha256"):
            raise GeotallyError(f"the runs' {what} files differ ({ra.get('file')} and {rb.get('file')}: their checksums "
                                f"differ); {fix}")
    if own(a) is not None and a.zones.get("field") != b.zones.get("field"):
        raise GeotallyError(f"the runs name their zones by different fields ({a.zones.get('field')!r} and "
                            f"{b.zones.get('field')!r}); {fix}")
    if a.border is not None:
        sides = [(r.get("left_side"), r.get("right_side")) for r in (a.border, b.border)]
        if sides[0] != sides[1]:
            raise GeotallyError(f"the runs name the border's sides differently (left, right: {', '.join(sides[0])} "
                                f"in {fa}, {', '.join(sides[1])} in {fb}); {fix}")


# The run parameters that decide what counts.csv and the size classes count (summary.json's parameters):
# two runs that differ in one compare the settings, not the dates. Queue rules shape only the queue
# columns, roads only what is on them, threads and batch nothing; the model is judged apart (a change
# between models is "untested").
COUNTED_BY = ("conf", "model_iou", "seam_iou", "tile_size", "overlap", "model_gsd", "size_thresholds_m", "on_road_only")


def _same_settings(a: RunSummary, b: RunSummary, fb: Path) -> None:
    """Refuse two runs counted with different settings: a recount of one with --conf 0.9 gave a
    "decrease (consistent with the data)" of 19 trucks that was the threshold's alone."""
    differ = [k for k in COUNTED_BY if a.parameters.get(k) != b.parameters.get(k)]
    if differ:
        shown = "; ".join(f"{k} {json.dumps(a.parameters.get(k))} and {json.dumps(b.parameters.get(k))}" for k in differ)
        raise GeotallyError(f"the runs were counted with different settings ({shown}): their difference would be the "
                            f"settings', not the dates'; recount {fb} with the other's (or count both again with one)")


def change(results: list[str | os.PathLike]) -> tuple[pd.DataFrame, dict | None]:
    """Differences between dates per zone and class (see geotally.analysis.change), and the largest
    step of the trucks in all zones."""
    folders = [Path(r) for r in results]
    if len(folders) not in (1, 2):
        raise GeotallyError("change takes one multi-date results folder, or two results folders")
    if len(folders) == 2 and folders[0].resolve() == folders[1].resolve():
        raise GeotallyError(f"{folders[0]} is given twice; give two results folders, the earlier first")
    summaries = [read_summary(f) for f in folders]  # complete runs only: manifests checked
    cal = _calibration(summaries)
    if len(folders) == 2:
        _same_zones(*summaries, *folders)
        _same_settings(*summaries, folders[1])
    if len(folders) == 1:
        counts = _counts(folders[0])
        if len([d for d in dict.fromkeys(counts["date"]) if d]) < 2:
            raise GeotallyError(f"{folders[0]} holds one date only; give a multi-date run, or two results folders")
        gsd = _date_gsd(summaries[0])
        table = series(counts, cal, default=None if cal else
                       lambda da, db: _default_rates(summaries, gsd.get(da), gsd.get(db)))
    else:
        parts = []
        for f in folders:
            c = _counts(f)
            dates = list(dict.fromkeys(c["date"]))
            if len(dates) != 1:
                raise GeotallyError(f"{f} holds {len(dates)} dates; give one date per folder, or the multi-date "
                                    "folder alone")
            parts.append((c, dates[0] or f.name))
        (a, da), (b, db) = parts
        if da and db and _iso(da) and _iso(db) and da > db:
            raise GeotallyError(f"{folders[0]} ({da}) is later than {folders[1]} ({db}); give the earlier run first")
        ga, gb = (max(_date_gsd(x).values(), default=None) for x in summaries)
        table = compare(a, b, cal, default=None if cal else _default_rates(summaries, ga, gb)).assign(date_a=da, date_b=db)
        table = table[["date_a", "date_b"] + [c for c in table.columns if c not in ("date_a", "date_b")]]
    table = _with_overlap(table, folders)
    table = _with_queues(table, folders)
    if len(folders) == 1:
        table = _with_stationary(table, folders[0])
    return _with_sources(table, folders), change_point(table)


def _with_sources(table: pd.DataFrame, folders: list[Path]) -> pd.DataFrame:
    """The change table with the runs it compares: each folder and the sha256 of its summary.json, which
    names the model, the parameters and every input's checksum (change.csv said none of them)."""
    from geotally.imagery.checksum import file_sha256

    a, b = folders[0].resolve(), folders[-1].resolve()
    return table.assign(results_a=str(a), summary_sha256_a=file_sha256(a / "summary.json"),
                        results_b=str(b), summary_sha256_b=file_sha256(b / "summary.json"))


def _imaged(folder: Path):
    """A run's zones (None without zones) and what each of its dates imaged (zones.gpkg's layers), or None
    where the run has no imaged layer (one written before there was one)."""
    import pyogrio

    path = folder / "zones.gpkg"
    layers = {n for n, _ in pyogrio.list_layers(path)} if path.exists() else set()
    if "imaged" not in layers:
        return None
    return (read_local_vector(path, prefer="zones") if "zones" in layers else None), \
        read_local_vector(path, prefer="imaged")


def _with_overlap(table: pd.DataFrame, folders: list[Path]) -> pd.DataFrame:
    """The change table with ``imaged_overlap``: per row's zone, the share of what either date imaged
    that both did; and "not comparable" where a date imaged part of the zone only and the two dates
    imaged different parts of it. Equal imaged shares passed for comparable: the two halves of a zone
    at 50% each compared two areas, not two dates."""
    import shapely

    from geotally.analysis.coverage import CoverageParams, imaged_overlap

    got = [_imaged(f) for f in folders]
    if not len(table) or any(g is None for g in got):
        return table
    (zones, ia), ib = got[0], got[-1][1]
    if (ia.crs is None) != (ib.crs is None):
        return table  # one run in pixel space: no common ground to compare
    ib = ib.to_crs(ia.crs) if ia.crs is not None and ib.crs != ia.crs else ib
    if zones is not None:
        zones = zones.to_crs(ia.crs) if ia.crs is not None and zones.crs != ia.crs else zones
        names = zones["name"].astype(str).tolist() + ["ALL"]
        polys = np.r_[zones.geometry.to_numpy(), [shapely.union_all(zones.geometry.to_numpy())]]
    seen_a = dict(zip(ia["date"].fillna("").astype(str), ia.geometry))
    seen_b = dict(zip(ib["date"].fillna("").astype(str), ib.geometry))
    if len(folders) == 2:  # one date a folder: its one footprint, whatever the row calls the date
        if len(seen_a) != 1 or len(seen_b) != 1:
            return table
        keys = [("a", "b")] * len(table)
        seen_a, seen_b = {"a": next(iter(seen_a.values()))}, {"b": next(iter(seen_b.values()))}
    else:
        keys = list(zip(table["date_a"].astype(str), table["date_b"].astype(str)))
    share = {}
    for da, db in dict.fromkeys(keys):
        if da in seen_a and db in seen_b:
            if zones is None:  # the count is of what was imaged: ALL (and "outside" every zone) is that area
                names, polys = ["ALL", OUTSIDE], np.array([shapely.union(seen_a[da], seen_b[db])] * 2, dtype=object)
            share[(da, db)] = dict(zip(names, imaged_overlap(polys, seen_a[da], seen_b[db])))
    overlap = np.array([share.get(k, {}).get(z, np.nan) for k, z in zip(keys, table["zone"].astype(str))], float)
    out = table.assign(imaged_overlap=np.round(overlap, 4))
    params = CoverageParams()
    partial = np.full(len(out), zones is None)  # without zones each date's area is what it imaged: always check
    for col in ("observed_share_a", "observed_share_b"):
        if col in out:
            partial |= pd.to_numeric(out[col], errors="coerce").to_numpy(float) < params.min_share
    apart = partial & (overlap < 1 - params.share_gap) & ~out["verdict"].astype(str).str.startswith("not comparable")
    out.loc[apart, "verdict"] = [f"not comparable: the dates imaged different parts of the zone (both imaged {x:.0%} "
                                 "of what either did)" for x in overlap[apart]]
    return out


def _with_stationary(table: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """The change table with, per row, how many of date B's vehicles stood where one stood on date A
    (the date before; stationary.csv of a multi-date run) and how many did not."""
    path = folder / "stationary.csv"
    if not len(table) or not path.exists():
        return table
    st = pd.read_csv(path, keep_default_na=False, dtype={"date": str})
    both = pd.concat([st, st.assign(zone="ALL")], ignore_index=True)
    sums = both.groupby(["date", "zone", "class"])[["stationary", "not_stationary"]].sum()
    idx = pd.MultiIndex.from_arrays([table["date_b"].astype(str), table["zone"].astype(str), table["class"].astype(str)])
    # stationary.csv is per detector class: a size class's row (articulated, car...) has no figure, not zero
    known = table["class"].isin(VEHICLE_CLASSES).to_numpy()
    pick = lambda col: pd.array(np.where(known, sums[col].reindex(idx).fillna(0).to_numpy(), np.nan), dtype="Int64")  # noqa: E731
    return table.assign(stationary_b=pick("stationary"), not_stationary_b=pick("not_stationary"))


def _queue_totals(folder: Path) -> pd.DataFrame:
    """Queues (the lanes of one multi-lane queue counted once) and their total lane length per date and
    zone (and for ALL zones) of one results folder."""

    from geotally.store.queues import lane_groups

    path = folder / "queues.gpkg"
    q = read_local_vector(path) if path.exists() else pd.DataFrame(columns=["date", "zone", "length_km"])
    q = pd.DataFrame({"date": q["date"].fillna("").astype(str) if "date" in q else "", "zone": q["zone"].astype(str),
                      "length_km": q["length_km"].astype(float), "group": lane_groups(q)})
    both = pd.concat([q, q.assign(zone="ALL")], ignore_index=True)
    return both.groupby(["date", "zone"]).agg(queues=("group", "nunique"), queue_length_km=("length_km", "sum"))


def _with_queues(table: pd.DataFrame, folders: list[Path]) -> pd.DataFrame:
    """The change table with each date's queues and total queue length in the row's zone."""
    if not len(table):
        return table
    totals = [_queue_totals(f) for f in folders]
    qa, qb = totals[0], totals[-1]
    out = table.copy()
    for side, q, date_col in (("a", qa, "date_a"), ("b", qb, "date_b")):
        dates = out[date_col].astype(str)
        if len(folders) == 2:  # one date per folder: its own undated or dated rows
            dates = pd.Series([q.index.get_level_values(0)[0] if len(q) else ""] * len(out), index=out.index)
        idx = pd.MultiIndex.from_arrays([dates, out["zone"].astype(str)])
        out[f"queues_{side}"] = q["queues"].reindex(idx).fillna(0).astype(int).to_numpy()
        out[f"queue_length_km_{side}"] = q["queue_length_km"].reindex(idx).fillna(0.0).round(3).to_numpy()
    return out
