"""The CPU engine's settings change no detection: ONNX Runtime without spin-waiting (chosen when
another task is running, where it is faster) gives the very detections it gives with it."""

import numpy as np

from geotally.detect.run import detect_tiles, scene_grid
from geotally.imagery.scene import open_scene
from geotally.models.backends import OnnxDetector
from geotally.models.cache import ensure_model
from geotally.models.registry import DEFAULT_MODEL, get_spec


def test_spin_waiting_only_on_free_cores_and_the_same_detections(border_scene, monkeypatch):
    from geotally.models import backends

    weights = ensure_model(get_spec(DEFAULT_MODEL))
    made = {}
    for free in (True, False):
        monkeypatch.setattr(backends, "spin_wait_here", lambda free=free: free)
        made[free] = OnnxDetector(weights, 0.1, 0.7, 1024)
        entry = made[free].session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning")
        assert entry == ("1" if free else "0")
        assert made[free].describe()["spin_wait"] is free
    sc = open_scene(border_scene["scene"])
    grid = scene_grid(sc, 0.25, 512, 128)
    a, b = (detect_tiles(sc, d, grid, np.arange(len(grid)), batch=2) for d in made.values())
    assert len(a) > 10
    for field in ("corners", "score", "class_id", "tile"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_a_busy_machine_is_seen(tmp_path):
    """Tasks running besides this one: no spinning; this one alone, or no /proc: spinning."""
    from geotally.models.backends import spin_wait_here

    loadavg = tmp_path / "loadavg"
    for running, expect in (("1", True), ("3", False)):
        loadavg.write_text(f"0.50 0.40 0.30 {running}/120 999\n")
        assert spin_wait_here(samples=4, every_s=0, loadavg=str(loadavg)) is expect
    assert spin_wait_here(samples=4, every_s=0, loadavg=str(tmp_path / "absent")) is True


def test_decoding_keeps_what_one_rectangle_at_a_time_kept():
    """The model's output decoded with OpenCV's rectangles made from whole columns keeps the very
    boxes, scores and classes that building each rectangle from its own numpy scalars kept."""
    import cv2

    det = OnnxDetector.__new__(OnnxDetector)
    det.names, det.kind, det.input_size, det.conf, det.iou = {0: "a", 1: "b"}, "obb", 1024, 0.1, 0.5
    rng = np.random.default_rng(4)
    n = 600  # crowded: many overlapping candidates of two classes, as a busy tile gives
    pred = np.concatenate([rng.uniform(0, 300, (2, n)), rng.uniform(8, 60, (2, n)), rng.uniform(0, 1, (2, n)),
                           rng.uniform(-0.5, 3.5, (1, n))]).astype(np.float32)
    for scale in (1.0, 1.7):
        got = det._decode(pred, scale)
        p = pred.T
        cls = p[:, 4:6].argmax(axis=1)
        score = p[np.arange(n), 4 + cls]
        keep = score >= det.conf
        p, cls, score = p[keep], cls[keep], score[keep]
        xywhr = np.concatenate([p[:, :4].astype(np.float64) * scale, p[:, 6:7]], axis=1)
        off = cls * 4.0 * 1024 * max(scale, 1.0)
        rects = [((float(x + o), float(y + o)), (float(w), float(h)), float(np.degrees(a)))
                 for (x, y, w, h, a), o in zip(xywhr, off)]
        idx = np.asarray(cv2.dnn.NMSBoxesRotated(rects, score.astype(float).tolist(), 0.1, 0.5), np.int64).reshape(-1)
        assert 20 < len(idx) < keep.sum()
        np.testing.assert_array_equal(got.xywhr, xywhr[idx])
        np.testing.assert_array_equal(got.score, score[idx].astype(np.float32))
        np.testing.assert_array_equal(got.cls, cls[idx])
