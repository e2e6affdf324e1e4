"""Mapping a model's own class names to geotally's vehicle classes."""

from __future__ import annotations

import re

import numpy as np

from geotally.config.defaults import VEHICLE_CLASSES

LARGE, SMALL = VEHICLE_CLASSES

# Names other detectors use for the same things (DOTA, COCO, VisDrone, xView-style sets).
_SYNONYMS = {
    "large_vehicle": LARGE, "truck": LARGE, "bus": LARGE, "trailer": LARGE, "tanker": LARGE,
    "lorry": LARGE, "semi": LARGE, "cargo_truck": LARGE, "minibus": LARGE, "longvehicle": LARGE,
    "long_vehicle": LARGE,
    "small_vehicle": SMALL, "car": SMALL, "van": SMALL, "pickup": SMALL, "pickup_truck": SMALL,
    "passenger_vehicle": SMALL,
}


def normalise(name: str) -> str:
    """'large vehicle' -> 'large_vehicle'."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def class_map(names: dict[int, str]) -> dict[int, str]:
    """Model class id -> geotally class: vehicles by synonym, anything else under its own name."""
    out = {}
    for idx, raw in names.items():
        key = normalise(raw)
        out[int(idx)] = _SYNONYMS.get(key, key)
    return out


def names_of(class_id: np.ndarray, names: dict[int, str]) -> np.ndarray:
    """The name of each model class id in ``names`` (the id itself, as text, where it has none)."""
    return np.array([names.get(int(c), str(c)) for c in np.asarray(class_id).ravel()], dtype=object)
