"""A scene in Web Mercator counts as the same scene in UTM: areas, densities and distances are
metres on the ground (EPSG:3857 stretches them by 1/cos(latitude), 1.26 at Zakho's 37 degrees north)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.warp import Resampling, calculate_default_transform, reproject

import geotally

pytestmark = pytest.mark.slow
FAST = dict(tile_size=512, overlap=64)


def _warp(src_path: str, dst_path, crs: str) -> None:
    with rasterio.open(src_path) as src:
        transform, width, height = calculate_default_transform(src.crs, crs, src.width, src.height, *src.bounds)
        profile = dict(src.profile, crs=crs, transform=transform, width=width, height=height, nodata=0)
        with rasterio.open(dst_path, "w", **profile) as dst:
            for b in range(1, src.count + 1):
                reproject(rasterio.band(src, b), rasterio.band(dst, b), dst_transform=transform, dst_crs=crs,
                          resampling=Resampling.bilinear, dst_nodata=0)


def test_web_mercator_scene_measures_metres_on_the_ground(border_scene, tmp_path):
    utm, merc = tmp_path / "utm", tmp_path / "merc"
    _warp(border_scene["scene"], tmp_path / "scene_3857.tif", "EPSG:3857")
    for scene, out in ((border_scene["scene"], utm), (tmp_path / "scene_3857.tif", merc)):
        geotally.count(scene, out=out, zones=border_scene["sides"], border=border_scene["border"], sides=("TR", "IQ"),
                       **FAST)
    cov = [pd.read_csv(o / "coverage.csv").set_index("zone") for o in (utm, merc)]
    for zone in ("TR", "IQ"):
        assert cov[1].loc[zone, "zone_km2"] == pytest.approx(cov[0].loc[zone, "zone_km2"], rel=0.01)
        # the warped scene's nodata corners are not imaged: at most its area, never 1.26^2 of it
        assert cov[1].loc[zone, "observed_km2"] == pytest.approx(cov[0].loc[zone, "observed_km2"], rel=0.02)
    det = [gpd.read_file(o / "detections.gpkg", layer="detections").to_crs(4326) for o in (utm, merc)]
    assert len(det[1]) == pytest.approx(len(det[0]), abs=3) and len(det[0]) >= 30
    lonlat = [np.c_[d.geometry.centroid.x, d.geometry.centroid.y] for d in det]
    nearest = np.argmin(((lonlat[1][None] - lonlat[0][:, None]) ** 2).sum(-1), axis=1)  # each UTM vehicle's twin
    away = np.hypot(*((lonlat[1][nearest] - lonlat[0]) * [np.cos(np.radians(37.1)), 1]).T) * 111_320
    twins = away < 1.0
    assert twins.sum() >= 0.9 * len(det[0])
    dist = [det[0]["border_dist_m"].to_numpy()[twins], det[1]["border_dist_m"].to_numpy()[nearest[twins]]]
    assert np.abs(dist[1] - dist[0]).max() < 1.0, np.c_[dist[0], dist[1]][:5]  # metres, not Mercator's 1.26x
