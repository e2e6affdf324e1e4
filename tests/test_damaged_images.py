"""PNG and JPEG scenes cut short or damaged inside: each is refused with one line and leaves no
results, whether the damage is found as the scene is opened (a file cut short: its end is
checked, not decoded) or as detection reads it (damage inside)."""

import cv2
import numpy as np
import pytest
import rasterio

from conftest import assert_user_error, run
from geotally.imagery.scene import _ends_whole


def _image(path, ext):
    rng = np.random.default_rng(3)
    img = rng.integers(0, 255, (300, 400, 3), np.uint8)
    ok, buf = cv2.imencode(ext, img)
    assert ok
    path.write_bytes(buf.tobytes())
    return path


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_whole_and_cut_files_are_told_apart_by_their_end(tmp_path, ext):
    whole = _image(tmp_path / f"whole{ext}", ext)
    cut = tmp_path / f"cut{ext}"
    cut.write_bytes(whole.read_bytes()[:-100])
    for path, expected in ((whole, True), (cut, False)):
        with rasterio.open(path) as src:
            assert _ends_whole(src, str(path)) is expected


@pytest.mark.parametrize("ext, relative", [(".png", False), (".jpg", False), (".png", True)])
def test_a_cut_scene_is_refused_as_it_is_opened(tmp_path, monkeypatch, capsys, ext, relative):
    whole = _image(tmp_path / f"whole{ext}", ext)
    cut = tmp_path / f"cut{ext}"
    cut.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 2])
    out = tmp_path / "out"
    if relative:  # named from the folder above (it was said to refer to .../x/x/cut.png, missing)
        monkeypatch.chdir(tmp_path.parent)
        cut = cut.relative_to(tmp_path.parent)
    code, _, err = run(monkeypatch, capsys, "count", str(cut), "--gsd", "0.15", "--out", str(out))
    assert_user_error(code, err, "truncated or corrupt", out)
    assert "cannot be read" in err


def test_a_png_damaged_inside_fails_as_it_is_read(tmp_path, monkeypatch, capsys):
    data = bytearray(_image(tmp_path / "whole.png", ".png").read_bytes())
    for k in range(len(data) // 2, len(data) // 2 + 500):
        data[k] ^= 0x5A
    bad = tmp_path / "bad.png"
    bad.write_bytes(bytes(data))
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", str(bad), "--gsd", "0.15", "--out", str(out))
    assert_user_error(code, err, "truncated or corrupt", out)
    assert "previous exception" not in err
