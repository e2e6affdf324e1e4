"""ONNX exports of registered checkpoints, made once and cached with their own sha256."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from geotally.errors import GeotallyError
from geotally.imagery.scene import file_sha256


def onnx_export(pt: Path, imgsz: int, say: Callable[[str], None] = lambda m: None) -> tuple[Path, str]:
    """Path and sha256 of ``pt`` exported to ONNX (dynamic batch) at ``imgsz``, from the cache when there.

    The export's checksum is written beside it when it is made and checked before every use,
    so a tampered or half-written export is made again rather than used.
    """
    target = pt.with_name(f"{pt.stem}-{imgsz}.onnx")
    sidecar = target.with_suffix(".onnx.sha256")
    if target.exists() and sidecar.exists():
        digest = file_sha256(target)
        if digest == sidecar.read_text().strip():
            return target, digest
        say(f"cached ONNX export {target} fails its checksum; exporting again")
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
    with tempfile.TemporaryDirectory(prefix="geotally-export-", dir=pt.parent) as tmp:
        local = Path(tmp) / pt.name
        shutil.copy2(pt, local)
        made = Path(YOLO(str(local)).export(format="onnx", imgsz=imgsz, dynamic=True, simplify=False, verbose=False))
        digest = file_sha256(made)
        os.replace(made, target)
    sidecar.write_text(digest + "\n")
    return target, digest
