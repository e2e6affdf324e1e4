"""Everything a run reads before the first tile: every scene opened and checked, and the zones,
border and roads opened once, in the run's CRS, over the extent of all the scenes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from geotally.config import CountConfig
from geotally.errors import GeotallyError
from geotally.imagery.dates import run_dates
from geotally.imagery.scene import Scene, open_scene
from geotally.roads.load import Roads, load_roads
from geotally.geo.transform import scene_footprint
from geotally.pipeline.scenes import SceneInput, check_undated_overlaps
from geotally.zones.border import Border, load_border
from geotally.zones.load import Zones, load_zones


@dataclass
class RunInputs:
    """The run's scenes with their dates and outlines, and its vectors, all in the run's CRS (the first scene's)."""

    scenes: list[Scene]
    dates: list[str | None]
    crs: object | None
    footprints: list[shapely.Polygon]  # each scene's outline in ``crs``
    bounds: tuple[float, float, float, float]  # of all the scenes, in ``crs``
    zones: Zones | None = None
    border: Border | None = None
    roads: Roads | None = None

    @property
    def run_dates(self) -> list[str | None]:
        """Dated first, in order, then None when some scene has no date."""
        return run_dates(self.dates)


def open_run(scenes: list[SceneInput], cfg: CountConfig) -> RunInputs:
    """Open and check every scene, then the vectors once over all of them; errors say what to fix."""
    opened = [open_scene(s.path, bands=cfg.bands, gsd=cfg.gsd) for s in scenes]
    for sc in opened:
        if "kml" in cfg.export and sc.crs is None:
            raise GeotallyError(f"--export kml needs a georeferenced scene; {Path(sc.path).name} has no CRS")
        if cfg.basemap and sc.crs is None:
            raise GeotallyError(f"--basemap needs a georeferenced scene to place the tiles; {Path(sc.path).name} "
                                "has no CRS")
    plain = [Path(sc.path).name for sc in opened if sc.crs is None]
    if plain and len(plain) < len(opened):
        raise GeotallyError(f"{plain[0]} has no georeference but other scenes of the run have one, so they cannot "
                            "be placed together; count it in a run of its own")
    check_undated_overlaps(scenes, opened)
    crs = opened[0].crs
    feet = [scene_footprint(sc, crs) for sc in opened]
    bounds = tuple(float(v) for v in shapely.total_bounds(np.array(feet, dtype=object)))
    zones = load_zones(str(cfg.zones), crs, bounds, field=cfg.zone_field) if cfg.zones is not None else None
    border = load_border(str(cfg.border), crs, bounds, cfg.sides) if cfg.border is not None else None
    if zones is None and border is not None:
        zones = border.zones
    roads = load_roads(str(cfg.roads), crs, bounds) if cfg.roads is not None else None
    return RunInputs(opened, [s.date for s in scenes], crs, feet, bounds, zones, border, roads)
