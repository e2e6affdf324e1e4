"""Runs again from a results folder: new thresholds, zones, border or queue rules on the stored
detections, in seconds, without detecting again.

A finished run's checkpoint holds every tile's detections down to the score floor, and its
summary.json holds the whole config it was asked (``config``). A recount is that config with
exactly the user's changes applied, every other value kept, nested ones included; the new
summary.json lists what changed (``recount.changed``). Every tile resumes from the checkpoint, so
only the merge and the analysis run. What changes detection (model, GSD, tiles, a --conf below the
score floor) is refused by the checkpoint, as for any resumed run.
"""

from __future__ import annotations

import os
from dataclasses import is_dataclass, replace
from pathlib import Path
from typing import Any

from geotally.config.count import NESTED, RECOUNTABLE, CountConfig, params_from_dict
from geotally.config.thresholds import score_floor
from geotally.errors import GeotallyError
from geotally.pipeline.checks import run_thresholds
from geotally.pipeline.result import CountResult
from geotally.pipeline.run import run_count
from geotally.store.checkpoint import CheckpointUnusable, checkpoint_path
from geotally.store.outputs import check_manifest
from geotally.store.summary import RunSummary, read_summary


def stored_config(summary: RunSummary) -> CountConfig:
    """The CountConfig that repeats the run recorded in ``summary``, with the settings that only say
    how to run (a fresh start, workers, a Dask cluster) back at their defaults: a recount detects
    nothing. Folders written before summary.json held the config are read from their parameters."""
    d = CountConfig()
    cfg = summary.config if summary.config is not None else _legacy_config(summary)
    return replace(cfg, fresh=d.fresh, workers=d.workers, dask=d.dask)


def _legacy_config(summary: RunSummary) -> CountConfig:
    p, inp = summary.parameters, summary.inputs
    doc = {k: p.get(k) for k in ("model", "weights", "conf", "model_iou", "seam_iou", "tile_size", "overlap", "batch",
                                 "model_gsd", "gsd", "bands", "zone_field", "threads", "backend", "queue", "trailer",
                                 "stationary", "road", "on_road_only")}
    doc.update(size_thresholds=p["size_thresholds_m"], distance_bands=p.get("distance_bands_m"),
               route_params=p.get("route"), **{k: inp.get(k) for k in (
                   "zones", "border", "sides", "calibration", "claim", "claim_class", "export", "basemap", "date",
                   "date_pattern", "roads", "route")})
    doc["on_road_only"] = bool(doc["on_road_only"])
    return CountConfig.from_dict({k: v for k, v in doc.items() if v is not None})


def recount_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` as :meth:`CountConfig.changed` takes them. A nested parameter object may be given
    whole (``queue=QueueParams(...)``, every value of it replaced) or as a dict of the values to
    change (``queue={"max_gap": 30}``, the rest kept), or one value by its dotted name
    (``**{"queue.max_gap": 30}``). None means not given."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if value is None:
            continue
        head = key.partition(".")[0]
        if head not in RECOUNTABLE:
            raise GeotallyError(f"recount changes analysis options only ({', '.join(RECOUNTABLE)}); "
                                f"not {key}: count again with --fresh for that")
        if head in NESTED and "." not in key and isinstance(value, dict):
            params_from_dict(NESTED[head], value)  # an unknown name fails here, as for the whole object
            out.update({f"{head}.{k}": v for k, v in value.items()})
        elif head in NESTED and "." not in key and not is_dataclass(value):
            raise GeotallyError(f"recount: {key} takes a {NESTED[head].__name__} or a dict of its values")
        else:
            out[key] = value
    return out


def recount(results: str | os.PathLike, *, progress=None, say=lambda msg: None, **changes) -> CountResult:
    """The run in ``results`` again with the analysis options in ``changes`` changed (see
    :func:`recount_changes`), every other option the run's own, written back into ``results`` as a
    whole. With no changes it rebuilds the report and exports."""
    wanted = recount_changes(changes)
    # What a recount reads is summary.json (and the checkpoint, which guards itself): an edited one
    # is refused, never re-sealed; derived files (the report, an export) may be missing, it rebuilds them.
    summary = read_summary(results, verify=False)
    check_manifest(results, only=("summary.json",))
    # Every other file is written anew: one the user changed (a detections.gpkg edited in QGIS) would be lost
    check_manifest(results, missing_ok=True, fix="a recount writes the folder anew and would lose the change: "
                                                 "move the file elsewhere first")
    _check_checkpoints(results, summary)
    try:
        cfg, changed = stored_config(summary).changed(wanted)
    except TypeError as exc:
        raise GeotallyError(f"recount: {exc}") from None
    if "conf" in changed and changed["conf"]["from"] is None:  # the run used the model's own: say which
        changed["conf"]["from"] = summary.parameters.get("conf")
    _check_floor(cfg, summary)
    for path in summary.inputs["scenes"]:
        if not any(ch in path for ch in "*?[") and not Path(path).exists():
            raise GeotallyError(f"the run's scene {path} is no longer there; a recount reads the scene's header "
                                "and checksum, so put it back where it was")
    changed.update(_edited_inputs(summary, cfg, changed))
    try:
        detected = (summary.recount or {}).get("detected_utc") or summary.created_utc  # the run the detections are of
        return run_count(summary.inputs["scenes"], results, cfg, progress, say,
                         recount={"changed": changed, "detected_utc": detected})
    except CheckpointUnusable as exc:  # its advice (--fresh) is a count's: a recount cannot detect again
        raise GeotallyError(f"recount: {exc.what}; the stored detections cannot serve it: count the scenes "
                            f"again (geotally count ... --out {results} --fresh)") from None


def _edited_inputs(summary: RunSummary, cfg: CountConfig, changed: dict) -> dict:
    """The zones, border or roads file the run read, edited since (same path, another sha256): the recount
    reads it as it is now and records it as a change, which the CLI prints (it did so without a word)."""
    from geotally.imagery.checksum import file_sha256

    edited = {}
    for what in ("zones", "border", "roads"):
        rec = getattr(summary, what, None)
        if what in changed or not isinstance(rec, dict) or not rec.get("file") or not rec.get("sha256"):
            continue
        path = Path(rec["file"])
        if str(getattr(cfg, what, None) or "") != rec["file"] or not path.is_file():
            continue
        now = file_sha256(path)
        if now != rec["sha256"]:
            edited[f"{what} file"] = {"from": f"sha256 {rec['sha256'][:12]}", "to": f"sha256 {now[:12]} (edited since the count)"}
    return edited


def _check_checkpoints(results: str | os.PathLike, summary: RunSummary) -> None:
    """A recount reads the detections from the run's checkpoints: one that is gone would make it detect
    again (a new run, not a recount of this one)."""
    for sc in summary.scenes:
        if not checkpoint_path(results, sc.path).exists():
            raise GeotallyError(f"the checkpoint of {sc.path} is gone from {results} (a recount reads the run's "
                                "detections from it); count the scenes again (geotally count ... --fresh)")


def _check_floor(cfg: CountConfig, summary: RunSummary) -> None:
    """A --conf below the score floor the run kept asks for detections it never stored: refused here,
    with what to do, before the checkpoint would refuse it as a change of detection."""
    kept = summary.parameters.get("conf")
    if not isinstance(kept, dict) or not kept:
        return
    asked = run_thresholds(cfg)
    floor = score_floor(kept)
    below = {k: v for k, v in asked.items() if v < floor}
    if below:
        low = ", ".join(f"{k} {v:g}" for k, v in sorted(below.items()))
        raise GeotallyError(f"recount: --conf {low} is below the score floor {floor:g} the run kept (lower "
                            "scores were never stored); count the scenes again with that --conf instead")
