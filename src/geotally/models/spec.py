"""A registry entry as a typed object: what a model file is, how to check it, where to get it and
how to run it; and the entries that `geotally train` writes, read back. A leaf of the models package."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from geotally.models.sources import LocalFile, Source


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
