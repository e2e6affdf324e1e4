"""`geotally train` as one resumable pipeline: labelled folders -> dataset -> training -> ONNX -> registry entry."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

from geotally.config.defaults import TILE_SIZE
from geotally.errors import GeotallyError
from geotally.imagery.checksum import file_sha256
from geotally.models.spec import DOTA_V1
from geotally.config.training import DatasetParams, TrainParams
from geotally.training.dataset import build_dataset
from geotally.training.fit import export_onnx, train, write_entry
from geotally.training.sources import LabelledImage, exclude, read_source, read_vector_folder

SYNTH_SEED0 = 1000  # synthetic training scenes use seeds from here; benchmarks and tests use lower ones


@dataclass
class Trained:
    name: str
    folder: Path  # where the checkpoint, the ONNX export and entry.json are
    entry: dict


def base_thresholds(base: str) -> dict | None:
    """The score thresholds chosen for a base model (a registry name, or a checkpoint whose sha256
    is a registered model's), or None when it has none."""
    from geotally.models.registry import REGISTRY

    if base in REGISTRY:
        return REGISTRY[base].conf
    path = Path(base)
    if not path.is_file():
        return None
    sha = file_sha256(path)
    return next((spec.conf for spec in REGISTRY.values() if spec.checkpoint_sha256 == sha and spec.conf), None)


def synth_scenes(folder: Path, n: int, gsd: float = 0.15) -> list[LabelledImage]:
    """``n`` synthetic crossings with exact oriented truth (made once, reused on resume)."""
    from geotally.synth import SynthParams, write_scene
    from geotally.synth.layout import LayoutParams

    for k in range(n):
        sub = folder / f"synth_{SYNTH_SEED0 + k}"
        if not (sub / f"synth_{SYNTH_SEED0 + k}.tif").exists():
            layout = LayoutParams(seed=SYNTH_SEED0 + k, width_m=300.0, height_m=600.0,
                                  queue={"TR": 8, "IQ": 12}, depot={"IQ": 8}, cars_road=16, cars_park=14)
            write_scene(sub, SynthParams(layout=layout, gsd=gsd, noise_seed=k), name=f"synth_{SYNTH_SEED0 + k}")
    items: list[LabelledImage] = []
    for k in range(n):
        items += read_vector_folder(folder / f"synth_{SYNTH_SEED0 + k}")
    return items


def collect(data: list[str], excludes: list[str], exclude_lists: list[str]) -> list[LabelledImage]:
    """Every labelled image in the folders, less the held-out ones."""
    names: set[str] = set()
    for f in exclude_lists:
        p = Path(f)
        if not p.exists():
            raise GeotallyError(f"--exclude-list file not found: {f}")
        names |= {ln.strip() for ln in p.read_text().splitlines() if ln.strip()}
    items: list[LabelledImage] = []
    for d in data:
        items += exclude(read_source(d), excludes, names)
    return items


def _finished(folder: Path, name: str, pt_sha: str) -> dict | None:
    """The entry of a finished run whose checkpoint and export are still the ones it recorded."""
    entry_file = folder / "entry.json"
    if not entry_file.exists():
        return None
    entry = json.loads(entry_file.read_text())
    ok = (entry.get("name") == name and entry.get("checkpoint_sha256") == pt_sha
          and (folder / entry["file"]).exists() and file_sha256(folder / entry["file"]) == entry["sha256"])
    return entry if ok else None


def run_training(data: list[str], out: str | Path, name: str, *, excludes: list[str] = (),
                 exclude_lists: list[str] = (), synth: int = 0, dataset: DatasetParams = DatasetParams(),
                 params: TrainParams = TrainParams(), tile_size: int = TILE_SIZE,
                 say: Callable[[str], None] = lambda m: None,
                 on_prepare: Callable[[int, int], None] | None = None,
                 on_epoch: Callable[[int, int], None] | None = None) -> Trained:
    """Build the dataset (once), train (resuming), export and register ``name`` in ``out/model``."""
    from geotally.config.limits import check_number
    from geotally.training.fit import ultralytics_ready

    dataset.validate()
    params.validate()
    check_number("--synth", synth, 0, 100_000, integer=True)
    if dataset.pseudo_teacher is not None:
        from geotally.models.registry import get_spec

        get_spec(dataset.pseudo_teacher)  # an unknown name fails here, before any image is read
    ultralytics_ready()  # before any work: the light install has no torch
    if params.train_only == "angle":  # only the angle is learnt: labels with a guessed one teach nothing else
        dataset = replace(dataset, measured_angles_only=True)
    items = collect(list(data), list(excludes), list(exclude_lists))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if synth:
        items += synth_scenes(out / "synth", synth)
    if not items:
        raise GeotallyError("no labelled images left to train on after the exclusions")
    ds_root = out / "dataset"
    manifest = {"images": sorted(str(it.path) for it in items), "dataset": asdict(dataset)}
    ds_json = ds_root / "dataset.json"
    if ds_json.exists() and json.loads(ds_json.read_text()).get("manifest") == json.loads(json.dumps(manifest, default=str)):
        summary = json.loads(ds_json.read_text())
        say(f"dataset already built in {ds_root} ({summary['tiles']} tiles); reusing it")
    else:
        shutil.rmtree(ds_root, ignore_errors=True)
        from geotally.training.teacher import teacher

        say(f"building the dataset from {len(items)} labelled images")
        pseudo = teacher(dataset.pseudo_teacher, own_gsd=True) if dataset.pseudo_teacher else None
        s = build_dataset(items, ds_root, dataset, detect=teacher(), progress=on_prepare, unlabelled=pseudo)
        summary = json.loads(ds_json.read_text())
        summary["manifest"] = manifest
        ds_json.write_text(json.dumps(summary, indent=1, default=str))
        say(f"dataset: {s.tiles} tiles, labels {s.labels}, orientation {s.orientation}, masked {s.masked}")
    pt = train(ds_root / "data.yaml", out / "run", params, on_epoch=on_epoch)
    folder = out / "model"
    folder.mkdir(exist_ok=True)
    done = _finished(folder, name, file_sha256(pt))
    if done is not None:  # trained and exported before: the same files, not a new export
        say(f"training already finished in {out}; model files unchanged")
        return Trained(name, folder, done)
    final_pt = folder / f"{name}.pt"
    shutil.copy2(pt, final_pt)
    onnx = export_onnx(final_pt, tile_size)
    entry = {
        "name": name, "file": onnx.name, "sha256": file_sha256(onnx),
        "checkpoint": final_pt.name, "checkpoint_sha256": file_sha256(final_pt),
        "native_gsd_m": dataset.model_gsd, "tile_size": tile_size, "task": "obb",
        "classes": {str(k): v for k, v in DOTA_V1.items()},
        "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "training": {"data": list(data), "excluded_globs": list(excludes), "excluded_lists": list(exclude_lists),
                     "synthetic_scenes": synth, "images": len(items), "tiles": summary["tiles"],
                     "labels": summary["labels"], "orientation": summary["orientation"],
                     "masked": summary["masked"], "dataset": asdict(dataset), "params": asdict(params)},
        "validation": None,
    }
    inherited = base_thresholds(params.base) if params.train_only == "angle" else None
    if inherited:  # a heading refit scores exactly as its base: the base's chosen thresholds hold
        entry["conf"] = inherited
    write_entry(folder, entry)
    return Trained(name, folder, entry)
