"""Where a scene has valid pixels: its outline less nodata, masks, alpha and non-finite pixels,
as polygons in the scene CRS, from a decimated read (at most ``max_px`` pixels a side).

A count over half a zone must never pass for a count over all of it: the observed area per zone
and date (geotally.analysis.coverage) is built from these outlines.
"""

from __future__ import annotations

import numpy as np
import rasterio
import shapely
from affine import Affine
from rasterio.enums import MaskFlags
from rasterio.features import shapes
from shapely.geometry import shape

from geotally.imagery.offline import rasters_offline
from geotally.imagery.scene import Scene

MAX_PX = 1024  # the decimated mask's longest side: 1,024 cells over a 40,000 px scene are 39 px each


def valid_outline(scene: Scene, max_px: int = MAX_PX) -> shapely.Geometry:
    """The scene's valid pixels as a (multi)polygon in the scene CRS (pixel-space metres without one)."""
    f = max(1.0, max(scene.width, scene.height) / max_px)
    w, h = max(1, round(scene.width / f)), max(1, round(scene.height / f))
    band = scene.bands[0]
    with rasters_offline(), rasterio.open(scene.path) as src:
        all_valid = all(MaskFlags.all_valid in src.mask_flag_enums[b - 1] for b in scene.bands)
        valid = np.ones((h, w), bool) if all_valid else src.read_masks(band, out_shape=(h, w)) > 0
        if np.dtype(scene.dtype).kind == "f":
            valid &= np.isfinite(src.read(band, out_shape=(h, w)))
    if valid.all():
        px = shapely.box(0, 0, scene.width, scene.height)
    else:  # cells of the decimated mask, in scene pixels
        cell = Affine.scale(scene.width / w, scene.height / h)
        polys = [shape(g) for g, v in shapes(valid.astype(np.uint8), mask=valid, transform=cell)
                 if v == 1]
        px = shapely.union_all(np.array(polys, dtype=object)) if polys else shapely.Polygon()
    return shapely.transform(px, lambda xy: np.column_stack(scene.transform * (xy[:, 0], xy[:, 1])))
