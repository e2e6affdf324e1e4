"""User text goes into the report and the review app as text, never as markup: zones, roads and
sides named with HTML inject no element into either page, in Debian's Chromium."""

import json

import pytest

from conftest import chromium_page, noise_scene, run

# each name would add an element with an id "pwn…" if it were read as HTML
HOSTILE = ['<img src=x id="pwn-img">', '<b id="pwn-b">bold</b>', '"><svg id="pwn-svg"></svg>',
           "</span><i id='pwn-i'>x</i>"]
WATCH = """() => { window.__injected = [];
  new MutationObserver((ms) => { for (const m of ms) for (const n of m.addedNodes)
    if (n.nodeType === 1 && ((n.id || '').startsWith('pwn') || n.querySelector && n.querySelector('[id^=pwn]')))
      window.__injected.push(n.outerHTML); }).observe(document, { childList: true, subtree: true }); }"""


def _geojson(path, feats):
    path.write_text(json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {
        "name": "urn:ogc:def:crs:EPSG::32638"}}, "features": feats}))
    return path


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """A count of a noise scene with zones, roads and a border whose names are HTML."""
    import geotally

    tmp = tmp_path_factory.mktemp("html")
    x0, y0, w = 500000.0, 4100000.0, 128.0 / len(HOSTILE)
    zones = _geojson(tmp / "zones.geojson", [
        {"type": "Feature", "properties": {"name": n}, "geometry": {"type": "Polygon", "coordinates": [[
            [x0 + i * w, y0], [x0 + (i + 1) * w, y0], [x0 + (i + 1) * w, y0 - 128], [x0 + i * w, y0 - 128],
            [x0 + i * w, y0]]]}} for i, n in enumerate(HOSTILE)])
    roads = _geojson(tmp / "roads.geojson", [
        {"type": "Feature", "properties": {"highway": "primary", "name": n, "ref": n},
         "geometry": {"type": "LineString", "coordinates": [[x0 - 50, y0 - 10 - 20 * i], [x0 + 200, y0 - 10 - 20 * i]]}}
        for i, n in enumerate(HOSTILE)])
    out = tmp / "res"
    geotally.count_scenes([noise_scene(tmp / "scene.tif")], out=out, zones=str(zones), roads=str(roads))
    return out


def _injected(page) -> list:
    return page.evaluate("window.__injected.concat(Array.from(document.querySelectorAll('[id^=pwn]'), e => e.outerHTML))")


def test_the_review_app_shows_hostile_zone_names_as_text(hostile_run):
    from geotally.review.run import prepare
    from geotally.review.server import serve_in_thread

    app = prepare(hostile_run, reviewer="tester", port=0)
    server, _ = serve_in_thread(app)
    try:
        with chromium_page() as (page, errors):
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
            page.evaluate(WATCH)
            page.wait_for_selector("body[data-ready='1']")
            box = page.locator("#map").bounding_box()
            tips = set()
            y = box["y"] + box["height"] / 2  # a sweep across the zones' edges, each a tooltip's trigger
            for x in range(int(box["x"]) + 60, int(box["x"] + box["width"]) - 60):  # past the zoom buttons
                page.mouse.move(x, y)
                tip = page.query_selector(".leaflet-tooltip")
                if tip:
                    tips.add(tip.text_content())
            injected = _injected(page)
            assert not errors, errors
    finally:
        server.shutdown()
    assert injected == []
    assert tips == set(HOSTILE)  # every zone's tooltip was seen, its name as text


def test_the_report_shows_hostile_zone_and_road_names_as_text(hostile_run):
    with chromium_page() as (page, errors):
        page.goto((hostile_run / "report.html").resolve().as_uri())
        page.locator("#map[data-drawn-footprints]").wait_for(state="attached")
        injected = page.evaluate("Array.from(document.querySelectorAll('[id^=pwn]'), e => e.outerHTML)")
        tables = page.inner_text("body")
    assert errors == []
    assert injected == []
    for name in HOSTILE:
        assert name in tables  # the zone and road tables show the names, markup and all
