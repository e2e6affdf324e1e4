"""Reading labelled truth: DOTA labelTxt files (oriented quadrilaterals in pixels)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geotally.detect.boxes import corners_to_polygons
from geotally.models.classes import class_map


@dataclass
class Truth:
    polygons: np.ndarray  # shapely polygons, pixel coordinates
    cls: np.ndarray  # geotally class names
    difficult: np.ndarray  # bool
    gsd: float | None


def read_dota(path: str | Path, scale: float = 1.0) -> Truth:
    """One DOTA labelTxt file; ``scale`` multiplies coordinates (for resampled images)."""
    lines = Path(path).read_text().splitlines()
    gsd, rows = None, []
    for line in lines:
        if line.startswith("gsd:"):
            try:
                gsd = float(line.split(":", 1)[1])
            except ValueError:
                gsd = None
            continue
        parts = line.split()
        if len(parts) >= 9 and not line.startswith("imagesource"):
            rows.append(parts)
    corners = np.array([[float(v) for v in r[:8]] for r in rows], float).reshape(-1, 4, 2) * scale
    names = sorted({r[8] for r in rows})
    cmap = class_map(dict(enumerate(names)))
    cls = np.array([cmap[names.index(r[8])] for r in rows], dtype=object)
    difficult = np.array([len(r) > 9 and r[9] == "1" for r in rows], bool)
    return Truth(corners_to_polygons(corners), cls, difficult, gsd)
