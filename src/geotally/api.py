"""The Python API: ``geotally.count`` and the result it returns. The CLI is a thin layer over it."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd

import shapely

from geotally.analysis.calibration import Calibration
from geotally.analysis.counts import check_claims, count_table, count_tables
from geotally.analysis.coverage import with_coverage, zone_coverage
from geotally.analysis.queues import QueueParams, queue_totals
from geotally.analysis.sizes import DEFAULT_THRESHOLDS, length_histogram
from geotally.analysis.vehicles import build_vehicle_table
from geotally.analysis.types import claim_table
from geotally.detect.trailer_types import TrailerParams, confusion_for, type_vehicles
from geotally.checks import DEFAULT_BATCH, DEFAULT_OVERLAP, _model_conf, check_claim, check_run_options
from geotally.detect.run import Detections, detect_scene, fitted_tile_size, scene_grid
from geotally.errors import GeotallyError
from geotally.imagery.coverage import valid_outline
from geotally.imagery.dates import iso_date, raster_date
from geotally.imagery.preview import Preview, PreviewFrame
from geotally.imagery.scene import Scene, file_sha256, open_scene
from geotally.limits import check_tile_count
from geotally.models.backends import load_detector
from geotally.models.cache import checkpoint_of, ensure_model
from geotally.models.classes import VEHICLE_CLASSES, class_map
from geotally.models.registry import DEFAULT_MODEL, get_spec
from geotally.roads.counts import road_counts, road_layer
from geotally.roads.load import Roads, load_roads
from geotally.roads.route import RouteParams
from geotally.roads.snap import RoadParams
from geotally.store.outputs import staged_output, write_json, write_vector
from geotally.store.queues import queue_table
from geotally.thresholds import check_conf_classes, conf_thresholds, score_floor
from geotally.zones.assign import OUTSIDE
from geotally.zones.border import border_summary, load_border
from geotally.zones.load import Zones, load_zones

DEFAULT_MODEL_IOU = 0.7
DEFAULT_SEAM_IOU = 0.3

log = logging.getLogger("geotally")

DETECTION_COLUMNS = ["class", "model_class", "score", "length_m", "width_m", "heading_deg",
                     "lon", "lat", "zone", "scene"]


@dataclass
class Params:
    """Every parameter that shapes a count, recorded in summary.json."""

    model: str | None
    weights: str | None
    conf: dict
    model_iou: float
    seam_iou: float
    tile_size: int
    overlap: int
    batch: int
    model_gsd: float
    gsd: float | None
    bands: list[int] | None
    zone_field: str
    threads: int | None
    backend: str = "auto"


@dataclass
class CountResult:
    """Detections (GeoDataFrame in the scene CRS), the counts table, and the run's provenance."""

    detections: gpd.GeoDataFrame
    counts: pd.DataFrame
    summary: dict
    scene: Scene
    zones: Zones | None = field(default=None, repr=False)
    queues: gpd.GeoDataFrame | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    border_line: object | None = field(default=None, repr=False)
    preview: np.ndarray | None = field(default=None, repr=False)  # (h, w, 3) uint8 picture of the scene, if pieced together
    roads: gpd.GeoDataFrame | None = None  # the road segments within the scene(s), when roads were given
    route: gpd.GeoDataFrame | None = None  # the route's stretches with their counts (one row per date and stretch)
    observed: object | None = field(default=None, repr=False)  # valid-pixel outline (scene CRS), for coverage
    type_confusion: np.ndarray | None = field(default=None, repr=False)  # the trailer classifier's, at this GSD

    def write(self, out: str | os.PathLike, *, report: bool = True, export: tuple[str, ...] = (),
              basemap: str | None = None) -> Path:
        """Write detections and queues (.gpkg in the scene CRS, .geojson in WGS84, .parquet as
        GeoParquet), counts.csv, the extra count tables, summary.json and report.html, atomically
        into ``out``. ``export=("kml",)`` adds detections.kml for Google Earth. A scene without
        georeference gets no WGS84 file: its .gpkg and .parquet are in pixel-space metres."""
        layers = {"detections": self.detections}
        if self.queues is not None:
            layers["queues"] = self.queues
        if self.roads is not None:
            layers["roads"] = self.roads
        if self.route is not None:
            layers["route"] = self.route
        with staged_output(out) as stage:
            for name, gdf in layers.items():
                write_vector(gdf, stage / f"{name}.gpkg", layer=name)
                if self.scene.crs is not None:  # GeoJSON is WGS84; pixel-space metres would pass for degrees
                    write_vector(gdf.to_crs("EPSG:4326"), stage / f"{name}.geojson")
            self.detections.to_parquet(stage / "detections.parquet")
            if "kml" in export:
                from geotally.report.kml import write_kml

                write_kml(self, stage / "detections.kml")
            self.counts.to_csv(stage / "counts.csv", index=False)
            for name, table in self.tables.items():
                table.to_csv(stage / name, index=False)
            write_json(stage / "summary.json", self.summary)
            if report:
                from geotally.report.html import write_report

                write_report(self, stage / "report.html", basemap=basemap)
        return Path(out)


def _resolve_model(model: str | None, weights: str | None, say: Callable[[str], None]):
    if weights:
        path = Path(weights)
        if not path.is_file():
            raise GeotallyError(f"--weights file not found: {weights}")
        return None, path, file_sha256(path)
    spec = get_spec(model or DEFAULT_MODEL)
    return spec, ensure_model(spec, say=say), spec.sha256


@dataclass
class _Model:
    """The model as this run uses it: registry entry, files and checksums, detector, thresholds, scale."""

    spec: object | None
    checkpoint: Path
    sha: str
    run_file: Path
    run_sha: str | None
    backend: str
    detector: object
    names: dict[int, str]  # model class id -> geotally class name
    conf: float  # the model's own score floor: the lowest per-class threshold
    min_score: np.ndarray  # per model class id
    gsd: float
    tile_size: int

    def summary(self) -> dict:
        return {"name": self.spec.name if self.spec else None, "file": str(self.checkpoint), "sha256": self.sha,
                "run_file": str(self.run_file), "run_file_sha256": self.run_sha or self.sha,
                "native_gsd_m": self.gsd, "detector": self.detector.describe(),
                "classes": {str(k): v for k, v in self.detector.names.items()}}


def _prepare_model(model: str | None, weights, backend: str, thresholds: dict, model_iou: float,
                   tile_size: int | None, model_gsd: float | None, overlap: int, threads: int | None,
                   say: Callable[[str], None]) -> _Model:
    spec, checkpoint, sha = _resolve_model(model, str(weights) if weights else None, say)
    m_gsd = model_gsd or (spec.native_gsd if spec else get_spec(DEFAULT_MODEL).native_gsd)
    t_size = tile_size or (spec.tile_size if spec else 1024)
    if overlap >= t_size:
        raise GeotallyError(f"--overlap {overlap} must be smaller than the tile size {t_size}")
    run_file, backend_used, run_sha = _backend(backend, checkpoint, spec, t_size, say)
    conf = score_floor(thresholds)
    detector = load_detector(run_file, conf=conf, iou=model_iou, imgsz=t_size, threads=threads)
    names = class_map(detector.names)
    min_score = np.array([thresholds.get(names.get(i, ""), thresholds["*"]) for i in range(max(names) + 1)]
                         if names else [thresholds["*"]])
    return _Model(spec, checkpoint, sha, run_file, run_sha, backend_used, detector, names, conf, min_score, m_gsd,
                  t_size)


def _detect(sc: Scene, m: _Model, params: Params, store_dir, fresh: bool, workers: int,
            dask: str | None, progress, say) -> tuple[Detections, np.ndarray, int, int]:
    """Detections merged over the scene, the report's picture, tiles in all, tiles resumed."""
    tile = fitted_tile_size(sc, m.gsd, m.tile_size) if getattr(m.detector, "dynamic_size", False) else m.tile_size
    check_tile_count(_tile_estimate(sc, m.gsd, tile, params.overlap))
    grid = scene_grid(sc, m.gsd, tile, params.overlap)
    preview = Preview(PreviewFrame.for_scene(sc.width, sc.height))
    pieced = preview.frame.usable_with(grid)  # else the picture is read afterwards, averaged down
    done = [0, 0]

    def on_batch(tiles: int, found: int) -> None:
        done[0] += tiles
        done[1] += found
        if progress:
            progress(done[0], len(grid), done[1])

    store = _checkpoint(store_dir, sc, m, params, fresh)
    if progress:
        progress(0, len(grid), 0)  # the bar appears, and its clock starts, as detection starts
    failed = True
    try:
        finished = store.load() if store else None
        resumed = len(store.done()) if store else 0
        if resumed:
            say(f"resuming: {resumed} of {len(grid)} tiles already done in {store_dir}")
        dets = detect_scene(sc, m.detector, model_gsd=m.gsd, tile_size=tile, overlap=params.overlap,
                            batch=params.batch, nms_iou=params.seam_iou, min_score=m.min_score, on_batch=on_batch,
                            finished=finished, skip=store.done() if store else frozenset(),
                            on_tile=store.put if store else None, on_pixels=preview.add if pieced else None,
                            runner=_runner(workers, dask, sc, m, params, preview if pieced else None))
        stored = store.preview(preview.image.shape[:2]) if store and resumed == len(grid) else None
        if stored is not None:  # nothing was detected this time: the picture of the first run
            preview.image = stored
        else:
            preview.fill(sc, grid)
            if store:
                store.put_preview(preview.image)
        failed = False
    finally:
        if store:
            store.close(discard_if_empty=failed)
    return dets, preview.image, len(grid), resumed


@dataclass
class Inputs:
    """One scene and the vectors that divide it, opened and checked before any tile runs."""

    scene: Scene
    zones: Zones | None
    border: object | None
    bounds: tuple[float, float, float, float]
    roads: Roads | None = None


def open_inputs(scene: str | os.PathLike, *, zones=None, zone_field: str = "name", border=None,
                sides: tuple[str, str] | None = None, bands: tuple[int, ...] | None = None,
                gsd: float | None = None, export: tuple[str, ...] = (), basemap: str | None = None,
                roads=None) -> Inputs:
    """Open the scene, its zones, border and roads, and check what needs them (a KML export needs a CRS)."""
    sc = open_scene(scene, bands=bands, gsd=gsd)
    if "kml" in export and sc.crs is None:
        raise GeotallyError(f"--export kml needs a georeferenced scene; {Path(sc.path).name} has no CRS")
    if basemap and sc.crs is None:
        raise GeotallyError(f"--basemap needs a georeferenced scene to place the tiles; {Path(sc.path).name} has no CRS")
    bounds = _scene_bounds(sc)
    zone_set = load_zones(str(zones), sc.crs, bounds, field=zone_field) if zones is not None else None
    border_obj = load_border(str(border), sc.crs, bounds, sides) if border is not None else None
    if zone_set is None and border_obj is not None:
        zone_set = border_obj.zones
    road_set = load_roads(str(roads), sc.crs, bounds) if roads is not None else None
    return Inputs(sc, zone_set, border_obj, bounds, road_set)


def count(scene: str | os.PathLike, zones: str | os.PathLike | None = None, model: str | None = None, *,
          weights: str | os.PathLike | None = None, zone_field: str = "name",
          conf: float | dict[str, float] | None = None,
          model_iou: float = DEFAULT_MODEL_IOU, seam_iou: float = DEFAULT_SEAM_IOU,
          tile_size: int | None = None, overlap: int = DEFAULT_OVERLAP, batch: int = DEFAULT_BATCH,
          model_gsd: float | None = None, gsd: float | None = None, bands: tuple[int, ...] | None = None,
          threads: int | None = None, out: str | os.PathLike | None = None,
          border: str | os.PathLike | None = None, sides: tuple[str, str] | None = None,
          distance_bands: tuple[float, ...] | None = None,
          size_thresholds: tuple[float, float, float] = DEFAULT_THRESHOLDS,
          queue: QueueParams = QueueParams(), calibration: str | os.PathLike | Calibration | None = None,
          claim: dict[str, float] | None = None, claim_class: str = "large_vehicle",
          export: tuple[str, ...] = (), basemap: str | None = None, fresh: bool = False,
          workers: int = 1, dask: str | None = None, backend: str = "auto", checkpoint_dir: str | None = None,
          progress: Callable[[int, int, int], None] | None = None,
          say: Callable[[str], None] = lambda msg: None, prepared: Inputs | None = None,
          inputs: list | None = None, date: str | None = None, roads: str | os.PathLike | None = None,
          road: RoadParams = RoadParams(), route: str | None = None,
          route_params: RouteParams = RouteParams(), on_road_only: bool = False,
          trailer: TrailerParams = TrailerParams(), models: dict | None = None,
          part_of_run: bool = False) -> CountResult:
    """Count vehicles in one scene, per zone.

    ``conf`` is one score threshold for every class, or per class name with ``"*"``
    for the rest; the default is per class, chosen by measurement.
    ``border`` splits the scene into two sides (see ``geotally.zones.border``); without
    ``zones`` the sides are the zones. ``calibration`` turns raw counts into estimates
    with 95% intervals, and ``claim`` ({zone: count}) is tested against them.
    ``progress(tiles_done, tiles_total, vehicles_found)`` is called after every batch.
    With ``out``, results are also written there (atomically).
    ``date`` (YYYY-MM-DD) is the scene's date; by default the one in its tags, if any.
    ``roads`` (lines: GeoJSON, GeoPackage, Shapefile, OSM .osm/.osm.pbf) ties each vehicle to the
    road it is on (``road`` says how near counts as on it) and adds counts_by_road.csv; ``route``
    ('LON,LAT;LON,LAT...') is then planned over the roads and counted per stretch (counts_by_route.csv);
    ``on_road_only`` counts only what is on a road (off-road detections are left out of every output).
    ``prepared`` is the scene and vectors already opened by :func:`open_inputs`; ``inputs`` what the
    user named (a STAC file, a folder), recorded in summary.json for 'geotally recount'.
    ``trailer`` says whether and how large vehicles are typed; ``models`` is a dict shared by the
    scenes of one run, so that the model is loaded and its file checked once, not per scene;
    ``part_of_run`` (count_scenes) skips the count tables, which the merge makes over all scenes.
    """
    # Inputs first, so a bad file or value fails before any model work.
    check_run_options(conf=conf, model=model, weights=weights, gsd=gsd, model_gsd=model_gsd, tile_size=tile_size,
                      overlap=overlap, batch=batch, threads=threads, size_thresholds=size_thresholds, queue=queue,
                      distance_bands=distance_bands, border=border, sides=sides, workers=workers, out=out,
                      basemap=basemap, dask=dask, road=road, roads=roads, route=route, on_road_only=on_road_only)
    thresholds = conf_thresholds(conf if conf is not None else _model_conf(model, weights))
    cal = Calibration.load(calibration) if isinstance(calibration, (str, os.PathLike)) else calibration
    inp = prepared or open_inputs(scene, zones=zones, zone_field=zone_field, border=border, sides=sides,
                                  bands=bands, gsd=gsd, export=export, basemap=basemap, roads=roads)
    sc, zone_set, border_obj, bounds = inp.scene, inp.zones, inp.border, inp.bounds
    if hasattr(cal, "check_scene"):
        cal.check_scene(sc.sha256, str(scene))
    if claim:
        check_claim(claim, claim_class, zone_set)
    planned = None
    if route:  # planned before any detection, so a gap in the roads fails at once
        from geotally.routes import plan

        planned = plan(str(roads), route, [shapely.box(*bounds)], sc.crs, route_params)
    log.info("scene %s: %d x %d px, %s, GSD %.3f m, sha256 %s", sc.path, sc.width, sc.height,
             sc.crs.to_string() if sc.crs else "no CRS", sc.gsd_m, sc.sha256[:12])
    with _timed("model"):
        key = (model, str(weights) if weights else None, backend, tuple(sorted(thresholds.items())), model_iou,
               tile_size, model_gsd, overlap, threads)
        m = models.get(key) if models is not None else None
        if m is None:
            m = _prepare_model(model, weights, backend, thresholds, model_iou, tile_size, model_gsd, overlap, threads,
                               say)
            if models is not None:
                models[key] = m
    log.info("model %s (%s, sha256 %s) on %s, at %.3f m/px, tiles of %d px, score floor %.2f",
             m.spec.name if m.spec else m.checkpoint, m.run_file.name, (m.run_sha or m.sha)[:12], m.backend, m.gsd,
             m.tile_size, m.conf)
    check_conf_classes(conf, m.names)
    params = Params(model=m.spec.name if m.spec else None, weights=str(weights) if weights else None,
                    conf=thresholds, model_iou=model_iou, seam_iou=seam_iou, tile_size=m.tile_size, overlap=overlap,
                    batch=batch, model_gsd=m.gsd, gsd=gsd, bands=list(bands) if bands else None,
                    zone_field=zone_field, threads=threads, backend=m.backend)
    started = dt.datetime.now(dt.timezone.utc)
    with _timed("detection"):
        dets, picture, n_tiles, resumed = _detect(sc, m, params, out if out is not None else checkpoint_dir,
                                                  fresh, workers, dask, progress, say)
    log.info("%d tiles (%d resumed from the checkpoint), %d detections after the merge", n_tiles, resumed, len(dets))
    t_analysis = time.perf_counter()
    # count_scenes resolved the date already (STAC, name, tags, --date); a direct call reads the tags
    scene_date = iso_date(date) if date else (raster_date(sc.path) if prepared is None else None)
    with _timed("trailer types"):
        det_cls = np.array([m.names.get(int(c), str(c)) for c in dets.class_id], dtype=object)
        types = type_vehicles(sc, dets.corners, det_cls, trailer, threads)
    v = build_vehicle_table(sc, dets, m.names, m.detector.names, zone_set, border_obj, size_thresholds, queue,
                            scene_date, inp.roads, road, types)
    queues = queue_table(v.found, np.flatnonzero(v.is_vehicle), v.centre_map, v.zone, sc.crs, v.along,
                         inp.roads.road_id if inp.roads is not None else None).assign(date=scene_date)
    off_road = 0
    if on_road_only:  # the road buffer is the area counted: whatever lies off it is left out everywhere
        keep = v.table["on_road"].to_numpy(bool)
        off_road = int((~keep).sum())
        v = v.only(keep)
    zone_names = list(dict.fromkeys(zone_set.names.tolist())) if zone_set is not None else []
    type_confusion = confusion_for(types.spec, sc.gsd_m, trailer.max_gsd)
    observed = valid_outline(sc)
    layer = road_layer(inp.roads, shapely.box(*bounds), sc.crs) if inp.roads is not None else None
    if part_of_run:  # count_scenes merges the scenes and makes every table once, over all of them
        counts = count_table(v.table["zone"].to_numpy(), v.table["class"].to_numpy(),
                             zone_names + [OUTSIDE]).assign(date=scene_date)
        tables: dict = {}
    else:
        counts, tables = count_tables(v.table, zone_names + [OUTSIDE], cal, distance_bands,
                                      list(border_obj.names) if border_obj is not None else None, dates=[scene_date],
                                      type_confusion=type_confusion)
        coverage = zone_coverage({scene_date or "": observed}, zone_set, sc.crs)
        counts, tables["coverage.csv"] = with_coverage(counts, coverage), coverage
        if layer is not None:
            tables["counts_by_road.csv"] = road_counts(v.table, layer, [scene_date or ""])
    from geotally import __version__

    summary = {
        "geotally_version": __version__,
        "created_utc": started.isoformat(timespec="seconds"),
        "model": m.summary(),
        "parameters": dict(asdict(params), size_thresholds_m=list(size_thresholds), queue=asdict(queue),
                           distance_bands_m=list(distance_bands) if distance_bands else None,
                           road=asdict(road) if inp.roads is not None else None,
                           route=asdict(route_params) if route else None, on_road_only=on_road_only),
        "scenes": [dict(sc.describe(), tiles=n_tiles, tiles_resumed=resumed, date=scene_date)],
        "zones": {"file": str(Path(zone_set.source).resolve()), "field": zone_set.field,
                  "sha256": file_sha256(zone_set.source), "names": zone_names} if zone_set else None,
        "border": border_summary(border_obj),
        "roads": {"file": str(Path(inp.roads.source).resolve()), "sha256": file_sha256(inp.roads.source),
                  "segments": len(layer), "on_road": int(v.table["on_road"].sum()),
                  "on_road_only": on_road_only, "off_road_left_out": off_road,
                  "rule": "on a road within half its class's width plus the margin of its line, or road.distance_m"}
        if inp.roads is not None else None,
        "vehicle_classes": list(VEHICLE_CLASSES),
        "counts": counts.to_dict(orient="records"),
        "counts_corrected": cal is not None,
        "note": ("Estimates and 95% intervals are corrected with the calibration's detection and false-positive rates."
                 if cal is not None else
                 "Counts are raw detector counts, not corrected for missed or false detections."),
        "calibration": {"file": str(calibration) if not isinstance(calibration, Calibration) else None,
                        "source": cal.source, "source_sha256": cal.source_sha256, "method": cal.method,
                        "warnings": cal.warnings(sc.gsd_m) if hasattr(cal, "warnings") else [],
                        "no_interval": {c: why for c in VEHICLE_CLASSES
                                        if hasattr(cal, "no_interval") and (why := cal.no_interval(c))}}
        if cal else None,
        "trailer_types": {"model": types.spec.describe() if types.spec else None, "note": types.note,
                          "corrected_for_confusion": type_confusion is not None,
                          "table": "counts_by_type.csv (large vehicles per trailer type; estimate and 95% interval "
                                   "corrected for the classifier's confusions on real crops)"},
        "size_classes": {k: int(n) for k, n in zip(*np.unique(v.table["size_class"].to_numpy()[v.is_vehicle],
                                                              return_counts=True))},
        "length_histogram": length_histogram(v.vehicle_lengths_m),
        "queues": queue_totals(len(v.found.lines), v.table["queue_id"].to_numpy(), v.is_vehicle),
        "claims": check_claims(claim, claim_table(counts, tables, claim_class), claim_class)
        if claim and not part_of_run else None,
        "coordinates": ("scene CRS; detections.geojson and queues.geojson in WGS84" if sc.crs is not None else
                        "pixel-space metres (no georeference): no WGS84 file is written and lon/lat are empty"),
        "inputs": run_inputs(inputs or [scene], zones=zones, border=border, sides=sides, calibration=calibration, claim=claim,
                             claim_class=claim_class, export=export, basemap=basemap, date=scene_date, roads=roads,
                             route=route),
    }
    result = CountResult(detections=v.table, counts=counts, summary=summary, scene=sc, zones=zone_set,
                         type_confusion=type_confusion,
                         queues=queues, tables=tables, preview=picture, roads=layer, observed=observed,
                         border_line=border_obj.extended.intersection(shapely.box(*bounds)) if border_obj else None)
    if planned is not None:
        from geotally.routes import add_route

        add_route(result, planned)
    log.info("analysis (sizes, zones, queues, counts): %.2f s", time.perf_counter() - t_analysis)
    if out is not None:
        with _timed("writing the results"):
            result.write(out, export=export, basemap=basemap)
    return result


@contextmanager
def _timed(stage: str):
    """Log how long a stage took (geotally -v shows it)."""
    t0 = time.perf_counter()
    yield
    log.info("%s: %.2f s", stage, time.perf_counter() - t0)


def run_inputs(scenes, *, zones=None, border=None, sides=None, calibration=None, claim=None,
               claim_class: str = "large_vehicle", export=(), basemap=None, date=None, date_pattern=None,
               roads=None, route=None) -> dict:
    """What the run was given, as absolute paths: enough for 'geotally recount' to run it again."""
    def absolute(p):
        return os.path.abspath(str(p)) if p is not None and not isinstance(p, Calibration) else None

    return {"scenes": [absolute(s) for s in scenes], "zones": absolute(zones), "border": absolute(border),
            "sides": list(sides) if sides else None, "calibration": absolute(calibration), "claim": claim,
            "claim_class": claim_class, "export": list(export), "basemap": basemap, "date": date,
            "date_pattern": date_pattern, "roads": absolute(roads), "route": route}


def _backend(backend: str, weights_path: Path, spec, t_size: int, say) -> tuple[Path, str, str | None]:
    """The file to run: the checkpoint (Ultralytics; GPUs) or its cached ONNX export (CPU default),
    the backend, and the run file's sha256 when it is an export (None: it is the checkpoint itself).

    ``auto`` picks ONNX Runtime on a machine without CUDA, where it measured faster
    (benchmarks/backends.py), and Ultralytics with a GPU.
    """
    if backend not in ("auto", "onnx", "ultralytics"):
        raise GeotallyError(f"--backend must be auto, onnx or ultralytics, got {backend!r}")
    if weights_path.suffix.lower() == ".onnx":
        # A registered ONNX model with its checkpoint runs the checkpoint on a GPU (or when asked).
        pt = checkpoint_of(spec) if spec is not None and backend != "onnx" else None
        if pt is not None and backend == "ultralytics":
            return pt, "ultralytics", spec.checkpoint_sha256
        if pt is not None and backend == "auto":
            from geotally.models.gpu import cuda_available

            if cuda_available():
                return pt, "ultralytics", spec.checkpoint_sha256
        if backend == "ultralytics":
            raise GeotallyError(f"--backend ultralytics needs a .pt checkpoint; {weights_path.name} is ONNX only")
        return weights_path, "onnx", None
    if backend == "ultralytics":
        return weights_path, "ultralytics", None
    if backend == "auto":
        if spec is None:
            return weights_path, "ultralytics", None  # a user's own checkpoint runs as given
        from geotally.models.gpu import cuda_available

        if cuda_available():
            return weights_path, "ultralytics", None
    from geotally.models.export import onnx_export

    path, digest = onnx_export(weights_path, t_size, say)
    return path, "onnx", digest


def _runner(workers: int, dask: str | None, sc: Scene, m: _Model, params: Params, preview: Preview | None):
    """Where tiles run: here (None), on a local process pool, or on a Dask cluster.

    With ``preview``, workers send back their tiles' pieces of the report's picture.
    """
    if workers == 1 and not dask:
        return None
    from dataclasses import replace

    from geotally.detect.parallel import Job, run_dask, run_pool

    n = workers if not dask else 1
    threads = max(1, (params.threads or os.cpu_count() or 1) // n)  # --threads in all, split between workers
    job = Job(scene=sc, weights=str(m.run_file), conf=m.conf, iou=params.model_iou, imgsz=m.tile_size,
              threads=threads, grid=None, batch=params.batch,
              preview=preview.frame if preview else None)
    paste = preview.paste if preview else None
    if dask:
        return lambda grid, tiles, cb: run_dask(replace(job, grid=grid, threads=1), tiles, dask, cb, on_piece=paste)
    return lambda grid, tiles, cb: run_pool(replace(job, grid=grid), tiles, workers, cb, on_piece=paste)


def _checkpoint(out, sc: Scene, m: _Model, params: Params, fresh: bool):
    """The run's tile checkpoint in ``out`` (none without ``out``)."""
    if out is None:
        return None
    from geotally.store.checkpoint import TileStore, checkpoint_path, manifest, remove

    path = checkpoint_path(out, sc.path)
    if fresh:
        remove(path)
    # What shapes the stored tiles; class thresholds are applied afterwards, so they may change.
    detection = {k: v for k, v in asdict(params).items() if k not in ("zone_field", "threads", "batch", "conf")}
    detection["score_floor"] = m.conf
    return TileStore(path, manifest(sc.sha256, m.sha, detection, m.run_sha))


def _tile_estimate(sc: Scene, model_gsd: float, tile: int, overlap: int) -> int:
    """Tiles a grid would have, without making it (a mistaken GSD could ask for billions)."""
    step = max(1, tile - min(overlap, tile // 2))
    return int(np.ceil(sc.width * sc.gsd[0] / model_gsd / step) * np.ceil(sc.height * sc.gsd[1] / model_gsd / step))


def _scene_bounds(sc: Scene) -> tuple[float, float, float, float]:
    from geotally.geo.transform import scene_corners

    corners = scene_corners(sc.transform, sc.width, sc.height)
    return (corners[:, 0].min(), corners[:, 1].min(), corners[:, 0].max(), corners[:, 1].max())
