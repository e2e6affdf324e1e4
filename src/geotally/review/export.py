"""Reviewed labels out: truth for 'evaluate', training data for 'train', COCO and DOTA labelTxt.

A label is a detection accepted (its class) or relabelled (the new class), or a vehicle added by
hand; rejected detections and undone decisions are left out. Only what was reviewed is labelled:
train on the export of an area reviewed in full, or the unreviewed vehicles there teach the model
that vehicles are background.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geotally.errors import GeotallyError
from geotally.imagery.labels import label_stem
from geotally.review.session import ReviewSession, open_session, to_pixels
from geotally.store.outputs import write_text, write_vector
from geotally.store.review import current_labels, read_review


@dataclass(frozen=True)
class ReviewExport:
    """Where each export went, and how many labels it holds."""

    truth: Path
    train: Path
    coco: Path
    dota: Path
    labels: int


def reviewed_labels(session: ReviewSession) -> gpd.GeoDataFrame:
    """The labels the review stands by: columns det_id, class, action, scene, geometry (results CRS)."""
    review = read_review(session.review_path, session.crs)
    live = current_labels(review.decisions)
    keep = live[live["action"].isin(["accept", "relabel", "add"])]
    out = gpd.GeoDataFrame({"det_id": keep["det_id"].to_numpy(), "class": keep["label_class"].to_numpy(),
                            "trailer_type": keep["trailer_type"].to_numpy(),
                            "action": keep["action"].to_numpy(), "scene": keep["scene"].to_numpy()},
                           geometry=gpd.GeoSeries(keep.geometry.to_numpy(), crs=review.decisions.crs),
                           crs=review.decisions.crs)
    return out


def _write_labels(gdf: gpd.GeoDataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.stem}.part{path.suffix}")
    write_vector(gdf, tmp, layer=path.stem)  # named for the file it becomes, not the part written first
    os.replace(tmp, path)


def export_review(results: str | Path, out_dir: str | Path) -> ReviewExport:
    """Write ``truth.geojson``, ``train/`` (scene links with NAME_truth.geojson), ``coco.json`` and
    ``dota/labelTxt/NAME.txt`` under ``out_dir``."""
    session = open_session(results)
    labels = reviewed_labels(session)
    if labels.empty and not session.review_path.exists():
        raise GeotallyError(f"{results} has no review.gpkg yet: review the count first (geotally review {results})")
    if labels.empty:
        raise GeotallyError(f"{session.review_path}: no accepted, relabelled or added vehicle to export yet")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise GeotallyError(f"{out} is a file; give a folder for the export")
    (out / "train").mkdir(parents=True, exist_ok=True)
    (out / "dota" / "labelTxt").mkdir(parents=True, exist_ok=True)
    truth = out / "truth.geojson"
    _write_labels(labels, truth)
    categories = {c: i + 1 for i, c in enumerate(sorted(set(labels["class"])))}
    coco = {"images": [], "annotations": [], "categories": [{"id": i, "name": c} for c, i in categories.items()],
            "info": {"description": f"geotally review of {Path(results).resolve()}"}}
    for rs in session.scenes:
        sc, name = rs.scene, rs.label
        mine = labels[labels["scene"] == name]
        if mine.empty:
            continue
        stem = label_stem(name)  # a/scene.tif and b/scene.tif: a_scene, b_scene (one overwrote the other)
        link = out / "train" / f"{stem}.tif"
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(Path(sc.path).resolve(), link)
        _write_labels(mine, out / "train" / f"{stem}_truth.geojson")
        px = to_pixels(sc, mine.geometry.to_numpy(), labels.crs)
        corners = shapely.get_coordinates(shapely.get_exterior_ring(px)).reshape(len(px), -1, 2)[:, :4]
        rows = [" ".join(f"{v:.1f}" for v in c.ravel()) + f" {cls.replace('_', '-')} 0"
                for c, cls in zip(corners, mine["class"])]
        write_text(out / "dota" / "labelTxt" / f"{stem}.txt",
                    f"imagesource:geotally-review\ngsd:{sc.gsd_m:.4f}\n" + "\n".join(rows) + "\n")
        image_id = len(coco["images"]) + 1
        coco["images"].append({"id": image_id, "file_name": name, "width": sc.width, "height": sc.height})
        x0, y0 = corners.min(axis=1).T
        x1, y1 = corners.max(axis=1).T
        for c, cls, a, b, e, f, area in zip(corners, mine["class"], x0, y0, x1, y1, shapely.area(px)):
            coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": image_id,
                                        "category_id": categories[cls], "segmentation": [np.round(c.ravel(), 1).tolist()],
                                        "bbox": [round(float(a), 1), round(float(b), 1), round(float(e - a), 1),
                                                 round(float(f - b), 1)], "area": round(float(area), 1), "iscrowd": 0})
    write_text(out / "coco.json", json.dumps(coco, indent=1) + "\n")
    return ReviewExport(truth, out / "train", out / "coco.json", out / "dota", len(labels))
