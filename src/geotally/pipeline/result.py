"""What a count returns: the vehicle table, the count tables, the layers and the provenance."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geotally.imagery.scene import Scene
from geotally.store.outputs import staged_output
from geotally.store.qgis_project import PREVIEW, write_preview, write_project
from geotally.store.results import write_results
from geotally.store.summary import RunSummary
from geotally.zones.load import Zones


@dataclass
class CountResult:
    """Detections (GeoDataFrame in the run's CRS), the counts table, and the run's provenance."""

    detections: gpd.GeoDataFrame
    counts: pd.DataFrame
    summary: RunSummary
    scene: Scene  # the first scene: the report's map is drawn on it
    zones: Zones | None = field(default=None, repr=False)
    queues: gpd.GeoDataFrame | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    border_line: object | None = field(default=None, repr=False)
    preview: np.ndarray | None = field(default=None, repr=False)  # (h, w, 3) uint8 picture of the first scene
    roads: gpd.GeoDataFrame | None = None  # the road segments within the scenes, when roads were given
    route: gpd.GeoDataFrame | None = None  # the route's stretches with their counts (one row per date and stretch)
    imaged: gpd.GeoDataFrame | None = None  # per date, the scenes' valid pixels (date, geometry) in the run's CRS

    def write(self, out: str | os.PathLike, *, report: bool = True, export: tuple[str, ...] = (),
              basemap: str | None = None) -> Path:
        """Write detections and queues (.gpkg in the scene CRS, .geojson in WGS84, .parquet as
        GeoParquet), counts.csv, the extra count tables, summary.json and report.html, atomically
        into ``out``. ``export=("kml",)`` adds detections.kml for Google Earth. A scene without
        georeference gets no WGS84 file: its .gpkg and .parquet are in pixel-space metres."""
        layers = {"detections": self.detections}
        layers.update({k: g for k, g in (("queues", self.queues), ("roads", self.roads), ("route", self.route))
                       if g is not None})
        # preview.tif is written on a thread beside the rest (GDAL encodes the picture without the GIL);
        # the pool is joined before the project lists it, and before the staged folder is moved or removed.
        picture = self.preview is not None and self.scene is not None
        with staged_output(out) as stage, ThreadPoolExecutor(max_workers=1) as pool:
            if picture:
                written = pool.submit(write_preview, stage / PREVIEW, self.preview, self.scene.transform,
                                      self.scene.width, self.scene.height, self.detections.crs)
            write_results(stage, layers, self.counts, self.tables, self.summary)
            if "kml" in export:
                from geotally.report.kml import write_kml

                write_kml(self, stage / "detections.kml")
            if report:
                from geotally.report.html import write_report

                write_report(self, stage / "report.html", basemap=basemap)
            if picture:
                written.result()
            write_project(stage, self.summary, crs=self.detections.crs, preview=self.preview, scene=self.scene,
                          zones=self.zones, border=self.border_line, imaged=self.imaged, preview_written=picture)  # the run in QGIS
        return Path(out)
