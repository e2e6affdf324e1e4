"""The geotally program ends as soon as its work is flushed (geotally.cli.entry): no Python teardown
after it, and nothing lost by that: the results, the log file, what it printed and its exit code."""

import json
import subprocess
import sys

from conftest import noise_scene

PROBE = ("import atexit, sys\n"
         "atexit.register(lambda: print('teardown ran', file=sys.stderr))\n"
         "from geotally.cli import entry\n"
         "sys.argv = ['geotally', *sys.argv[1:]]\n"
         "entry()\n")


def _program(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_the_program_skips_pythons_teardown():
    done = _program("--version")
    assert done.returncode == 0 and done.stdout.startswith("geotally ")
    assert "teardown ran" not in done.stderr


def test_a_count_run_as_the_program_loses_nothing(tmp_path):
    scene = noise_scene(tmp_path / "s.tif", size=512)
    out, log = tmp_path / "out", tmp_path / "run.log"
    done = _program("--log-file", log, "count", scene, "--out", out)
    assert done.returncode == 0, done.stderr
    assert "vehicles per zone" in done.stdout and done.stdout.rstrip().splitlines()[-1].startswith("queues: ")
    assert f"results written to {out}" in done.stderr.replace("\n", "")
    lines = log.read_text().splitlines()
    assert any("writing the results" in ln for ln in lines)  # the log's last records reached the file
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenes"][0]["sha256"] and (out / "manifest.json").exists()
    assert not list(tmp_path.glob(".out.staging-*"))


def test_errors_keep_their_line_and_exit_code(tmp_path):
    done = _program("count", tmp_path / "missing.tif", "--out", tmp_path / "out")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"geotally: error: scene not found: {tmp_path / 'missing.tif'}"]
    assert not (tmp_path / "out").exists()
