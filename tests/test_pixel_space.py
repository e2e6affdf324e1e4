"""A scene without georeference is counted in pixel-space metres, and nothing pretends otherwise: no
WGS84 file, empty lon/lat, and one line saying so on the terminal and in summary.json."""

import json
import subprocess
import sys

import geopandas as gpd
import rasterio

from conftest import run, write_raster


def _png(tmp_path, border_scene):
    with rasterio.open(border_scene["scene"]) as src:
        data = src.read(window=((0, 2000), (0, 1333)))
    return write_raster(tmp_path / "photo.png", data, driver="PNG", crs=None, transform=None)


def test_no_wgs84_file_and_empty_lon_lat(tmp_path, border_scene, monkeypatch, capsys):
    png = _png(tmp_path, border_scene)
    out = tmp_path / "out"
    code, stdout, err = run(monkeypatch, capsys, "count", png, "--gsd", "0.15", "--out", out)
    assert code == 0, err
    assert not list(out.glob("*.geojson"))
    det = gpd.read_file(out / "detections.gpkg")
    assert len(det) > 5 and det.crs is None
    assert det["lon"].isna().all() and det["lat"].isna().all()
    summary = json.loads((out / "summary.json").read_text())
    assert "pixel-space metres" in summary["coordinates"]
    assert "no georeference" in stdout
    files = set(json.loads((out / "manifest.json").read_text())["files"])
    assert not any(f.endswith(".geojson") for f in files)


def test_no_not_georeferenced_warning_reaches_the_terminal(tmp_path, border_scene):
    png = _png(tmp_path, border_scene)
    done = subprocess.run([sys.executable, "-W", "always", "-m", "geotally", "count", str(png), "--gsd", "0.15",
                           "--out", str(tmp_path / "out"), "-q"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and done.stderr.strip() == ""
