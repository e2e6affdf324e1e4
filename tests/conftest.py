"""Shared fixtures: generated scenes with exact truth, and the shared real data when present."""

from __future__ import annotations

import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DOTA = SHARED / "dota-sample"


def write_raster(path: Path, data: np.ndarray, *, crs="EPSG:32638", transform=None, **profile) -> Path:
    """Write a bands-first array as a raster; the driver follows the suffix unless given."""
    count, h, w = data.shape
    transform = transform or Affine(0.5, 0, 500000, 0, -0.5, 4100000)
    base = dict(driver="GTiff", width=w, height=h, count=count, dtype=data.dtype.name, crs=crs, transform=transform)
    base.update(profile)
    with rasterio.open(path, "w", **base) as dst:
        dst.write(data)
    return path


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """The user's model cache, so the real default model is fetched at most once per machine."""
    return Path(os.environ.get("GEOTALLY_CACHE_DIR", "")) if os.environ.get("GEOTALLY_CACHE_DIR") else None


@pytest.fixture(scope="session")
def border_scene(tmp_path_factory) -> dict:
    """A small generated border crossing at 0.15 m: queues on both sides, a depot, cars; exact truth."""
    from geotally.synth import LayoutParams, SynthParams, write_scene

    lp = LayoutParams(width_m=200, height_m=600, queue={"TR": 8, "IQ": 14}, depot={"IQ": 6},
                      cars_road=10, cars_park=0, seed=1)
    return write_scene(tmp_path_factory.mktemp("border"), SynthParams(layout=lp))


needs_dota = pytest.mark.skipif(not DOTA.exists(), reason="../shared/data/dota-sample not present")


def run(monkeypatch, capsys, *args):
    """The CLI in this process: (exit code, stdout, stderr)."""
    from geotally import cli

    monkeypatch.setattr(sys, "argv", ["geotally", *map(str, args)])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    cap = capsys.readouterr()
    return exc.value.code, cap.out, cap.err


def assert_user_error(code, err, fragment, out_dir=None):
    """Exit 2, one line on stderr naming the problem, no traceback, and nothing written to ``out_dir``."""
    assert code == 2, err
    lines = err.rstrip("\n").split("\n")
    assert len(lines) == 1, err  # one line: no blank line, no warning, no half bar
    assert lines[0].startswith("geotally: error:") and fragment in lines[0], lines[0]
    assert "Traceback" not in err
    if out_dir is not None:
        assert not out_dir.exists()
        assert not list(out_dir.parent.glob(f".{out_dir.name}.staging-*"))


def noise_scene(path: Path, size: int = 256, seed: int = 0, **kw) -> Path:
    """A small georeferenced RGB scene of noise (0.5 m, EPSG:32638): counts fast, finds next to nothing."""
    rng = np.random.default_rng(seed)
    return write_raster(path, rng.integers(0, 255, (3, size, size), dtype=np.uint8), **kw)


def scene_box(size: int = 256, gsd: float = 0.5, x0: float = 500000, y0: float = 4100000) -> list:
    """The ring of noise_scene's footprint, for zones drawn over it."""
    x1, y1 = x0 + size * gsd, y0 - size * gsd
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


@contextmanager
def chromium_page(width: int = 1280, height: int = 900):
    """A page of headless Chromium (Debian's, through Playwright), or a skip when either is missing.
    Yields (page, errors): errors collects the page's uncaught exceptions."""
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": width, "height": height})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            yield page, errors
        finally:
            browser.close()
