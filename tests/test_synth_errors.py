"""geotally synth refuses bad input in one line, from the CLI and the API alike, and never leaves a
half-written, empty or stale --out behind."""

from __future__ import annotations

import errno
import math

import pytest

from conftest import assert_user_error, run
from geotally.errors import GeotallyError
from geotally.synth import LayoutParams, SynthParams, write_scene, write_synth

# A small, fast scene (0.5 m/px, 400 x 800 px).
SMALL = ["--width-m", "200", "--height-m", "400", "--gsd", "0.5", "--queue", "TR=3,IQ=3", "--depot", "IQ=2",
         "--cars", "2", "--parked", "2"]


def small(**layout) -> SynthParams:
    lp = dict(width_m=200, height_m=400, queue={"TR": 3, "IQ": 3}, depot={"IQ": 2}, cars_road=2, cars_park=2)
    return SynthParams(layout=LayoutParams(**{**lp, **layout}), gsd=0.5)


def synth(monkeypatch, capsys, out, *args):
    return run(monkeypatch, capsys, "synth", "--out", out, *SMALL, *args)


def test_out_that_is_a_file_is_refused_and_the_file_kept(tmp_path, monkeypatch, capsys):
    f = tmp_path / "notes.txt"
    f.write_text("mine")
    code, _, err = synth(monkeypatch, capsys, f)
    assert_user_error(code, err, f"--out {f} is an existing file")
    assert f.read_text() == "mine"
    for call in (lambda: write_synth(f, small()), lambda: write_scene(f, small())):
        with pytest.raises(GeotallyError, match="is an existing file"):
            call()
    assert f.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("mix", ["nan,0.5,0.5", "inf,1,1", "0.4,-inf,0.3"])
def test_mix_that_is_not_finite_is_refused_before_anything_is_written(mix, tmp_path, monkeypatch, capsys):
    out = tmp_path / "X"
    code, _, err = synth(monkeypatch, capsys, out, "--mix", mix)
    assert_user_error(code, err, "--mix takes three finite, non-negative shares", out)
    shares = tuple(float(v) for v in mix.split(","))
    with pytest.raises(GeotallyError, match="--mix"):
        write_synth(out, small(mix=shares))
    with pytest.raises(GeotallyError, match="--mix"):
        write_scene(out, small(mix=shares))
    assert not out.exists() and any(not math.isfinite(v) for v in shares)


def test_trucks_that_do_not_fit_leave_no_folder(tmp_path, monkeypatch, capsys):
    out = tmp_path / "new" / "deeper"
    code, _, err = synth(monkeypatch, capsys, out, "--queue", "TR=500,IQ=3")
    assert_user_error(code, err, "500 queued trucks do not fit on the TR side", out)
    assert not (tmp_path / "new").exists()
    with pytest.raises(GeotallyError, match="do not fit"):
        write_synth(out, small(queue={"TR": 500, "IQ": 3}), dates=3)
    with pytest.raises(ValueError, match="do not fit"):
        write_scene(out, small(queue={"TR": 500, "IQ": 3}))
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_writing_leaves_no_new_folder_and_an_old_one_as_it_was(tmp_path, monkeypatch, capsys):
    import geotally.synth.scene as scene

    render, calls = scene.render, []

    def full_disk_on_the_second_date(layout, p):
        calls.append(p.date)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return render(layout, p)

    monkeypatch.setattr(scene, "render", full_disk_on_the_second_date)
    out = tmp_path / "new"
    code, _, err = synth(monkeypatch, capsys, out, "--dates", "3")
    assert_user_error(code, err, "no space left", out)
    assert list(tmp_path.iterdir()) == []

    monkeypatch.setattr(scene, "render", render)
    old = tmp_path / "old"
    write_synth(old, small())
    before = {p.name: p.read_bytes() for p in old.iterdir()}
    calls.clear()
    monkeypatch.setattr(scene, "render", full_disk_on_the_second_date)
    code, _, err = synth(monkeypatch, capsys, old, "--dates", "3")
    assert_user_error(code, err, "no space left")
    assert {p.name: p.read_bytes() for p in old.iterdir()} == before  # no dated scene, no staging folder


@pytest.mark.parametrize("option, value, fragment", [
    ("--queue", "A=5,B=3", "--queue: 'A' is not a side of the scene; the sides are TR and IQ"),
    ("--queue", "TR=3,iq=3", "--queue: 'iq' is not a side of the scene"),
    ("--depot", "XX=3", "--depot: 'XX' is not a side of the scene; the sides are TR and IQ"),
])
def test_unknown_side_names_are_refused_with_the_valid_ones(option, value, fragment, tmp_path, monkeypatch, capsys):
    out = tmp_path / "X"
    code, _, err = synth(monkeypatch, capsys, out, option, value)
    assert_user_error(code, err, fragment, out)
    pairs = {k: int(v) for k, v in (kv.split("=") for kv in value.split(","))}
    field = {"--queue": "queue", "--depot": "depot"}[option]
    with pytest.raises(GeotallyError, match="is not a side of the scene"):
        write_synth(out, small(**{field: pairs}))
    assert not out.exists()


def test_a_new_run_replaces_the_scenes_of_the_earlier_one(tmp_path, monkeypatch, capsys):
    out = tmp_path / "S"
    code, _, err = synth(monkeypatch, capsys, out, "--dates", "3")
    assert code == 0, err
    assert len(list(out.glob("scene_2026-*.tif"))) == 3
    (out / "notes.txt").write_text("mine")
    (out / "real.tif").write_bytes(b"not synth's")
    code, _, err = synth(monkeypatch, capsys, out)
    assert code == 0, err
    assert sorted(p.name for p in out.glob("*.tif")) == ["real.tif", "scene.tif"]
    assert sorted(p.name for p in out.glob("*_truth.geojson")) == ["scene_truth.geojson"]
    assert (out / "notes.txt").read_text() == "mine" and (out / "real.tif").read_bytes() == b"not synth's"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    # and through the API: two dates after one scene leave just the two dated scenes
    written = write_synth(out, small(), dates=2)
    assert sorted(p.name for p in out.glob("scene*.tif")) == sorted(
        f"scene_{r['date']}.tif" for r in written) == ["scene_2026-06-01.tif", "scene_2026-06-08.tif"]
    assert all((out / f"scene_{r['date']}_truth.geojson").is_file() for r in written)


def test_a_scene_without_vehicles_is_made_with_both_sides_listed(tmp_path):
    """No trucks, depot or cars: an empty crossing, its truth empty and both sides at zero (it failed
    with shapely's 'ordinate dimension should be 2 or 3, got 0')."""
    import json

    from geotally.synth import LayoutParams, SynthParams, write_scene

    lp = LayoutParams(queue={"TR": 0, "IQ": 0}, depot={"IQ": 0}, cars_road=0, cars_park=0)
    res = write_scene(tmp_path / "empty", SynthParams(layout=lp))
    assert res["counts"] == {"TR": {}, "IQ": {}}
    assert json.loads(open(res["truth"]).read())["features"] == []
