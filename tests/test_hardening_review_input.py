"""The review app checks every decision itself: an added box far outside the scene (1e300), off
it, or of a size no vehicle has is refused with a 400 and never reaches review.gpkg or the export."""

import json
import urllib.error
import urllib.request

import pytest

from conftest import noise_scene

GSD = 0.5  # noise_scene's metres per pixel


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    import geotally
    from geotally.review.run import prepare

    tmp = tmp_path_factory.mktemp("rin")
    geotally.count_scenes([noise_scene(tmp / "scene.tif")], out=tmp / "res")
    return prepare(tmp / "res", reviewer="tester", port=0)


def _box(cx, cy, length_m, width_m):
    lx, wy = length_m / GSD / 2, width_m / GSD / 2
    return [[cx - lx, cy - wy], [cx + lx, cy - wy], [cx + lx, cy + wy], [cx - lx, cy + wy]]


BAD = {"huge coordinates": [[1e300, 1e300], [2e300, 1e300], [2e300, 2e300], [1e300, 2e300]],
       "off the scene": _box(400, 100, 16, 3), "a car 30 m long": _box(100, 100, 30, 2),
       "a truck 0.5 m wide": _box(100, 100, 16, 0.5), "a speck": _box(100, 100, 0.3, 0.2)}


@pytest.mark.parametrize("what", BAD)
def test_an_implausible_added_box_is_refused_over_http(app, what):
    from geotally.review.server import serve_in_thread

    server, _ = serve_in_thread(app)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    cls = "small_vehicle" if "car" in what or "speck" in what else "large_vehicle"
    body = json.dumps({"action": "add", "label_class": cls, "ring": BAD[what], "scene": "scene.tif"}).encode()
    req = urllib.request.Request(f"{url}/api/decision", data=body, method="POST",
                                 headers={"Content-Type": "application/json", "X-Review-Token": app.token,
                                          "Origin": url})
    try:
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(req, timeout=30)
    finally:
        server.shutdown()
    assert exc.value.code == 400
    assert app.decisions()["added"] == []


def test_a_plausible_box_is_kept(app):
    out = app.decide({"action": "add", "label_class": "large_vehicle", "ring": _box(100, 100, 16, 2.6), "scene": "scene.tif"})
    assert len(out["decisions"]["added"]) == 1
