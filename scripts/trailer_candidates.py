"""Real crops of large vehicles to label by type: the detector's boxes matched to labelled trucks,
long vehicles and buses in ../shared/data/simd, and to every large vehicle of ../shared/data/dota-sample.

Writes ``--out``/candidates.json (per candidate: id, data set, image, the detected box in native
pixels, the image GSD, the label's own class) and numbered mosaics (``mosaic_NN.png``, 40 crops
each at 0.15 m, 24 x 8 m) to look at and type by eye. The types go in
benchmarks/trailer_labels/types.csv (id,type), which benchmarks.trailer_types and
``geotally train --task trailer-type`` read; the images stay in ../shared.

    python -m scripts.trailer_candidates [--out bench-out/trailer-candidates]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from benchmarks.data import DATA, SIMD, dota_label, items


def simd_large_labels(label_file: Path, w: int, h: int) -> tuple[np.ndarray, list[str]]:
    names = (SIMD / "classes.names").read_text().split()
    xy, cls = [], []
    for line in label_file.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 5 and names[int(parts[0])] in ("truck", "longvehicle", "bus"):
            xy.append((float(parts[1]) * w, float(parts[2]) * h))
            cls.append(names[int(parts[0])])
    return np.array(xy, float).reshape(-1, 2), cls


def dota_large_labels(label_file: Path) -> tuple[np.ndarray, list[str]]:
    xy, cls = [], []
    for line in label_file.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 9 and parts[8] == "large-vehicle":
            c = np.array(parts[:8], float).reshape(4, 2).mean(axis=0)
            xy.append(c), cls.append("large-vehicle")
    return np.array(xy, float).reshape(-1, 2), cls


def main() -> None:
    from geotally.imagery.crops import CropSpec, crop_from_array, long_axis
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="bench-out/trailer-candidates")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    spec = CropSpec(size_px=(160, 54))  # 0.15 m for looking at; training cuts its own at 0.25 m
    labelled = {it.path.stem: it for ds in ("simd", "dota-sample") for it in items(DATA / ds)}
    cands, crops = [], []
    import geotally

    for name, it in sorted(labelled.items()):
        img = cv2.imread(str(it.path), cv2.IMREAD_COLOR)[..., ::-1]
        h, w = img.shape[:2]
        if name.startswith("simd"):
            lab_xy, lab_cls = simd_large_labels(SIMD / "labels" / f"{name}.txt", w, h)
            ds = "simd"
        else:
            lab_xy, lab_cls = dota_large_labels(dota_label(name))
            ds = "dota-sample"
        if not len(lab_xy):
            continue
        det = geotally.count(it.path, gsd=it.gsd).detections
        det = det[det["class"] == "large_vehicle"]
        if not len(det):
            continue
        import shapely

        corners = shapely.get_coordinates(det.geometry.to_numpy()).reshape(len(det), 5, 2)[:, :4]
        corners = np.column_stack([corners[..., 0].ravel() / it.gsd, -corners[..., 1].ravel() / it.gsd]).reshape(-1, 4, 2)
        centres, axes = long_axis(corners)
        d = np.hypot(*(centres[:, None] - lab_xy[None]).transpose(2, 0, 1))
        taken = set()
        for i in np.argsort(d.min(axis=1)):
            j = int(np.argmin(d[i]))
            if d[i, j] * it.gsd > 3.0 or j in taken:
                continue
            taken.add(j)
            cid = f"{ds}:{name}:{len(cands):04d}"
            cands.append({"id": cid, "dataset": ds, "image": name, "corners_px": np.round(corners[i], 1).tolist(),
                          "gsd": it.gsd, "label_class": lab_cls[j]})
            crops.append(crop_from_array(img, it.gsd, centres[i], axes[i], spec))
    (out / "candidates.json").write_text(json.dumps(cands, indent=1))
    per = 40
    for m in range(0, len(crops), per):
        tiles = []
        for k, c in enumerate(crops[m:m + per]):
            c = np.ascontiguousarray(c[..., ::-1])
            cv2.putText(c, str(m + k), (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1)
            tiles.append(np.pad(c, ((2, 2), (2, 2), (0, 0))))
        while len(tiles) % 4:
            tiles.append(np.zeros_like(tiles[0]))
        rows = [np.concatenate(tiles[r:r + 4], axis=1) for r in range(0, len(tiles), 4)]
        cv2.imwrite(str(out / f"mosaic_{m // per:02d}.png"), np.concatenate(rows, axis=0))
    print(f"{len(cands)} candidates, {int(np.ceil(len(crops) / per))} mosaics in {out}")
    counts = {}
    for c in cands:
        counts[c["label_class"]] = counts.get(c["label_class"], 0) + 1
    print(counts)


if __name__ == "__main__":
    main()
