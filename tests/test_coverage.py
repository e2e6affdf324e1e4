"""Observed area: the share of each zone that a date's valid pixels cover, per km² densities, and
'partial' dates that geotally change refuses to compare."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import shapely
from affine import Affine

from conftest import noise_scene, run, write_raster
from geotally.analysis.coverage import zone_coverage
from geotally.zones.load import Zones


def _zones(path, rings: dict) -> str:
    feats = [{"type": "Feature", "properties": {"name": k}, "geometry": {"type": "Polygon", "coordinates": [r]}}
             for k, r in rings.items()]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats,
                                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32638"}}}))
    return str(path)


def test_zone_coverage_exact_on_polygons():
    zones = Zones(np.array(["A", "B"]), np.array([shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)]),
                  "z", "name")
    seen = shapely.box(0, 0, 1500, 1000)  # all of A, half of B
    t = zone_coverage({"2026-01-01": seen}, zones, None).set_index("zone")
    assert t.loc["A", "observed_share"] == 1.0 and t.loc["B", "observed_share"] == 0.5
    assert t.loc["B", "coverage"] == "partial" and t.loc["A", "coverage"] == "ok"
    assert t.loc["ALL", "observed_km2"] == 1.5 and t.loc["ALL", "zone_km2"] == 2.0


def test_nodata_and_scene_edges_reduce_the_observed_area(tmp_path, monkeypatch, capsys):
    """A 256 px scene at 0.5 m (128 m a side) whose left quarter is nodata, under a zone twice its
    size: observed 0.75 of the scene, 0.375 of the zone; the zone is flagged partial."""
    rng = np.random.default_rng(0)
    data = rng.integers(1, 255, (3, 256, 256), dtype=np.uint8)
    data[:, :, :64] = 0
    scene = write_raster(tmp_path / "s.tif", data, nodata=0)
    x0, y0 = 500000, 4100000
    zones = _zones(tmp_path / "z.geojson", {"big": [[x0, y0], [x0 + 256, y0], [x0 + 256, y0 - 128], [x0, y0 - 128],
                                                     [x0, y0]]})
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", scene, "--zones", zones, "--out", out, "-q")
    assert code == 0, err
    cov = pd.read_csv(out / "coverage.csv", keep_default_na=False).set_index("zone")
    assert abs(cov.loc["big", "observed_km2"] - 0.75 * 128 * 128 / 1e6) < 0.01 * 128 * 128 / 1e6
    assert abs(cov.loc["big", "observed_share"] - 0.375) < 0.005 and cov.loc["big", "coverage"] == "partial"
    counts = pd.read_csv(out / "counts.csv", keep_default_na=False)
    row = counts[(counts["zone"] == "big") & (counts["class"] == "large_vehicle")].iloc[0]
    assert row["coverage"] == "partial" and abs(float(row["observed_share"]) - 0.375) < 0.005
    html = (out / "report.html").read_text()
    assert 'id="coverage-warning"' in html and "big on the undated scenes (38%)" in html


def test_change_refuses_a_date_that_imaged_a_quarter_of_the_zone(tmp_path, monkeypatch, capsys):
    """Two dates of one zone: one scene images all of it, the next only its top-left quarter. The
    change between them is 'not comparable', whatever the counts say, and is no change point."""
    x0, y0 = 500000, 4100000
    noise_scene(tmp_path / "z_20260101.tif", transform=Affine(0.5, 0, x0, 0, -0.5, y0))
    noise_scene(tmp_path / "z_20260201.tif", size=128, seed=1, transform=Affine(0.5, 0, x0, 0, -0.5, y0))
    zones = _zones(tmp_path / "z.geojson", {"Z": [[x0, y0], [x0 + 128, y0], [x0 + 128, y0 - 128], [x0, y0 - 128],
                                                   [x0, y0]]})
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", tmp_path / "z_20260101.tif", tmp_path / "z_20260201.tif",
                       "--zones", zones, "--date-pattern", "z_{date:%Y%m%d}.tif", "--out", out, "-q")
    assert code == 0, err
    cov = pd.read_csv(out / "coverage.csv", keep_default_na=False)
    z = cov[cov["zone"] == "Z"]
    assert dict(zip(z["date"], z["observed_share"])) == {"2026-01-01": 1.0, "2026-02-01": 0.25}
    code, stdout, err = run(monkeypatch, capsys, "change", out, "-o", tmp_path / "change.csv", "--force")
    assert code == 0, err
    t = pd.read_csv(tmp_path / "change.csv", keep_default_na=False)
    assert t[t["zone"] == "Z"]["verdict"].str.startswith("not comparable: the dates imaged 100% and 25%").all()


def test_the_all_rows_density_is_of_the_vehicles_in_the_zones():
    """Zones that cover part of the scenes: ALL's area is the zones', so its vehicles per km² count
    the vehicles in them, not those outside every zone too (20 + 30 outside over 1 km² read 50)."""
    from geotally.analysis.coverage import with_coverage

    zones = Zones(np.array(["A"]), np.array([shapely.box(0, 0, 1000, 1000)]), "z", "name")
    cov = zone_coverage({"": shapely.box(0, 0, 3000, 1000)}, zones, None)
    counts = pd.DataFrame({"date": [""] * 3, "zone": ["A", "outside", "ALL"], "class": ["large_vehicle"] * 3,
                           "count": [20, 30, 50]})
    t = with_coverage(counts, cov).set_index("zone")
    assert t.loc["A", "per_observed_km2"] == 20 and t.loc["ALL", "per_observed_km2"] == 20
    assert t.loc["ALL", "count"] == 50  # the count itself is every vehicle
    alone = zone_coverage({"": shapely.box(0, 0, 3000, 1000)}, None, None)  # no zones: the scenes' area
    t = with_coverage(counts[counts["zone"] != "A"], alone).set_index("zone")
    assert t.loc["ALL", "per_observed_km2"] == round(50 / 3, 2)


def test_sides_of_a_border_alone_are_what_the_scenes_imaged(tmp_path, monkeypatch, capsys):
    """With --border and no --zones the sides are cut from the scenes' box; a scene inside a nodata
    collar imaged all there is of them, so they are 'ok' (they read 'partial', 0.75, before)."""
    rng = np.random.default_rng(0)
    data = rng.integers(1, 255, (3, 256, 256), dtype=np.uint8)
    data[:, :, :64] = 0
    scene = write_raster(tmp_path / "s.tif", data, nodata=0)
    x0, y0 = 500000, 4100000
    border = tmp_path / "b.geojson"
    border.write_text(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                      "geometry": {"type": "LineString", "coordinates": [[x0 + 64, y0 - 129], [x0 + 64, y0 + 1]]}}],
                      "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32638"}}}))
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", scene, "--border", border, "--sides", "W,E", "--out", out, "-q")
    assert code == 0, err
    cov = pd.read_csv(out / "coverage.csv", keep_default_na=False).set_index("zone")
    assert (cov["coverage"] == "ok").all() and (cov["observed_share"] == 1.0).all(), cov
    assert abs(cov.loc["E", "observed_km2"] - 64 * 128 / 1e6) < 1e-4  # walking north, W is on the left
    assert abs(cov.loc["W", "observed_km2"] - 32 * 128 / 1e6) < 1e-4  # half of it is the collar
