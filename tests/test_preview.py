"""The report's picture of the scene, pieced together from the tiles detection reads."""

import cv2
import numpy as np
import pytest

from geotally.detect.run import detect_tiles, scene_grid
from geotally.imagery.scene import open_scene
from geotally.imagery.preview import Preview, PreviewFrame
from geotally.models.backends import TileBoxes
from geotally.report.payload import quicklook
from conftest import write_raster


class NoBoxes:
    """A detector that finds nothing: these tests are about the pixels read, not the model."""

    names = {0: "large-vehicle"}
    kind = "obb"

    def predict(self, tiles):
        return [TileBoxes.empty() for _ in tiles]

    def describe(self):
        return {}


def _scene(tmp_path, w=3000, h=2200, nodata_block=False):
    rng = np.random.default_rng(3)
    smooth = cv2.resize(rng.uniform(0, 255, (22, 30)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    data = np.stack([smooth, smooth[::-1], 255 - smooth]).clip(1, 255).astype(np.uint8)
    data[:, 1000:1010, :] = 255  # a sharp line crossing tile seams
    if nodata_block:
        data[:, :400, :500] = 0
    return write_raster(tmp_path / "s.tif", data, nodata=0 if nodata_block else None)


def _decode(uri):
    import base64

    buf = np.frombuffer(base64.b64decode(uri.split(",", 1)[1]), np.uint8)
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].astype(int)


@pytest.mark.parametrize("nodata_block", [False, True])
def test_preview_from_tiles_matches_a_full_read(tmp_path, nodata_block):
    sc = open_scene(_scene(tmp_path, nodata_block=nodata_block))
    grid = scene_grid(sc, model_gsd=0.8, tile_size=640, overlap=64)  # 0.5 m scene shrunk to 0.8 m tiles
    assert len(grid) > 4
    preview = Preview(PreviewFrame.for_scene(sc.width, sc.height, max_side=1000))
    assert preview.frame.usable_with(grid)
    detect_tiles(sc, NoBoxes(), grid, np.arange(len(grid)), on_pixels=preview.add)
    assert preview.complete
    pieced = _decode(quicklook(sc, preview.image)[0])
    read = _decode(quicklook(sc, None, max_side=1000)[0])
    assert pieced.shape == read.shape == (preview.frame.height, preview.frame.width, 3)
    diff = np.abs(pieced - read)
    assert np.median(diff) <= 2 and np.percentile(diff, 99) <= 25
    # the bright line sits in the same rows in both
    assert abs(int(np.argmax(pieced[:, 100:900].mean(axis=(1, 2)))) - int(np.argmax(read[:, 100:900].mean(axis=(1, 2))))) <= 1


def test_tiles_not_run_are_read_to_fill_the_preview(tmp_path):
    sc = open_scene(_scene(tmp_path, nodata_block=True))
    grid = scene_grid(sc, model_gsd=0.8, tile_size=640, overlap=64)
    whole = Preview(PreviewFrame.for_scene(sc.width, sc.height, max_side=1000))
    detect_tiles(sc, NoBoxes(), grid, np.arange(len(grid)), on_pixels=whole.add)
    resumed = Preview(whole.frame)
    detect_tiles(sc, NoBoxes(), grid, np.arange(len(grid))[2:], on_pixels=resumed.add)  # tiles 0, 1 done earlier
    assert not resumed.complete
    x0, y0, x1, y1 = whole.frame.box(grid, 0)
    assert not resumed.filled[y0:y1, x0:x1].any()
    resumed.fill(sc, grid)
    assert resumed.complete
    diff = np.abs(resumed.image.astype(int) - whole.image.astype(int))
    assert np.median(diff[y0:y1, x0:x1]) <= 2 and (diff[y1:, :] == 0).all()  # read tiles match; the rest untouched
    assert (resumed.image[:5, :5] == 0).all()  # nodata stays black


def test_preview_not_used_when_tiles_are_blurrier_than_it(tmp_path):
    sc = open_scene(_scene(tmp_path, w=800, h=600))
    grid = scene_grid(sc, model_gsd=2.0, tile_size=256, overlap=32)  # tiles at a quarter of the scene's pixels
    frame = PreviewFrame.for_scene(sc.width, sc.height)
    assert not frame.usable_with(grid)
    preview = Preview(frame)
    preview.fill(sc, grid)  # what count does then: every core read, averaged down
    assert preview.complete
    read = _decode(quicklook(sc, None)[0])
    assert np.median(np.abs(_decode(quicklook(sc, preview.image)[0]) - read)) <= 2


def test_the_checkpoint_keeps_the_picture_as_pixels_and_reads_old_png_ones(tmp_path):
    """Stored as its RGB pixels (no encoding on the way out of a run), read back exactly; a checkpoint
    of an earlier version, which kept a PNG, still gives its picture; another size gives none."""
    from geotally.store.checkpoint import TileStore

    rng = np.random.default_rng(5)
    img = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    store = TileStore(tmp_path / "c.sqlite", {"k": "v"})
    store.put_preview(img)
    blob = store.db.execute("SELECT png FROM preview").fetchone()[0]
    assert len(blob) == img.nbytes + 12  # pixels after a header, not a PNG
    np.testing.assert_array_equal(store.preview((300, 400)), img)
    assert store.preview((400, 300)) is None
    ok, png = cv2.imencode(".png", np.ascontiguousarray(img[..., ::-1]))
    store.db.execute("INSERT OR REPLACE INTO preview VALUES (0, ?)", (png.tobytes(),))
    np.testing.assert_array_equal(store.preview((300, 400)), img)
    assert store.preview((300, 401)) is None
    store.close()


def test_a_fully_resumed_run_shows_the_first_runs_picture(border_scene, tmp_path, monkeypatch):
    """Every tile resumed: the report's picture is the one the first run kept, not read again."""
    from geotally.api import count_scenes

    out = tmp_path / "out"
    first = count_scenes([border_scene["scene"]], out=out)

    def no_read(self, scene, grid):
        raise AssertionError("the picture was read again")

    monkeypatch.setattr(Preview, "fill", no_read)
    again = count_scenes([border_scene["scene"]], out=out)
    rec = again.summary.scenes[0]
    assert rec.tiles_resumed == rec.tiles > 1
    assert first.preview.mean() > 20
    np.testing.assert_array_equal(again.preview, first.preview)
