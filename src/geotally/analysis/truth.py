"""Reading labelled truth: DOTA labelTxt files (oriented quadrilaterals in pixels)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geotally.detect.boxes import corners_to_polygons
from geotally.errors import GeotallyError
from geotally.models.classes import class_map


@dataclass
class Truth:
    polygons: np.ndarray  # shapely polygons, pixel coordinates
    cls: np.ndarray  # geotally class names
    difficult: np.ndarray  # bool
    gsd: float | None


def _is_number(text: str) -> bool:
    try:
        return np.isfinite(float(text))
    except ValueError:
        return False


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
    try:
        corners = np.array([[float(v) for v in r[:8]] for r in rows], float).reshape(-1, 4, 2) * scale
    except ValueError:
        bad = next(r for r in rows if not all(_is_number(v) for v in r[:8]))
        raise GeotallyError(f"{path}: a DOTA row needs 8 numbers then a class, got {' '.join(bad)!r}") from None
    names = sorted({r[8] for r in rows})
    cmap = class_map(dict(enumerate(names)))
    cls = np.array([cmap[names.index(r[8])] for r in rows], dtype=object)
    difficult = np.array([len(r) > 9 and r[9] == "1" for r in rows], bool)
    return Truth(corners_to_polygons(corners), cls, difficult, gsd)


def read_yolo(path: str | Path, width: int, height: int, names: dict[int, str]) -> Truth:
    """One YOLO label file, normalised: ``cls cx cy w h`` (axis-aligned) or ``cls x1 y1 … x4 y4`` (OBB)."""
    rows = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
    corners, cls = [], []
    cmap = class_map(names)
    scale = np.array([width, height], float)
    for r in rows:
        if not all(_is_number(v) for v in r) or not float(r[0]).is_integer():
            raise GeotallyError(f"{path}: a YOLO row is a class number then 4 or 8 numbers, got {' '.join(r)!r}")
        vals = np.array([float(v) for v in r[1:]])
        if len(vals) == 4:
            cx, cy, w, h = vals
            quad = np.array([[cx - w / 2, cy - h / 2], [cx + w / 2, cy - h / 2], [cx + w / 2, cy + h / 2],
                             [cx - w / 2, cy + h / 2]])
        elif len(vals) == 8:
            quad = vals.reshape(4, 2)
        else:
            raise GeotallyError(f"{path}: a YOLO row has 5 or 9 numbers, found {len(r)}: {' '.join(r)!r}")
        corners.append(quad * scale)
        cls.append(cmap.get(int(float(r[0])), str(r[0])))
    c = np.array(corners, float).reshape(-1, 4, 2)
    return Truth(corners_to_polygons(c), np.array(cls, dtype=object), np.zeros(len(c), bool), None)


def yolo_names(folder: str | Path) -> dict[int, str]:
    """Class names from classes.names / obj.names / data.yaml beside or above a YOLO label folder."""
    folder = Path(folder)
    for base in (folder, folder.parent):
        for name in ("classes.names", "classes.txt", "obj.names"):
            if (base / name).exists():
                lines = [ln.strip() for ln in (base / name).read_text().splitlines() if ln.strip()]
                return dict(enumerate(lines))
        if (base / "data.yaml").exists():
            import yaml

            data = yaml.safe_load((base / "data.yaml").read_text())
            names = data.get("names", {})
            return dict(enumerate(names)) if isinstance(names, list) else {int(k): v for k, v in names.items()}
    return {}
