"""Satellite-GSD degradation: what a scene at a fine GSD would look like from a coarser sensor.

The chain follows the usual sensor model: optical blur (a Gaussian whose width matches an MTF
of roughly 0.15-0.3 at Nyquist), area reduction to the target GSD, gain and offset, noise and
JPEG compression. Labels are scaled by the same factors.
"""

from __future__ import annotations

import cv2
import numpy as np

from geotally.config.training import DegradeParams


def sample_gsd(native: float, p: DegradeParams, rng: np.random.Generator) -> float:
    """A target GSD, log-uniform in the range, never finer than the image itself."""
    lo, hi = max(p.gsd_range[0], native), max(p.gsd_range[1], native)
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) if hi > lo else lo


def degrade(img: np.ndarray, native_gsd: float, target_gsd: float, p: DegradeParams,
            rng: np.random.Generator) -> np.ndarray:
    """RGB uint8 ``img`` at ``native_gsd`` to ``target_gsd`` (coarser or equal), as a sensor would see it."""
    f = native_gsd / target_gsd  # <= 1
    sigma = rng.uniform(*p.blur_px) / max(f, 1e-6)  # target pixels to native pixels
    out = cv2.GaussianBlur(img, (0, 0), sigma) if sigma > 0.05 else img
    if f < 1.0:
        w, h = max(1, round(img.shape[1] * f)), max(1, round(img.shape[0] * f))
        out = cv2.resize(out, (w, h), interpolation=cv2.INTER_AREA)
    out = out.astype(np.float32) * rng.uniform(*p.gain) + rng.uniform(-8, 8)
    sd = rng.uniform(*p.noise)
    if sd > 0:
        out += rng.normal(0.0, sd, out.shape).astype(np.float32)
    out = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    q = int(rng.integers(p.jpeg[0], p.jpeg[1] + 1))
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, q])
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if ok else out


def to_model_scale(img: np.ndarray, gsd: float, model_gsd: float) -> np.ndarray:
    """Resample to the model's GSD the way inference does (bilinear up, area down)."""
    f = gsd / model_gsd
    if abs(f - 1.0) < 1e-3:
        return img
    w, h = max(1, round(img.shape[1] * f)), max(1, round(img.shape[0] * f))
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR if f > 1 else cv2.INTER_AREA)
