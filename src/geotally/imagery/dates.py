"""A scene's date: from STAC (see geotally.pipeline.scenes), its raster tags, its file name, or the user.

Order: a STAC item's ``datetime``; ``--date-pattern`` on the file name; the GDAL tag
``ACQUISITION_DATE``, else the TIFF tag ``TIFFTAG_DATETIME``; else ``--date``, which dates every
scene that has no date of its own. Dates are ISO ``YYYY-MM-DD`` strings.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import rasterio

from geotally.config.limits import iso_date
from geotally.errors import GeotallyError
from geotally.imagery.offline import check_local, rasters_offline

_FIELD = re.compile(r"\{date:([^}]+)\}")


def run_dates(dates: list[str | None]) -> list[str | None]:
    """A run's dates once each: the dated ones in order, then None when some scene has none."""
    return sorted({d for d in dates if d}) + [None] * (None in dates or "" in dates)


def raster_date(path: str | Path) -> str | None:
    """The acquisition date in a raster's tags, if it has one."""
    try:
        check_local(path)
        with rasters_offline(), rasterio.open(path) as src:
            tags = src.tags()
    except Exception:  # noqa: BLE001 - no date; open_scene says what is wrong with the file
        return None
    value = tags.get("ACQUISITION_DATE") or tags.get("TIFFTAG_DATETIME")
    if not value:
        return None
    try:
        return iso_date(value[:10].replace(":", "-"), "the date tag")
    except GeotallyError:
        return None


def name_pattern(pattern: str) -> tuple[re.Pattern, str]:
    """A file-name pattern like 'zakho_{date:%Y%m%d}.tif' as a regex and the strptime format of its date."""
    m = _FIELD.search(pattern)
    if not m or len(_FIELD.findall(pattern)) != 1:
        raise GeotallyError(f"--date-pattern needs one {{date:FORMAT}} field, like scene_{{date:%Y%m%d}}.tif; "
                            f"got {pattern!r}")
    fmt = m.group(1)
    body = re.escape(fmt)
    for code, rx in (("%Y", r"\d{4}"), ("%m", r"\d{2}"), ("%d", r"\d{2}"), ("%j", r"\d{3}"), ("%y", r"\d{2}")):
        body = body.replace(re.escape(code), rx)
    head, tail = pattern[:m.start()], pattern[m.end():]
    glob = lambda part: re.escape(part).replace(r"\*", ".*").replace(r"\?", ".")  # noqa: E731
    return re.compile(f"^{glob(head)}(?P<date>{body}){glob(tail)}$"), fmt


def date_from_name(path: str | Path, pattern: str) -> str:
    """The date a file name carries under ``pattern``; a name that does not match is an error."""
    rx, fmt = name_pattern(pattern)
    m = rx.match(Path(path).name)
    if not m:
        raise GeotallyError(f"{Path(path).name} does not match --date-pattern {pattern!r}")
    try:
        return dt.datetime.strptime(m.group("date"), fmt).date().isoformat()
    except ValueError:
        raise GeotallyError(f"{Path(path).name}: {m.group('date')!r} is not a date of the form {fmt}") from None
