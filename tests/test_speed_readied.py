"""A run of many scenes readies each scene while the model runs the one before: its checkpoint is
opened on another thread, not between scenes on the main one, and closed on that thread too. A run that fails on a scene leaves no
checkpoint of a scene it never reached, and keeps the finished ones."""

import sqlite3
import threading

import cv2
import numpy as np

from conftest import run
from geotally.store import checkpoint
from geotally.store.checkpoint import checkpoint_path


def _png(path, seed):
    rng = np.random.default_rng(seed)
    ok, buf = cv2.imencode(".png", rng.integers(0, 255, (300, 400, 3), np.uint8))
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def _tiles(path) -> int:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT COUNT(*) FROM tiles").fetchone()[0]
    finally:
        db.close()


def test_the_next_scenes_checkpoint_is_opened_off_the_main_thread(tmp_path, monkeypatch, capsys):
    scenes = [_png(tmp_path / f"s{k}.png", k) for k in range(3)]
    opened_on = {}
    real_init = checkpoint.TileStore.__init__

    def init(self, path, manifest):
        opened_on[str(path)] = threading.current_thread() is threading.main_thread()
        real_init(self, path, manifest)

    monkeypatch.setattr(checkpoint.TileStore, "__init__", init)
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", *scenes, "--gsd", "0.15", "--out", out, "--quiet")
    assert code == 0, err
    paths = [str(checkpoint_path(out, str(s))) for s in scenes]
    assert [opened_on[p] for p in paths] == [True, False, False]  # the first before the model; the rest beside it
    assert all(_tiles(p) == 1 for p in paths)  # one tile each, committed through the store opened ahead


def test_finished_checkpoints_are_closed_off_the_main_thread_before_the_outputs(tmp_path, monkeypatch, capsys):
    scenes = [_png(tmp_path / f"s{k}.png", k) for k in range(3)]
    closed_on = {}
    real_close = checkpoint.TileStore.close

    def close(self, discard_if_empty=False):
        if not self._closed:
            closed_on[str(self.path)] = threading.current_thread() is threading.main_thread()
        real_close(self, discard_if_empty)

    monkeypatch.setattr(checkpoint.TileStore, "close", close)
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", *scenes, "--gsd", "0.15", "--out", out, "--quiet")
    assert code == 0, err
    paths = [str(checkpoint_path(out, str(s))) for s in scenes]
    assert [closed_on.get(p) for p in paths] == [False, False, False]
    assert not list(out.glob("*-wal")) and not list(out.glob("*-shm"))  # every store closed by the end
    assert all(_tiles(p) == 1 for p in paths)


def test_a_failed_run_leaves_no_checkpoint_of_a_scene_it_never_reached(tmp_path, monkeypatch, capsys):
    import geotally.detect.run as dr
    from geotally.errors import GeotallyError

    good, bad, later = (_png(tmp_path / f"{n}.png", k) for k, n in enumerate("abc"))
    real_read = dr.read_tile

    def read_tile(src, scene, *args, **kw):  # b.png fails as detection reads it (damage inside, say)
        if scene.path.endswith("b.png"):
            raise GeotallyError("b.png cannot be read: damaged inside")
        return real_read(src, scene, *args, **kw)

    monkeypatch.setattr(dr, "read_tile", read_tile)
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", good, bad, later, "--gsd", "0.15", "--out", out, "--quiet")
    assert code == 2 and "damaged inside" in err, err
    assert not list(out.glob("*-wal")) and not list(out.glob("*-shm"))  # every store closed
    assert not checkpoint_path(out, str(bad)).exists()
    assert not checkpoint_path(out, str(later)).exists()  # readied while b.png ran, then discarded
    assert _tiles(checkpoint_path(out, str(good))) == 1  # finished: kept, so a rerun resumes it
