"""Where the benchmarks' real data lives and how it is read: one place for the paths, the splits and
the label readers every benchmark shares (benchmarks/splits/README.md says which image is in which split).

The data is ``../shared/data`` beside the repository (read-only, never committed); set
``GEOTALLY_BENCH_DATA`` to read it from elsewhere (a git worktree of another commit, for example).
Every function reads files only when called, so importing this module costs nothing.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]  # the repository
BENCH = ROOT / "benchmarks"
SPLITS = BENCH / "splits"
DATA = Path(os.environ.get("GEOTALLY_BENCH_DATA") or ROOT.parent / "shared" / "data")
SIMD = DATA / "simd"  # Google Earth, YOLO boxes, not exhaustive
KIT = DATA / "kit-munich"  # aerial frames, YOLO boxes, every car labelled
DOTA = DATA / "dota-sample"  # DOTA labelTxt; in the stock checkpoint's training set
MINSK = DATA / "minsk-drone"  # training data only
DRASHTI = DATA / "drashti-samples"  # drone frames with oriented truck labels

# DRASHTI's classes as the project's (its SOURCE.md); two- and three-wheelers are no class of ours.
DRASHTI_CLASSES = {**dict.fromkeys(("Truck", "Tipper", "Container", "Tanker", "Trailer", "Mixer", "Bus"),
                                   "large_vehicle"),
                   **dict.fromkeys(("Sedan", "SUV", "PickUp", "Van"), "small_vehicle")}
DRASHTI_GSD = 0.066  # m/px of its 1280 x 720 frames (a sedan's long side is about 68 px)


def require(folder: Path = DATA, what: str = "../shared/data") -> None:
    """Exit with one line when a benchmark's data is absent (a user's checkout has none)."""
    if not folder.exists():
        sys.exit(f"{folder} not found: this benchmark needs {what}")


def simd_name_list(split: str) -> list[str]:
    """SIMD image names of a split in the file's order: ``val`` (the dataset's own val.txt) or ``tune``
    (splits/simd_tune.txt)."""
    path = SIMD / "val.txt" if split == "val" else SPLITS / "simd_tune.txt"
    return path.read_text().split()


def simd_names(split: str) -> set[str]:
    """SIMD image names of a split, as a set."""
    return set(simd_name_list(split))


def in_kit_split(name: str, split: str) -> bool:
    """KIT frames of a split: ``val`` is sequence MOS74-93, ``tune`` MunichStreet02-MOS88-93."""
    if split == "val":
        return name.startswith("MOS")
    return name.startswith("MunichStreet02-MOS") and int(name[-2:]) >= 88


def items(folder: Path, gsd: float | None = None) -> list:
    """Every labelled image of a data folder (geotally's own reader: DOTA, YOLO or vector labels)."""
    from geotally.training.sources import read_source

    return read_source(folder, gsd)


@dataclass
class Image:
    """One labelled image of a split: label centres and classes in native pixels, and its GSD."""

    name: str
    dataset: str  # simd | kit
    path: Path
    centres: np.ndarray  # (n, 2) native pixels
    cls: np.ndarray  # large_vehicle | small_vehicle | ignore
    gsd: float


def load_split(split: str, limit: int | None) -> list[Image]:
    """The SIMD images, then the KIT frames, of a split (at most ``limit`` of each)."""
    simd = simd_names(split)
    out = []
    for ds, folder, keep in (("simd", SIMD, lambda s: s in simd), ("kit", KIT, lambda s: in_kit_split(s, split))):
        chosen = [it for it in items(folder) if keep(it.path.stem)]
        for it in chosen[:limit] if limit else chosen:
            out.append(Image(it.path.stem, ds, it.path, it.corners.mean(axis=1), it.cls, it.gsd))
    return out


def simd_labels(img: Image, gsd: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A SIMD image's labels with SIMD's own class names: centres in pixels of the image degraded to
    ``gsd`` (as degrade_to gives it), class names, and the long side of each box in metres."""
    import cv2

    names = (SIMD / "classes.names").read_text().split()
    rows = np.loadtxt(SIMD / "labels" / f"{img.name}.txt", ndmin=2)
    h, w = cv2.imread(str(img.path)).shape[:2]
    centres = np.c_[rows[:, 1] * w, rows[:, 2] * h] * (img.gsd / gsd)
    kinds = np.array([names[int(r[0])] for r in rows], dtype=object)
    return centres, kinds, np.maximum(rows[:, 3] * w, rows[:, 4] * h) * img.gsd


def degrade_to(img: Image, gsd: float, work: Path) -> tuple[Path, np.ndarray, float]:
    """The image area-averaged to ``gsd`` (left as is when already coarser), its label centres, its GSD."""
    from geotally.training.sources import LabelledImage
    from geotally.training.validate import degrade_to as degrade

    item = LabelledImage(img.path, np.zeros((0, 4, 2)), np.zeros(0, dtype=object), True, img.gsd, img.dataset)
    path, _, g = degrade(item, gsd, work)
    return path, img.centres * (img.gsd / g), g


def dota_image(name: str) -> Path:
    """A DOTA sample image (P0004 truck yard, P1888 bus depot, P0706 harbour)."""
    return DOTA / "images" / f"{name}.png"


def dota_label(name: str) -> Path:
    """A DOTA sample image's labelTxt (``gsd:`` header, oriented quadrilaterals in pixels)."""
    return DOTA / "labelTxt" / f"{name}.txt"


def dota_truth(name: str, scale: float = 1.0):
    """A DOTA sample image's labels as geotally's Truth, pixel coordinates multiplied by ``scale``."""
    from geotally.analysis.truth import read_dota

    return read_dota(dota_label(name), scale=scale)


def drashti_items() -> list:
    """The DRASHTI samples as labelled images (oriented corners, the project's classes, others
    'ignore'). Each frame's GSD comes from its labelled cars and vans (geotally's estimate), else 0.066 m."""
    import cv2

    from geotally.training.sources import LabelledImage, estimate_gsd

    out = []
    for label in sorted((DRASHTI / "labels").glob("*.txt")):
        rows = [ln.split() for ln in label.read_text().splitlines() if ln.strip() and ":" not in ln.split()[0]]
        corners = np.array([[float(v) for v in r[:8]] for r in rows]).reshape(-1, 4, 2)
        raw = np.array([r[8] for r in rows], dtype=object)
        cls = np.array([DRASHTI_CLASSES.get(r, "ignore") for r in raw], dtype=object)
        image = DRASHTI / "images" / f"{label.stem}.jpg"
        default = DRASHTI_GSD * 1280 / cv2.imread(str(image)).shape[1]  # one frame is 3840 px wide
        gsd = estimate_gsd(corners, cls, default, np.array([r.lower() for r in raw], dtype=object))
        out.append(LabelledImage(image, corners, cls, False, gsd, str(DRASHTI)))
    return out
