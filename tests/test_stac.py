"""Imagery from catalogues, against real servers on 127.0.0.1: rustac's STAC API server, nginx serving
generated COGs (with Range requests, a byte counter and a bearer token), and a fault proxy of our own.

The COGs are the synthetic crossing on two dates (exact truth), published as items of a collection,
with two more items the searches must leave out (another year, another place). Each part skips when
its server binary is absent (.ci/run installs them)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import rasterio
import rasterio.shutil
import shapely
from pyproj import Transformer

import geotally
from geotally.config import SearchParams
from geotally.errors import GeotallyError
from tests.conftest import assert_user_error, run
from tests.servers import FaultProxy, Nginx, StacApi, nginx_binary, rustac_binary

pytest.importorskip("pystac_client")
needs_nginx = pytest.mark.skipif(nginx_binary() is None, reason="nginx not installed (apt-get install nginx)")
needs_rustac = pytest.mark.skipif(rustac_binary() is None, reason="rustac not installed (pip install rustac)")

TOKEN = "s3cret-token-7f2a9c"  # the credential: must reach the servers and never an output file
FAST = dict(tile_size=512, overlap=64)


def _footprint(tif: Path) -> shapely.Polygon:
    with rasterio.open(tif) as src:
        t = Transformer.from_crs(src.crs, 4326, always_xy=True)
        return shapely.transform(shapely.box(*src.bounds), t.transform, interleaved=False)


def _item(iid: str, when: str, href: str, geom: shapely.Geometry, **extra) -> dict:
    return {"type": "Feature", "stac_version": "1.0.0", "id": iid, "collection": "synth-crossing",
            "geometry": shapely.geometry.mapping(geom), "bbox": list(geom.bounds),
            "properties": {"datetime": when, "gsd": 0.3, "eo:cloud_cover": extra.pop("cloud", 0.0), **extra},
            "assets": {"visual": {"href": href, "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                                  "roles": ["data"]}}, "links": []}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Two dates of the crossing as COGs under nginx (token required), items of them (plus one of another
    year and one far away) in rustac's STAC API, and the same items as a static ItemCollection."""
    if nginx_binary() is None:
        pytest.skip("nginx not installed (apt-get install nginx)")
    from geotally.synth import LayoutParams, SynthParams, series_params, write_scene

    base = tmp_path_factory.mktemp("stac")
    synth, www = base / "synth", base / "www"
    www.mkdir()
    lp = LayoutParams(width_m=200, height_m=500, queue={"TR": 10, "IQ": 14}, depot={"IQ": 6}, cars_road=6,
                      cars_park=0, seed=4)
    runs = series_params(SynthParams(layout=lp, gsd=0.3), 2, "2026-06-01")
    scenes = [write_scene(synth, p, name=f"scene_{p.date}") for p in runs]
    cogs = []
    for p, sc in zip(runs, scenes):
        cog = www / f"crossing_{p.date}.tif"
        rasterio.shutil.copy(sc["scene"], cog, driver="COG", blocksize=256, compress="DEFLATE")
        cogs.append(cog)
    header = base / "headers.txt"
    header.write_text(f"Authorization: Bearer {TOKEN}\n")
    with Nginx(www, base / "nginx", token=TOKEN) as web:
        feet = [_footprint(c) for c in cogs]
        items = [_item(f"crossing-{p.date}", f"{p.date}T08:30:00Z", f"{web.url}/{c.name}", f)
                 for p, c, f in zip(runs, cogs, feet)]
        items.append(_item("crossing-2019", "2019-06-01T08:30:00Z", f"{web.url}/{cogs[0].name}", feet[0]))
        items.append(_item("elsewhere", f"{runs[0].date}T09:00:00Z", f"{web.url}/{cogs[0].name}",
                           shapely.affinity.translate(feet[0], 3.0, 2.0)))
        collection = {"type": "Collection", "stac_version": "1.0.0", "id": "synth-crossing",
                      "description": "synthetic crossing", "license": "CC0-1.0", "links": [],
                      "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                                 "temporal": {"interval": [["2019-01-01T00:00:00Z", None]]}}}
        (base / "collection.json").write_text(json.dumps(collection))
        (base / "items.json").write_text(json.dumps({"type": "FeatureCollection", "features": items}))
        yield dict(base=base, web=web, cogs=cogs, scenes=scenes, runs=runs, header=header, items=items,
                   zones=scenes[0]["sides"], border=scenes[0]["border"], dates=[p.date for p in runs])


@pytest.fixture
def creds(world, monkeypatch, tmp_path):
    monkeypatch.setenv("GDAL_HTTP_HEADER_FILE", str(world["header"]))
    monkeypatch.setenv("GEOTALLY_REMOTE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GDAL_HTTP_RETRY_DELAY", "0.1")
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def api(world):
    if rustac_binary() is None:
        pytest.skip("rustac not installed (pip install rustac)")
    with StacApi([world["base"] / "collection.json", world["base"] / "items.json"]) as server:
        yield server


def _files_text(*folders: Path) -> str:
    return "".join(p.read_bytes().decode("latin-1") for f in folders if f.exists() for p in f.rglob("*") if p.is_file())


@needs_rustac
def test_search_lists_exactly_the_items_meeting_the_area_and_time(world, api, creds, tmp_path, monkeypatch, capsys):
    found = geotally.api.search(SearchParams(stac_api=api.url, collections=("synth-crossing",), datetime="2026-01-01/2026-12-31"), zones=world["zones"])
    assert [f.id for f in found.items] == [f"crossing-{d}" for d in world["dates"]]
    # the share, measured independently in the scenes' own UTM grid
    import geopandas as gpd

    sides = shapely.union_all(gpd.read_file(world["zones"]).geometry.values)
    with rasterio.open(world["cogs"][0]) as src:
        truth = shapely.intersection(sides, shapely.box(*src.bounds)).area / sides.area
    assert [(round(f.aoi_share, 3), f.gsd) for f in found.items] == [(round(truth, 3), 0.3)] * 2
    one = geotally.api.search(SearchParams(stac_api=api.url, datetime=f"{world['dates'][1]}/.."), zones=world["zones"])
    assert [f.id for f in one.items] == [f"crossing-{world['dates'][1]}"]
    saved = tmp_path / "items.json"
    code, out, err = run(monkeypatch, capsys, "search", "--stac-api", api.url, "--collections", "synth-crossing",
                         "--zones", world["zones"], "--datetime", "2026-01-01/2026-12-31", "--save", saved)
    assert code in (0, None), err
    assert "2 item(s) of" in out and "saved 2 item(s)" in out
    assert [f["id"] for f in json.loads(saved.read_text())["features"]] == [f.id for f in found.items]
    assert TOKEN not in saved.read_text()


def test_a_static_catalogue_skips_broken_items_one_line_each(world, creds, tmp_path):
    items = [dict(i) for i in world["items"][:2]]
    broken = json.loads(json.dumps(items[0]))
    broken["id"], broken["properties"]["datetime"] = "no-datetime", None
    noasset = json.loads(json.dumps(items[0]))
    noasset["id"], noasset["assets"] = "no-asset", {}
    png = json.loads(json.dumps(items[0]))
    png["id"], png["assets"]["visual"]["type"], png["assets"]["visual"]["href"] = "png", "image/png", "x.png"
    cat = tmp_path / "cat.json"
    cat.write_text(json.dumps({"type": "FeatureCollection", "features": items + [broken, noasset, png]}))
    said = []
    found = geotally.api.search(SearchParams(catalog=cat), zones=world["zones"], say=said.append)
    assert [f.id for f in found.items] == [i["id"] for i in items]
    assert len(found.skipped) == 3 and said == found.skipped
    assert any("no-datetime" in s and "no datetime" in s for s in said)
    assert any("no-asset" in s for s in said) and any("png" in s and "GeoTIFF" in s for s in said)


@needs_rustac
def test_count_from_the_catalogue_equals_counting_the_same_cogs_locally(world, api, creds, tmp_path, monkeypatch,
                                                                         capsys):
    local = geotally.count_scenes([str(c) for c in world["cogs"]], out=tmp_path / "local", zones=world["zones"],
                                  border=world["border"],
                                  sides=("TR", "IQ"), **FAST)
    world["web"].reset_log()
    out = tmp_path / "remote"
    code, _, err = run(monkeypatch, capsys, "count", "--stac-api", api.url, "--collections", "synth-crossing",
                       "--datetime", "2026-01-01/2026-12-31", "--zones", world["zones"], "--border", world["border"],
                       "--sides", "TR,IQ", "--tile-size", "512", "--overlap", "64", "--out", out, "-q")
    assert code in (0, None), err
    a = pd.read_csv(tmp_path / "local" / "counts.csv", keep_default_na=False, dtype={"date": str})
    b = pd.read_csv(out / "counts.csv", keep_default_na=False, dtype={"date": str})
    assert sorted(set(b["date"])) == world["dates"]
    pd.testing.assert_frame_equal(a.sort_values(list(a.columns[:3])).reset_index(drop=True),
                                  b.sort_values(list(b.columns[:3])).reset_index(drop=True))
    assert local.counts["count"].sum() > 0
    summary = json.loads((out / "summary.json").read_text())
    for sc, cog in zip(summary["scenes"], world["cogs"]):
        r = sc["remote"]
        assert r["item_id"].startswith("crossing-") and r["collection"] == "synth-crossing"
        assert r["href"].endswith(cog.name) and r["catalogue"] == api.url
        assert r["etag"] and r["size"] == cog.stat().st_size and len(r["pixels_sha256"]) == 64
    # read through Range requests (206), each COG once and never more than its size
    reqs = world["web"].requests()
    assert any(s == 206 for _, _, s, _, _ in reqs)
    for cog in world["cogs"]:
        assert 0 < world["web"].bytes_sent(cog.name) <= cog.stat().st_size
    assert TOKEN not in _files_text(out, creds)


def test_a_small_bbox_reads_a_small_part_of_the_cog(world, creds):
    from geotally.imagery.remote import crop

    cog = world["cogs"][0]
    with rasterio.open(cog) as src:
        t = Transformer.from_crs(src.crs, 4326, always_xy=True)
        l, b, r, tp = src.bounds
        part = shapely.transform(shapely.box(l, tp - (tp - b) * 0.1, l + (r - l) * 0.3, tp), t.transform,
                                 interleaved=False)
    world["web"].reset_log()
    c = crop(f"{world['web'].url}/{cog.name}", part, creds)
    sent = world["web"].bytes_sent(cog.name)
    assert 0 < sent < 0.25 * cog.stat().st_size, (sent, cog.stat().st_size)
    with rasterio.open(c.path) as got, rasterio.open(cog) as src:
        c0, r0, w, h = c.provenance["window"]
        assert (got.width, got.height) == (w, h) and w < src.width and h < src.height
        assert (got.read() == src.read(window=((r0, r0 + h), (c0, c0 + w)))).all()


@pytest.mark.parametrize("kind", ["503", "429", "500", "drop", "stall"])
def test_a_fault_is_retried_and_gives_the_same_pixels(world, creds, tmp_path, monkeypatch, kind):
    from geotally.imagery.remote import crop

    monkeypatch.setenv("GDAL_HTTP_LOW_SPEED_TIME", "2")
    cog = world["cogs"][1]
    clean = crop(f"{world['web'].url}/{cog.name}", None, tmp_path / "clean")
    with FaultProxy(world["web"].port, kind, at={3, 4}, stall_s=6) as proxy:
        got = crop(f"{proxy.url}/{cog.name}", None, tmp_path / "faulty")
    assert proxy.faults >= 1
    assert got.provenance["pixels_sha256"] == clean.provenance["pixels_sha256"]


def test_a_fault_that_persists_is_one_line_and_no_output(world, creds, tmp_path, monkeypatch, capsys):
    with FaultProxy(world["web"].port, "503", at=set(range(1, 10_000))) as proxy:
        out = tmp_path / "out"
        monkeypatch.setattr("geotally.imagery.remote.BACKOFF_S", 0.05)
        code, _, err = run(monkeypatch, capsys, "count", f"{proxy.url}/{world['cogs'][0].name}", "--out", out, "-q")
    assert_user_error(code, err, "cannot be reached", out)
    assert not [p for p in creds.rglob("*.tif")] if creds.exists() else True


def test_an_etag_change_refuses_the_resume(world, creds, tmp_path, monkeypatch, capsys):
    cog = world["cogs"][0]
    copy = world["web"].root / "changing.tif"
    copy.write_bytes(cog.read_bytes())
    url = f"{world['web'].url}/{copy.name}"
    out = tmp_path / "out"
    args = ("count", url, "--date", world["dates"][0], "--border", world["border"], "--sides", "TR,IQ",
            "--tile-size", "512", "--overlap", "64", "--out", out, "-q")
    code, _, err = run(monkeypatch, capsys, *args)
    assert code in (0, None), err
    summary = json.loads((out / "summary.json").read_text())
    etag = summary["scenes"][0]["remote"]["etag"]
    os.utime(copy, (copy.stat().st_atime, copy.stat().st_mtime + 100))  # nginx's ETag is mtime-size
    code, _, err = run(monkeypatch, capsys, *args)
    assert code == 2 and "cannot resume" in err and "scene checksum" in err, err
    assert json.loads((out / "summary.json").read_text())["scenes"][0]["remote"]["etag"] == etag  # untouched


def test_without_the_credential_the_server_refuses_in_one_line(world, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GDAL_HTTP_HEADER_FILE", raising=False)
    monkeypatch.setenv("GEOTALLY_REMOTE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", f"{world['web'].url}/{world['cogs'][0].name}", "--out", out)
    assert_user_error(code, err, "HTTP 401", out)


def test_the_local_guard_still_holds(world, creds, tmp_path, monkeypatch, capsys):
    world["web"].reset_log()
    # a local ItemCollection with remote hrefs: refused unless --remote
    code, _, err = run(monkeypatch, capsys, "count", world["base"] / "items.json", "--out", tmp_path / "a")
    assert_user_error(code, err, "is not local", tmp_path / "a")
    # a local VRT naming a network source: refused, even with --remote
    vrt = tmp_path / "remote.vrt"
    with rasterio.open(world["cogs"][0]) as src:
        vrt.write_text(f'<VRTDataset rasterXSize="{src.width}" rasterYSize="{src.height}"><VRTRasterBand '
                       'dataType="Byte" band="1"><SimpleSource><SourceFilename>/vsicurl/'
                       f'{world["web"].url}/{world["cogs"][0].name}</SourceFilename><SourceBand>1</SourceBand>'
                       '</SimpleSource></VRTRasterBand></VRTDataset>')
    code, _, err = run(monkeypatch, capsys, "count", vrt, "--remote", "--out", tmp_path / "b")
    assert_user_error(code, err, "names a network source", tmp_path / "b")
    # only http(s): a file: or ftp: scene URL is refused
    with pytest.raises(GeotallyError, match="only http and https"):
        geotally.api.search(SearchParams(catalog="ftp://127.0.0.1/cat.json", bbox="44,37,45,38"))
    assert world["web"].requests() == []  # nothing reached the server
