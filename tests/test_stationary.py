"""Vehicles standing where one stood on the date before: the shift between the dates measured from the
vehicles, the per-vehicle marks against exact truth, and the columns, queue shares and table a
multi-date count writes."""

import json

import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine

import geotally
from geotally.analysis.queues import QueueParams
from geotally.analysis.stationary import NO, UNKNOWN, YES, StationaryParams, find_stationary, register


def _two_dates(rng, shift, parked=40, moving=30, noise=0.25):
    """A lot of parked cars seen on two dates (the second shifted by ``shift``), plus traffic that moved."""
    lot = np.column_stack([np.repeat(np.arange(8) * 2.6, 5), np.tile(np.arange(5) * 7.0, 8)])[:parked]
    road_a = np.column_stack([rng.uniform(-80, 80, moving), rng.uniform(50, 60, moving)])
    road_b = np.column_stack([rng.uniform(-80, 80, moving), rng.uniform(50, 60, moving)])
    a = np.vstack([lot, road_a])
    b = np.vstack([lot + rng.normal(0, noise, lot.shape), road_b]) - shift  # the later date is misregistered
    xy = np.vstack([a, b])
    n = len(a)
    heading = np.concatenate([np.full(parked, 90.0), np.zeros(moving)] * 2)
    length = np.full(2 * n, 4.6)
    cls = np.full(2 * n, "small_vehicle", dtype=object)
    dates = np.array(["2026-06-01"] * n + ["2026-06-08"] * n, dtype=object)
    truth = np.array([UNKNOWN] * n + [YES] * parked + [NO] * moving, dtype=object)
    return dates, xy, heading, length, cls, truth


def test_the_shift_between_two_dates_is_measured_from_the_vehicles_that_stayed():
    rng = np.random.default_rng(3)
    shift = np.array([2.7, -1.9])
    dates, xy, *_ = _two_dates(rng, shift)
    a, b = xy[dates == "2026-06-01"], xy[dates == "2026-06-08"]
    found, support = register(a, b)
    assert np.hypot(*(found - shift)) < 0.3
    assert support >= 30  # most of the 40 parked cars agree on it (noise 0.25 m)
    # nothing in common: no offset gathers enough pairs to be applied
    _, few = register(a[40:], rng.uniform(-80, 80, (30, 2)))
    assert few < StationaryParams().min_support


def test_parked_vehicles_are_stationary_and_moved_ones_are_not_despite_a_misregistration():
    rng = np.random.default_rng(5)
    dates, xy, heading, length, cls, truth = _two_dates(rng, np.array([-3.4, 2.2]))
    seen = {d: shapely.box(-200, -200, 200, 200) for d in ("2026-06-01", "2026-06-08")}
    st = find_stationary(dates, xy, heading, length, cls, seen, xy)
    later = dates == "2026-06-08"
    assert (st.state[~later] == UNKNOWN).all()  # the first date has nothing before it
    assert (st.state[later] == truth[later]).mean() >= 0.95
    assert set(st.since[st.state == YES]) == {"2026-06-01"}
    reg = st.registrations[0]
    assert reg.applied and abs(reg.dx_m + 3.4) < 0.3 and abs(reg.dy_m - 2.2) < 0.3
    # without the shift nearly none of the parked cars would be found at their spot
    unshifted = find_stationary(dates, xy, heading, length, cls, seen, xy, StationaryParams(min_support=10**6))
    assert (unshifted.state[later][:40] == YES).mean() < 0.2
    # a place the date before did not image is unknown, not "moved"
    half = {"2026-06-01": shapely.box(-200, -200, 200, 20), "2026-06-08": seen["2026-06-08"]}
    part = find_stationary(dates, xy, heading, length, cls, half, xy)
    assert (part.state[later][40:] == UNKNOWN).all()  # the traffic lies at y 50-60, outside what was seen


def test_a_turned_or_other_class_vehicle_at_the_spot_is_not_stationary():
    xy = np.array([[0.0, 0.0], [0.3, 0.2], [20.0, 0.0], [20.2, 0.1], [40.0, 0.0], [40.1, 0.0]])
    dates = np.array(["2026-06-01", "2026-06-08"] * 3, dtype=object)
    heading = np.array([10.0, 185.0, 10.0, 80.0, 10.0, 10.0])  # same axis reversed / turned 70 deg / same
    length = np.array([4.6, 4.5, 4.6, 4.6, 4.6, 4.7])
    cls = np.array(["small_vehicle"] * 4 + ["small_vehicle", "large_vehicle"], dtype=object)
    seen = {d: shapely.box(-10, -10, 50, 10) for d in set(dates)}
    st = find_stationary(dates, xy, heading, length, cls, seen, xy)
    assert st.state[1::2].tolist() == [YES, NO, NO]


@pytest.fixture(scope="module")
def two_dates(tmp_path_factory):
    """The same crossing on two dates, the second written 3.1 m east and 1.7 m south of where it is."""
    from geotally.synth import LayoutParams, SynthParams, series_params, write_scene

    folder = tmp_path_factory.mktemp("two_dates")
    lp = LayoutParams(width_m=200, height_m=500, queue={"TR": 10, "IQ": 14}, depot={"IQ": 12}, cars_road=6,
                      cars_park=20, seed=4)
    scenes = [write_scene(folder, p, name=f"scene_{p.date}") for p in series_params(SynthParams(layout=lp, gsd=0.3),
                                                                                   2, "2026-06-01")]
    with rasterio.open(scenes[1]["scene"], "r+") as dst:
        dst.transform = Affine.translation(3.1, -1.7) @ dst.transform
    return scenes


def test_a_two_date_count_marks_the_depot_stationary_against_exact_truth(two_dates, tmp_path):
    import geopandas as gpd

    out = tmp_path / "out"
    # the second date's queues are 5 to 10 trucks long (series_params: 50-100% of 10 and 14)
    res = geotally.count_scenes([s["scene"] for s in two_dates], out=out, tile_size=512, overlap=64,
                                queue=QueueParams(min_vehicles=5))
    det = res.detections
    assert set(det["stationary"][det["date"] == "2026-06-01"]) == {UNKNOWN}
    reg = res.summary.stationary["registrations"][0]
    assert reg["applied"] and abs(reg["dx_m"] + 3.1) < 0.5 and abs(reg["dy_m"] - 1.7) < 0.5
    # exact truth: a true vehicle of date 2 is stationary when a true vehicle of date 1 of its class
    # stands at its spot (the synthetic depot refills the same bays; its queues start at the same line)
    t1, t2 = (gpd.read_file(s["truth"]) for s in two_dates)
    c1, c2 = t1.geometry.centroid, t2.geometry.centroid
    p1 = np.column_stack([c1.x, c1.y])
    p2 = np.column_stack([c2.x, c2.y])  # truth is in the unshifted frame
    d = np.hypot(*(p2[:, None] - p1[None]).transpose(2, 0, 1))
    same = (t2["class"].to_numpy()[:, None] == t1["class"].to_numpy()[None]) & (d <= 1.0)
    true_still = same.any(axis=1)
    later = det[det["date"] == "2026-06-08"]
    dc = later.geometry.centroid
    dxy = np.column_stack([dc.x - 3.1, dc.y + 1.7])  # back into the truth's frame
    nearest = np.hypot(*(dxy[:, None] - p2[None]).transpose(2, 0, 1))
    j, ok = nearest.argmin(axis=1), nearest.min(axis=1) <= 2.0
    marked = later["stationary"].to_numpy()[ok]
    agree = (marked == np.where(true_still[j[ok]], YES, NO))
    assert ok.sum() >= 0.85 * len(t2) and agree.mean() >= 0.9
    still = true_still[j[ok]]
    assert still.sum() >= 10 and (~still).sum() >= 10  # both kinds are there to be told apart
    assert (marked[still] == YES).mean() >= 0.9 and (marked[~still] == NO).mean() >= 0.9
    table = pd.read_csv(out / "stationary.csv", keep_default_na=False, dtype={"date": str})
    assert set(table["date"]) == {"2026-06-08"}
    assert table["stationary"].sum() == int((det["stationary"] == YES).sum())
    assert (table["vehicles"] == table["stationary"] + table["not_stationary"] + table["unknown"]).all()
    queues = gpd.read_file(out / "queues.gpkg")
    shares = queues.loc[queues["date"] == "2026-06-08", "stationary_share"].dropna()
    assert len(shares) and ((shares >= 0) & (shares <= 1)).all()
    assert queues.loc[queues["date"] == "2026-06-01", "stationary_share"].isna().all()
    assert 'id="stationary-table"' in (out / "report.html").read_text()
    # geotally change carries them: of date B's vehicles in each row, those that stood still
    from geotally.pipeline.change import change

    rows, _ = change([out])
    every = rows[(rows["zone"] == "ALL")].set_index("class")
    vehicles = det[det["date"] == "2026-06-08"]
    for cls in ("large_vehicle", "small_vehicle"):
        mine = vehicles[vehicles["class"] == cls]["stationary"]
        assert every.loc[cls, "stationary_b"] == int((mine == YES).sum())
        assert every.loc[cls, "not_stationary_b"] == int((mine == NO).sum())
    sizes = every.loc[["car", "van_light_truck", "rigid_truck", "articulated"]]  # counts_by_size.csv's rows
    assert sizes["count_b"].sum() > 0 and sizes["stationary_b"].isna().all()  # no figure, not zero (0, 0 before)


def test_one_date_has_no_stationary_column(two_dates):
    res = geotally.count(two_dates[0]["scene"], tile_size=512, overlap=64)
    assert "stationary" not in res.detections and res.summary.stationary is None


def test_the_cli_takes_the_radius_and_records_it(two_dates, tmp_path, monkeypatch, capsys):
    from conftest import run

    out = tmp_path / "cli"
    code, _, err = run(monkeypatch, capsys, "count", *[s["scene"] for s in two_dates], "--tile-size", "512",
                       "--overlap", "64", "--stationary-radius", "3", "--out", out, "-q")
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parameters"]["stationary"]["radius_m"] == 3.0
    assert summary["stationary"]["registrations"][0]["applied"]
    assert (out / "stationary.csv").exists()
    # recount marks them again with another radius, without detecting again
    before = (pd.read_csv(out / "stationary.csv")["stationary"]).sum()
    code, _, err = run(monkeypatch, capsys, "recount", out, "--stationary-radius", "0.1", "-q")
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parameters"]["stationary"]["radius_m"] == 0.1
    assert pd.read_csv(out / "stationary.csv")["stationary"].sum() < before
