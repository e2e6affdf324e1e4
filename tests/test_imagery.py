from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.enums import ColorInterp

from geotally.errors import GeotallyError
from geotally.imagery.scene import open_scene
from geotally.imagery.windows import tile_grid
from geotally.imagery.read import open_reader, read_tile
from conftest import write_raster


def rgb_pattern(h=300, w=400, dtype=np.uint8, scale=1):
    r = np.tile(np.arange(w, dtype=np.int64) % 200, (h, 1))
    g = np.tile((np.arange(h, dtype=np.int64) % 200)[:, None], (1, w))
    b = np.full((h, w), 50, np.int64)
    return (np.stack([r, g, b]) * scale).astype(dtype)


def first_tile(scene, size=512):
    grid = tile_grid(scene.width, scene.height, (1.0, 1.0), size=size, overlap=64)
    with open_reader(scene) as src:
        return read_tile(src, scene, grid.windows[0], grid.out_shapes[0], size)


@pytest.mark.parametrize("driver,suffix,extra", [
    ("GTiff", ".tif", {}),
    ("COG", ".tif", {}),
    ("JP2OpenJPEG", ".jp2", {"QUALITY": "100", "REVERSIBLE": "YES"}),
])
def test_formats_read_the_same_pixels(tmp_path, driver, suffix, extra):
    data = rgb_pattern()
    path = write_raster(tmp_path / f"s{suffix}", data, driver=driver, **extra)
    scene = open_scene(path)
    assert (scene.width, scene.height) == (400, 300)
    tile, valid = first_tile(scene)
    assert valid == 1.0
    np.testing.assert_array_equal(tile[:300, :400], np.moveaxis(data, 0, -1))
    assert (tile[300:] == 0).all()  # padding beyond the scene
    assert scene.gsd[0] == pytest.approx(0.5 / 0.9996, rel=3e-3)
    assert len(scene.sha256) == 64


def test_vrt_is_read_through(tmp_path):
    data = rgb_pattern()
    tif = write_raster(tmp_path / "s.tif", data)
    vrt = tmp_path / "s.vrt"
    with rasterio.open(tif) as src:
        from rasterio.shutil import copy
        copy(src, vrt, driver="VRT")
    tile, _ = first_tile(open_scene(vrt))
    np.testing.assert_array_equal(tile[:300, :400], np.moveaxis(data, 0, -1))


def test_16bit_gets_a_percentile_stretch(tmp_path):
    data = rgb_pattern(dtype=np.uint16, scale=40) + 1000
    scene = open_scene(write_raster(tmp_path / "s.tif", data.astype(np.uint16)))
    assert scene.stretch is not None
    tile, _ = first_tile(scene)
    t = tile[:300, :400, 0].astype(int)
    assert t.min() == 0 and t.max() == 255
    assert np.corrcoef(t.ravel(), data[0].ravel())[0, 1] > 0.99


def test_bands_by_colour_interpretation_and_alpha_skipped(tmp_path):
    data = rgb_pattern()
    alpha = np.full((1, 300, 400), 255, np.uint8)
    nir = np.full((1, 300, 400), 7, np.uint8)
    stack = np.concatenate([alpha, nir, data[2:3], data[1:2], data[0:1]])  # A, NIR, B, G, R
    path = tmp_path / "s.tif"
    write_raster(path, stack)
    with rasterio.open(path, "r+") as dst:
        dst.colorinterp = [ColorInterp.alpha, ColorInterp.undefined, ColorInterp.blue, ColorInterp.green, ColorInterp.red]
    scene = open_scene(path)
    assert scene.bands == (5, 4, 3)
    tile, _ = first_tile(scene)
    np.testing.assert_array_equal(tile[:300, :400], np.moveaxis(data, 0, -1))
    assert open_scene(path, bands=(2, 2, 2)).bands == (2, 2, 2)
    with pytest.raises(GeotallyError, match="out of range"):
        open_scene(path, bands=(9, 2, 1))


def test_single_band_is_used_as_grey(tmp_path):
    scene = open_scene(write_raster(tmp_path / "s.tif", rgb_pattern()[:1]))
    assert scene.bands == (1, 1, 1)


def test_nodata_is_masked_black_and_counted(tmp_path):
    data = rgb_pattern()
    data[:, :, :200] = 0
    scene = open_scene(write_raster(tmp_path / "s.tif", data, nodata=0))
    tile, valid = first_tile(scene)
    assert (tile[:300, :200] == 0).all()
    assert valid == pytest.approx(0.5, abs=0.01)  # of the window read, not the padding


def test_geographic_scene_is_resampled_anisotropically(tmp_path):
    deg = 4.5e-6
    path = write_raster(tmp_path / "g.tif", rgb_pattern(), crs="EPSG:4326", transform=Affine(deg, 0, 42.55, 0, -deg, 37.15))
    scene = open_scene(path)
    gx, gy = scene.gsd
    assert gx == pytest.approx(deg * 111_320 * np.cos(np.radians(37.15)), rel=5e-3)
    assert gy > gx * 1.2


def test_plain_png_needs_gsd(tmp_path):
    from PIL import Image
    png = tmp_path / "p.png"
    Image.fromarray(np.moveaxis(rgb_pattern(), 0, -1)).save(png)
    with pytest.raises(GeotallyError, match="--gsd"):
        open_scene(png)
    scene = open_scene(png, gsd=0.3)
    assert scene.crs is None and scene.gsd == (0.3, 0.3) and not scene.georeferenced


def test_window_read_only_touches_its_window(tmp_path):
    data = rgb_pattern(h=2000, w=2000)
    scene = open_scene(write_raster(tmp_path / "big.tif", data, tiled=True, blockxsize=256, blockysize=256))
    grid = tile_grid(2000, 2000, (1.0, 1.0), size=512, overlap=64)
    k = len(grid) - 1
    with open_reader(scene) as src:
        tile, _ = read_tile(src, scene, grid.windows[k], grid.out_shapes[k], 512)
    c, r = grid.windows[k][:2]
    np.testing.assert_array_equal(tile, np.moveaxis(data[:, r:r + 512, c:c + 512], 0, -1))


def test_a_paletted_image_is_read_in_its_colours(tmp_path):
    """One band of indices and a colour table (a GIF-like PNG or TIFF): the model sees the colours,
    not the indices as grey (which lost all but one of 32 vehicles)."""
    from rasterio.windows import Window

    from geotally.imagery.preview import read_shrunk

    rgb = (rgb_pattern() // 40 * 40).astype(np.uint8)  # 5 x 5 x 1 colours
    colours = np.unique(rgb.reshape(3, -1).T, axis=0)
    index = np.zeros(rgb.shape[1:], np.uint8)
    for i, c in enumerate(colours):
        index[(rgb == c[:, None, None]).all(axis=0)] = i
    path = tmp_path / "p.tif"
    with rasterio.open(path, "w", driver="GTiff", width=400, height=300, count=1, dtype="uint8", crs="EPSG:32638",
                       transform=Affine(0.5, 0, 500000, 0, -0.5, 4100000)) as dst:
        dst.write(index, 1)
        dst.write_colormap(1, {i: (*map(int, c), 255) for i, c in enumerate(colours)})
    scene = open_scene(path)
    tile, _ = first_tile(scene)
    np.testing.assert_array_equal(tile[:300, :400], np.moveaxis(rgb, 0, -1))
    with open_reader(scene) as src:
        half = read_shrunk(src, scene, Window(0, 0, 400, 300), 200, 150)
    assert {tuple(c) for c in half.reshape(-1, 3)} <= {tuple(c) for c in colours}  # colours, never indices
    assert len({tuple(c) for c in half.reshape(-1, 3)}) > 10


@pytest.mark.parametrize("top", [1.0, 0.12, 0.05])
def test_float_reflectance_is_stretched_whatever_its_range(tmp_path, top):
    """Reflectance in 0..1 (or a dark scene's 0..0.05) fills the 8-bit range as 16-bit data does; a
    stretch at least one unit wide made 0..0.05 all but black, and the count 0."""
    data = rgb_pattern(dtype=np.float32) / 200 * top
    scene = open_scene(write_raster(tmp_path / "f.tif", data.astype(np.float32)))
    tile, _ = first_tile(scene)
    t = tile[:300, :400, 0].astype(int)
    assert t.min() == 0 and t.max() >= 250
    assert np.corrcoef(t.ravel(), data[0].ravel())[0, 1] > 0.99


def test_sidecar_files_are_read_and_checksummed(tmp_path):
    """A PNG with its world file and .aux.xml (an orthophoto as often delivered), and a TIFF with an
    external .msk mask: GDAL's sidecars place the scene and mask it, and are part of its checksum."""
    from rasterio.shutil import copy

    data = rgb_pattern()
    tif = write_raster(tmp_path / "s.tif", data)
    with rasterio.open(tif) as src:
        copy(src, tmp_path / "s.png", driver="PNG", WORLDFILE="YES")
    assert (tmp_path / "s.wld").exists() and (tmp_path / "s.png.aux.xml").exists()
    png, ref = open_scene(tmp_path / "s.png"), open_scene(tif)
    assert png.crs == ref.crs and png.transform == ref.transform and png.gsd == ref.gsd
    before = png.sha256
    lines = (tmp_path / "s.wld").read_text().split()
    lines[4] = str(float(lines[4]) + 100)  # the world file's x of the first pixel's centre
    (tmp_path / "s.wld").write_text("\n".join(lines) + "\n")
    moved = open_scene(tmp_path / "s.png")
    assert moved.transform.c == pytest.approx(ref.transform.c + 100) and moved.sha256 != before
    import json

    import geotally

    geotally.count(tmp_path / "s.png", out=tmp_path / "res", tile_size=256, overlap=32)
    record = json.loads((tmp_path / "res" / "summary.json").read_text())["scenes"][0]
    assert {Path(f).name for f in record["sidecars"]} == {"s.wld", "s.png.aux.xml"} and record["sha256"] == moved.sha256
    assert geotally.show(tmp_path / "res").summary.scenes[0].sidecars == record["sidecars"]  # it reads back

    masked = write_raster(tmp_path / "m.tif", data)
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=False), rasterio.open(masked, "r+") as dst:
        mask = np.full((300, 400), 255, np.uint8)
        mask[:, :100] = 0
        dst.write_mask(mask)
    assert (tmp_path / "m.tif.msk").exists()
    tile, valid = first_tile(open_scene(masked))
    assert valid == pytest.approx(0.75)
    assert (tile[:300, :100] == 0).all() and (tile[:300, 100:400] == np.moveaxis(data, 0, -1)[:, 100:]).all()


def test_a_scene_placed_by_control_points_says_to_warp_it(tmp_path):
    from rasterio.control import GroundControlPoint

    path = tmp_path / "gcp.tif"
    with rasterio.open(path, "w", driver="GTiff", width=400, height=300, count=3, dtype="uint8") as dst:
        dst.write(rgb_pattern())
        dst.gcps = ([GroundControlPoint(r, c, 500000 + c * 0.5, 4100000 - r * 0.5) for r, c in
                     ((0, 0), (0, 400), (300, 0), (300, 400))], rasterio.crs.CRS.from_epsg(32638))
    with pytest.raises(GeotallyError, match=r"placed by ground control points.*gdalwarp -t_srs"):
        open_scene(path)
    assert open_scene(path, gsd=0.5).crs is None  # pixel space when asked
