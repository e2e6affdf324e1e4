"""An option that has no effect without another, or that another overrides, is a one-line error."""

import json

import pytest

from conftest import assert_user_error, noise_scene, run, write_raster


@pytest.fixture
def scene(tmp_path):
    return noise_scene(tmp_path / "scene.tif")


@pytest.mark.parametrize("args, fragment", [
    (["--sides", "TR,IQ"], "--sides has no effect without --border"),
    (["--zone-field", "NAME"], "--zone-field has no effect without --zones"),
    (["--claim-class", "small_vehicle"], "--claim-class has no effect without --claim"),
    (["--distance-bands", "0,100"], "--distance-bands has no effect without --border"),
    (["--model", "yolov8n-obb-dota", "--weights", "x.pt"], "--model and --weights cannot be used together"),
    (["--dask", "local:1", "--workers", "2"], "--dask and --workers cannot be used together"),
    (["--dask", "local:1", "--threads", "1"], "--dask and --threads cannot be used together"),
    (["--no-trailer-types", "--claim", "ALL=5", "--claim-class", "tanker"],
     "--claim-class tanker needs the trailer types that --no-trailer-types turns off"),
])
def test_count(args, fragment, scene, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", scene, *args, "--out", out)
    assert_user_error(code, err, fragment, out)


def test_sides_without_border_in_the_api(scene):
    import geotally
    from geotally.errors import GeotallyError

    with pytest.raises(GeotallyError, match="--border"):
        geotally.count(scene, sides=("TR", "IQ"))


def test_basemap_needs_a_crs(tmp_path, monkeypatch, capsys):
    import numpy as np

    png = write_raster(tmp_path / "p.png", np.zeros((3, 64, 64), np.uint8), driver="PNG", crs=None, transform=None)
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", png, "--gsd", "0.3", "--basemap",
                       "https://t.example.org/{z}/{x}/{y}.png", "--out", out)
    assert_user_error(code, err, "--basemap needs a georeferenced scene", out)


def test_evaluate_radius_and_iou(tmp_path, monkeypatch, capsys):
    t = tmp_path / "t.geojson"
    t.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    code, _, err = run(monkeypatch, capsys, "evaluate", t, t, "--radius", "2", "--iou", "0.3")
    assert_user_error(code, err, "--radius and --iou")


def test_train_val_gsds_without_val(tmp_path, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "train", tmp_path, "--name", "x", "--val-gsds", "0.3")
    assert_user_error(code, err, "--val-gsds has no effect")


def test_synth_start_date_without_dates(tmp_path, monkeypatch, capsys):
    out = tmp_path / "s"
    code, _, err = run(monkeypatch, capsys, "synth", "--out", out, "--start-date", "2026-01-01")
    assert_user_error(code, err, "--start-date has no effect", out)


@pytest.mark.parametrize("args, fragment", [
    (["--claim", "XX=5"], "not a zone of this run"),
    (["--claim", "ALL=5", "--claim-class", "plane"], "--claim-class must be one of"),
])
def test_claims_name_zones_and_classes_of_the_run(args, fragment, scene, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", scene, *args, "--out", out)
    assert_user_error(code, err, fragment, out)


def test_train_unknown_pseudo_teacher(tmp_path, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "train", tmp_path, "--name", "x", "--pseudo-teacher", "no-such-model")
    assert_user_error(code, err, "unknown model 'no-such-model'")


def test_train_mask_score_large_out_of_range(tmp_path, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "train", tmp_path, "--name", "x", "--mask-score-large", "0")
    assert_user_error(code, err, "--mask-score-large must be a detection score")


def test_train_only_takes_angle(tmp_path, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "train", tmp_path, "--name", "x", "--train-only", "head")
    assert_user_error(code, err, "--train-only takes 'angle'")


def test_train_lr0_out_of_range(tmp_path, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "train", tmp_path, "--name", "x", "--lr0", "0")
    assert_user_error(code, err, "--lr0 must be a learning rate")


@pytest.mark.parametrize("claim, fragment", [
    ("TR=4,530", "write counts without a thousands separator (4530, not 4,530)"),
    ("tr=18", "(did you mean 'TR'? names are matched exactly); zones: IQ, TR, ALL, outside"),
])
def test_claim_mistakes_are_named(claim, fragment, border_scene, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", border_scene["scene"], "--border", border_scene["border"],
                       "--sides", "TR,IQ", "--claim", claim, "--out", out)
    assert_user_error(code, err, fragment, out)
