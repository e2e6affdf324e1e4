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


PROCESSING = """
import sys
sys.path.insert(0, "/usr/share/qgis/python/plugins")
sys.path.insert(0, {plugins!r})
os.environ["GEOTALLY_EXECUTABLE"] = {geotally!r}
from processing.core.Processing import Processing
Processing.initialize()
from geotally.plugin import GeotallyPlugin
plugin = GeotallyPlugin(None)  # kept: its provider goes with it
plugin.initProcessing()
import processing
from qgis.core import (QgsFeatureRequest, QgsProcessingContext, QgsProcessingFeedback, QgsProject,
                       QgsVectorLayer)
ctx = QgsProcessingContext()
ctx.setProject(QgsProject.instance())

def attempt(params):
    try:
        processing.run("geotally:count", params, context=ctx, feedback=QgsProcessingFeedback())
        return "ok"
    except Exception as exc:
        return str(exc)
"""


def test_layers_from_the_project_are_counted_as_their_files(profile, counted, border_scene, tmp_path):  # noqa: F811
    """Zones as a memory layer and the border as one layer of a GeoPackage of several (QGIS's
    'file.gpkg|layername=border'), as a project holds them: the CLI's counts.csv. They used to be
    dropped unsaid (every vehicle 'outside') or refused as files not found."""
    skip_without_qgis()
    import geopandas as gpd

    multi = tmp_path / "project data.gpkg"
    gpd.read_file(border_scene["sides"]).to_file(multi, layer="sides")
    gpd.read_file(border_scene["border"]).to_file(multi, layer="border")
    plugins = profile / "profiles" / "default" / "python" / "plugins"
    out = tmp_path / "from-layers"
    import numpy as np
    from PIL import Image

    png = tmp_path / "photo.png"  # no georeference: geotally asks for --gsd, which the form does not have
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(png)
    res = run_qgis(PROCESSING.format(plugins=str(plugins), geotally=str(Path(sys.executable).with_name("geotally"))) + f"""
src = QgsVectorLayer({border_scene['sides']!r}, "sides", "ogr")
memory = src.materialize(QgsFeatureRequest())
QgsProject.instance().addMapLayer(memory)
out["memory"] = memory.providerType()
out["count"] = attempt(dict(INPUT={border_scene['scene']!r}, ZONES=memory, BORDER={str(multi) + '|layername=border'!r},
                            SIDES="TR,IQ", ROADS={border_scene['roads']!r}, OUTPUT={str(out)!r}))
out["quote"] = attempt(dict(INPUT={border_scene['scene']!r}, EXTRA="--zones 'unterminated", OUTPUT={str(tmp_path / 'q')!r}))
out["twice"] = attempt(dict(INPUT={border_scene['scene']!r}, EXTRA="--out elsewhere", OUTPUT={str(tmp_path / 't')!r}))
out["both"] = attempt(dict(INPUT={border_scene['scene']!r}, INPUT_FOLDER={str(tmp_path)!r}, OUTPUT={str(tmp_path / 'b')!r}))
out["png"] = attempt(dict(INPUT={str(png)!r}, OUTPUT={str(tmp_path / 'p')!r}))
out["sides"] = attempt(dict(INPUT={border_scene['scene']!r}, SIDES="TR,IQ", OUTPUT={str(tmp_path / 's')!r}))
""", tmp_path)
    assert res["memory"] == "memory" and res["count"] == "ok", res
    assert (out / "counts.csv").read_bytes() == (counted / "counts.csv").read_bytes()
    assert res["quote"] == "More options: No closing quotation in \"--zones 'unterminated\"", res
    assert res["twice"].startswith("More options: --out is set in the form already"), res
    assert res["both"] == "give a scene or a folder of scenes, not both", res
    # geotally's messages in the form's words: an option of the form by its label, any other in More options
    assert "--gsd (in More options)" in res["png"], res["png"]
    assert res["sides"] == ("geotally: error: --sides ('Side names, left then right along the border (e.g. TR,IQ)') has no "
                            "effect without --border ('Border line'); give --border too, or leave --sides out"), res["sides"]
    assert not any((tmp_path / n).exists() for n in ("q", "t", "b"))
