"""The command line as a user meets it: exit codes, one-line errors, nothing half-written."""

import json
import sys

import numpy as np
import pytest

from geotally import cli
from conftest import assert_user_error, run, write_raster


@pytest.fixture
def scene(tmp_path):
    rng = np.random.default_rng(0)
    return write_raster(tmp_path / "scene.tif", rng.integers(0, 255, (3, 256, 256), dtype=np.uint8))


def zones_file(tmp_path, features):
    p = tmp_path / "zones.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return p


def test_missing_file(monkeypatch, capsys, tmp_path):
    out = tmp_path / "res"
    code, _, err = run(monkeypatch, capsys, "count", tmp_path / "nope.tif", "--out", out, "-q")
    assert_user_error(code, err, "not found", out)


def test_text_file_named_tif(monkeypatch, capsys, tmp_path):
    fake = tmp_path / "fake.tif"
    fake.write_text("this is not an image\n")
    out = tmp_path / "res"
    code, _, err = run(monkeypatch, capsys, "count", fake, "--out", out, "-q")
    assert_user_error(code, err, "not a raster", out)


def test_truncated_geotiff(monkeypatch, capsys, tmp_path):
    rng = np.random.default_rng(0)
    path = write_raster(tmp_path / "t.tif", rng.integers(0, 255, (3, 1024, 1024), dtype=np.uint8),
                        tiled=True, blockxsize=256, blockysize=256)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 6 // 10])
    out = tmp_path / "res"
    code, _, err = run(monkeypatch, capsys, "count", path, "--out", out, "-q")
    assert_user_error(code, err, "truncated or corrupt", out)


def test_no_crs_and_no_gsd(monkeypatch, capsys, tmp_path):
    from PIL import Image
    png = tmp_path / "plain.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(png)
    out = tmp_path / "res"
    code, _, err = run(monkeypatch, capsys, "count", png, "--out", out, "-q")
    assert_user_error(code, err, "--gsd", out)


def test_zones_that_do_not_overlap(monkeypatch, capsys, tmp_path, scene):
    z = zones_file(tmp_path, [{"type": "Feature", "properties": {"name": "far"},
                               "geometry": {"type": "Polygon", "coordinates": [[[10, 10], [11, 10], [11, 11], [10, 10]]]}}])
    out = tmp_path / "res"
    code, _, err = run(monkeypatch, capsys, "count", scene, "--zones", z, "--out", out, "-q")
    assert_user_error(code, err, "do not overlap", out)


def test_empty_zones_file(monkeypatch, capsys, tmp_path, scene):
    z = zones_file(tmp_path, [])
    out = tmp_path / "res"
    code, _, err = run(monkeypatch, capsys, "count", scene, "--zones", z, "--out", out, "-q")
    assert_user_error(code, err, "no features", out)


def test_out_is_an_existing_file(monkeypatch, capsys, tmp_path, scene):
    out = tmp_path / "res.txt"
    out.write_text("keep me")
    code, _, err = run(monkeypatch, capsys, "count", scene, "--out", out, "-q")
    assert code == 2 and "existing file" in err and len(err.strip().splitlines()) == 1
    assert out.read_text() == "keep me"


def test_bad_option_value_is_exit_2(monkeypatch, capsys, tmp_path, scene):
    out = tmp_path / "res"
    code, _, err = run(monkeypatch, capsys, "count", scene, "--conf", "lots", "--out", out, "-q")
    assert_user_error(code, err, "--conf", out)


def test_help_reads(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "count", "--help")
    assert code == 0
    for flag in ("--zones", "--out", "--weights", "--gsd", "--model-gsd", "--bands", "--quiet"):
        assert flag in out


@pytest.mark.slow
def test_all_nodata_scene_gives_zero_vehicles(monkeypatch, capsys, tmp_path):
    path = write_raster(tmp_path / "empty.tif", np.zeros((3, 512, 512), np.uint8), nodata=0)
    z = zones_file(tmp_path, [])
    out = tmp_path / "res"
    code, stdout, err = run(monkeypatch, capsys, "count", path, "--out", out)
    assert code == 0, err
    import pandas as pd

    counts = pd.read_csv(out / "counts.csv", keep_default_na=False)
    assert list(counts.columns[:4]) == ["date", "zone", "class", "count"] and (counts["count"] == 0).all()
    # Every pixel is nodata: nothing was imaged, and the table says so rather than 'ok'.
    assert (counts.loc[counts["zone"] == "ALL", "coverage"] == "nothing imaged").all()
    assert {p.name for p in out.iterdir() if not p.name.startswith(".geotally-checkpoint")} == {"detections.gpkg", "detections.geojson", "detections.parquet",
                                               "queues.gpkg", "queues.geojson", "counts.csv", "counts_by_activity.csv", "counts_by_type.csv",
                                               "coverage.csv", "counts_by_size.csv", "summary.json", "report.html",
                                               "manifest.json", "project.qgs", "preview.tif"}
    del z


@pytest.mark.slow
def test_zones_in_another_crs_work(monkeypatch, capsys, tmp_path, scene):
    from pyproj import Transformer
    to_ll = Transformer.from_crs("EPSG:32638", "EPSG:4326", always_xy=True)
    ring = [to_ll.transform(x, y) for x, y in ((500000, 4099872), (500064, 4099872), (500064, 4100000),
                                               (500000, 4100000), (500000, 4099872))]
    z = zones_file(tmp_path, [{"type": "Feature", "properties": {"name": "W"},
                               "geometry": {"type": "Polygon", "coordinates": [ring]}}])
    out = tmp_path / "res"
    code, stdout, err = run(monkeypatch, capsys, "count", scene, "--zones", z, "--out", out, "-q")
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["zones"]["names"] == ["W"]
    assert {r["zone"] for r in summary["counts"]} == {"W", "outside", "ALL"}


@pytest.mark.parametrize("args, fragment", [
    (["count", "{scene}", "--tile-size", "abc"], "'--tile-size'"),
    (["count", "{scene}", "--no-such-option"], "--no-such-option"),
])
def test_bad_options_are_one_line_user_errors(monkeypatch, capsys, tmp_path, scene, args, fragment):
    """Typer/click usage errors (ranges, types, unknown or missing options) exit 2 with one line, not 'internal error'."""
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, *(a.format(out=out, scene=scene) for a in args))
    assert_user_error(code, err, fragment, out)
    assert "--help" in err


@pytest.mark.parametrize("args, fragment", [
    (["synth", "--out", "{out}", "--gsd", "0.1"], "--gsd must be metres from 0.15 to 1"),
    (["synth", "--out", "{out}", "--sun-elevation", "95"], "--sun-elevation must be degrees from 10 to 90"),
    (["demo", "--out", "{out}", "--gsd", "2"], "--gsd must be metres from 0.15 to 1"),
    (["count"], "count needs a SCENE"),
])
def test_values_out_of_range_are_one_line_user_errors(monkeypatch, capsys, tmp_path, args, fragment):
    """Values the API refuses (the synthetic scene's ranges) exit 2 with one line and write nothing."""
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, *(a.format(out=out) for a in args))
    assert_user_error(code, err, fragment, out)


@pytest.mark.parametrize("args, fragment", [
    (["count", "{scene}", "--out", "{out}", "--dask", "local:x"], "local:N"),
    (["count", "{scene}", "--out", "{out}", "--dask", "nonsense"], "Dask scheduler"),
    (["count", "{scene}", "--out", "{out}", "--workers", "0"], "--workers"),
    (["count", "{scene}", "--out", "{out}", "--weights", "{text}"], "not a loadable"),
    (["evaluate", "{text}", "{text}", "-o", "{out}"], "detections file"),
])
def test_bad_run_settings_and_files_leave_nothing_behind(monkeypatch, capsys, tmp_path, scene, args, fragment):
    """Failures after the checkpoint is opened but before any tile is done remove it and the folder it made."""
    out, text = tmp_path / "out", tmp_path / "weights.json"
    text.write_text("not a model, not vector data")
    code, _, err = run(monkeypatch, capsys, *(a.format(out=out, scene=scene, text=text) for a in args))
    assert_user_error(code, err, fragment, out)
