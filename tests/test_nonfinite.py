"""Non-finite pixels (NaN, inf) are no data even when the file declares no nodata value."""

from __future__ import annotations

import numpy as np
import rasterio

import geotally
from geotally.imagery.read import open_reader, read_tile
from geotally.imagery.scene import open_scene


def _copies(src_path, tmp_path):
    """A float32 copy with a NaN band across the scene (no nodata tag), and the 8-bit scene with it black."""
    with rasterio.open(src_path) as src:
        data, profile = src.read(), src.profile
    rows = slice(data.shape[1] // 3, data.shape[1] // 3 + data.shape[1] // 8)
    flt = data.astype(np.float32)
    flt[:, rows] = np.nan
    flt[0, rows.stop:rows.stop + 4, :10] = np.inf
    black = data.copy()
    black[:, rows] = 0
    profile.update(dtype="float32", nodata=None, predictor=1)
    f_path = tmp_path / "float_nan.tif"
    with rasterio.open(f_path, "w", **profile) as dst:
        dst.write(flt)
    profile.update(dtype="uint8")
    b_path = tmp_path / "black.tif"
    with rasterio.open(b_path, "w", **profile) as dst:
        dst.write(black)
    return f_path, b_path, rows


def test_nan_pixels_are_masked_not_stretched_over(tmp_path, border_scene):
    f_path, _, rows = _copies(border_scene["scene"], tmp_path)
    sc = open_scene(f_path)
    assert sc.stretch is not None and all(np.isfinite(v) for lim in sc.stretch for v in lim)
    with open_reader(sc) as src:
        window = np.array([0, rows.start - 100, 400, 400])
        tile, valid = read_tile(src, sc, window, np.array([400, 400]), 400)
    assert 0.2 < valid < 0.8  # the NaN rows are counted as invalid
    assert tile[:100].mean() > 40  # finite pixels keep their brightness
    assert tile[120:300].max() == 0  # NaN rows are black


def test_a_nan_block_does_not_zero_the_count(tmp_path, border_scene):
    f_path, b_path, _ = _copies(border_scene["scene"], tmp_path)
    with_nan = geotally.count(f_path).detections
    blacked = geotally.count(b_path).detections
    n_nan = int((with_nan["class"] == "large_vehicle").sum())
    n_black = int((blacked["class"] == "large_vehicle").sum())
    assert n_black > 0 and n_nan >= 0.8 * n_black, (n_nan, n_black)
