"""Imagery from catalogues, against real servers on 127.0.0.1: rustac's STAC API server, nginx serving
generated COGs (with Range requests, a byte counter and a bearer token), and a fault proxy of our own.

The COGs are the synthetic crossing on two dates (exact truth), published as items of a collection,
with two more items the searches must leave out (another year, another place). Each part skips when
its server binary is absent (.ci/run installs them)."""

from __future__ import annotations

import json
import shutil
import os
from pathlib import Path

import numpy as np
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
from tests.servers import FaultProxy, Nginx, Relay, StacApi, nginx_binary, rustac_binary
from tests.servers.catalogue import collection, footprint, item, make_crossing

pytest.importorskip("pystac_client")
needs_nginx = pytest.mark.skipif(nginx_binary() is None, reason="nginx not installed (apt-get install nginx)")
needs_rustac = pytest.mark.skipif(rustac_binary() is None, reason="rustac not installed (pip install rustac)")

TOKEN = "s3cret-token-7f2a9c"  # the credential: must reach the servers and never an output file
FAST = dict(tile_size=512, overlap=64)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Two dates of the crossing as COGs under nginx (token required), items of them (plus one of another
    year and one far away) in rustac's STAC API, and the same items as a static ItemCollection."""
    if nginx_binary() is None:
        pytest.skip("nginx not installed (apt-get install nginx)")
    base = tmp_path_factory.mktemp("stac")
    data = make_crossing(base)
    runs, scenes, cogs = data["runs"], data["scenes"], data["cogs"]
    header = base / "headers.txt"
    header.write_text(f"Authorization: Bearer {TOKEN}\n")
    with Nginx(data["www"], base / "nginx", token=TOKEN) as web:
        feet = [footprint(c) for c in cogs]
        items = [item(f"crossing-{p.date}", f"{p.date}T08:30:00Z", f"{web.url}/{c.name}", f)
                 for p, c, f in zip(runs, cogs, feet)]
        items.append(item("crossing-2019", "2019-06-01T08:30:00Z", f"{web.url}/{cogs[0].name}", feet[0]))
        items.append(item("elsewhere", f"{runs[0].date}T09:00:00Z", f"{web.url}/{cogs[0].name}",
                          shapely.affinity.translate(feet[0], 3.0, 2.0)))
        (base / "collection.json").write_text(json.dumps(collection()))
        (base / "items.json").write_text(json.dumps({"type": "FeatureCollection", "features": items}))
        yield dict(base=base, web=web, cogs=cogs, scenes=scenes, runs=runs, header=header, items=items,
                   zones=data["zones"], border=data["border"], dates=data["dates"])


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
    # an existing --save file (here the catalogue's own answer) is replaced only with --force
    before = saved.read_text()
    code, _, err = run(monkeypatch, capsys, "search", "--stac-api", api.url, "--collections", "synth-crossing",
                       "--zones", world["zones"], "--datetime", f"{world['dates'][1]}/..", "--save", saved)
    assert_user_error(code, err, "--force")
    assert saved.read_text() == before
    code, out, err = run(monkeypatch, capsys, "search", "--stac-api", api.url, "--collections", "synth-crossing",
                         "--zones", world["zones"], "--datetime", f"{world['dates'][1]}/..", "--save", saved,
                         "--force")
    assert code in (0, None), err
    assert len(json.loads(saved.read_text())["features"]) == 1


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
        valid = got.dataset_mask() > 0  # the blocks read (all of the box's, or those meeting the AOI)
        assert valid.mean() > 0.5
        assert (got.read()[:, valid] == src.read(window=((r0, r0 + h), (c0, c0 + w)))[:, valid]).all()


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
    new_etag = f'"{copy.stat().st_mtime_ns // 10**9:x}-{copy.stat().st_size:x}"'  # nginx's: mtime-size in hex
    assert_user_error(code, err, "cannot resume")
    assert f"the remote asset changed on the server (ETag {etag} -> {new_etag})" in err, err
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
    # a local VRT naming a network source: refused (with --remote too, which takes only ItemCollections)
    vrt = tmp_path / "remote.vrt"
    with rasterio.open(world["cogs"][0]) as src:
        vrt.write_text(f'<VRTDataset rasterXSize="{src.width}" rasterYSize="{src.height}"><VRTRasterBand '
                       'dataType="Byte" band="1"><SimpleSource><SourceFilename>/vsicurl/'
                       f'{world["web"].url}/{world["cogs"][0].name}</SourceFilename><SourceBand>1</SourceBand>'
                       '</SimpleSource></VRTRasterBand></VRTDataset>')
    code, _, err = run(monkeypatch, capsys, "count", vrt, "--out", tmp_path / "b")
    assert_user_error(code, err, "names a network source", tmp_path / "b")
    code, _, err = run(monkeypatch, capsys, "count", vrt, "--remote", "--out", tmp_path / "b")
    assert_user_error(code, err, "--remote", tmp_path / "b")
    # only http(s): a file: or ftp: scene URL is refused
    with pytest.raises(GeotallyError, match="only http and https"):
        geotally.api.search(SearchParams(catalog="ftp://127.0.0.1/cat.json", bbox="44,37,45,38"))
    assert world["web"].requests() == []  # nothing reached the server


def test_a_kill_during_the_remote_read_resumes_to_the_same_counts(world, creds, tmp_path, monkeypatch, capsys):
    """geotally count in its own process, killed (SIGKILL) while a range request of the second date's COG
    stalls in the fault proxy; run again, it reads only what it had not finished (the first date's crop
    is kept), leaves no partial file, and gives the counts of a run never interrupted."""
    import signal
    import subprocess
    import sys
    import time

    late = world["cogs"][1].name
    with FaultProxy(world["web"].port, "stall", at={2}, stall_s=120, match=late) as proxy:
        items = [item(f"crossing-{d}", f"{d}T08:30:00Z", f"{proxy.url}/{c.name}", footprint(c))
                 for d, c in zip(world["dates"], world["cogs"])]
        catalog = tmp_path / "catalog.json"
        catalog.write_text(json.dumps({"type": "FeatureCollection", "features": items}))
        args = ["count", "--catalog", catalog, "--zones", world["zones"], "--border", world["border"], "--sides",
                "TR,IQ", "--tile-size", "512", "--overlap", "64", "-q"]
        out = tmp_path / "out"
        env = dict(os.environ, GDAL_HTTP_LOW_SPEED_TIME="300")  # GDAL waits on the stall until the kill
        proc = subprocess.Popen([sys.executable, "-m", "geotally", *map(str, args), "--out", str(out)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            end = time.monotonic() + 120
            while proxy.faults == 0 and proc.poll() is None and time.monotonic() < end:
                time.sleep(0.2)
            assert proxy.faults == 1 and proc.poll() is None, proc.stderr.read() if proc.poll() is not None else ""
            parts = list(creds.glob(".*.part"))
            assert parts and all(world["dates"][1] in p.name for p in parts)  # caught mid-read
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        assert not out.exists()  # nothing counted, nothing written
        assert list(creds.glob(".*.part")) == parts  # a killed process cleans nothing up: the next read does
        proxy.at = set()
        world["web"].reset_log()
        code, _, err = run(monkeypatch, capsys, *args, "--out", out)
        assert code in (0, None), err
        assert world["web"].bytes_sent(world["cogs"][0].name) == 0  # the finished crop was kept: HEAD only
        assert world["web"].bytes_sent(late) > 0
        assert not list(creds.glob(".*.part")) and not list(creds.glob("*.part"))
        # the uninterrupted run, through the same URLs, into its own cache
        monkeypatch.setenv("GEOTALLY_REMOTE_CACHE", str(tmp_path / "cache-ref"))
        code, _, err = run(monkeypatch, capsys, *args, "--out", tmp_path / "ref")
        assert code in (0, None), err
    a = pd.read_csv(tmp_path / "ref" / "counts.csv", keep_default_na=False, dtype={"date": str})
    b = pd.read_csv(out / "counts.csv", keep_default_na=False, dtype={"date": str})
    assert sorted(set(b["date"])) == world["dates"] and a["count"].sum() > 0
    pd.testing.assert_frame_equal(a, b)


@pytest.fixture(scope="module")
def far(world):
    """A tall COG: the crossing on the first date, 6,000 rows of noise (masked out), the crossing on the
    second date, with a zone 400 rows high at the top and one at the bottom (GeoPackage, the COG's CRS)."""
    import geopandas as gpd
    from rasterio.windows import Window

    base = world["base"]
    tall = base / "tall.tif"
    with rasterio.open(world["scenes"][0]["scene"]) as a, rasterio.open(world["scenes"][1]["scene"]) as b:
        top, bottom, profile = a.read(), b.read(), a.profile
    h, w = top.shape[1:]
    gap = 6000
    profile.update(driver="GTiff", height=2 * h + gap, tiled=True, blockxsize=256, blockysize=256, compress="deflate")
    plain = base / "tall-plain.tif"
    noise = np.random.default_rng(0).integers(0, 256, (top.shape[0], gap, w), dtype=np.uint8)
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(plain, "w", **profile) as dst:
        dst.write(top, window=Window(0, 0, w, h))
        dst.write(noise, window=Window(0, h, w, gap))
        dst.write(bottom, window=Window(0, h + gap, w, h))
        mask = np.full((2 * h + gap, w), 255, np.uint8)
        mask[h:h + gap] = 0
        dst.write_mask(mask)
    rasterio.shutil.copy(plain, world["web"].root / tall.name, driver="COG", blocksize=256, compress="DEFLATE")
    cog = world["web"].root / tall.name
    with rasterio.open(cog) as src:
        t = src.transform
        boxes = [shapely.box(*(t * (0, 400)), *(t * (w, 0))),
                 shapely.box(*(t * (0, 2 * h + gap)), *(t * (w, 2 * h + gap - 400)))]
        zones = base / "far-zones.gpkg"
        gpd.GeoDataFrame({"name": ["north", "south"]}, geometry=boxes, crs=src.crs).to_file(zones)
    return dict(cog=cog, zones=zones, height=2 * h + gap)


def test_zones_far_apart_read_only_their_blocks_and_count_as_the_local_file(world, far, creds, tmp_path):
    from geotally.imagery.remote import blocks
    from geotally.imagery.stac import aoi_geometry

    cog = far["cog"]
    local = geotally.count_scenes([str(cog)], out=tmp_path / "local", zones=far["zones"], **FAST)
    world["web"].reset_log()
    remote = geotally.count_scenes([f"{world['web'].url}/{cog.name}"], out=tmp_path / "remote", zones=far["zones"],
                                   **FAST)
    sent = world["web"].bytes_sent(cog.name)
    def zones(res) -> list[dict]:  # 'outside' and 'ALL' differ: the remote count sees only the AOI
        return res.counts[res.counts["zone"].isin(["north", "south"])].to_dict("records")

    assert zones(local) == zones(remote)
    assert {r["zone"] for r in zones(local) if r["count"] > 0} == {"north", "south"}
    prov = json.loads((tmp_path / "remote" / "summary.json").read_text())["scenes"][0]["remote"]
    # the bytes the box between the zones would have cost, and those of the blocks meeting the AOI
    with rasterio.open(cog) as src:
        c0, r0, w, h = prov["window"]
        assert h > 0.9 * far["height"]  # the zones' box spans the image...
        size = prov["block_size"]
        sel = blocks(src, aoi_geometry(zones=far["zones"], margin_m=100.0))
        grid = [(i, j) for i in range(r0 // size[1], -(-(r0 + h) // size[1]))
                for j in range(c0 // size[0], -(-(c0 + w) // size[0]))]
        box_bytes = sum(src.block_size(1, i, j) for i, j in grid)
        meets = np.argwhere(sel.meets) + (sel.window[1] // size[1], sel.window[0] // size[0])
        meet_bytes = sum(src.block_size(1, int(i), int(j)) for i, j in meets)
    assert prov["blocks_read"] == len(meets) < 0.5 * prov["blocks_in_window"]
    assert sent < 0.35 * box_bytes, (sent, box_bytes)  # ...but only the blocks meeting the AOI were sent
    assert sent < meet_bytes + 256 * 1024, (sent, meet_bytes)  # those, the header and the mask's blocks


@pytest.mark.parametrize("target", ["ftp", "file"])
def test_a_range_request_redirected_to_another_scheme_is_refused(world, creds, tmp_path, monkeypatch, capsys, target):
    """The HEAD request is answered, the COG's range requests are redirected (302) to ftp:// (the first
    pixel request only) or file:// (every one): one line naming the scheme, no output, and nothing reached
    the ftp address."""
    import socket
    import threading

    cog = world["cogs"][0]
    listener = socket.create_server(("127.0.0.1", 0))
    reached = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            reached.append(1)
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    where, at = ((f"ftp://127.0.0.1:{listener.getsockname()[1]}/{cog.name}", {2}) if target == "ftp"
                 else ("file:///etc/hostname", set(range(1, 100))))
    monkeypatch.setattr("geotally.imagery.remote.BACKOFF_S", 0.05)
    monkeypatch.setenv("GDAL_HTTP_MAX_RETRY", "0")
    try:
        with FaultProxy(world["web"].port, f"redirect:{where}", at=at, match=cog.name) as proxy:
            out = tmp_path / "out"
            code, _, err = run(monkeypatch, capsys, "count", f"{proxy.url}/{cog.name}", "--out", out, "-q")
    finally:
        listener.close()
    assert proxy.faults >= 1
    assert_user_error(code, err, f"to {target}:", out)
    assert "which is not read" in err
    assert reached == []
    assert not list(creds.rglob("*.tif")) and not list(creds.rglob("*.part"))


def test_a_partial_file_of_a_killed_reader_goes_at_the_next_read(world, creds):
    """A killed process leaves its partial crop (named with its pid); the next read in the same cache
    removes it whatever area it was for, and keeps one of a reader still running."""
    import subprocess
    import sys

    from geotally.imagery.remote import crop

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    creds.mkdir(parents=True, exist_ok=True)
    dead = creds / f".another-area-0123456789abcdef.tif.{gone.stdout.strip()}.part"
    alive = creds / f".another-area-fedcba9876543210.tif.{os.getpid()}.part"
    dead.write_bytes(b"II*\0half a crop")
    alive.write_bytes(b"II*\0being written")
    crop(f"{world['web'].url}/{world['cogs'][0].name}", None, creds)
    assert not dead.exists() and alive.exists()


@pytest.mark.parametrize("epsg", [3857, 2263])
def test_an_area_of_interest_is_widened_by_metres_on_the_ground(tmp_path, epsg):
    """A border in Web Mercator (scale 1/cos(latitude)) or in US feet is widened by the metres asked
    for: the AOI of a line with a 1,000 m band is 2 km wide on the ground."""
    import geopandas as gpd
    from pyproj import Geod

    from geotally.imagery.stac import aoi_geometry

    lon, lat = (42.68, 37.13) if epsg == 3857 else (-74.0, 40.7)
    line = shapely.LineString([(lon, lat - 0.01), (lon, lat + 0.01)])
    gpd.GeoDataFrame(geometry=[line], crs=4326).to_crs(epsg).to_file(tmp_path / "border.geojson")
    aoi = aoi_geometry(border=tmp_path / "border.geojson", border_m=1000.0)
    west, _, east, _ = aoi.bounds
    width = Geod(ellps="WGS84").inv(west, lat, east, lat)[2]
    assert width == pytest.approx(2000, rel=0.01)


@needs_nginx
def test_a_redirect_to_another_host_gets_no_credential_and_a_head_stays_a_head(world, creds, tmp_path):
    """An asset whose URL redirects (302) to another host, as a provider's link to its storage does: the
    token goes to the host it was given for only (curl's rule; it went with the HEAD and every range
    request), the HEAD is not turned into a GET of the whole file, and the count is the local file's."""
    cog = world["cogs"][0]
    with Relay(world["web"].port, auth=f"Bearer {TOKEN}") as storage:  # the other host: its own access
        with Relay(redirect_to=f"http://localhost:{storage.port}") as origin:
            geotally.count(f"{origin.url}/{cog.name}", out=tmp_path / "remote", zones=world["zones"], **FAST)
    assert storage.seen and all(auth is None for _, auth in storage.seen), storage.seen
    assert storage.seen[0][0] == "HEAD"
    remote_record = json.loads((tmp_path / "remote" / "summary.json").read_text())["scenes"][0]["remote"]
    assert remote_record["served_from"] == f"http://localhost:{storage.port}/{cog.name}"  # where it came from
    local = geotally.count(cog, out=tmp_path / "local", zones=world["zones"], **FAST)
    remote = pd.read_csv(tmp_path / "remote" / "counts.csv")
    assert remote["count"].tolist() == local.counts["count"].tolist()


@needs_nginx
def test_urls_that_differ_in_their_query_are_two_assets_and_a_get_only_url_is_read(world, creds, tmp_path):
    """Signed URLs differ only in their query: each is its own asset (they shared one cached crop, so
    the second replaced the first and one scene was counted for two). A URL signed for GET only (S3
    answers its HEAD 403) is identified by a one-byte range GET instead of refused."""
    from geotally.imagery.remote import crop

    cog = world["cogs"][0]
    with Relay(world["web"].port, head_status=403) as server:
        a, b = (crop(f"{server.url}/{cog.name}?X-Amz-Signature={s}", None, creds) for s in ("aaa", "bbb"))
    assert a.path != b.path and a.path.exists() and b.path.exists()
    assert a.provenance["size"] == cog.stat().st_size  # from the range GET's Content-Range
    assert "aaa" not in a.path.name and "X-Amz" not in json.dumps(a.provenance)
    with rasterio.open(cog) as src, rasterio.open(a.path) as got:  # its date among them: read as the local file's
        assert src.tags() and src.tags().items() <= got.tags().items(), (src.tags(), got.tags())


@needs_rustac
def test_max_items_are_the_oldest_whatever_order_the_api_returns(world, tmp_path):
    """Twelve items of one place, served newest first: --max-items 2 gives the two oldest (it took the
    oldest of the first eight the API returned)."""
    from geotally.imagery.stac import aoi_geometry, search

    cog, feet = world["cogs"][0], footprint(world["cogs"][0])
    dates = [f"2026-0{1 + k // 3}-{10 + k:02d}" for k in range(12)][::-1]  # newest first
    items = [item(f"d{d}", f"{d}T08:00:00Z", f"{world['web'].url}/{cog.name}", feet) for d in dates]
    (tmp_path / "items.json").write_text(json.dumps({"type": "FeatureCollection", "features": items}))
    (tmp_path / "collection.json").write_text(json.dumps(collection()))
    with StacApi([tmp_path / "collection.json", tmp_path / "items.json"]) as server:
        found = search(server.url, aoi=aoi_geometry(zones=world["zones"]), max_items=2)
        keyed = search(f"{server.url}/?key=SECRET-42", aoi=aoi_geometry(zones=world["zones"]), max_items=2)
    assert [f.datetime[:10] for f in found.items] == sorted(dates)[:2]
    from geotally.imagery.stac import item_collection  # a catalogue URL's key is never written out

    assert keyed.items and "SECRET-42" not in json.dumps(item_collection(keyed)) + keyed.catalogue


@needs_nginx
@pytest.mark.parametrize("case, fragment", [
    ("api-404", "answered HTTP 404: is it a STAC API's URL"),
    ("api-down", "cannot be reached (nothing answers there"),
    ("space", "write a space as %20"),
    ("userinfo", "not as user:password in the URL"),
    ("cache", "set GEOTALLY_REMOTE_CACHE to a folder you can write"),
    ("no-georef", "has no georeference, so the area of interest"),
])
def test_remote_mistakes_are_one_line(case, fragment, world, creds, tmp_path, monkeypatch, capsys):
    """Each was an 'internal error' (IndexError, InvalidURL, FileExistsError, CRSError) or a cut
    urllib3 message."""
    from tests.servers import free_port

    web, out = world["web"], tmp_path / "out"
    zones = ["--zones", str(world["zones"])]
    if case == "no-georef":
        with rasterio.open(world["cogs"][0]) as src:
            data = src.read()
        plain = Path(world["cogs"][0]).parent / "plain.tif"
        with rasterio.open(plain, "w", driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0],
                           dtype=data.dtype.name) as dst:
            dst.write(data)
    if case == "cache":
        (tmp_path / "afile").write_text("")
        monkeypatch.setenv("GEOTALLY_REMOTE_CACHE", str(tmp_path / "afile"))
    args = {"api-404": ["search", "--stac-api", f"{web.url}/nothing", *zones],
            "api-down": ["search", "--stac-api", f"http://127.0.0.1:{free_port()}", *zones],
            "space": ["count", f"{web.url}/with space.tif", *zones, "--out", out],
            "userinfo": ["count", f"http://alice:pw@127.0.0.1:{web.port}/{world['cogs'][0].name}", *zones, "--out", out],
            "cache": ["count", f"{web.url}/{world['cogs'][0].name}", *zones, "--out", out],
            "no-georef": ["count", f"{web.url}/plain.tif", *zones, "--out", out]}[case]
    code, _, err = run(monkeypatch, capsys, *args)
    assert_user_error(code, err, fragment, out)


@needs_nginx
def test_a_catalogue_on_disk_with_local_assets_is_counted(world, creds, tmp_path, monkeypatch, capsys):
    """--catalog names a file whose items' assets are files beside it: count reads them where they are
    (it refused them as 'only http and https are read remotely (got no scheme)')."""
    cog = world["cogs"][0]
    local = tmp_path / "cat"
    local.mkdir()
    shutil.copy(cog, local / cog.name)
    feat = item("local-1", "2026-06-01T08:30:00Z", cog.name, footprint(cog))  # relative to the catalogue
    (local / "items.json").write_text(json.dumps({"type": "FeatureCollection", "features": [feat]}))
    code, _, err = run(monkeypatch, capsys, "count", "--catalog", local / "items.json", "--zones", world["zones"],
                       "--out", tmp_path / "out", "-q", "--tile-size", "512", "--overlap", "64")
    assert code == 0, err
    direct = geotally.count(local / cog.name, out=tmp_path / "direct", zones=world["zones"], date="2026-06-01", **FAST)
    counted = pd.read_csv(tmp_path / "out" / "counts.csv")
    assert counted["count"].tolist() == direct.counts["count"].tolist() and set(counted["date"]) == {"2026-06-01"}


@needs_nginx
def test_a_static_catalogue_behind_the_token_is_read_with_it(world, creds, tmp_path, monkeypatch, capsys):
    """A static ItemCollection served by the same token-guarded server as its COGs: read with
    GDAL_HTTP_HEADER_FILE's credentials (it was fetched without them: 'Could not read uri')."""
    www = Path(world["cogs"][0]).parent
    (www / "guarded-items.json").write_text((world["base"] / "items.json").read_text())
    code, out, err = run(monkeypatch, capsys, "search", "--catalog", f"{world['web'].url}/guarded-items.json",
                         "--zones", world["zones"], "--datetime", "2026-06-01/2026-06-30")
    assert code == 0, err
    assert "2 item(s) of" in out


@needs_nginx
def test_a_download_url_without_a_tif_name_is_read_and_a_server_without_ranges_is_said_at_once(
        world, creds, tmp_path, monkeypatch, capsys):
    """GDAL was allowed only .tif names (a provider's /download?id=... was 'not in the file system'); a
    server that ignores Range (python -m http.server) was asked five times, then reported as unreachable."""
    import functools
    import http.server
    import threading

    cog = world["cogs"][0]
    www = Path(cog).parent
    shutil.copy(cog, www / "download-1")
    named = geotally.count(cog, out=tmp_path / "named", zones=world["zones"], **FAST)
    bare = geotally.count(f"{world['web'].url}/download-1", out=tmp_path / "bare", zones=world["zones"], **FAST)
    assert bare.counts["count"].tolist() == named.counts["count"].tolist()

    gets = []

    class Whole(http.server.SimpleHTTPRequestHandler):  # answers every GET with the whole file, as it does
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            gets.append(self.headers.get("Range"))
            super().do_GET()

    class Quiet(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address) -> None:  # GDAL hangs up mid-file: not this test's error
            pass

    server = Quiet(("127.0.0.1", 0), functools.partial(Whole, directory=str(www)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        code, _, err = run(monkeypatch, capsys, "count", f"http://127.0.0.1:{server.server_address[1]}/{cog.name}",
                           "--zones", world["zones"], "--out", tmp_path / "out")
    finally:
        server.shutdown()
        server.server_close()
    assert_user_error(code, err, "does not answer HTTP range requests", tmp_path / "out")
    assert len(gets) <= 3, gets  # asked once (GDAL's own probe included), not once per retry


@needs_nginx
def test_a_url_keeps_its_files_date(world, creds, tmp_path, monkeypatch, capsys):
    """A COG given by URL is dated as the same file on disk (its date tag; the crop kept no tag, so it
    was undated), and --date-pattern reads the URL's own name (it was matched against the crop's,
    which carries a hash)."""
    a, b = (f"{world['web'].url}/{c.name}" for c in world["cogs"][:2])
    one = geotally.count(a, out=tmp_path / "one", zones=world["zones"], **FAST)
    assert set(one.counts["date"]) == {world["dates"][0]}
    code, _, err = run(monkeypatch, capsys, "count", a, b, "--zones", world["zones"], "--out", tmp_path / "two",
                       "--date-pattern", "crossing_{date:%Y-%m-%d}.tif", "--tile-size", "512", "--overlap", "64", "-q")
    assert code == 0, err
    assert sorted(set(pd.read_csv(tmp_path / "two" / "counts.csv")["date"])) == sorted(world["dates"][:2])


@needs_nginx
def test_a_server_without_validators_is_read_again(world, creds):
    """A server that sends no ETag and no Last-Modified cannot say whether the asset changed (an image of
    the same grid has the same size): its crop is read again each time instead of reused (it counted
    the old image)."""
    from geotally.imagery.remote import crop

    cog = world["cogs"][0]
    with Relay(world["web"].port, headers=("content-length", "content-range", "content-type")) as server:
        bare = [crop(f"{server.url}/{cog.name}", None, creds) for _ in range(2)]
    kept = [crop(f"{world['web'].url}/{cog.name}", None, creds) for _ in range(2)]  # nginx sends an ETag
    assert bare[1].bytes_read > 0 and kept[1].bytes_read == 0
