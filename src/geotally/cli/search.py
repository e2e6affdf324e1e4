"""search: the items of a STAC API or a static catalogue that cover an area of interest in a time range.

Its catalogue options are declared here once and also taken by ``count`` (which then reads only the
area of interest of each item's remote COG)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from geotally.cli import options as o
from geotally.cli.base import app, out
from geotally.cli.output import say_to
from geotally.errors import GeotallyError

StacApi = Annotated[Optional[str], typer.Option("--stac-api", help="A STAC API to search (http/https), e.g. https://earth-search.aws.element84.com/v1.")]
Catalog = Annotated[Optional[str], typer.Option("--catalog", help="A static STAC catalogue, collection or ItemCollection (URL or file) to search.")]
Collections = Annotated[Optional[List[str]], typer.Option("--collections", metavar="NAME", help="Collections to search (repeat or comma-separate).")]
Datetime = Annotated[Optional[str], typer.Option("--datetime", help="Time range, e.g. 2015-12-01/2015-12-31 (either end open with ..).")]
Bbox = Annotated[Optional[str], typer.Option("--bbox", help="Area of interest in degrees (WGS84), instead of the zones or border.")]
GsdRange = Annotated[Optional[str], typer.Option("--gsd-range", help="Keep items whose GSD (metres) is in this range (either end may be empty).")]
MaxCloud = Annotated[Optional[float], typer.Option("--max-cloud", help="Keep items with at most this cloud cover (percent), where the item states it.")]
MaxItems = Annotated[Optional[int], typer.Option("--max-items", help="At most N items, oldest first.")]
Remote = Annotated[bool, typer.Option("--remote", help="Read remote (http/https) assets of an ItemCollection FILE given as a scene: only the area of interest, through HTTP range requests.")]


def parse_gsd_range(text: str | None) -> tuple[float | None, float | None]:
    """'MIN,MAX' metres, either end empty, to a pair."""
    if not text:
        return None, None
    parts = text.split(",")
    try:
        lo, hi = (float(p) if p.strip() else None for p in (parts + [""])[:2])
    except ValueError:
        raise GeotallyError(f"--gsd-range takes MIN,MAX metres, e.g. 0.2,0.6; got {text!r}") from None
    if len(parts) > 2 or (lo is not None and hi is not None and lo > hi):
        raise GeotallyError(f"--gsd-range takes MIN,MAX metres with MIN <= MAX; got {text!r}")
    return lo, hi


def split_collections(values: list[str] | None) -> tuple[str, ...]:
    return tuple(c.strip() for v in values or [] for c in v.split(",") if c.strip())


@app.command("search")
def search_cmd(
    stac_api: StacApi = None,
    catalog: Catalog = None,
    collections: Collections = None,
    datetime: Datetime = None,
    bbox: Bbox = None,
    zones: o.Zones = None,
    border: o.Border = None,
    gsd_range: GsdRange = None,
    max_cloud: MaxCloud = None,
    max_items: MaxItems = None,
    save: Optional[Path] = typer.Option(None, "--save", help="Write the items found as a STAC ItemCollection JSON (for 'geotally count')."),
    quiet: o.Quiet = False,
) -> None:
    """List the items of a STAC API (--stac-api) or a static catalogue (--catalog) that cover the area of
    interest (--bbox, --zones or --border) in the time range: id, time, GSD, share of the area covered,
    cloud cover and the asset to be read. Broken items are skipped one line each."""
    from rich.table import Table

    from geotally.api import search

    found = search(stac_api=stac_api, catalog=catalog, collections=split_collections(collections), datetime=datetime,
                   bbox=bbox, zones=zones, border=border, gsd_range=parse_gsd_range(gsd_range), max_cloud=max_cloud,
                   max_items=max_items, save=save, say=say_to(quiet))
    if quiet:
        return
    table = Table(title=f"{len(found.items)} item(s) of {found.catalogue}"
                  + (f"; {len(found.skipped)} skipped" if found.skipped else ""))
    for col in ("id", "datetime", "GSD m", "AOI covered", "cloud %", "asset"):
        table.add_column(col, overflow="fold")
    for f in found.items:
        table.add_row(f.id, f.datetime, f"{f.gsd:g}" if f.gsd is not None else "",
                      f"{100 * f.aoi_share:.1f}%", f"{f.cloud_cover:g}" if f.cloud_cover is not None else "", f.href)
    out.print(table)
    if save is not None:
        out.print(f"saved {len(found.items)} item(s) to {save}")
