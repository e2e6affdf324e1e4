"""QGIS opens geotally's results styled, as a project: checked with Debian's QGIS, run in its own
Python (/usr/bin/python3; geotally's venv cannot import qgis, which lives in the system's
dist-packages) in a subprocess, headless. Every test skips where qgis or python3-qgis is absent."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

QGIS_PYTHON = "/usr/bin/python3"
QGIS_PROCESS = "/usr/bin/qgis_process"


def qgis_env(**extra: str) -> dict[str, str]:
    """The environment for QGIS: headless, without geotally's venv on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(Path(sys.prefix))))
    runtime = Path(tempfile.gettempdir()) / f"geotally-qgis-runtime-{os.getuid()}"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env.update(QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(runtime), **extra)
    return env


def skip_without_qgis() -> None:
    """Skip the calling test where Debian's qgis_process or python3-qgis is absent."""
    if not Path(QGIS_PROCESS).exists() or shutil.which(QGIS_PYTHON) is None:
        pytest.skip("Debian's qgis (qgis_process) is not installed")
    probe = subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], check=False, env=qgis_env(), capture_output=True)
    if probe.returncode != 0:
        pytest.skip("python3-qgis is not installed (import qgis fails in /usr/bin/python3)")


def run_qgis(script: str, tmp_path: Path, timeout: float = 240) -> dict:
    """Run ``script`` (Python for QGIS; it fills the dict ``out``) in QGIS's Python; returns ``out``."""
    path = tmp_path / "qgis_script.py"
    result = tmp_path / "qgis_out.json"
    body = textwrap.dedent(script)
    path.write_text(
        "import json, os, sys\n"
        "from qgis.core import QgsApplication\n"
        "app = QgsApplication([], False)\n"
        "app.initQgis()\n"
        "out = {}\n"
        + body + "\n"
        f"open({str(result)!r}, 'w').write(json.dumps(out))\n"
        "sys.stdout.flush()\n"
        "os._exit(0)  # QGIS 3.22 can crash in exitQgis after rendering; the answer is written already\n")
    proc = subprocess.run([QGIS_PYTHON, str(path)], check=False, env=qgis_env(), capture_output=True, text=True,
                          timeout=timeout, cwd=tmp_path)
    assert result.exists(), f"QGIS script failed ({proc.returncode}): {proc.stderr[-3000:]}"
    return json.loads(result.read_text())


# --- the tests: a count of a small generated border crossing, opened in QGIS -----------------------------

@pytest.fixture(scope="module")
def counted(border_scene, tmp_path_factory) -> Path:
    """A count of the generated crossing with zones, border and roads (about 5 s)."""
    from geotally import cli

    out = tmp_path_factory.mktemp("qgis") / "res"
    mp = pytest.MonkeyPatch()
    mp.setattr(sys, "argv", ["geotally", "count", border_scene["scene"], "--zones", border_scene["sides"],
                             "--border", border_scene["border"], "--sides", "TR,IQ", "--roads", border_scene["roads"],
                             "--out", str(out), "-q"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    mp.undo()
    assert exc.value.code == 0
    return out


LAYER_REPORT = """
from qgis.core import QgsVectorLayer, QgsProject, QgsSymbolLayer

def describe(lyr):
    r = lyr.renderer()
    d = {"valid": lyr.isValid(), "renderer": r.type() if r else None, "labels": lyr.labelsEnabled()}
    if r is not None and r.type() == "categorizedSymbol":
        d["attr"] = r.classAttribute()
        cats = r.categories()  # kept: a symbol of a temporary list would be freed under us
        d["categories"] = {str(c.value()): c.symbol().color().name() for c in cats}
    if r is not None and r.type() == "graduatedSymbol":
        d["attr"] = r.classAttribute()
        ranges = r.ranges()  # kept: a symbol of a temporary list would be freed under us
        d["ranges"] = [[x.lowerValue(), x.upperValue(), x.symbol().color().name()] for x in ranges]
        prop = ranges[0].symbol().symbolLayer(0).dataDefinedProperties().property(QgsSymbolLayer.PropertyStrokeWidth)
        d["width"] = prop.expressionString()
    if lyr.labelsEnabled():
        s = lyr.labeling().settings()
        d["label_field"] = s.fieldName
        d["label_max_scale"] = s.minimumScale if s.scaleVisibility else None
    return d
"""


def test_every_layer_opens_with_its_default_style(counted, tmp_path):
    """detections.gpkg and queues.gpkg load valid in QGIS with geotally's style from their layer_styles
    table: vehicles categorised by class in the report's colours, det_id labels at close scales, queues
    graduated by large vehicles with the width from lanes."""
    skip_without_qgis()
    from geotally.report.payload import CLASS_COLOURS

    out = run_qgis(LAYER_REPORT + f"""
for name in ("detections", "queues"):
    lyr = QgsVectorLayer({str(counted)!r} + "/" + name + ".gpkg|layername=" + name, name, "ogr")
    out[name] = describe(lyr)
""", tmp_path)
    det = out["detections"]
    assert det["valid"] and det["renderer"] == "categorizedSymbol" and det["attr"] == "class"
    assert {k: v for k, v in det["categories"].items() if k} == CLASS_COLOURS  # the report's colours
    assert det["labels"] and det["label_field"] == "det_id" and 0 < det["label_max_scale"] <= 5000
    q = out["queues"]
    assert q["valid"] and q["renderer"] == "graduatedSymbol" and q["attr"] == "large_vehicles"
    assert '"lanes"' in q["width"] and len(q["ranges"]) >= 3


def test_project_opens_styled_with_bookmarks_and_provenance(counted, tmp_path):
    """project.qgs: every layer valid and styled, the zones as bookmarks, the scene's sha256 in the
    project's metadata, and the scene's picture resolving after the folder is moved."""
    skip_without_qgis()
    summary = json.loads((counted / "summary.json").read_text())
    assert "project.qgs" in json.loads((counted / "manifest.json").read_text())["files"]
    moved = tmp_path / "elsewhere" / "shared-copy"
    shutil.copytree(counted, moved)
    out = run_qgis(LAYER_REPORT + f"""
p = QgsProject.instance()
out["read"] = p.read({str(moved / "project.qgs")!r})
out["layers"] = {{l.name(): dict(describe(l) if l.type() == 0 else {{"valid": l.isValid()}}, source=l.source())
                 for l in p.mapLayers().values()}}
out["tree"] = [l.name() for l in p.layerTreeRoot().findLayers() if l.layer() is not None]
out["bookmarks"] = sorted(b.name() for b in p.bookmarkManager().bookmarks())
out["abstract"] = p.metadata().abstract()
out["crs"] = p.crs().authid()
""", tmp_path)
    assert out["read"]
    layers = out["layers"]
    assert layers["detections"]["renderer"] == "categorizedSymbol" and layers["detections"]["valid"]
    assert layers["queues"]["renderer"] == "graduatedSymbol" and layers["queues"]["valid"]
    assert layers["roads"]["renderer"] == "graduatedSymbol" and layers["roads"]["valid"]
    assert layers["zones"]["valid"] and layers["zones"]["label_field"] == "name"
    assert layers["border"]["valid"]
    preview = layers["scene.tif (preview)"]
    assert preview["valid"] and preview["source"].startswith(str(moved))  # the folder's own copy, moved
    assert all(v["source"].startswith(str(moved)) for k, v in layers.items() if k != "scene.tif")
    assert set(out["tree"]) == set(layers)  # every layer is in the layer tree (drawn)
    assert out["bookmarks"] == ["IQ", "TR"]
    assert summary["scenes"][0]["sha256"] in out["abstract"] and summary["model"]["sha256"] in out["abstract"]
    assert out["crs"] == "EPSG:32638"


RENDER = """
from qgis.core import QgsMapSettings, QgsMapRendererParallelJob, QgsRectangle
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor
p = QgsProject.instance()
p.read(PROJECT)
det = p.mapLayersByName("detections")[0]
s = QgsMapSettings()
s.setLayers([det])
s.setDestinationCrs(det.crs())
s.setBackgroundColor(QColor("white"))
s.setOutputSize(QSize(600, 1800))
s.setExtent(det.extent())
s.setFlag(QgsMapSettings.DrawLabeling, False)
job = QgsMapRendererParallelJob(s)
job.start()
job.waitForFinished()
img = job.renderedImage()
img.save(OUT_PNG)
m2p = s.mapToPixel()
px = []
for f in det.getFeatures():
    c = f.geometry().pointOnSurface().asPoint()
    pt = m2p.transform(c)
    col = QColor(img.pixel(int(round(pt.x())), int(round(pt.y()))))
    px.append([f["class"], col.red(), col.green(), col.blue()])
out["pixels"] = px
"""


def test_rendered_map_shows_class_colours_at_the_detections(counted, tmp_path):
    """A map rendered headless from project.qgs (QgsMapRendererParallelJob) has, at each detection, the
    colour of its class (the report's colour, half transparent over white)."""
    skip_without_qgis()
    import numpy as np

    from geotally.report.payload import CLASS_COLOURS

    out = run_qgis(f"PROJECT = {str(counted / 'project.qgs')!r}\nOUT_PNG = {str(tmp_path / 'map.png')!r}\n"
                   + LAYER_REPORT + RENDER, tmp_path)
    pixels = out["pixels"]
    assert {p[0] for p in pixels} == set(CLASS_COLOURS)
    expected = {k: np.array([int(v[i:i + 2], 16) for i in (1, 3, 5)], float) for k, v in CLASS_COLOURS.items()}
    for cls, *rgb in pixels:
        dist = {k: np.abs(np.array(rgb, float) - (255 + (c - 255) * 150 / 255)).max() for k, c in expected.items()}
        assert dist[cls] < 40 and dist[cls] == min(dist.values()), (cls, rgb, dist)


def test_styles_are_written_into_every_geopackage(counted, tmp_path):
    """Without QGIS: each GeoPackage carries one default QML style per layer (well-formed XML), in the
    report's colours, and its layers read back as before."""
    import sqlite3
    import xml.etree.ElementTree as ET

    import geopandas as gpd
    import shapely

    from geotally.report.payload import CLASS_COLOURS, ROAD_CLASSES
    from geotally.store import styles
    from geotally.store.review import Decision, append

    assert styles.CLASS_COLOURS == CLASS_COLOURS
    assert [c for _, c in styles.ROAD_CLASSES] == [c for _, c in ROAD_CLASSES]
    review = tmp_path / "review.gpkg"
    append(review, Decision("accept", det_id="a", geometry=shapely.box(0, 0, 1, 1)), "EPSG:32638")
    expect = {counted / "detections.gpkg": ["detections"], counted / "queues.gpkg": ["queues"],
              counted / "roads.gpkg": ["roads"], counted / "zones.gpkg": ["border", "imaged", "zones"], review: ["decisions"]}
    for path, tables in expect.items():
        with sqlite3.connect(path) as db:
            rows = db.execute("SELECT f_table_name, f_geometry_column, useAsDefault, styleQML FROM layer_styles "
                              "ORDER BY f_table_name").fetchall()
        assert [r[0] for r in rows] == tables and all(r[1] == "geom" and r[2] == 1 for r in rows), path
        for r in rows:
            assert ET.fromstring(r[3].split("\n", 1)[1]).find("renderer-v2") is not None
    det = gpd.read_file(counted / "detections.gpkg", layer="detections")
    assert det["det_id"].tolist() == gpd.read_parquet(counted / "detections.parquet")["det_id"].tolist()


def test_the_project_opens_on_the_scene(counted):
    """The map canvas saved in project.qgs is the scene's footprint, x as x: it read rasterio's bounds
    in the wrong order, so QGIS opened on an area with none of the detections."""
    import xml.etree.ElementTree as ET

    import geopandas as gpd

    extent = ET.parse(counted / "project.qgs").getroot().find("mapcanvas/extent")
    x0, y0, x1, y1 = (float(extent.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax"))
    dx0, dy0, dx1, dy1 = gpd.read_file(counted / "detections.gpkg", layer="detections").total_bounds
    assert x0 <= dx0 < dx1 <= x1 and y0 <= dy0 < dy1 <= y1


def test_an_empty_layer_keeps_its_geometry_type(tmp_path):
    """A run that finds no queue (here: nothing at all) still writes map layers of their kind: QGIS
    opens a GeoPackage layer of unknown geometry as a table, without its style."""
    import pyogrio

    import geotally
    from conftest import noise_scene

    out = tmp_path / "res"
    geotally.count(noise_scene(tmp_path / "scene.tif", size=300), out=out, tile_size=256, overlap=32)
    kinds = {name: dict(pyogrio.list_layers(out / f"{name}.gpkg"))[name] for name in ("detections", "queues")}
    assert kinds == {"detections": "Polygon", "queues": "LineString"}


def test_road_colours_are_per_date(border_scene, tmp_path):
    """The roads' colour is vehicles per km per date, as counts_by_road.csv and the report give it: two
    dates of the same scene colour a road as one date does (the style added the dates together)."""
    skip_without_qgis()
    import geotally

    one, two = tmp_path / "one", tmp_path / "two"
    for d in ("2026-06-01", "2026-06-08"):
        shutil.copy(border_scene["scene"], tmp_path / f"scene_{d}.tif")
    common = dict(roads=border_scene["roads"], tile_size=512, overlap=64, date_pattern="scene_{date:%Y-%m-%d}.tif")
    geotally.count(tmp_path / "scene_2026-06-01.tif", out=one, **common)
    geotally.count([tmp_path / "scene_2026-06-01.tif", tmp_path / "scene_2026-06-08.tif"], out=two, **common)
    per_km = {}
    for name, folder in (("one", one), ("two", two)):
        out = run_qgis(f"""
from qgis.core import QgsProject, QgsExpression, QgsExpressionContext, QgsExpressionContextUtils
p = QgsProject.instance()
p.read({str(folder / "project.qgs")!r})
roads = p.mapLayersByName("roads")[0]
expr = QgsExpression(roads.renderer().classAttribute())
ctx = QgsExpressionContext(QgsExpressionContextUtils.globalProjectLayerScopes(roads))
out["per_km"] = {{}}
for f in roads.getFeatures():
    ctx.setFeature(f)
    out["per_km"][str(f["road_id"])] = expr.evaluate(ctx)
""", tmp_path)
        per_km[name] = out["per_km"]
    assert per_km["one"] and max(per_km["one"].values()) > 0
    assert per_km["two"] == pytest.approx(per_km["one"])


def test_a_scene_without_georeference_is_shown_by_its_placed_preview(tmp_path):
    """A PNG counted with --gsd: its raw pixels would sit in pixel units (0..400) beside detections in
    metres (0..120 at 0.3 m), so the project shows the preview, which is placed, and not the file."""
    import xml.etree.ElementTree as ET

    import cv2
    import numpy as np

    import geotally

    png = tmp_path / "photo.png"
    cv2.imwrite(str(png), np.random.default_rng(0).integers(0, 255, (300, 400, 3), np.uint8))
    geotally.count(png, out=tmp_path / "res", gsd=0.3, tile_size=256, overlap=32)
    names = [e.text for e in ET.parse(tmp_path / "res" / "project.qgs").getroot().iter("layername")]
    assert "photo.png (preview)" in names and "photo.png" not in names
