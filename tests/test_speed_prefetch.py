"""Reading ahead of the model changes nothing: the same detections and the same pixels seen, however
many batches are read ahead; and it is bounded (never more than that many batches ahead)."""

import numpy as np
import pytest

from geotally.detect.run import detect_tiles, scene_grid
from geotally.imagery.scene import open_scene
from geotally.models.backends import OnnxDetector, TileBoxes


class Recorder:
    """A detector that finds nothing and records how many tiles had been read when each batch ran."""

    names = {0: "small_vehicle"}
    kind = "obb"
    dynamic_size = True

    def __init__(self) -> None:
        self.read = 0
        self.read_when_run: list[int] = []

    def predict(self, tiles):
        self.read_when_run.append(self.read)
        return [TileBoxes.empty() for _ in tiles]


@pytest.mark.parametrize("prefetch", [0, 1, 2])
def test_prefetch_is_bounded(border_scene, prefetch):
    sc = open_scene(border_scene["scene"])
    grid = scene_grid(sc, 0.25, 256, 32)
    det = Recorder()
    seen = []

    def on_pixels(g, t, img):
        seen.append(t)
        det.read += 1

    detect_tiles(sc, det, grid, np.arange(len(grid)), batch=2, on_pixels=on_pixels, prefetch=prefetch)
    assert seen == list(range(len(grid)))  # every tile once, in order
    assert len(det.read_when_run) == -(-len(grid) // 2)
    for k, read in enumerate(det.read_when_run):  # batch k runs with batches k+1 .. k+prefetch read at most
        assert 2 * (k + 1) <= read <= min(len(grid), 2 * (k + 1 + prefetch))


def test_prefetch_gives_identical_detections(border_scene):
    from geotally.models.backends import load_detector
    from geotally.models.cache import ensure_model
    from geotally.models.registry import DEFAULT_MODEL, get_spec

    sc = open_scene(border_scene["scene"])
    grid = scene_grid(sc, 0.25, 512, 128)
    det = load_detector(ensure_model(get_spec(DEFAULT_MODEL)), conf=0.1, iou=0.7, imgsz=1024)
    assert isinstance(det, OnnxDetector)
    runs = {p: detect_tiles(sc, det, grid, np.arange(len(grid)), batch=2, prefetch=p) for p in (0, 1, 2)}
    base = runs[0]
    assert len(base) > 10
    for name, d in runs.items():
        for field in ("corners", "score", "class_id", "tile"):
            np.testing.assert_array_equal(getattr(d, field), getattr(base, field), err_msg=f"{name}: {field}")


def test_model_input_is_the_old_tensor_bit_for_bit():
    """The input made in place is exactly stack, transpose, astype, / 255, as it was made before."""
    det = OnnxDetector.__new__(OnnxDetector)
    det.dynamic_size, det.input_size = True, 1024
    rng = np.random.default_rng(0)
    tiles = [rng.integers(0, 256, (512, 512, 3), dtype=np.uint8) for _ in range(3)]
    old = np.stack(tiles).transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    x, scale = det._input(tiles)
    assert scale == 1.0 and x.dtype == np.float32
    np.testing.assert_array_equal(x.view(np.uint32), old.view(np.uint32))


def _detector():
    from geotally.models.backends import load_detector
    from geotally.models.cache import ensure_model
    from geotally.models.registry import DEFAULT_MODEL, get_spec

    return load_detector(ensure_model(get_spec(DEFAULT_MODEL)), conf=0.1, iou=0.7, imgsz=1024)


def test_a_first_batch_read_ahead_is_used_and_changes_nothing(border_scene, monkeypatch):
    """The first batch read on another thread (as a run of many scenes reads the next scene's) is the
    one the model runs: that batch is not read again, and the detections are the same."""
    from concurrent.futures import ThreadPoolExecutor

    import geotally.detect.run as dr

    sc = open_scene(border_scene["scene"])
    grid = scene_grid(sc, 0.25, 512, 128)
    det = _detector()
    tiles = np.arange(len(grid))
    plain = dr.detect_tiles(sc, det, grid, tiles, batch=2)
    reads = []
    real_load = dr._load
    monkeypatch.setattr(dr, "_load", lambda src, scene, g, ids, on_pixels: reads.append(list(ids)) or
                        real_load(src, scene, g, ids, on_pixels))
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = dr.read_ahead(pool, sc, grid, 2)
        first.loaded.result()
        reads.clear()
        ahead = dr.detect_tiles(sc, det, grid, tiles, batch=2, first=first)
    assert [0, 1] not in reads and len(reads) == -(-len(grid) // 2) - 1
    assert len(plain) > 10
    for field in ("corners", "score", "class_id", "tile"):
        np.testing.assert_array_equal(getattr(ahead, field), getattr(plain, field), err_msg=field)


def test_a_read_ahead_of_other_tiles_is_not_used(border_scene):
    """A resumed scene starts elsewhere than the batch read ahead: that batch is left unused."""
    from concurrent.futures import ThreadPoolExecutor

    import geotally.detect.run as dr

    sc = open_scene(border_scene["scene"])
    grid = scene_grid(sc, 0.25, 512, 128)
    det = _detector()
    rest = np.arange(2, len(grid))
    plain = dr.detect_tiles(sc, det, grid, rest, batch=2)
    with ThreadPoolExecutor(max_workers=1) as pool:
        ahead = dr.detect_tiles(sc, det, grid, rest, batch=2, first=dr.read_ahead(pool, sc, grid, 2))
    np.testing.assert_array_equal(ahead.tile, plain.tile)
    np.testing.assert_array_equal(ahead.corners, plain.corners)
