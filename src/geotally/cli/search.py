"""search: the items of a STAC API or a static catalogue that cover an area of interest in a time range.

Its catalogue options are declared here once and also taken by ``count`` (which then reads only the
area of interest of each item's remote COG)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from geotally.cli import options as o
from geotally.cli.base import app, out
from geotally.cli.output import say_to

@app.command("search")
def search_cmd(
    stac_api: o.StacApi = None,
    catalog: o.Catalog = None,
    collections: o.Collections = None,
    datetime: o.Datetime = None,
    bbox: o.Bbox = None,
    zones: o.Zones = None,
    border: o.Border = None,
    gsd_range: o.GsdRange = None,
    max_cloud: o.MaxCloud = None,
    max_items: o.MaxItems = None,
    save: Optional[Path] = typer.Option(None, "--save", help="Write the items found as a STAC ItemCollection JSON (for 'geotally count')."),
    force: bool = typer.Option(False, "--force", help="Replace the --save file if it exists."),
    quiet: o.Quiet = False,
) -> None:
    """List the items of a STAC API (--stac-api) or a static catalogue (--catalog) that cover the area of
    interest (--bbox, --zones or --border) in the time range: id, time, GSD, share of the area covered,
    cloud cover and the asset to be read. Broken items are skipped one line each."""
    from rich.table import Table

    from geotally.api import search

    found = search(o.search_params(stac_api, catalog, collections, datetime, bbox, gsd_range, max_cloud, max_items),
                   zones=zones, border=border, save=save, force=force, say=say_to(quiet))
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
