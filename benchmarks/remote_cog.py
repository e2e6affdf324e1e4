"""Remote COG: a count of an AOI covering 5% of a large COG served by nginx reads how many of its bytes,
and how long it takes beside the same count from the local file, in one run.

The COG is the synthetic crossing repeated over a large grid (default 400 MP, RGB, DEFLATE, 512 px
blocks, overviews). nginx (Debian's; $GEOTALLY_TEST_NGINX names another binary) serves it with Range
requests and logs the body bytes of every request: the byte counter. The remote count reads the AOI's
blocks that meet the AOI through /vsicurl/ (geotally.imagery.remote) and counts them; the local
baseline copies the same blocks from the local file and counts them with the same settings.

    python -m benchmarks.remote_cog [--megapixels 400] [--share 0.05] [--keep DIR]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
import shapely
from pyproj import Transformer
from rasterio.windows import Window


def make_cog(folder: Path, megapixels: float) -> Path:
    """A square COG of about ``megapixels``, tiled from the synthetic crossing."""
    from geotally.synth import LayoutParams, SynthParams, write_scene

    tile = write_scene(folder / "synth", SynthParams(layout=LayoutParams(width_m=300, height_m=600, queue={"TR": 10, "IQ": 14}, depot={"IQ": 6}, seed=3),
                                                     gsd=0.3))
    with rasterio.open(tile["scene"]) as src:
        img, profile = src.read(), src.profile
    side = int(math.sqrt(megapixels * 1e6))
    h, w = img.shape[1:]
    profile.update(width=side, height=side, tiled=True, blockxsize=512, blockysize=512, compress="deflate",
                   predictor=2, BIGTIFF="YES")
    plain = folder / "plain.tif"
    with rasterio.open(plain, "w", **profile) as dst:
        for r in range(0, side, h):
            for c in range(0, side, w):
                hh, ww = min(h, side - r), min(w, side - c)
                dst.write(img[:, :hh, :ww], window=Window(c, r, ww, hh))
    cog = folder / "www" / "large.tif"
    cog.parent.mkdir(exist_ok=True)
    rasterio.shutil.copy(plain, cog, driver="COG", blocksize=512, compress="DEFLATE", predictor=2, BIGTIFF="YES")
    plain.unlink()
    return cog


def aoi_of(cog: Path, share: float) -> shapely.Polygon:
    """A square in the middle covering ``share`` of the image, in WGS84."""
    with rasterio.open(cog) as src:
        l, b, r, t = src.bounds
        k = math.sqrt(share)
        cx, cy, hw, hh = (l + r) / 2, (b + t) / 2, (r - l) * k / 2, (t - b) * k / 2
        tr = Transformer.from_crs(src.crs, 4326, always_xy=True)
        # inset a little so that the transform to degrees and back does not widen it past 'share'
        return shapely.transform(shapely.box(cx - hw, cy - hh, cx + hw, cy + hh), tr.transform, interleaved=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--megapixels", type=float, default=400)
    ap.add_argument("--share", type=float, default=0.05)
    ap.add_argument("--keep", type=Path, default=None, help="Folder to keep the COG in (made once, reused).")
    args = ap.parse_args()

    import geotally
    from geotally.imagery.remote import copy_blocks, crop
    from tests.servers import Nginx

    folder = args.keep or Path(tempfile.mkdtemp(prefix="remote_cog_"))
    folder.mkdir(parents=True, exist_ok=True)
    cog = folder / "www" / "large.tif"
    t0 = time.perf_counter()
    if not cog.exists():
        cog = make_cog(folder, args.megapixels)
    made = time.perf_counter() - t0
    size = cog.stat().st_size
    with rasterio.open(cog) as src:
        print(f"COG: {src.width} x {src.height} px ({src.width * src.height / 1e6:.0f} MP), {size / 1e6:.1f} MB, "
              f"ready in {made:.0f} s")
    aoi = aoi_of(cog, args.share)
    # the model is loaded before either clock starts (a tiny corner of the COG), and kept for both counts
    models: dict = {}
    corner = folder / "warm-up.tif"
    with rasterio.open(cog) as src:
        profile = dict(src.profile, driver="GTiff", width=512, height=512,
                       transform=src.window_transform(Window(0, 0, 512, 512)))
        with rasterio.open(corner, "w", **profile) as dst:
            dst.write(src.read(window=Window(0, 0, 512, 512)))
    settings = dict(tile_size=512, overlap=64, date="2026-06-01", models=models)
    geotally.count_scenes([str(corner)], **settings)
    with Nginx(cog.parent, folder / "nginx") as web:
        web.reset_log()
        t0 = time.perf_counter()
        c = crop(f"{web.url}/{cog.name}", aoi, folder / "cache-remote")
        t_read = time.perf_counter() - t0
        res = geotally.count_scenes([str(c.path)], **settings)
        t_remote = time.perf_counter() - t0
        sent = web.bytes_sent(cog.name)
        n_req = len(web.requests())
    _, _, w, h = c.provenance["window"]
    # the local baseline: the same blocks from the local file, counted with the same settings
    t0 = time.perf_counter()
    local = folder / "local-window.tif"
    copy_blocks(str(cog), aoi, local, str(cog), {"etag": None, "last_modified": None, "size": size})
    t_local_read = time.perf_counter() - t0
    base = geotally.count_scenes([str(local)], **settings)
    t_local = time.perf_counter() - t0
    n_remote, n_local = int(res.counts["count"].sum()), int(base.counts["count"].sum())
    full = c.provenance["full_size_px"][0] * c.provenance["full_size_px"][1]
    print(f"AOI: {args.share:.0%} of the image; {c.provenance['blocks_read']} of the window's "
          f"{c.provenance['blocks_in_window']} blocks read, window {w} x {h} px = {w * h / full:.1%} of its pixels")
    print(f"transferred: {sent / 1e6:.1f} MB of {size / 1e6:.1f} MB = {sent / size:.1%} of the file, in {n_req} requests (nginx access log)")
    print(f"remote: read {t_read:.1f} s, read + count {t_remote:.1f} s; vehicles {n_remote}")
    print(f"local:  read {t_local_read:.1f} s, read + count {t_local:.1f} s; vehicles {n_local}")
    print("same counts" if res.counts.equals(base.counts) else "COUNTS DIFFER")
    assert np.isfinite(sent)


if __name__ == "__main__":
    main()
