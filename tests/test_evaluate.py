"""Matching and AP, checked against cases worked out by hand."""

import numpy as np
import pytest
import shapely

from geotally.analysis.scoring import average_precision, match, score_class
from geotally.detect.boxes import corners_to_polygons, xywhr_to_corners


def boxes(*rows):
    return corners_to_polygons(xywhr_to_corners(np.array(rows, float)))


def test_iou_threshold_on_rotated_boxes():
    truth = boxes([0, 0, 10, 2, 0.5])
    # shifted along its own axis by 2 of 10: intersection 8*2=16, union 24 -> IoU 0.667
    shift = boxes([2 * np.cos(0.5), 2 * np.sin(0.5), 10, 2, 0.5])
    # shifted by 5: intersection 10, union 30 -> IoU 0.333
    far = boxes([5 * np.cos(0.5), 5 * np.sin(0.5), 10, 2, 0.5])
    assert match(shift, np.array([0.9]), truth)[0].tolist() == [1]
    assert match(far, np.array([0.9]), truth)[0].tolist() == [0]


def test_greedy_by_score_and_one_match_per_truth():
    truth = boxes([0, 0, 10, 2, 0], [30, 0, 10, 2, 0])
    det = boxes([0.5, 0, 10, 2, 0], [0, 0.1, 10, 2, 0], [30, 0, 10, 2, 0.05], [60, 0, 10, 2, 0])
    scores = np.array([0.6, 0.9, 0.8, 0.7])
    outcome, taken = match(det, scores, truth)
    # det1 (0.9) takes truth0, det0 (0.6) finds it taken -> FP; det2 takes truth1; det3 hits nothing
    assert outcome.tolist() == [0, 1, 1, 0]
    assert taken.tolist() == [True, True]


def test_difficult_truth_is_neither_missed_nor_a_false_positive():
    truth = boxes([0, 0, 10, 2, 0], [30, 0, 10, 2, 0])
    det = boxes([0, 0, 10, 2, 0])
    s = score_class("large_vehicle", det, np.array([0.9]), truth, difficult=np.array([False, True]))
    assert (s.tp, s.fp, s.fn, s.n_truth) == (1, 0, 0, 1)
    s2 = score_class("large_vehicle", boxes([30, 0, 10, 2, 0]), np.array([0.9]), truth, difficult=np.array([False, True]))
    assert (s2.tp, s2.fp, s2.fn, s2.n_detected) == (0, 0, 1, 0)


def test_centre_distance_mode_for_point_labels():
    truth = shapely.points([[0, 0], [50, 0]])
    det = boxes([1.0, 0, 10, 2, 0], [53, 0, 10, 2, 0])
    outcome, _ = match(det, np.array([0.9, 0.8]), truth, mode="centre", radius=2.0)
    assert outcome.tolist() == [1, 0]


def test_average_precision_by_hand():
    # ranked TP, FP, TP with 3 truths: P/R points (1, 1/3), (0.5, 1/3), (2/3, 2/3)
    # interpolated AP = 1/3 * 1 + 1/3 * 2/3 + 1/3 * 0 = 5/9
    ap = average_precision(np.array([0.9, 0.8, 0.7]), np.array([1, 0, 1]), 3)
    assert ap == pytest.approx(5 / 9)
    assert average_precision(np.array([0.9]), np.array([1]), 1) == pytest.approx(1.0)
    assert average_precision(np.array([]), np.array([], int), 2) == 0.0


def test_score_class_counts_and_rates():
    truth = boxes([0, 0, 10, 2, 0], [30, 0, 10, 2, 0], [60, 0, 10, 2, 0])
    det = boxes([0, 0, 10, 2, 0], [30, 0, 10, 2, 0], [90, 0, 10, 2, 0], [60, 0, 10, 2, 0])
    s = score_class("large_vehicle", det, np.array([0.9, 0.8, 0.7, 0.1]), truth, conf=0.5)
    assert (s.tp, s.fp, s.fn) == (2, 1, 1)
    assert s.precision == pytest.approx(2 / 3) and s.recall == pytest.approx(2 / 3)
    assert s.count_error == 0
    # AP uses every detection: TP, TP, FP, TP -> 1/3*1 + 1/3*1 + 1/3*(3/4)
    assert s.ap50 == pytest.approx(1 / 3 + 1 / 3 + 0.25)


def test_yolo_labels_axis_aligned_and_obb(tmp_path):
    from geotally.analysis.truth import read_yolo, yolo_names

    (tmp_path / "classes.names").write_text("car\ntruck\nbus\n")
    label = tmp_path / "img.txt"
    label.write_text("1 0.5 0.5 0.2 0.1\n0 0.1 0.1 0.2 0.1 0.2 0.2 0.1 0.2\n")
    names = yolo_names(tmp_path)
    assert names == {0: "car", 1: "truck", 2: "bus"}
    t = read_yolo(label, 1000, 500, names)
    assert t.cls.tolist() == ["large_vehicle", "small_vehicle"]
    assert shapely.bounds(t.polygons[0]).tolist() == [400.0, 225.0, 600.0, 275.0]
    assert abs(t.polygons[1].area - 0.01 * 1000 * 500) < 1e-6


def test_dota_labels_with_difficult_flags(tmp_path):
    from geotally.analysis.truth import read_dota

    p = tmp_path / "P1.txt"
    p.write_text("imagesource:GoogleEarth\ngsd:0.2\n0 0 10 0 10 4 0 4 large-vehicle 0\n20 0 24 0 24 2 20 2 small-vehicle 1\n")
    t = read_dota(p, scale=0.5)
    assert t.gsd == 0.2 and t.cls.tolist() == ["large_vehicle", "small_vehicle"]
    assert t.difficult.tolist() == [False, True] and abs(t.polygons[0].area - 10.0) < 1e-9
