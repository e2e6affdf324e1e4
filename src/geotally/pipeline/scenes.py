"""A run's scenes: inputs expanded to raster files with their dates.

Inputs may be raster files, directories (their rasters), glob patterns, or a STAC
ItemCollection JSON whose items have local assets. Overlapping scenes without dates are
refused (see check_undated_overlaps); the overlap rule for scenes of one date is in
geotally.geo.overlaps.
"""

from __future__ import annotations

import glob
import json
import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import shapely

from geotally.errors import GeotallyError
from geotally.geo.transform import scene_footprint
from geotally.config.limits import iso_date
from geotally.imagery.dates import date_from_name, raster_date

RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".jp2", ".png", ".jpg", ".jpeg"}
DATA_KEYS = ("visual", "image", "data", "analytic")


@dataclass(frozen=True)
class SceneInput:
    path: str
    date: str | None
    from_stac: bool = False  # a STAC datetime outranks the file name and the tags


def _stac(path: Path) -> list[SceneInput]:
    try:
        doc = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        raise GeotallyError(f"{path} is not JSON; give a STAC ItemCollection or raster files") from None
    kind = doc.get("type") if isinstance(doc, dict) else None
    items = doc.get("features") if kind == "FeatureCollection" else [doc] if kind == "Feature" else None
    if not items or not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise GeotallyError(f"{path} is not a STAC Item or ItemCollection with items (a JSON object with "
                            "type Feature or FeatureCollection)")
    out = []
    for item in items:
        assets = item.get("assets") if isinstance(item.get("assets"), dict) else {}
        assets = {k: a for k, a in assets.items() if isinstance(a, dict)}
        hrefs = {k: a.get("href") for k, a in assets.items()}
        bad = [k for k, h in hrefs.items() if not isinstance(h, str) or not h]
        if bad:
            raise GeotallyError(f"STAC item {item.get('id')} in {path}: asset {bad[0]!r} has no href")
        roles = {k: a.get("roles") if isinstance(a.get("roles"), list) else [] for k, a in assets.items()}
        href = next((hrefs[k] for k in assets if "data" in roles[k] or k in DATA_KEYS), None)
        href = href or next((h for h in hrefs.values() if Path(h).suffix.lower() in RASTER_SUFFIXES), None)
        if href is None:
            raise GeotallyError(f"STAC item {item.get('id')} in {path} has no raster asset")
        if "://" in href and not href.startswith("file://"):
            raise GeotallyError(f"STAC item {item.get('id')}: asset {href} is not local; give --remote to read "
                                "the area of interest from it (http/https only), or download it")
        local = Path(href.removeprefix("file://"))
        local = local if local.is_absolute() else (path.parent / local)
        props = item.get("properties") if isinstance(item.get("properties"), dict) else {}
        dt = props.get("datetime")
        out.append(SceneInput(str(local), iso_date(dt, f"STAC item {item.get('id')} datetime")  # else its own tag
                              if isinstance(dt, str) and dt else raster_date(str(local)), from_stac=True))
    return out


def _given_name(path: str) -> str:
    """The name the user gave a scene: a remote asset's own (its URL's last part), not its local crop's."""
    from geotally.imagery.remote import provenance

    prov = provenance(path)
    href = (prov or {}).get("href")
    return urllib.parse.unquote(urllib.parse.urlsplit(href).path) if href else path


def expand(inputs: list[str | os.PathLike], date: str | None = None,
           date_pattern: str | None = None) -> list[SceneInput]:
    """Scene files with their dates, in a stable order (see geotally.imagery.dates for where dates come from)."""
    found: list[SceneInput] = []
    for item in inputs:
        text = str(item)
        p = Path(text)
        if p.suffix.lower() == ".json" and p.exists():
            found += _stac(p)
        elif p.is_dir():
            files = sorted(f for f in p.iterdir() if f.suffix.lower() in RASTER_SUFFIXES)
            if not files:
                raise GeotallyError(f"directory {p} holds no rasters ({', '.join(sorted(RASTER_SUFFIXES))})")
            found += [SceneInput(str(f), raster_date(str(f))) for f in files]
        elif any(ch in text for ch in "*?[") and not p.exists():
            files = sorted(glob.glob(text))
            if not files:
                raise GeotallyError(f"no files match {text}")
            found += [SceneInput(f, raster_date(f)) for f in files]
        else:
            found.append(SceneInput(text, raster_date(text) if p.exists() else None))
    seen, unique = set(), []
    for s in found:
        key = os.path.realpath(s.path)  # (Path.resolve raises on a symlink loop; open_scene says what it is)
        if key not in seen:
            seen.add(key)
            unique.append(s)
    if date_pattern:  # the file name says it, unless STAC did
        unique = [s if s.from_stac and s.date else SceneInput(s.path, date_from_name(_given_name(s.path), date_pattern))
                  for s in unique]
    if date:
        unique = [SceneInput(s.path, s.date or iso_date(date), s.from_stac) for s in unique]
    return unique


def check_undated_overlaps(scenes: list[SceneInput], opened: list) -> None:
    """Two overlapping scenes without dates could be one date's mosaic or two dates: refuse to guess
    (the overlap rule would drop one scene's vehicles in the overlap, silently if they were two dates)."""
    undated = [i for i, s in enumerate(scenes) if s.date is None]
    if len(undated) < 2 or opened[undated[0]].crs is None:  # scenes without georeference share no frame
        return
    crs = opened[undated[0]].crs
    feet = [scene_footprint(opened[i], crs) for i in undated]
    tree = shapely.STRtree(feet)
    a, b = tree.query(feet, predicate="intersects")
    # Scenes cut side by side from one mosaic share an edge; rounding in their transforms can give
    # that edge a sliver of area, which is no overlap.
    pairs = [(i, j) for i, j in zip(a, b) if i < j and shapely.area(shapely.intersection(feet[i], feet[j]))
             > 1e-6 * min(feet[i].area, feet[j].area)]
    if pairs:
        i, j = pairs[0]
        a, b = (Path(scenes[undated[k]].path) for k in (i, j))
        a, b = (a.name, b.name) if a.name != b.name else (str(a), str(b))  # two scene.tif: which ones
        raise GeotallyError(f"{a} and {b} overlap "
                            "and have no date, so geotally cannot tell one mosaic from two dates; give --date "
                            "YYYY-MM-DD (one date for all), --date-pattern 'name_{date:%Y%m%d}.tif', or STAC datetimes")
