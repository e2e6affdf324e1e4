"""Mistakes that are the user's exit 2 with one line on stderr (not exit 1, not a traceback, not three
lines of library warnings), each saying what to fix."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_user_error, noise_scene, run, scene_box, write_raster


@pytest.fixture
def scene(tmp_path):
    return noise_scene(tmp_path / "scene.tif")


def _line_file(path, coords):
    path.write_text(json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:32638"}},
                                "features": [{"type": "Feature", "properties": {},
                                              "geometry": {"type": "LineString", "coordinates": coords}}]}))
    return path


def test_border_with_two_identical_vertices(scene, tmp_path, monkeypatch, capsys):
    border = _line_file(tmp_path / "b.geojson", [[500064, 4099950], [500064, 4099950]])
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", scene, "--border", border, "--out", out)
    assert_user_error(code, err, "two distinct vertices", out)


def test_border_with_a_repeated_vertex_still_splits(scene, tmp_path, monkeypatch, capsys):
    border = _line_file(tmp_path / "b.geojson", [[500064, 4100010], [500064, 4100010], [500064, 4099900]])
    code, _, err = run(monkeypatch, capsys, "count", scene, "--border", border, "--sides", "TR,IQ",
                       "--out", tmp_path / "out", "-q")
    assert code == 0, err


def _unwritable(tmp_path) -> Path:
    """A folder this process cannot write in (root ignores permissions, but not sysfs)."""
    if os.geteuid() == 0:
        return Path("/sys")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    return ro


def test_out_in_a_read_only_folder(scene, tmp_path, monkeypatch, capsys):
    out = _unwritable(tmp_path) / "geotally-out"
    code, _, err = run(monkeypatch, capsys, "count", scene, "--out", out)
    assert_user_error(code, err, "cannot write", out)


def test_corrupt_checkpoint_says_fresh(scene, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    assert run(monkeypatch, capsys, "count", scene, "--out", out, "-q")[0] == 0
    ck = next(out.glob(".geotally-checkpoint-*.sqlite"))
    ck.write_bytes(b"this is not sqlite" * 100)
    code, _, err = run(monkeypatch, capsys, "count", scene, "--out", out)
    assert_user_error(code, err, "--fresh")
    assert run(monkeypatch, capsys, "count", scene, "--out", out, "--fresh", "-q")[0] == 0


def test_checkpoint_with_a_damaged_row(scene, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    assert run(monkeypatch, capsys, "count", scene, "--out", out, "-q")[0] == 0
    ck = next(out.glob(".geotally-checkpoint-*.sqlite"))
    with sqlite3.connect(ck) as db:
        db.execute("UPDATE tiles SET n = n + 3")
    code, _, err = run(monkeypatch, capsys, "count", scene, "--out", out)
    assert_user_error(code, err, "--fresh")


def test_dask_without_distributed(scene, tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else real(name, *a))
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", scene, "--dask", "local:1", "--out", out)
    assert_user_error(code, err, "geotally[dask]", out)


@pytest.mark.parametrize("doc, fragment", [
    ({"type": "Feature", "id": "a", "assets": {"visual": {"roles": ["data"]}}}, "has no href"),
    ([{"type": "Feature"}], "not a STAC Item"),
    ({"type": "FeatureCollection", "features": "x"}, "not a STAC Item"),
])
def test_bad_stac(doc, fragment, tmp_path, monkeypatch, capsys):
    p = tmp_path / "items.json"
    p.write_text(json.dumps(doc))
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", p, "--out", out)
    assert_user_error(code, err, fragment, out)


@pytest.mark.parametrize("how", ["file", "unwritable"])
def test_cache_dir_unusable(how, scene, tmp_path, monkeypatch, capsys):
    if how == "file":
        cache = tmp_path / "cache-file"
        cache.write_text("x")
    else:
        cache = _unwritable(tmp_path) / "geotally-cache"
    monkeypatch.setenv("GEOTALLY_CACHE_DIR", str(cache))
    # the shipped default runs from the package: an unusable cache does not matter
    code, _, err = run(monkeypatch, capsys, "count", scene, "--out", tmp_path / "ok", "-q")
    assert code == 0, err
    # a model that must be fetched into the cache says which folder and what to set
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", scene, "--model", "yolov8n-obb-dota", "--out", out)
    assert_user_error(code, err, "GEOTALLY_CACHE_DIR", out)


def _results(tmp_path, monkeypatch, capsys, scene) -> Path:
    out = tmp_path / "res"
    assert run(monkeypatch, capsys, "count", scene, "--out", out, "-q")[0] == 0
    return out


def _truth(tmp_path, geometry, props=None) -> Path:
    p = tmp_path / "truth.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:32638"}},
                             "features": [{"type": "Feature", "properties": props or {"class": "car"},
                                           "geometry": geometry}]}))
    return p


def test_evaluate_detections_without_a_scene_field(tmp_path, monkeypatch, capsys):
    det = tmp_path / "det.geojson"
    det.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"class": "small_vehicle", "score": 0.9},
         "geometry": {"type": "Point", "coordinates": [44.0, 37.0]}}]}))
    truth = _truth(tmp_path, {"type": "Point", "coordinates": [500010, 4099990]})
    code, _, err = run(monkeypatch, capsys, "evaluate", det, truth, "-o", tmp_path / "e.json")
    assert_user_error(code, err, "'scene' field")


@pytest.mark.parametrize("row, kind", [("0 0.5 0.5 0.1", "yolo"), ("a b c d e", "yolo"),
                                       ("1 2 3 4 5 6 x 8 car 0", "dota")])
def test_evaluate_bad_label_rows(row, kind, scene, tmp_path, monkeypatch, capsys):
    res = _results(tmp_path, monkeypatch, capsys, scene)
    labels = tmp_path / "labels"
    labels.mkdir()
    if kind == "yolo":
        (labels / "classes.names").write_text("car\n")
        (labels / "scene.txt").write_text(row + "\n")
    else:
        (labels / "scene.txt").write_text("imagesource:x\ngsd:0.5\n" + row + "\n")
    code, _, err = run(monkeypatch, capsys, "evaluate", res, labels, "-o", tmp_path / "e.json")
    assert_user_error(code, err, "row")


@pytest.mark.parametrize("where", ["folder", "missing-folder"])
def test_evaluate_and_calibrate_output_paths(where, scene, tmp_path, monkeypatch, capsys):
    res = _results(tmp_path, monkeypatch, capsys, scene)
    truth = _truth(tmp_path, {"type": "Point", "coordinates": [500010, 4099990]})
    target = tmp_path if where == "folder" else tmp_path / "nope" / "e.json"
    code, _, err = run(monkeypatch, capsys, "evaluate", res, truth, "-o", target)
    assert_user_error(code, err, "-o")
    ok = tmp_path / "e.json"
    assert run(monkeypatch, capsys, "evaluate", res, truth, "-o", ok)[0] == 0
    code, _, err = run(monkeypatch, capsys, "calibrate", ok, "-o", target)
    assert_user_error(code, err, "-o")


@pytest.mark.parametrize("doc", [[], {"per_image": "x"}, {"per_image": [{"class": "car", "n_truth": "ten",
                                                                          "tp": 1, "fp": 0}]},
                                 {"per_image": [{"class": "car", "n_truth": 3, "tp": 1}]}, "text"])
def test_calibrate_bad_evaluations(doc, tmp_path, monkeypatch, capsys):
    p = tmp_path / "e.json"
    p.write_text(json.dumps(doc))
    code, _, err = run(monkeypatch, capsys, "calibrate", p, "-o", tmp_path / "c.json")
    assert_user_error(code, err, str(p.name))
    assert not (tmp_path / "c.json").exists()


@pytest.mark.parametrize("case", ["no-georeference", "degenerate-border"])
def test_stderr_is_one_line_with_library_warnings_on(case, scene, tmp_path):
    """Run as a user would, with every warning shown: a scene without georeference and no --gsd, or a
    border whose two vertices are one point (numpy and GEOS warnings before the error, on main)."""
    if case == "no-georeference":
        png = tmp_path / "plain.png"
        write_raster(png, np.zeros((3, 64, 64), np.uint8), driver="PNG", crs=None, transform=None)
        args, fragment = [str(png)], "--gsd"
    else:
        border = _line_file(tmp_path / "b.geojson", [[500064, 4099950], [500064, 4099950]])
        args, fragment = [str(scene), "--border", str(border)], "border"
    env = dict(os.environ, PYTHONWARNINGS="always")
    done = subprocess.run([sys.executable, "-W", "always", "-m", "geotally.cli", "count", *args, "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, env=env)
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert fragment in lines[0]


def test_backend_ultralytics_with_an_unusable_cache(scene, tmp_path, monkeypatch, capsys):
    """The shipped model's .pt runs in place, and Ultralytics' settings go to a temporary folder."""
    pytest.importorskip("ultralytics", reason="--backend ultralytics needs the train extra")
    cache = tmp_path / "cache-file"
    cache.write_text("x")
    monkeypatch.setenv("GEOTALLY_CACHE_DIR", str(cache))
    monkeypatch.delenv("YOLO_CONFIG_DIR", raising=False)
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", scene, "--backend", "ultralytics", "--tile-size", "640",
                       "--out", out, "-q")
    assert code == 0, err
    assert json.loads((out / "summary.json").read_text())["model"]["run_file"].endswith(".pt")
