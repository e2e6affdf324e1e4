"""Vehicles cut by the edge between two scenes of one date: the two pieces are one vehicle."""

import numpy as np
import shapely

from geotally.geo.seams import seam_pairs


def _box(x0, y0, x1, y1):
    return shapely.box(x0, y0, x1, y1)


# Two scenes of 100 x 100 m side by side: the seam is the line x = 100.
LEFT, RIGHT = _box(0, 0, 100, 100), _box(100, 0, 200, 100)


def _pairs(left, right, classes=("small_vehicle", "small_vehicle"), dates=("2026-06-01", "2026-06-01")):
    return seam_pairs([np.array(left, dtype=object), np.array(right, dtype=object)],
                      [np.array([classes[0]] * len(left), dtype=object), np.array([classes[1]] * len(right), dtype=object)],
                      [LEFT, RIGHT], list(dates))


def test_a_car_cut_in_two_is_one_car_kept_by_the_larger_piece():
    pairs = _pairs([_box(98.5, 50, 100, 52)], [_box(100, 50, 103, 52)])  # a 4.5 m car, 1.5 m of it on the left
    assert len(pairs) == 1
    p = pairs[0]
    assert (p.keep_scene, p.keep_row, p.drop_scene, p.drop_row) == (1, 0, 0, 0)
    np.testing.assert_allclose(shapely.bounds(p.rectangle), [98.5, 50, 103, 52])


def test_whole_vehicles_either_side_of_the_seam_stay_two():
    nose_to_tail = _pairs([_box(95.5, 50, 100, 52)], [_box(100, 50, 104.5, 52)])  # 9 m together: two cars
    side_by_side = _pairs([_box(95.5, 50, 100, 52)], [_box(100, 60, 104.5, 62)])  # 8 m apart
    inland = _pairs([_box(90, 50, 94.5, 52)], [_box(100, 50, 104.5, 52)])  # the left car is 5.5 m from the seam
    assert nose_to_tail == side_by_side == inland == []


def test_a_truck_cut_in_two_is_one_truck_and_dates_are_kept_apart():
    truck = ([_box(92, 50, 100, 52.5)], [_box(100, 50, 108, 52.5)])  # 16 m: longer than any car, not than a truck
    assert len(_pairs(*truck, classes=("large_vehicle", "large_vehicle"))) == 1
    assert _pairs(*truck, classes=("small_vehicle", "small_vehicle")) == []
    assert _pairs(*truck, classes=("large_vehicle", "large_vehicle"), dates=("2026-06-01", "2026-06-08")) == []


def test_pieces_whose_headings_disagree_are_not_joined():
    across = shapely.affinity.rotate(_box(100, 50, 104, 51.5), 60, origin=(100, 50.75))
    assert _pairs([_box(96, 50, 100, 51.5)], [across]) == []


def test_each_piece_joins_at_most_one_other():
    pairs = _pairs([_box(98, 50, 100, 52)], [_box(100, 50, 102.5, 52), _box(100.2, 50, 102.5, 52)])
    assert len(pairs) == 1 and pairs[0].drop_scene == 0
