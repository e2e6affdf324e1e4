"""Resumable runs: SIGKILL at a random tile, then resume, gives exactly the uninterrupted detections."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import geopandas as gpd
import numpy as np
import pytest

from geotally.store.checkpoint import checkpoint_path

pytestmark = pytest.mark.slow
ARGS = ["--tile-size", "256", "--overlap", "64", "--batch", "1", "-q"]


def count(scene, out, *extra):
    return subprocess.run([sys.executable, "-m", "geotally.cli", "count", str(scene), "--out", str(out), *ARGS, *extra],
                          capture_output=True, text=True)


def finished_tiles(path):
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return db.execute("SELECT COUNT(*) FROM tiles").fetchone()[0]
    except sqlite3.Error:
        return 0


def same_detections(a, b):
    da, db = gpd.read_file(a / "detections.gpkg"), gpd.read_file(b / "detections.gpkg")
    assert len(da) == len(db) > 0
    key = ["score", "length_m", "heading_deg", "class"]
    da, db = da.sort_values(key).reset_index(drop=True), db.sort_values(key).reset_index(drop=True)
    assert (da[key].values == db[key].values).all()
    assert da.geometry.geom_equals_exact(db.geometry, tolerance=1e-6).all()


def test_sigkill_then_resume_gives_identical_detections(border_scene, tmp_path):
    whole = tmp_path / "whole"
    done = count(border_scene["scene"], whole)
    assert done.returncode == 0, done.stderr
    n_tiles = finished_tiles(checkpoint_path(whole, border_scene['scene']))
    assert n_tiles > 10
    killed = tmp_path / "killed"
    stop_after = int(np.random.default_rng().integers(2, n_tiles - 2))
    proc = subprocess.Popen([sys.executable, "-m", "geotally.cli", "count", border_scene["scene"], "--out", str(killed),
                             *ARGS], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while finished_tiles(checkpoint_path(killed, border_scene['scene'])) < stop_after and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = finished_tiles(checkpoint_path(killed, border_scene['scene']))
    assert 0 < partial < n_tiles, (partial, n_tiles)
    assert not (killed / "detections.gpkg").exists()
    resumed = count(border_scene["scene"], killed)
    assert resumed.returncode == 0, resumed.stderr
    same_detections(whole, killed)


def test_resume_refuses_changed_parameters_and_fresh_starts_over(border_scene, tmp_path):
    out = tmp_path / "run"
    assert count(border_scene["scene"], out).returncode == 0
    changed = count(border_scene["scene"], out, "--model-gsd", "0.3")  # changes what the tiles are
    assert changed.returncode == 2
    assert len(changed.stderr.strip().splitlines()) == 1, changed.stderr
    assert "detection parameters (model_gsd 0.25 -> 0.3) changed" in changed.stderr  # names what changed
    assert count(border_scene["scene"], out, "--model-gsd", "0.3", "--fresh").returncode == 0


def test_resume_refuses_a_changed_scene(border_scene, tmp_path):
    out = tmp_path / "run"
    scene = tmp_path / "scene.tif"
    scene.write_bytes(open(border_scene["scene"], "rb").read())
    assert count(scene, out).returncode == 0
    import rasterio
    with rasterio.open(scene, "r+") as dst:
        dst.update_tags(NOTE="edited")
    again = count(scene, out)
    assert again.returncode == 2 and "scene checksum changed" in again.stderr


def test_a_fresh_run_that_fails_puts_the_earlier_checkpoint_back(tmp_path, monkeypatch, capsys):
    import geotally.detect.run as dr
    from conftest import noise_scene, run
    from geotally.errors import GeotallyError

    scene, out = noise_scene(tmp_path / "scene.tif", size=600), tmp_path / "res"
    code, _, err = run(monkeypatch, capsys, "count", scene, "--out", out, "--quiet")
    assert code == 0, err
    ckpt = checkpoint_path(out, str(scene))
    before, counts = ckpt.read_bytes(), (out / "counts.csv").read_bytes()
    real = dr.read_tile
    calls = []

    def failing(*a, **k):  # interrupted after its first tiles, with other parameters
        calls.append(1)
        if len(calls) > 1:
            raise GeotallyError("the disk went away")
        return real(*a, **k)

    monkeypatch.setattr(dr, "read_tile", failing)
    code, _, err = run(monkeypatch, capsys, "count", scene, "--out", out, "--fresh", "--overlap", "64",
                       "--batch", "1", "--quiet")
    assert code == 2 and "disk went away" in err, err
    assert ckpt.read_bytes() == before and (out / "counts.csv").read_bytes() == counts
    assert not list(out.glob("*.before-fresh*"))
    monkeypatch.setattr(dr, "read_tile", real)
    code, _, err = run(monkeypatch, capsys, "recount", out, "--queue-gap", "30")  # the earlier results still serve
    assert code == 0, err
    code, _, err = run(monkeypatch, capsys, "count", scene, "--out", out, "--fresh", "--overlap", "64", "--quiet")
    assert code == 0, err  # a finished fresh run keeps no copy aside
    assert not list(out.glob("*.before-fresh*")) and ckpt.read_bytes() != before


def test_a_fresh_run_killed_midway_gives_the_earlier_checkpoint_back_to_the_next_run(border_scene, tmp_path):
    """SIGKILL leaves no time to put the earlier checkpoint back; the next run in the folder does it,
    so the earlier results, which still stand, still recount."""
    out = tmp_path / "run"
    assert count(border_scene["scene"], out).returncode == 0
    ckpt = checkpoint_path(out, border_scene["scene"])
    whole, counts = finished_tiles(ckpt), (out / "counts.csv").read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "geotally.cli", "count", border_scene["scene"], "--out", str(out),
                             *ARGS, "--model-gsd", "0.3", "--fresh"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300

    def aside():
        return [p.name for p in out.iterdir() if "before-fresh" in p.name]

    while not (aside() and 2 <= finished_tiles(ckpt)) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert aside() and 2 <= finished_tiles(ckpt) < whole  # the killed run's own checkpoint, half done
    assert (out / "counts.csv").read_bytes() == counts  # the earlier results stand
    again = subprocess.run([sys.executable, "-m", "geotally.cli", "recount", str(out), "--queue-gap", "30", "-q"],
                           capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert not aside() and finished_tiles(ckpt) == whole
    assert count(border_scene["scene"], out, "--model-gsd", "0.3").returncode == 2  # the earlier parameters hold


def test_the_results_swap_retires_the_checkpoints_set_aside(tmp_path):
    """Once the new results take the folder's name, the set-aside copies are gone with the old folder:
    a run killed just after the swap leaves nothing that the next run would wrongly put back."""
    from geotally.store.checkpoint import SetAside
    from geotally.store.outputs import staged_output

    out = tmp_path / "res"
    out.mkdir()
    ckpt = checkpoint_path(out, str(tmp_path / "a.tif"))
    ckpt.write_bytes(b"earlier")
    aside = SetAside()
    aside.move([ckpt])
    ckpt.write_bytes(b"this run's")
    with staged_output(out) as stage:
        (stage / "summary.json").write_text("{}")
    assert ckpt.read_bytes() == b"this run's" and not list(out.glob("*before-fresh*"))
    assert SetAside.recover(out) == [] and ckpt.read_bytes() == b"this run's"


def test_a_second_run_into_the_same_folder_is_refused_while_the_first_writes(border_scene, tmp_path, monkeypatch,
                                                                           capsys):
    """Two counts of different scenes into one --out both said "results written" and only the last
    one's results were left; now the second is refused at once, naming the first, and nothing of the
    lock is left once the first is done."""
    from conftest import assert_user_error, noise_scene, run

    out = tmp_path / "shared"
    proc = subprocess.Popen([sys.executable, "-m", "geotally.cli", "count", border_scene["scene"], "--out", str(out),
                             *ARGS], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while finished_tiles(checkpoint_path(out, border_scene["scene"])) < 1 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the first run ended before the second could start"
    other = noise_scene(tmp_path / "other.tif")
    code, _, err = run(monkeypatch, capsys, "count", other, "--out", out)
    assert_user_error(code, err, f"another geotally run (process {proc.pid}) is writing to {out}")
    _, first_err = proc.communicate(timeout=300)
    assert proc.returncode == 0, first_err
    summary = (out / "summary.json").read_text()
    assert str(border_scene["scene"]) in summary and "other.tif" not in summary
    assert not list(tmp_path.glob(".*geotally-lock"))
    code, _, err = run(monkeypatch, capsys, "count", other, "--out", out)  # the folder is free again
    assert code == 0, err
