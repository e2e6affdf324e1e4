"""Oriented boxes as arrays: centre/size/angle to corners, corners to shapely polygons."""

from __future__ import annotations

import numpy as np
import shapely


def xywhr_to_corners(xywhr: np.ndarray) -> np.ndarray:
    """(n, 5) boxes to (n, 4, 2) corners, in the order the box's edges run."""
    xywhr = np.asarray(xywhr, dtype=np.float64).reshape(-1, 5)
    cx, cy, w, h, a = xywhr.T
    cos, sin = np.cos(a), np.sin(a)
    ux, uy = cos * w / 2, sin * w / 2  # half of the w edge
    vx, vy = -sin * h / 2, cos * h / 2  # half of the h edge
    sx = np.array([1, -1, -1, 1])[None, :]
    sy = np.array([1, 1, -1, -1])[None, :]
    xs = cx[:, None] + sx * ux[:, None] + sy * vx[:, None]
    ys = cy[:, None] + sx * uy[:, None] + sy * vy[:, None]
    return np.stack([xs, ys], axis=-1)


def corners_to_polygons(corners: np.ndarray) -> np.ndarray:
    """(n, 4, 2) corners to an array of shapely polygons."""
    corners = np.asarray(corners, dtype=np.float64).reshape(-1, 4, 2)
    if len(corners) == 0:
        return np.empty(0, dtype=object)
    return shapely.polygons(np.concatenate([corners, corners[:, :1]], axis=1))


def centres(corners: np.ndarray) -> np.ndarray:
    return np.asarray(corners).mean(axis=1)
