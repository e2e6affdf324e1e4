"""Runs again from a results folder: new thresholds, zones, border or queue rules on the stored
detections, in seconds, without detecting again.

A finished run's checkpoint holds every tile's detections down to the score floor, and its
summary.json holds what it was given (``inputs``) and how it detected (``parameters``). A recount
is that run again with some analysis options changed: every tile resumes from the checkpoint, so
only the merge and the analysis run. What changes detection (model, GSD, tiles, a --conf below the
score floor) is refused by the checkpoint, as for any resumed run.
"""

from __future__ import annotations

import os
from pathlib import Path

from geotally.analysis.queues import QueueParams
from geotally.analysis.stationary import StationaryParams
from geotally.api import CountResult, count_scenes
from geotally.config import CountConfig
from geotally.detect.trailer_types import TrailerParams
from geotally.errors import GeotallyError
from geotally.roads.config import RoadParams, RouteParams
from geotally.store.summary import RunSummary, read_summary

# Options a recount may change; everything else is taken from the run.
ANALYSIS = ("conf", "zones", "zone_field", "border", "sides", "distance_bands", "size_thresholds", "queue",
            "calibration", "claim", "claim_class", "export", "basemap", "roads", "road", "route", "on_road_only",
            "stationary")


def run_config(summary: RunSummary) -> CountConfig:
    """The CountConfig that repeats the run recorded in ``summary``."""
    p, inp = summary.parameters, summary.inputs
    q = dict(p.get("queue") or {})
    if "max_median_gap" in q:  # runs before the wide-gap share rule named the standing gap so
        q["standing_gap"] = q.pop("max_median_gap")
    return CountConfig(
        model=p["model"], weights=p["weights"], conf=p["conf"], model_iou=p["model_iou"], seam_iou=p["seam_iou"],
        tile_size=p["tile_size"], overlap=p["overlap"], batch=p["batch"], model_gsd=p["model_gsd"], gsd=p["gsd"],
        bands=tuple(p["bands"]) if p["bands"] else None, zone_field=p["zone_field"], threads=p["threads"],
        backend=p["backend"], size_thresholds=tuple(p["size_thresholds_m"]),
        queue=QueueParams(**q) if q else QueueParams(),
        distance_bands=tuple(p["distance_bands_m"]) if p.get("distance_bands_m") else None,
        trailer=TrailerParams(**p["trailer"]) if p.get("trailer") else TrailerParams(),
        stationary=StationaryParams(**p["stationary"]) if p.get("stationary") else StationaryParams(),
        zones=inp["zones"], border=inp["border"], sides=tuple(inp["sides"]) if inp["sides"] else None,
        calibration=inp["calibration"], claim=inp["claim"], claim_class=inp["claim_class"],
        export=tuple(inp["export"]), basemap=inp["basemap"], date=inp.get("date"),
        date_pattern=inp.get("date_pattern"), roads=inp.get("roads"),
        road=RoadParams(**p["road"]) if p.get("road") else RoadParams(), route=inp.get("route"),
        route_params=RouteParams(**p["route"]) if p.get("route") else RouteParams(),
        on_road_only=bool(p.get("on_road_only")))


def recount(results: str | os.PathLike, *, progress=None, say=lambda msg: None, **changes) -> CountResult:
    """The run in ``results`` again, with the analysis options in ``changes`` (see ANALYSIS) changed,
    written back into ``results`` as a whole. With no changes it rebuilds the report and exports."""
    unknown = sorted(set(changes) - set(ANALYSIS))
    if unknown:
        raise GeotallyError(f"recount changes analysis options only ({', '.join(ANALYSIS)}); "
                            f"not {', '.join(unknown)}: count again with --fresh for that")
    summary = read_summary(results, verify=False)  # the checkpoint guards what detection depends on
    cfg = CountConfig.of(run_config(summary), **{k: v for k, v in changes.items() if v is not None})
    for path in summary.inputs["scenes"]:
        if not any(ch in path for ch in "*?[") and not Path(path).exists():
            raise GeotallyError(f"the run's scene {path} is no longer there; a recount reads the scene's header "
                                "and checksum, so put it back where it was")
    return count_scenes(summary.inputs["scenes"], out=results, config=cfg, progress=progress, say=say)
