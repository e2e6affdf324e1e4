"""One count, from the inputs to the written folder: everything checked and opened first, the model
prepared once, each scene detected (resuming its checkpoint), overlaps between scenes of one date
settled on the raw detections, trailer types on the vehicles kept, then one analysis pass over all
scenes, the provenance, and the outputs."""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import logging
import os
import time
from pathlib import Path
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable

import numpy as np
import shapely

from geotally.analysis.calibration import Calibration
from geotally.pipeline.checks import check_claim, check_run_options, input_files, run_thresholds
from geotally.config import CountConfig
from geotally.config.limits import iso_date
from geotally.config.params import SearchParams
from geotally.detect.boxes import centres, corners_to_polygons
from geotally.detect.run import Detections, FirstBatch, read_ahead
from geotally.detect.trailer_types import type_vehicles
from geotally.errors import GeotallyError
from geotally.geo.metric import from_metric, scenes_metric_crs, to_metric
from geotally.geo.overlaps import kept_in_overlaps
from geotally.geo.seams import seam_pairs
from geotally.geo.transform import map_to_map, map_to_pixel, pixel_to_map
from geotally.imagery.labels import scene_labels
from geotally.imagery.scene import Scene
from geotally.models.classes import names_of
from geotally.pipeline.detection import Params, SceneDetections, detect_one, open_checkpoint, plan_tiles
from geotally.pipeline.inputs import RunInputs, open_run
from geotally.pipeline.model import RunModel, prepare_model
from geotally.pipeline.preload import Preload
from geotally.pipeline.scenes import expand
from geotally.config.thresholds import check_conf_classes, same_thresholds, thresholds_text

if TYPE_CHECKING:
    from geotally.analysis.vehicles import ScenePart
    from geotally.pipeline.result import CountResult
    from geotally.store.checkpoint import SetAside, TileStore

log = logging.getLogger("geotally")

Progress = Callable[..., None]


def run_count(inputs: list, out: str | os.PathLike | None, cfg: CountConfig, progress: Progress | None = None,
              say: Callable[[str], None] = lambda msg: None, models: dict | None = None,
              recount: dict | None = None, search: SearchParams | None = None,
              remote: bool = False) -> CountResult:
    """Count the scenes named by ``inputs`` (files, folders, globs, STAC, http(s) URLs, or the items
    of a catalogue ``search``) into one result; see geotally.api.count_scenes. ``models`` caches
    prepared models between runs of one process; ``recount`` is what a recount records in
    summary.json (what it changed, when the detections were made). With --fresh, the checkpoints it replaces are put back if it fails."""
    from geotally.store.checkpoint import SetAside
    from geotally.store.outputs import run_lock

    with run_lock(out) if out is not None else contextlib.nullcontext():
        if out is not None:
            for path in SetAside.recover(out):
                say(f"put back the earlier results' checkpoint {path.name}, which a --fresh run killed before its "
                    "results were written had set aside")
        aside = SetAside()
        try:
            result = _run_count(inputs, out, cfg, progress, say, models, recount, search, remote, aside)
        except BaseException:
            aside.restore()
            raise
        aside.drop()
    return result


def _run_count(inputs: list, out: str | os.PathLike | None, cfg: CountConfig, progress: Progress | None,
               say: Callable[[str], None], models: dict | None, recount: dict | None, search: SearchParams | None,
               remote: bool, aside: SetAside) -> CountResult:
    check_run_options(cfg, out)
    inputs = [str(i) for i in inputs]
    if search is not None or remote or any("://" in i for i in inputs):  # remote reading, asked for
        from geotally.imagery.remote import resolve_inputs

        s = search or SearchParams()
        s.validate()
        inputs = resolve_inputs(inputs, stac_api=s.stac_api, catalog=s.catalog, collections=s.collections,
                                datetime=s.datetime, bbox=s.bbox, gsd_range=s.gsd_range, max_cloud=s.max_cloud,
                                max_items=s.max_items, remote=remote, zones=cfg.zones, border=cfg.border,
                                distance_bands=cfg.distance_bands, say=say)
    elif not inputs:
        raise GeotallyError("count needs a SCENE (a raster file, folder, glob, STAC ItemCollection or http(s) URL), "
                            "or a catalogue to search (--stac-api or --catalog)")
    scenes = expand(inputs, date=cfg.date, date_pattern=cfg.date_pattern)
    if not scenes:
        raise GeotallyError("no scene given")
    given = iso_date(cfg.date) if cfg.date is not None else None
    own = [s for s in scenes if given is not None and s.date != given]
    if own:  # --date dates only the undated: say where a scene's own date (tag, STAC, pattern) stands instead
        say(f"--date {cfg.date} is not used for {len(own)} of {len(scenes)} scenes, which carry dates of their own "
            f"({Path(own[0].path).name}: {own[0].date})")
    if out is not None:
        from geotally.store.outputs import check_inputs_kept

        files = {what: [str(path)] for what, path in input_files(cfg).items()}
        check_inputs_kept(out, {"scene": [str(s.path) for s in scenes], **files})
    cal = Calibration.load(cfg.calibration) if isinstance(cfg.calibration, (str, os.PathLike)) else cfg.calibration
    run = open_run(scenes, cfg)
    if cfg.fresh and out is not None:  # kept until the new results are written
        from geotally.store.checkpoint import checkpoint_path

        aside.move([checkpoint_path(out, str(sc.path)) for sc in run.scenes])
    if hasattr(cal, "check_scene"):
        for sc in run.scenes:
            cal.check_scene(sc.sha256, str(sc.path))
    if cfg.claim:
        check_claim(cfg.claim, run.zones)
    planned = None
    if cfg.route:  # planned before any detection, so a gap in the roads fails at once
        from geotally.pipeline.route import plan

        planned = plan(str(cfg.roads), cfg.route, run.footprints, run.crs, cfg.route_params)
    thresholds = run_thresholds(cfg)
    with _timed("model"):
        m = _model(cfg, thresholds, say, models)
    _check_calibration_conf(cal, cfg, thresholds)
    made_for = (getattr(cal, "meta", None) or {}).get("model") if cal is not None else None
    if made_for and made_for.get("sha256") and made_for["sha256"] != m.sha:
        what = f"the calibration {cfg.calibration}" if isinstance(cfg.calibration, (str, os.PathLike)) else "the calibration"
        raise GeotallyError(f"{what} was made from the detections of model {made_for.get('name') or made_for['sha256'][:12]}; "
                            f"this run uses {m.name or m.sha[:12]}, whose error rates differ: calibrate from a count "
                            "made with this model")
    # The analysis stage's libraries, imported while the model runs: after the inputs hold and the model
    # is made, so that neither waits on these imports nor sees them as another job (spin_wait_here).
    preload = Preload()
    log.info("model %s (%s, sha256 %s) on %s, at %.3f m/px, tiles of %d px, score floor %.2f",
             m.name or m.checkpoint, m.run_file.name, (m.run_sha or m.sha)[:12], m.backend, m.gsd, m.tile_size, m.conf)
    check_conf_classes(cfg.conf, m.names)
    params = Params(model=m.name, weights=str(cfg.weights) if cfg.weights else None, conf=thresholds,
                    model_iou=cfg.model_iou, seam_iou=cfg.seam_iou, tile_size=m.tile_size, overlap=cfg.overlap,
                    batch=cfg.batch, model_gsd=m.gsd, gsd=cfg.gsd, bands=list(cfg.bands) if cfg.bands else None,
                    zone_field=cfg.zone_field, threads=cfg.threads, backend=m.backend)
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    found = []
    # Many scenes run here: each one's checkpoint is opened and its first tiles read while the model
    # runs the one before.
    pool = ThreadPoolExecutor(max_workers=1) if len(run.scenes) > 1 and cfg.workers == 1 and not cfg.dask else None
    current = following = None
    closing: list[tuple[TileStore, Future]] = []
    finished = False

    def close_later(store: TileStore) -> None:
        closing.append((store, pool.submit(store.close)))

    try:
        for k, sc in enumerate(run.scenes, 1):
            log.info("scene %s: %d x %d px, %s, GSD %.3f m, sha256 %s", sc.path, sc.width, sc.height,
                     sc.crs.to_string() if sc.crs else "no CRS", sc.gsd_m, sc.sha256[:12])
            following = _ready(pool, run.scenes[k], m, params, out, cfg.fresh) if pool and k < len(run.scenes) else None
            step = _labelled(progress, f"scene {k} of {len(run.scenes)}") if len(run.scenes) > 1 else progress
            with _timed("detection"):
                # the report's map is drawn on the first scene: only its picture is made
                sd = detect_one(sc, m, params, out, cfg.fresh, cfg.workers, cfg.dask, step, say, picture=k == 1,
                                first=current.first if current else None, opened=current.store if current else None,
                                close_later=close_later if pool else None, say_resumed=recount is None)
            log.info("%d tiles (%d resumed from the checkpoint), %d detections after the merge", sd.tiles,
                     sd.resumed, len(sd.detections))
            found.append(sd)
            current, following = following, None
        finished = True
    finally:
        if pool:  # after a failure, what was readied and not started is dropped
            pool.shutdown(wait=True, cancel_futures=not finished)
            for store, closed in closing:
                if closed.cancelled():  # by a failure: closed here (closing again does nothing)
                    store.close()
                elif finished:
                    closed.result()  # a close's own error is the run's
            for left in (current, following):  # readied for a scene the run did not reach (it failed first)
                if left is not None:
                    left.discard()
    t0 = time.perf_counter()
    preload.wait()
    from geotally.pipeline.analysis import analyse
    from geotally.pipeline.provenance import build_summary
    from geotally.pipeline.result import CountResult

    kept = _kept(found, run)
    found, kept, at_seams = _join_seams(found, kept, run, m)
    with _timed("trailer types"):
        labels = scene_labels([str(sd.scene.path) for sd in found])
        parts = [_part(sd, k, d, m, cfg, lab) for sd, k, d, lab in zip(found, kept, run.dates, labels)]
    a = analyse(parts, run, m, cfg, cal)
    from geotally import __version__

    summary = build_summary(inputs, cfg, run, m, params, found, kept, at_seams, a, cal, started, __version__,
                            recount)
    border_line = run.border.extended.intersection(shapely.box(*run.bounds)) if run.border is not None else None
    result = CountResult(detections=a.vehicles.table, counts=a.counts, summary=summary, scene=run.scenes[0],
                         zones=run.zones, queues=a.queues, tables=a.tables, border_line=border_line,
                         preview=found[0].picture, roads=a.roads, imaged=a.imaged)
    if planned is not None:
        from geotally.pipeline.route import add_route

        add_route(result, planned)
    log.info("analysis (overlaps, sizes, zones, queues, counts): %.2f s", time.perf_counter() - t0)
    if out is not None:
        with _timed("writing the results"):
            result.write(out, export=cfg.export, basemap=cfg.basemap)
    return result


def _check_calibration_conf(cal, cfg: CountConfig, thresholds: dict) -> None:
    """A calibration from an evaluation holds at the score thresholds its detections were kept at: at
    others the detection and false-positive rates differ (a recount with --conf 0.5 applied rates
    measured at 0.25 without a word). Calibrations made before they recorded them are not checked."""
    kept = (getattr(cal, "meta", None) or {}).get("conf")
    if not isinstance(kept, dict) or not kept or same_thresholds(kept, thresholds):
        return
    what = f"the calibration {cfg.calibration}" if isinstance(cfg.calibration, (str, os.PathLike)) else "the calibration"
    raise GeotallyError(f"{what} measured its rates on detections kept at --conf {thresholds_text(kept)}; this run "
                        f"keeps {thresholds_text(thresholds)}, where they differ: count with that --conf, or evaluate "
                        "at this one and calibrate again")


def _model(cfg: CountConfig, thresholds: dict, say, models: dict | None) -> RunModel:
    key = (cfg.model, str(cfg.weights) if cfg.weights else None, cfg.backend, tuple(sorted(thresholds.items())),
           cfg.model_iou, cfg.tile_size, cfg.model_gsd, cfg.overlap, cfg.threads)
    m = models.get(key) if models is not None else None
    if m is None:
        m = prepare_model(cfg.model, cfg.weights, cfg.backend, thresholds, cfg.model_iou, cfg.tile_size,
                          cfg.model_gsd, cfg.overlap, cfg.threads, say)
        if models is not None:
            models[key] = m
    else:  # a model kept between runs: this run's time inside it starts from zero
        m.detector.reset_timing()
    return m


@dataclass
class Readied:
    """A scene readied on another thread while the model runs the one before: its checkpoint opened
    (a Future of open_checkpoint's result) and its first batch of tiles being read."""

    store: Future
    first: FirstBatch | None

    def discard(self) -> None:
        """Close the checkpoint of a scene the run never reached, removing it if it holds no tile."""
        if self.store.done() and not self.store.cancelled() and self.store.exception() is None:
            store = self.store.result()
            if store is not None:
                store.close(discard_if_empty=True)


def _ready(pool: ThreadPoolExecutor, sc: Scene, m: RunModel, params: Params, out, fresh: bool) -> Readied:
    """Start opening the scene's checkpoint and reading its first tiles on ``pool``. Its errors wait for
    its turn: the checkpoint's in the Future, and a refused grid is refused again then (first is None)."""
    store = pool.submit(open_checkpoint, out, sc, m, params, fresh)
    try:
        _, grid = plan_tiles(sc, m, params)
    except GeotallyError:
        return Readied(store, None)
    return Readied(store, read_ahead(pool, sc, grid, params.batch))


def _kept(found: list[SceneDetections], run: RunInputs) -> list[np.ndarray]:
    """Per scene, the detections the overlap rule leaves it (all of them for one scene, or without a CRS)."""
    if len(found) == 1 or run.crs is None:
        return [np.ones(len(sd.detections), bool) for sd in found]
    xy = [map_to_map(sd.scene.crs, run.crs, pixel_to_map(sd.scene.transform, centres(sd.detections.corners)).reshape(-1, 2)) for sd in found]
    return kept_in_overlaps(xy, run.footprints, run.dates)


def _join_seams(found: list[SceneDetections], kept: list[np.ndarray], run: RunInputs,
                m: RunModel) -> tuple[list[SceneDetections], list[np.ndarray], list[int]]:
    """Vehicles cut by the edge between two scenes of one date, seen as a piece in each, made one
    (see geotally.geo.seams): the larger piece's detection becomes the rectangle of both, the other
    is dropped. Returns the scenes' detections, what each keeps, and how many pieces each gave up."""
    if len(found) == 1 or run.crs is None:
        return found, kept, [0] * len(found)
    metric_crs = scenes_metric_crs(run.scenes, run.crs)
    polys, classes, rows = [], [], []
    for sd, k in zip(found, kept):
        idx = np.flatnonzero(k)
        xy = map_to_map(sd.scene.crs, run.crs, pixel_to_map(sd.scene.transform, sd.detections.corners[idx]).reshape(-1, 2))
        polys.append(corners_to_polygons(to_metric(xy, run.crs, metric_crs).reshape(-1, 4, 2)))
        classes.append(names_of(sd.detections.class_id[idx], m.names))
        rows.append(idx)
    feet = [shapely.transform(f, lambda xy: to_metric(xy, run.crs, metric_crs)) for f in run.footprints]
    pairs = seam_pairs(polys, classes, feet, run.dates)
    if not pairs:
        return found, kept, [0] * len(found)
    corners = [sd.detections.corners.copy() for sd in found]
    scores = [sd.detections.score.copy() for sd in found]
    kept = [k.copy() for k in kept]
    gave = [0] * len(found)
    for p in pairs:
        sc = found[p.keep_scene].scene
        ring = shapely.get_coordinates(p.rectangle)[:4]
        xy = map_to_map(run.crs, sc.crs, from_metric(ring, run.crs, metric_crs))
        r_keep, r_drop = rows[p.keep_scene][p.keep_row], rows[p.drop_scene][p.drop_row]
        corners[p.keep_scene][r_keep] = map_to_pixel(sc.transform, xy)
        scores[p.keep_scene][r_keep] = max(scores[p.keep_scene][r_keep], found[p.drop_scene].detections.score[r_drop])
        kept[p.drop_scene][r_drop] = False
        gave[p.drop_scene] += 1
    joined = [replace(sd, detections=Detections(c, s, sd.detections.class_id, sd.detections.tile))
              for sd, c, s in zip(found, corners, scores)]
    log.info("%d vehicles cut by the edge between two scenes joined into one detection each", len(pairs))
    return joined, kept, gave


def _part(sd: SceneDetections, keep: np.ndarray, date: str | None, m: RunModel, cfg: CountConfig,
          label: str) -> ScenePart:
    """A scene's kept detections, with their ids (numbered over all of the scene's) and trailer types."""
    from geotally.analysis.vehicles import ScenePart, detection_ids

    idx = np.flatnonzero(keep)
    dets = sd.detections.take(idx)
    cls = names_of(dets.class_id, m.names)
    types = type_vehicles(sd.scene, dets.corners, cls, cfg.trailer, cfg.threads)
    return ScenePart(sd.scene, dets, detection_ids(label, len(sd.detections))[idx], date, types, label)


@contextmanager
def _timed(stage: str):
    """Log how long a stage took (geotally -v shows it)."""
    t0 = time.perf_counter()
    yield
    log.info("%s: %.2f s", stage, time.perf_counter() - t0)


def _labelled(progress: Progress | None, label: str) -> Progress | None:
    """A progress callback that also names the scene, when it takes a label (the CLI's bar does)."""
    if progress is None:
        return None
    try:
        takes_label = len(inspect.signature(progress).parameters) >= 4
    except (TypeError, ValueError):
        takes_label = False
    return (lambda done, total, found: progress(done, total, found, label)) if takes_label else progress

