"""Scenes' names in the results: a file name, with as many parent folders as tell it from the run's
other scenes, and that name as a file stem. Kept light (no raster library): the summary, the report,
the QGIS project and the review all name scenes by it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path


def scene_labels(paths: list[str]) -> list[str]:
    """Each scene's name in the results (the detections' ``scene`` column, the stem of their ids): its
    file name, with as many parent folders as tell it from the run's other scenes. Two ``scene.tif``
    (or STAC items' ``visual.tif``) in different folders gave 63 duplicate detection ids and one
    ``scene`` for both, so a review or an evaluation could not tell them apart."""
    parts = [Path(str(p)).parts or (str(p),) for p in paths]
    depth = [1] * len(parts)
    labels = [p[-1] for p in parts]
    while True:
        seen = Counter(labels)
        clash = [i for i, lab in enumerate(labels) if seen[lab] > 1 and depth[i] < len(parts[i])]
        if not clash:
            return labels
        for i in clash:
            depth[i] += 1
            labels[i] = "/".join(parts[i][-depth[i]:])


def label_stem(label: str) -> str:
    """A scene's label (scene_labels) as a file name stem: no suffix, its folders joined by "_" (ids,
    and the files an export writes per scene)."""
    return str(Path(label).with_suffix("")).replace("/", "_")
