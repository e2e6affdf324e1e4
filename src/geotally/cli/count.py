"""count, recount, report and show: a count and what can be done with its results folder."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import List, Optional

import typer

from geotally.cli import options as o
from geotally.cli.base import app, err, interrupted, out
from geotally.cli.output import print_counts, print_result, progress_bar, say_to
from geotally.config.count import CountConfig
from geotally.config.params import SearchParams

_D = CountConfig()


@app.command("count")
@o.analysis_options
def count_cmd(
    scenes: List[str] = typer.Argument(None, metavar="SCENE", help="Rasters to count in (GeoTIFF, COG, VRT, JPEG2000, or PNG/JPEG with --gsd): files, directories, globs, a STAC ItemCollection JSON, or http(s) COG URLs; one set of outputs. None with --stac-api or --catalog."),
    out_dir: Path = typer.Option(Path("results"), "--out", help="Directory for the results (created; files in it are replaced)."),
    analysis: dict = None,
    model: Optional[str] = typer.Option(None, "--model", help="Registered model name (see 'geotally models list')."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Local Ultralytics checkpoint (.pt) or ONNX export instead of a registered model."),
    gsd: Optional[float] = typer.Option(None, "--gsd", help="Scene GSD in metres: required for images without georeference, overrides it otherwise."),
    model_gsd: Optional[float] = typer.Option(None, "--model-gsd", help="GSD the model expects, in metres (default: the model's declared GSD)."),
    bands: Optional[str] = typer.Option(None, "--bands", help="Bands to use as R,G,B, e.g. 3,2,1 (default: by colour interpretation)."),
    tile_size: Optional[int] = typer.Option(None, "--tile-size", help="Model input tile size in pixels (default: the model's)."),
    overlap: int = typer.Option(_D.overlap, "--overlap", help="Overlap between tiles in model pixels; keep it longer than a truck."),
    batch: int = typer.Option(_D.batch, "--batch", help="Tiles per inference batch."),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for inference (default: all cores)."),
    backend: str = typer.Option(_D.backend, "--backend", help="auto (ONNX Runtime on CPU, Ultralytics on a GPU), onnx or ultralytics."),
    workers: int = typer.Option(_D.workers, "--workers", help="Local worker processes, each loading the model once (threads are split between them)."),
    dask: Optional[str] = typer.Option(None, "--dask", help="Run tiles on Dask: tcp://host:8786 for a cluster, local:N for a LocalCluster of N workers."),
    date: Optional[str] = typer.Option(None, "--date", help="Date (YYYY-MM-DD) of every scene that has none of its own (STAC datetime, file name, tags)."),
    date_pattern: Optional[str] = typer.Option(None, "--date-pattern", help="Read each scene's date from its file name, e.g. 'zakho_{date:%Y%m%d}.tif'."),
    fresh: bool = typer.Option(False, "--fresh", help="Discard finished tiles of an earlier run in --out instead of resuming it."),
    no_trailer_types: bool = typer.Option(False, "--no-trailer-types", help="Do not classify large vehicles by trailer type (tanker, box, flatbed or container, bus, other)."),
    trailer_max_gsd: Optional[float] = typer.Option(None, "--trailer-max-gsd", metavar="M", help="Type large vehicles in scenes up to this GSD even where the shipped classifier's real validation does not allow it (an experiment: see the docs for its real accuracy)."),
    stac_api: o.StacApi = None,
    catalog: o.Catalog = None,
    collections: o.Collections = None,
    datetime: o.Datetime = None,
    bbox: o.Bbox = None,
    gsd_range: o.GsdRange = None,
    max_cloud: o.MaxCloud = None,
    max_items: o.MaxItems = None,
    remote: o.Remote = False,
    quiet: o.Quiet = False,
) -> None:
    """Detect vehicles in the SCENES and count them per zone (or border side) and class.

    Finished tiles are checkpointed in --out: running the same command again resumes."""
    from geotally.api import count_scenes

    cfg, _ = CountConfig.of(
        model=model, weights=weights, gsd=gsd, model_gsd=model_gsd,
        bands=o.parse_bands(bands) if bands else None, tile_size=tile_size, overlap=overlap, batch=batch,
        threads=threads, backend=backend, workers=workers, dask=dask, date=date, date_pattern=date_pattern, fresh=fresh,
        trailer=replace(_D.trailer, enabled=not no_trailer_types, max_gsd=trailer_max_gsd),
    ).changed(analysis)
    found = o.search_params(stac_api, catalog, collections, datetime, bbox, gsd_range, max_cloud, max_items)
    kept = (f"{out_dir} holds what it held before this fresh run" if fresh else
            f"the tiles detected so far are kept in {out_dir}; run the same command to resume")
    with interrupted(kept), progress_bar(quiet) as on_progress:
        result = count_scenes(scenes or [], out=out_dir, config=cfg, progress=on_progress, say=say_to(quiet),
                              search=found if found != SearchParams() else None, remote=remote)
    print_result(result, out_dir, quiet)


@app.command("recount")
@o.analysis_options
def recount_cmd(
    results: Path = typer.Argument(..., metavar="RESULTS", help="A results folder written by 'geotally count'."),
    analysis: dict = None,
    quiet: o.Quiet = False,
) -> None:
    """Run the analysis of a finished count again with some options changed, without detecting again.

    The stored detections (kept down to the score floor) are thresholded, placed in zones and
    sides, and grouped into queues anew; every option not given is the run's own, and summary.json
    lists what changed. The folder is replaced as a whole."""
    from geotally.api import recount

    with interrupted(f"{results} holds the results it held before"), progress_bar(quiet) as on_progress:
        result = recount(results, progress=on_progress, say=say_to(quiet), **analysis)
    changed = (result.summary.recount or {}).get("changed") or {}
    if changed and not quiet:
        err.print("changed: " + "; ".join(f"{k} {v['from']} -> {v['to']}" for k, v in changed.items()), soft_wrap=True)
    print_result(result, results, quiet)


@app.command("report")
def report_cmd(results: Path = typer.Argument(..., metavar="RESULTS", help="A results folder from 'geotally count'."),
               quiet: o.Quiet = False) -> None:
    """Rebuild report.html and the exports of a results folder from its stored detections."""
    from geotally.api import recount

    with progress_bar(quiet) as on_progress:
        result = recount(results, progress=on_progress, say=say_to(quiet))
    print_result(result, results, quiet)


@app.command("show")
def show_cmd(results: Path = typer.Argument(..., metavar="RESULTS", help="A results folder from 'geotally count'.")) -> None:
    """Print the counts table and the provenance of a results folder (nothing is recomputed)."""
    from rich.table import Table

    from geotally.api import show

    shown = show(results)
    summary = shown.summary
    print_counts(shown.counts, f"{results}: vehicles per zone"
                 + (" (estimate [95% interval]; raw count first)" if summary.counts_corrected else " (raw)"))
    table = Table(title="provenance", show_header=False)
    table.add_column("what")
    table.add_column("value")
    model = summary.model
    detected = (summary.recount or {}).get("detected_utc")
    rows = [("geotally", summary.geotally_version), ("run (UTC)", summary.created_utc),
            *([("detections made (UTC)", detected)] if detected else []),
            ("model", f"{model.name or model.file} (sha256 {model.sha256[:16]}…)"),
            ("file run", f"{Path(model.run_file).name} (sha256 {model.run_file_sha256[:16]}…)"),
            ("backend", model.detector.get("backend", ""))]
    rows += [(f"scene {i + 1}", f"{sc.path} (sha256 {sc.sha256[:16]}…, {sc.tiles} tiles)")
             for i, sc in enumerate(summary.scenes)]
    for what, rec, key in (("zones", summary.zones, "sha256"), ("border", summary.border, "sha256"),
                           ("roads", summary.roads, "sha256"), ("calibration", summary.calibration, "file_sha256")):
        if rec and rec.get("file"):  # the input files every count rests on, each by its checksum
            rows.append((what, f"{rec['file']}" + (f" (sha256 {rec[key][:16]}…)" if rec.get(key) else "")))
    rows += [("coordinates", summary.coordinates)]
    rows += [(f"parameter {k}", str(v)) for k, v in summary.parameters.items()]
    rows += [(f"claim {c.get('zone')} {c.get('class')}", f"{c.get('claimed')}: {c.get('verdict')}")
             for c in (summary.claims or [])]
    if summary.recount:
        rows += [(f"recount changed {k}", f"{v['from']} -> {v['to']}") for k, v in summary.recount["changed"].items()]
    for k, v in rows:
        table.add_row(k, str(v))
    out.print(table)
