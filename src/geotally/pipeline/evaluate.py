"""`geotally evaluate`: score count results against labelled truth, per class, image and zone."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geotally.analysis.scoring import ClassScore, round4, score_class
from geotally.analysis.truth import Truth, read_dota, read_yolo, yolo_names
from geotally.config.defaults import MATCH_CONF, MATCH_IOU
from geotally.imagery.labels import scene_labels
from geotally.errors import GeotallyError, check_file, first_line
from geotally.store.outputs import MANIFEST, check_manifest
from geotally.geo.transform import pixel_to_map
from geotally.imagery.scene import open_scene
from geotally.models.classes import VEHICLE_CLASSES, class_map
from geotally.zones.assign import OUTSIDE, assign_zones
from geotally.zones.load import load_zones, read_vector

CLASS_FIELDS = ("class", "label", "category", "type", "name")


def _detections(path: Path) -> tuple[gpd.GeoDataFrame, dict]:
    """A detections file (or a results folder) and its summary.json when there is one."""
    folder = _summary_of(path).parent
    det_path = path / "detections.gpkg" if path.is_dir() else path
    if not det_path.exists():
        raise GeotallyError(f"detections not found: {det_path}")
    if path.is_dir() or (folder / MANIFEST).exists():
        check_manifest(folder)  # never score a half-written or mixed results folder
    summary = json.loads((folder / "summary.json").read_text()) if (folder / "summary.json").exists() else {}
    return _in_metres(_read_detections(det_path), summary), summary


def _summary_of(path: Path) -> Path:
    """The summary.json beside a detections file, or in a results folder (it may be missing)."""
    return (path if path.is_dir() else path.parent) / "summary.json"


def _read_detections(path: Path) -> gpd.GeoDataFrame:
    """Any detections file geotally writes: GeoPackage, GeoJSON, or GeoParquet (read by pyarrow, which
    every install has, where GDAL's Parquet driver is often missing)."""
    if path.suffix.lower() != ".parquet":
        return read_vector(str(path), "detections file")
    check_file(path, "detections file")
    try:
        return gpd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 (pyarrow's and geopandas' errors: a file that is not GeoParquet)
        raise GeotallyError(f"detections file {path} cannot be read as GeoParquet: {first_line(exc)}") from None


def _in_metres(det: gpd.GeoDataFrame, summary: dict) -> gpd.GeoDataFrame:
    """Detections in the run's own CRS, whichever file of the run they come from: detections.geojson is
    WGS84, and the truth, the scene's bounds and the matching radius are all in the scene's metres.
    Detections in degrees without their run go to the local UTM zone."""
    if det.empty and "class" not in det.columns:  # an empty GeoJSON keeps no fields
        det = det.assign(**{"class": pd.Series(dtype=object), "score": pd.Series(dtype=float)})
    crs = (summary.get("scenes") or [{}])[0].get("crs")
    if det.crs is None:
        return det
    if crs:
        return det if det.crs == CRS.from_user_input(crs) else det.to_crs(crs)
    return det.to_crs(det.estimate_utm_crs()) if det.crs.is_geographic and len(det) else det


def _scene_of(summary: dict, det_path: Path):
    if not summary.get("scenes"):
        raise GeotallyError(f"{det_path}: pixel labels need the scene; no summary.json beside the detections")
    s = summary["scenes"][0]
    gsd = summary.get("parameters", {}).get("gsd")
    return open_scene(s["path"], gsd=gsd, checksum=False)


def _pixel_truth_to_map(truth: Truth, scene) -> np.ndarray:
    return shapely.transform(truth.polygons, lambda xy: pixel_to_map(scene.transform, xy))


def _vector_truth(path: Path, crs) -> tuple[np.ndarray, np.ndarray, bool]:
    gdf = read_vector(str(path), "truth file", pixel_space=crs is None)
    if gdf.empty:
        raise GeotallyError(f"the truth {path} holds no objects with a geometry; give labelled truth")
    if gdf.crs is not None and crs is not None:
        gdf = gdf.to_crs(crs)
    field = next((f for f in CLASS_FIELDS if f in gdf.columns), None)
    if field is None:
        raise GeotallyError(f"{path}: no class field; name it one of {', '.join(CLASS_FIELDS)}")
    raw = gdf[field].astype(str).tolist()
    names = sorted(set(raw))
    cmap = class_map(dict(enumerate(names)))
    cls = np.array([cmap[names.index(v)] for v in raw], dtype=object)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    points = bool((gdf.geometry.geom_type == "Point").any())
    if points:  # points are matched by distance: where some labels are shapes, their centres are matched
        geoms = shapely.centroid(geoms)
    return geoms, cls, points


def load_truth(truth: Path, stem: str, det_path: Path, summary: dict, crs):
    """(geometries in the detections' CRS, classes, difficult flags, points?) for one image."""
    if truth.is_dir():
        dota = truth / f"{stem}.txt" if (truth / f"{stem}.txt").exists() else truth / "labelTxt" / f"{stem}.txt"
        scene = _scene_of(summary, det_path)
        text = dota.read_text() if dota.exists() else ""
        if dota.exists() and ("imagesource" in text or "gsd:" in text or len(text.split("\n")[0].split()) >= 9):
            t = read_dota(dota)
        else:
            label = next((p for p in (truth / f"{stem}.txt", truth / "labels" / f"{stem}.txt") if p.exists()), None)
            if label is None:
                raise GeotallyError(f"no label file for image {stem!r} in {truth}")
            t = read_yolo(label, scene.width, scene.height, yolo_names(label.parent))
        return _pixel_truth_to_map(t, scene), t.cls, t.difficult, False
    geoms, cls, points = _vector_truth(truth, crs)
    return geoms, cls, np.zeros(len(cls), bool), points


def _check_overlap(det: gpd.GeoDataFrame, geoms: np.ndarray, summary: dict, det_path: Path, truth: Path) -> None:
    """Truth that lies nowhere near the scene (another place, or another CRS) would score recall 0 in
    silence; say so instead."""
    if not len(geoms):
        return
    if summary.get("scenes"):
        from geotally.geo.transform import scene_corners

        try:
            sc = _scene_of(summary, det_path)
            c = scene_corners(sc.transform, sc.width, sc.height)
            area = shapely.box(*c.min(axis=0), *c.max(axis=0))
        except GeotallyError:
            area = None
    else:
        area = None
    if area is None:
        if not len(det):
            return
        area = shapely.box(*det.total_bounds)
    tb = shapely.total_bounds(geoms)
    if not shapely.intersects(area.buffer(50.0), shapely.box(*tb)):
        raise GeotallyError(f"no truth in {truth} overlaps the scene of {det_path} (truth bounds "
                            f"{np.round(tb, 1).tolist()}, scene bounds {np.round(area.bounds, 1).tolist()}, in the "
                            "detections' CRS); check that the truth is of this place and in a stated CRS")


def _zone_errors(det: gpd.GeoDataFrame, geoms: np.ndarray, tcls: np.ndarray, difficult: np.ndarray,
                 zones_path: Path, conf: float, stem: str) -> list[dict]:
    """Detected against true counts per zone and class, both assigned by centre."""
    bounds = tuple(np.concatenate([np.min(shapely.bounds(geoms)[:, :2], axis=0), np.max(shapely.bounds(geoms)[:, 2:], axis=0)])) \
        if len(geoms) else tuple(det.total_bounds)
    z = load_zones(str(zones_path), det.crs, bounds, field_option=None)  # evaluate has no --zone-field
    d = det[det["score"] >= conf]
    dz = assign_zones(shapely.get_coordinates(shapely.centroid(np.asarray(d.geometry.values, dtype=object))), z)
    tz = assign_zones(shapely.get_coordinates(shapely.centroid(geoms)), z) if len(geoms) else np.array([], object)
    rows = []
    for zone in list(dict.fromkeys(z.names.tolist())) + [OUTSIDE]:
        for cls in VEHICLE_CLASSES:
            n_true = int(((tz == zone) & (tcls == cls) & ~difficult).sum())
            n_det = int(((dz == zone) & (d["class"].to_numpy() == cls)).sum())
            rows.append({"image": stem, "zone": zone, "class": cls, "n_truth": n_true, "n_detected": n_det,
                         "count_error": n_det - n_true,
                         "count_error_rel": round4((n_det - n_true) / n_true) if n_true else None})
    return rows


def evaluate(detections: list[Path], truth: Path, *, iou: float = MATCH_IOU, radius_m: float | None = None,
             conf: float = MATCH_CONF, zones: Path | None = None) -> dict:
    """Per class: P, R, F1 (at ``conf``), AP50 and count error, over one or more result sets;
    per image, and per zone when ``zones`` is given.

    Point truth, or ``radius_m``, switches matching to centre distance.
    """
    per_image, per_zone, totals, models, kept_at = [], [], {}, [], []
    seen_classes: set[str] = set()
    n_objects = 0
    difficult_by_class: dict[str, int] = {}
    for det_path in detections:
        det, summary = _detections(Path(det_path))
        for col in ("class", "score"):
            if col not in det.columns:
                raise GeotallyError(f"{det_path}: detections need a {col!r} field (as 'geotally count' writes them)")
        if len(det) and "scene" not in det.columns and not summary.get("scenes"):
            raise GeotallyError(f"{det_path}: detections need a 'scene' field, or a summary.json beside them, "
                                "to know which image's labels to compare with")
        scenes = list(dict.fromkeys(str(x) for x in det["scene"])) if len(det) and "scene" in det.columns \
            else [s.get("path", "x") for s in summary.get("scenes", [{}])]
        if len(scenes) > 1:  # one truth file scored against several scenes' detections: a silent mix-up
            named = scene_labels(scenes)  # as the results name them: a.tif, b.tif; n/scene.tif, s/scene.tif
            raise GeotallyError(f"{det_path} holds the detections of {len(scenes)} scenes ({named[0]}, "
                                f"{named[1]}{', ...' if len(scenes) > 2 else ''}); evaluate scores one "
                                "scene against its truth: count each scene to a folder of its own and give those")
        stem = Path(str(scenes[0])).stem
        model = summary.get("model") or {}
        models.append({"name": model.get("name"), "sha256": model.get("sha256")} if model.get("sha256") else None)
        kept_at.append((summary.get("parameters") or {}).get("conf"))
        geoms, tcls, difficult, points = load_truth(Path(truth), stem, Path(det_path), summary, det.crs)
        _check_overlap(det, geoms, summary, Path(det_path), Path(truth))
        n_objects += len(geoms)
        seen_classes |= {str(c) for c in tcls}
        for cls in VEHICLE_CLASSES:
            difficult_by_class[cls] = difficult_by_class.get(cls, 0) + int((difficult & (tcls == cls)).sum())
        mode = "centre" if points or radius_m else "iou"
        if zones is not None:
            per_zone += _zone_errors(det, geoms, tcls, difficult, Path(zones), conf, stem)
        for cls in VEHICLE_CLASSES:
            d = det[det["class"] == cls]
            sel = tcls == cls
            radius = radius_m or (3.0 if cls == "large_vehicle" else 1.5)
            s = score_class(cls, np.asarray(d.geometry.values, dtype=object), d["score"].to_numpy(), geoms[sel],
                            difficult[sel], conf=conf, threshold=iou, mode=mode, radius=radius)
            per_image.append(dict(s.as_dict(), image=stem, mode=mode))
            agg = totals.setdefault(cls, {"tp": 0, "fp": 0, "fn": 0, "n_truth": 0, "n_detected": 0, "ap50": []})
            for k in ("tp", "fp", "fn", "n_truth", "n_detected"):
                agg[k] += getattr(s, k)
            agg["ap50"].append(s.ap50)
    if n_objects == 0:
        raise GeotallyError(f"the truth {truth} holds no objects for these detections; give labelled truth")
    if not seen_classes & set(VEHICLE_CLASSES):
        raise GeotallyError(f"no object in the truth {truth} is a vehicle (its classes: "
                            f"{', '.join(sorted(seen_classes)[:8])}); is it zones or another layer? Give vehicle labels "
                            "(car, truck, large vehicle, ...) in a class field")
    per_class = {}
    for cls, a in totals.items():
        aps = [x for x in a["ap50"] if x == x]
        pooled = ClassScore(cls, a["tp"], a["fp"], a["fn"], a["n_truth"], a["n_detected"],
                            float(np.mean(aps)) if aps else float("nan")).as_dict()
        del pooled["class"]
        pooled["ap50_mean_over_images"] = pooled.pop("ap50")
        pooled["n_difficult_ignored"] = difficult_by_class.get(cls, 0)
        per_class[cls] = pooled
    ignored = sum(difficult_by_class.values())
    note = (f"{ignored} labels marked difficult (DOTA) are left out of the truth counts and recall; a detection "
            "matching one is neither a true nor a false positive, so 'found' here can be fewer than count's count"
            if ignored else None)
    # the model the detections came from, where every set names the same one: a calibration made from
    # this evaluation then speaks for that model only
    model = models[0] if models and all(m == models[0] for m in models) else None
    # the score thresholds the scored detections were kept at (the runs', raised to ``conf``): a calibration's
    # rates hold at these only
    run_conf = kept_at[0] if kept_at and isinstance(kept_at[0], dict) and all(k == kept_at[0] for k in kept_at) else None
    thresholds = {k: max(float(v), conf) for k, v in run_conf.items()} if run_conf else None
    import datetime as dt

    from geotally._version import __version__
    from geotally.imagery.checksum import file_sha256

    truth_path = Path(truth).resolve()
    return {"geotally_version": __version__,
            "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "truth_sha256": file_sha256(truth_path) if truth_path.is_file() else None,  # a labelTxt folder: none
            "detections_summary_sha256": [file_sha256(p) if p.is_file() else None
                                          for p in (_summary_of(Path(d)) for d in detections)],
            "per_class": per_class, "per_image": per_image, "per_zone": per_zone, "note": note, "model": model,
            "thresholds": thresholds,
            "params": {"iou": iou, "radius_m": radius_m, "conf": conf, "truth": str(truth_path),
                       "detections": [str(Path(d).resolve()) for d in detections]}}
