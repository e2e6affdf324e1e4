"""review and review-export: checking detections by eye, and the labels that come of it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from geotally.cli.base import app, err, out
from geotally.config.defaults import REVIEW_PORT
from geotally.config.params import SampleParams
from geotally.errors import GeotallyError


@app.command("review")
def review_cmd(
    results: Path = typer.Argument(..., metavar="RESULTS", help="A results folder from 'geotally count'."),
    port: int = typer.Option(REVIEW_PORT, "--port", help="Port on 127.0.0.1 (the app is never served on another address)."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser; print the address."),
    sample: int = typer.Option(0, "--sample", help="Review a seeded random sample of this many detections (stratified by zone and class) and windows, for 'geotally calibrate RESULTS/review.gpkg'."),
    windows: Optional[int] = typer.Option(None, "--windows", show_default=str(SampleParams.windows), help="Windows to search for misses in a --sample."),
    window_m: Optional[float] = typer.Option(None, "--window-m", show_default=f"{SampleParams.window_m:g}", help="Side of a sample window, metres."),
    seed: Optional[int] = typer.Option(None, "--seed", show_default=str(SampleParams.seed), help="Seed of the sample."),
    reviewer: Optional[str] = typer.Option(None, "--reviewer", help="Name recorded with each decision (default: the login name)."),
    scene: Optional[str] = typer.Option(None, "--scene", help="The scene (file name) of a multi-scene result to review; default the first."),
) -> None:
    """Review detections at full resolution in a local web app: accept, reject, relabel, add misses; saved to RESULTS/review.gpkg."""
    from geotally.review.run import prepare, serve

    shaping = [name for name, v in (("--windows", windows), ("--window-m", window_m), ("--seed", seed)) if v is not None]
    if shaping and not sample:  # they shape a sample: without one they would change nothing, unsaid
        raise GeotallyError(f"{shaping[0]} shapes a review sample; give --sample N with it, or leave it out")
    d = SampleParams()
    params = SampleParams(detections=sample, windows=d.windows if windows is None else windows,
                          window_m=d.window_m if window_m is None else window_m, seed=d.seed if seed is None else seed)
    say = lambda s: err.print(s)  # noqa: E731
    serve(prepare(results, params, reviewer, say, scene, port=port), port, not no_browser, say)


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
