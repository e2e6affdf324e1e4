"""How fast the review app shows a 1.6 gigapixel scene: server start, first tile, one native tile.

Writes a 40,000 x 40,000 px RGB GeoTIFF (tiled 512, deflate, no overviews; a low-entropy synthetic
pattern so it fits on disk) and a results folder beside it with 20,000 detections placed at random
(the app reads summary.json and detections.gpkg; counting 1.6 GP on 2 cores would take hours and
is not what this measures). Then, in one run:

  * geotally review: time to open the results and build the page's data, then, in headless
    Chromium, from navigation to the first map tile drawn; and one native tile fetched over HTTP;
  * baseline: what showing the scene costs without tiles, reading the whole scene averaged down to
    2,048 px (the report's quicklook of a scene it did not just count).

    python -m benchmarks.review_first_tile [--work /tmp/geotally-bigscene] [--size 40000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
import urllib.request
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.transform import from_origin
from rasterio.windows import Window


def write_scene(path: Path, size: int) -> None:
    if path.exists():
        return
    profile = dict(driver="GTiff", width=size, height=size, count=3, dtype="uint8", crs="EPSG:32638",
                   transform=from_origin(300000, 4120000, 0.3, 0.3), tiled=True, blockxsize=512, blockysize=512,
                   compress="deflate", BIGTIFF="YES")
    rows = 2048
    yy, xx = np.mgrid[0:rows, 0:size]
    with rasterio.open(path, "w", **profile) as dst:
        for r0 in range(0, size, rows):
            h = min(rows, size - r0)
            base = ((xx[:h] // 64 + (yy[:h] + r0) // 64) % 2 * 60 + 90).astype(np.uint8)
            dst.write(np.stack([base, base + 10, base + 20]), window=Window(0, r0, size, h))


def write_results(folder: Path, scene: Path, size: int, n: int = 20000) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    x = 300000 + rng.uniform(0, size * 0.3, n)
    y = 4120000 - rng.uniform(0, size * 0.3, n)
    boxes = shapely.box(x - 6, y - 1.25, x + 6, y + 1.25)
    det = gpd.GeoDataFrame({"det_id": [f"big-{i + 1:05d}" for i in range(n)], "class": "large_vehicle",
                            "score": np.round(rng.uniform(0.3, 1, n), 3), "zone": "ALLSCENE", "scene": scene.name},
                           geometry=boxes, crs="EPSG:32638")
    det.loc[det.index % 3 == 0, "class"] = "small_vehicle"
    det.to_file(folder / "detections.gpkg", driver="GPKG")
    (folder / "summary.json").write_text(json.dumps({"scenes": [{"path": str(scene.resolve()), "bands_used": [1, 2, 3],
                                                                 "georeferenced": True, "gsd_m": [0.3, 0.3],
                                                                 "sha256": ""}], "zones": None, "border": None}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="/tmp/geotally-bigscene")
    ap.add_argument("--size", type=int, default=40000)
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    scene = work / f"scene_{args.size}.tif"
    t0 = time.perf_counter()
    write_scene(scene, args.size)
    print(f"scene: {args.size} x {args.size} px = {args.size ** 2 / 1e9:.2f} GP, {scene.stat().st_size / 1e6:.0f} MB on disk "
          f"(written in {time.perf_counter() - t0:.0f} s, or reused)")
    results = work / "results"
    shutil.rmtree(results, ignore_errors=True)
    write_results(results, scene, args.size)

    from geotally.review.run import prepare
    from geotally.review.server import serve_in_thread

    t0 = time.perf_counter()
    app = prepare(results)
    t_prepare = time.perf_counter() - t0
    server, _ = serve_in_thread(app)
    url = f"http://127.0.0.1:{app.port}/"
    p = app.payload()["scenes"][0]
    t0 = time.perf_counter()
    tile = urllib.request.urlopen(f"{url}tiles/{scene.name}/{p['max_zoom']}/40/40.jpg").read()
    t_tile = time.perf_counter() - t0
    import shutil as sh

    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=sh.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
        firsts, readies = [], []
        for _ in range(4):  # the first page of a fresh browser, then three more opened in it
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            t0 = time.perf_counter()
            page.goto(url)
            page.wait_for_selector(".leaflet-tile-loaded", timeout=60000)
            firsts.append(time.perf_counter() - t0)
            page.wait_for_selector("body[data-ready='1']", timeout=60000)
            readies.append(time.perf_counter() - t0)
            page.close()
        browser.close()
    server.shutdown()
    print(f"geotally review: open results and build page data {t_prepare:.2f} s (20,000 detections); "
          f"page navigation to first tile drawn {firsts[0]:.2f} s in a fresh browser, median "
          f"{np.median(firsts[1:]):.2f} s (max {max(firsts[1:]):.2f} s) over 3 more pages; all layers drawn "
          f"{np.median(readies[1:]):.2f} s; one native 256 px tile over HTTP {t_tile * 1000:.0f} ms ({len(tile) / 1e3:.1f} kB)")

    from geotally.imagery.preview import read_shrunk
    from geotally.imagery.read import open_reader
    from geotally.imagery.scene import open_scene

    sc = open_scene(scene, checksum=False)
    t0 = time.perf_counter()
    with open_reader(sc) as src:
        read_shrunk(src, sc, Window(0, 0, sc.width, sc.height), 2048, 2048)
    print(f"baseline, whole scene averaged down to 2,048 px (no tiles): {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
