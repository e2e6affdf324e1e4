"""Labelled images for training: DOTA labelTxt, YOLO and YOLO-OBB folders, vector labels beside scenes.

Every source becomes a list of :class:`LabelledImage`: the image file, its labels as pixel
corners with geotally class names (or the model's other classes by name), whether the labels
were axis-aligned, and the image's GSD.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from geotally.errors import GeotallyError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
# Typical length and width (m) of labelled vehicles, to estimate the GSD of images that state none.
# Car, bus and long vehicle are real-world sizes; van and truck are the medians of SIMD's own
# labels on training images whose GSD their cars give (5.6 and 7.3 m; trucks vary 4.7-11 m).
VEHICLE_SIZE_M = {"car": (4.6, 1.8), "van": (5.5, 2.0), "bus": (12.0, 2.55), "longvehicle": (16.5, 2.5),
                  "truck": (7.3, 2.4)}
# Names that are vehicles in the DOTA sense but belong to neither vehicle class (cyclists) or that
# no DOTA class covers (airport ground vehicles) are masked, not learnt as background.
IGNORE = {"cyclist", "other", "others", "stairtruck", "pushbacktruck"}
_PLANE = {"plane", "airliner", "propeller", "trainer", "chartered", "fighter", "aircraft"}
_SHIP = {"ship", "boat", "vessel"}


@dataclass
class LabelledImage:
    path: Path
    corners: np.ndarray  # (n, 4, 2) pixel corners
    cls: np.ndarray  # (n,) class names: large_vehicle, small_vehicle, plane, ship, helicopter or 'ignore'
    axis_aligned: bool
    gsd: float
    source: str  # the folder it came from, for provenance


def training_class(name: str) -> str:
    """A label's class name as the training set knows it."""
    from geotally.models.classes import class_map, normalise

    key = normalise(name)
    if key in IGNORE:
        return "ignore"
    if key in _PLANE:
        return "plane"
    if key in _SHIP:
        return "ship"
    return class_map({0: key})[0]


def _corners(polys: np.ndarray) -> np.ndarray:
    if len(polys) == 0:
        return np.zeros((0, 4, 2))
    rect = shapely.oriented_envelope(polys)
    xy = shapely.get_coordinates(rect).reshape(len(polys), -1, 2)
    return xy[:, :4]


def _box_length(corners: np.ndarray, aspect: float, axis_aligned: bool) -> np.ndarray:
    """Length in pixels of vehicles of width/length ``aspect`` from their labels.

    An oriented label's long side is the length. An axis-aligned box of a vehicle turned by an
    angle t has sides L(cos t + a sin t) and L(sin t + a cos t), so
    L² = (((w + h) / (1 + a))² + ((w − h) / (1 − a))²) / 2 whatever the angle: taking the box's
    long side instead would call a diagonal bus 15% short.
    """
    s1 = np.linalg.norm(corners[:, 1] - corners[:, 0], axis=1)
    s2 = np.linalg.norm(corners[:, 2] - corners[:, 1], axis=1)
    if not axis_aligned:
        return np.maximum(s1, s2)
    return np.sqrt((((s1 + s2) / (1 + aspect)) ** 2 + ((s1 - s2) / (1 - aspect)) ** 2) / 2)


def estimate_gsd(corners: np.ndarray, cls: np.ndarray, default: float, names: np.ndarray | None = None,
                 axis_aligned: bool = False) -> float:
    """GSD from the sizes of labelled vehicles of known length, else ``default``.

    Cars, vans, buses and long vehicles (``VEHICLE_SIZE_M``, by raw label name; any other
    small-vehicle label counts as a car) each give an estimate and the median is taken. Trucks,
    whose labels mix pickups and lorries, are used only where nothing else is labelled: most
    SIMD images label fewer than three cars, and a fixed default put a 0.22 m bus station at
    0.12 m, so its "0.3 m" copies were really 0.55 m.
    """
    names = cls if names is None else np.array([str(n).replace("_", "") for n in names], dtype=object)
    keys = np.array([n if n in VEHICLE_SIZE_M else ("car" if c == "small_vehicle" else "")
                     for n, c in zip(names, cls)], dtype=object)
    for usable in (set(VEHICLE_SIZE_M) - {"truck"}, {"truck"}):
        est = [VEHICLE_SIZE_M[k][0] / _box_length(corners[keys == k], VEHICLE_SIZE_M[k][1] / VEHICLE_SIZE_M[k][0],
                                                  axis_aligned)
               for k in sorted(usable) if (keys == k).any()]
        if est:
            return float(np.clip(np.median(np.concatenate(est)), 0.02, 1.0))
    return default


def _image_size(path: Path) -> tuple[int, int]:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise GeotallyError(f"cannot read image {path}")
    return img.shape[1], img.shape[0]


def _images(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}


def read_dota_folder(root: Path) -> list[LabelledImage]:
    from geotally.analysis.truth import read_dota

    out = []
    for stem, img in _images(root / "images").items():
        label = root / "labelTxt" / f"{stem}.txt"
        if not label.exists():
            continue
        t = read_dota(label)
        cls = np.array([training_class(c) for c in t.cls], dtype=object)
        out.append(LabelledImage(img, _corners(t.polygons), cls, False, t.gsd or 0.25, str(root)))
    return out


def read_yolo_folder(root: Path, default_gsd: float | None) -> list[LabelledImage]:
    from geotally.analysis.truth import read_yolo, yolo_names
    from geotally.models.classes import normalise

    names = yolo_names(root / "labels")
    if not names:
        raise GeotallyError(f"{root}: no classes.names, obj.names or data.yaml naming the YOLO classes")
    raw_names = {k: training_class(v) for k, v in names.items()}
    out = []
    for stem, img in _images(root / "images").items():
        label = root / "labels" / f"{stem}.txt"
        if not label.exists():
            continue
        rows = [ln.split() for ln in label.read_text().splitlines() if ln.strip()]
        w, h = _image_size(img)
        t = read_yolo(label, w, h, {k: v for k, v in names.items()})
        cls = np.array([raw_names.get(int(r[0]), "ignore") for r in rows], dtype=object)
        aa = all(len(r) == 5 for r in rows)
        corners = _corners(t.polygons)
        raw = np.array([normalise(names.get(int(r[0]), "")) for r in rows], dtype=object)
        gsd = default_gsd or estimate_gsd(corners, cls, 0.12, raw, aa)
        out.append(LabelledImage(img, corners, cls, aa, gsd, str(root)))
    return out


def read_vector_folder(root: Path) -> list[LabelledImage]:
    """GeoTIFFs with labels beside them: ``NAME_truth.geojson``, ``NAME.geojson`` or ``NAME.gpkg``."""
    import rasterio

    from geotally.zones.load import read_vector

    out = []
    for tif in sorted(list(root.glob("*.tif")) + list(root.glob("*.tiff"))):
        label = next((p for p in (root / f"{tif.stem}_truth.geojson", root / f"{tif.stem}.geojson",
                                  root / f"{tif.stem}.gpkg") if p.exists()), None)
        if label is None:
            continue
        gdf = read_vector(str(label), "label file")
        field = next((f for f in ("class", "label", "category", "type") if f in gdf.columns), None)
        if field is None:
            raise GeotallyError(f"{label}: no class field (class, label, category or type)")
        with rasterio.open(tif) as src:
            if gdf.crs is not None and src.crs is not None:
                gdf = gdf.to_crs(src.crs)
            inv = ~src.transform
            gsd = float(abs(src.transform.a))
        polys = shapely.transform(np.asarray(gdf.geometry.values), lambda xy: np.column_stack(inv * (xy[:, 0], xy[:, 1])))
        cls = np.array([training_class(str(c)) for c in gdf[field]], dtype=object)
        out.append(LabelledImage(tif, _corners(polys), cls, False, gsd, str(root)))
    return out


def read_source(root: str | Path, gsd: float | None = None) -> list[LabelledImage]:
    """Every labelled image in a folder, whichever of the supported layouts it has."""
    root = Path(root)
    if not root.is_dir():
        raise GeotallyError(f"training data folder not found: {root}")
    if (root / "labelTxt").is_dir() and (root / "images").is_dir():
        items = read_dota_folder(root)
    elif (root / "labels").is_dir() and (root / "images").is_dir():
        items = read_yolo_folder(root, gsd)
    else:
        items = read_vector_folder(root)
    if not items:
        raise GeotallyError(f"{root}: no labelled images found (expected images/ + labelTxt/, images/ + labels/, "
                            "or GeoTIFFs with NAME_truth.geojson beside them)")
    if gsd:
        for it in items:
            it.gsd = gsd
    return items


def exclude(items: list[LabelledImage], patterns: list[str], names: set[str]) -> list[LabelledImage]:
    """Drop held-out images: by glob on the file stem, or by a list of stems."""
    return [it for it in items if it.path.stem not in names
            and not any(fnmatch.fnmatch(it.path.stem, p) for p in patterns)]
