"""Training with Ultralytics (offline, resumable, every CPU core or the GPU), export, registration."""

from __future__ import annotations

import csv
import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from geotally.config.defaults import TILE_SIZE
from geotally.errors import GeotallyError
from geotally.config.training import TrainParams


def ultralytics_ready() -> None:
    """Offline settings, a local font for train(), and every core for torch (Ultralytics takes one of two)."""
    from geotally.models.backends import _ultralytics_env

    try:
        import ultralytics  # noqa: F401
    except ImportError:
        raise GeotallyError("training needs Ultralytics and torch: pip install 'geotally[train]'") from None
    _ultralytics_env()
    cfg = Path(os.environ["YOLO_CONFIG_DIR"])
    import matplotlib

    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for where in (cfg, cfg / "Ultralytics"):
        where.mkdir(parents=True, exist_ok=True)
        if not (where / "Arial.ttf").exists() and font.exists():
            shutil.copy(font, where / "Arial.ttf")
    from ultralytics.utils import torch_utils

    torch_utils.NUM_THREADS = max(1, os.cpu_count() or 1)


def _epochs_done(run: Path) -> int:
    results = run / "results.csv"
    if not results.exists():
        return 0
    with open(results) as f:
        return max(0, sum(1 for _ in csv.reader(f)) - 1)


def train(data_yaml: Path, run: Path, p: TrainParams, on_epoch: Callable[[int, int], None] | None = None) -> Path:
    """Train into ``run`` (resuming an interrupted run there) and return the final checkpoint."""
    ultralytics_ready()
    import torch
    from ultralytics import YOLO

    last = run / "weights" / "last.pt"
    device = p.device or ("0" if torch.cuda.is_available() else "cpu")
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    if last.exists() and _epochs_done(run) < p.epochs:
        model = YOLO(str(last))
        kwargs = dict(resume=True)
    elif last.exists():
        return last
    else:
        from geotally.models.cache import ensure_model
        from geotally.models.registry import REGISTRY

        base = Path(p.base) if Path(p.base).suffix == ".pt" else ensure_model(REGISTRY[p.base])
        model = YOLO(str(base))
        kwargs = dict(data=str(data_yaml), epochs=p.epochs, batch=p.batch, imgsz=p.imgsz, workers=p.workers,
                      degrees=p.degrees, flipud=p.flipud, fliplr=p.fliplr, scale=p.scale, mosaic=p.mosaic,
                      close_mosaic=p.close_mosaic, lr0=p.lr0, warmup_epochs=p.warmup_epochs, optimizer=p.optimizer, seed=p.seed,
                      project=str(run.parent.resolve()), name=run.name, exist_ok=True, val=False, plots=False,
                      amp=device != "cpu", device=device, verbose=False, cache=False)
        if p.train_only == "angle":
            kwargs["freeze"] = all_but_angle(model)
        elif p.train_only is not None:
            raise GeotallyError(f"train_only must be 'angle' or None, got {p.train_only!r}")
    if on_epoch:
        model.add_callback("on_train_epoch_end", lambda tr: on_epoch(tr.epoch + 1, tr.epochs))
    model.train(**kwargs)
    if not last.exists():
        raise GeotallyError(f"training wrote no checkpoint in {run}")
    return last


def all_but_angle(model) -> list:
    """Ultralytics ``freeze`` entries for every layer but the OBB head's angle branch (``cv4``).

    Ultralytics freezes a parameter whose name holds ``model.<entry>.``, and keeps the
    batch-norm statistics of frozen layers, so what the head detects and how it scores stay
    the base model's and only the angle is learnt."""
    layers = model.model.model
    head = len(layers) - 1
    branches = [name for name, _ in layers[head].named_children()]
    if not any(b.endswith("cv4") for b in branches):
        raise GeotallyError("--train-only angle needs an oriented (OBB) model: this one has no angle branch")
    return list(range(head)) + [f"{head}.{b}" for b in branches if not b.endswith("cv4")]


def export_onnx(pt: Path, imgsz: int = TILE_SIZE) -> Path:
    """ONNX export (dynamic batch and size) beside the checkpoint."""
    ultralytics_ready()
    from ultralytics import YOLO

    made = Path(YOLO(str(pt)).export(format="onnx", imgsz=imgsz, dynamic=True, simplify=False, verbose=False))
    return made


def write_entry(folder: Path, entry: dict) -> Path:
    """The registry entry (JSON) that makes a trained model usable by name."""
    path = folder / "entry.json"
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps(entry, indent=1, default=str) + "\n")
    os.replace(tmp, path)
    return path


def params_dict(p: TrainParams) -> dict:
    return asdict(p)
