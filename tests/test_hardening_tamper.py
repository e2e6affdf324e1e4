"""Every command that reads a results folder checks its manifest first: an edited summary.json or
detections.gpkg is refused with one line (exit 2), and the folder is not re-sealed."""

import json
import shutil
import sqlite3

import pytest

from conftest import assert_user_error, noise_scene, run, scene_box


@pytest.fixture(scope="module")
def counted(tmp_path_factory):
    import geotally

    tmp = tmp_path_factory.mktemp("tamper")
    out = tmp / "res"
    geotally.count_scenes([noise_scene(tmp / "scene.tif")], out=out)
    return out


def _edit(folder, name):
    if name == "summary.json":
        doc = json.loads((folder / name).read_text())
        doc["parameters"]["conf"] = 0.9
        (folder / name).write_text(json.dumps(doc, indent=2))
    else:  # a valid GeoPackage, changed inside
        with sqlite3.connect(folder / name) as db:
            db.execute("UPDATE gpkg_contents SET description = 'edited'")


COMMANDS = ["show", "report", "recount", "change", "evaluate", "review", "review-export"]


@pytest.mark.parametrize("name", ["summary.json", "detections.gpkg"])
@pytest.mark.parametrize("command", COMMANDS)
def test_an_edited_results_folder_is_refused_and_not_resealed(command, name, counted, tmp_path, monkeypatch, capsys):
    res = tmp_path / "res"
    shutil.copytree(counted, res)
    _edit(res, name)
    manifest = (res / "manifest.json").read_bytes()
    out = tmp_path / "out"
    truth = tmp_path / "truth.geojson"
    truth.write_text(json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {
        "name": "urn:ogc:def:crs:EPSG::32638"}}, "features": [{"type": "Feature", "properties": {"class": "car"},
                                                                "geometry": {"type": "Polygon", "coordinates": [scene_box(8)]}}]}))
    if command == "review":  # the app itself: it would serve and wait, so it is prepared in process
        from geotally.errors import GeotallyError
        from geotally.review.run import prepare

        with pytest.raises(GeotallyError, match="not the file its run wrote"):
            prepare(res, reviewer="tester", port=0)
    else:
        args = {"show": ["show", res], "report": ["report", res], "recount": ["recount", res],
                "change": ["change", counted, res, "-o", out], "evaluate": ["evaluate", res, truth, "-o", out],
                "review-export": ["review-export", res, out]}[command]
        code, _, err = run(monkeypatch, capsys, *args)
        if command in ("report", "recount") and name == "detections.gpkg":
            # these two write every file anew from the run's checkpoint: an edit (false positives deleted
            # in QGIS) would be lost, so they refuse and say to move the file away (they replaced it)
            assert_user_error(code, err, "would lose the change: move the file elsewhere first", out)
            with sqlite3.connect(res / name) as db:
                assert "edited" in {r[0] for r in db.execute("SELECT description FROM gpkg_contents")}
        assert_user_error(code, err, name, out)
    assert (res / "manifest.json").read_bytes() == manifest
    assert not (res / "review.gpkg").exists()


def test_report_without_the_checkpoint_does_not_detect_again(counted, tmp_path, monkeypatch, capsys):
    """`geotally report` rebuilds from the run's stored detections; with its checkpoint gone it said
    nothing and ran the model again (a new run under the old one's name). A deleted derived file is
    written again; the report keeps when the detections were made."""
    res = tmp_path / "res"
    shutil.copytree(counted, res)
    created = json.loads((res / "summary.json").read_text())["created_utc"]
    (res / "report.html").unlink()
    code, _, err = run(monkeypatch, capsys, "report", res)
    assert code == 0, err
    summary = json.loads((res / "summary.json").read_text())
    assert (res / "report.html").exists() and summary["recount"]["detected_utc"] == created
    assert f"detections made (UTC)</th><td>{created}" in (res / "report.html").read_text().replace("\n", "")
    for ckpt in res.glob(".geotally-checkpoint*"):
        ckpt.unlink()
    code, _, err = run(monkeypatch, capsys, "report", res)
    assert_user_error(code, err, "checkpoint of")
