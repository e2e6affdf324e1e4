"""Every value the CLI refuses, the Python API refuses too, with the same one line: the checks live
with the typed configs and run in the API, and the CLI only parses and prints.

Each numeric option of every command is tried with 0, -1, nan, inf and 1e300 (whole-number options
with 0, -1 and 10**12, which is all their parser lets through): wherever the CLI exits 2, the API
call that does the same raises a GeotallyError with the CLI's message, and neither leaves output.
A word is refused by the CLI's parser, and by the API with one line too (no TypeError).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import geotally
import geotally.api
from conftest import run
from geotally.config import (QueueParams, RoadParams, RouteParams, SampleParams, SearchParams, StationaryParams,
                             TrailerParams)
from geotally.config.synth import LayoutParams, SynthParams
from geotally.config.training import DatasetParams, DegradeParams, TrainParams
from geotally.errors import GeotallyError

FLOATS = ["0", "-1", "nan", "inf", "1e300"]
INTS = ["0", "-1", str(10**12)]
ROUTE = "42.56,37.14;42.57,37.15"


def _count(tmp, **options):
    geotally.count(str(tmp / "scene.tif"), out=tmp / "out", **options)


def _train(tmp, dataset: dict | None = None, params: dict | None = None, synth: int = 0):
    from geotally.training.run import run_training

    run_training([str(tmp)], tmp / "runs", "parity", dataset=DatasetParams(**(dataset or {})),
                 params=TrainParams(**(params or {})), synth=synth)


def _review(results: Path, sample: SampleParams | None = None, port: int = 8765):
    from geotally.review.run import prepare

    prepare(results, sample, port=port)


def _synth(tmp, layout: dict | None = None, **params):
    from geotally.synth import write_scene

    write_scene(tmp / "synth", SynthParams(layout=LayoutParams(**(layout or {})), **params))


# (CLI arguments before the option, the option, its values, the same call through the API with the
# value as the CLI's parser hands it over: a float for a float option, an int for a whole-number one)
C = ["count", "{tmp}/scene.tif", "--out", "{tmp}/out"]
T = ["train", "{tmp}", "--name", "parity", "--out", "{tmp}/runs"]
E = ["evaluate", "{tmp}/det.gpkg", "{tmp}/truth.geojson", "-o", "{tmp}/ev.json"]
S = ["synth", "--out", "{tmp}/synth"]
BIG = str(10**12)
POSITIVE = ["-1", "nan", "inf", "1e300"]  # where 0 is a valid value
CASES = [
    (C, "--gsd", FLOATS, lambda t, v: _count(t, gsd=float(v))),
    (C, "--model-gsd", FLOATS, lambda t, v: _count(t, model_gsd=float(v))),
    (C, "--tile-size", INTS, lambda t, v: _count(t, tile_size=int(v))),
    (C, "--overlap", ["-1", BIG], lambda t, v: _count(t, overlap=int(v))),
    (C, "--batch", INTS, lambda t, v: _count(t, batch=int(v))),
    (C, "--threads", INTS, lambda t, v: _count(t, threads=int(v))),
    (C, "--workers", INTS, lambda t, v: _count(t, workers=int(v))),
    (C, "--queue-gap", FLOATS, lambda t, v: _count(t, queue=QueueParams(max_gap=float(v)))),
    (C, "--queue-min", INTS, lambda t, v: _count(t, queue=QueueParams(min_vehicles=int(v)))),
    (C, "--stationary-radius", FLOATS, lambda t, v: _count(t, stationary=StationaryParams(radius_m=float(v)))),
    (C, "--trailer-max-gsd", FLOATS, lambda t, v: _count(t, trailer=TrailerParams(max_gsd=float(v)))),
    (C + ["--roads", "{tmp}/roads.geojson"], "--road-distance", FLOATS,
     lambda t, v: _count(t, roads=t / "roads.geojson", road=RoadParams(distance_m=float(v)))),
    (C + ["--roads", "{tmp}/roads.geojson", "--route", ROUTE], "--route-stretch", FLOATS,
     lambda t, v: _count(t, roads=t / "roads.geojson", route=ROUTE, route_params=RouteParams(stretch_km=float(v)))),
    (C, "--conf", FLOATS, lambda t, v: _count(t, conf=float(v))),
    (C + ["--border", "{tmp}/b.geojson", "--claim"], "TR=", POSITIVE,
     lambda t, v: _count(t, border=t / "b.geojson", claim={"TR": float(v)})),
    (C, "--size-thresholds", ["0,10,14", "6,10,1e300", "6,10,inf"],
     lambda t, v: _count(t, size_thresholds=tuple(float(x) for x in v.split(",")))),
    (C + ["--border", "{tmp}/b.geojson"], "--distance-bands", ["-1,10", "0,1e300", "0,inf"],
     lambda t, v: _count(t, border=t / "b.geojson", distance_bands=tuple(float(x) for x in v.split(",")))),
    (T, "--epochs", INTS, lambda t, v: _train(t, params={"epochs": int(v)})),
    (T, "--batch", INTS, lambda t, v: _train(t, params={"batch": int(v)})),
    (T, "--lr0", FLOATS, lambda t, v: _train(t, params={"lr0": float(v)})),
    (T, "--warmup-epochs", POSITIVE, lambda t, v: _train(t, params={"warmup_epochs": float(v)})),
    (T, "--pseudo-score", FLOATS, lambda t, v: _train(t, dataset={"pseudo_score": float(v)})),
    (T, "--mask-score-large", FLOATS, lambda t, v: _train(t, dataset={"mask_score_large": float(v)})),
    (T, "--copies", INTS, lambda t, v: _train(t, dataset={"copies": int(v)})),
    (T, "--copies-large", ["-1", BIG], lambda t, v: _train(t, dataset={"copies_large": int(v)})),
    (T, "--imgsz", INTS, lambda t, v: _train(t, dataset={"imgsz": int(v)})),
    (T, "--model-gsd", FLOATS, lambda t, v: _train(t, dataset={"model_gsd": float(v)})),
    (T, "--synth", ["-1", BIG], lambda t, v: _train(t, synth=int(v))),
    (T + ["--gsd-range"], "0.1,", FLOATS,
     lambda t, v: _train(t, dataset={"degrade": DegradeParams(gsd_range=(0.1, float(v)))})),
    (["review", "{tmp}/results"], "--port", ["-1", "70000", BIG], lambda t, v: _review(t / "results", port=int(v))),
    (["review", "{tmp}/results", "--sample", "10"], "--window-m", FLOATS,
     lambda t, v: _review(t / "results", SampleParams(detections=10, window_m=float(v)))),
    (["review", "{tmp}/results", "--sample", "10"], "--windows", ["-1", BIG],
     lambda t, v: _review(t / "results", SampleParams(detections=10, windows=int(v)))),
    (["review", "{tmp}/results"], "--sample", ["-1", BIG],
     lambda t, v: _review(t / "results", SampleParams(detections=int(v)))),
    (["review", "{tmp}/results", "--sample", "10"], "--seed", ["-1", BIG],
     lambda t, v: _review(t / "results", SampleParams(detections=10, seed=int(v)))),
    (["recount", "{tmp}/results"], "--queue-gap", FLOATS,
     lambda t, v: geotally.recount(t / "results", queue={"max_gap": float(v)})),
    (["recount", "{tmp}/results"], "--queue-min", INTS,
     lambda t, v: geotally.recount(t / "results", queue={"min_vehicles": int(v)})),
    (["recount", "{tmp}/results"], "--stationary-radius", FLOATS,
     lambda t, v: geotally.recount(t / "results", stationary={"radius_m": float(v)})),
    (["recount", "{tmp}/results"], "--road-distance", FLOATS,
     lambda t, v: geotally.recount(t / "results", road={"distance_m": float(v)})),
    (["recount", "{tmp}/results"], "--route-stretch", FLOATS,
     lambda t, v: geotally.recount(t / "results", route_params={"stretch_km": float(v)})),
    (["calibrate", "{tmp}/evaluation.json", "-o", "{tmp}/cal.json"], "--gsd", FLOATS,
     lambda t, v: geotally.calibrate(t / "evaluation.json", out=t / "cal.json", gsd=(float(v),))),
    (E, "--iou", FLOATS, lambda t, v: geotally.evaluate([t / "det.gpkg"], t / "truth.geojson", iou=float(v),
                                                        out=t / "ev.json")),
    (E, "--radius", FLOATS, lambda t, v: geotally.evaluate([t / "det.gpkg"], t / "truth.geojson", radius_m=float(v),
                                                           out=t / "ev.json")),
    (E, "--conf", POSITIVE, lambda t, v: geotally.evaluate([t / "det.gpkg"], t / "truth.geojson", conf=float(v),
                                                           out=t / "ev.json")),
    (S, "--gsd", FLOATS, lambda t, v: _synth(t, gsd=float(v))),
    (S, "--haze", POSITIVE, lambda t, v: _synth(t, haze=float(v))),
    (S, "--sun-elevation", FLOATS, lambda t, v: _synth(t, sun_elevation=float(v))),
    (S, "--sun-azimuth", POSITIVE, lambda t, v: _synth(t, sun_azimuth=float(v))),
    (S, "--width-m", FLOATS + ["1e9"], lambda t, v: _synth(t, {"width_m": float(v)})),
    (S, "--height-m", FLOATS, lambda t, v: _synth(t, {"height_m": float(v)})),
    (S, "--jpeg-quality", INTS, lambda t, v: _synth(t, jpeg_quality=int(v))),
    (S, "--cars", ["-1", BIG], lambda t, v: _synth(t, {"cars_road": int(v)})),
    (S, "--parked", ["-1", BIG], lambda t, v: _synth(t, {"cars_park": int(v)})),
    (S, "--seed", ["-1", BIG], lambda t, v: _synth(t, {"seed": int(v)})),
    (S, "--dates", ["0", "-1", BIG], lambda t, v: __import__("geotally.synth").synth.series_params(SynthParams(), int(v))),
    (C + ["--bbox", "42.5,37.1,42.6,37.2"], "--max-cloud", POSITIVE,
     lambda t, v: geotally.count_scenes([str(t / "scene.tif")], out=t / "out", search=SearchParams(
         bbox="42.5,37.1,42.6,37.2", max_cloud=float(v)))),
    (C + ["--bbox", "42.5,37.1,42.6,37.2"], "--max-items", INTS,
     lambda t, v: geotally.count_scenes([str(t / "scene.tif")], out=t / "out", search=SearchParams(
         bbox="42.5,37.1,42.6,37.2", max_items=int(v)))),
    (["search", "--bbox", "42.5,37.1,42.6,37.2"], "--max-cloud", POSITIVE,
     lambda t, v: geotally.api.search(SearchParams(bbox="42.5,37.1,42.6,37.2", max_cloud=float(v)))),
    (["search", "--bbox", "42.5,37.1,42.6,37.2"], "--max-items", INTS,
     lambda t, v: geotally.api.search(SearchParams(bbox="42.5,37.1,42.6,37.2", max_items=int(v)))),
    (["demo", "--out", "{tmp}/demo"], "--gsd", FLOATS,
     lambda t, v: __import__("geotally.pipeline.demo").pipeline.demo.run_demo(t / "demo", gsd=float(v))),
    (["demo", "--out", "{tmp}/demo"], "--seed", ["-1", BIG],
     lambda t, v: __import__("geotally.pipeline.demo").pipeline.demo.run_demo(t / "demo", seed=int(v))),
]


def _files(tmp: Path) -> None:
    """The inputs the calls name: placeholders where a value check must come before any read."""
    (tmp / "scene.tif").write_bytes(b"not read: the options are checked first")
    for name in ("roads.geojson", "b.geojson", "truth.geojson", "det.gpkg"):
        (tmp / name).write_text("{}")
    (tmp / "evaluation.json").write_text('{"per_image": []}')


def _ids():
    return [f"{c[0][0]} {c[1]}{v}" for c in CASES for v in c[2]]


@pytest.mark.parametrize("case, value", [(c, v) for c in CASES for v in c[2]], ids=_ids())
def test_the_api_refuses_what_the_cli_refuses(case, value, tmp_path, monkeypatch, capsys, parity_results):
    before, option, _, call = case
    _files(tmp_path)
    if "{tmp}/results" in " ".join(before):
        (tmp_path / "results").symlink_to(parity_results, target_is_directory=True)
    args = [a.replace("{tmp}", str(tmp_path)) for a in before]
    args += [option + value] if option.endswith(("=", ",")) else [option, value]
    code, _, err = run(monkeypatch, capsys, *args)
    assert code == 2, err
    lines = err.rstrip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("geotally: error: ") and "Traceback" not in err, err
    with pytest.raises(GeotallyError) as exc:
        call(tmp_path, value)
    assert f"geotally: error: {exc.value}" == lines[0]
    for out in ("out", "runs", "synth", "demo", "cal.json", "ev.json"):
        assert not (tmp_path / out).exists(), out


@pytest.mark.parametrize("call", [
    lambda t: _count(t, gsd="fine"), lambda t: _count(t, queue=QueueParams(max_gap="far")),
    lambda t: _count(t, route_params=RouteParams(stretch_km=None)), lambda t: _train(t, params={"epochs": "ten"}),
    lambda t: _synth(t, haze="some"), lambda t: geotally.evaluate([t / "det.gpkg"], t / "truth.geojson", iou="x"),
])
def test_a_word_for_a_number_is_one_line_from_the_api(call, tmp_path):
    _files(tmp_path)
    with pytest.raises(GeotallyError) as exc:
        call(tmp_path)
    assert "\n" not in str(exc.value) and "must be" in str(exc.value)


@pytest.fixture(scope="module")
def parity_results(border_scene, tmp_path_factory) -> Path:
    """A finished results folder, for the commands that read one (review)."""
    out = tmp_path_factory.mktemp("parity") / "res"
    geotally.count_scenes([border_scene["scene"]], out=out, tile_size=512, overlap=64)
    return out


def _numeric(param) -> bool:
    """An int or float option, whether the CLI framework types it with click's types or its own."""
    described = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if described is not None:
        return described in (int, float)
    return getattr(getattr(param, "type", None), "name", "") in ("float", "integer")


def test_every_numeric_option_of_every_command_is_in_the_table():
    """A new numeric option must be added to CASES (and so be checked in the API)."""
    from geotally.cli import command

    tried = {(c[0][0], c[1].rstrip("=,")) for c in CASES}
    missing = []
    for name, cmd in command().commands.items():
        for sub in getattr(cmd, "commands", {}).values() or [cmd]:
            for p in sub.params:
                if p.param_type_name == "option" and _numeric(p):
                    flag = max(p.opts, key=len)
                    if (name, flag) not in tried:
                        missing.append((name, flag))
    assert not missing, missing
    assert len(tried) > 40  # the walk found the options (a check that sees none would pass anything)
