"""Trailer types: oriented crops, the shipped classifier on unseen synthetic vehicles, the GSD limit,
counts per type with their confusion correction, claims about tankers, and the training command."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from geotally.analysis.types import corrected, type_table
from geotally.imagery.crops import CropSpec, crop_from_array, long_axis
from geotally.models.trailers import DEFAULT_TRAILER_MODEL, TRAILER_TYPES, trailer_specs

shipped = pytest.mark.skipif(DEFAULT_TRAILER_MODEL not in trailer_specs(), reason="no shipped trailer-type model")


def _box(cx, cy, length, width, angle_deg):
    a = np.radians(angle_deg)
    u, v = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])
    return np.array([[cx, cy] + s * length / 2 * u + t * width / 2 * v for s, t in ((-1, -1), (1, -1), (1, 1), (-1, 1))])


@pytest.mark.parametrize("gsd", [0.15, 0.3, 0.5])
@pytest.mark.parametrize("angle", [0, 37, 90, 151])
def test_crop_puts_the_vehicle_along_the_width_at_the_crop_scale(gsd, angle):
    """A bright 16 x 2.5 m rectangle at any angle and GSD comes out horizontal, centred, 64 x 10 crop pixels."""
    import cv2

    size = int(60 / gsd)
    img = np.zeros((size, size, 3), np.uint8)
    corners = _box(size / 2 + 3.3, size / 2 - 2.1, 16 / gsd, 2.5 / gsd, angle)
    cv2.fillPoly(img, [np.round(corners * 16).astype(np.int32)], (255, 255, 255), shift=4)
    centre, axis = long_axis(corners[None])
    crop = crop_from_array(img, gsd, centre[0], axis[0], CropSpec())
    lit = crop[..., 0] > 127
    rows, cols = np.flatnonzero(lit.any(axis=1)), np.flatnonzero(lit.any(axis=0))
    tol = 3 + 2 * gsd / 0.25  # a rasterised edge is off by up to a scene pixel at each end
    assert abs((cols.max() - cols.min() + 1) - 64) <= tol and abs((rows.max() - rows.min() + 1) - 10) <= tol
    assert abs((cols.max() + cols.min()) / 2 - 47.5) <= 1.5 and abs((rows.max() + rows.min()) / 2 - 15.5) <= 1.5


def test_confusion_correction_recovers_true_type_counts():
    """With a known confusion matrix, corrected counts cover the true ones; raw counts do not."""
    rng = np.random.default_rng(4)
    conf = np.array([[80, 10, 5, 0, 5], [5, 180, 5, 5, 5], [2, 8, 40, 0, 0], [0, 5, 0, 95, 0], [2, 10, 2, 2, 34]])
    truth = np.array([300, 500, 120, 60, 40])
    rates = conf / conf.sum(axis=1, keepdims=True)
    observed = sum(rng.multinomial(n, r) for n, r in zip(truth, rates))
    est, lo, hi = corrected(observed, conf)
    assert ((lo <= truth) & (truth <= hi)).sum() >= 4
    assert abs(est[0] - truth[0]) < abs(observed[0] - truth[0])  # tankers: closer than the raw count


def test_counts_by_type_add_up_to_the_large_vehicles_per_zone():
    det = pd.DataFrame({"class": ["large_vehicle"] * 5 + ["small_vehicle"], "zone": ["A", "A", "B", "B", "B", "A"],
                        "trailer_type": ["tanker", "box", "tanker", "unknown", "bus", ""], "date": [None] * 6})
    t = type_table(det, ["A", "B"], TRAILER_TYPES, None, [""])
    per = t.groupby("zone")["count"].sum()
    assert per["A"] == 2 and per["B"] == 3 and per["ALL"] == 5
    assert int(t[(t.zone == "ALL") & (t["class"] == "tanker")]["count"].iloc[0]) == 2


@shipped
def test_shipped_classifier_types_unseen_synthetic_vehicles_at_0_3_m():
    from geotally.models.trailers import classify, get_trailer_spec
    from geotally.training.trailer import synth_set

    spec = get_trailer_spec()
    crops, labels, _ = synth_set(400, 777_001, (0.15, 0.6), gsd=0.3)  # seeds never used in training
    pred = classify(spec, crops).argmax(axis=1)
    acc = float((pred == labels).mean())
    print(f"synthetic accuracy at 0.3 m: {acc:.3f}")
    assert acc >= 0.90  # all five types, rigid box trucks and buses among them (the scene benchmark has three)


@shipped
@pytest.mark.slow
def test_count_types_large_vehicles_and_tests_a_tanker_claim(border_scene, tmp_path, monkeypatch, capsys):
    from conftest import run

    out = tmp_path / "res"
    code, stdout, err = run(monkeypatch, capsys, "count", border_scene["scene"], "--border", border_scene["border"],
                            "--sides", "TR,IQ", "--claim", "TR=100,IQ=1", "--claim-class", "tanker", "--out", out,
                            "--trailer-max-gsd", "0.6")  # the shipped model's real validation allows no GSD
    assert code == 0, err
    det = pd.read_csv(out / "counts.csv")
    by_type = pd.read_csv(out / "counts_by_type.csv", keep_default_na=False)
    large = det[(det["zone"] == "ALL") & (det["class"] == "large_vehicle")]["count"].iloc[0]
    assert by_type[by_type["zone"] == "ALL"]["count"].sum() == large
    assert {"estimate", "lo95", "hi95"} <= set(by_type.columns)
    claims = {c["zone"]: c for c in json.loads((out / "summary.json").read_text())["claims"]}
    assert claims["TR"]["class"] == "tanker" and claims["TR"]["verdict"] == "too high"
    import geopandas as gpd

    g = gpd.read_file(out / "detections.gpkg")
    large_rows = g[g["class"] == "large_vehicle"]
    assert set(large_rows["trailer_type"]) <= set(TRAILER_TYPES) and large_rows["trailer_type_score"].between(0, 1).all()
    assert np.allclose(large_rows[[f"p_{t}" for t in TRAILER_TYPES]].sum(axis=1), 1, atol=0.01)
    assert (g.loc[g["class"] == "small_vehicle", "trailer_type"].fillna("") == "").all()
    # a recount repeats the run's trailer settings (--trailer-max-gsd), as it does every other
    code, _, err = run(monkeypatch, capsys, "recount", out, "--conf", "0.3", "-q")
    assert code == 0, err
    again = gpd.read_file(out / "detections.gpkg")
    assert set(again.loc[again["class"] == "large_vehicle", "trailer_type"]) <= set(TRAILER_TYPES)
    assert json.loads((out / "summary.json").read_text())["parameters"]["trailer"]["max_gsd"] == 0.6


@shipped
@pytest.mark.slow
def test_by_default_types_are_refused_where_real_validation_failed(border_scene, tmp_path, monkeypatch, capsys):
    """The shipped classifier missed the 0.85 real-crop accuracy at every GSD: count says so and types nothing."""
    from conftest import run

    from geotally.models.trailers import get_trailer_spec

    spec = get_trailer_spec()
    if spec.max_gsd > 0:
        pytest.skip("this classifier is trusted up to some GSD")
    out = tmp_path / "res"
    code, stdout, err = run(monkeypatch, capsys, "count", border_scene["scene"], "--out", out)
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert "not trusted at any GSD" in summary["trailer_types"]["note"]
    by_type = pd.read_csv(out / "counts_by_type.csv", keep_default_na=False)
    assert set(by_type.loc[by_type["count"] > 0, "class"]) == {"unknown"}


@shipped
def test_scene_coarser_than_the_limit_gets_unknown_types(tmp_path):
    from conftest import noise_scene

    from geotally.detect.trailer_types import UNKNOWN, TrailerParams, type_vehicles
    from geotally.imagery.scene import open_scene

    sc = open_scene(noise_scene(tmp_path / "n.tif"))  # 0.5 m
    corners = _box(100, 100, 16 / 0.5, 2.5 / 0.5, 10)[None]
    t = type_vehicles(sc, corners, np.array(["large_vehicle"]), TrailerParams(max_gsd=0.4))
    assert t.types[0] == UNKNOWN and "coarser" in t.note
    t = type_vehicles(sc, corners, np.array(["large_vehicle"]), TrailerParams(max_gsd=0.6))
    assert t.types[0] in TRAILER_TYPES and abs(float(np.nansum(t.probs[0])) - 1) < 0.01


@pytest.mark.slow
def test_train_task_trailer_type_end_to_end(tmp_path, monkeypatch, capsys):
    """geotally train --task trailer-type on a tiny labelled set: an ONNX file and a card with confusions."""
    pytest.importorskip("torch")
    import cv2

    from conftest import run
    from geotally.training.trailer import synth_crop

    rng = np.random.default_rng(0)
    rows = []
    (tmp_path / "img").mkdir()
    for k, kind in enumerate(["tanker", "box", "flatbed", "bus", "tractor"] * 2):
        crop = synth_crop(kind, 0.15, rng, CropSpec(size_px=(160, 54)))  # 0.15 m "real" images
        big = np.zeros((120, 220, 3), np.uint8)
        big[33:87, 30:190] = crop
        cv2.imwrite(str(tmp_path / "img" / f"im{k}.png"), big[..., ::-1])
        corners = _box(110, 60, 16 / 0.15, 2.5 / 0.15, 0)
        t = {"tanker": "tanker", "box": "box", "flatbed": "flatbed_or_container", "bus": "bus", "tractor": "other"}[kind]
        rows.append({"id": f"x:{k}", "type": t, "file": f"img/im{k}.png", "gsd": 0.15,
                     "corners_px": " ".join(f"{v:.1f}" for v in corners.ravel()), "label_class": "truck"})
    pd.DataFrame(rows).to_csv(tmp_path / "types.csv", index=False)
    from geotally.training import trailer

    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Small(trailer.TrailerTrainParams):  # the same run, shrunk to seconds
        synth_crops: int = 40
        epochs: int = 1

    monkeypatch.setattr(trailer, "TrailerTrainParams", Small)
    code, out, err = run(monkeypatch, capsys, "train", tmp_path / "types.csv", "--task", "trailer-type",
                         "--images", tmp_path, "--name", "tiny-trailers", "--out", tmp_path / "run")
    assert code == 0, err
    entry = json.loads((tmp_path / "run" / "tiny-trailers.json").read_text())
    assert entry["task"] == "trailer-type" and entry["types"] == list(TRAILER_TYPES)
    assert (tmp_path / "run" / "tiny-trailers.onnx").is_file()
    conf = np.array(entry["validation"]["confusion"]["0.3"])
    assert conf.shape == (5, 5) and conf.sum() == 10  # every real crop validated once, by the fold that did not train on it
    spec = trailer_specs(tmp_path / "run")["tiny-trailers"]
    from geotally.models.trailers import classify

    p = classify(spec, np.zeros((3, 32, 96, 3), np.uint8))
    assert p.shape == (3, 5) and np.allclose(p.sum(axis=1), 1, atol=1e-4)
