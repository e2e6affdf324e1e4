"""The detector as a run uses it: registry entry or local weights, the file actually run and its
checksum, the backend, class names and thresholds, and the scale it expects. Prepared once per run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from geotally.config.defaults import TILE_SIZE
from geotally.errors import GeotallyError
from geotally.imagery.checksum import file_sha256
from geotally.models.backends import load_detector
from geotally.models.cache import checkpoint_of, ensure_model
from geotally.models.classes import class_map
from geotally.models.registry import DEFAULT_MODEL, get_spec
from geotally.store.summary import ModelRecord
from geotally.config.thresholds import score_floor


@dataclass
class RunModel:
    """Registry entry, files and checksums, detector, thresholds and scale of this run's model."""

    spec: object | None
    checkpoint: Path
    sha: str
    run_file: Path
    run_sha: str | None
    backend: str
    detector: object
    names: dict[int, str]  # model class id -> geotally class name
    conf: float  # the model's own score floor: the lowest per-class threshold
    min_score: np.ndarray  # per model class id
    gsd: float
    tile_size: int

    @property
    def name(self) -> str | None:
        return self.spec.name if self.spec else None

    def record(self) -> ModelRecord:
        return ModelRecord(name=self.name, file=str(self.checkpoint), sha256=self.sha, run_file=str(self.run_file),
                           run_file_sha256=self.run_sha or self.sha, native_gsd_m=self.gsd,
                           detector=self.detector.describe(),
                           classes={str(k): v for k, v in self.detector.names.items()})


def _resolve(model: str | None, weights: str | None, say: Callable[[str], None]):
    if weights:
        path = Path(weights)
        if not path.is_file():
            raise GeotallyError(f"--weights file not found: {weights}")
        return None, path, file_sha256(path)
    spec = get_spec(model or DEFAULT_MODEL)
    return spec, ensure_model(spec, say=say), spec.sha256


def prepare_model(model: str | None, weights, backend: str, thresholds: dict, model_iou: float,
                  tile_size: int | None, model_gsd: float | None, overlap: int, threads: int | None,
                  say: Callable[[str], None]) -> RunModel:
    """Find (or fetch into the cache) the model, pick the file to run, and load the detector."""
    spec, checkpoint, sha = _resolve(model, str(weights) if weights else None, say)
    m_gsd = model_gsd or (spec.native_gsd if spec else get_spec(DEFAULT_MODEL).native_gsd)
    t_size = tile_size or (spec.tile_size if spec else TILE_SIZE)
    if overlap >= t_size:
        raise GeotallyError(f"--overlap {overlap} must be smaller than the tile size {t_size}")
    run_file, backend_used, run_sha = choose_backend(backend, checkpoint, spec, t_size, say)
    conf = score_floor(thresholds)
    detector = load_detector(run_file, conf=conf, iou=model_iou, imgsz=t_size, threads=threads)
    names = class_map(detector.names)
    min_score = np.array([thresholds.get(names.get(i, ""), thresholds["*"]) for i in range(max(names) + 1)]
                         if names else [thresholds["*"]])
    return RunModel(spec, checkpoint, sha, run_file, run_sha, backend_used, detector, names, conf, min_score, m_gsd,
                    t_size)


def choose_backend(backend: str, weights_path: Path, spec, t_size: int, say) -> tuple[Path, str, str | None]:
    """The file to run: the checkpoint (Ultralytics; GPUs) or its cached ONNX export (CPU default),
    the backend, and the run file's sha256 when it is an export (None: it is the checkpoint itself).

    ``auto`` picks ONNX Runtime on a machine without CUDA, where it measured faster
    (benchmarks/backends.py), and Ultralytics with a GPU.
    """
    if backend not in ("auto", "onnx", "ultralytics"):
        raise GeotallyError(f"--backend must be auto, onnx or ultralytics, got {backend!r}")
    if weights_path.suffix.lower() == ".onnx":
        # A registered ONNX model with its checkpoint runs the checkpoint on a GPU (or when asked);
        # the checkpoint is looked up (and verified) only then.
        if spec is not None and spec.checkpoint and backend in ("ultralytics", "auto"):
            from geotally.models.gpu import cuda_available

            pt = checkpoint_of(spec) if backend == "ultralytics" or cuda_available() else None
            if pt is not None:
                return pt, "ultralytics", spec.checkpoint_sha256
        if backend == "ultralytics":
            raise GeotallyError(f"--backend ultralytics needs a .pt checkpoint; {weights_path.name} is ONNX only")
        return weights_path, "onnx", None
    if backend == "ultralytics":
        return weights_path, "ultralytics", None
    if backend == "auto":
        if spec is None:
            return weights_path, "ultralytics", None  # a user's own checkpoint runs as given
        from geotally.models.gpu import cuda_available

        if cuda_available():
            return weights_path, "ultralytics", None
    from geotally.models.export import onnx_export

    path, digest = onnx_export(weights_path, t_size, say)
    return path, "onnx", digest
