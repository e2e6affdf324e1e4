"""Analysis without detecting again: thresholds, zones, border and queue rules change on a finished run
from its stored detections, with exactly the result a fresh detection would give."""

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import geotally.api
import geotally.config
from conftest import assert_user_error, run

FAST = ["--tile-size", "512", "--overlap", "64", "-q"]


def reseal(folder, name):
    """Rewrite one file's entry in the folder's manifest, as the run that wrote the file would have."""
    import hashlib

    man = json.loads((folder / "manifest.json").read_text())
    data = (folder / name).read_bytes()
    man["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (folder / "manifest.json").write_text(json.dumps(man))


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
    used = json.loads((first / "summary.json").read_text())["parameters"]["conf"]  # the model's own
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
    summary = json.loads((first / "summary.json").read_text())
    assert summary["parameters"]["conf"]["small_vehicle"] == 0.5
    assert summary["recount"]["changed"]["conf"]["from"] == used  # what the run used, not null


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
    code, _, err = run(monkeypatch, capsys, "recount", first, "--queue-min", "40")
    assert code == 0 and "changed: " in err and "resuming" not in err, err  # a recount resumes nothing: it reads back


def test_a_conf_below_the_score_floor_needs_fresh_detection(first, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "recount", first, "--conf", "0.05")
    assert_user_error(code, err, "below the score floor")
    assert "count the scenes again" in err and "--fresh" not in err  # recount has no --fresh


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
    del s["config"]  # an older run recorded no config
    (old / "summary.json").write_text(json.dumps(s))
    reseal(old, "summary.json")  # as that older run sealed it
    code, _, err = run(monkeypatch, capsys, "recount", old)
    assert code == 0, err
    q = json.loads((old / "summary.json").read_text())["parameters"]["queue"]
    assert q["standing_gap"] == 7.0 and q["min_vehicles"] == 5 and "max_median_gap" not in q


# Every option recount can change from the CLI, alone, with a value other than the run's own: the
# config field it sets (dotted for a nested parameter), and the value as the config holds it.
RECOUNT_OPTIONS = [
    (["--queue-gap", "30"], "queue.max_gap", 30.0),
    (["--queue-min", "5"], "queue.min_vehicles", 5),
    (["--stationary-radius", "3"], "stationary.radius_m", 3.0),
    (["--size-thresholds", "5,9,13"], "size_thresholds", [5.0, 9.0, 13.0]),
    (["--distance-bands", "0,100"], "distance_bands", [0.0, 100.0]),
    (["--conf", "0.3"], "conf", 0.3),
    (["--claim", "TR=10"], "claim", {"TR": 10.0}),
    (["--claim", "TR=10", "--claim-class", "small_vehicle"], "claim_class", "small_vehicle"),
    (["--sides", "A,B"], "sides", ["A", "B"]),
    (["--export", "kml"], "export", ["kml"]),
    (["--basemap", "https://tiles.example.org/{z}/{x}/{y}.png"], "basemap", "https://tiles.example.org/{z}/{x}/{y}.png"),
    (["--roads", "{roads}"], "roads", "{roads}"),
    (["--roads", "{roads}", "--road-distance", "9"], "road.distance_m", 9.0),
    (["--roads", "{roads}", "--on-road-only"], "on_road_only", True),
]


def _flat(cfg: dict) -> dict:
    """A stored config with nested parameter objects flattened to dotted names."""
    out = {}
    for k, v in cfg.items():
        if isinstance(v, dict) and k not in ("claim", "conf"):
            out.update({f"{k}.{s}": w for s, w in v.items()})
        else:
            out[k] = v
    return out


@pytest.fixture(scope="module")
def tuned(border_scene, tmp_path_factory):
    """A run whose nested parameters are not the defaults, so a recount that rebuilt them from the
    defaults (instead of from the run) would show."""
    out = tmp_path_factory.mktemp("tuned") / "res"
    geotally.count_scenes([border_scene["scene"]], out=out, tile_size=512, overlap=64, border=border_scene["border"],
                          sides=("TR", "IQ"), queue=geotally.config.QueueParams(max_gap=20.0, min_vehicles=6),
                          stationary=geotally.config.StationaryParams(radius_m=2.5))
    return out


@pytest.mark.parametrize("args, key, value", RECOUNT_OPTIONS, ids=[" ".join(a[-2:]) for a, _, _ in RECOUNT_OPTIONS])
def test_recount_changes_one_option_and_keeps_every_other(tuned, border_scene, tmp_path, monkeypatch, capsys,
                                                          no_detection, args, key, value):
    """Each recountable option alone: that value changes, every other stored value (nested ones
    included) survives, and summary.json lists exactly what changed."""
    import shutil

    folder = tmp_path / "res"
    shutil.copytree(tuned, folder)
    before = _flat(json.loads((folder / "summary.json").read_text())["config"])
    roads = border_scene["roads"]
    code, _, err = run(monkeypatch, capsys, "recount", folder, *(a.replace("{roads}", roads) for a in args), "-q")
    assert code == 0, err
    summary = json.loads((folder / "summary.json").read_text())
    after = _flat(summary["config"])
    value = str(__import__("pathlib").Path(roads).resolve()) if value == "{roads}" else value
    assert after[key] == value
    changed = {k for k in after if after[k] != before[k]}
    assert key in changed
    assert changed <= {key, "roads", "claim"}, changed  # what the option needs may change with it
    assert set(summary["recount"]["changed"]) == changed
    assert summary["parameters"]["queue"]["max_gap"] == (30.0 if key == "queue.max_gap" else 20.0)
    assert summary["parameters"]["queue"]["min_vehicles"] == (5 if key == "queue.min_vehicles" else 6)
    assert summary["parameters"]["stationary"]["radius_m"] == (3.0 if key == "stationary.radius_m" else 2.5)


def test_recount_refuses_an_edited_summary(first, tmp_path, monkeypatch, capsys, no_detection):
    """An edited summary.json is refused with one line, and the folder is left as it was (not re-sealed)."""
    import shutil

    folder = tmp_path / "res"
    shutil.copytree(first, folder)
    s = json.loads((folder / "summary.json").read_text())
    s["config"]["conf"] = 0.9
    (folder / "summary.json").write_text(json.dumps(s))
    manifest = (folder / "manifest.json").read_bytes()
    code, _, err = run(monkeypatch, capsys, "recount", folder)
    assert_user_error(code, err, "summary.json is not the file its run wrote")
    assert (folder / "manifest.json").read_bytes() == manifest


def test_a_checkpoint_that_cannot_serve_says_to_count_again_not_to_recount_with_fresh(first, tmp_path, monkeypatch,
                                                                                      capsys):
    import shutil

    copy = tmp_path / "res"
    shutil.copytree(first, copy)
    (ckpt,) = copy.glob(".geotally-checkpoint*.sqlite")
    ckpt.write_bytes(b"not a database at all" * 100)  # damaged (an interrupted count --fresh leaves one of other parameters: the same error)
    code, _, err = run(monkeypatch, capsys, "recount", copy, "--queue-gap", "30")
    assert_user_error(code, err, "is damaged")
    assert "recount:" in err and "count the scenes again" in err and "rerun with --fresh" not in err


def test_a_zones_file_edited_since_the_count_is_recorded_as_a_change(border_scene, first, tmp_path, monkeypatch,
                                                                    capsys, no_detection):
    """The run's zones file, edited in place after the count: the recount used the new zones and
    recorded "changed": {}. Now the edit is a change like an option's, printed and in summary.json."""
    import shutil

    import geopandas as gpd

    res = tmp_path / "res"
    shutil.copytree(first, res)
    zones = tmp_path / "sides.geojson"
    shutil.copy(border_scene["sides"], zones)
    code, _, err = run(monkeypatch, capsys, "recount", res, "--zones", zones, "-q")
    assert code == 0, err
    z = gpd.read_file(zones)
    z.loc[z["name"] == "TR", "name"] = "TRX"
    z.to_file(zones)
    code, _, err = run(monkeypatch, capsys, "recount", res)
    assert code == 0, err
    assert "changed: zones file sha256 " in err and "(edited since the count)" in err, err
    summary = json.loads((res / "summary.json").read_text())
    assert summary["recount"]["changed"]["zones file"]["to"].startswith("sha256 ")
    assert "TRX" in set(pd.read_csv(res / "counts.csv")["zone"])
    code, _, err = run(monkeypatch, capsys, "recount", res)  # the run now records the edited file: no change
    assert code == 0 and "zones file" not in err, err
