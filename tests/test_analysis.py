"""Size classes, queues on generated layouts with exact truth, intervals by simulation, claims."""

import numpy as np
import pandas as pd
import pytest

from geotally.analysis.calibration import ClassCalibration, interval, verdict
from geotally.analysis.counts import band_labels, check_claims, count_table
from geotally.analysis.queues import QueueParams, find_queues
from geotally.analysis.sizes import length_histogram, size_class
from geotally.synth import LayoutParams, make_layout
from geotally.synth.layout import footprint


def test_size_classes_and_thresholds():
    lengths = np.array([4.5, 5.99, 6.0, 9.9, 10.0, 13.99, 14.0, 18.5])
    assert size_class(lengths).tolist() == ["car", "car", "van_light_truck", "van_light_truck", "rigid_truck",
                                            "rigid_truck", "articulated", "articulated"]
    assert size_class(np.array([7.0]), (5, 8, 12)).tolist() == ["van_light_truck"]
    with pytest.raises(ValueError):
        size_class(lengths, (6, 5, 14))
    h = length_histogram(lengths)
    assert sum(h["counts"]) == len(lengths) and h["counts"][4] == 1


def test_distance_band_labels():
    assert band_labels(np.array([0, 999, 1000, 4999, 7000]), (0, 1000, 5000)).tolist() == [
        "0-1000", "0-1000", "1000-5000", "1000-5000", "5000+"]


def _layout_vehicles(seed):
    lay = make_layout(LayoutParams(seed=seed, queue={"TR": 20, "IQ": 34}, depot={"IQ": 30, "TR": 10},
                                   cars_road=30, cars_park=30))
    xy = np.array([[v["x"], v["y"]] for v in lay.vehicles])
    hd = np.array([v["heading_deg"] for v in lay.vehicles]) % 180
    ln = np.array([v["length"] for v in lay.vehicles])
    return lay, xy, hd, ln


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_queue_membership_and_lengths_against_truth(seed):
    lay, xy, hd, ln = _layout_vehicles(seed)
    q = find_queues(xy, hd, ln, QueueParams())
    truth_in_queue = np.array([v["context"] == "queue" for v in lay.vehicles])
    found = q.label >= 0
    precision = (found & truth_in_queue).sum() / found.sum()
    recall = (found & truth_in_queue).sum() / truth_in_queue.sum()
    assert precision >= 0.9 and recall >= 0.9, (precision, recall)
    # each true queue (lane) is found as one queue whose length is within 10%
    for qid in {v["queue_id"] for v in lay.vehicles if v["queue_id"]}:
        members = [i for i, v in enumerate(lay.vehicles) if v["queue_id"] == qid]
        if len(members) < 5:
            continue
        labels = q.label[members]
        main = np.bincount(labels[labels >= 0]).argmax()
        # true length: extent of the queue's footprints along its axis (axial mean of the headings)
        pts = np.array([c for i in members for c in footprint(lay.vehicles[i]).exterior.coords])
        a = np.radians(2 * hd[members])
        h = np.arctan2(np.sin(a).mean(), np.cos(a).mean()) / 2
        proj = pts @ np.array([np.sin(h), np.cos(h)])
        true_len = proj.max() - proj.min()
        assert q.length_m[main] == pytest.approx(true_len, rel=0.10)


def test_depot_rows_and_parked_cars_are_not_queues():
    lay, xy, hd, ln = _layout_vehicles(3)
    q = find_queues(xy, hd, ln)
    ctx = np.array([v["context"] for v in lay.vehicles])
    assert (q.label[ctx == "depot"] < 0).mean() >= 0.9
    assert (q.label[ctx == "car_park"] < 0).all()


def test_queues_scale_to_100k_vehicles_with_exact_result():
    rng = np.random.default_rng(0)
    xy, hd, ln = [], [], []
    for _ in range(2000):  # 2000 planted queues of 10 trucks
        o, h = rng.uniform(0, 300_000, 2), rng.uniform(0, 180)
        ax = np.array([np.sin(np.radians(h)), np.cos(np.radians(h))])
        for k in range(10):
            xy.append(o + ax * k * 22.0)
            hd.append(h)
            ln.append(17.0)
    xy = np.vstack([np.array(xy), rng.uniform(0, 300_000, (80_000, 2))])
    hd = np.r_[hd, rng.uniform(0, 180, 80_000)]
    ln = np.r_[ln, rng.uniform(4, 18, 80_000)]
    q = find_queues(xy, hd, ln)
    assert len(xy) == 100_000
    assert (q.label[:20_000] >= 0).all()
    assert len(q.lines) == pytest.approx(2000, abs=5)


def test_interval_coverage_by_simulation():
    """Over 300 simulated detector draws with known rates, the 95% interval holds the truth 90-99% of the time."""
    rng = np.random.default_rng(11)
    r, f, hits, trials = 0.83, 0.04, 0, 300
    for s in range(trials):
        nk = rng.poisson(40, 12)
        cal = ClassCalibration(nk.tolist(), rng.binomial(nk, r).tolist(), rng.poisson(f * nk).tolist())
        n_true = int(rng.integers(30, 500))
        raw = rng.binomial(n_true, r) + rng.poisson(f * n_true)
        _, lo, hi = interval(int(raw), cal, seed=s)
        hits += lo <= n_true <= hi
    assert 0.90 <= hits / trials <= 0.99, hits / trials


def test_interval_centres_on_the_corrected_count():
    cal = ClassCalibration([100] * 10, [80] * 10, [0] * 10)
    est, lo, hi = interval(800, cal)
    assert est == pytest.approx(1000, rel=0.02) and lo < 1000 < hi


def test_claims_verdicts():
    assert verdict(120, 90, 110) == "too high" and verdict(80, 90, 110) == "too low" and verdict(100, 90, 110) == "consistent"
    counts = count_table(np.array(["TR"] * 8 + ["IQ"] * 20), np.array(["large_vehicle"] * 28), ["TR", "IQ"])
    raw = check_claims({"TR": 4530}, counts)
    assert raw[0]["verdict"].startswith("untested")
    with_iv = counts.assign(estimate=10.0, lo95=5.0, hi95=15.0)
    out = {c["zone"]: c["verdict"] for c in check_claims({"TR": 4530, "IQ": 12}, with_iv)}
    assert out == {"TR": "too high", "IQ": "consistent"}


def test_band_and_activity_tables_list_every_band_and_activity_with_zeros():
    # one queued truck 50 m from the border on side A: no vehicle in the far bands, none parked
    import pandas as pd

    from geotally.analysis.counts import count_tables

    det = pd.DataFrame({"zone": ["A"], "class": ["large_vehicle"], "activity": ["queue"], "side": ["A"],
                        "border_dist_m": [50.0]})
    _, tables = count_tables(det, ["A", "B"], distance_bands=(0, 1000, 5000), side_names=["A", "B"])
    bands = tables["counts_by_band.csv"]
    assert list(dict.fromkeys(bands["band"])) == ["0-1000", "1000-5000", "5000+"]
    assert len(bands) == 3 * 3 * 2  # (A, B, ALL) x three bands x two classes
    far = bands[(bands["zone"] == "A") & (bands["band"] == "5000+") & (bands["class"] == "large_vehicle")]
    assert far["count"].tolist() == [0]
    assert bands["count"].sum() == 2  # the truck in its side's row and in ALL's
    act = tables["counts_by_activity.csv"]
    assert set(act["activity"]) == {"queue", "parked_or_other"}
    parked = act[(act["zone"] == "ALL") & (act["activity"] == "parked_or_other")]
    assert parked["count"].sum() == 0
    with_roads = det.assign(on_road=[True])
    _, tables = count_tables(with_roads, ["A"])
    assert set(tables["counts_by_activity.csv"]["activity"]) == {"queue", "on_road", "off_road"}
