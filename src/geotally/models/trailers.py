"""The trailer-type classifier: its registry entry (shipped inside the package, sha256 checked
before use) and running it with ONNX Runtime on batches of oriented crops."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from geotally.config.defaults import DEFAULT_TRAILER_MODEL, TRAILER_TYPES  # noqa: F401 (TRAILER_TYPES read from here too)
from geotally.errors import GeotallyError

WEIGHTS = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class TrailerModelSpec:
    """A trailer-type classifier: its file and checksum, the crops it wants, and its model card
    (training data, validation on real crops, confusion matrices, the GSDs it may be used at)."""

    name: str
    path: Path
    sha256: str
    types: tuple[str, ...]
    crop_size_m: tuple[float, float]
    crop_size_px: tuple[int, int]
    max_gsd: float  # coarser scenes get no types: real validation showed they cannot be told apart there
    card: dict

    def describe(self) -> dict:
        return {"name": self.name, "file": self.path.name, "sha256": self.sha256, "max_gsd_m": self.max_gsd,
                "crop_size_m": list(self.crop_size_m), "crop_size_px": list(self.crop_size_px)}


def trailer_specs(folder: Path = WEIGHTS) -> dict[str, TrailerModelSpec]:
    """The classifiers described by ``*.json`` entries with task ``trailer-type`` in ``folder``."""
    out = {}
    for f in sorted(folder.glob("*.json")):
        entry = json.loads(f.read_text())
        if entry.get("task") != "trailer-type":
            continue
        out[entry["name"]] = TrailerModelSpec(
            entry["name"], folder / entry["file"], entry["sha256"], tuple(entry["types"]),
            tuple(entry["crop_size_m"]), tuple(entry["crop_size_px"]), float(entry.get("max_gsd_m", 0.6)), entry)
    return out


def get_trailer_spec(name: str = DEFAULT_TRAILER_MODEL, folder: Path = WEIGHTS) -> TrailerModelSpec:
    specs = trailer_specs(folder)
    if name not in specs:
        raise GeotallyError(f"unknown trailer-type model {name!r}; known: {', '.join(sorted(specs)) or 'none'}")
    return specs[name]


@lru_cache(maxsize=4)
def _session(path: str, sha256: str, threads: int | None):
    import onnxruntime as ort

    from geotally.imagery.checksum import file_sha256

    if not Path(path).is_file():
        raise GeotallyError(f"trailer-type model file missing: {path}; reinstall geotally")
    if file_sha256(path) != sha256:
        raise GeotallyError(f"trailer-type model {path} does not match its sha256; reinstall geotally")
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def classify(spec: TrailerModelSpec, crops: np.ndarray, batch: int = 256, threads: int | None = None) -> np.ndarray:
    """Type probabilities (n, len(types)) for crops (n, h, w, 3) uint8, averaged over the four flips
    of each crop (from above, a vehicle's front and its left side are not known)."""
    n = len(crops)
    if n == 0:
        return np.zeros((0, len(spec.types)), np.float32)
    sess = _session(str(spec.path), spec.sha256, threads)
    x = np.moveaxis(crops, -1, 1).astype(np.float32) / 255.0
    out = np.zeros((n, len(spec.types)), np.float64)
    for flip in (x, x[:, :, :, ::-1], x[:, :, ::-1, :], x[:, :, ::-1, ::-1]):
        for s in range(0, n, batch):
            logits = sess.run(None, {"crops": np.ascontiguousarray(flip[s:s + batch])})[0]
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            out[s:s + batch] += e / e.sum(axis=1, keepdims=True)
    return (out / 4).astype(np.float32)
