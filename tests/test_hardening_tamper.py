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
            # these two never read detections.gpkg: they derive every file again from the run's own
            # checkpoint, so the edit is replaced by what the run found, and the new seal is honest
            assert code == 0, err
            from geotally.store.outputs import check_manifest

            check_manifest(res)
            with sqlite3.connect(res / name) as db:
                assert "edited" not in {r[0] for r in db.execute("SELECT description FROM gpkg_contents")}
            return
        assert_user_error(code, err, name, out)
    assert (res / "manifest.json").read_bytes() == manifest
    assert not (res / "review.gpkg").exists()
