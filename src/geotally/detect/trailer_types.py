"""The second stage: a trailer type for every large vehicle, from an oriented crop of the scene.

Each large vehicle's box gives a crop of 24 x 8 m at 0.25 m per pixel along its long axis
(geotally.imagery.crops), read from the scene at native resolution; the shipped classifier
(geotally.models.trailers) gives a probability per type. Scenes coarser than the classifier's
``max_gsd`` (set from real validation crops, see the model card) get type ``unknown``: there the
types could not be told apart on real imagery, and a guess would pass for a measurement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geotally.imagery.crops import CropSpec, scene_crops
from geotally.imagery.scene import Scene
from geotally.config.defaults import DEFAULT_TRAILER_MODEL
from geotally.config.params import TrailerParams
from geotally.models.trailers import TrailerModelSpec, classify, get_trailer_spec, trailer_specs

UNKNOWN = "unknown"  # a large vehicle whose type the scene's GSD does not allow
NOT_TYPED = ""  # small vehicles and other classes


@dataclass(frozen=True)
class TrailerTypes:
    """Per detection: type probabilities (NaN where not typed), the type and its probability."""

    probs: np.ndarray  # (n, k)
    types: np.ndarray  # (n,) str
    score: np.ndarray  # (n,) float, NaN where not typed
    names: tuple[str, ...]
    spec: TrailerModelSpec | None
    note: str


def type_vehicles(scene: Scene, corners_px: np.ndarray, classes: np.ndarray,
                  params: TrailerParams = TrailerParams(), threads: int | None = None) -> TrailerTypes:
    """Type the large vehicles among boxes ``corners_px`` (scene pixels) of classes ``classes``."""
    n = len(classes)
    large = np.asarray(classes) == "large_vehicle"
    types = np.where(large, UNKNOWN, NOT_TYPED).astype(object)
    if not params.enabled:
        return TrailerTypes(np.full((n, 0), np.nan), types, np.full(n, np.nan), (), None, "trailer types not asked for")
    spec = trailer_specs().get(params.model)
    if spec is None:
        if params.model != DEFAULT_TRAILER_MODEL:
            get_trailer_spec(params.model)  # an unknown model asked for by name: a one-line error
        return TrailerTypes(np.full((n, 0), np.nan), types, np.full(n, np.nan), (), None,
                            "no trailer-type model is installed")
    probs = np.full((n, len(spec.types)), np.nan, np.float32)
    score = np.full(n, np.nan, np.float32)
    limit = gsd_limit(spec, params.max_gsd)
    if scene.gsd_m > limit:
        v = spec.card.get("validation") or {}
        if limit <= 0:
            acc = ", ".join(f"{float(a):.2f} at {g} m" for g, a in (v.get("accuracy") or {}).items())
            note = (f"no trailer types: on real held-out crops {spec.name} was right only {acc} of the time "
                    f"(it needs {v.get('min_real_accuracy', 0.85)}), so it is not trusted at any GSD; "
                    "--trailer-max-gsd M types anyway, as an experiment")
        else:
            note = (f"no trailer types: the scene's GSD ({scene.gsd_m:.2f} m) is coarser than {limit:g} m, "
                    "where the classifier could not tell the types apart on real validation crops")
        return TrailerTypes(probs, types, score, spec.types, spec, note)
    idx = np.flatnonzero(large)
    crops = scene_crops(scene, np.asarray(corners_px, float)[idx], CropSpec(spec.crop_size_m, spec.crop_size_px))
    p = classify(spec, crops, threads=threads)
    probs[idx] = p
    best = p.argmax(axis=1) if len(p) else np.zeros(0, int)
    types[idx] = np.asarray(spec.types, dtype=object)[best]
    score[idx] = p[np.arange(len(p)), best] if len(p) else []
    return TrailerTypes(probs, types, score, spec.types, spec, f"{len(idx)} large vehicles typed by {spec.name}")


def gsd_limit(spec: TrailerModelSpec, max_gsd: float | None = None) -> float:
    """The coarsest GSD at which vehicles are typed: ``--trailer-max-gsd`` when given, else the model card's."""
    return max_gsd if max_gsd is not None else spec.max_gsd


def confusion_for(spec: TrailerModelSpec | None, gsd_m: float, max_gsd: float | None = None) -> np.ndarray | None:
    """The model card's confusion counts (true x predicted) measured on real crops at the GSD nearest
    to ``gsd_m``, or None when the scene is not typed or the card has none (then no correction)."""
    if spec is None or gsd_m > gsd_limit(spec, max_gsd):
        return None
    table = (spec.card.get("validation") or {}).get("confusion") or {}
    if not table:
        return None
    nearest = min(table, key=lambda g: abs(float(g) - gsd_m))
    return np.asarray(table[nearest], float)
