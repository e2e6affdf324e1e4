"""Counting on a CPU needs ONNX Runtime only: the shipped default model runs without torch or Ultralytics."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from geotally.imagery.checksum import file_sha256
from geotally.models.registry import DEFAULT_MODEL, REGISTRY, SHIPPED


def test_default_model_ships_inside_the_package_with_its_checksums():
    spec = REGISTRY[DEFAULT_MODEL]
    assert spec.filename.endswith(".onnx"), "the default must be an ONNX file that ships in the package"
    assert file_sha256(SHIPPED / spec.filename) == spec.sha256
    assert file_sha256(SHIPPED / spec.checkpoint) == spec.checkpoint_sha256
    card = json.loads((SHIPPED / f"{spec.name}.json").read_text())
    assert card["conf"]["large_vehicle"] > 0 and card["training"]["images"] > 0


def test_count_with_the_default_model_imports_neither_torch_nor_ultralytics(tmp_path, border_scene):
    code = (
        "import sys, geotally\n"
        f"r = geotally.count({border_scene['scene']!r})\n"
        "n = int((r.detections['class'] == 'large_vehicle').sum())\n"
        "print(n, 'torch' in sys.modules, 'ultralytics' in sys.modules, r.summary.model.file)\n"
    )
    env = {"GEOTALLY_CACHE_DIR": str(tmp_path / "empty-cache"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    trucks, torch_loaded, ultra_loaded, model_file = done.stdout.split()
    assert not (torch_loaded == "True" or ultra_loaded == "True")
    truth = sum(c.get("large_vehicle", 0) for c in border_scene["counts"].values())
    assert abs(int(trucks) - truth) <= 0.2 * truth  # and it finds the trucks, from an empty cache, offline
    # the shipped model runs from the package, verified, and nothing is copied into the cache
    assert Path(model_file) == SHIPPED / REGISTRY[DEFAULT_MODEL].filename
    assert not (Path(tmp_path) / "empty-cache" / "models" / DEFAULT_MODEL).exists()


def test_train_without_the_train_extra_is_one_line_and_writes_nothing(tmp_path):
    """Simulate the light install by hiding ultralytics; `geotally train` must say what to install, first."""
    code = (
        "import sys, builtins\n"
        "real = builtins.__import__\n"
        "def imp(name, *a, **k):\n"
        "    if name.split('.')[0] in ('ultralytics', 'torch'):\n"
        "        raise ImportError(name)\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = imp\n"
        "from geotally.cli import main\n"
        f"sys.argv = ['geotally', 'train', {str(tmp_path)!r}, '--name', 'x', '--out', {str(tmp_path / 'run')!r}]\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'geotally[train]'" in lines[0]
    assert not (tmp_path / "run").exists()
