"""The HTML report opened in headless Chromium (Debian's), driven by Playwright."""

import json
import shutil
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import geotally
from geotally.detect.boxes import corners_to_polygons, xywhr_to_corners
from geotally.geo.transform import pixel_to_map
from geotally.report.html import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_report(browser, path: Path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    t0 = time.perf_counter()
    page.goto(path.resolve().as_uri())
    page.locator("#map[data-drawn-footprints]").wait_for(state="attached")  # no eval: the report's CSP forbids it
    return page, errors, requests, time.perf_counter() - t0


@pytest.fixture(scope="module")
def results(border_scene, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "res"
    geotally.count(border_scene["scene"], border=border_scene["border"], sides=("TR", "IQ"), out=out,
                   export=("kml",))
    return out


def test_report_loads_offline_and_draws_every_detection(browser, results, tmp_path):
    page, errors, requests, _ = open_report(browser, results / "report.html")
    assert errors == []
    external = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert external == []
    n = len(gpd.read_file(results / "detections.gpkg"))
    assert n > 0
    assert int(page.get_attribute("#map", "data-drawn-footprints")) == n
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    (results.parent / "report.png").write_bytes(shot.read_bytes())


def test_zone_table_matches_counts_csv(browser, results):
    page, *_ = open_report(browser, results / "report.html")
    rows = page.eval_on_selector_all("#counts-table tbody tr",
                                     "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))")
    csv = pd.read_csv(results / "counts.csv", dtype=str, keep_default_na=False)
    assert [r[:4] for r in rows] == csv[["date", "zone", "class", "count"]].values.tolist()
    assert [r[len(csv.columns) - 1] for r in rows][:1] and csv.columns[-1] == "per_observed_km2"


def test_toggling_layers_hides_them(browser, results):
    page, *_ = open_report(browser, results / "report.html")
    assert int(page.get_attribute("#map", "data-drawn-queues")) > 0
    page.click("#layer-detections")
    assert page.get_attribute("#map", "data-drawn-footprints") == "0"
    page.click("#layer-queues")
    assert page.get_attribute("#map", "data-drawn-queues") == "0"
    page.click("#layer-detections")
    assert int(page.get_attribute("#map", "data-drawn-footprints")) > 0


def test_hover_shows_vehicle_details(browser, results):
    page, *_ = open_report(browser, results / "report.html")
    det = gpd.read_file(results / "detections.gpkg")
    i = int(np.argmax(det["score"].values))
    target = page.evaluate("""(xy) => {
        const c = document.getElementById('map'), v = window.geotallyReport.view, r = c.getBoundingClientRect();
        return [r.left + v.x + xy[0] * v.s, r.top + v.y + xy[1] * v.s]; }""", _centre_px(results, det, i))
    page.mouse.move(*target)
    page.mouse.click(*target)
    text = page.text_content("#selected")
    assert det["class"].iloc[i] in text and f"{det['length_m'].iloc[i]:.1f} m" in text


def _centre_px(results, det, i):
    from geotally.geo.transform import map_to_pixel
    from geotally.imagery.scene import open_scene

    summary = json.loads((results / "summary.json").read_text())
    scene = open_scene(summary["scenes"][0]["path"], checksum=False)
    c = det.geometry.iloc[i].centroid
    return map_to_pixel(scene.transform, np.array([[c.x, c.y]]))[0].tolist()


def test_exports_beside_the_report(results):
    parquet = gpd.read_parquet(results / "detections.parquet")
    assert len(parquet) == len(gpd.read_file(results / "detections.gpkg")) and parquet.crs.to_epsg() == 32638
    kml = (results / "detections.kml").read_text()
    vehicles = kml.split("<Folder><name>vehicles</name>", 1)[1].split("</Folder>", 1)[0]
    assert vehicles.count("<Placemark") == len(parquet)  # zones, border and queues have folders of their own


def test_20000_detections_stay_small_and_quick(browser, border_scene, tmp_path):
    res = geotally.count(border_scene["scene"], border=border_scene["border"], sides=("TR", "IQ"))
    rng = np.random.default_rng(0)
    n = 20_000
    boxes = np.column_stack([rng.uniform(0, res.scene.width, n), rng.uniform(0, res.scene.height, n),
                             rng.uniform(20, 120, n), rng.uniform(10, 17, n), rng.uniform(-np.pi, np.pi, n)])
    polys = corners_to_polygons(pixel_to_map(res.scene.transform, xywhr_to_corners(boxes)))
    res.detections = gpd.GeoDataFrame({
        "class": rng.choice(["large_vehicle", "small_vehicle"], n), "score": rng.uniform(0.1, 1, n).round(2),
        "length_m": rng.uniform(4, 19, n).round(1), "zone": rng.choice(["TR", "IQ"], n),
        "queue_id": np.full(n, -1)}, geometry=polys, crs=res.detections.crs)
    path = write_report(res, tmp_path / "report.html")
    size_mb = path.stat().st_size / 1e6
    page, errors, _, load_s = open_report(browser, path)
    assert errors == [] and int(page.get_attribute("#map", "data-drawn-footprints")) == n
    redraw_ms = page.evaluate("""() => { const t = performance.now();
        for (let k = 0; k < 10; k++) window.geotallyReport.draw(); return (performance.now() - t) / 10; }""")
    print(f"\n20,000 detections: report {size_mb:.2f} MB, load {load_s:.2f} s, redraw {redraw_ms:.1f} ms")
    assert size_mb < 10
    assert load_s < 60  # generous: only catches a hang


@pytest.mark.parametrize("rotation_deg", [0.0, 30.0])
def test_basemap_tiles_cover_every_scene_corner(tmp_path, rotation_deg):
    """The web-mercator tiles asked for must cover the whole scene, also under a rotated geotransform."""
    from affine import Affine

    from geotally.geo.transform import map_to_wgs84, scene_corners
    from geotally.imagery.scene import open_scene
    from geotally.report.html import _tiles
    from conftest import write_raster

    transform = Affine.translation(500000, 4110000) * Affine.rotation(rotation_deg) * Affine.scale(0.5, -0.5)
    path = write_raster(tmp_path / "s.tif", np.zeros((3, 2000, 3000), np.uint8), transform=transform)
    sc = open_scene(path)
    tiles, zoom = _tiles(sc)
    lonlat = map_to_wgs84(sc.crs, scene_corners(sc.transform, sc.width, sc.height))
    for lon, lat in lonlat:
        assert any(t["w"] <= lon <= t["e"] and t["s"] <= lat <= t["n"] for t in tiles), (lon, lat, zoom)
