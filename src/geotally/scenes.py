"""Several scenes in one run: inputs expanded, each scene counted, results merged.

Inputs may be raster files, directories (their rasters), glob patterns, or a STAC
ItemCollection JSON whose items have local assets. Where two scenes of the same date
overlap, a vehicle is kept only from the scene in which it lies farthest from the
scene's edge, so it is counted once (scenes of different dates are different
observations and are all kept).
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geotally.analysis.counts import check_claims, count_tables
from geotally.analysis.types import claim_table
from geotally.analysis.coverage import with_coverage, zone_coverage
from geotally.analysis.queues import queue_totals
from geotally.api import CountResult, count, open_inputs, run_inputs
from geotally.checks import check_run_options
from geotally.errors import GeotallyError
from geotally.geo.transform import scene_corners
from geotally.imagery.dates import date_from_name, iso_date, raster_date
from geotally.models.classes import VEHICLE_CLASSES
from geotally.roads.config import RouteParams
from geotally.roads.counts import merge_layers, road_counts
from geotally.zones.assign import OUTSIDE

RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".jp2", ".png", ".jpg", ".jpeg"}
DATA_KEYS = ("visual", "image", "data", "analytic")


@dataclass(frozen=True)
class SceneInput:
    path: str
    date: str | None
    from_stac: bool = False  # a STAC datetime outranks the file name and the tags


def _stac(path: Path) -> list[SceneInput]:
    try:
        doc = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        raise GeotallyError(f"{path} is not JSON; give a STAC ItemCollection or raster files") from None
    kind = doc.get("type") if isinstance(doc, dict) else None
    items = doc.get("features") if kind == "FeatureCollection" else [doc] if kind == "Feature" else None
    if not items or not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise GeotallyError(f"{path} is not a STAC Item or ItemCollection with items (a JSON object with "
                            "type Feature or FeatureCollection)")
    out = []
    for item in items:
        assets = item.get("assets") if isinstance(item.get("assets"), dict) else {}
        assets = {k: a for k, a in assets.items() if isinstance(a, dict)}
        hrefs = {k: a.get("href") for k, a in assets.items()}
        bad = [k for k, h in hrefs.items() if not isinstance(h, str) or not h]
        if bad:
            raise GeotallyError(f"STAC item {item.get('id')} in {path}: asset {bad[0]!r} has no href")
        roles = {k: a.get("roles") if isinstance(a.get("roles"), list) else [] for k, a in assets.items()}
        href = next((hrefs[k] for k in assets if "data" in roles[k] or k in DATA_KEYS), None)
        href = href or next((h for h in hrefs.values() if Path(h).suffix.lower() in RASTER_SUFFIXES), None)
        if href is None:
            raise GeotallyError(f"STAC item {item.get('id')} in {path} has no raster asset")
        if "://" in href and not href.startswith("file://"):
            raise GeotallyError(f"STAC item {item.get('id')}: asset {href} is not local; download it first")
        local = Path(href.removeprefix("file://"))
        local = local if local.is_absolute() else (path.parent / local)
        props = item.get("properties") if isinstance(item.get("properties"), dict) else {}
        dt = props.get("datetime")
        out.append(SceneInput(str(local), iso_date(dt, f"STAC item {item.get('id')} datetime")
                              if isinstance(dt, str) and dt else None, from_stac=True))
    return out


def expand(inputs: list[str | os.PathLike], date: str | None = None,
           date_pattern: str | None = None) -> list[SceneInput]:
    """Scene files with their dates, in a stable order (see geotally.imagery.dates for where dates come from)."""
    found: list[SceneInput] = []
    for item in inputs:
        text = str(item)
        p = Path(text)
        if p.suffix.lower() == ".json" and p.exists():
            found += _stac(p)
        elif p.is_dir():
            files = sorted(f for f in p.iterdir() if f.suffix.lower() in RASTER_SUFFIXES)
            if not files:
                raise GeotallyError(f"directory {p} holds no rasters ({', '.join(sorted(RASTER_SUFFIXES))})")
            found += [SceneInput(str(f), raster_date(str(f))) for f in files]
        elif any(ch in text for ch in "*?[") and not p.exists():
            files = sorted(glob.glob(text))
            if not files:
                raise GeotallyError(f"no files match {text}")
            found += [SceneInput(f, raster_date(f)) for f in files]
        else:
            found.append(SceneInput(text, raster_date(text) if p.exists() else None))
    seen, unique = set(), []
    for s in found:
        key = str(Path(s.path).resolve())
        if key not in seen:
            seen.add(key)
            unique.append(s)
    if date_pattern:  # the file name says it, unless STAC did
        unique = [s if s.from_stac and s.date else SceneInput(s.path, date_from_name(s.path, date_pattern))
                  for s in unique]
    if date:
        unique = [SceneInput(s.path, s.date or iso_date(date), s.from_stac) for s in unique]
    return unique


def _footprint(sc, crs) -> shapely.Polygon:
    """A scene's outline, in ``crs`` when both have one."""
    corners = scene_corners(sc.transform, sc.width, sc.height)
    poly = gpd.GeoSeries([shapely.Polygon(corners)], crs=sc.crs)
    return poly.to_crs(crs).iloc[0] if crs is not None and sc.crs is not None else poly.iloc[0]


def owned(results: list[CountResult], dates: list[str | None], crs) -> list[np.ndarray]:
    """Per scene, which of its detections it keeps under the farthest-from-edge rule."""
    feet = [_footprint(r.scene, crs) for r in results]
    keep = []
    for i, r in enumerate(results):
        det = r.detections.to_crs(crs) if crs is not None and r.scene.crs is not None else r.detections
        pts = shapely.centroid(np.asarray(det.geometry.values, dtype=object))
        own = shapely.distance(pts, feet[i].boundary)
        k = np.ones(len(det), bool)
        for j, other in enumerate(feet):
            if j == i or dates[j] != dates[i]:
                continue
            inside = shapely.covers(other, pts)
            theirs = shapely.distance(pts, other.boundary)
            # ties go to the scene listed first, so exactly one scene keeps each vehicle
            k &= ~(inside & ((theirs > own) | ((theirs == own) & (j < i))))
        keep.append(k)
    return keep


def merge(results: list[CountResult], dates: list[str | None], calibration=None, claim=None,
          claim_class: str = "large_vehicle") -> CountResult:
    """One result from several scenes: overlaps counted once, counts and tables recomputed."""
    first = results[0]
    crs = first.detections.crs
    keep = owned(results, dates, crs)
    parts, queues, offset = [], [], 0
    for r, k, date in zip(results, keep, dates):
        det = (r.detections.to_crs(crs) if crs is not None and r.scene.crs is not None else r.detections)[k].copy()
        det["date"] = date
        q = det["queue_id"].to_numpy()
        det["queue_id"] = np.where(q >= 0, q + offset, -1)
        if r.queues is not None and len(r.queues):
            qq = r.queues.to_crs(crs) if crs is not None else r.queues
            qq = qq.assign(queue_id=qq["queue_id"] + offset, scene=Path(r.scene.path).name, date=date)
            queues.append(qq)
            offset += len(r.queues)
        parts.append(det)
    detections = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=crs)
    zone_names = [z for z in dict.fromkeys(first.counts["zone"]) if z not in ("ALL", OUTSIDE)] + [OUTSIDE]
    run_dates = list(dict.fromkeys(sorted(d for d in dates if d) + [None] * (None in dates)))  # dated first, in order
    border = first.summary.get("border")
    counts, tables = count_tables(detections, zone_names, calibration,
                                  first.summary["parameters"].get("distance_bands_m"),
                                  [border["left_side"], border["right_side"]] if border else None,
                                  dates=run_dates, type_confusion=first.type_confusion)
    seen: dict[str, list] = {}
    for r, d in zip(results, dates):
        g = r.observed
        if crs is not None and r.scene.crs is not None and r.scene.crs != crs:
            g = gpd.GeoSeries([g], crs=r.scene.crs).to_crs(crs).iloc[0]
        seen.setdefault(d or "", []).append(g)
    coverage = zone_coverage({d: shapely.union_all(gs) for d, gs in seen.items()}, first.zones, crs)
    counts, tables["coverage.csv"] = with_coverage(counts, coverage), coverage
    summary = dict(first.summary)
    summary["scenes"] = [dict(r.summary["scenes"][0], date=d, kept=int(k.sum()), dropped_in_overlaps=int((~k).sum()))
                         for r, k, d in zip(results, keep, dates)]
    summary["counts"] = counts.to_dict(orient="records")
    summary["overlap_rule"] = ("where scenes of the same date overlap, a vehicle is kept only from the scene in which "
                               "its centre lies farthest from the scene edge")
    summary["claims"] = check_claims(claim, claim_table(counts, tables, claim_class), claim_class) if claim else None
    summary["queues"] = queue_totals(offset, detections["queue_id"].to_numpy(),
                                     np.isin(detections["class"].to_numpy(), VEHICLE_CLASSES))
    q = gpd.GeoDataFrame(pd.concat(queues, ignore_index=True), crs=crs) if queues else first.queues
    roads = None
    if first.roads is not None:
        roads = merge_layers([r.roads.to_crs(crs) if crs is not None else r.roads for r in results])
        tables["counts_by_road.csv"] = road_counts(detections, roads, [d or "" for d in run_dates])
        summary["roads"] = dict(first.summary["roads"], segments=len(roads), on_road=int(detections["on_road"].sum()))
    return CountResult(detections=detections, counts=counts, summary=summary, scene=first.scene, zones=first.zones,
                       queues=q, tables=tables, border_line=first.border_line, preview=first.preview, roads=roads)


def count_scenes(inputs: list[str | os.PathLike], *, out: str | os.PathLike | None = None, export=(), basemap=None,
                 calibration=None, claim=None, claim_class: str = "large_vehicle", date: str | None = None,
                 date_pattern: str | None = None, **kw) -> CountResult:
    """Count one or many scenes into one set of outputs (see the module docstring for the overlap rule).

    Every scene, zone file and border is opened and checked before the first tile runs, so a
    missing or unreadable later scene fails at once rather than after the earlier ones' detection.
    ``date`` dates every scene without a date of its own; ``date_pattern`` reads dates from file
    names (see geotally.imagery.dates). Overlapping scenes without dates are refused.
    """
    scenes = expand(inputs, date=date, date_pattern=date_pattern)
    if not scenes:
        raise GeotallyError("no scene given")
    check_run_options(out=out, basemap=basemap, **{k: kw[k] for k in _CHECKED if k in kw})
    from geotally.analysis.calibration import Calibration

    cal = Calibration.load(calibration) if isinstance(calibration, (str, os.PathLike)) else calibration
    opened = [open_inputs(s.path, export=export, basemap=basemap, **{k: kw[k] for k in _OPENED if k in kw}) for s in scenes]
    check_undated_overlaps(scenes, opened)
    if len(scenes) == 1:
        return count(scenes[0].path, out=out, export=export, basemap=basemap, calibration=calibration, claim=claim,
                     claim_class=claim_class, prepared=opened[0], inputs=list(inputs), date=scenes[0].date, **kw)
    results = []
    route, route_params = kw.pop("route", None), kw.pop("route_params", None) or RouteParams()
    planned = None
    if route:  # planned over every scene before the first tile, so a gap in the roads fails at once
        from geotally.routes import plan

        crs = opened[0].scene.crs
        planned = plan(str(kw["roads"]), route, [_footprint(o.scene, crs) for o in opened], crs, route_params)
    models: dict = {}  # the model is loaded (and its file checked) once for all the scenes
    for k, (s, o) in enumerate(zip(scenes, opened), 1):
        step = dict(kw, progress=_labelled(kw.get("progress"), f"scene {k} of {len(scenes)}"))
        results.append(count(s.path, checkpoint_dir=str(out) if out is not None else None, calibration=cal,
                             prepared=o, date=s.date, models=models, part_of_run=True, **step))
    merged = merge(results, [s.date for s in scenes], cal, claim, claim_class)
    if planned is not None:
        from geotally.routes import add_route

        add_route(merged, planned)
        merged.summary["parameters"]["route"] = asdict(route_params)
    merged.summary["inputs"] = run_inputs(inputs, zones=kw.get("zones"), border=kw.get("border"),
                                          sides=kw.get("sides"), calibration=calibration, claim=claim,
                                          claim_class=claim_class, export=export, basemap=basemap, date=date,
                                          date_pattern=date_pattern, roads=kw.get("roads"), route=route)
    if out is not None:
        merged.write(out, export=export, basemap=basemap)
    return merged


def check_undated_overlaps(scenes: list[SceneInput], opened: list) -> None:
    """Two overlapping scenes without dates could be one date's mosaic or two dates: refuse to guess
    (the overlap rule would drop one scene's vehicles in the overlap, silently if they were two dates)."""
    undated = [i for i, s in enumerate(scenes) if s.date is None]
    if len(undated) < 2:
        return
    crs = opened[undated[0]].scene.crs
    feet = [_footprint(opened[i].scene, crs) for i in undated]
    tree = shapely.STRtree(feet)
    a, b = tree.query(feet, predicate="intersects")
    # Scenes cut side by side from one mosaic share an edge; rounding in their transforms can give
    # that edge a sliver of area, which is no overlap.
    pairs = [(i, j) for i, j in zip(a, b) if i < j and shapely.area(shapely.intersection(feet[i], feet[j]))
             > 1e-6 * min(feet[i].area, feet[j].area)]
    if pairs:
        i, j = pairs[0]
        raise GeotallyError(f"{Path(scenes[undated[i]].path).name} and {Path(scenes[undated[j]].path).name} overlap "
                            "and have no date, so geotally cannot tell one mosaic from two dates; give --date "
                            "YYYY-MM-DD (one date for all), --date-pattern 'name_{date:%Y%m%d}.tif', or STAC datetimes")


def _labelled(progress, label: str):
    """A progress callback that also names the scene, when it takes a label (the CLI's bar does)."""
    if progress is None:
        return None
    import inspect

    try:
        takes_label = len(inspect.signature(progress).parameters) >= 4
    except (TypeError, ValueError):
        takes_label = False
    return (lambda done, total, found: progress(done, total, found, label)) if takes_label else progress


_CHECKED = ("conf", "model", "weights", "gsd", "model_gsd", "tile_size", "overlap", "batch", "threads",
            "size_thresholds", "queue", "distance_bands", "border", "sides", "workers", "dask", "road", "roads", "route", "on_road_only")
_OPENED = ("zones", "zone_field", "border", "sides", "bands", "gsd", "roads")
