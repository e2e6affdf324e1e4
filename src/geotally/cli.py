"""Command line: a thin layer over the Python API."""

from __future__ import annotations

import math
import os
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import List, Optional

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from geotally.analysis.evaluate import MATCH_CONF, MATCH_IOU
from geotally.analysis.queues import QueueParams
from geotally.analysis.stationary import StationaryParams
from geotally.analysis.sampling import SampleParams
from geotally.detect.trailer_types import TrailerParams
from geotally.config import CountConfig
from geotally.roads.config import RoadParams, RouteParams
from geotally.synth.layout import LayoutParams
from geotally.synth.scene import SynthParams
from geotally.errors import GeotallyError
from geotally.training.config import DatasetParams, DegradeParams, TrainParams

_COUNT = CountConfig()  # count's defaults: the CLI reads them from the API's config, never writes its own

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Count trucks and other vehicles in georeferenced overhead imagery, per zone.")
models_app = typer.Typer(no_args_is_help=True, help="List and fetch the registered detection models.")
app.add_typer(models_app, name="models")

# No markup in what is printed: zone names, file names and paths are the user's text, and a "[/]" in
# one must print as itself rather than break the output (styles are given as style=...).
err = Console(stderr=True, markup=False, highlight=False)
out = Console(markup=False, highlight=False)


def _default_conf_text() -> str:
    """The default model's per-class thresholds, for --help."""
    from geotally.thresholds import DEFAULT_CONF
    from geotally.models.registry import DEFAULT_MODEL, REGISTRY

    table = {**DEFAULT_CONF, **(REGISTRY[DEFAULT_MODEL].conf or {})}
    return f"{DEFAULT_MODEL}: " + ",".join(f"{k}={v:g}" for k, v in table.items() if k != "*") \
        + f", other classes {table['*']:g}"


def _given(ctx: click.Context, name: str) -> bool:
    """Whether the user set an option (on the command line or in the environment), not its default."""
    src = ctx.get_parameter_source(name)
    return src is not None and src.name in ("COMMANDLINE", "ENVIRONMENT")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _needs(ctx: click.Context, needs: dict[str, str]) -> None:
    """An option that does nothing without another is an error, not silently ignored."""
    for opt, other in needs.items():
        if _given(ctx, opt) and not ctx.params.get(other):
            raise GeotallyError(f"{_flag(opt)} has no effect without {_flag(other)}; give {_flag(other)} too, "
                                f"or leave {_flag(opt)} out")


def _exclusive(ctx: click.Context, *pairs: tuple[str, str]) -> None:
    """Options of which only one can take effect."""
    for a, b in pairs:
        if _given(ctx, a) and _given(ctx, b):
            raise GeotallyError(f"{_flag(a)} and {_flag(b)} cannot be used together ({_flag(a)} would override "
                                f"{_flag(b)}); give one")


def _parse_bands(text: Optional[str]) -> Optional[tuple[int, ...]]:
    if not text:
        return None
    try:
        return tuple(int(b) for b in text.split(","))
    except ValueError:
        raise GeotallyError(f"--bands takes comma-separated band numbers like 3,2,1, got {text!r}") from None


def _key_values(text: str, cast, what: str, shape: str) -> dict:
    """'A=1,B=2' to {'A': 1, 'B': 2}; anything else is a one-line error naming the option."""
    try:
        return {k.strip(): cast(v) for k, v in (part.split("=", 1) for part in text.split(","))}
    except ValueError:
        raise GeotallyError(f"{what} takes {shape}, got {text!r}") from None


def _parse_conf(text: Optional[str]):
    if not text:
        return None
    if "=" in text:
        return _key_values(text, float, "--conf", "a number or class=number pairs")
    try:
        return float(text)
    except ValueError:
        raise GeotallyError(f"--conf takes a number or class=number pairs, got {text!r}") from None


def _cell(row) -> str:
    if "lo95" in row and row["lo95"] is not None and row["lo95"] == row["lo95"]:
        return f"{row['count']} → {row['estimate']:.0f} [{row['lo95']:.0f}–{row['hi95']:.0f}]"
    return str(row["count"])


def print_counts(counts, title: str) -> None:
    """The counts table, one per date when the run has several."""
    dates = list(dict.fromkeys(counts["date"].fillna("").astype(str))) if "date" in counts else [""]
    for d in dates:
        rows_of = counts[counts["date"].fillna("").astype(str) == d] if "date" in counts else counts
        table = Table(title=f"{title}, {d}" if d and len(dates) > 1 else title if not d else f"{title} ({d})")
        table.add_column("zone")
        classes = list(dict.fromkeys(rows_of["class"]))
        for c in classes:
            table.add_column(c, justify="right")
        for zone, rows in rows_of.groupby("zone", sort=False):
            by = {r["class"]: _cell(r) for _, r in rows.iterrows()}
            table.add_row(str(zone), *(by.get(c, "0") for c in classes), style="bold" if zone == "ALL" else None)
        out.print(table)


def _names(text: Optional[str]) -> Optional[tuple[str, str]]:
    if not text:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise GeotallyError(f"--sides takes two names, left then right, like TR,IQ; got {text!r}")
    return parts[0], parts[1]


def _floats(text: Optional[str], what: str, n: Optional[int] = None):
    if not text:
        return None
    try:
        vals = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise GeotallyError(f"{what} takes comma-separated numbers, got {text!r}") from None
    if (n and len(vals) != n) or list(vals) != sorted(vals):
        raise GeotallyError(f"{what} takes {n or 'some'} increasing numbers, got {text!r}")
    return vals


def _exports(values: List[str]) -> tuple[str, ...]:
    known = {"kml"}
    bad = [v for v in values if v.lower() not in known]
    if bad:
        raise GeotallyError(f"--export takes kml, got {bad[0]!r}")
    return tuple(v.lower() for v in values)


def _claim(text: Optional[str]) -> Optional[dict]:
    return _key_values(text, float, "--claim", "ZONE=COUNT pairs like TR=4530,IQ=7245") if text else None


def _version(value: bool) -> None:
    if value:
        from geotally import __version__

        out.print(f"geotally {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main_options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="Log what is read, which model and backend, and each stage's time, to stderr."),
    log_file: Optional[Path] = typer.Option(None, "--log-file", help="Write that log (at debug level) to this file."),
) -> None:
    """Count trucks and other vehicles in georeferenced overhead imagery, per zone."""
    import logging

    log = logging.getLogger("geotally")
    log.setLevel(logging.DEBUG if log_file else logging.INFO if verbose else logging.WARNING)
    log.propagate = False
    for old in list(log.handlers):  # one set of handlers, however often main() runs in a process
        log.removeHandler(old)
        old.close()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    if verbose:
        h = logging.StreamHandler(sys.stderr)
        h.setLevel(logging.INFO)
        h.setFormatter(fmt)
        log.addHandler(h)
    if log_file:
        try:
            fh = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as exc:
            raise GeotallyError(f"--log-file {log_file} cannot be written ({exc.strerror or exc})") from None
        fh.setFormatter(fmt)
        log.addHandler(fh)


@app.command("count")
def count_cmd(
    ctx: typer.Context,
    scenes: List[str] = typer.Argument(..., metavar="SCENE", help="Rasters to count in (GeoTIFF, COG, VRT, JPEG2000, or PNG/JPEG with --gsd): files, directories, globs, or a STAC ItemCollection JSON; one set of outputs."),
    zones: Optional[Path] = typer.Option(None, "--zones", help="Zone polygons (GeoJSON, GeoPackage, Shapefile), any CRS."),
    out_dir: Path = typer.Option(Path("results"), "--out", help="Directory for the results (created; files in it are replaced)."),
    zone_field: str = typer.Option(_COUNT.zone_field, "--zone-field", help="Attribute that names each zone."),
    model: Optional[str] = typer.Option(None, "--model", help="Registered model name (see 'geotally models list')."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Local Ultralytics checkpoint (.pt) or ONNX export instead of a registered model."),
    conf: Optional[str] = typer.Option(None, "--conf", help="Minimum score: one number for all classes, or per class like large_vehicle=0.1,small_vehicle=0.25 (default: the model's own, chosen by measurement; " + _default_conf_text() + ")."),
    gsd: Optional[float] = typer.Option(None, "--gsd", help="Scene GSD in metres: required for images without georeference, overrides it otherwise."),
    model_gsd: Optional[float] = typer.Option(None, "--model-gsd", help="GSD the model expects, in metres (default: the model's declared GSD)."),
    bands: Optional[str] = typer.Option(None, "--bands", help="Bands to use as R,G,B, e.g. 3,2,1 (default: by colour interpretation)."),
    tile_size: Optional[int] = typer.Option(None, "--tile-size", help="Model input tile size in pixels (default: the model's)."),
    overlap: int = typer.Option(_COUNT.overlap, "--overlap", help="Overlap between tiles in model pixels; keep it longer than a truck."),
    batch: int = typer.Option(_COUNT.batch, "--batch", help="Tiles per inference batch."),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for inference (default: all cores)."),
    border: Optional[Path] = typer.Option(None, "--border", help="Border line (LineString/MultiLineString, any CRS) splitting the scene into two sides."),
    sides: Optional[str] = typer.Option(None, "--sides", help="Names of the sides, left then right looking along the line, e.g. TR,IQ (default: the line's left/right properties)."),
    distance_bands: Optional[str] = typer.Option(None, "--distance-bands", help="Distance-to-border bands in metres, e.g. 0,1000,5000: counts per side per band."),
    roads: Optional[Path] = typer.Option(None, "--roads", help="Road lines (GeoJSON, GeoPackage, Shapefile, or OpenStreetMap .osm/.osm.pbf), any CRS: each vehicle's road, on_road, counts_by_road.csv."),
    road_distance: Optional[float] = typer.Option(None, "--road-distance", help="On a road within this many metres of its line (default: half the road class's width + 4 m)."),
    route: Optional[str] = typer.Option(None, "--route", help="Route over --roads through LON,LAT;LON,LAT[;...]: vehicles per stretch and date (route.gpkg, counts_by_route.csv)."),
    route_stretch: float = typer.Option(_COUNT.route_params.stretch_km, "--route-stretch", help="Length of the route's stretches, km."),
    on_road_only: bool = typer.Option(False, "--on-road-only", help="Count only vehicles on the roads (within their reach); off-road detections are left out."),
    size_thresholds: str = typer.Option(",".join(f"{v:g}" for v in _COUNT.size_thresholds), "--size-thresholds", help="Length thresholds in metres between car, van/light truck, rigid truck and articulated."),
    queue_gap: float = typer.Option(_COUNT.queue.max_gap, "--queue-gap", help="Largest gap in metres between vehicles of one queue."),
    queue_min: int = typer.Option(_COUNT.queue.min_vehicles, "--queue-min", help="Fewest vehicles that make a queue."),
    stationary_radius: float = typer.Option(_COUNT.stationary.radius_m, "--stationary-radius", metavar="M", help="With several dates: a vehicle is stationary when one stood within M metres of it on the date before (after the shift measured between the dates)."),
    calibration: Optional[Path] = typer.Option(None, "--calibration", help="Calibration file from 'geotally calibrate': estimates with 95% intervals."),
    claim: Optional[str] = typer.Option(None, "--claim", help="Claimed counts to test, e.g. TR=4530,IQ=7245."),
    claim_class: str = typer.Option(_COUNT.claim_class, "--claim-class", help="Class the claim counts."),
    export: List[str] = typer.Option([], "--export", metavar="FORMAT", help="Extra export beside the report: kml (GeoParquet is always written)."),
    basemap: Optional[str] = typer.Option(None, "--basemap", help="Online basemap tile URL ({z}/{x}/{y}) for the report; off by default so the report makes no network request."),
    backend: str = typer.Option(_COUNT.backend, "--backend", help="auto (ONNX Runtime on CPU, Ultralytics on a GPU), onnx or ultralytics."),
    workers: int = typer.Option(_COUNT.workers, "--workers", help="Local worker processes, each loading the model once (threads are split between them)."),
    dask: Optional[str] = typer.Option(None, "--dask", help="Run tiles on Dask: tcp://host:8786 for a cluster, local:N for a LocalCluster of N workers."),
    date: Optional[str] = typer.Option(None, "--date", help="Date (YYYY-MM-DD) of every scene that has none of its own (STAC datetime, file name, tags)."),
    date_pattern: Optional[str] = typer.Option(None, "--date-pattern", help="Read each scene's date from its file name, e.g. 'zakho_{date:%Y%m%d}.tif'."),
    fresh: bool = typer.Option(False, "--fresh", help="Discard finished tiles of an earlier run in --out instead of resuming it."),
    no_trailer_types: bool = typer.Option(False, "--no-trailer-types", help="Do not classify large vehicles by trailer type (tanker, box, flatbed or container, bus, other)."),
    trailer_max_gsd: Optional[float] = typer.Option(None, "--trailer-max-gsd", metavar="M", help="Type large vehicles in scenes up to this GSD even where the shipped classifier's real validation does not allow it (an experiment: see the README for its real accuracy)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or table."),
) -> None:
    """Detect vehicles in the SCENES and count them per zone (or border side) and class.

    Finished tiles are checkpointed in --out: running the same command again resumes."""
    from geotally.api import count_scenes

    _needs(ctx, {"sides": "border", "distance_bands": "border", "zone_field": "zones", "claim_class": "claim",
                 "road_distance": "roads", "route": "roads", "route_stretch": "route", "on_road_only": "roads"})
    if not (math.isfinite(route_stretch) and 0.01 <= route_stretch <= 1000):
        raise GeotallyError(f"--route-stretch must be km between 0.01 and 1000, got {route_stretch}")
    _exclusive(ctx, ("model", "weights"), ("dask", "workers"), ("dask", "threads"))
    with _progress_bar(quiet) as on_progress:
        result = count_scenes(scenes, zones=zones, model=model, weights=weights, zone_field=zone_field, conf=_parse_conf(conf), gsd=gsd,
                       model_gsd=model_gsd, bands=_parse_bands(bands), tile_size=tile_size, overlap=overlap,
                       batch=batch, threads=threads, out=out_dir, border=border,
                       sides=_names(sides), distance_bands=_floats(distance_bands, "--distance-bands"),
                       size_thresholds=_floats(size_thresholds, "--size-thresholds", 3),
                       queue=QueueParams(max_gap=queue_gap, min_vehicles=queue_min), calibration=calibration,
                       claim=_claim(claim), claim_class=claim_class, export=_exports(export), basemap=basemap,
                       fresh=fresh, workers=workers, dask=dask, backend=backend, progress=on_progress, say=_say(quiet),
                       date=date, date_pattern=date_pattern, roads=roads, road=RoadParams(distance_m=road_distance),
                       route=route, route_params=RouteParams(stretch_km=route_stretch), on_road_only=on_road_only,
                       trailer=TrailerParams(enabled=not no_trailer_types, max_gsd=trailer_max_gsd),
                       stationary=StationaryParams(radius_m=stationary_radius))
    _print_result(result, out_dir, quiet)


def _print_result(result, out_dir: Path, quiet: bool) -> None:
    """The counts table, queues, border and claims of a count, as the terminal shows them."""
    if quiet:
        return
    summary = result.summary
    corrected = summary.counts_corrected
    names = ", ".join(s.name for s in summary.scenes) if len(summary.scenes) <= 3 else \
        f"{len(summary.scenes)} scenes ({summary.scenes[0].name} ... {summary.scenes[-1].name})"
    print_counts(result.counts, f"{names}: vehicles per zone "
                 + ("(estimate [95% interval] from the calibration; raw count first)" if corrected
                    else "(raw, uncorrected: no calibration given)"))
    q = summary.queues
    # lanes side by side are one queue; each lane is a line of queues.gpkg
    n = f"{q.groups} ({q.count} lane lines)" if q.groups is not None and q.groups < q.count else f"{q.count}"
    out.print(f"queues: {n} with {q.vehicles_in_queues} vehicles; "
              f"{q.vehicles_elsewhere} vehicles parked or elsewhere")
    if summary.roads:
        r = summary.roads
        out.print(f"roads: {r['on_road']} detections on {r['segments']} road segments (counts_by_road.csv)")
    if summary.route:
        r = summary.route
        out.print(f"route: {r['length_km']:.1f} km, {r['observed_km']:.1f} km of it imaged, {r['vehicles_along']} "
                  "vehicles along it (counts_by_route.csv)")
    dropped = sum(s.dropped_in_overlaps for s in summary.scenes)
    joined = sum(s.joined_at_seams for s in summary.scenes)
    if dropped:
        out.print(f"{dropped} detections lie where another scene of the same date sees them better and are counted "
                  "once, from that scene (summary.json: overlap_rule)")
    if joined:
        out.print(f"{joined} vehicles cut by the edge between two scenes of one date are counted once, their two "
                  "pieces joined (summary.json: overlap_rule)")
    if summary.border and summary.border["extended_to_scene_edge"]:
        out.print("border line extended to the scene edge along its end bearings", style="yellow")
    if not summary.georeferenced:
        out.print("the scene has no georeference: outputs are in pixel-space metres, with no WGS84 file and no "
                  "lon/lat", style="yellow")
    cal = summary.calibration or {}
    for text in [*cal.get("warnings", []), *cal.get("no_interval", {}).values()]:
        out.print(f"calibration: {text}", style="yellow")
    for c in summary.claims or []:
        rng = f" against {c['estimate']:.0f} [{c['lo95']:.0f}, {c['hi95']:.0f}]" if "lo95" in c else ""
        when = f" on {c['date']}" if c.get("date") else ""
        out.print(f"claim {c['zone']}={c['claimed']:g} ({c['class']}){when}: {c['verdict']}{rng}")
    err.print(f"results written to {out_dir}/")


def _analysis_options(zones, zone_field, border, sides, distance_bands, size_thresholds, queue_gap, queue_min,
                      calibration, claim, claim_class, conf, export, basemap, roads=None, road_distance=None,
                      stationary_radius=None) -> dict:
    """recount's options: only those given change the run."""
    opts = dict(zones=zones, zone_field=zone_field, border=border, sides=_names(sides),
                distance_bands=_floats(distance_bands, "--distance-bands"),
                size_thresholds=_floats(size_thresholds, "--size-thresholds", 3) if size_thresholds else None,
                calibration=calibration, claim=_claim(claim), claim_class=claim_class, conf=_parse_conf(conf),
                export=_exports(export) if export else None, basemap=basemap, roads=roads)
    if road_distance is not None:
        opts["road"] = RoadParams(distance_m=road_distance)
    if stationary_radius is not None:
        opts["stationary"] = StationaryParams(radius_m=stationary_radius)
    if queue_gap is not None or queue_min is not None:
        d = QueueParams()
        opts["queue"] = QueueParams(max_gap=queue_gap if queue_gap is not None else d.max_gap,
                                    min_vehicles=queue_min if queue_min is not None else d.min_vehicles)
    return {k: v for k, v in opts.items() if v is not None}


@app.command("recount")
def recount_cmd(
    results: Path = typer.Argument(..., metavar="RESULTS", help="A results folder written by 'geotally count'."),
    conf: Optional[str] = typer.Option(None, "--conf", help="New score thresholds (not below the run's score floor)."),
    zones: Optional[Path] = typer.Option(None, "--zones", help="New zone polygons."),
    zone_field: Optional[str] = typer.Option(None, "--zone-field", help="Attribute that names each zone."),
    border: Optional[Path] = typer.Option(None, "--border", help="New border line."),
    sides: Optional[str] = typer.Option(None, "--sides", help="Names of the sides, left then right."),
    distance_bands: Optional[str] = typer.Option(None, "--distance-bands", help="Distance-to-border bands, metres."),
    size_thresholds: Optional[str] = typer.Option(None, "--size-thresholds", help="Length thresholds, metres."),
    queue_gap: Optional[float] = typer.Option(None, "--queue-gap", help="Largest gap in a queue, metres."),
    queue_min: Optional[int] = typer.Option(None, "--queue-min", help="Fewest vehicles that make a queue."),
    calibration: Optional[Path] = typer.Option(None, "--calibration", help="Calibration file."),
    claim: Optional[str] = typer.Option(None, "--claim", help="Claimed counts, e.g. TR=4530,IQ=7245."),
    claim_class: Optional[str] = typer.Option(None, "--claim-class", help="Class the claim counts."),
    export: List[str] = typer.Option([], "--export", metavar="FORMAT", help="Extra export: kml."),
    basemap: Optional[str] = typer.Option(None, "--basemap", help="Online basemap tile URL for the report."),
    roads: Optional[Path] = typer.Option(None, "--roads", help="New road lines (GeoJSON, GeoPackage, Shapefile, OSM)."),
    road_distance: Optional[float] = typer.Option(None, "--road-distance", help="On a road within this many metres."),
    stationary_radius: Optional[float] = typer.Option(None, "--stationary-radius", metavar="M", help="Stationary when a vehicle stood within M metres on the date before."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No table."),
) -> None:
    """Run the analysis of a finished count again with some options changed, without detecting again.

    The stored detections (kept down to the score floor) are thresholded, placed in zones and
    sides, and grouped into queues anew; every other option is the run's own. The folder is
    replaced as a whole."""
    from geotally.recount import recount

    changes = _analysis_options(zones, zone_field, border, sides, distance_bands, size_thresholds, queue_gap,
                                queue_min, calibration, claim, claim_class, conf, export, basemap, roads, road_distance,
                                stationary_radius)
    with _progress_bar(quiet) as on_progress:
        result = recount(results, progress=on_progress, say=_say(quiet), **changes)
    _print_result(result, results, quiet)


@app.command("report")
def report_cmd(results: Path = typer.Argument(..., metavar="RESULTS", help="A results folder from 'geotally count'."),
               quiet: bool = typer.Option(False, "--quiet", "-q", help="No table.")) -> None:
    """Rebuild report.html and the exports of a results folder from its stored detections."""
    from geotally.recount import recount

    with _progress_bar(quiet) as on_progress:
        result = recount(results, progress=on_progress, say=_say(quiet))
    _print_result(result, results, quiet)


@app.command("show")
def show_cmd(results: Path = typer.Argument(..., metavar="RESULTS", help="A results folder from 'geotally count'.")) -> None:
    """Print the counts table and the provenance of a results folder (nothing is recomputed)."""
    import pandas as pd

    from geotally.store.summary import read_summary

    summary = read_summary(results)
    counts = pd.read_csv(results / "counts.csv", keep_default_na=False, dtype={"zone": str})
    print_counts(counts, f"{results}: vehicles per zone"
                 + (" (estimate [95% interval]; raw count first)" if summary.counts_corrected else " (raw)"))
    table = Table(title="provenance", show_header=False)
    table.add_column("what")
    table.add_column("value")
    model = summary.model
    rows = [("geotally", summary.geotally_version), ("run (UTC)", summary.created_utc),
            ("model", f"{model.name or model.file} (sha256 {model.sha256[:16]}…)"),
            ("file run", f"{Path(model.run_file).name} (sha256 {model.run_file_sha256[:16]}…)"),
            ("backend", model.detector.get("backend", ""))]
    rows += [(f"scene {i + 1}", f"{sc.path} (sha256 {sc.sha256[:16]}…, {sc.tiles} tiles)")
             for i, sc in enumerate(summary.scenes)]
    rows += [("coordinates", summary.coordinates)]
    rows += [(f"parameter {k}", str(v)) for k, v in summary.parameters.items()]
    for k, v in rows:
        table.add_row(k, str(v))
    out.print(table)


@app.command("change")
def change_cmd(
    results: List[Path] = typer.Argument(..., metavar="RESULTS", help="One multi-date results folder, or two results folders (earlier first)."),
    out_file: Path = typer.Option(Path("change.csv"), "--out", "-o", help="Table of the changes."),
    force: bool = typer.Option(False, "--force", help="Replace the table if it exists."),
) -> None:
    """Compare dates: per zone and class the difference and ratio of counts, and with a calibration
    the 95% interval of the true difference and whether it supports an increase or a decrease."""
    from geotally.compare import change
    from geotally.store.outputs import check_out_file, write_csv

    check_out_file(out_file, "-o", force=force)
    table, point = change(results)
    write_csv(out_file, table)
    shown = table[table["zone"] == "ALL"]
    t = Table(title="change between dates, all zones")
    for col in ("from", "to", "class", "count", "difference", "ratio", "verdict"):
        t.add_column(col)
    for r in shown.to_dict("records"):
        iv = f" [{r['lo95']:.0f}, {r['hi95']:.0f}]" if r.get("lo95") is not None and r.get("lo95") == r.get("lo95") else ""
        t.add_row(str(r["date_a"]), str(r["date_b"]), str(r["class"]), f"{r['count_a']} → {r['count_b']}",
                  f"{r['difference']:+d}{iv}", "" if r["ratio"] is None or r["ratio"] != r["ratio"] else f"{r['ratio']:.2f}",
                  str(r["verdict"]))
    out.print(t)
    if point:
        out.print(f"largest step ({point['class']}, all zones): {point['from']} → {point['to']}, "
                  f"{point['difference']:+d}: {point['verdict']}")
    err.print(f"changes written to {out_file}")


@app.command("demo")
def demo_cmd(
    ctx: typer.Context,
    out_dir: Path = typer.Option(Path("demo"), "--out", help="Directory for the scene, truth and results."),
    gsd: float = typer.Option(SynthParams.gsd, "--gsd", min=0.15, max=1.0, help="Ground sample distance of the generated scene, metres (0.15-1.0)."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same scene."),
    scenario: str = typer.Option("crossing", "--scenario", help="crossing (one scene) or closure (a weekly series: the border closes, queues build up, it reopens)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Generate a border crossing near Zakho with known trucks, count it per side, and compare with the truth.

    --scenario closure counts a weekly series across a closure and checks the detected change point."""
    from geotally.demo import run_closure_demo, run_demo

    if scenario not in ("crossing", "closure"):
        raise GeotallyError(f"--scenario must be crossing or closure, got {scenario!r}")
    if scenario == "closure":
        with _progress_bar(quiet) as on_progress:
            _, table, verdict = run_closure_demo(out_dir, gsd=gsd if _given(ctx, "gsd") else 0.3,
                                                 seed=seed, progress=on_progress, say=_say(quiet))
        out.print(_against_truth(table, "closure demo: trucks counted vs true per date and side", ("date", "side")))
        out.print(f"change point (largest step of the trucks, all zones): {verdict['detected_from']} -> "
                  f"{verdict['detected_to']} ({verdict['detected_difference']:+d}); the border closed "
                  f"{verdict['closure']}, first imaged closed on {verdict['true_change_point']}: "
                  + ("matches" if verdict["matches"] else "does NOT match"))
        err.print(f"scenes, truth and results written to {out_dir}/")
        return
    with _progress_bar(quiet) as on_progress:
        _, table, _ = run_demo(out_dir, gsd=gsd, seed=seed, progress=on_progress, say=_say(quiet))
    out.print(_against_truth(table, f"demo at {gsd} m/px: counted vs true vehicles per side", ("side", "class")))
    err.print(f"scene, border, sides, truth and results written to {out_dir}/")


def _against_truth(table, title: str, keys: tuple[str, ...]) -> Table:
    """A demo's counted-vs-true table: the key columns, then count, truth, error and error %."""
    t = Table(title=title)
    for col in (*keys, "count", "truth", "error", "error %"):
        t.add_column(col, justify="left" if col in keys else "right")
    for row in table.to_dict(orient="records"):
        pct = row["error_pct"]
        pct = "" if pct is None or pct != pct else f"{pct:+.1f}"
        t.add_row(*(str(row[k]) for k in keys), str(row["count"]), str(row["truth"]), f"{row['error']:+d}", pct)
    return t


def _pairs(text: Optional[str], what: str) -> dict:
    return _key_values(text, int, what, "SIDE=N pairs like TR=18,IQ=32") if text else {}


def _pairs_text(pairs: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in pairs.items())


_LAYOUT, _SYNTH = LayoutParams(), SynthParams()  # synth's defaults are the layout's and the renderer's own


@app.command("synth")
def synth_cmd(
    ctx: typer.Context,
    out_dir: Path = typer.Option(..., "--out", help="Directory for scene(s), border, sides and truth."),
    width_m: float = typer.Option(_LAYOUT.width_m, "--width-m", help="Scene width in metres."),
    height_m: float = typer.Option(_LAYOUT.height_m, "--height-m", help="Scene height in metres (the road runs south-north)."),
    gsd: float = typer.Option(_SYNTH.gsd, "--gsd", min=0.15, max=1.0, help="Ground sample distance, metres (0.15-1.0)."),
    seed: int = typer.Option(0, "--seed", help="Seed for the place (road, border, lots) and the vehicles."),
    queue: str = typer.Option(_pairs_text(_LAYOUT.queue), "--queue", help="Trucks queuing per side (north side first)."),
    depot: str = typer.Option(_pairs_text(_LAYOUT.depot), "--depot", help="Trucks parked in a depot per side."),
    mix: str = typer.Option(",".join(f"{v:g}" for v in _LAYOUT.mix), "--mix", help="Shares of tanker, box and flatbed trailers."),
    cars: int = typer.Option(_LAYOUT.cars_road, "--cars", help="Cars and vans driving on the road."),
    parked: int = typer.Option(_LAYOUT.cars_park, "--parked", help="Cars in the car park."),
    haze: float = typer.Option(_SYNTH.haze, "--haze", min=0.0, max=1.0, help="Haze, 0 (none) to 1."),
    jpeg_quality: Optional[int] = typer.Option(None, "--jpeg-quality", min=5, max=100, help="Add JPEG artefacts at this quality."),
    sun_azimuth: float = typer.Option(_SYNTH.sun_azimuth, "--sun-azimuth", min=0.0, max=360.0, help="Sun azimuth, degrees clockwise from north; shadows fall the other way."),
    sun_elevation: float = typer.Option(_SYNTH.sun_elevation, "--sun-elevation", min=10.0, max=90.0, help="Sun elevation, degrees (62: mid-morning in summer at 37 N); lower casts longer shadows."),
    dates: int = typer.Option(1, "--dates", min=1, help="The same place on N dates with different queues."),
    start_date: str = typer.Option("2026-06-01", "--start-date", help="First date of a series (weekly steps)."),
    closure: Optional[str] = typer.Option(None, "--closure", help="Border closed on this date (YYYY-MM-DD): queues build up after it."),
    reopen: Optional[str] = typer.Option(None, "--reopen", help="Border reopened on this date: the queues drain after it."),
) -> None:
    """Generate georeferenced border-crossing scenes with exact truth (GeoTIFF + GeoJSON)."""

    from geotally.synth import LayoutParams, SynthParams, series_params, write_scene

    _needs(ctx, {"reopen": "closure"})
    for opt in ("start_date", "closure"):
        if _given(ctx, opt) and dates < 2:
            raise GeotallyError(f"--{opt.replace('_', '-')} has no effect without --dates N (N of 2 or more); "
                                "give --dates too")
    from geotally.imagery.dates import iso_date

    closure = iso_date(closure, "--closure") if closure else None
    reopen = iso_date(reopen, "--reopen") if reopen else None

    try:
        shares = tuple(float(x) for x in mix.split(","))
    except ValueError:
        raise GeotallyError(f"--mix takes three shares like 0.4,0.35,0.25, got {mix!r}") from None
    if len(shares) != 3 or min(shares) < 0 or sum(shares) <= 0:
        raise GeotallyError(f"--mix takes three non-negative shares (tanker, box, flatbed), got {mix!r}")
    lp = LayoutParams(width_m=width_m, height_m=height_m, queue=_pairs(queue, "--queue"), depot=_pairs(depot, "--depot"),
                      cars_road=cars, cars_park=parked, mix=shares, seed=seed)
    base = SynthParams(layout=lp, gsd=gsd, haze=haze, jpeg_quality=jpeg_quality, sun_azimuth=sun_azimuth,
                       sun_elevation=sun_elevation)
    try:
        runs = series_params(base, dates, start_date, closure=closure, reopen=reopen) if dates > 1 else [base]
    except ValueError as exc:
        raise GeotallyError(str(exc)) from None
    table = Table(title=f"synthetic scenes in {out_dir}/")
    for col in ("file", "date", "side", "large_vehicle", "small_vehicle"):
        table.add_column(col)
    for p in runs:
        name = f"scene_{p.date}" if dates > 1 else "scene"
        try:
            res = write_scene(out_dir, p, name=name)
        except ValueError as exc:
            raise GeotallyError(str(exc)) from None
        for side, c in res["counts"].items():
            table.add_row(Path(res["scene"]).name, p.date or "", side, str(c.get("large_vehicle", 0)),
                          str(c.get("small_vehicle", 0)))
    out.print(table)


def _say(quiet: bool):
    return (lambda msg: None) if quiet else (lambda msg: err.print(msg, style="dim"))


@contextmanager
def _progress_bar(quiet: bool):
    """A rich bar of tiles done and raw detections so far, shown from the first progress call (detection's
    start) on. Raw detections are counted before the seam merge and the class thresholds, so they are
    more than the vehicles finally counted; a multi-scene run says which scene it is on."""
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("tiles"),
                        TextColumn("· {task.fields[found]} raw detections (before merge)"), TimeElapsedColumn(),
                        TimeRemainingColumn(), console=err, disable=quiet)
    tasks: list = []  # made at the first call, so the elapsed time is detection's own, not rendering's

    def on_progress(done: int, total: int, found: int, label: str = "detecting") -> None:
        if not tasks:
            tasks.append(progress.add_task(label, total=total, found=0))
            progress.start()
        progress.update(tasks[0], completed=done, total=total, found=found, description=label)

    try:
        yield on_progress
    except BaseException:
        if tasks:  # a failed run shows its one error line: no half bar, no blank line after it
            progress.live.transient = True
            if not err.is_terminal:
                import io

                progress.live.console.file = io.StringIO()
            progress.stop()
            progress.live.console.file = None
            tasks.clear()
        raise
    finally:
        if tasks:  # a bar never started prints nothing
            progress.stop()


@app.command("evaluate")
def evaluate_cmd(
    ctx: typer.Context,
    paths: List[Path] = typer.Argument(..., metavar="DETECTIONS... TRUTH", help="DETECTIONS... TRUTH: one or more detections files or results folders, then the truth: GeoJSON/GeoPackage polygons or points, a DOTA labelTxt folder, or a YOLO label folder."),
    iou: float = typer.Option(MATCH_IOU, "--iou", help="Rotated IoU for a match."),
    radius: Optional[float] = typer.Option(None, "--radius", help="Match centres within this many metres instead of IoU (automatic for point truth)."),
    conf: float = typer.Option(MATCH_CONF, "--conf", help="Score threshold for precision, recall and count error (AP uses all)."),
    zones: Optional[Path] = typer.Option(None, "--zones", help="Zone polygons: adds count errors per zone."),
    out_file: Path = typer.Option(Path("evaluation.json"), "--out", "-o", help="JSON report."),
    force: bool = typer.Option(False, "--force", help="Replace the report if it exists."),
) -> None:
    """Score detections against labelled truth: precision, recall, F1, AP50 and count error per class and image."""
    from geotally.evaluation import evaluate
    from geotally.store.outputs import check_out_file, write_json

    from geotally.limits import check_evaluate_options

    if len(paths) < 2:
        raise GeotallyError("evaluate takes one or more DETECTIONS and then the TRUTH")
    _exclusive(ctx, ("radius", "iou"))
    check_evaluate_options(iou=iou, radius=radius, conf=conf)
    for p in paths:
        if not p.exists():
            raise GeotallyError(f"not found: {p}")
    check_out_file(out_file, "-o", force=force)
    report = evaluate(paths[:-1], paths[-1], iou=iou, radius_m=radius, conf=conf, zones=zones)
    write_json(out_file, report)
    table = Table(title=f"evaluation against {paths[-1].name}")
    for col in ("class", "truth", "found", "P", "R", "F1", "AP50", "count error"):
        table.add_column(col, justify="left" if col == "class" else "right", no_wrap=True)
    fmt = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
    for cls, r in report["per_class"].items():
        rel = f" ({r['count_error_rel']:+.1%})" if r["count_error_rel"] is not None else ""
        table.add_row(cls, str(r["n_truth"]), str(r["n_detected"]), fmt(r["precision"]), fmt(r["recall"]),
                      fmt(r["f1"]), fmt(r["ap50_mean_over_images"]), f"{r['count_error']:+d}{rel}")
    out.print(table)
    for z in report["per_zone"]:
        rel = f" ({z['count_error_rel']:+.1%})" if z["count_error_rel"] is not None else ""
        out.print(f"  {z['image']} {z['zone']} {z['class']}: {z['n_detected']} found, {z['n_truth']} true, "
                  f"error {z['count_error']:+d}{rel}")
    if report.get("note"):
        out.print(f"note: {report['note']}", style="yellow")
    err.print(f"report written to {out_file}")


@app.command("calibrate")
def calibrate_cmd(
    evaluation: Path = typer.Argument(..., metavar="EVALUATION|REVIEW", help="evaluation.json from 'geotally evaluate' on labelled images like the ones to count, or RESULTS/review.gpkg from a 'geotally review --sample'."),
    out_file: Path = typer.Option(Path("calibration.json"), "--out", "-o", help="Calibration file for 'count --calibration'."),
    force: bool = typer.Option(False, "--force", help="Replace the calibration file if it exists."),
    group: Optional[str] = typer.Option(r"^(.*?)[-_]?\d+$", "--group", metavar="REGEX", help="Scene group of each labelled image, from its name (the regex's first group): intervals carry the spread of the rates between groups, and none is given with fewer than 3 groups. The default strips a trailing frame number (MOS74 -> MOS). --group '' treats every image as a scene of its own."),
    gsd: Optional[str] = typer.Option(None, "--gsd", metavar="MIN[,MAX]", help="GSD in metres of the labelled imagery; count warns outside it."),
    sensor: Optional[str] = typer.Option(None, "--sensor", help="Sensor or source of the labelled imagery (recorded, shown by count)."),
    kind: Optional[str] = typer.Option(None, "--kind", help="Kind of scene (urban street, border crossing, ...), recorded and shown by count."),
) -> None:
    """Turn an evaluation, or a reviewed sample of the scene itself, into a calibration for count intervals."""
    import json
    from dataclasses import asdict

    from geotally.analysis.calibration import Calibration
    from geotally.store.outputs import check_out_file, write_json

    check_out_file(out_file, "-o", force=force)
    if evaluation.suffix.lower() == ".gpkg":
        from geotally.review.calibrate import sample_calibration

        cal = sample_calibration(evaluation)
        write_json(out_file, asdict(cal))
        m = cal.meta
        out.print(f"review sample: {m['reviewed_detections']} detections reviewed, {m['searched_windows']} windows searched")
        table = Table(title="this scene's true counts from the review sample (estimate [95% interval])")
        for col in ("zone", "class", "estimate", "95% interval", "detection rate", "false per true"):
            table.add_column(col, justify="left" if col in ("zone", "class") else "right", no_wrap=True)
        zones = sorted({k.split("|", 1)[0] for k in (*cal.detections, *cal.windows)})
        for cls in cal.classes():
            r, f = cal.rates(cls)
            for zone in [None, *zones]:
                e, lo, hi = cal.estimate(zone, cls)
                rate = (f"{r:.3f}", f"{f:.3f}") if zone is None else ("", "")
                table.add_row(zone or "ALL", cls, f"{e:.0f}", f"[{lo:.0f}, {hi:.0f}]", *rate)
        out.print(table)
        err.print(f"calibration written to {out_file} (it applies to this scene only: "
                  f"geotally recount {evaluation.parent} --calibration {out_file})")
        return
    try:
        report = json.loads(evaluation.read_text())
    except (FileNotFoundError, IsADirectoryError):
        raise GeotallyError(f"evaluation file not found: {evaluation}") from None
    except (ValueError, UnicodeDecodeError):
        raise GeotallyError(f"{evaluation} is not JSON; give the file 'geotally evaluate' wrote") from None
    meta = {"sensor": sensor, "kind": kind}
    if gsd:
        lo_hi = _floats(gsd, "--gsd")
        if not 1 <= len(lo_hi) <= 2 or min(lo_hi) <= 0:
            raise GeotallyError(f"--gsd takes MIN[,MAX] metres, got {gsd!r}")
        meta.update(gsd_m_min=min(lo_hi), gsd_m_max=max(lo_hi))
    cal = Calibration.from_evaluation(report, source=str(evaluation), group=group or r"^(.*)$", meta=meta)
    write_json(out_file, asdict(cal))
    for cls, c in cal.classes.items():
        r, f = c.rates()
        why = cal.no_interval(cls)
        out.print(f"{cls}: {len(c.n_truth)} labelled images in {c.n_groups()} scene groups, {sum(c.n_truth)} vehicles; "
                  f"detection rate {r:.3f}, false positives per true vehicle {f:.3f}"
                  + (f"; {why}" if why else ""))
    err.print(f"calibration written to {out_file}")


@app.command("review")
def review_cmd(
    results: Path = typer.Argument(..., metavar="RESULTS", help="A results folder from 'geotally count'."),
    port: int = typer.Option(8765, "--port", help="Port on 127.0.0.1 (the app is never served on another address)."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser; print the address."),
    sample: int = typer.Option(0, "--sample", help="Review a seeded random sample of this many detections (stratified by zone and class) and windows, for 'geotally calibrate RESULTS/review.gpkg'."),
    windows: int = typer.Option(SampleParams.windows, "--windows", help="Windows to search for misses in a --sample."),
    window_m: float = typer.Option(SampleParams.window_m, "--window-m", help="Side of a sample window, metres."),
    seed: int = typer.Option(SampleParams.seed, "--seed", help="Seed of the sample."),
    reviewer: Optional[str] = typer.Option(None, "--reviewer", help="Name recorded with each decision (default: the login name)."),
    scene: Optional[str] = typer.Option(None, "--scene", help="The scene (file name) of a multi-scene result to review; default the first."),
) -> None:
    """Review detections at full resolution in a local web app: accept, reject, relabel, add misses; saved to RESULTS/review.gpkg."""
    from geotally.review.run import prepare, serve

    if not 0 <= port <= 65535:
        raise GeotallyError(f"--port must be 0-65535, got {port}")
    if sample < 0 or windows < 0 or not window_m > 0:
        raise GeotallyError("--sample and --windows must be >= 0 and --window-m > 0")
    params = SampleParams(detections=sample, windows=windows, window_m=window_m, seed=seed) if sample else None
    say = lambda s: err.print(s)  # noqa: E731
    serve(prepare(results, params, reviewer, say, scene), port, not no_browser, say)


@app.command("review-export")
def review_export_cmd(
    results: Path = typer.Argument(..., metavar="RESULTS", help="A results folder with a review.gpkg from 'geotally review'."),
    out_dir: Path = typer.Argument(..., metavar="OUT", help="Folder for truth.geojson, train/, coco.json and dota/labelTxt/."),
) -> None:
    """Export the reviewed labels: truth for 'evaluate', training data for 'train', COCO and DOTA labelTxt."""
    from geotally.review.export import export_review

    done = export_review(results, out_dir)
    out.print(f"{done.labels} reviewed labels exported:")
    out.print(f"  {done.truth}  (geotally evaluate {results} {done.truth})")
    out.print(f"  {done.train}/  (geotally train {done.train} --name NAME)")
    out.print(f"  {done.coco}")
    out.print(f"  {done.dota}/labelTxt/")


@app.command("train")
def train_cmd(
    ctx: typer.Context,
    data: List[Path] = typer.Argument(..., metavar="DATA", help="Labelled folders: DOTA (images/ + labelTxt/), YOLO or YOLO-OBB "
                                                "(images/ + labels/ + classes.names), or GeoTIFFs with NAME_truth.geojson."),
    name: str = typer.Option(..., "--name", help="Name to register the model under (then: count --model NAME)."),
    out_dir: Path = typer.Option(Path("train-runs"), "--out", help="Working folder; run the same command again to resume."),
    exclude: List[str] = typer.Option([], "--exclude", metavar="GLOB", help="Glob on image names never to train on (a validation split)."),
    exclude_list: List[str] = typer.Option([], "--exclude-list", metavar="FILE", help="File of image names never to train on."),
    synth: int = typer.Option(0, "--synth", help="Add this many synthetic crossings with exact oriented truth."),
    model_gsd: float = typer.Option(DatasetParams.model_gsd, "--model-gsd", help="Metres per pixel the model sees."),
    gsd_range: str = typer.Option(",".join(str(v) for v in DegradeParams.gsd_range), "--gsd-range",
                                  help="Satellite GSDs (m) to degrade training copies to, MIN,MAX."),
    copies: int = typer.Option(DatasetParams.copies, "--copies", help="Degraded copies per image."),
    copies_large: int = typer.Option(DatasetParams.copies_large, "--copies-large",
                                     help="Copies in all of images with a large vehicle; the extra ones keep only tiles holding one."),
    imgsz: int = typer.Option(DatasetParams.imgsz, "--imgsz", help="Training tile size, pixels."),
    pseudo_score: Optional[float] = typer.Option(DatasetParams.pseudo_score, "--pseudo-score",
                                                 help="Teach unlabelled detections of the stock model (at the image's "
                                                      "own scale) scoring at least this as vehicles, rather than masking "
                                                      "them or teaching them as background (labels that leave vehicles out)."),
    mask_score_large: Optional[float] = typer.Option(DatasetParams.mask_score_large, "--mask-score-large",
                                                     help="Mask unlabelled large-vehicle detections from this score "
                                                          f"(default: as other vehicles, {DatasetParams.mask_score})."),
    pseudo_teacher: Optional[str] = typer.Option(DatasetParams.pseudo_teacher, "--pseudo-teacher", metavar="MODEL",
                                                 help="Registered model (run at its own model GSD) whose unlabelled "
                                                      "detections are masked or taught (--pseudo-score), instead of the "
                                                      "stock model's at the image's scale; labels are still oriented by the stock model."),
    epochs: int = typer.Option(TrainParams.epochs, "--epochs"),
    batch: int = typer.Option(TrainParams.batch, "--batch"),
    lr0: float = typer.Option(TrainParams.lr0, "--lr0", help="Initial learning rate."),
    warmup_epochs: float = typer.Option(TrainParams.warmup_epochs, "--warmup-epochs",
                                        help="Epochs of learning-rate warm-up (less for a short fine-tune of a tuned model)."),
    base: str = typer.Option(TrainParams.base, "--base", help="Registry model or .pt to fine-tune."),
    train_only: Optional[str] = typer.Option(TrainParams.train_only, "--train-only", metavar="angle",
                                             help="angle: refit only the heading branch of --base, every other weight "
                                                  "frozen, on labels whose angle was measured (those it would be "
                                                  "guessed for are left out)."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, 0 (first GPU)...; default: GPU when present."),
    val: List[Path] = typer.Option([], "--val", metavar="DIR", help="Held-out labelled folder to validate on (recall)."),
    val_exhaustive: List[Path] = typer.Option([], "--val-exhaustive", metavar="DIR",
                                              help="Held-out folder whose labels are exhaustive (recall, precision, count error)."),
    val_gsds: str = typer.Option("0.15,0.3,0.5", "--val-gsds", help="GSDs (m) to validate at."),
    task: str = typer.Option("obb", "--task", help="obb: the vehicle detector; trailer-type: the trailer-type classifier (DATA: a types.csv of labelled real crops)."),
    images: Optional[Path] = typer.Option(None, "--images", help="With --task trailer-type: the folder the types.csv file paths are under (e.g. ../shared/data)."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Fine-tune an oriented (OBB) vehicle detector on labelled overhead imagery, degraded to satellite GSDs
    (or, with --task trailer-type, train the trailer-type classifier on synthetic and real crops).

    Writes the checkpoint, its ONNX export and a registry entry, and registers the model in the
    cache so that 'count --model NAME' uses it. Interrupted runs resume from the last epoch."""
    from geotally.models.local import register
    from geotally.training.run import run_training

    if task not in ("obb", "trailer-type"):
        raise GeotallyError(f"--task must be obb or trailer-type, got {task!r}")
    if task == "trailer-type":
        from geotally.training.trailer import TrailerTrainParams, run_trailer_training

        if len(data) != 1 or data[0].suffix.lower() != ".csv" or not data[0].is_file():
            raise GeotallyError("--task trailer-type takes one DATA: a types.csv of labelled crops "
                                "(see benchmarks/trailer_labels/README.md)")
        if images is None or not images.is_dir():
            raise GeotallyError("--task trailer-type needs --images DIR, the folder its file paths are under")
        lo, hi = _floats(gsd_range, "--gsd-range", 2)
        tp = TrailerTrainParams(epochs=epochs if _given(ctx, "epochs") else TrailerTrainParams.epochs,
                                gsd_range=(lo, hi))
        entry = run_trailer_training(data[0], images, out_dir, name, tp, log=_say(quiet))
        out.print(f"{name}: {entry} (copy it and its .onnx into src/geotally/models/weights to ship it)")
        return
    if images is not None:
        raise GeotallyError("--images is for --task trailer-type")

    if _given(ctx, "val_gsds") and not (val or val_exhaustive):
        raise GeotallyError("--val-gsds has no effect without --val or --val-exhaustive; give a held-out folder too")
    lo, hi = _floats(gsd_range, "--gsd-range", 2)
    for what, v, least in (("--epochs", epochs, 1), ("--batch", batch, 1), ("--copies", copies, 1),
                           ("--copies-large", copies_large, 0), ("--imgsz", imgsz, 64), ("--synth", synth, 0)):
        if v < least:
            raise GeotallyError(f"{what} must be at least {least}, got {v}")
    if not (0.02 <= lo <= hi <= 5.0) or not 0.02 <= model_gsd <= 5.0:
        raise GeotallyError("--gsd-range and --model-gsd must be metres between 0.02 and 5, MIN <= MAX")
    if pseudo_score is not None and not (math.isfinite(pseudo_score) and 0.05 <= pseudo_score <= 1.0):
        raise GeotallyError(f"--pseudo-score must be a detection score between 0.05 and 1, got {pseudo_score}")
    if mask_score_large is not None and not (math.isfinite(mask_score_large) and 0.05 <= mask_score_large <= 1.0):
        raise GeotallyError(f"--mask-score-large must be a detection score between 0.05 and 1, got {mask_score_large}")
    if train_only not in (None, "angle"):
        raise GeotallyError(f"--train-only takes 'angle', got {train_only!r}")
    if pseudo_teacher is not None:
        from geotally.models.registry import get_spec

        get_spec(pseudo_teacher)  # an unknown name fails here, before any image is read
    say = _say(quiet)
    ds = DatasetParams(model_gsd=model_gsd, imgsz=imgsz, copies=copies, copies_large=copies_large,
                       pseudo_score=pseudo_score, pseudo_teacher=pseudo_teacher, mask_score_large=mask_score_large,
                       degrade=DegradeParams(gsd_range=(lo, hi)))
    if not (math.isfinite(lr0) and 0 < lr0 <= 1):
        raise GeotallyError(f"--lr0 must be a learning rate above 0 and at most 1, got {lr0}")
    if not (math.isfinite(warmup_epochs) and 0 <= warmup_epochs <= 100):
        raise GeotallyError(f"--warmup-epochs must be between 0 and 100, got {warmup_epochs}")
    tp = TrainParams(base=base, epochs=epochs, batch=batch, imgsz=imgsz, device=device, warmup_epochs=warmup_epochs,
                     train_only=train_only, lr0=lr0)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TimeRemainingColumn(), console=err, disable=quiet)
    tasks: dict = {}

    def step(kind: str):
        def on(done: int, total: int) -> None:
            if kind not in tasks:
                tasks[kind] = progress.add_task(kind, total=total)
            progress.update(tasks[kind], completed=done, total=total)
        return on

    with progress:
        trained = run_training([str(d) for d in data], out_dir, name, excludes=exclude, exclude_lists=exclude_list,
                               synth=synth, dataset=ds, params=tp, say=say, on_prepare=step("preparing images"),
                               on_epoch=step("training epochs"))
    folder = register(trained.folder)
    if val or val_exhaustive:
        from geotally.training.fit import write_entry
        from geotally.training.sources import read_source
        from geotally.training.validate import validate

        items = [it for d in [*val, *val_exhaustive] for it in read_source(d)]
        say(f"validating on {len(items)} held-out images")
        rows = validate(name, items, list(_floats(val_gsds, "--val-gsds")), {str(d) for d in val_exhaustive})
        trained.entry["validation"] = {"folders": [str(d) for d in [*val, *val_exhaustive]], "rows": rows}
        write_entry(trained.folder, trained.entry)
        folder = register(trained.folder)
        for r in rows:
            extra = (f", precision {r['precision']}, count error {r['count_error']:+.1%}"
                     if r.get("precision") is not None else "")
            out.print(f"{r['gsd_m']} m {r['class']}: recall {r['recall']} ({r['found']}/{r['labelled']}){extra}")
    out.print(f"{name}: registered at {folder} (sha256 {trained.entry['sha256'][:12]}); "
              f"count with --model {name}")


@models_app.command("list")
def models_list() -> None:
    """Show the registered models and whether each is cached."""
    from geotally.imagery.scene import file_sha256
    from geotally.models.cache import model_path
    from geotally.models.registry import DEFAULT_MODEL, SHIPPED, all_specs
    from geotally.models.sources import LocalFile

    table = Table()
    for col in ("name", "GSD", "tile", "cached", "sha256", "licence"):
        table.add_column(col, no_wrap=col in ("name", "sha256"))
    for name, spec in all_specs().items():
        shipped = any(isinstance(s, LocalFile) and Path(s.path).parent == SHIPPED for s in spec.sources)
        path = model_path(spec)
        cached = "shipped" if shipped else ("no" if not path.exists() else "yes" if file_sha256(path) == spec.sha256
                                            else "damaged: pull --force")
        label = f"{name}*" if name == DEFAULT_MODEL else name
        table.add_row(label, f"{spec.native_gsd} m", str(spec.tile_size), cached, spec.sha256[:12], spec.licence)
    table.caption = "* default model. Pull with 'geotally models pull NAME'."
    out.print(table)


@models_app.command("pull")
def models_pull(name: str = typer.Argument(..., help="Model name from 'geotally models list'."),
                force: bool = typer.Option(False, "--force", help="Fetch again even if a cached copy exists.")) -> None:
    """Fetch a model into the cache and verify its sha256."""
    from geotally.models.cache import ensure_model
    from geotally.models.registry import get_spec

    path = ensure_model(get_spec(name), force=force, say=lambda msg: err.print(msg))
    out.print(f"{name}: {path}")


def _same_named(base: type, name: str) -> tuple[type, ...]:
    """click's class of that name, and typer's own copy when typer vendors click (typer >= 0.20)."""
    return tuple({base, *(c for c in typer.BadParameter.__mro__ + (typer.Exit, typer.Abort) if c.__name__ == name)})


EXIT = _same_named(click.exceptions.Exit, "Exit")
ABORT = _same_named(click.exceptions.Abort, "Abort")
CLICK_ERROR = _same_named(click.ClickException, "ClickException")


def _quiet_libraries() -> None:
    """Library warnings (NotGeoreferencedWarning, numpy RuntimeWarnings, GDAL's logged messages) stay off
    stderr, so an error is one line there; GEOTALLY_DEBUG=1 shows them."""
    if os.environ.get("GEOTALLY_DEBUG"):
        return
    import logging
    import warnings

    warnings.simplefilter("ignore")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")  # spawned worker processes too
    for name in ("rasterio", "pyogrio", "fiona", "py.warnings", "distributed"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _command() -> click.Command:
    """The click command, with no type tag after a parameter that names itself (SCENE..., FORMAT)."""
    command = typer.main.get_command(app)

    def walk(cmd: click.Command) -> None:
        for param in cmd.params:
            if getattr(param, "metavar", None):
                param.display_type_rich = lambda ctx: None
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub)

    walk(command)
    return command


def main() -> None:
    """Entry point: user errors exit 2 with one line, internal errors exit 1."""
    _quiet_libraries()
    try:
        code = _command().main(standalone_mode=False, prog_name="geotally")
        sys.exit(code if isinstance(code, int) else 0)
    except EXIT as exc:
        sys.exit(exc.exit_code)
    except CLICK_ERROR as exc:  # bad options: one line, and where to look
        ctx = getattr(exc, "ctx", None)
        where = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
        print(f"geotally: error: {exc.format_message()}{where}", file=sys.stderr)
        sys.exit(2)
    except (*ABORT, KeyboardInterrupt):
        err.print("interrupted")
        sys.exit(130)
    except GeotallyError as exc:
        print(f"geotally: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("GEOTALLY_DEBUG"):
            traceback.print_exc()
        print(f"geotally: internal error: {type(exc).__name__}: {exc} (set GEOTALLY_DEBUG=1 for a traceback)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
