"""Every error a user can fix exits 2 with one line, and leaves nothing half-written: inputs that are
not what they claim (a complex raster, a zone at infinity, a folder or a symbolic-link loop given
for a file, the folder one stands in as --out) are refused before the first tile; a full disk and a
read-only folder name the folder, keep the finished tiles, and never advise --fresh."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from conftest import assert_user_error, noise_scene, run, scene_box, write_raster


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return noise_scene(tmp_path_factory.mktemp("errors") / "scene.tif")


def _zones(path, ring=None):
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Polygon(ring or scene_box())], crs=32638).to_file(path)
    return path


def _nothing_written(folder):
    """No results folder, and no checkpoint or staging folder beside it."""
    assert not folder.exists()
    assert not list(folder.parent.glob(f".{folder.name}.staging-*"))


def test_a_complex_raster_is_not_an_image(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(0)
    cplx = write_raster(tmp_path / "slc.tif", (rng.random((1, 64, 64)) + 1j * rng.random((1, 64, 64))).astype(np.complex64))
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", cplx, "--out", out)
    assert_user_error(code, err, "complex numbers", out)


def test_a_zone_with_an_infinite_coordinate(scene, tmp_path, monkeypatch, capsys):
    ring = scene_box()
    ring[1] = [np.inf, ring[1][1]]
    zones = _zones(tmp_path / "inf.gpkg", ring)
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", scene, "--zones", zones, "--out", out)
    assert_user_error(code, err, "not a finite number", out)


@pytest.mark.parametrize("option", ["--zones", "--border", "--roads", "--calibration", "--weights"])
def test_a_folder_given_for_an_input_file_is_refused_before_detection(option, scene, tmp_path, monkeypatch, capsys):
    # a folder of shapefiles is a dataset to GDAL: --zones read it, detected every tile, and died
    # hashing the folder for summary.json, leaving the checkpoint behind
    folder = tmp_path / "shapes"
    folder.mkdir()
    _zones(folder / "zones.shp")
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", scene, option, folder, "--out", out)
    assert_user_error(code, err, "is a folder", out)
    _nothing_written(out)


@pytest.mark.parametrize("where", ["scene", "--zones", "--calibration", "--out"])
def test_a_symlink_loop(where, scene, tmp_path, monkeypatch, capsys):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    loop = tmp_path / "a"
    out = tmp_path / "out"
    args = {"scene": [loop, "--out", out], "--zones": [scene, "--zones", loop, "--out", out],
            "--calibration": [scene, "--calibration", loop, "--out", out], "--out": [scene, "--out", loop]}[where]
    code, _, err = run(monkeypatch, capsys, "count", *args)
    assert_user_error(code, err, "symbolic link loop", out)
    assert (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink()


@pytest.mark.parametrize("given", [".", ".."])
def test_out_is_the_folder_one_stands_in(given, scene, tmp_path, monkeypatch, capsys):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    code, _, err = run(monkeypatch, capsys, "count", scene, "--out", given)
    assert_user_error(code, err, "the folder you are in")
    assert list(here.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["here"]


def test_a_folder_of_ones_own_files_under_result_names_is_refused(scene, tmp_path, monkeypatch, capsys):
    """A folder that was never a run's results, holding the user's own report.html and counts.csv: the
    count replaced them and said "results written"; now it refuses and leaves them as they were. A
    folder of earlier results is still replaced, and other files in it are carried over."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.html").write_text("<h1>mine</h1>")
    (mine / "counts.csv").write_text("a,b\n")
    (mine / "notes.txt").write_text("mine")
    code, _, err = run(monkeypatch, capsys, "count", scene, "--out", mine)
    assert_user_error(code, err, "holds counts.csv, report.html but no results of a geotally run")
    assert sorted(p.name for p in mine.iterdir()) == ["counts.csv", "notes.txt", "report.html"]
    assert (mine / "report.html").read_text() == "<h1>mine</h1>"
    # earlier results in the folder: replaced, the user's other files kept
    res = tmp_path / "res"
    for _ in range(2):
        code, _, err = run(monkeypatch, capsys, "count", scene, "--out", res)
        assert code == 0, err
        (res / "notes.txt").write_text("kept")
    assert (res / "notes.txt").read_text() == "kept" and (res / "manifest.json").is_file()
    # another tool's manifest.json does not make a folder results; names a count never writes are no reason
    # to refuse, and are kept
    web = tmp_path / "web"
    web.mkdir()
    (web / "manifest.json").write_text('{"name": "webapp"}')
    (web / "report.html").write_text("<h1>mine</h1>")
    code, _, err = run(monkeypatch, capsys, "count", scene, "--out", web)
    assert_user_error(code, err, "holds manifest.json, report.html but no results of a geotally run")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "counts_manual.csv").write_text("a\n")
    (notes / "queues.txt").write_text("q\n")
    code, _, err = run(monkeypatch, capsys, "count", scene, "--out", notes)
    assert code == 0, err
    assert (notes / "counts_manual.csv").read_text() == "a\n" and (notes / "queues.txt").read_text() == "q\n"


def test_synth_width_out_of_range(tmp_path, monkeypatch, capsys):
    out = tmp_path / "s"
    code, _, err = run(monkeypatch, capsys, "synth", "--width-m", "1e9", "--out", out)
    assert_user_error(code, err, "--width-m", out)


# -- full and read-only file systems (root's mounts; skipped where they cannot be made) -----------

def _mount(args: list[str], where) -> None:
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    proc = subprocess.run(["mount", *args, str(where)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount here: {proc.stderr.strip()}")


def _umount(where) -> None:
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path):
    """A 20 MiB tmpfs, unmounted afterwards."""
    disk = tmp_path / "disk"
    disk.mkdir()
    _mount(["-t", "tmpfs", "-o", "size=20m", "tmpfs"], disk)
    yield disk
    _umount(disk)


def _fill(disk):
    """Take every free byte of ``disk``: a file grown until the system says ENOSPC."""
    with open(disk / "filler", "wb") as fh:
        block = b"\0" * (1 << 16)
        try:
            while True:
                fh.write(block)
                fh.flush()
        except OSError:
            pass
    for size in (4096, 512, 1):  # the tail the big blocks did not take
        try:
            with open(disk / "filler", "ab") as fh:
                while True:
                    fh.write(b"\0" * size)
                    fh.flush()
        except OSError:
            pass


def _no_space(code, err, folder, tiles_kept):
    assert_user_error(code, err, f"no space left on the device of {folder}; free space and run again")
    assert ("finished tiles are kept" in err) == tiles_kept, err
    assert "--fresh" not in err and "damaged" not in err and "sqlite3_exec" not in err


def test_a_full_disk_at_the_start_of_a_count(scene, small_disk, monkeypatch, capsys):
    _fill(small_disk)
    out = small_disk / "res"
    code, _, err = run(monkeypatch, capsys, "count", scene, "--out", out)
    _no_space(code, err, out, tiles_kept=True)
    _nothing_written(out)  # the empty checkpoint it began is removed with the folder it made


def test_a_full_disk_when_writing_results_keeps_the_tiles(scene, small_disk, monkeypatch, capsys):
    out = small_disk / "res"
    assert run(monkeypatch, capsys, "count", scene, "--out", out, "-q")[0] == 0
    checkpoint = next(out.glob(".geotally-checkpoint-*.sqlite"))
    tiles = checkpoint.read_bytes()
    written = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.startswith(".")}
    _fill(small_disk)
    for command in (["count", scene, "--out", out], ["recount", out], ["report", out]):
        code, _, err = run(monkeypatch, capsys, *command)
        _no_space(code, err, out, tiles_kept=True)
        # the earlier results stand as they were, whole, and no staging folder is left
        assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.startswith(".")} == written
        assert not list(small_disk.glob(".res.staging-*"))
    (small_disk / "filler").unlink()
    assert checkpoint.read_bytes()[:16] == tiles[:16]  # an SQLite file still, not discarded
    code, out_text, err = run(monkeypatch, capsys, "count", scene, "--out", out)
    assert code == 0, err
    assert "resuming: 1 of 1 tiles" in out_text + err


def test_a_full_disk_while_tiles_are_stored(tmp_path, small_disk):
    from geotally.detect.run import Detections
    from geotally.errors import GeotallyError
    from geotally.store.checkpoint import TileStore

    store = TileStore(small_disk / "res" / "ck.sqlite", {"scene checksum": "x"})
    _fill(small_disk)
    n = 20000
    big = Detections(np.random.default_rng(0).random((n, 4, 2)), np.ones(n, np.float32), np.zeros(n, np.int64),
                     np.zeros(n, np.int64))
    with pytest.raises(GeotallyError, match="no space left on the device of .*finished tiles are kept") as info:
        store.put(0, big)
    assert "--fresh" not in str(info.value)
    store.close()


@pytest.fixture
def read_only_results(scene, tmp_path):
    """A counted results folder, seen through a read-only bind mount."""
    import geotally

    src = tmp_path / "res"
    geotally.count_scenes([scene], out=src)
    ro = tmp_path / "ro"
    ro.mkdir()
    _mount(["--bind", str(src)], ro)
    proc = subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], capture_output=True, text=True)
    if proc.returncode != 0:
        _umount(ro)
        pytest.skip(f"cannot remount read-only: {proc.stderr.strip()}")
    yield ro
    _umount(ro)


def test_review_on_a_read_only_folder(read_only_results):
    # a separate process: were the app to start, it would serve until stopped
    proc = subprocess.run([sys.executable, "-m", "geotally", "review", str(read_only_results), "--port", "0",
                           "--no-browser"], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONWARNINGS="ignore"))
    assert_user_error(proc.returncode, proc.stderr, f"cannot write in {read_only_results} (read-only file system)")
    assert not (read_only_results / "review.gpkg").exists()


@pytest.mark.parametrize("command", ["synth", "report"])
def test_writing_into_a_read_only_folder(command, read_only_results, monkeypatch, capsys):
    args = {"synth": ["synth", "--out", read_only_results / "s"], "report": ["report", read_only_results]}[command]
    code, _, err = run(monkeypatch, capsys, *args)
    assert_user_error(code, err, "cannot write in")
    assert "read-only file system" in err.lower()
    assert json.loads((read_only_results / "manifest.json").read_text())["files"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_out_in_a_folder_that_makes_no_files(scene, monkeypatch, capsys):
    """/proc exists but makes no files: the error said "No such file or directory" of a folder that is there."""
    code, _, err = run(monkeypatch, capsys, "count", scene, "--out", "/proc/results")
    assert_user_error(code, err, "cannot write in /proc (files cannot be made there)")
    assert "No such file" not in err
