"""Outputs say what was done: counts are 'corrected' only where the calibration gave an estimate, and
`evaluate` scores every detections file a run writes (GeoPackage, WGS84 GeoJSON, GeoParquet) alike."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from conftest import noise_scene, run


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return noise_scene(tmp_path_factory.mktemp("states") / "scene.tif")


def _calibration(path, groups: dict[str, int]):
    """A calibration whose classes come from that many scene groups (fewer than 3: no interval)."""
    from geotally.analysis.calibration import Calibration, ClassCalibration

    def cls(k):
        return ClassCalibration([40] * k, [35, 30, 33][:k], [2, 1, 0][:k], ["a", "b", "c"][:k])

    Calibration({c: cls(k) for c, k in groups.items()}).save(path)
    return path


def _header(folder) -> str:
    html = (folder / "report.html").read_text()
    return re.search(r"<header>.*?</header>", html, re.S).group(0)


@pytest.mark.parametrize("groups, corrected", [
    ({"small_vehicle": 2, "large_vehicle": 2}, []),  # no interval for any class
    ({"small_vehicle": 3, "large_vehicle": 2}, ["small_vehicle"]),
    ({"small_vehicle": 3, "large_vehicle": 3}, ["small_vehicle", "large_vehicle"]),
])
def test_counts_are_called_corrected_only_where_an_estimate_was_made(groups, corrected, scene, tmp_path, monkeypatch,
                                                                      capsys):
    import pandas as pd

    cal = _calibration(tmp_path / "cal.json", groups)
    out = tmp_path / "res"
    code, text, err = run(monkeypatch, capsys, "count", scene, "--calibration", cal, "--out", out)
    assert code == 0, err
    counts = pd.read_csv(out / "counts.csv")
    with_estimate = sorted(set(counts.loc[counts["estimate"].notna(), "class"]))
    assert with_estimate == sorted(corrected)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts_corrected"] is bool(corrected)
    header = _header(out)
    for command in ([], ["report", out]):  # the count's report, and the one report writes again
        if command:
            assert run(monkeypatch, capsys, *command)[0] == 0
            header = _header(out)
        if corrected:
            assert "corrected by the calibration" in header
            raw = sorted(set(groups) - set(corrected))
            assert all(c in header for c in raw) and ("are raw" in header) == bool(raw)
        else:
            assert "corrected by" not in header and "raw detector counts" in header
            assert "the calibration gives no interval" in header
    if corrected:
        assert "corrected with the calibration" in summary["note"]
    else:
        assert "not corrected" in summary["note"] and "gives no interval" in summary["note"]
        said = " ".join(text.split())  # the terminal table's title wraps
        assert "estimate [95% interval]" not in said and "uncorrected: the calibration gives no interval" in said


@pytest.fixture(scope="module")
def counted_crossing(tmp_path_factory):
    """A small generated crossing with trucks and cars, counted: (results folder, truth file)."""
    import geotally
    from geotally.synth import LayoutParams, SynthParams, write_scene

    tmp = tmp_path_factory.mktemp("crossing")
    lp = LayoutParams(width_m=100, height_m=300, queue={"TR": 4}, depot={}, cars_road=3, cars_park=0, seed=1)
    made = write_scene(tmp / "scene", SynthParams(layout=lp))
    geotally.count_scenes([made["scene"]], out=tmp / "res")
    return tmp / "res", made["truth"]


def test_evaluate_scores_every_detections_file_alike(counted_crossing, tmp_path, monkeypatch, capsys):
    res, truth = counted_crossing
    loose = tmp_path / "loose"
    loose.mkdir()
    shutil.copy(res / "detections.geojson", loose)  # WGS84, with no run beside it
    scores = {}
    for name, given in (("folder", res), ("gpkg", res / "detections.gpkg"), ("geojson", res / "detections.geojson"),
                        ("parquet", res / "detections.parquet"), ("loose geojson", loose / "detections.geojson")):
        report = tmp_path / f"{name}.json"
        code, _, err = run(monkeypatch, capsys, "evaluate", given, truth, "-o", report)
        assert code == 0, (name, err)
        scores[name] = {c: {k: v[k] for k in ("tp", "fp", "fn", "n_truth", "n_detected")}
                        for c, v in json.loads(report.read_text())["per_class"].items()}
    assert scores["folder"]["large_vehicle"]["tp"] >= 3  # the trucks were found, so the comparison means something
    assert all(s == scores["folder"] for s in scores.values()), scores
