"""Options shared by several commands, declared once with one help text each (as rasterio's
``rio/options.py`` does), and the parsers that turn their text into typed values.

``count`` and ``recount`` share the analysis options: each is declared here with ``None`` as its
value when not given, and :func:`analysis_changes` maps the given ones to the
:class:`~geotally.config.CountConfig` field (or nested field) they set. ``count`` applies them to the
defaults, ``recount`` to the stored run, so an option left out keeps its value in both. Ranges are
not checked here: the API checks every value, for scripts and the CLI alike.
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Annotated, Any, Callable, List, Optional

import typer

from geotally.config.count import CountConfig
from geotally.config.params import SearchParams
from geotally.config.defaults import DEFAULT_MODEL, SIZE_CLASSES, TRAILER_TYPES, VEHICLE_CLASSES
from geotally.config.thresholds import default_model_conf
from geotally.errors import GeotallyError

_D = CountConfig()  # the defaults, read from the config (never restated here)


# -- parsers: text to typed values, a one-line error naming the option when the text has the wrong shape

def key_values(text: str, cast, what: str, shape: str) -> dict:
    """'A=1,B=2' to {'A': 1, 'B': 2}; anything else, a key given twice included (which value was
    meant?), is a one-line error naming the option."""
    try:
        pairs = [(k.strip(), cast(v)) for k, v in (part.split("=", 1) for part in text.split(","))]
    except ValueError:
        raise GeotallyError(f"{what} takes {shape}, got {text!r}") from None
    keys = [k for k, _ in pairs]
    twice = next((k for k in keys if keys.count(k) > 1), None)
    if twice is not None:
        raise GeotallyError(f"{what} gives {twice} twice in {text!r}; give each once")
    return dict(pairs)


def parse_conf(text: str):
    if "=" in text:
        return key_values(text, float, "--conf", "a number or class=number pairs")
    try:
        return float(text)
    except ValueError:
        raise GeotallyError(f"--conf takes a number or class=number pairs, got {text!r}") from None


def parse_bands(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(b) for b in text.split(","))
    except ValueError:
        raise GeotallyError(f"--bands takes comma-separated band numbers like 3,2,1, got {text!r}") from None


def parse_sides(text: str) -> tuple[str, str]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise GeotallyError(f"--sides takes two names, left then right, like TR,IQ; got {text!r}")
    return parts[0], parts[1]


def parse_floats(text: str, what: str, n: int | None = None) -> tuple[float, ...]:
    """Comma-separated numbers, increasing (``n`` of them when given)."""
    try:
        vals = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise GeotallyError(f"{what} takes comma-separated numbers, got {text!r}") from None
    if (n and len(vals) != n) or list(vals) != sorted(vals):
        raise GeotallyError(f"{what} takes {n or 'some'} increasing numbers, got {text!r}")
    return vals


def parse_claim(text: str) -> dict:
    """``TR=4530,IQ=7245``; a count written with a thousands separator (``TR=4,530``) is told so."""
    parts = text.split(",")
    if any("=" not in p and p.strip().isdigit() and len(p.strip()) == 3 for p in parts[1:]):
        raise GeotallyError(f"--claim takes ZONE=COUNT pairs like TR=4530,IQ=7245, got {text!r}: write counts "
                            "without a thousands separator (4530, not 4,530)")
    return key_values(text, float, "--claim", "ZONE=COUNT pairs like TR=4530,IQ=7245")


def parse_exports(values: List[str]) -> tuple[str, ...]:
    return tuple(v.lower() for v in values)


# -- the analysis options of count and recount

def _conf_default_text() -> str:
    table = default_model_conf()
    return f"{DEFAULT_MODEL}: " + ",".join(f"{k}={v:g}" for k, v in table.items() if k != "*") \
        + f", other classes {table['*']:g}"


Conf = Annotated[Optional[str], typer.Option(
    "--conf", help="Minimum score: one number for all classes, or per class like large_vehicle=0.1,small_vehicle=0.25 "
                   f"(default: the model's own, chosen by measurement; {_conf_default_text()}; a recount keeps the "
                   "run's, and cannot go below its score floor).")]
Zones = Annotated[Optional[Path], typer.Option("--zones", help="Zone polygons (GeoJSON, GeoPackage, Shapefile, GeoParquet, "
                                                                 "an OpenStreetMap extract's closed areas; zipped or not), any CRS.")]
ZoneField = Annotated[Optional[str], typer.Option(
    "--zone-field", help=f"Attribute that names each zone (default: {_D.zone_field}).")]
Border = Annotated[Optional[Path], typer.Option(
    "--border", help="Border line (LineString/MultiLineString, any CRS; or an OpenStreetMap extract's "
                     "boundary=administrative ways) splitting the scene into two sides.")]
Sides = Annotated[Optional[str], typer.Option(
    "--sides", help="Names of the sides, left then right looking along the line, e.g. TR,IQ "
                    "(default: the line's left/right properties).")]
DistanceBands = Annotated[Optional[str], typer.Option(
    "--distance-bands", help="Distance-to-border bands in metres, e.g. 0,1000,5000: counts per side per band.")]
SizeThresholds = Annotated[Optional[str], typer.Option(
    "--size-thresholds", help="Length thresholds in metres between car, van/light truck, rigid truck and articulated "
                              f"(default: {','.join(f'{v:g}' for v in _D.size_thresholds)}).")]
QueueGap = Annotated[Optional[float], typer.Option(
    "--queue-gap", help=f"Largest gap in metres between vehicles of one queue (default: {_D.queue.max_gap:g}).")]
QueueMin = Annotated[Optional[int], typer.Option(
    "--queue-min", help=f"Fewest vehicles that make a queue (default: {_D.queue.min_vehicles}).")]
Calibration = Annotated[Optional[Path], typer.Option(
    "--calibration", help="Calibration file from 'geotally calibrate': estimates with 95% intervals.")]
Claim = Annotated[Optional[str], typer.Option("--claim", help="Claimed counts to test, e.g. TR=4530,IQ=7245.")]
ClaimClass = Annotated[Optional[str], typer.Option(
    "--claim-class", help="Class the claim counts: a vehicle class (" + ", ".join(VEHICLE_CLASSES) + "), heavy (10 m "
                          "and longer: tankers and articulated trucks), a size class (" + ", ".join(SIZE_CLASSES)
                          + ") or a trailer type (" + ", ".join(TRAILER_TYPES) + f"); default: {_D.claim_class}.")]
Export = Annotated[List[str], typer.Option(
    "--export", metavar="FORMAT", help="Extra export beside the report: kml (GeoParquet is always written).")]
Basemap = Annotated[Optional[str], typer.Option(
    "--basemap", help="Online basemap tile URL ({z}/{x}/{y}) for the report; off by default so the report makes no "
                      "network request.")]
Roads = Annotated[Optional[Path], typer.Option(
    "--roads", help="Road lines (GeoJSON, GeoPackage, Shapefile, GeoParquet, or OpenStreetMap .osm/.osm.pbf), any CRS: each "
                    "vehicle's road, on_road, counts_by_road.csv.")]
RoadDistance = Annotated[Optional[float], typer.Option(
    "--road-distance", help="On a road within this many metres of its line (default: half the road class's width "
                            f"+ {_D.road.margin_m:g} m).")]
Route = Annotated[Optional[str], typer.Option(
    "--route", help="Route over --roads through LON,LAT;LON,LAT[;...]: vehicles per stretch and date (route.gpkg, "
                    "counts_by_route.csv).")]
RouteStretch = Annotated[Optional[float], typer.Option(
    "--route-stretch", help=f"Length of the route's stretches, km (default: {_D.route_params.stretch_km:g}).")]
OnRoadOnly = Annotated[Optional[bool], typer.Option(
    "--on-road-only/--all-vehicles", show_default=False,
    help="Count only vehicles on the roads (within their reach); off-road detections are left out. "
         "--all-vehicles (the default) counts every vehicle.")]
StationaryRadius = Annotated[Optional[float], typer.Option(
    "--stationary-radius", metavar="M",
    help="With several dates: a vehicle is stationary when one stood within M metres of it on the date before "
         f"(after the shift measured between the dates; default: {_D.stationary.radius_m:g}).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")]

# Each shared option: the CountConfig field (or nested field) it sets, and its parser.
ANALYSIS: dict[str, tuple[str, Callable[[Any], Any] | None]] = {
    "conf": ("conf", parse_conf),
    "zones": ("zones", None),
    "zone_field": ("zone_field", None),
    "border": ("border", None),
    "sides": ("sides", parse_sides),
    "distance_bands": ("distance_bands", lambda t: parse_floats(t, "--distance-bands")),
    "size_thresholds": ("size_thresholds", lambda t: parse_floats(t, "--size-thresholds", 3)),
    "queue_gap": ("queue.max_gap", None),
    "queue_min": ("queue.min_vehicles", None),
    "calibration": ("calibration", None),
    "claim": ("claim", parse_claim),
    "claim_class": ("claim_class", None),
    "export": ("export", parse_exports),
    "basemap": ("basemap", None),
    "roads": ("roads", None),
    "road_distance": ("road.distance_m", None),
    "route": ("route", None),
    "route_stretch": ("route_params.stretch_km", None),
    "on_road_only": ("on_road_only", None),
    "stationary_radius": ("stationary.radius_m", None),
}


# The analysis options as command parameters, in --help order: name, type (with its option), default.
_ANALYSIS_PARAMS: tuple[tuple[str, Any, Any], ...] = (
    ("zones", Zones, None), ("zone_field", ZoneField, None), ("border", Border, None), ("sides", Sides, None),
    ("distance_bands", DistanceBands, None), ("roads", Roads, None), ("road_distance", RoadDistance, None),
    ("route", Route, None), ("route_stretch", RouteStretch, None), ("on_road_only", OnRoadOnly, None),
    ("conf", Conf, None), ("size_thresholds", SizeThresholds, None), ("queue_gap", QueueGap, None),
    ("queue_min", QueueMin, None), ("stationary_radius", StationaryRadius, None), ("calibration", Calibration, None),
    ("claim", Claim, None), ("claim_class", ClaimClass, None), ("export", Export, []), ("basemap", Basemap, None),
)


def analysis_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command the analysis options, declared once here: they stand in its signature where its
    ``analysis`` parameter stands, and it receives what the user gave as ``analysis``, the config
    changes by field (see :func:`analysis_changes`). count and recount both use it."""
    sig = inspect.signature(command, eval_str=True)
    params: list[inspect.Parameter] = []
    for p in sig.parameters.values():
        if p.name == "analysis":
            params += [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=a, default=d)
                       for n, a, d in _ANALYSIS_PARAMS]
        else:
            params.append(p)

    @functools.wraps(command)
    def with_options(**given: Any) -> None:
        analysis = analysis_changes({n: given.pop(n) for n, _, _ in _ANALYSIS_PARAMS})
        return command(**given, analysis=analysis)

    with_options.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    with_options.__annotations__ = {p.name: p.annotation for p in params}
    return with_options


def analysis_changes(params: dict[str, Any]) -> dict[str, Any]:
    """The shared options the user gave (not None, a non-empty --export), parsed, by the config
    field they set: what count applies to the defaults and recount to the stored run."""
    out: dict[str, Any] = {}
    for name, (path, parse) in ANALYSIS.items():
        value = params.get(name)
        if value is None or (isinstance(value, list) and not value):
            continue
        out[path] = parse(value) if parse else value
    return out


# -- a catalogue search: the options of search, and of count when it counts a catalogue's items

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
    if len(parts) > 2:
        raise GeotallyError(f"--gsd-range takes MIN,MAX metres, e.g. 0.2,0.6; got {text!r}")
    return lo, hi  # MIN <= MAX is SearchParams.validate's check, the API's and this command's alike


def split_collections(values: list[str] | None) -> tuple[str, ...]:
    return tuple(c.strip() for v in values or [] for c in v.split(",") if c.strip())


def search_params(stac_api, catalog, collections, datetime, bbox, gsd_range, max_cloud, max_items) -> SearchParams:
    """The search options as the API takes them."""
    return SearchParams(stac_api=stac_api, catalog=catalog, collections=split_collections(collections),
                        datetime=datetime, bbox=bbox, gsd_range=parse_gsd_range(gsd_range), max_cloud=max_cloud,
                        max_items=max_items)
