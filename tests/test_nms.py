import numpy as np
import shapely

from geotally.detect.boxes import corners_to_polygons, xywhr_to_corners
from geotally.detect.nms import overlap_pairs, rotated_nms


def greedy_reference(polys, scores, thr):
    """Classic greedy NMS, one pair at a time with shapely."""
    order = list(np.argsort(-scores, kind="stable"))
    keep = []
    while order:
        i = order.pop(0)
        keep.append(i)
        rest = []
        for j in order:
            inter = polys[i].intersection(polys[j]).area
            iou = inter / (polys[i].area + polys[j].area - inter)
            if iou <= thr:
                rest.append(j)
        order = rest
    return np.array(keep)


def random_boxes(rng, n, extent=200.0):
    return np.column_stack([rng.uniform(0, extent, n), rng.uniform(0, extent, n), rng.uniform(5, 40, n),
                            rng.uniform(2, 10, n), rng.uniform(-np.pi, np.pi, n)])


def test_corners_keep_size_and_area():
    box = np.array([[10.0, 20.0, 17.0, 2.5, 0.7]])
    poly = corners_to_polygons(xywhr_to_corners(box))[0]
    assert poly.is_valid
    assert abs(poly.area - 17.0 * 2.5) < 1e-9
    np.testing.assert_allclose([poly.centroid.x, poly.centroid.y], [10, 20])


def test_iou_matches_shapely_pairwise():
    rng = np.random.default_rng(1)
    polys = corners_to_polygons(xywhr_to_corners(random_boxes(rng, 150, 100)))
    i, j, iou = overlap_pairs(polys)
    for a, b, v in zip(i[:200], j[:200], iou[:200]):
        inter = polys[a].intersection(polys[b]).area
        assert abs(v - inter / shapely.union(polys[a], polys[b]).area) < 1e-9


def test_rotated_nms_equals_greedy_reference_on_random_boxes():
    rng = np.random.default_rng(7)
    for trial in range(20):
        boxes = random_boxes(rng, int(rng.integers(5, 120)))
        scores = rng.uniform(0, 1, len(boxes))
        corners = xywhr_to_corners(boxes)
        for thr in (0.1, 0.3, 0.5):
            ours = rotated_nms(corners, scores, thr)
            ref = greedy_reference(corners_to_polygons(corners), scores, thr)
            np.testing.assert_array_equal(ours, ref)


def test_nms_merges_a_seam_duplicate_but_keeps_neighbours():
    truck = [100, 100, 17, 2.6, 0.3]
    dup = [100.6, 100.3, 16.5, 2.7, 0.32]  # the same truck seen from the next tile
    neighbour = [100 + 20 * np.cos(0.3), 100 + 20 * np.sin(0.3), 17, 2.6, 0.3]  # next in the queue
    corners = xywhr_to_corners(np.array([truck, dup, neighbour]))
    kept = rotated_nms(corners, np.array([0.8, 0.7, 0.6]), 0.3)
    assert kept.tolist() == [0, 2]
