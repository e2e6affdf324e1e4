"""Detector backends: Ultralytics checkpoints and ONNX Runtime exports behind one interface.

Every backend takes a batch of RGB uint8 tiles and returns, per tile, oriented
boxes ``(cx, cy, w, h, angle_rad)`` in tile pixels with scores and class ids.
Axis-aligned models give zero angles.
"""

from __future__ import annotations

import ast
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

from geotally.errors import GeotallyError, first_line

T = TypeVar("T")


@dataclass
class TileBoxes:
    xywhr: np.ndarray  # (n, 5) float64
    score: np.ndarray  # (n,) float32
    cls: np.ndarray  # (n,) int64

    @classmethod
    def empty(cls) -> "TileBoxes":
        return cls(np.zeros((0, 5)), np.zeros(0, np.float32), np.zeros(0, np.int64))


class Detector(Protocol):
    names: dict[int, str]
    kind: str  # "obb" or "detect"
    dynamic_size: bool  # runs tiles of any multiple-of-32 side at their own size

    def predict(self, tiles: list[np.ndarray]) -> list[TileBoxes]: ...

    def describe(self) -> dict: ...

    def reset_timing(self) -> None: ...


class ModelTimer:
    """The seconds a backend spends inside the model itself, its calls and the megapixels it was fed:
    a run's model floor, measured in the run (summary.json's model record, ``geotally -v``)."""

    def __init__(self) -> None:
        self.reset_timing()

    def reset_timing(self) -> None:
        """Start counting afresh (a cached detector starts each run at zero)."""
        self.model_seconds, self.model_calls, self.model_megapixels = 0.0, 0, 0.0

    def _timed(self, call: Callable[[], T], megapixels: float) -> T:
        """``call()``, its seconds and ``megapixels`` of model input added to the tally."""
        t0 = time.perf_counter()
        try:
            return call()
        finally:
            self.model_seconds += time.perf_counter() - t0
            self.model_calls += 1
            self.model_megapixels += megapixels

    def timing(self) -> dict:
        """The tally as the model record stores it."""
        return {"model_seconds": round(self.model_seconds, 3), "model_calls": self.model_calls,
                "model_megapixels": round(self.model_megapixels, 2)}


# ONNX Runtime's intra-op threads spin-wait between operators by default. On cores of their own that
# is no slower; beside another job it takes the CPU that job and detect_tiles' reader thread need.
# 12 tiles on 2 cores (benchmarks/overlap.py): 2.59 s spinning, 2.62 s not, on the machine alone;
# 4.85 s spinning, 4.33-4.49 s not, beside a job keeping one core busy. None: spin only when no other
# task is running as the session is made (spin_wait_here). The results are the same either way.
SPIN_WAIT: bool | None = None


def spin_wait_here(samples: int = 6, every_s: float = 0.002, loadavg: str = "/proc/loadavg") -> bool:
    """Whether the cores look free of other work: Linux's count of running tasks (/proc/loadavg) is
    this one alone in most of a few instants (12 ms in all). Where there is no /proc: True."""
    busy = 0
    try:
        for _ in range(samples):
            with open(loadavg) as f:
                busy += int(f.read().split()[3].split("/")[0]) > 1
            time.sleep(every_s)
    except (OSError, ValueError, IndexError):
        return True
    return busy * 2 < samples


def default_threads() -> int:
    """All cores for one process; workers get their share from their pool."""
    return max(1, int(os.environ.get("GEOTALLY_THREADS", os.cpu_count() or 1)))


def _ultralytics_env() -> None:
    """Keep ultralytics offline and its settings out of the user's home config."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_VERBOSE", "False")
    if "YOLO_CONFIG_DIR" not in os.environ:
        from geotally.models.cache import cache_dir
        cfg = cache_dir() / "ultralytics"
        try:
            cfg.mkdir(parents=True, exist_ok=True)
        except OSError:  # a read-only cache: Ultralytics' settings file may live anywhere
            import tempfile

            cfg = Path(tempfile.mkdtemp(prefix="geotally-ultralytics-"))
        os.environ["YOLO_CONFIG_DIR"] = str(cfg)


class UltralyticsDetector(ModelTimer):
    """A local Ultralytics checkpoint (.pt), oriented or axis-aligned; GPU when one is present.

    Its model time is Ultralytics' ``predict`` call, its own pre- and post-processing included."""

    def __init__(self, path: Path, conf: float, iou: float, imgsz: int, threads: int | None = None,
                 device: str | None = None):
        super().__init__()
        _ultralytics_env()
        import torch
        from ultralytics import YOLO

        try:  # Ultralytics loads lazily: a file it cannot read fails at .names
            self.model = YOLO(str(path))
            names = self.model.names
        except Exception as exc:
            raise GeotallyError(f"{path} is not a loadable Ultralytics checkpoint (.pt) or ONNX export: "
                                f"{first_line(exc)}") from None
        if self.model.task not in ("obb", "detect"):
            raise GeotallyError(f"{path} is a {self.model.task!r} model; geotally needs a detect or obb model")
        self.kind = self.model.task
        self.dynamic_size = True
        self.names = {int(k): str(v) for k, v in names.items()}
        self.conf, self.iou, self.imgsz = conf, iou, imgsz
        self.device = device or ("cuda:0" if torch.cuda.is_available() else "cpu")
        self.threads = threads or default_threads()
        self._torch = torch

    def predict(self, tiles: list[np.ndarray]) -> list[TileBoxes]:
        # ultralytics resets torch's thread count on CPU; set ours before every batch.
        if self.device == "cpu":
            self._torch.set_num_threads(self.threads)
        # One tile per call: Ultralytics' NMS stops after a time limit (2 s + 0.05 s per image) and
        # leaves every later image of the batch empty, which on a dense CPU tile (a harbour) dropped
        # whole tiles without a word. Within one call the image being processed is always finished.
        results = []
        for t in tiles:
            bgr = np.ascontiguousarray(t[..., ::-1])
            call = partial(self.model.predict, bgr, imgsz=t.shape[0], conf=self.conf, iou=self.iou, device=self.device,
                           verbose=False, max_det=3000)
            results.append(self._timed(call, t.shape[0] * t.shape[1] / 1e6)[0])
        out = []
        for r in results:
            if self.kind == "obb":
                o = r.obb
                xywhr = o.xywhr.cpu().numpy().astype(np.float64)
                score, cls = o.conf.cpu().numpy(), o.cls.cpu().numpy()
            else:
                b = r.boxes
                xywh = b.xywh.cpu().numpy().astype(np.float64)
                xywhr = np.concatenate([xywh, np.zeros((len(xywh), 1))], axis=1)
                score, cls = b.conf.cpu().numpy(), b.cls.cpu().numpy()
            out.append(TileBoxes(xywhr, score.astype(np.float32), cls.astype(np.int64)))
        return out

    def describe(self) -> dict:
        return {"backend": "ultralytics", "task": self.kind, "device": self.device, "threads": self.threads,
                **self.timing()}


class OnnxDetector(ModelTimer):
    """An ONNX export of an Ultralytics detect or OBB model, run with ONNX Runtime.

    Its model time is ``session.run`` alone (the tensor is made and the output decoded outside it)."""

    def __init__(self, path: Path, conf: float, iou: float, imgsz: int, threads: int | None = None,
                 spinning: bool | None = SPIN_WAIT):
        import onnxruntime as ort

        super().__init__()
        opts = ort.SessionOptions()
        self.threads = threads or default_threads()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        self.spinning = spin_wait_here() if spinning is None else spinning
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.spinning else "0")
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
        try:
            self.session = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
        except Exception as exc:
            raise GeotallyError(f"{path} is not a loadable ONNX model: {first_line(exc)}") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if "names" not in meta:
            raise GeotallyError(f"{path} has no 'names' metadata; export it with Ultralytics (model.export(format='onnx'))")
        self.names = {int(k): str(v) for k, v in ast.literal_eval(meta["names"]).items()}
        self.kind = meta.get("task", "detect")
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        fixed = inp.shape[2] if isinstance(inp.shape[2], int) else imgsz
        self.input_size = int(fixed)
        self.dynamic_size = not isinstance(inp.shape[2], int) and not isinstance(inp.shape[3], int)
        self.dynamic_batch = not isinstance(inp.shape[0], int)
        self.conf, self.iou, self.imgsz = conf, iou, imgsz

    def _decode(self, pred: np.ndarray, scale: float) -> TileBoxes:
        """One image's output (4 + nc [+ 1], N) to boxes after per-class rotated NMS."""
        import cv2

        nc = len(self.names)
        pred = pred.T
        scores_all = pred[:, 4:4 + nc]
        cls = scores_all.argmax(axis=1)
        score = scores_all[np.arange(len(pred)), cls]
        keep = score >= self.conf
        pred, cls, score = pred[keep], cls[keep], score[keep]
        angle = pred[:, 4 + nc] if self.kind == "obb" else np.zeros(len(pred))
        xywhr = np.concatenate([pred[:, :4].astype(np.float64) * scale, angle[:, None]], axis=1)
        if len(pred) == 0:
            return TileBoxes.empty()
        # Offsetting each class far apart makes one NMS call per-class.
        offset = cls[:, None] * 4.0 * self.input_size * max(scale, 1.0)
        # OpenCV's rectangles ((cx, cy), (w, h), degrees) from whole columns: the same floats as
        # converting each box's numpy scalars, 7x faster
        rects = list(zip(zip((xywhr[:, 0] + offset[:, 0]).tolist(), (xywhr[:, 1] + offset[:, 0]).tolist()),
                         zip(xywhr[:, 2].tolist(), xywhr[:, 3].tolist()), np.degrees(xywhr[:, 4]).tolist()))
        idx = cv2.dnn.NMSBoxesRotated(rects, score.astype(float).tolist(), self.conf, self.iou)
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        return TileBoxes(xywhr[idx], score[idx].astype(np.float32), cls[idx].astype(np.int64))

    def _input(self, tiles: list[np.ndarray]) -> tuple[np.ndarray, float]:
        """The model's input, (n, 3, s, s) float32 in [0, 1], made in place (no stacked or transposed
        copies), and tile pixels per input pixel."""
        import cv2

        size = tiles[0].shape[0] if self.dynamic_size and tiles[0].shape[0] % 32 == 0 else self.input_size
        x = np.empty((len(tiles), 3, size, size), np.float32)
        for i, t in enumerate(tiles):
            img = t if t.shape[0] == size else cv2.resize(t, (size, size), interpolation=cv2.INTER_LINEAR)
            np.divide(img.transpose(2, 0, 1), np.float32(255.0), out=x[i], dtype=np.float32)
        return x, tiles[0].shape[0] / size

    def predict(self, tiles: list[np.ndarray]) -> list[TileBoxes]:
        x, scale = self._input(tiles)
        if self.dynamic_batch:
            outputs = self._run(x)
        else:
            outputs = np.concatenate([self._run(x[i:i + 1]) for i in range(len(x))])
        return [self._decode(o, scale) for o in outputs]

    def _run(self, x: np.ndarray) -> np.ndarray:
        """One ``session.run``, timed; ``x`` is (n, 3, h, w)."""
        return self._timed(partial(self.session.run, None, {self.input_name: x}),
                           x.shape[0] * x.shape[2] * x.shape[3] / 1e6)[0]

    def describe(self) -> dict:
        return {"backend": "onnxruntime", "task": self.kind, "threads": self.threads,
                "input_size": self.input_size, "spin_wait": self.spinning, **self.timing()}


_LOADED: dict[tuple, Detector] = {}


def load_detector(path: Path, *, conf: float, iou: float, imgsz: int, threads: int | None = None) -> Detector:
    """Pick the backend from the file: ``.onnx`` runs on ONNX Runtime, anything else through Ultralytics.

    A detector is loaded once per process for the same file (path, size and mtime) and settings,
    so counting many small scenes does not pay the model load each time (0.05-0.1 s with ONNX Runtime);
    its model time starts again at zero each time it is handed out.
    """
    path = Path(path)
    if not path.is_file():
        raise GeotallyError(f"weights not found: {path}")
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, conf, iou, imgsz, threads)
    if key not in _LOADED:
        if len(_LOADED) >= 4:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[key] = (OnnxDetector(path, conf, iou, imgsz, threads) if path.suffix.lower() == ".onnx"
                        else UltralyticsDetector(path, conf, iou, imgsz, threads))
    _LOADED[key].reset_timing()
    return _LOADED[key]
