"""Input that could mean two things is refused with a line that says which, never accepted in silence."""

import json

import pytest

from conftest import assert_user_error, noise_scene, run
from geotally.analysis.calibration import Calibration, ClassCalibration
from geotally.errors import GeotallyError


@pytest.fixture
def scene(tmp_path):
    return noise_scene(tmp_path / "scene.tif")


def _zones(tmp_path, names, crs="EPSG:32638"):
    x0, y0 = 500000.0, 4100000.0
    feats = [{"type": "Feature", "properties": {"name": n},
              "geometry": {"type": "Polygon", "coordinates": [[[x0 + i * 40, y0], [x0 + i * 40 + 40, y0],
                                                                [x0 + i * 40 + 40, y0 - 128], [x0 + i * 40, y0 - 128],
                                                                [x0 + i * 40, y0]]]}} for i, n in enumerate(names)]
    p = tmp_path / "zones.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": crs}},
                             "features": feats}))
    return p


@pytest.mark.parametrize("names, fragment", [
    (["A", "A"], "'A' is used by 2 features"),
    ([1, None], "has no 'name'"),
    (["A", ""], "has no 'name'"),
    (["ALL", "B"], "reserved"),
    (["outside", "B"], "reserved"),
])
def test_ambiguous_zone_names(names, fragment, scene, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", scene, "--zones", _zones(tmp_path, names), "--out", out)
    assert_user_error(code, err, fragment, out)


def test_numeric_zone_names_are_text_and_summary_is_strict_json(scene, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", scene, "--zones", _zones(tmp_path, [1, 2]), "--out", out, "-q")
    assert code == 0, err
    text = (out / "summary.json").read_text()
    summary = json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in summary.json"))
    assert summary["zones"]["names"] == ["1", "2"]
    assert {r["zone"] for r in summary["counts"]} == {"1", "2", "outside", "ALL"}


@pytest.mark.parametrize("args, fragment", [
    (["--sides", "TR,TR"], "two different names"),
    (["--conf", "foo=0.5"], "'foo'"),
    (["--distance-bands", "0,1000"], "give --border too"),
])
def test_ambiguous_options(args, fragment, scene, tmp_path, monkeypatch, capsys):
    border = tmp_path / "b.geojson"
    border.write_text(json.dumps({"type": "FeatureCollection",
                                  "crs": {"type": "name", "properties": {"name": "EPSG:32638"}},
                                  "features": [{"type": "Feature", "properties": {}, "geometry": {
                                      "type": "LineString", "coordinates": [[500064, 4100010], [500064, 4099860]]}}]}))
    extra = ["--border", border] if args[0] == "--sides" else []
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", scene, *extra, *args, "--out", out)
    assert_user_error(code, err, fragment, out)


def test_border_file_with_the_same_name_on_both_sides(scene, tmp_path, monkeypatch, capsys):
    border = tmp_path / "b.geojson"
    border.write_text(json.dumps({"type": "FeatureCollection",
                                  "crs": {"type": "name", "properties": {"name": "EPSG:32638"}},
                                  "features": [{"type": "Feature", "properties": {"left": "TR", "right": "TR"},
                                                "geometry": {"type": "LineString", "coordinates": [
                                                    [500064, 4100010], [500064, 4099860]]}}]}))
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", scene, "--border", border, "--out", out)
    assert_user_error(code, err, "different names", out)


@pytest.mark.parametrize("where", ["far", "wrong-crs"])
def test_truth_that_overlaps_nothing(where, scene, tmp_path, monkeypatch, capsys):
    res = tmp_path / "res"
    assert run(monkeypatch, capsys, "count", scene, "--out", res, "-q")[0] == 0
    # 100 km east, or the right numbers declared in the wrong CRS (WGS84 degrees read as metres)
    x, y, crs = (600010, 4099990, "EPSG:32638") if where == "far" else (500010, 4099990, "EPSG:3857")
    truth = tmp_path / "truth.geojson"
    truth.write_text(json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": crs}},
                                 "features": [{"type": "Feature", "properties": {"class": "car"},
                                               "geometry": {"type": "Point", "coordinates": [x, y]}}]}))
    code, _, err = run(monkeypatch, capsys, "evaluate", res, truth, "-o", tmp_path / "e.json")
    assert_user_error(code, err, "overlaps")


def test_a_calibration_with_detection_rate_zero_is_refused(tmp_path):
    with pytest.raises(GeotallyError, match="detection rate 0"):
        Calibration({"large_vehicle": ClassCalibration([10, 5], [0, 0], [1, 0])})
    p = tmp_path / "cal.json"
    p.write_text(json.dumps({"classes": {"large_vehicle": {"n_truth": [10], "tp": [0], "fp": [0]}}}))
    with pytest.raises(GeotallyError, match="detection rate 0"):
        Calibration.load(p)


def test_models_list_does_not_call_a_truncated_file_cached(tmp_path, monkeypatch, capsys):
    from geotally.models.cache import model_path
    from geotally.models.registry import get_spec

    monkeypatch.setenv("GEOTALLY_CACHE_DIR", str(tmp_path))
    spec = get_spec("yolov8n-obb-dota")
    path = model_path(spec)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00" * 1000)
    code, stdout, err = run(monkeypatch, capsys, "models", "list")
    assert code == 0, err
    row = next(line for line in stdout.splitlines() if "yolov8n-obb-dota" in line)
    assert "damaged" in row and " yes " not in row


def test_undated_scenes_cut_side_by_side_from_one_mosaic_are_not_an_overlap(tmp_path, monkeypatch, capsys):
    """Pieces cut with rasterio's window transforms share edges up to rounding: they are one mosaic."""
    import rasterio
    from affine import Affine
    from rasterio.windows import Window

    src_path = noise_scene(tmp_path / "big.tif", size=512, transform=Affine(0.15, 0, 283740.0, 0, -0.15, 4114730.3))
    pieces = []
    with rasterio.open(src_path) as src:
        for r in range(4):
            for c in range(2):
                win = Window(c * 256, r * 128, 256, 128)
                p = tmp_path / f"piece_{r}_{c}.tif"
                with rasterio.open(p, "w", **dict(src.profile, width=256, height=128,
                                                  transform=src.window_transform(win))) as dst:
                    dst.write(src.read(window=win))
                pieces.append(p)
    code, _, err = run(monkeypatch, capsys, "count", *pieces, "--out", tmp_path / "out", "-q")
    assert code == 0, err
