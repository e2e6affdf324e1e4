"""ONNX exports of registered checkpoints, made once and cached with their own sha256."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from geotally.errors import GeotallyError
from geotally.imagery.checksum import file_sha256


SOURCE_KEY = "geotally_source_sha256"
EXPORTER_KEY = "geotally_exporter"
GRAPH_KEY = "geotally_graph_sha256"  # the graph and weights, without the metadata that holds this


def exporter_version() -> str:
    """What made an export: the Ultralytics and ONNX versions (a new exporter may export differently)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"ultralytics {version('ultralytics')}, onnx {version('onnx')}"
    except PackageNotFoundError:
        return "unknown"


def _graph_sha(model) -> str:
    return hashlib.sha256(model.graph.SerializeToString(deterministic=True)).hexdigest()


def export_binding(path: Path) -> dict[str, str]:
    """What an export's metadata says made it (source sha256, exporter), if its graph and weights are
    still the ones exported; empty when it names nothing or its weights changed since."""
    try:
        import onnx

        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001 - unreadable means unbound, and it is exported again
        return {}
    meta = {p.key: p.value for p in model.metadata_props}
    if meta.get(GRAPH_KEY) != _graph_sha(model):
        return {}
    return {k: meta[k] for k in (SOURCE_KEY, EXPORTER_KEY) if k in meta}


def _bind(path: Path, source_sha: str) -> None:
    """Write the source checkpoint's sha256, the exporter version and the graph's own sha256 into the
    export's metadata."""
    import onnx

    model = onnx.load(str(path))
    for key, value in ((SOURCE_KEY, source_sha), (EXPORTER_KEY, exporter_version()), (GRAPH_KEY, _graph_sha(model))):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def onnx_export(pt: Path, imgsz: int, say: Callable[[str], None] = lambda m: None) -> tuple[Path, str]:
    """Path and sha256 of ``pt`` exported to ONNX (dynamic batch) at ``imgsz``, from the cache when there.

    A cached export is used only if its sha256 matches the sidecar written when it was made and
    its metadata names this checkpoint's sha256 and this exporter; otherwise it is made again,
    so a half-written export, one made from another checkpoint, or one whose metadata was
    stripped is never run. (Whoever can rewrite the cache can forge all three: the run records
    the export's own sha256 in summary.json so that a changed file shows.)
    """
    target = pt.with_name(f"{pt.stem}-{imgsz}.onnx")
    sidecar = target.with_suffix(".onnx.sha256")
    source_sha = file_sha256(pt)
    if target.exists() and sidecar.exists():
        digest = file_sha256(target)
        binding = export_binding(target) if digest == sidecar.read_text().strip() else {}
        if binding == {SOURCE_KEY: source_sha, EXPORTER_KEY: exporter_version()}:
            return target, digest
        say(f"cached ONNX export {target.name} fails its checksum or is not bound to {pt.name}; exporting again")
    try:
        import onnx  # noqa: F401
        import ultralytics  # noqa: F401
    except ImportError:
        raise GeotallyError(f"{pt.name} is an Ultralytics checkpoint: running it needs torch and Ultralytics "
                            "(pip install 'geotally[train]'), or use the shipped default model") from None
    from geotally.models.backends import _ultralytics_env

    _ultralytics_env()
    from ultralytics import YOLO

    say(f"exporting {pt.name} to ONNX once (cached for later runs)")
    try:
        with tempfile.TemporaryDirectory(prefix="geotally-export-", dir=pt.parent) as tmp:
            local = Path(tmp) / pt.name
            shutil.copy2(pt, local)
            made = Path(YOLO(str(local)).export(format="onnx", imgsz=imgsz, dynamic=True, simplify=False,
                                                verbose=False))
            _bind(made, source_sha)
            digest = file_sha256(made)
            os.replace(made, target)
        part = sidecar.with_name(sidecar.name + ".part")
        part.write_text(digest + "\n")
        os.replace(part, sidecar)
    except OSError as exc:
        raise GeotallyError(f"cannot write the ONNX export of {pt.name} in {pt.parent} "
                            f"({exc.strerror or exc}); set GEOTALLY_CACHE_DIR to a writable folder, "
                            "or use --backend ultralytics") from None
    return target, digest
