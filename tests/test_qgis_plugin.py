"""The QGIS plugin: built into a zip by scripts/build_qgis_plugin.py, installed into a temporary QGIS
profile (QGIS_CUSTOM_CONFIG_PATH), and run by Debian's qgis_process: the same counts.csv as the CLI, a
bad input's one-line error and no output, and cancelling stops the geotally process."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from test_qgis import QGIS_PROCESS, counted, qgis_env, run_qgis, skip_without_qgis  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def profile(tmp_path_factory) -> Path:
    """A QGIS profile with the plugin from the built zip installed and enabled, geotally's path set."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from build_qgis_plugin import build
    finally:
        sys.path.pop(0)
    base = tmp_path_factory.mktemp("qgis-profile")
    plugins = base / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    with zipfile.ZipFile(build(base / "dist")) as zf:
        zf.extractall(plugins)
    geotally = Path(sys.executable).with_name("geotally")
    (base / "profiles" / "default" / "QGIS").mkdir()
    (base / "profiles" / "default" / "QGIS" / "QGIS3.ini").write_text(
        f"[PythonPlugins]\ngeotally=true\n\n[Processing]\nConfiguration\\GEOTALLY_EXECUTABLE={geotally}\n")
    return base


def qgis_process(profile: Path, *args: str) -> subprocess.CompletedProcess:
    """qgis_process with the profile; the .bin itself, since Debian's wrapper passes it an option
    (--noversioncheck from /etc/default/qgis) that qgis_process 3.22 refuses."""
    exe = QGIS_PROCESS + ".bin" if Path(QGIS_PROCESS + ".bin").exists() else QGIS_PROCESS
    return subprocess.run([exe, *args], check=False, capture_output=True, text=True, timeout=300,
                          env=qgis_env(QGIS_CUSTOM_CONFIG_PATH=str(profile)))


def test_qgis_process_count_gives_the_cli_counts(profile, counted, border_scene, tmp_path):  # noqa: F811
    """geotally:count run by qgis_process writes the same counts.csv as the CLI, and the project."""
    skip_without_qgis()
    out = tmp_path / "from-qgis"
    proc = qgis_process(profile, "run", "geotally:count", "--", f"INPUT={border_scene['scene']}",
                        f"ZONES={border_scene['sides']}", f"BORDER={border_scene['border']}", "SIDES=TR,IQ",
                        f"ROADS={border_scene['roads']}", f"OUTPUT={out}")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (out / "counts.csv").read_bytes() == (counted / "counts.csv").read_bytes()
    assert (out / "project.qgs").exists()
    assert "100 - done" in proc.stdout  # progress reached Processing


def test_qgis_process_bad_input_one_line_error_no_output(profile, tmp_path):
    """A scene that does not exist: geotally's one-line error in the log, exit 1, no results folder."""
    skip_without_qgis()
    out = tmp_path / "never"
    proc = qgis_process(profile, "run", "geotally:count", "--", f"INPUT={tmp_path / 'missing.tif'}", f"OUTPUT={out}")
    assert proc.returncode != 0
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and "geotally: error: scene not found" in errors[0], proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not out.exists() and not list(tmp_path.glob(".never.staging-*"))


def test_cancelling_stops_the_geotally_process(profile, tmp_path):
    """Cancelling at the first progress report kills geotally: the call returns and no geotally
    process is left running on that output folder. The scene is 25 tiles (a few seconds of
    detection), so the run cannot end between the first report and the cancel."""
    skip_without_qgis()
    from conftest import noise_scene

    scene = noise_scene(tmp_path / "big.tif", size=2000)
    plugins = profile / "profiles" / "default" / "python" / "plugins"
    out = tmp_path / "cancelled"
    geotally = Path(sys.executable).with_name("geotally")
    res = run_qgis(f"""
import os, time
sys.path.insert(0, {str(plugins)!r})
os.environ["GEOTALLY_EXECUTABLE"] = {str(geotally)!r}
from qgis.core import QgsProcessingFeedback
from geotally.algorithms import run_geotally
fb = QgsProcessingFeedback()
seen = []
fb.progressChanged.connect(lambda p: (seen.append(p), fb.cancel()))
t0 = time.time()
text = run_geotally(["count", {str(scene)!r}, "--out", {str(out)!r}, "--fresh"], fb)
out["seconds"] = time.time() - t0
out["progress"] = seen
out["cancelled"] = fb.isCanceled()
""", tmp_path)
    assert res["cancelled"] and res["progress"]
    alive = []
    for proc in Path("/proc").iterdir():
        try:
            if str(out) in (proc / "cmdline").read_bytes().decode(errors="replace"):
                alive.append(proc.name)
        except OSError:
            continue
    assert not alive
    assert not (out / "manifest.json").exists()  # the run did not finish
