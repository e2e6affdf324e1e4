"""Checkpoints are per scene file, not per file name: same-named scenes in different folders
(a/scene.tif and b/scene.tif, or STAC items' visual.tif) each get their own."""

import json

import pandas as pd

from conftest import noise_scene, run
from geotally.store.checkpoint import checkpoint_path


def test_two_scenes_of_one_name_in_different_folders(tmp_path, monkeypatch, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = noise_scene(tmp_path / "a" / "scene.tif", seed=1)
    b = noise_scene(tmp_path / "b" / "scene.tif", seed=2)
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", a, b, "--date", "2026-06-01", "--out", out, "-q")
    assert code == 0, err
    assert checkpoint_path(out, str(a)) != checkpoint_path(out, str(b))
    assert checkpoint_path(out, str(a)).exists() and checkpoint_path(out, str(b)).exists()
    summary = json.loads((out / "summary.json").read_text())
    assert [s["path"] for s in summary["scenes"]] == [str(a.resolve()), str(b.resolve())]
    # and a second run resumes both instead of claiming a checksum changed
    code, _, err = run(monkeypatch, capsys, "count", a, b, "--date", "2026-06-01", "--out", out)
    assert code == 0, err
    assert "changed" not in err and err.count("resuming") == 2
    assert len(pd.read_csv(out / "counts.csv"))


def test_stac_items_with_the_same_asset_name(tmp_path, monkeypatch, capsys):
    feats = []
    for i in (1, 2):
        (tmp_path / f"item{i}").mkdir()
        noise_scene(tmp_path / f"item{i}" / "visual.tif", seed=i)
        feats.append({"type": "Feature", "id": f"item{i}", "properties": {"datetime": f"2026-06-0{i}T10:00:00Z"},
                      "assets": {"visual": {"href": f"item{i}/visual.tif", "roles": ["data"]}}})
    stac = tmp_path / "items.json"
    stac.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    out = tmp_path / "out"
    for _ in range(2):
        code, _, err = run(monkeypatch, capsys, "count", stac, "--out", out, "-q")
        assert code == 0, err
    assert len(list(out.glob(".geotally-checkpoint-visual.tif-*.sqlite"))) == 2
