"""The ground: terrain with low-frequency variation, asphalt roads with lane marks, paved lots."""

from __future__ import annotations

import numpy as np
import shapely
from affine import Affine
from rasterio.features import rasterize
import cv2
from shapely.geometry import LineString

from geotally.synth.layout import LANE_W, Layout

TERRAIN = np.array([0.58, 0.52, 0.42], np.float32)  # dry, semi-arid soil
SCRUB = np.array([0.40, 0.42, 0.30], np.float32)
ASPHALT = np.array([0.39, 0.40, 0.38], np.float32)  # median of the highway in DOTA P0004 (Google Earth)
CONCRETE = np.array([0.62, 0.61, 0.58], np.float32)
GRAVEL = np.array([0.52, 0.49, 0.44], np.float32)
PAINT = np.array([0.88, 0.88, 0.85], np.float32)


def noise(shape: tuple[int, int], cell: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth noise in [-1, 1] with features about ``cell`` pixels across."""
    gh, gw = max(2, int(shape[0] / cell) + 2), max(2, int(shape[1] / cell) + 2)
    coarse = rng.standard_normal((gh, gw)).astype(np.float32)
    fine = cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return np.clip(fine / (np.abs(fine).max() + 1e-6), -1, 1)


def _mask(geoms, shape, transform) -> np.ndarray:
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        return np.zeros(shape, bool)
    return rasterize([(g, 1) for g in geoms], out_shape=shape, transform=transform, dtype="uint8").astype(bool)


def _paint(img, mask, colour, texture, amount=0.04):
    img[mask] = colour * (1.0 + amount * texture[mask][:, None])


def _dashes(line: LineString, dash: float, gap: float) -> list[LineString]:
    out, s = [], 0.0
    while s < line.length:
        seg = shapely.ops.substring(line, s, min(s + dash, line.length))
        out.append(seg)
        s += dash + gap
    return out


def render_ground(layout: Layout, shape: tuple[int, int], transform: Affine, gsd: float,
                  rng: np.random.Generator) -> np.ndarray:
    """(h, w, 3) float32 ground image in [0, 1]."""
    import shapely.ops  # noqa: F401  (substring)

    h, w = shape
    low = noise(shape, 120.0 / gsd, rng)
    mid = noise(shape, 15.0 / gsd, rng)
    grain = rng.standard_normal(shape, dtype=np.float32)
    scrub = np.clip(noise(shape, 25.0 / gsd, rng) - 0.35, 0, 1) * 1.6
    stains = np.clip(noise(shape, 6.0 / gsd, rng) - 0.45, 0, 1)  # tyre tracks, oil, wet patches
    # Soil and scrub blended by the scrub field, then darkened by stains: weights per pixel, colours per channel.
    dark = 1.0 - 0.5 * stains
    soil = (1.0 + 0.10 * low + 0.05 * mid + 0.03 * grain) * (1.0 - scrub) * dark
    bush = scrub * (1.0 + 0.08 * grain) * dark
    img = np.empty((h, w, 3), np.float32)
    for c in range(3):
        img[..., c] = TERRAIN[c] * soil + SCRUB[c] * bush

    road = layout.road
    carriageway = road.buffer(2 * LANE_W + 0.6, cap_style="flat")
    shoulder = road.buffer(2 * LANE_W + 2.5, cap_style="flat")
    _paint(img, _mask([shoulder], shape, transform), GRAVEL, grain, 0.06)
    lots = list(layout.depots) + ([layout.car_park] if layout.car_park is not None else [])
    access = [shapely.shortest_line(lot, road).buffer(4.0) for lot in layout.depots]
    _paint(img, _mask([d.buffer(2) for d in layout.depots] + access, shape, transform), GRAVEL, grain, 0.08)
    asphalt_tex = grain * 0.7 + 0.3 * mid
    _paint(img, _mask([carriageway] + access + ([layout.car_park] if layout.car_park is not None else []),
                      shape, transform), ASPHALT, asphalt_tex, 0.06)
    _paint(img, _mask([layout.plaza], shape, transform), CONCRETE, grain, 0.03)
    # Lane marks: solid edge lines, a double centre line and dashed lane dividers.
    marks = [road.offset_curve(d).buffer(0.08) for d in (-2 * LANE_W, 2 * LANE_W, -0.12, 0.12)]
    for d in (-LANE_W, LANE_W):
        marks += [s.buffer(0.075) for s in _dashes(road.offset_curve(d), 3.0, 9.0)]
    for lot in lots:
        x0, y0, x1, y1 = lot.bounds
        step = 2.7 if lot is layout.car_park else 4.2
        marks += [LineString([(x, y0 + 1), (x, y1 - 1)]).buffer(0.06) for x in np.arange(x0 + 2, x1 - 1, step)]
    mark = _mask([m.difference(layout.plaza) for m in marks], shape, transform)
    img[mark] = img[mark] * 0.25 + PAINT * 0.75
    # Booths on the plaza.
    cross = road.intersection(layout.border)
    booths = [shapely.box(cross.x + dx - 1.5, cross.y - 2.5, cross.x + dx + 1.5, cross.y + 2.5)
              for dx in (-2 * LANE_W - 5, 2 * LANE_W + 5)]
    _paint(img, _mask(booths, shape, transform), np.array([0.85, 0.84, 0.8], np.float32), grain, 0.02)
    return np.clip(img, 0, 1, out=img)
