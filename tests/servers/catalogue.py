"""The local test catalogue: the synthetic crossing on two dates as COGs under nginx, published as
the items of one collection in rustac's STAC API, all on 127.0.0.1. The tests build on its parts
(:func:`make_crossing`, :func:`item`); ``scripts/local_catalogue.py`` runs :func:`serve` for the
README's quick start."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Iterator

import rasterio
import rasterio.shutil
import shapely
from pyproj import Transformer

from tests.servers import Nginx, StacApi

COLLECTION = "synth-crossing"


def footprint(tif: Path) -> shapely.Polygon:
    """The raster's outline in lon/lat."""
    with rasterio.open(tif) as src:
        t = Transformer.from_crs(src.crs, 4326, always_xy=True)
        return shapely.transform(shapely.box(*src.bounds), t.transform, interleaved=False)


def item(iid: str, when: str, href: str, geom: shapely.Geometry, **extra) -> dict:
    """A STAC item of the collection with one COG asset (``visual``), GSD 0.3 m and cloud cover."""
    return {"type": "Feature", "stac_version": "1.0.0", "id": iid, "collection": COLLECTION,
            "geometry": shapely.geometry.mapping(geom), "bbox": list(geom.bounds),
            "properties": {"datetime": when, "gsd": 0.3, "eo:cloud_cover": extra.pop("cloud", 0.0), **extra},
            "assets": {"visual": {"href": href, "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                                  "roles": ["data"]}}, "links": []}


def collection() -> dict:
    return {"type": "Collection", "stac_version": "1.0.0", "id": COLLECTION, "description": "synthetic crossing",
            "license": "CC0-1.0", "links": [],
            "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                       "temporal": {"interval": [["2019-01-01T00:00:00Z", None]]}}}


def make_crossing(folder: Path, dates: int = 2, start: str = "2026-06-01") -> dict:
    """The crossing on ``dates`` dates a week apart (exact truth), each as a COG (256 px blocks, DEFLATE)
    in ``folder/www``; returns the synthetic runs and scenes, the COGs, zones (the two sides), border
    and dates."""
    from geotally.synth import LayoutParams, SynthParams, series_params, write_scene

    folder = Path(folder)
    synth, www = folder / "synth", folder / "www"
    www.mkdir(parents=True, exist_ok=True)
    lp = LayoutParams(width_m=200, height_m=500, queue={"TR": 10, "IQ": 14}, depot={"IQ": 6}, cars_road=6,
                      cars_park=0, seed=4)
    runs = series_params(SynthParams(layout=lp, gsd=0.3), dates, start)
    scenes = [write_scene(synth, p, name=f"scene_{p.date}") for p in runs]
    cogs = []
    for p, sc in zip(runs, scenes):
        cog = www / f"crossing_{p.date}.tif"
        rasterio.shutil.copy(sc["scene"], cog, driver="COG", blocksize=256, compress="DEFLATE")
        cogs.append(cog)
    return dict(runs=runs, scenes=scenes, cogs=cogs, www=www, zones=scenes[0]["sides"],
                border=scenes[0]["border"], dates=[p.date for p in runs])


@contextlib.contextmanager
def serve(folder: Path, *, api_port: int | None = None, cog_port: int | None = None,
          token: str | None = None) -> Iterator[dict]:
    """The crossing's COGs under nginx and their items in rustac's STAC API, stopped on leaving the
    ``with``; yields :func:`make_crossing`'s dict with ``api`` and ``web`` (the servers) added."""
    folder = Path(folder)
    data = make_crossing(folder)
    with Nginx(data["www"], folder / "nginx", token=token, port=cog_port) as web:
        items = [item(f"crossing-{d}", f"{d}T08:30:00Z", f"{web.url}/{c.name}", footprint(c))
                 for d, c in zip(data["dates"], data["cogs"])]
        (folder / "collection.json").write_text(json.dumps(collection()))
        (folder / "items.json").write_text(json.dumps({"type": "FeatureCollection", "features": items}))
        with StacApi([folder / "collection.json", folder / "items.json"], port=api_port) as api:
            yield dict(data, api=api, web=web, items=items)
