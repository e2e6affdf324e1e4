"""The run's provenance: a :class:`~geotally.store.summary.RunSummary` made from what the run was
given, the model and parameters it used, each scene's checksum and tiles, and what it found."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from geotally.analysis.calibration import Calibration
from geotally.analysis.counts import SIZE_TABLE, check_claims, claim_counts
from geotally.analysis.model_error import date_gsd
from geotally.analysis.queues import queue_totals, queue_totals_by_date
from geotally.analysis.sizes import length_histogram
from geotally.config import CountConfig
from geotally.errors import GeotallyError
from geotally.imagery.checksum import file_sha256
from geotally.models.classes import VEHICLE_CLASSES
from geotally.pipeline.analysis import Analysis
from geotally.pipeline.detection import Params, SceneDetections
from geotally.pipeline.inputs import RunInputs
from geotally.pipeline.model import RunModel
from geotally.store.summary import QueueTotals, RunSummary, SceneRecord
from geotally.zones.border import border_summary


def run_inputs(scenes, cfg: CountConfig) -> dict:
    """What the run was given, as absolute paths: enough for 'geotally recount' to run it again."""
    def absolute(p):
        return os.path.abspath(str(p)) if p is not None and not isinstance(p, Calibration) else None

    return {"scenes": [absolute(s) for s in scenes], "zones": absolute(cfg.zones), "border": absolute(cfg.border),
            "sides": list(cfg.sides) if cfg.sides else None, "calibration": absolute(cfg.calibration),
            "claim": cfg.claim, "claim_class": cfg.claim_class, "export": list(cfg.export), "basemap": cfg.basemap,
            "date": cfg.date, "date_pattern": cfg.date_pattern, "roads": absolute(cfg.roads), "route": cfg.route}


def build_summary(inputs: list, cfg: CountConfig, run: RunInputs, m: RunModel, params: Params,
                  found: list[SceneDetections], kept: list[np.ndarray], at_seams: list[int], a: Analysis, cal,
                  started: str, version: str, recount: dict | None = None) -> RunSummary:
    """summary.json of the run (see RunSummary)."""
    v = a.vehicles
    zones = run.zones
    scenes = [SceneRecord(**sd.scene.describe(), tiles=sd.tiles, tiles_resumed=sd.resumed, date=d,
                          kept=int(k.sum()), dropped_in_overlaps=int((~k).sum()) - n, joined_at_seams=n)
              for sd, k, d, n in zip(found, kept, run.dates, at_seams)]
    roads = None
    if run.roads is not None:
        roads = {"file": str(Path(run.roads.source).resolve()), "sha256": file_sha256(run.roads.source),
                 "segments": len(a.roads), "on_road": int(v.table["on_road"].sum()),
                 "on_road_only": cfg.on_road_only, "off_road_left_out": a.off_road_left_out,
                 "rule": "on a road within half its class's width plus the margin of its line, or road.distance_m"}
    calibration = None
    if cal is not None:
        own = not isinstance(cfg.calibration, Calibration)  # a file, not an object given to the API
        calibration = {"file": str(Path(cfg.calibration).resolve()) if own else None,
                       "file_sha256": file_sha256(cfg.calibration) if own else None,
                       "source": cal.source, "source_sha256": cal.source_sha256, "method": cal.method,
                       "warnings": cal.warnings(run.scenes[0].gsd_m) if hasattr(cal, "warnings") else [],
                       "no_interval": {c: why for c in VEHICLE_CLASSES
                                       if hasattr(cal, "no_interval") and (why := cal.no_interval(c))}}
    georef = run.crs is not None
    totals = queue_totals(len(v.found.lines), v.table["queue_id"].to_numpy(), v.is_vehicle, v.found.lane_group)
    if "date" in v.table:
        totals["by_date"] = queue_totals_by_date(v.table["date"].to_numpy(), v.table["queue_id"].to_numpy(),
                                                 v.is_vehicle, v.found.lane_group)
    return RunSummary(
        geotally_version=version,
        created_utc=started,
        model=m.record(),
        parameters=dict(asdict(params), size_thresholds_m=list(cfg.size_thresholds), queue=asdict(cfg.queue),
                        distance_bands_m=list(cfg.distance_bands) if cfg.distance_bands else None,
                        road=asdict(cfg.road) if run.roads is not None else None,
                        route=asdict(cfg.route_params) if cfg.route else None, on_road_only=cfg.on_road_only,
                        trailer=asdict(cfg.trailer), stationary=asdict(cfg.stationary)),
        scenes=scenes,
        zones={"file": str(Path(zones.source).resolve()), "field": zones.field, "sha256": file_sha256(zones.source),
               "names": a.zone_names} if zones is not None else None,
        border=border_summary(run.border),
        roads=roads,
        vehicle_classes=list(VEHICLE_CLASSES),
        counts=a.counts.to_dict(orient="records"),
        counts_corrected=bool(corrected := corrected_classes(a.counts)),
        note=counts_note(corrected, list(dict.fromkeys(a.counts["class"])), cal is not None),
        calibration=calibration,
        trailer_types=a.trailer_record,
        size_classes={k: int(n) for k, n in zip(*np.unique(v.table["size_class"].to_numpy()[v.is_vehicle],
                                                           return_counts=True))},
        counts_by_size=a.tables[SIZE_TABLE].to_dict(orient="records") if SIZE_TABLE in a.tables else [],
        length_histogram=length_histogram(v.vehicle_lengths_m),
        queues=QueueTotals(**totals),
        claims=check_claims(cfg.claim, claim_counts(a.counts, a.tables, cfg.claim_class), cfg.claim_class,
                            _error_rates(m.name, params.conf), date_gsd(run.dates, [sc.gsd_m for sc in run.scenes]), cal is not None,
                            a.tables.get("coverage.csv")) if cfg.claim else None,
        coordinates=("scene CRS; detections.geojson and queues.geojson in WGS84" if georef else
                     "pixel-space metres (no georeference): no WGS84 file is written and lon/lat are empty"),
        inputs=run_inputs(inputs, cfg),
        stationary={"rule": "a vehicle stands where a vehicle of its class, axis and length stood on the date "
                            "before (centres within radius_m after the shift measured between the dates)",
                    "table": "stationary.csv",
                    "registrations": [r.as_dict() for r in v.registrations]} if "stationary" in v.table else None,
        config=cfg,
        recount=recount,
    )


def corrected_classes(counts) -> list[str]:
    """The classes whose counts have an estimate: a calibration that gives no interval corrects none."""
    if "estimate" not in counts.columns:
        return []
    return list(dict.fromkeys(counts.loc[counts["estimate"].notna(), "class"]))


def counts_note(corrected: list[str], classes: list[str], calibrated: bool) -> str:
    """What the counts are, as summary.json and the report say it: corrected only where an estimate was made."""
    if corrected:
        rest = [c for c in classes if c not in corrected]
        return ("Estimates and 95% intervals are corrected with the calibration's detection and false-positive rates"
                + (f" for {', '.join(corrected)}; the counts of {', '.join(rest)} are raw: the calibration gives no "
                   "interval for them (see calibration.no_interval)." if rest else "."))
    return ("Counts are raw detector counts, not corrected for missed or false detections"
            + (": the calibration gives no interval (see calibration.no_interval)." if calibrated else "."))


def _error_rates(model: str | None, kept: dict | None) -> dict | None:
    """The model's validated error rates (its registry entry's error_rates), if it carries them, for a
    run that kept detections at the score thresholds ``kept`` (model_error.at_conf)."""
    from geotally.analysis.model_error import at_conf
    from geotally.models.registry import get_spec

    if model is None:
        return None
    try:
        card = get_spec(model).card
    except GeotallyError:  # a model not in the registry: no rates of its own
        return None
    return at_conf((card or {}).get("error_rates"), (card or {}).get("conf"), kept)
