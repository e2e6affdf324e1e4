"""The run records its own model floor: the seconds, calls and input megapixels of the model itself,
counted afresh for every run (benchmarks/whole_process.py reads them from summary.json)."""

import json
import math

import geotally


def test_summary_records_the_runs_own_model_time(border_scene, tmp_path):
    first = geotally.count(border_scene["scene"], tile_size=512, overlap=128, batch=2, out=tmp_path / "a")
    det = first.summary.model.detector
    tiles = first.summary.scenes[0].tiles
    assert tiles > 2
    assert det["model_seconds"] > 0
    assert det["model_calls"] == math.ceil(tiles / 2)  # one session.run per batch of two tiles
    assert det["model_megapixels"] == round(tiles * 512 * 512 / 1e6, 2)
    on_disk = json.loads((tmp_path / "a" / "summary.json").read_text())["model"]["detector"]
    assert on_disk["model_calls"] == det["model_calls"]
    # the detector is cached between runs of one process; its tally is not
    second = geotally.count(border_scene["scene"], tile_size=512, overlap=128, batch=2)
    assert second.summary.model.detector["model_calls"] == det["model_calls"]
