"""A count's files in a staging folder: the vector layers (.gpkg in the scene CRS, .geojson in
WGS84, detections also as GeoParquet), counts.csv and the other count tables, and summary.json.
The report and the exports are added beside them by the caller, before the folder is swapped in."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from geotally.store.outputs import write_csv, write_json, write_vector
from geotally.store.styles import write_styles
from geotally.store.summary import RunSummary


# Each layer's geometry, declared for a layer with no feature (no queue found): its file still opens as a map layer
GEOMETRY = {"detections": "Polygon", "queues": "LineString", "roads": "LineString", "zones": "Polygon",
            "border": "LineString"}


def write_results(stage: Path, layers: dict[str, gpd.GeoDataFrame], counts: pd.DataFrame,
                  tables: dict[str, pd.DataFrame], summary: RunSummary) -> None:
    """Write the layers (``detections`` first), the tables and the summary into ``stage``.

    A run without georeference gets no WGS84 file: pixel-space metres would pass for degrees."""
    for name, gdf in layers.items():
        write_vector(gdf, stage / f"{name}.gpkg", layer=name, geometry_type=GEOMETRY.get(name))
        write_styles(stage / f"{name}.gpkg")  # QGIS's default style, in the file's layer_styles table
        if summary.georeferenced:
            write_vector(gdf.to_crs("EPSG:4326"), stage / f"{name}.geojson")
    layers["detections"].to_parquet(stage / "detections.parquet")
    write_csv(stage / "counts.csv", counts)
    for name, table in tables.items():
        write_csv(stage / name, table)
    write_json(stage / "summary.json", summary.to_dict())
