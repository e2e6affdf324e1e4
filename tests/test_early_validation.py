"""Every input and option is checked before the first tile: a bad later scene, a KML export of a scene
without a CRS, or a bad option fails at once, with no detection run and no checkpoint left."""

import numpy as np
import pytest

from conftest import assert_user_error, noise_scene, run, write_raster
import geotally.pipeline.detection


@pytest.fixture
def no_detection(monkeypatch):
    """Fail the test if any tile is detected."""
    def refuse(*a, **k):
        raise AssertionError("detection ran before the inputs were checked")
    monkeypatch.setattr(geotally.pipeline.detection, "detect_scene", refuse)


@pytest.mark.parametrize("later", ["missing", "corrupt"])
def test_a_bad_later_scene_fails_before_the_first(later, tmp_path, monkeypatch, capsys, no_detection):
    good = noise_scene(tmp_path / "a.tif")
    bad = tmp_path / "b.tif"
    if later == "corrupt":
        bad.write_bytes(b"II*\x00" + b"\x00" * 100)
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", good, bad, "--out", out)
    assert_user_error(code, err, "b.tif", out)


def test_kml_of_a_scene_without_a_crs(tmp_path, monkeypatch, capsys, no_detection):
    png = tmp_path / "plain.png"
    write_raster(png, np.random.default_rng(0).integers(0, 255, (3, 128, 128), dtype=np.uint8), driver="PNG",
                 crs=None, transform=None)
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", png, "--gsd", "0.3", "--export", "kml", "--out", out)
    assert_user_error(code, err, "--export kml needs a georeferenced scene", out)


def test_kml_of_a_later_scene_without_a_crs(tmp_path, monkeypatch, capsys, no_detection):
    good = noise_scene(tmp_path / "a.tif")
    png = tmp_path / "b.png"
    write_raster(png, np.random.default_rng(0).integers(0, 255, (3, 128, 128), dtype=np.uint8), driver="PNG",
                 crs=None, transform=None)
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", good, png, "--gsd", "0.3", "--export", "kml", "--out", out)
    assert_user_error(code, err, "b.png has no CRS", out)


@pytest.mark.parametrize("args, fragment", [
    (["--size-thresholds", "nan,10,14"], "--size-thresholds"),
    (["--basemap", "http://h *; script-src */{z}/{x}/{y}"], "--basemap"),
    (["--distance-bands", "0,100"], "--distance-bands has no effect without --border"),
])
def test_bad_options_of_a_multi_scene_run(args, fragment, tmp_path, monkeypatch, capsys, no_detection):
    a, b = noise_scene(tmp_path / "a.tif"), noise_scene(tmp_path / "b.tif", seed=1)
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", a, b, *args, "--out", out)
    assert_user_error(code, err, fragment, out)
