"""Local scenes never reach the network, even through a VRT that names a remote source.
Only a server on 127.0.0.1 is used, and it records every request it gets."""

import http.server
import threading

import pytest
import rasterio

from conftest import assert_user_error, noise_scene, run
from geotally.imagery.offline import rasters_offline


@pytest.fixture
def server():
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}", hits
    srv.shutdown()


def _vrt(path, source: str, relative: bool = False):
    path.write_text(f'<VRTDataset rasterXSize="256" rasterYSize="256"><SRS>EPSG:32638</SRS>'
                    f'<GeoTransform>500000, 0.5, 0, 4100000, 0, -0.5</GeoTransform>'
                    + "".join(f'<VRTRasterBand dataType="Byte" band="{b}"><SimpleSource><SourceFilename '
                              f'relativeToVRT="{int(relative)}">{source}</SourceFilename><SourceBand>{b}</SourceBand>'
                              f'</SimpleSource></VRTRasterBand>' for b in (1, 2, 3)) + "</VRTDataset>")
    return path


def test_a_vrt_with_a_remote_source_is_refused_and_sends_nothing(server, tmp_path, monkeypatch, capsys):
    url, hits = server
    vrt = _vrt(tmp_path / "scene.vrt", f"/vsicurl/{url}/remote.tif")
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", vrt, "--out", out)
    assert_user_error(code, err, "network source", out)
    assert hits == []


def test_through_a_stac_item_and_a_nested_vrt(server, tmp_path, monkeypatch, capsys):
    url, hits = server
    _vrt(tmp_path / "inner.vrt", f"/vsicurl/{url}/remote.tif")
    outer = _vrt(tmp_path / "outer.vrt", "inner.vrt", relative=True)
    item = tmp_path / "item.json"
    item.write_text('{"type": "Feature", "id": "a", "properties": {"datetime": "2026-06-01T00:00:00Z"}, '
                    f'"assets": {{"visual": {{"href": "{outer.name}", "roles": ["data"]}}}}}}')
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", item, "--out", out)
    assert_user_error(code, err, "network source", out)
    assert hits == []


def test_reads_run_with_the_network_off(server, tmp_path):
    """Even a read that got past the check could not fetch: GDAL's curl file systems are pointed at nothing."""
    url, hits = server
    vrt = _vrt(tmp_path / "scene.vrt", f"/vsicurl/{url}/remote.tif")
    with pytest.raises(rasterio.errors.RasterioIOError), rasters_offline(), rasterio.open(vrt) as src:
        src.read(1)
    assert hits == []


def test_a_vrt_of_local_files_still_counts(tmp_path, monkeypatch, capsys):
    noise_scene(tmp_path / "local.tif")
    vrt = _vrt(tmp_path / "scene.vrt", "local.tif", relative=True)
    code, _, err = run(monkeypatch, capsys, "count", vrt, "--out", tmp_path / "out", "-q")
    assert code == 0, err
    assert (tmp_path / "out" / "counts.csv").read_text().startswith("date,zone,class,count")
