"""Queues on real images against the regions labelled by eye (benchmarks/queue_labels/regions.csv):
car parks, truck yards and a bus depot give no queue, and a real queue on a street is found.
Skips without ../shared."""

import numpy as np
import pytest
import shapely

import geotally

from benchmarks.queues_real import kinds_of, regions  # the one reader of the labels
from conftest import SHARED

pytestmark = pytest.mark.skipif(not (SHARED / "simd").exists() or not (SHARED / "dota-sample").exists(),
                                reason="../shared/data/simd or dota-sample not present")


@pytest.fixture(scope="module")
def items():
    from geotally.training.sources import read_source

    return {it.path.stem: it for src in ("simd", "dota-sample") for it in read_source(SHARED / src)}


def _calls(it):
    """Centres in pixels of the detected vehicles, and whether each is put in a queue."""
    g = float(it.gsd)
    det = geotally.count(str(it.path), gsd=g).detections
    veh = det[det["class"].isin(["large_vehicle", "small_vehicle"])]
    px = shapely.get_coordinates(shapely.centroid(veh.geometry.values)) / [g, -g]
    return px, veh["queue_id"].to_numpy() >= 0


@pytest.mark.parametrize("name", ["simd_0058", "simd_0384", "simd_0512", "P0004", "P1888"])
def test_car_parks_yards_and_a_depot_give_no_queue(items, name):
    """Car parks and a truck yard of SIMD's tune split, and the DOTA sample's truck yard and bus depot:
    with --queue-min 5 all but the bus depot chain some vehicles (5 to 19), with the defaults none."""
    px, queued = _calls(items[name])
    assert len(px) >= 20 and not queued.any(), int(queued.sum())


def test_a_real_street_queue_is_found(items):
    """simd_0066: cars close behind each other along a street; most of those the detector finds in the
    labelled queue are put in a queue, and nothing outside the labelled street is."""
    px, queued = _calls(items["simd_0066"])
    kind = kinds_of({"image": "simd_0066", "xy": px, "px": px}, regions())
    inside, unsure = kind == "queue", kind == "unsure"
    assert inside.sum() >= 10
    assert queued[inside].mean() >= 0.8, (int(queued[inside].sum()), int(inside.sum()))
    assert not (queued & ~inside & ~unsure).any()
    assert np.isfinite(px).all()
