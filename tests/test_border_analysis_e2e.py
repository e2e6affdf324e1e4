"""Border analysis through the CLI on a generated crossing: sides, bands, queues, evaluation,
calibration, intervals and claims."""

import json
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geotally import cli

pytestmark = pytest.mark.slow


def run(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["geotally", *map(str, args)])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    cap = capsys.readouterr()
    assert exc.value.code == 0, cap.err
    return cap.out


@pytest.fixture(scope="module")
def analysed(border_scene, tmp_path_factory):
    out = tmp_path_factory.mktemp("analysed") / "res"
    mp = pytest.MonkeyPatch()
    mp.setattr(sys, "argv", ["geotally", "count", border_scene["scene"], "--border", border_scene["border"],
                             "--sides", "TR,IQ", "--distance-bands", "0,100,250", "--out", str(out), "-q"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    mp.undo()
    assert exc.value.code == 0
    return out


def test_sides_from_the_border_line_match_truth(analysed, border_scene):
    counts = pd.read_csv(analysed / "counts.csv").set_index(["zone", "class"])["count"]
    truth = border_scene["counts"]
    for side in ("TR", "IQ"):
        assert abs(counts[(side, "large_vehicle")] - truth[side]["large_vehicle"]) <= max(3, 0.15 * truth[side]["large_vehicle"])
    summary = json.loads((analysed / "summary.json").read_text())
    assert summary["border"]["left_side"] == "TR" and summary["border"]["extended_to_scene_edge"] is False
    from geotally.imagery.checksum import file_sha256  # the border decides every side: traced like the zones

    assert summary["border"]["sha256"] == file_sha256(border_scene["border"])
    assert summary["border"]["file"] == str(Path(border_scene["border"]).resolve())
    assert summary["counts_corrected"] is False
    bands = pd.read_csv(analysed / "counts_by_band.csv")
    assert set(bands["band"]) <= {"0-100", "100-250", "250+"}
    per_side = bands[bands["zone"] != "ALL"].groupby(["zone", "class"])["count"].sum()
    for (side, cls), n in per_side.items():
        assert n == counts[(side, cls)]


def test_queues_found_through_the_detector(analysed, border_scene):
    det = gpd.read_file(analysed / "detections.gpkg")
    truth = gpd.read_file(border_scene["truth"]).to_crs(det.crs)
    di, ti = shapely.STRtree(truth.geometry.values).query(det.geometry.centroid.values, predicate="within")
    det_q = det["activity"].values[di] == "queue"
    true_q = truth["context"].values[ti] == "queue"
    precision = (det_q & true_q).sum() / det_q.sum()
    recall = (det_q & true_q).sum() / true_q.sum()
    # Queue finding itself reaches >= 0.9 on exact truth (test_analysis.py). Through the detector a
    # missed truck opens a ~27 m hole, over the 25 m gap, and can split a short queue below 5
    # vehicles: measured P 1.00 / R 0.81 on this small scene, P 1.00 / R 0.93 on the demo scene.
    assert precision >= 0.9 and recall >= 0.75, (precision, recall)
    queues = gpd.read_file(analysed / "queues.gpkg")
    assert {"vehicles", "length_km", "vehicles_per_km", "heading_deg", "zone"} <= set(queues.columns)
    assert (queues["vehicles"] >= 8).all() and set(queues["zone"]) <= {"TR", "IQ"}
    # trucks per queue: the queue's members of class large_vehicle (this scene's queues are trucks)
    large = det[det["class"] == "large_vehicle"].groupby("queue_id").size()
    assert (queues.set_index("queue_id")["large_vehicles"] == large.reindex(queues["queue_id"]).to_numpy()).all()
    assert (queues["large_vehicles"] >= 0.9 * queues["vehicles"]).all()
    assert gpd.read_file(analysed / "queues.geojson").crs.to_epsg() == 4326
    act = pd.read_csv(analysed / "counts_by_activity.csv")
    assert set(act["activity"]) <= {"queue", "parked_or_other"}


def test_evaluate_calibrate_and_claim(analysed, border_scene, tmp_path, monkeypatch, capsys):
    report = tmp_path / "eval.json"
    out = run(monkeypatch, capsys, "evaluate", analysed, border_scene["truth"], "--zones", border_scene["sides"],
              "--radius", "3", "-o", report)
    assert "large_vehicle" in out
    data = json.loads(report.read_text())
    assert data["per_class"]["large_vehicle"]["recall"] >= 0.8
    zones = {(z["zone"], z["class"]): z for z in data["per_zone"]}
    assert zones[("TR", "large_vehicle")]["n_truth"] == border_scene["counts"]["TR"]["large_vehicle"]
    cal = tmp_path / "cal.json"
    run(monkeypatch, capsys, "calibrate", report, "-o", cal)
    res = tmp_path / "calibrated"
    true_iq = border_scene["counts"]["IQ"]["large_vehicle"]
    out = run(monkeypatch, capsys, "count", border_scene["scene"], "--border", border_scene["border"], "--sides", "TR,IQ",
              "--calibration", cal, "--claim", f"TR=4530,IQ={true_iq}", "--out", res)
    counts = pd.read_csv(res / "counts.csv")
    # One labelled scene says nothing about how the rates vary between scenes: no interval, and it says so.
    assert {"estimate", "lo95", "hi95"} <= set(counts.columns) and counts["lo95"].isna().all()
    assert "fewer than 3" in out and "no interval" in out
    claims = {c["zone"]: c["verdict"] for c in json.loads((res / "summary.json").read_text())["claims"]}
    assert set(claims.values()) == {"untested: the calibration gives no interval for large_vehicle"}
    # The same evaluation read as three scene groups (one image each would be one group; here the
    # evaluation's rows are relabelled as three scenes with the same rates) gives an interval that holds.
    data = json.loads(report.read_text())
    rows = [dict(r, image=f"{r['image']}-{k}") for k in ("a", "b", "c") for r in data["per_image"]]
    three = tmp_path / "eval3.json"
    three.write_text(json.dumps(dict(data, per_image=rows)))
    run(monkeypatch, capsys, "calibrate", three, "-o", tmp_path / "cal3.json", "--group", r"-(\w)$")
    res3 = tmp_path / "calibrated3"
    out = run(monkeypatch, capsys, "count", border_scene["scene"], "--border", border_scene["border"], "--sides", "TR,IQ",
              "--calibration", tmp_path / "cal3.json", "--claim", f"TR=4530,IQ={true_iq}", "--out", res3)
    counts = pd.read_csv(res3 / "counts.csv")
    iq = counts[(counts["zone"] == "IQ") & (counts["class"] == "large_vehicle")].iloc[0]
    assert iq["lo95"] <= true_iq <= iq["hi95"]
    claims = {c["zone"]: c["verdict"] for c in json.loads((res3 / "summary.json").read_text())["claims"]}
    assert claims == {"TR": "too high", "IQ": "consistent"}
    assert "too high" in out


def test_short_border_line_is_extended_and_said(border_scene, tmp_path, monkeypatch, capsys):
    line = gpd.read_file(border_scene["border"])
    (x0, y0), (x1, y1) = line.geometry.iloc[0].coords
    short = gpd.GeoDataFrame({"name": ["b"]}, geometry=[shapely.LineString(
        [(x0 + 0.4 * (x1 - x0), y0 + 0.4 * (y1 - y0)), (x0 + 0.6 * (x1 - x0), y0 + 0.6 * (y1 - y0))])], crs=line.crs)
    path = tmp_path / "short.geojson"
    short.to_file(path)
    out_dir = tmp_path / "res"
    out = run(monkeypatch, capsys, "count", border_scene["scene"], "--border", path, "--sides", "TR,IQ", "--out", out_dir)
    assert "extended" in out
    assert json.loads((out_dir / "summary.json").read_text())["border"]["extended_to_scene_edge"] is True


def test_a_seven_lane_truck_queue_is_counted_as_queued_lane_by_lane(tmp_path, monkeypatch, capsys):
    """A generated crossing where the trucks queue in up to seven lanes a side (beyond two on the
    shoulder and verge), at 0.3 m, counted through the CLI without a road map: the lanes are hemmed
    in like a car park, yet they are queues (before the multi-lane rule: 17% of the trucks), one line
    per lane, grouped as the lanes of one queue."""
    from geotally.synth import LayoutParams, SynthParams, write_scene

    lp = LayoutParams(width_m=40.0 + 2 * 7 * 3.6 * 1.6, height_m=1200, queue={"TR": 150, "IQ": 150}, depot={},
                      cars_road=0, cars_park=0, queue_lanes=7, seed=3)
    scene = write_scene(tmp_path / "scene", SynthParams(layout=lp, gsd=0.3))
    out = run(monkeypatch, capsys, "count", scene["scene"], "--border", scene["border"], "--sides", "TR,IQ",
              "--out", tmp_path / "res")
    det = gpd.read_file(tmp_path / "res" / "detections.gpkg")
    trucks = det[det["class"] == "large_vehicle"]
    assert len(trucks) >= 0.9 * 300
    assert (trucks["activity"] == "queue").mean() >= 0.8
    queues = gpd.read_file(tmp_path / "res" / "queues.gpkg")
    assert queues["lanes"].max() >= 3
    lanes = queues.groupby("lane_group")["queue_id"].count()
    assert (queues.set_index("queue_id").loc[lanes.index, "lanes"].to_numpy() == lanes.to_numpy()).all()
    # summary.json and the terminal count the lanes of one queue once, beside the lane lines
    totals = json.loads((tmp_path / "res" / "summary.json").read_text())["queues"]
    assert totals["count"] == len(queues) and totals["groups"] == queues["lane_group"].nunique() < len(queues)
    assert f"queues: {totals['groups']} ({len(queues)} lane lines) with " in " ".join(out.split())
    # and so does `geotally change`, against a second count of the same scene
    run(monkeypatch, capsys, "count", scene["scene"], "--border", scene["border"], "--sides", "TR,IQ",
        "--out", tmp_path / "res2")
    run(monkeypatch, capsys, "change", tmp_path / "res", tmp_path / "res2", "-o", tmp_path / "change.csv")
    ch = pd.read_csv(tmp_path / "change.csv", keep_default_na=False)
    row = ch[(ch["zone"] == "ALL") & (ch["class"] == "large_vehicle")].iloc[0]
    assert row["queues_a"] == row["queues_b"] == totals["groups"]
