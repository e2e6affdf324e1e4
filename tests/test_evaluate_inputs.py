"""evaluate and calibrate refuse nonsense truth, never overwrite without --force, and say why their
numbers differ from count's."""

import json

import pytest

from conftest import assert_user_error, run


@pytest.fixture(scope="module")
def results(border_scene, tmp_path_factory):
    import geotally

    out = tmp_path_factory.mktemp("ev") / "res"
    geotally.count(border_scene["scene"], out=out, tile_size=512, overlap=64)
    return out


def test_zones_given_as_truth_are_refused(results, border_scene, tmp_path, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "evaluate", results, border_scene["sides"], "-o", tmp_path / "e.json")
    assert_user_error(code, err, "is a vehicle")
    assert not (tmp_path / "e.json").exists()


@pytest.mark.parametrize("features, fragment", [([], "holds no objects"),
                                                ([{"type": "Feature", "properties": {"id": 1},
                                                   "geometry": {"type": "Point", "coordinates": [42.6, 37.1]}}],
                                                 "no class field")])
def test_truth_without_objects_or_class_field(features, fragment, results, tmp_path, monkeypatch, capsys):
    truth = tmp_path / "t.geojson"
    truth.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    code, _, err = run(monkeypatch, capsys, "evaluate", results, truth, "-o", tmp_path / "e.json")
    assert_user_error(code, err, fragment)


def test_outputs_are_not_overwritten_without_force(results, border_scene, tmp_path, monkeypatch, capsys):
    e = tmp_path / "e.json"
    e.write_text("precious")
    code, _, err = run(monkeypatch, capsys, "evaluate", results, border_scene["truth"], "-o", e)
    assert_user_error(code, err, "--force")
    assert e.read_text() == "precious"
    assert run(monkeypatch, capsys, "evaluate", results, border_scene["truth"], "-o", e, "--force")[0] == 0
    assert json.loads(e.read_text())["per_class"]
    c = tmp_path / "c.json"
    c.write_text("precious")
    code, _, err = run(monkeypatch, capsys, "calibrate", e, "-o", c)
    assert_user_error(code, err, "--force")
    assert run(monkeypatch, capsys, "calibrate", e, "-o", c, "--force")[0] == 0
    assert "classes" in json.loads(c.read_text())


def test_difficult_labels_are_explained(results, tmp_path, monkeypatch, capsys):
    """DOTA 'difficult' labels are ignored; the report and the terminal say so."""
    import geopandas as gpd

    det = gpd.read_file(results / "detections.gpkg")
    from geotally.geo.transform import map_to_pixel
    from geotally.imagery.scene import open_scene

    sc = open_scene(json.loads((results / "summary.json").read_text())["scenes"][0]["path"], checksum=False)
    rows = []
    for i, g in enumerate(det[det["class"] == "large_vehicle"].geometry.values[:6]):
        px = map_to_pixel(sc.transform, list(g.exterior.coords)[:4])
        coords = " ".join(f"{x:.1f} {y:.1f}" for x, y in px)
        rows.append(f"{coords} large-vehicle {1 if i < 2 else 0}")
    labels = tmp_path / "labelTxt"
    labels.mkdir()
    (labels / f"{__import__('pathlib').Path(sc.path).stem}.txt").write_text("imagesource:x\ngsd:0.15\n" + "\n".join(rows))
    code, stdout, err = run(monkeypatch, capsys, "evaluate", results, labels, "-o", tmp_path / "e.json")
    assert code == 0, err
    report = json.loads((tmp_path / "e.json").read_text())
    assert report["per_class"]["large_vehicle"]["n_difficult_ignored"] == 2
    assert "difficult" in report["note"] and "difficult" in stdout


def test_truth_of_points_and_shapes_is_matched_whole(results, border_scene, tmp_path):
    """Labels drawn partly as points and partly as boxes score as the same labels all as boxes: a
    point never matched a box's overlap (precision and recall 0.5 on this scene, before)."""
    import geopandas as gpd

    import geotally

    truth = gpd.read_file(border_scene["truth"])
    mixed = truth.copy()
    mixed.loc[mixed.index[::2], "geometry"] = mixed.geometry.centroid[::2]
    mixed.to_file(tmp_path / "mixed.geojson")
    truth.assign(geometry=truth.geometry.centroid).to_file(tmp_path / "points.geojson")
    scores = [geotally.evaluate(results / "detections.gpkg", p)["per_class"] for p in (tmp_path / "mixed.geojson",
                                                                                      tmp_path / "points.geojson")]
    assert scores[0]["large_vehicle"]["recall"] == scores[1]["large_vehicle"]["recall"] >= 0.9
    assert scores[0]["small_vehicle"]["precision"] == scores[1]["small_vehicle"]["precision"]


def test_a_folder_of_several_scenes_is_refused_and_the_model_recorded(results, border_scene, tmp_path, monkeypatch,
                                                                      capsys):
    """Two dates' detections scored against one date's truth gave precision 0.53 in silence; the
    evaluation names the model the detections came from, and a calibration made from it keeps it."""
    import geotally
    from conftest import noise_scene

    two = tmp_path / "two"
    import rasterio

    a, b = noise_scene(tmp_path / "a.tif"), noise_scene(tmp_path / "b.tif", seed=3)
    for scene, date in ((a, "2026-06-01"), (b, "2026-06-08")):  # two dates of one place
        with rasterio.open(scene, "r+") as dst:
            dst.update_tags(ACQUISITION_DATE=date)
    assert run(monkeypatch, capsys, "count", a, b, "--out", two, "-q")[0] == 0
    code, _, err = run(monkeypatch, capsys, "evaluate", two, border_scene["truth"], "-o", tmp_path / "e.json")
    assert_user_error(code, err, f"{two} holds the detections of 2 scenes (a.tif, b.tif); evaluate scores one scene")
    code, _, err = run(monkeypatch, capsys, "evaluate", results, border_scene["truth"], "-o", tmp_path / "ev.json")
    assert code == 0, err
    model = json.loads((results / "summary.json").read_text())["model"]
    assert json.loads((tmp_path / "ev.json").read_text())["model"] == {"name": model["name"], "sha256": model["sha256"]}
    cal = geotally.calibrate(tmp_path / "ev.json", group="")
    assert cal.meta["model"]["sha256"] == model["sha256"]


def test_an_evaluation_given_as_a_calibration_says_so(results, tmp_path, monkeypatch, capsys):
    (tmp_path / "ev.json").write_text(json.dumps({"per_image": [], "per_class": {}}))
    code, _, err = run(monkeypatch, capsys, "recount", results, "--calibration", tmp_path / "ev.json")
    assert_user_error(code, err, f"{tmp_path / 'ev.json'} is an evaluation, not a calibration; make one from it with "
                                 f"'geotally calibrate {tmp_path / 'ev.json'} -o cal.json'")


def test_a_calibration_holds_at_the_thresholds_its_detections_were_kept_at(results, border_scene, tmp_path,
                                                                           monkeypatch, capsys):
    """Rates from an evaluation of detections kept at --conf 0.25 were applied to a recount at 0.5 without
    a word; the evaluation now records the thresholds, the calibration carries them, and a run at others
    is refused before it counts."""
    import shutil

    e, c, res = tmp_path / "e.json", tmp_path / "c.json", tmp_path / "res"
    shutil.copytree(results, res)
    assert run(monkeypatch, capsys, "evaluate", res, border_scene["truth"], "-o", e)[0] == 0
    assert json.loads(e.read_text())["thresholds"]["large_vehicle"] == 0.25
    assert run(monkeypatch, capsys, "calibrate", e, "-o", c)[0] == 0
    assert json.loads(c.read_text())["meta"]["conf"]["large_vehicle"] == 0.25
    code, _, err = run(monkeypatch, capsys, "recount", res, "--calibration", c, "--conf", "0.5")
    assert_user_error(code, err, "measured its rates on detections kept at --conf large_vehicle 0.25")
    assert "this run keeps large_vehicle 0.5" in err
    code, _, err = run(monkeypatch, capsys, "recount", res, "--calibration", c, "-q")
    assert code == 0, err


def test_evaluation_and_calibration_say_what_made_them(results, border_scene, tmp_path, monkeypatch, capsys):
    """evaluation.json had no version, time or checksum of the truth, and paths as typed; the calibration
    recorded its evaluation by a relative path, which summary.json copied; the report showed the
    evaluation's sha256 as the calibration's and not the calibration file's own."""
    import os
    import shutil

    from geotally.imagery.checksum import file_sha256

    res = tmp_path / "res"
    shutil.copytree(results, res)
    monkeypatch.chdir(tmp_path)
    assert run(monkeypatch, capsys, "evaluate", "res", border_scene["truth"], "-o", "e.json")[0] == 0
    ev = json.loads((tmp_path / "e.json").read_text())
    assert ev["geotally_version"] and ev["created_utc"] and ev["truth_sha256"] == file_sha256(border_scene["truth"])
    assert ev["detections_summary_sha256"] == [file_sha256(res / "summary.json")]
    assert ev["params"]["detections"] == [str(res.resolve())] and os.path.isabs(ev["params"]["truth"])
    assert run(monkeypatch, capsys, "calibrate", "e.json", "-o", "c.json")[0] == 0
    cal = json.loads((tmp_path / "c.json").read_text())
    assert cal["source"] == str((tmp_path / "e.json").resolve()) and cal["meta"]["geotally_version"]
    assert run(monkeypatch, capsys, "recount", "res", "--calibration", "c.json", "-q")[0] == 0
    summary = json.loads((res / "summary.json").read_text())
    assert summary["calibration"]["source"] == str((tmp_path / "e.json").resolve())
    html = (res / "report.html").read_text()
    assert f"calibration sha256</th><td>{file_sha256(tmp_path / 'c.json')}" in html
    assert f"calibration made from, sha256</th><td>{file_sha256(tmp_path / 'e.json')}" in html
    # show: it failed on the empty intervals of a calibration that gives none, and named no input file
    code, stdout, err = run(monkeypatch, capsys, "show", "res")
    assert code == 0, err
    assert "calibration" in stdout and f"sha256 {file_sha256(tmp_path / 'c.json')[:16]}" in stdout
