"""Side-by-side crops: a synthetic truck queue and real DOTA P0004 trailers, both at 0.15 m/px.

Writes docs/realism.png (ignored by git: it contains a crop of a DOTA image, which is for
academic use only and is not redistributed with geotally) and docs/synthetic_queue.jpg (the
synthetic half alone, which is geotally's own and is committed). Needs ../shared/data/dota-sample.

    python -m scripts.realism_figure [--out docs/realism.png]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np
import rasterio

from benchmarks.data import DOTA, ROOT, dota_image
from geotally.synth import LayoutParams, SynthParams, write_scene

GSD = 0.15
SIZE = 600  # pixels per crop side (90 m)


def real_crop() -> np.ndarray:
    img = cv2.imread(str(dota_image("P0004")))
    f = 0.132459767176 / GSD  # P0004's labelled GSD
    img = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    return img[300:300 + SIZE, 100:100 + SIZE]


def synthetic_crop(tmp: Path) -> np.ndarray:
    res = write_scene(tmp, SynthParams(gsd=GSD, layout=LayoutParams(seed=0)))
    lay = res["layout"]
    queue = [v for v in lay.vehicles if v["queue_id"] == "IQ-q1"]
    cx, cy = np.mean([v["x"] for v in queue[:4]]), np.mean([v["y"] for v in queue[:4]])
    with rasterio.open(res["scene"]) as src:
        col = int(cx / GSD) - SIZE // 2
        row = src.height - int(cy / GSD) - SIZE // 2
        data = src.read(window=((row, row + SIZE), (col, col + SIZE)), boundless=True)
    return np.ascontiguousarray(np.moveaxis(data, 0, -1)[..., ::-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "docs" / "realism.png"))
    args = ap.parse_args()
    if not DOTA.exists():
        raise SystemExit(f"{DOTA} not found: the figure needs the shared DOTA sample")
    with tempfile.TemporaryDirectory() as tmp:
        left = synthetic_crop(Path(tmp))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(Path(args.out).with_name("synthetic_queue.jpg")), left, [cv2.IMWRITE_JPEG_QUALITY, 88])
    right = real_crop()
    gap = np.full((SIZE, 12, 3), 255, np.uint8)
    fig = np.hstack([left, gap, right])
    for text, x in (("synthetic queue, 0.15 m", 8), ("DOTA P0004 (real), 0.15 m", SIZE + 20)):
        cv2.putText(fig, text, (x, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 4)
        cv2.putText(fig, text, (x, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, fig)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
