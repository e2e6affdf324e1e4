"""The Python API: ``geotally.count`` and the result it returns. The CLI is a thin layer over it."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd

import shapely

from geotally.analysis.calibration import Calibration
from geotally.analysis.counts import add_intervals, band_labels, check_claims, count_by, count_table
from geotally.analysis.queues import PARKED, QueueParams, find_queues
from geotally.analysis.sizes import DEFAULT_THRESHOLDS, length_histogram, size_class
from geotally.geo.metric import local_metric_crs, to_metric
from geotally.store.queues import queue_table
from geotally.zones.border import border_summary, load_border
from geotally.detect.run import detect_scene, scene_grid
from geotally.errors import GeotallyError
from geotally.geo.footprints import footprints
from geotally.imagery.preview import Preview, PreviewFrame
from geotally.imagery.scene import Scene, file_sha256, open_scene
from geotally.models.backends import load_detector
from geotally.models.cache import ensure_model
from geotally.models.classes import VEHICLE_CLASSES, class_map
from geotally.models.registry import DEFAULT_MODEL, get_spec
from geotally.store.outputs import check_out_dir, staged_output, write_json, write_vector
from geotally.zones.assign import OUTSIDE, assign_zones
from geotally.zones.load import Zones, load_zones

# Chosen by measurement (best F1 per class on labelled DOTA images at 0.13-0.5 m/px);
# see README "Threshold defaults" and benchmarks/thresholds.py.
DEFAULT_CONF = {"large_vehicle": 0.10, "small_vehicle": 0.25, "*": 0.25}
DEFAULT_MODEL_IOU = 0.7
DEFAULT_SEAM_IOU = 0.3
DEFAULT_OVERLAP = 160
DEFAULT_BATCH = 4

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

    def write(self, out: str | os.PathLike, *, report: bool = True, export: tuple[str, ...] = (),
              basemap: str | None = None) -> Path:
        """Write detections and queues (.gpkg in the scene CRS, .geojson in WGS84, .parquet as
        GeoParquet), counts.csv, the extra count tables, summary.json and report.html, atomically
        into ``out``. ``export=("kml",)`` adds detections.kml for Google Earth."""
        layers = {"detections": self.detections}
        if self.queues is not None:
            layers["queues"] = self.queues
        with staged_output(out) as stage:
            for name, gdf in layers.items():
                write_vector(gdf, stage / f"{name}.gpkg", layer=name)
                write_vector(gdf.to_crs("EPSG:4326") if self.scene.crs is not None else gdf, stage / f"{name}.geojson")
            self.detections.to_parquet(stage / "detections.parquet")
            if "kml" in export:
                if self.scene.crs is None:
                    raise GeotallyError("--export kml needs a georeferenced scene")
                write_vector(self.detections.to_crs("EPSG:4326"), stage / "detections.kml")
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
          say: Callable[[str], None] = lambda msg: None) -> CountResult:
    """Count vehicles in one scene, per zone.

    ``conf`` is one score threshold for every class, or per class name with ``"*"``
    for the rest; the default is per class, chosen by measurement.
    ``border`` splits the scene into two sides (see ``geotally.zones.border``); without
    ``zones`` the sides are the zones. ``calibration`` turns raw counts into estimates
    with 95% intervals, and ``claim`` ({zone: count}) is tested against them.
    ``progress(tiles_done, tiles_total, vehicles_found)`` is called after every batch.
    With ``out``, results are also written there (atomically).
    """
    thresholds = conf_thresholds(conf)
    if out is not None:
        check_out_dir(out)
    cal = Calibration.load(calibration) if isinstance(calibration, (str, os.PathLike)) else calibration
    sc = open_scene(scene, bands=bands, gsd=gsd)
    bounds = _scene_bounds(sc)
    zone_set = load_zones(str(zones), sc.crs, bounds, field=zone_field) if zones is not None else None
    border_obj = load_border(str(border), sc.crs, bounds, sides) if border is not None else None
    if zone_set is None and border_obj is not None:
        zone_set = border_obj.zones
    spec, weights_path, sha = _resolve_model(model, str(weights) if weights else None, say)
    m_gsd = model_gsd or (spec.native_gsd if spec else get_spec(DEFAULT_MODEL).native_gsd)
    t_size = tile_size or (spec.tile_size if spec else 1024)
    if overlap >= t_size:
        raise GeotallyError(f"--overlap {overlap} must be smaller than the tile size {t_size}")
    checkpoint = weights_path
    weights_path, backend_used, run_sha = _backend(backend, weights_path, spec, t_size, say)
    detector = load_detector(weights_path, conf=min(thresholds.values()), iou=model_iou, imgsz=t_size,
                             threads=threads)
    names = class_map(detector.names)
    min_score = np.array([thresholds.get(names.get(i, ""), thresholds["*"]) for i in range(max(names) + 1)]
                         if names else [thresholds["*"]])
    params = Params(model=spec.name if spec else None, weights=str(weights) if weights else None, conf=thresholds,
                    model_iou=model_iou, seam_iou=seam_iou, tile_size=t_size, overlap=overlap, batch=batch,
                    model_gsd=m_gsd, gsd=gsd, bands=list(bands) if bands else None, zone_field=zone_field,
                    threads=threads, backend=backend_used)
    grid = scene_grid(sc, m_gsd, t_size, overlap)
    n_tiles = len(grid)
    preview = Preview(PreviewFrame.for_scene(sc.width, sc.height))
    pieced = preview.frame.usable_with(grid)  # else the picture is read afterwards, averaged down
    done = [0, 0]

    def on_batch(tiles: int, found: int) -> None:
        done[0] += tiles
        done[1] += found
        if progress:
            progress(done[0], n_tiles, done[1])

    started = dt.datetime.now(dt.timezone.utc)
    store = _checkpoint(out if out is not None else checkpoint_dir, sc, sha, params, fresh)
    try:
        finished = store.load() if store else None
        resumed_tiles = len(store.done()) if store else 0
        if resumed_tiles:
            say(f"resuming: {resumed_tiles} of {n_tiles} tiles already done in {out}")
        dets = detect_scene(sc, detector, model_gsd=m_gsd, tile_size=t_size, overlap=overlap, batch=batch,
                            nms_iou=seam_iou, min_score=min_score, on_batch=on_batch, finished=finished,
                            skip=store.done() if store else frozenset(), on_tile=store.put if store else None,
                            on_pixels=preview.add if pieced else None,
                            runner=_runner(workers, dask, sc, weights_path, thresholds, model_iou, t_size,
                                           min_score, batch, preview if pieced else None))
        preview.fill(sc, grid)
    finally:
        if store:
            store.close()
    fp = footprints(dets.corners, sc.transform, sc.crs)
    cls = np.array([names.get(int(c), str(c)) for c in dets.class_id], dtype=object)
    raw = np.array([detector.names.get(int(c), str(c)) for c in dets.class_id], dtype=object)
    zone = assign_zones(fp.centre_map, zone_set)
    columns = {
        "class": cls, "model_class": raw, "score": np.round(dets.score.astype(float), 4),
        "length_m": np.round(fp.length_m, 2), "width_m": np.round(fp.width_m, 2),
        "heading_deg": np.round(fp.heading_deg, 1), "lon": fp.lonlat[:, 0], "lat": fp.lonlat[:, 1],
        "zone": zone.astype(str), "scene": np.full(len(dets), Path(sc.path).name, dtype=object),
        "size_class": size_class(fp.length_m, size_thresholds),
    }
    metric_crs = local_metric_crs(sc.crs, _centre_lonlat(sc)) if sc.crs is not None else None
    metric = to_metric(fp.centre_map, sc.crs, metric_crs)
    if border_obj is not None:
        columns["side"] = assign_zones(fp.centre_map, border_obj.zones).astype(str)
        line_m = to_metric(np.asarray(border_obj.extended.coords), sc.crs, metric_crs)
        columns["border_dist_m"] = np.round(shapely.distance(shapely.points(metric), shapely.linestrings(line_m)), 1)
    is_vehicle = np.isin(cls, VEHICLE_CLASSES)
    found = find_queues(metric[is_vehicle], fp.heading_deg[is_vehicle], fp.length_m[is_vehicle], queue)
    queue_id = np.full(len(dets), -1, np.int64)
    queue_id[is_vehicle] = found.label
    columns["queue_id"] = queue_id
    columns["activity"] = np.where(queue_id >= 0, "queue", PARKED).astype(object)
    gdf = gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(fp.polygons, crs=sc.crs), crs=sc.crs)
    vehicle_idx = np.flatnonzero(is_vehicle)
    queues_gdf = queue_table(found, vehicle_idx, fp.centre_map, zone, sc.crs)
    zone_names = list(dict.fromkeys(zone_set.names.tolist())) if zone_set is not None else []
    counts = count_table(zone, cls, zone_names + [OUTSIDE])
    calibrated = cal is not None
    if calibrated:
        counts = add_intervals(counts, cal)
    extra_tables = {"counts_by_activity.csv": count_by(zone, cls, columns["activity"], "activity",
                                                       zone_names + [OUTSIDE])}
    if distance_bands and border_obj is not None:
        extra_tables["counts_by_band.csv"] = count_by(columns["side"], cls, band_labels(columns["border_dist_m"], distance_bands),
                                                      "band", list(border_obj.names))
    from geotally import __version__

    summary = {
        "geotally_version": __version__,
        "created_utc": started.isoformat(timespec="seconds"),
        "model": {"name": spec.name if spec else None, "file": str(checkpoint), "sha256": sha,
                  "run_file": str(weights_path),
                  "run_file_sha256": run_sha or sha,
                  "native_gsd_m": m_gsd, "detector": detector.describe(),
                  "classes": {str(k): v for k, v in detector.names.items()}},
        "parameters": dict(asdict(params), size_thresholds_m=list(size_thresholds), queue=asdict(queue),
                           distance_bands_m=list(distance_bands) if distance_bands else None),
        "scenes": [dict(sc.describe(), tiles=n_tiles, tiles_resumed=resumed_tiles)],
        "zones": {"file": str(Path(zone_set.source).resolve()), "field": zone_set.field,
                  "sha256": file_sha256(zone_set.source), "names": zone_names} if zone_set else None,
        "border": border_summary(border_obj),
        "vehicle_classes": list(VEHICLE_CLASSES),
        "counts": counts.to_dict(orient="records"),
        "counts_corrected": calibrated,
        "note": ("Estimates and 95% intervals are corrected with the calibration's detection and false-positive rates."
                 if calibrated else "Counts are raw detector counts, not corrected for missed or false detections."),
        "calibration": {"file": str(calibration) if not isinstance(calibration, Calibration) else None,
                        "source": cal.source, "source_sha256": cal.source_sha256, "method": cal.method} if cal else None,
        "size_classes": {k: int(v) for k, v in zip(*np.unique(columns["size_class"][is_vehicle], return_counts=True))},
        "length_histogram": length_histogram(fp.length_m[is_vehicle]),
        "queues": {"count": len(found.lines), "vehicles_in_queues": int((queue_id >= 0).sum()),
                   "vehicles_elsewhere": int(is_vehicle.sum() - (queue_id >= 0).sum())},
        "claims": check_claims(claim, counts, claim_class) if claim else None,
    }
    result = CountResult(detections=gdf, counts=counts, summary=summary, scene=sc, zones=zone_set,
                         queues=queues_gdf, tables=extra_tables,
                         preview=preview.image,
                         border_line=border_obj.extended.intersection(shapely.box(*bounds)) if border_obj else None)
    if out is not None:
        result.write(out, export=export, basemap=basemap)
    return result


def _centre_lonlat(sc: Scene) -> tuple[float, float]:
    from geotally.geo.transform import map_to_wgs84, pixel_to_map

    centre = pixel_to_map(sc.transform, np.array([[sc.width / 2, sc.height / 2]]))
    return tuple(map_to_wgs84(sc.crs, centre)[0])


def _backend(backend: str, weights_path: Path, spec, t_size: int, say) -> tuple[Path, str, str | None]:
    """The file to run: the checkpoint (Ultralytics; GPUs) or its cached ONNX export (CPU default),
    the backend, and the run file's sha256 when it is an export (None: it is the checkpoint itself).

    ``auto`` picks ONNX Runtime on a machine without CUDA, where it measured faster
    (benchmarks/backends.py), and Ultralytics with a GPU.
    """
    if backend not in ("auto", "onnx", "ultralytics"):
        raise GeotallyError(f"--backend must be auto, onnx or ultralytics, got {backend!r}")
    if weights_path.suffix.lower() == ".onnx" or backend == "ultralytics":
        return weights_path, "onnx" if weights_path.suffix.lower() == ".onnx" else "ultralytics", None
    if backend == "auto":
        if spec is None:
            return weights_path, "ultralytics", None  # a user's own checkpoint runs as given
        from geotally.models.gpu import cuda_available

        if cuda_available():
            return weights_path, "ultralytics", None
    from geotally.models.export import onnx_export

    path, digest = onnx_export(weights_path, t_size, say)
    return path, "onnx", digest


def _runner(workers: int, dask: str | None, sc: Scene, weights_path: Path, thresholds: dict, model_iou: float,
            t_size: int, min_score: np.ndarray, batch: int, preview: Preview | None):
    """Where tiles run: here (None), on a local process pool, or on a Dask cluster.

    With ``preview``, workers send back their tiles' pieces of the report's picture.
    """
    if workers < 1:
        raise GeotallyError(f"--workers must be at least 1, got {workers}")
    if workers == 1 and not dask:
        return None
    from dataclasses import replace

    from geotally.detect.parallel import Job, run_dask, run_pool

    n = workers if not dask else 1
    threads = max(1, (os.cpu_count() or 1) // n)
    job = Job(scene=sc, weights=str(weights_path), conf=min(thresholds.values()), iou=model_iou, imgsz=t_size,
              threads=threads, grid=None, min_score=tuple(float(x) for x in min_score), batch=batch,
              preview=preview.frame if preview else None)
    paste = preview.paste if preview else None
    if dask:
        return lambda grid, tiles, cb: run_dask(replace(job, grid=grid, threads=1), tiles, dask, cb, on_piece=paste)
    return lambda grid, tiles, cb: run_pool(replace(job, grid=grid), tiles, workers, cb, on_piece=paste)


def _checkpoint(out, sc: Scene, model_sha: str, params: Params, fresh: bool):
    """The run's tile checkpoint in ``out`` (none without ``out``)."""
    if out is None:
        return None
    from geotally.store.checkpoint import TileStore, checkpoint_path, manifest

    path = checkpoint_path(out, sc.path)
    if fresh and path.exists():
        path.unlink()
    detection = {k: v for k, v in asdict(params).items() if k not in ("zone_field", "threads", "batch")}
    return TileStore(path, manifest(sc.sha256, model_sha, detection))


def conf_thresholds(conf: float | dict[str, float] | None) -> dict[str, float]:
    """Per-class score thresholds with a ``"*"`` fallback, validated."""
    if conf is None:
        table = dict(DEFAULT_CONF)
    elif isinstance(conf, dict):
        table = {**DEFAULT_CONF, **conf}
    else:
        table = {k: float(conf) for k in DEFAULT_CONF}
    for k, v in table.items():
        if not 0 < v < 1:
            raise GeotallyError(f"--conf for {k} must be between 0 and 1, got {v}")
    return table


def _scene_bounds(sc: Scene) -> tuple[float, float, float, float]:
    from geotally.geo.transform import scene_corners

    corners = scene_corners(sc.transform, sc.width, sc.height)
    return (corners[:, 0].min(), corners[:, 1].min(), corners[:, 0].max(), corners[:, 1].max())
