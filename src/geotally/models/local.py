"""Models trained here (`geotally train`): registry entries kept as entry.json beside their files in the cache."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from geotally.errors import GeotallyError
from geotally.imagery.checksum import file_sha256
from geotally.models.cache import cache_dir
from geotally.models.spec import ModelSpec, spec_from_entry


def _models_root() -> Path:
    return cache_dir() / "models"


def local_specs() -> dict[str, ModelSpec]:
    """Every model registered by `geotally train` in this cache."""
    root = _models_root()
    out = {}
    if root.is_dir():
        for entry_file in sorted(root.glob("*/entry.json")):
            try:
                entry = json.loads(entry_file.read_text())
                out[entry["name"]] = spec_from_entry(entry, entry_file.parent)
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
