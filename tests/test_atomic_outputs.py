"""A results folder is switched as a whole: a reader, or a run killed at any moment, sees the old
results or the new ones, never a mixture; dead runs' staging folders are cleaned up."""

import json
import os
import signal
import stat
import subprocess
import sys
import time

import pytest

from conftest import noise_scene, run
from geotally.errors import GeotallyError
from geotally.store.outputs import MANIFEST, check_manifest, staged_output

WRITER = """
import sys, time
from geotally.store.outputs import staged_output
out = sys.argv[1]
run = 0
while True:
    run += 1
    with staged_output(out) as stage:
        for name in ("counts.csv", "detections.geojson", "summary.json", "report.html"):
            (stage / name).write_text(f"run {run}\\n" * 2000)
    print(run, flush=True)
"""


def _consistent(out) -> set[str]:
    """The run ids of the files in a results folder; one id means one run's files."""
    check_manifest(out)
    return {(out / n).read_text().split("\n", 1)[0] for n in ("counts.csv", "detections.geojson", "summary.json",
                                                              "report.html")}


def test_a_run_killed_at_any_moment_leaves_one_runs_files(tmp_path):
    out = tmp_path / "res"
    (out).mkdir()
    (out / ".geotally-checkpoint-x.sqlite").write_text("keep me")
    (out / "notes.txt").write_text("mine")
    kills = 0
    for delay in (0.05, 0.11, 0.17, 0.23, 0.31, 0.37, 0.43, 0.5):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(out)], stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()  # at least one run landed
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        assert len(_consistent(out)) == 1
        assert (out / ".geotally-checkpoint-x.sqlite").read_text() == "keep me"  # checkpoints are carried over
        assert (out / "notes.txt").read_text() == "mine"  # and so are the user's own files
    assert kills == 8
    # the next run clears what the dead ones left beside the folder
    with staged_output(out) as stage:
        (stage / "counts.csv").write_text("new\n")
    assert not list(tmp_path.glob(".res.staging-*"))


def test_a_failed_write_changes_nothing(tmp_path):
    out = tmp_path / "res"
    with staged_output(out) as stage:
        (stage / "counts.csv").write_text("old\n")
    with pytest.raises(RuntimeError), staged_output(out) as stage:
        (stage / "counts.csv").write_text("new\n")
        raise RuntimeError("boom")
    assert (out / "counts.csv").read_text() == "old\n"
    check_manifest(out)


def test_files_of_an_earlier_run_do_not_linger(tmp_path, monkeypatch, capsys):
    scene = noise_scene(tmp_path / "s.tif")
    out = tmp_path / "out"
    assert run(monkeypatch, capsys, "count", scene, "--out", out, "--export", "kml", "-q")[0] == 0
    assert (out / "detections.kml").exists()
    assert run(monkeypatch, capsys, "count", scene, "--out", out, "-q")[0] == 0
    assert not (out / "detections.kml").exists()  # the second run did not ask for it: no stale file
    listed = json.loads((out / MANIFEST).read_text())["files"]
    assert set(listed) == {p.name for p in out.iterdir() if p.is_file() and not p.name.startswith(".")} - {MANIFEST}


def test_evaluate_refuses_a_mixed_folder(tmp_path, monkeypatch, capsys):
    scene = noise_scene(tmp_path / "s.tif")
    out = tmp_path / "out"
    assert run(monkeypatch, capsys, "count", scene, "--out", out, "-q")[0] == 0
    (out / "summary.json").write_text((out / "summary.json").read_text().replace('"created_utc"', '"created_utc" '))
    with pytest.raises(GeotallyError, match="not the file its run wrote"):
        check_manifest(out)
    os.remove(out / MANIFEST)
    with pytest.raises(GeotallyError, match="did not finish"):
        check_manifest(out)


def test_results_folder_keeps_its_permissions_and_a_new_one_follows_the_umask(tmp_path):
    # mkdtemp makes 0700 folders: the staged results must not take that over the user's folder
    kept = tmp_path / "kept"
    kept.mkdir()
    os.chmod(kept, 0o775)
    with staged_output(kept) as stage:
        (stage / "counts.csv").write_text("x\n")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o775
    old = os.umask(0o027)
    try:
        with staged_output(tmp_path / "new") as stage:
            (stage / "counts.csv").write_text("x\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o750
