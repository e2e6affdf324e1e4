import numpy as np
import pytest

from geotally.imagery.windows import tile_grid


@pytest.mark.parametrize("width,height,scale,size,overlap", [
    (5000, 3000, (1.0, 1.0), 1024, 160),
    (5000, 3000, (0.6, 0.6), 1024, 160),  # downsampled: windows larger than the tile
    (1000, 7000, (3.3, 3.3), 1024, 200),  # upsampled 0.5 m -> 0.15 m
    (1030, 1030, (1.0, 1.0), 1024, 160),  # just over one tile
    (300, 200, (1.0, 1.0), 1024, 160),  # smaller than one tile
    (4000, 2500, (1.3, 0.8), 512, 64),  # anisotropic (geographic CRS)
])
def test_windows_cover_scene_and_cores_partition_it(width, height, scale, size, overlap):
    g = tile_grid(width, height, scale, size=size, overlap=overlap)
    w = g.windows
    assert (w[:, 0] >= 0).all() and (w[:, 1] >= 0).all()
    assert (w[:, 0] + w[:, 2] <= width).all() and (w[:, 1] + w[:, 3] <= height).all()
    # Every pixel centre lies in exactly one core, and each core lies inside its window.
    ys, xs = np.mgrid[0:height:7, 0:width:7] + 0.5
    px, py = xs.ravel(), ys.ravel()
    c = g.cores
    inside = ((px[:, None] >= c[None, :, 0]) & (px[:, None] < c[None, :, 2])
              & (py[:, None] >= c[None, :, 1]) & (py[:, None] < c[None, :, 3]))
    assert (inside.sum(axis=1) == 1).all()
    assert (c[:, 0] >= w[:, 0]).all() and (c[:, 2] <= w[:, 0] + w[:, 2]).all()
    assert (g.out_shapes <= size).all()


def test_core_margin_is_half_the_overlap_so_vehicles_in_a_core_are_whole():
    g = tile_grid(6000, 6000, (1.0, 1.0), size=1024, overlap=160)
    w, c = g.windows, g.cores
    interior = (c[:, 0] > 0)
    left_margin = c[interior, 0] - w[interior, 0]
    assert left_margin.min() >= 80 - 0.5
    interior_r = c[:, 2] < 6000
    right_margin = (w[interior_r, 0] + w[interior_r, 2]) - c[interior_r, 2]
    assert right_margin.min() >= 80 - 0.5


def test_edge_tiles_are_full_sized_and_shifted_back():
    g = tile_grid(2500, 1024, (1.0, 1.0), size=1024, overlap=160)
    assert sorted(set(g.windows[:, 2].tolist())) == [1024]
    assert g.windows[:, 0].max() == 2500 - 1024
    assert (g.scale == 1.0).all()


def test_scale_maps_window_to_model_pixels():
    g = tile_grid(3000, 3000, (2.0, 2.0), size=1024, overlap=160)
    assert (g.windows[:, 2] == 512).all()
    np.testing.assert_allclose(g.scale, 2.0)
