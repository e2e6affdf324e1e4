"""One analysis pass over every scene of a run: the vehicle table (zones, sides, sizes, types, roads,
queues within each date, vehicles standing where one stood on the date before), the queue layer,
and every count table per date, with observed area."""

from __future__ import annotations

from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geotally.analysis.counts import count_tables
from geotally.analysis.coverage import with_coverage, zone_coverage
from geotally.analysis.stationary import stationary_counts, still_shares
from geotally.analysis.vehicles import ScenePart, VehicleTable, build_vehicle_table
from geotally.config import CountConfig
from geotally.detect.trailer_types import confusion_for
from geotally.imagery.coverage import valid_outline
from geotally.pipeline.inputs import RunInputs
from geotally.pipeline.model import RunModel
from geotally.roads.counts import road_counts, road_layer
from geotally.store.queues import queue_table
from geotally.zones.assign import OUTSIDE


@dataclass
class Analysis:
    """What the pass makes: the vehicles, their queues, the count tables, and the roads within the run."""

    vehicles: VehicleTable
    queues: gpd.GeoDataFrame
    counts: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    zone_names: list[str]
    roads: gpd.GeoDataFrame | None
    type_confusion: np.ndarray | None
    off_road_left_out: int
    trailer_record: dict  # summary.json's trailer_types
    imaged: gpd.GeoDataFrame  # per date ('' undated) the union of its scenes' valid pixels


def _observed(run: RunInputs) -> dict[str, shapely.Geometry]:
    """Per date ('' undated), the union of its scenes' valid pixels, in the run's CRS."""
    seen: dict[str, list] = {}
    for sc, d in zip(run.scenes, run.dates):
        g = valid_outline(sc)
        if run.crs is not None and sc.crs is not None and sc.crs != run.crs:
            g = gpd.GeoSeries([g], crs=sc.crs).to_crs(run.crs).iloc[0]
        seen.setdefault(d or "", []).append(g)
    return {d: shapely.union_all(gs) if len(gs) > 1 else gs[0] for d, gs in seen.items()}


def analyse(parts: list[ScenePart], run: RunInputs, m: RunModel, cfg: CountConfig, cal) -> Analysis:
    """Build the vehicle table of all ``parts`` and count it per date, zone and class."""
    observed = _observed(run)
    v = build_vehicle_table(parts, run.crs, m.names, m.detector.names, run.zones, run.border, cfg.size_thresholds,
                            cfg.queue, run.roads, cfg.road, observed, cfg.stationary)
    vehicle_rows = np.flatnonzero(v.is_vehicle)  # queue members index these
    queues = queue_table(v.found, vehicle_rows, v.centre_map, v.zone, run.crs, v.along,
                         run.roads.road_id if run.roads is not None else None)
    dates = v.table["date"].to_numpy()[vehicle_rows]
    queues = queues.assign(date=[dates[mm[0]] for mm in v.found.members])  # queues form within one date
    # Trucks and buses in each queue: a queue of cars on a town street is as likely a kerb-parked row
    # (benchmarks/queues_real.py), a queue of trucks is what a border crossing shows.
    large = v.table["class"].to_numpy()[vehicle_rows] == "large_vehicle"
    queues = queues.assign(large_vehicles=[int(large[mm].sum()) for mm in v.found.members])
    if "stationary" in v.table:
        queues = queues.assign(stationary_share=still_shares(v.table["stationary"].to_numpy()[vehicle_rows],
                                                             v.found.members))
    if len(run.scenes) > 1:
        scenes = v.table["scene"].to_numpy()[vehicle_rows]
        queues = queues.assign(scene=[_most_common(scenes[mm]) for mm in v.found.members])
    off_road = 0
    if cfg.on_road_only:  # the road buffer is the area counted: whatever lies off it is left out everywhere
        keep = v.table["on_road"].to_numpy(bool)
        off_road = int((~keep).sum())
        v = v.only(keep)
    zone_names = list(dict.fromkeys(run.zones.names.tolist())) if run.zones is not None else []
    types = next((p.types for p in parts if p.types is not None), None)
    type_confusion = confusion_for(types.spec if types else None, run.scenes[0].gsd_m, cfg.trailer.max_gsd)
    counts, tables = count_tables(v.table, zone_names + [OUTSIDE], cal, cfg.distance_bands,
                                  list(run.border.names) if run.border is not None else None,
                                  dates=run.run_dates, type_confusion=type_confusion)
    zones = run.zones
    if cfg.zones is None and run.border is not None and observed:
        # sides cut from the scenes' box: what any date imaged of them is all there is of them, so a scene
        # inside a nodata collar images the whole of its sides, and a date is partial only against another
        seen = shapely.union_all(list(observed.values()))
        zones = replace(zones, polygons=shapely.intersection(zones.polygons, seen))
    coverage = zone_coverage(observed, zones, run.crs)
    counts, tables["coverage.csv"] = with_coverage(counts, coverage), coverage
    if "stationary" in v.table:
        tables["stationary.csv"] = stationary_counts(v.table)
    layer = None
    if run.roads is not None:
        area = shapely.box(*run.bounds) if len(run.scenes) == 1 else shapely.union_all(np.array(run.footprints,
                                                                                                 dtype=object))
        layer = road_layer(run.roads, area, run.crs)
        tables["counts_by_road.csv"] = road_counts(v.table, layer, [d or "" for d in run.run_dates])
    notes = list(dict.fromkeys(p.types.note for p in parts if p.types is not None))
    trailer = {"model": types.spec.describe() if types is not None and types.spec else None,
               "note": "; ".join(notes), "corrected_for_confusion": type_confusion is not None,
               "table": "counts_by_type.csv (large vehicles per trailer type; estimate and 95% interval "
                        "corrected for the classifier's confusions on real crops)"}
    imaged = gpd.GeoDataFrame({"date": list(observed)}, geometry=_multipolygons(list(observed.values())), crs=run.crs)
    return Analysis(v, queues, counts, tables, zone_names, layer, type_confusion, off_road, trailer, imaged)


def _multipolygons(geoms: list) -> np.ndarray:
    """Each geometry's polygons as one MultiPolygon (empty where it has none), so a layer holds one type."""
    arr = np.asarray(geoms, dtype=object)
    parts, owner = shapely.get_parts(arr, return_index=True)
    poly = shapely.get_type_id(parts) == 3
    out = np.array([shapely.MultiPolygon()] * len(arr), dtype=object)
    return shapely.multipolygons(parts[poly], indices=owner[poly], out=out)


def _most_common(values: np.ndarray) -> str:
    names, n = np.unique(values.astype(str), return_counts=True)
    return str(names[np.argmax(n)])
