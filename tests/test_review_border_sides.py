"""A review sample of a count whose zones are a border's two sides (--border without --zones): the
sample's windows fall in the sides, as the count's detections do, so misses found there correct the
sides' counts (before, they all fell 'outside' and a calibration called a true claim too high)."""

from __future__ import annotations

import geotally
from geotally.config import SampleParams


def test_sample_windows_fall_in_the_border_sides(border_scene, tmp_path):
    from geotally.review.session import open_session, sample_plan

    out = tmp_path / "r"
    geotally.count_scenes([border_scene["scene"]], out=out, tile_size=512, overlap=64,
                          border=border_scene["border"], sides=("TR", "IQ"))
    session = open_session(out)
    assert sorted(session.zones["name"]) == ["IQ", "TR"]
    assert set(session.zones.geom_type) == {"Polygon"}
    _, strata = sample_plan(session, SampleParams(detections=20, windows=12))
    windows = strata[strata["unit"] == "window"]
    assert set(windows["zone"]) == {"TR", "IQ"}
    assert windows["sampled"].sum() == 12
