"""Every numeric option of `count`, fed hostile values: exit 0 with a sane result, or exit 2 with one line
on stderr and nothing in --out. Never exit 0 after doing nothing, never a hang, never a traceback."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from conftest import write_raster
from geotally.cli import main

HOSTILE = ["0", "-1", "nan", "inf", "1e9", "abc"]
IN_RANGE = {("--overlap", "0")}
OPTIONS = ["--gsd", "--model-gsd", "--tile-size", "--overlap", "--batch", "--threads", "--queue-gap",
           "--queue-min", "--workers", "--size-thresholds", "--stationary-radius"]


@pytest.fixture(scope="module")
def small_scene(tmp_path_factory):
    rng = np.random.default_rng(0)
    data = rng.integers(60, 140, (3, 300, 300), dtype=np.uint8)
    return write_raster(tmp_path_factory.mktemp("fuzz") / "scene.tif", data)


def _run(argv, capfd) -> tuple[int, list[str]]:
    old = sys.argv
    sys.argv = ["geotally", *argv]
    try:
        with pytest.raises(SystemExit) as exc:
            main()
    finally:
        sys.argv = old
    lines = [ln for ln in capfd.readouterr().err.splitlines() if ln.strip()]
    return int(exc.value.code or 0), lines


@pytest.mark.parametrize("option", OPTIONS)
def test_hostile_values_exit_cleanly(option, small_scene, tmp_path, capfd):
    for value in HOSTILE:
        out = tmp_path / f"out-{value}"
        arg = f"{value},10,14" if option == "--size-thresholds" else value
        code, lines = _run(["count", str(small_scene), option, arg, "--out", str(out), "--quiet"], capfd)
        # Of these, only an overlap of 0 is a value in range; everything else must be refused.
        assert code == (0 if (option, value) in IN_RANGE else 2), (option, value, code, lines)
        if code == 2:
            assert len(lines) == 1 and lines[0].startswith("geotally: error:"), (option, value, lines)
            assert not out.exists(), (option, value)
        else:
            assert (out / "counts.csv").exists() and (out / "summary.json").exists(), (option, value)


def test_values_in_range_still_run(small_scene, tmp_path, capfd):
    code, lines = _run(["count", str(small_scene), "--overlap", "0", "--batch", "1", "--tile-size", "256",
                        "--out", str(tmp_path / "ok"), "--quiet"], capfd)
    assert code == 0 and (tmp_path / "ok" / "counts.csv").exists(), lines


def test_a_gsd_that_would_make_a_million_tiles_is_refused(small_scene, tmp_path, capfd):
    big = write_raster(tmp_path / "big.tif", np.zeros((3, 2000, 2000), np.uint8))
    code, lines = _run(["count", str(big), "--gsd", "2", "--model-gsd", "0.02", "--tile-size", "64",
                        "--overlap", "0", "--out", str(tmp_path / "o2"), "--quiet"], capfd)
    assert code == 2 and len(lines) == 1 and "tiles" in lines[0], lines
    assert not (tmp_path / "o2").exists()


@pytest.mark.parametrize("option", ["--iou", "--radius", "--conf"])
def test_evaluate_options_refuse_hostile_values(option, small_scene, tmp_path, capfd):
    truth = tmp_path / "truth.geojson"
    truth.write_text('{"type": "FeatureCollection", "features": []}')
    for value in HOSTILE + (["1.5"] if option != "--radius" else []):  # a fraction above 1
        if option == "--conf" and value == "0":
            continue  # a score threshold of 0 is in range (AP uses every detection)
        report = tmp_path / f"e-{value}.json"
        code, lines = _run(["evaluate", str(small_scene), str(truth), option, value, "-o", str(report)], capfd)
        assert code == 2, (option, value, lines)
        assert len(lines) == 1 and lines[0].startswith("geotally: error:") and option in lines[0], (option, value, lines)
        assert not report.exists()
