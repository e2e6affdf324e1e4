"""Every vector input a user names stays local: an OGR VRT (by name or disguised as another file,
directly or nested in another VRT) whose source is on the network is refused with one line, and
a listener on 127.0.0.1 that counts requests sees none."""

import json

import pytest

from conftest import assert_user_error, noise_scene, run, scene_box
from test_network_off import server  # noqa: F401 (the listener on 127.0.0.1 that counts requests)


def _ogr_vrt(path, source: str, relative: bool = False):
    path.write_text(f'<OGRVRTDataSource><OGRVRTLayer name="remote"><SrcDataSource relativeToVRT="{int(relative)}">'
                    f'{source}</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>')
    return path


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A finished count of a noise scene: what evaluate and calibrate are pointed at."""
    import sys

    from geotally import cli

    tmp = tmp_path_factory.mktemp("net")
    scene = noise_scene(tmp / "scene.tif")
    out = tmp / "out"
    argv = sys.argv
    sys.argv = ["geotally", "count", str(scene), "--out", str(out), "-q"]
    try:
        with pytest.raises(SystemExit) as exc:
            cli.main()
    finally:
        sys.argv = argv
    assert exc.value.code == 0
    return scene, out


KINDS = ["zones", "border", "roads", "truth", "eval-zones", "review", "detections"]


@pytest.mark.parametrize("layout", ["vrt", "nested", "disguised"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_network_source_in_any_vector_input_is_refused_and_sends_nothing(kind, layout, server, results, tmp_path,
                                                                           monkeypatch, capsys):
    url, hits = server
    scene, res = results
    remote = f"/vsicurl/{url}/remote.geojson"
    name = {"review": "review.gpkg", "detections": "detections.gpkg"}.get(kind, f"{kind}.geojson" if layout == "disguised"
                                                                         else f"{kind}.vrt")
    if layout == "nested":
        _ogr_vrt(tmp_path / "inner.vrt", remote)
        vrt = _ogr_vrt(tmp_path / name, "inner.vrt", relative=True)
    else:
        vrt = _ogr_vrt(tmp_path / name, remote)
    out = tmp_path / "out"
    if kind in ("zones", "border", "roads"):
        args = ["count", scene, f"--{kind}", vrt, "--out", out]
    elif kind == "truth":
        args = ["evaluate", res, vrt, "-o", out]
    elif kind == "eval-zones":
        truth = tmp_path / "truth.geojson"
        truth.write_text(json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {
            "name": "urn:ogc:def:crs:EPSG::32638"}}, "features": [{"type": "Feature", "properties": {
            "class": "car"}, "geometry": {"type": "Polygon", "coordinates": [scene_box(8)]}}]}))
        args = ["evaluate", res, truth, "--zones", vrt, "-o", out]
    elif kind == "detections":
        truth = tmp_path / "truth.geojson"
        truth.write_text('{"type": "FeatureCollection", "features": []}')
        args = ["evaluate", vrt, truth, "-o", out]
    else:
        args = ["calibrate", vrt, "-o", out]
    code, _, err = run(monkeypatch, capsys, *args)
    assert_user_error(code, err, "network source", out)
    assert hits == []


def test_vector_reads_run_with_the_network_off(server, tmp_path):
    """A vector read that got past the check could not fetch either: pyogrio's own GDAL is off too,
    and is put back as it was afterwards."""
    import pyogrio

    from geotally.imagery.offline import vectors_offline

    url, hits = server
    vrt = _ogr_vrt(tmp_path / "z.vrt", f"/vsicurl/{url}/remote.geojson")
    before = pyogrio.get_gdal_config_option("GDAL_HTTP_PROXY")
    with pytest.raises(Exception), vectors_offline():  # noqa: B017 (pyogrio names the failure variously)
        pyogrio.read_dataframe(vrt)
    assert hits == []
    assert pyogrio.get_gdal_config_option("GDAL_HTTP_PROXY") == before
