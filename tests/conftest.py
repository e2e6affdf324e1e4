"""Shared fixtures: generated scenes with exact truth, and the shared real data when present."""

from __future__ import annotations

import os
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
