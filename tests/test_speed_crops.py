"""Crops cut from one read per block of detections are exactly the crops read one window at a time,
masked pixels and scene edges included; and scene reads get a real GDAL block cache."""

import numpy as np
import rasterio
from rasterio.windows import Window

from geotally.imagery.crops import CropSpec, crop_from_array, long_axis, read_windows, scene_crops
from geotally.imagery.preview import read_shrunk
from geotally.imagery.read import open_reader
from geotally.imagery.scene import open_scene
from geotally.report.payload import crops
from tests.conftest import write_raster


def _scene(tmp_path):
    rng = np.random.default_rng(3)
    data = rng.integers(1, 255, (3, 900, 1300), dtype=np.uint8)
    data[:, 100:160, 200:420] = 0  # a nodata hole: black in every crop that touches it
    path = write_raster(tmp_path / "s.tif", data, nodata=0, tiled=True, blockxsize=256, blockysize=256)
    return open_scene(path)


def _boxes(n: int, scene, seed: int = 0) -> np.ndarray:
    """Oriented boxes of 10-40 px, some crowded together, some alone, some over the scene's edge."""
    rng = np.random.default_rng(seed)
    centres = np.concatenate([rng.uniform(150, 260, (n // 2, 2)),  # a crowd on the hole's edge
                              rng.uniform(-5, [scene.width + 5, scene.height + 5], (n - n // 2, 2))])
    half = np.column_stack([rng.uniform(5, 20, n), rng.uniform(2, 8, n)])
    a = rng.uniform(0, np.pi, n)
    u, v = np.column_stack([np.cos(a), np.sin(a)]), np.column_stack([-np.sin(a), np.cos(a)])
    signs = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], float)
    return centres[:, None] + signs[None, :, :1] * (half[:, None, :1] * u[:, None]) \
        + signs[None, :, 1:] * (half[:, None, 1:] * v[:, None])


def test_read_windows_gives_each_window_as_read_alone(tmp_path, monkeypatch):
    import geotally.imagery.crops as crops_module

    sc = _scene(tmp_path)
    reads = []
    monkeypatch.setattr(crops_module, "read_shrunk", lambda *a: reads.append(a[2]) or read_shrunk(*a))
    rng = np.random.default_rng(1)
    c0 = np.concatenate([rng.integers(150, 300, 40), rng.integers(0, sc.width - 60, 15)])
    r0 = np.concatenate([rng.integers(50, 200, 40), rng.integers(0, sc.height - 60, 15)])
    side = rng.integers(8, 60, len(c0))
    windows = np.column_stack([c0, r0, np.minimum(c0 + side, sc.width), np.minimum(r0 + side, sc.height)])
    with open_reader(sc) as src:
        got = dict(read_windows(src, sc, windows, cell=256))
        assert sorted(got) == list(range(len(windows)))
        assert len(reads) < len(windows) / 2  # the crowd was read in a few blocks
        for i, (a0, b0, a1, b1) in enumerate(windows):
            alone = read_shrunk(src, sc, Window(a0, b0, a1 - a0, b1 - b0), a1 - a0, b1 - b0)
            np.testing.assert_array_equal(got[i], alone)
    assert any((got[i] == 0).all(axis=-1).any() for i in got)  # the hole is in some of them


def test_trailer_crops_equal_one_read_per_vehicle(tmp_path):
    sc, spec = _scene(tmp_path), CropSpec()
    boxes = _boxes(60, sc)
    got = scene_crops(sc, boxes, spec)
    centres, axes = long_axis(boxes)
    half = 0.5 * np.hypot(*spec.size_m) / sc.gsd_m + 2
    with open_reader(sc) as src:
        for i in range(len(boxes)):
            c0, r0 = int(np.floor(centres[i, 0] - half)), int(np.floor(centres[i, 1] - half))
            c1, r1 = int(np.ceil(centres[i, 0] + half)), int(np.ceil(centres[i, 1] + half))
            a0, b0, a1, b1 = max(c0, 0), max(r0, 0), min(c1, sc.width), min(r1, sc.height)
            patch = np.zeros((r1 - r0, c1 - c0, 3), np.uint8)
            patch[b0 - r0:b1 - r0, a0 - c0:a1 - c0] = read_shrunk(src, sc, Window(a0, b0, a1 - a0, b1 - b0),
                                                                   a1 - a0, b1 - b0)
            np.testing.assert_array_equal(got[i], crop_from_array(patch, sc.gsd_m, centres[i] - (c0, r0), axes[i],
                                                                  spec))


def test_report_crops_equal_one_read_per_vehicle(tmp_path):
    import base64

    import cv2

    sc = _scene(tmp_path)
    boxes = _boxes(80, sc, seed=2)
    centres = boxes.mean(axis=1)
    length = np.hypot(*(boxes[:, 1] - boxes[:, 0]).T) * 3  # some crops at the 32 px floor, some larger
    order = np.argsort(-length)
    got = crops(sc, centres, length, order, limit=70)
    pick = order[:70]
    expect = pick[np.argsort(centres[pick, 1], kind="stable")]
    assert list(got) == [int(i) for i in expect]  # listed top to bottom, as before
    with open_reader(sc) as src:
        for i in expect:
            side = int(np.clip(np.ceil(1.6 * length[i]), 32, 160))
            c0 = int(np.clip(round(centres[i, 0] - side / 2), 0, max(sc.width - side, 0)))
            r0 = int(np.clip(round(centres[i, 1] - side / 2), 0, max(sc.height - side, 0)))
            w, h = min(side, sc.width - c0), min(side, sc.height - r0)
            ok, buf = cv2.imencode(".jpg", read_shrunk(src, sc, Window(c0, r0, w, h), w, h)[..., ::-1],
                                   [cv2.IMWRITE_JPEG_QUALITY, 82])
            assert got[int(i)] == "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode()


def test_scene_reads_have_a_block_cache(tmp_path):
    """rasterio takes an integer GDAL_CACHEMAX in bytes: 256 meant 256 bytes, no cache at all."""
    with open_reader(_scene(tmp_path)):
        assert rasterio.env.getenv()["GDAL_CACHEMAX"] >= 16 * 1024 * 1024
