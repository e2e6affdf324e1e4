"""Values of the wrong type given to the Python API: what a user means is accepted (a whole-number
float where a count is asked, one path or value where several may be given, a dict of some of a
nested config's values), and anything else is refused with the one-line GeotallyError the CLI gives,
never a TypeError, AttributeError or ValueError from inside a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import geotally
from conftest import noise_scene, run
from geotally.config import CountConfig, QueueParams, SearchParams, StationaryParams
from geotally.errors import GeotallyError


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Path:
    return noise_scene(tmp_path_factory.mktemp("types") / "scene.tif")


@pytest.fixture(scope="module")
def results(border_scene, tmp_path_factory) -> Path:
    """A finished results folder with detections, for recount and evaluate."""
    out = tmp_path_factory.mktemp("types") / "res"
    geotally.count(border_scene["scene"], out=out, tile_size=512, overlap=64)
    return out


def _config(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())["config"]


def _one_line(exc: pytest.ExceptionInfo, fragment: str) -> None:
    assert fragment in str(exc.value) and "\n" not in str(exc.value), str(exc.value)


@pytest.mark.parametrize("options, fragment", [
    ({"conf": "abc"}, "--conf takes a number or class=number pairs, got 'abc'"),
    ({"conf": {"large_vehicle": "x"}}, "--conf takes a number or class=number pairs"),
    ({"claim": "TR=5"}, "--claim takes ZONE=COUNT pairs"),
    ({"size_thresholds": 5}, "--size-thresholds takes 3 increasing numbers"),
    ({"size_thresholds": None}, "--size-thresholds takes 3 increasing numbers, got None"),
    ({"border": "b.geojson", "distance_bands": "far"}, "--distance-bands takes increasing numbers"),
    ({"border": "b.geojson", "sides": "AB"}, "--sides takes two names"),
    ({"queue": 5}, "queue takes a QueueParams or a dict of its values"),
    ({"export": None}, "--export takes kml, got None"),
    ({"export": "pdf"}, "--export takes kml, got 'pdf'"),
])
def test_a_wrong_type_is_one_line_before_any_work(options, fragment, tmp_path):
    (tmp_path / "scene.tif").write_bytes(b"not read: the options are checked first")
    (tmp_path / "b.geojson").write_text("{}")
    options = {k: tmp_path / v if k == "border" else v for k, v in options.items()}
    with pytest.raises(GeotallyError) as exc:
        geotally.count(tmp_path / "scene.tif", out=tmp_path / "out", **options)
    _one_line(exc, fragment)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("changes, fragment", [
    ({"conf": "abc"}, "--conf takes a number or class=number pairs, got 'abc'"),
    ({"conf": {"large_vehicle": "x"}}, "--conf takes a number or class=number pairs"),
    ({"claim": "TR=5"}, "--claim takes ZONE=COUNT pairs"),
    ({"size_thresholds": 5}, "--size-thresholds takes 3 increasing numbers"),
])
def test_recount_refuses_a_wrong_type_in_one_line(changes, fragment, results):
    before = (results / "summary.json").read_text()
    with pytest.raises(GeotallyError) as exc:
        geotally.recount(results, **changes)
    _one_line(exc, fragment)
    assert (results / "summary.json").read_text() == before


def test_whole_number_floats_are_counts(scene, tmp_path):
    out = tmp_path / "out"
    geotally.count(scene, out=out, batch=2.0, tile_size=640.0, threads=2.0, workers=2.0, overlap=64.0)
    cfg = _config(out)
    for name, value in (("batch", 2), ("tile_size", 640), ("threads", 2), ("workers", 2), ("overlap", 64)):
        assert cfg[name] == value and isinstance(cfg[name], int), name
    assert CountConfig.of(bands=[3.0, 2.0, 1.0]).bands == (3, 2, 1)
    with pytest.raises(GeotallyError, match="--batch must be a whole number from 1 to 256, got 2.5"):
        CountConfig.of(batch=2.5).validate()
    assert QueueParams(min_vehicles=5.0).min_vehicles.__class__ is int
    assert StationaryParams(min_support=3.0).min_support.__class__ is int
    assert SearchParams(max_items=4.0).max_items.__class__ is int


def test_one_value_where_several_may_be_given(scene, tmp_path):
    cfg = CountConfig.of(bands=3, distance_bands=500, export="kml", size_thresholds=[6, 10, 14])
    assert (cfg.bands, cfg.distance_bands, cfg.export, cfg.size_thresholds) == ((3,), (500,), ("kml",), (6, 10, 14))
    assert SearchParams(collections="sentinel-2-l2a").collections == ("sentinel-2-l2a",)
    with pytest.raises(GeotallyError, match="count needs a SCENE"):
        geotally.count([], out=tmp_path / "none")  # a list to count() is a list of scenes (it was one name)
    out = tmp_path / "out"
    geotally.count_scenes(str(scene), out=out, export="kml")
    assert json.loads((out / "summary.json").read_text())["inputs"]["scenes"] == [str(scene)]
    assert _config(out)["export"] == ["kml"] and list(out.glob("*.kml"))


def test_a_dict_of_queue_values_in_count_keeps_the_rest(scene, tmp_path):
    out = tmp_path / "out"
    geotally.count(scene, out=out, queue={"max_gap": 5})
    assert _config(out)["queue"]["max_gap"] == 5 and _config(out)["queue"]["min_vehicles"] == 8
    base = CountConfig(queue=QueueParams(min_vehicles=5))
    assert CountConfig.of(base, queue={"max_gap": 30}).queue == QueueParams(max_gap=30, min_vehicles=5)
    with pytest.raises(TypeError, match="queue.gap"):
        CountConfig.of(queue={"gap": 5})


def test_change_and_evaluate_take_one_path(results, border_scene):
    with pytest.raises(GeotallyError) as exc:
        geotally.change(str(results))
    _one_line(exc, f"{results} holds one date only")
    det = results / "detections.gpkg"
    one = geotally.evaluate(str(det), border_scene["truth"])
    assert one["per_class"] and one == geotally.evaluate([det], border_scene["truth"])
    with pytest.raises(GeotallyError) as exc:
        geotally.evaluate(str(results / "missing.gpkg"), border_scene["truth"])
    _one_line(exc, f"not found: {results / 'missing.gpkg'}")


def _evaluation(tmp: Path) -> Path:
    rows = [{"class": "small_vehicle", "image": f"s{g}_{i}", "n_truth": 10, "tp": 8, "fp": 1}
            for g in range(3) for i in range(2)]
    (tmp / "ev.json").write_text(json.dumps({"per_image": rows}))
    return tmp / "ev.json"


def test_calibrate_gsd_as_the_cli_reads_it(tmp_path, monkeypatch, capsys):
    ev = _evaluation(tmp_path)
    code, _, err = run(monkeypatch, capsys, "calibrate", ev, "-o", tmp_path / "c.json", "--gsd", "0.5,0.1")
    assert code == 2
    with pytest.raises(GeotallyError) as exc:
        geotally.calibrate(ev, out=tmp_path / "c.json", gsd=(0.5, 0.1))
    assert err.strip() == f"geotally: error: {exc.value}"
    assert not (tmp_path / "c.json").exists()
    cal = geotally.calibrate(ev, gsd=0.3)
    assert (cal.meta["gsd_m_min"], cal.meta["gsd_m_max"]) == (0.3, 0.3)
    with pytest.raises(GeotallyError) as exc:
        geotally.calibrate(ev, gsd="0.3")
    _one_line(exc, "--gsd takes MIN[,MAX] metres")


def test_search_gsd_range_min_above_max_gives_the_cli_line(monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "search", "--bbox", "42.5,37.1,42.6,37.2", "--gsd-range", "1,0")
    assert code == 2
    with pytest.raises(GeotallyError) as exc:
        SearchParams(gsd_range=(1, 0)).validate()
    assert err.strip() == f"geotally: error: {exc.value}"
    with pytest.raises(GeotallyError) as exc:
        SearchParams(gsd_range=0.3).validate()
    _one_line(exc, "--gsd-range takes MIN,MAX metres")


def test_a_small_tile_size_with_the_default_overlap_says_to_give_an_overlap():
    from geotally.config import CountConfig

    with pytest.raises(GeotallyError, match=r"--tile-size 64 is not above the default --overlap 160; give --overlap"):
        CountConfig(tile_size=64).validate()
    CountConfig(tile_size=64, overlap=32).validate()  # both given: fine


def test_numpy_numbers_are_numbers(scene, tmp_path):
    """A value computed with numpy (np.float32 is no Python float, np.int64 no int) is taken as the
    number it is, and summary.json holds plain numbers."""
    import numpy as np

    out = tmp_path / "out"
    geotally.count(scene, out=out, gsd=np.float32(0.25), conf=np.float32(0.3), overlap=np.int64(64),
                   tile_size=np.int32(512), size_thresholds=np.array([6.0, 10.0, 14.0], dtype=np.float32),
                   queue=QueueParams(max_gap=np.float32(30), min_vehicles=np.int64(5)))
    cfg = _config(out)
    assert cfg["gsd"] == pytest.approx(0.25) and type(cfg["gsd"]) is float
    assert cfg["overlap"] == 64 and cfg["tile_size"] == 512 and cfg["size_thresholds"] == [6.0, 10.0, 14.0]
    assert cfg["queue"]["max_gap"] == 30 and cfg["queue"]["min_vehicles"] == 5
    assert type(CountConfig(gsd=np.float16(0.5)).gsd) is float and type(CountConfig(batch=np.uint8(2)).batch) is int
    assert SearchParams(max_cloud=np.float32(20)).max_cloud == 20
    with pytest.raises(GeotallyError) as exc:
        CountConfig(gsd=np.float32(3)).validate()
    _one_line(exc, "--gsd must be a number from 0.005 to 2, got 3.0")
