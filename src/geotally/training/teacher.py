"""The detectors whose oriented boxes give axis-aligned labels their angle (the stock DOTA model) and
mark the vehicles the labels leave out (the stock model, or a pseudo-teacher)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geotally.config.defaults import STOCK_MODEL, TILE_SIZE
from geotally.training.dataset import Detect


def _xywhr(corners: np.ndarray) -> np.ndarray:
    """(n, 4, 2) rectangle corners to (n, 5) centre, edge lengths and the first edge's angle."""
    e1 = corners[:, 1] - corners[:, 0]
    e2 = corners[:, 2] - corners[:, 1]
    c = corners.mean(axis=1)
    return np.column_stack([c, np.linalg.norm(e1, axis=1), np.linalg.norm(e2, axis=1), np.arctan2(e1[:, 1], e1[:, 0])])


def teacher(model: str = STOCK_MODEL, conf: float = 0.1, tile_size: int = TILE_SIZE,
            own_gsd: bool = False) -> Detect:
    """A function (image, GSD) -> (n, 7) xywhr, score and 1 for a large vehicle (0 small) of the
    vehicles found, in the image's own pixels.

    By default at native scale: labels are at native scale, and the stock model finds cars best
    there. ``own_gsd`` runs the model at its registered model GSD instead (a fine-tuned model, as
    it runs in ``count``).
    """
    from geotally.detect.run import detect_scene
    from geotally.imagery.scene import open_scene
    from geotally.models.backends import load_detector
    from geotally.models.cache import ensure_model
    from geotally.models.classes import VEHICLE_CLASSES, class_map
    from geotally.models.export import onnx_export
    from geotally.models.registry import get_spec

    spec = get_spec(model)
    run_file = ensure_model(spec)
    if run_file.suffix != ".onnx":
        run_file, _ = onnx_export(run_file, tile_size)
    det = load_detector(run_file, conf=conf, iou=0.7, imgsz=tile_size)
    names = class_map(det.names)
    vehicle_ids = np.array([i for i, n in names.items() if n in VEHICLE_CLASSES])
    large_ids = np.array([i for i, n in names.items() if n == "large_vehicle"])

    def run(path: Path, gsd: float) -> np.ndarray:
        sc = open_scene(path, gsd=gsd, checksum=False)
        d = detect_scene(sc, det, model_gsd=spec.native_gsd if own_gsd else gsd, tile_size=tile_size, overlap=160)
        keep = np.isin(d.class_id, vehicle_ids)
        large = np.isin(d.class_id[keep], large_ids).astype(float)
        return np.column_stack([_xywhr(d.corners[keep]), d.score[keep].astype(float), large]) if keep.any() \
            else np.zeros((0, 7))

    return run
