"""The command line conventions users expect: --version, python -m geotally, logging on request,
flags shown as flags, and progress that says what it counts."""

import logging
import subprocess
import sys

import pytest

from conftest import noise_scene, run


def test_version_and_python_m(monkeypatch, capsys):
    from geotally import __version__

    code, stdout, _ = run(monkeypatch, capsys, "--version")
    assert code == 0 and stdout.strip() == f"geotally {__version__}"
    done = subprocess.run([sys.executable, "-m", "geotally", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"geotally {__version__}"


def test_quiet_by_default_verbose_and_log_file(tmp_path, monkeypatch, capsys):
    scene = noise_scene(tmp_path / "s.tif")
    code, _, err = run(monkeypatch, capsys, "count", scene, "--out", tmp_path / "a", "-q")
    assert code == 0 and err.strip() == ""
    log = tmp_path / "run.log"
    code, _, err = run(monkeypatch, capsys, "-v", "--log-file", log, "count", scene, "--out", tmp_path / "b", "-q")
    assert code == 0, err
    text = log.read_text()
    from geotally.models.registry import DEFAULT_MODEL

    for what in ("scene ", f"model {DEFAULT_MODEL}", "on onnx", "detection: ", "writing the results: "):
        assert what in text and what in err, what
    logging.getLogger("geotally").handlers.clear()


def test_help_shows_flags_as_flags_and_no_type_tags(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "200")
    code, stdout, _ = run(monkeypatch, capsys, "count", "--help")
    assert code == 0
    assert "<bool>" not in stdout and "list[str]" not in stdout
    quiet = next(line for line in stdout.splitlines() if "--quiet" in line)
    assert "-q, --quiet " in quiet
    assert "large_vehicle=0.25" in stdout.replace("\n", " ").replace("  ", " ")  # the default model's thresholds


def test_progress_says_raw_detections_and_scene_k_of_n(tmp_path):
    a, b = noise_scene(tmp_path / "a.tif"), noise_scene(tmp_path / "b.tif", seed=1)
    done = subprocess.run([sys.executable, "-m", "geotally", "count", str(a), str(b), "--date", "2026-06-01",
                           "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin",
                                                               "TERM": "xterm", "FORCE_COLOR": "0",
                                                               "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "raw detections (before merge)" in done.stderr
    assert "scene 2 of 2" in done.stderr


def test_a_failing_model_source_is_named_before_the_next(monkeypatch, tmp_path):
    from dataclasses import replace

    from geotally.models.cache import ensure_model
    from geotally.models.registry import get_spec
    from geotally.models.sources import LocalFile

    monkeypatch.setenv("GEOTALLY_CACHE_DIR", str(tmp_path / "cache"))
    spec = get_spec("geotally-vehicles-v1")  # any shipped model: a local file source
    two = replace(spec, sources=(LocalFile(str(tmp_path / "missing.onnx")), *spec.sources))
    notes = []
    monkeypatch.setattr("geotally.models.cache.LocalFile", type("Never", (), {}))  # fetch, do not run in place
    path = ensure_model(two, say=notes.append)
    assert path.exists()
    assert any(n.startswith("source 1 of 2 failed") and "trying source 2" in n for n in notes), notes
