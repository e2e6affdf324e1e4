"""Atomic result directories: files are written to a staging folder and moved in at the end."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import geopandas as gpd

from geotally.errors import GeotallyError


def check_out_dir(out: str | os.PathLike) -> Path:
    """Refuse an output path that is an existing file; create nothing yet."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise GeotallyError(f"--out {path} is an existing file; give a directory path")
    parent = path.resolve().parent
    if not parent.exists():
        raise GeotallyError(f"--out {path}: parent directory {parent} does not exist")
    return path


@contextmanager
def staged_output(out: str | os.PathLike) -> Iterator[Path]:
    """Yield a staging directory; on success its files replace those in ``out``, on error nothing lands."""
    final = check_out_dir(out)
    stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.staging-", dir=final.resolve().parent))
    try:
        yield stage
        final.mkdir(exist_ok=True)
        for item in sorted(stage.iterdir()):
            os.replace(item, final / item.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def write_vector(gdf: gpd.GeoDataFrame, path: Path, layer: str | None = None) -> None:
    """GeoPackage or GeoJSON by suffix; an empty frame still gets a file with the schema."""
    driver = {".gpkg": "GPKG", ".kml": "KML"}.get(path.suffix, "GeoJSON")
    kwargs = {"layer": layer} if layer and driver == "GPKG" else {}
    with warnings.catch_warnings():
        # Scenes without georeference are written in local metres, knowingly without a CRS.
        warnings.filterwarnings("ignore", message=".*crs.*was not provided")
        gdf.to_file(path, driver=driver, engine="pyogrio", **kwargs)
