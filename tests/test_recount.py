"""Analysis without detecting again: thresholds, zones, border and queue rules change on a finished run
from its stored detections, with exactly the result a fresh detection would give."""

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import geotally.api
from conftest import assert_user_error, run

FAST = ["--tile-size", "512", "--overlap", "64", "-q"]


def _det(out):
    d = gpd.read_file(out / "detections.gpkg")
    return d.sort_values(["lon", "lat"]).reset_index(drop=True)


@pytest.fixture
def no_detection(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("a tile was detected again")
    import geotally.detect.run as run_mod

    monkeypatch.setattr(run_mod, "detect_tiles", refuse)


@pytest.fixture(scope="module")
def first(border_scene, tmp_path_factory):
    out = tmp_path_factory.mktemp("recount") / "res"
    geotally.count_scenes([border_scene["scene"]], out=out, tile_size=512, overlap=64,
                          border=border_scene["border"], sides=("TR", "IQ"))
    return out


def test_a_new_conf_on_a_finished_run_equals_a_fresh_detection(border_scene, first, tmp_path, monkeypatch, capsys,
                                                               no_detection):
    code, _, err = run(monkeypatch, capsys, "recount", first, "--conf", "large_vehicle=0.4,small_vehicle=0.5")
    assert code == 0, err
    monkeypatch.undo()  # the fresh run detects
    fresh = tmp_path / "fresh"
    code, _, err = run(monkeypatch, capsys, "count", border_scene["scene"], "--border", border_scene["border"],
                       "--sides", "TR,IQ", "--conf", "large_vehicle=0.4,small_vehicle=0.5", "--out", fresh, *FAST)
    assert code == 0, err
    a, b = _det(first), _det(fresh)
    assert len(a) == len(b) and len(a) > 10
    assert np.allclose(a["score"], b["score"]) and (a["class"] == b["class"]).all()
    pd.testing.assert_frame_equal(pd.read_csv(first / "counts.csv"), pd.read_csv(fresh / "counts.csv"))
    assert json.loads((first / "summary.json").read_text())["parameters"]["conf"]["small_vehicle"] == 0.5


def test_count_into_the_same_folder_with_another_conf_resumes(border_scene, tmp_path, monkeypatch, capsys):
    out = tmp_path / "res"
    assert run(monkeypatch, capsys, "count", border_scene["scene"], "--out", out, *FAST)[0] == 0
    n_default = len(_det(out))
    code, _, err = run(monkeypatch, capsys, "count", border_scene["scene"], "--out", out, "--conf", "0.6",
                       "--tile-size", "512", "--overlap", "64")
    assert code == 0, err
    assert "resuming" in err and len(_det(out)) < n_default


def test_recount_changes_zones_and_queue_rules(border_scene, first, monkeypatch, capsys, no_detection):
    code, _, err = run(monkeypatch, capsys, "recount", first, "--zones", border_scene["sides"], "--queue-min", "50",
                       "-q")
    assert code == 0, err
    summary = json.loads((first / "summary.json").read_text())
    assert summary["queues"]["count"] == 0  # no queue of 50 in the scene
    assert summary["inputs"]["zones"].endswith("sides.geojson")
    assert set(pd.read_csv(first / "counts.csv")["zone"]) >= {"TR", "IQ"}


def test_a_conf_below_the_score_floor_needs_fresh_detection(first, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "recount", first, "--conf", "0.05")
    assert_user_error(code, err, "--fresh")


def test_report_rebuilds_and_show_prints(first, monkeypatch, capsys, no_detection):
    (first / "report.html").unlink()
    # a folder with a missing file is not a complete run: show refuses it, report rebuilds it
    code, _, err = run(monkeypatch, capsys, "show", first)
    assert_user_error(code, err, "report.html")
    code, _, err = run(monkeypatch, capsys, "report", first, "-q")
    assert code == 0, err
    assert (first / "report.html").stat().st_size > 10_000
    code, stdout, err = run(monkeypatch, capsys, "show", first)
    assert code == 0, err
    counts = pd.read_csv(first / "counts.csv")
    all_large = counts[(counts["zone"] == "ALL") & (counts["class"] == "large_vehicle")]["count"].iloc[0]
    assert f"{all_large}" in stdout and "sha256" in stdout and "provenance" in stdout


def test_recount_of_a_folder_that_is_not_results(tmp_path, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "recount", tmp_path)
    assert_user_error(code, err, "not a geotally results folder")


def test_a_run_from_before_the_wide_gap_rule_recounts_with_its_own_queue_settings(first, tmp_path, monkeypatch,
                                                                                  capsys, no_detection):
    """Runs written before `standing_gap` / `max_wide_share` recorded the standing gap as
    `max_median_gap` (and queues of 5): recount reads it as the standing gap and keeps the run's 5."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(first, old)
    s = json.loads((old / "summary.json").read_text())
    q = s["parameters"]["queue"]
    q.pop("standing_gap"), q.pop("max_wide_share")
    q.update(max_median_gap=7.0, min_vehicles=5)
    (old / "summary.json").write_text(json.dumps(s))
    code, _, err = run(monkeypatch, capsys, "recount", old)
    assert code == 0, err
    q = json.loads((old / "summary.json").read_text())["parameters"]["queue"]
    assert q["standing_gap"] == 7.0 and q["min_vehicles"] == 5 and "max_median_gap" not in q
