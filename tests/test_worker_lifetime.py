"""Worker processes die with their parent: kill -9 of a --workers 2 run leaves no worker behind."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import write_raster

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process trees from /proc")


def _children(pid: int) -> set[int]:
    kids = set()
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                kids.add(int(p.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_kill_9_of_the_parent_ends_the_workers(tmp_path):
    # big enough that detection is still running when both workers are up
    rng = np.random.default_rng(0)
    scene = write_raster(tmp_path / "big.tif", rng.integers(0, 255, (3, 4000, 4000), dtype=np.uint8))
    proc = subprocess.Popen([sys.executable, "-m", "geotally.cli", "count", str(scene), "--workers", "2",
                             "--out", str(tmp_path / "out"), "-q"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 120
        kids: set[int] = set()
        while time.time() < deadline and proc.poll() is None:
            kids = _children(proc.pid)
            if len(kids) >= 2:
                break
            time.sleep(0.2)
        assert len(kids) >= 2, "the run ended before its workers were seen"
        time.sleep(3)  # let the workers load the model and start on tiles
        workers = _children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.time() + 20
        while time.time() < deadline and any(_alive(k) for k in workers):
            time.sleep(0.2)
        left = [k for k in workers if _alive(k)]
        assert left == [], f"workers outlived their parent: {left}"
    finally:
        try:  # whatever is left of the run's process group, so a failing test leaks nothing
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_ctrl_c_of_a_workers_run_says_one_line_and_ends_every_worker(tmp_path):
    """Ctrl-C at a terminal signals the whole process group, workers included: each worker printed a
    KeyboardInterrupt traceback (and once the run an internal error), and the run said nothing of
    what it kept. Now the workers ignore it, the run stops them, and one line says how to resume."""
    rng = np.random.default_rng(0)
    scene = write_raster(tmp_path / "big.tif", rng.integers(0, 255, (3, 4000, 4000), dtype=np.uint8))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "geotally.cli", "count", str(scene), "--workers", "2",
                             "--out", str(out), "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,  # its own group, as a terminal's foreground job
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as a shell starts it
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and len(_children(proc.pid)) < 2:
            time.sleep(0.2)
        time.sleep(3)  # the workers load the model and start on tiles
        workers = _children(proc.pid)
        assert proc.poll() is None and len(workers) >= 2, "the run ended before its workers were seen"
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert err.splitlines() == [f"interrupted: the tiles detected so far are kept in {out}; run the same "
                                    "command to resume"], err
        deadline = time.time() + 20
        while time.time() < deadline and any(_alive(k) for k in workers):
            time.sleep(0.2)
        assert not [k for k in workers if _alive(k)]
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
