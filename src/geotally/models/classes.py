"""Mapping a model's own class names to geotally's vehicle classes."""

from __future__ import annotations

import re

LARGE = "large_vehicle"
SMALL = "small_vehicle"
VEHICLE_CLASSES = (LARGE, SMALL)

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
