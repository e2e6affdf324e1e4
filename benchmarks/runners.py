"""How the benchmarks run each tool on one image: geotally through its Python API, and SAHI's sliced
prediction with the stock YOLOv8n-OBB checkpoint, with the settings every comparison uses.

SAHI's settings are its usual ones for large images: 1024 px slices, 20% overlap, confidence 0.25
for every class, at the image's own resolution. Importing this module loads neither tool.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

STOCK_MODEL = "yolov8n-obb-dota"  # the stock Ultralytics YOLOv8n-OBB checkpoint (DOTA-v1)
SAHI_SLICE = 1024
SAHI_OVERLAP = 0.2
SAHI_CONF = 0.25


def run_geotally(path: Path, gsd: float, kw: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres (pixels), classes and scores of what ``geotally.count`` finds with options ``kw``."""
    from geotally.training.validate import detect_pixels

    return detect_pixels(path, gsd, **kw)


def stock_checkpoint() -> Path:
    """The stock checkpoint's file (fetched and verified by geotally's registry on first use)."""
    from geotally.models import ensure_model, get_spec

    return ensure_model(get_spec(STOCK_MODEL))


def sahi_model(weights: str | Path | None = None):
    """SAHI's Ultralytics wrapper around ``weights`` (default: the stock checkpoint), on the CPU."""
    from sahi import AutoDetectionModel

    return AutoDetectionModel.from_pretrained(model_type="ultralytics", model_path=str(weights or stock_checkpoint()),
                                              confidence_threshold=SAHI_CONF, device="cpu")


def sahi_predict(model, path: str | Path) -> list:
    """SAHI's object predictions for one image file (sliced prediction, the settings above)."""
    from sahi.predict import get_sliced_prediction

    return get_sliced_prediction(str(path), model, slice_height=SAHI_SLICE, slice_width=SAHI_SLICE,
                                 overlap_height_ratio=SAHI_OVERLAP, overlap_width_ratio=SAHI_OVERLAP,
                                 verbose=0).object_prediction_list


def centres(preds: list) -> np.ndarray:
    """Box centres (pixels) of SAHI predictions."""
    return np.array([[(p.bbox.minx + p.bbox.maxx) / 2, (p.bbox.miny + p.bbox.maxy) / 2] for p in preds]).reshape(-1, 2)


def sahi_runner():
    """A function (path, gsd) -> (centres, geotally class names, scores) running SAHI as above."""
    from geotally.models.classes import class_map

    model = sahi_model()

    def run(path: Path, gsd: float):
        preds = sahi_predict(model, path)
        cls = np.array([class_map({0: p.category.name})[0] for p in preds], dtype=str)
        return centres(preds), cls, np.array([p.score.value for p in preds])

    return run
