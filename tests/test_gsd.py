import numpy as np
import pytest
from affine import Affine
from pyproj import CRS

from geotally.imagery.gsd import pixel_size_m, resample_factors


def test_utm_pixel_size_is_its_metres():
    gx, gy = pixel_size_m(Affine(0.5, 0, 500000, 0, -0.5, 4100000), CRS.from_epsg(32638), 1000, 1000)
    # UTM scale factor near the central meridian is 0.9996: ground metres are slightly longer
    assert gx == pytest.approx(0.5 / 0.9996, rel=2e-3)
    assert gy == pytest.approx(0.5 / 0.9996, rel=2e-3)


def test_geographic_pixel_size_shrinks_with_latitude():
    deg = 4e-6
    t = Affine(deg, 0, 42.5, 0, -deg, 37.2)
    gx, gy = pixel_size_m(t, CRS.from_epsg(4326), 1000, 1000)
    lat = np.radians(37.2 - 500 * deg)
    assert gx == pytest.approx(deg * 111_320 * np.cos(lat), rel=5e-3)
    assert gy == pytest.approx(deg * 110_990, rel=5e-3)
    assert gx < gy


def test_resample_factors_upsample_coarse_scenes():
    assert resample_factors((0.5, 0.5), 0.25) == (2.0, 2.0)
    fx, fy = resample_factors((0.3, 0.4), 0.15)
    assert fx == pytest.approx(2.0) and fy == pytest.approx(0.4 / 0.15)


def test_scene_without_crs_needs_gsd():
    with pytest.raises(ValueError):
        pixel_size_m(Affine.identity(), None, 10, 10)
    assert pixel_size_m(Affine.identity(), None, 10, 10, gsd=0.3) == (0.3, 0.3)
