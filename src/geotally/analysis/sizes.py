"""Size classes from footprint length in metres, and the length histogram."""

from __future__ import annotations

import numpy as np

from geotally.config.defaults import SIZE_CLASSES, SIZE_THRESHOLDS


def size_class(length_m: np.ndarray, thresholds: tuple[float, float, float] = SIZE_THRESHOLDS) -> np.ndarray:
    """Size class per vehicle; a length on a threshold goes to the larger class."""
    t = np.asarray(thresholds, float)
    if len(t) != 3 or not (np.diff(t) > 0).all():
        raise ValueError("size thresholds must be three increasing lengths in metres")
    return np.asarray(SIZE_CLASSES, dtype=object)[np.searchsorted(t, np.asarray(length_m, float), side="right")]


def length_histogram(length_m: np.ndarray, step: float = 1.0, top: float = 30.0) -> dict:
    """Counts per ``step``-metre bin from 0 to ``top``; longer ones in the last bin."""
    edges = np.arange(0.0, top + step, step)
    clipped = np.minimum(np.asarray(length_m, float), top - 1e-9)
    counts, _ = np.histogram(clipped, bins=edges)
    return {"bin_edges_m": edges.tolist(), "counts": counts.astype(int).tolist()}
