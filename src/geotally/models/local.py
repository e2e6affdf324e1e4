"""Models trained here (`geotally train`): registry entries kept as entry.json beside their files in the cache."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from geotally.errors import GeotallyError
from geotally.imagery.scene import file_sha256
from geotally.models.registry import ModelSpec, DOTA_V1


def _models_root() -> Path:
    from geotally.models.cache import cache_dir

    return cache_dir() / "models"


def spec_from_entry(entry: dict, where: str) -> ModelSpec:
    """A registry entry (JSON) as a ModelSpec; its files are already in the cache."""
    from geotally.models.sources import LocalFile

    names = {int(k): v for k, v in entry.get("classes", {}).items()} or DOTA_V1
    return ModelSpec(name=entry["name"], filename=entry["file"], sha256=entry["sha256"],
                     native_gsd=float(entry["native_gsd_m"]), tile_size=int(entry["tile_size"]),
                     sources=(LocalFile(str(Path(where) / entry["file"])),), licence=entry.get("licence", "AGPL-3.0 (trained with Ultralytics)"),
                     description=entry.get("description", f"trained with geotally train ({entry.get('created_utc', '')})"),
                     class_names=names, checkpoint=entry.get("checkpoint"),
                     checkpoint_sha256=entry.get("checkpoint_sha256"), card=entry)


def local_specs() -> dict[str, ModelSpec]:
    """Every model registered by `geotally train` in this cache."""
    root = _models_root()
    out = {}
    if root.is_dir():
        for entry_file in sorted(root.glob("*/entry.json")):
            try:
                entry = json.loads(entry_file.read_text())
                out[entry["name"]] = spec_from_entry(entry, str(entry_file.parent))
            except (OSError, ValueError, KeyError):
                continue  # a half-written or foreign folder is not a model
    return out


def register(folder: str | os.PathLike) -> Path:
    """Copy a trained model folder (entry.json, ONNX export, checkpoint) into the cache, checked."""
    folder = Path(folder)
    entry = json.loads((folder / "entry.json").read_text())
    for key, sha_key in (("file", "sha256"), ("checkpoint", "checkpoint_sha256")):
        if entry.get(key) and file_sha256(folder / entry[key]) != entry[sha_key]:
            raise GeotallyError(f"{folder / entry[key]} does not match its sha256 in entry.json")
    dest = _models_root() / entry["name"]
    dest.mkdir(parents=True, exist_ok=True)
    for key in ("file", "checkpoint"):
        if entry.get(key):
            shutil.copy2(folder / entry[key], dest / entry[key])
    shutil.copy2(folder / "entry.json", dest / "entry.json")
    return dest
