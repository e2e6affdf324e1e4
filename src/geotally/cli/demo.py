"""demo and synth: generated border crossings with exact truth."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from geotally.cli.base import app, err, out
from geotally.cli.options import Quiet, key_values
from geotally.cli.output import against_truth, progress_bar, say_to
from geotally.config.synth import CLOSURE_DEFAULTS, SERIES_START, LayoutParams, SynthParams
from geotally.errors import GeotallyError

_LAYOUT, _SYNTH = LayoutParams(), SynthParams()  # synth's defaults are the layout's and the renderer's own


@app.command("demo")
def demo_cmd(
    out_dir: Path = typer.Option(Path("demo"), "--out", help="Directory for the scene, truth and results."),
    gsd: Optional[float] = typer.Option(None, "--gsd", help=f"Ground sample distance of the generated scene, metres, 0.15-1.0 (default: {_SYNTH.gsd:g}; {CLOSURE_DEFAULTS['gsd']:g} for the closure)."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same scene."),
    scenario: str = typer.Option("crossing", "--scenario", help="crossing (one scene) or closure (a weekly series: the border closes, queues build up, it reopens)."),
    quiet: Quiet = False,
) -> None:
    """Generate a border crossing near Zakho with known trucks, count it per side, and compare with the truth.

    --scenario closure counts a weekly series across a closure and checks the detected change point."""
    from geotally.pipeline.demo import run_closure_demo, run_demo

    if scenario not in ("crossing", "closure"):
        raise GeotallyError(f"--scenario must be crossing or closure, got {scenario!r}")
    if scenario == "closure":
        with progress_bar(quiet) as on_progress:
            _, table, verdict = run_closure_demo(out_dir, gsd=CLOSURE_DEFAULTS["gsd"] if gsd is None else gsd,
                                                 seed=seed, progress=on_progress, say=say_to(quiet))
        out.print(against_truth(table, "closure demo: trucks counted vs true per date and side", ("date", "side")))
        out.print(f"change point (largest step of the trucks, all zones): {verdict['detected_from']} -> "
                  f"{verdict['detected_to']} ({verdict['detected_difference']:+d}); the border closed "
                  f"{verdict['closure']}, first imaged closed on {verdict['true_change_point']}: "
                  + ("matches" if verdict["matches"] else "does NOT match"))
        err.print(f"scenes, truth and results written to {out_dir}/")
        return
    gsd = _SYNTH.gsd if gsd is None else gsd
    with progress_bar(quiet) as on_progress:
        _, table, _ = run_demo(out_dir, gsd=gsd, seed=seed, progress=on_progress, say=say_to(quiet))
    out.print(against_truth(table, f"demo at {gsd} m/px: counted vs true vehicles per side", ("side", "class")))
    err.print(f"scene, border, sides, truth and results written to {out_dir}/")


def _pairs(text: str, what: str) -> dict:
    return key_values(text, int, what, "SIDE=N pairs like TR=18,IQ=32") if text else {}


def _pairs_text(pairs: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in pairs.items())


@app.command("synth")
def synth_cmd(
    out_dir: Path = typer.Option(..., "--out", help="Directory for scene(s), border, sides and truth."),
    width_m: float = typer.Option(_LAYOUT.width_m, "--width-m", help="Scene width in metres."),
    height_m: float = typer.Option(_LAYOUT.height_m, "--height-m", help="Scene height in metres (the road runs south-north)."),
    gsd: float = typer.Option(_SYNTH.gsd, "--gsd", help="Ground sample distance, metres (0.15-1.0)."),
    seed: int = typer.Option(0, "--seed", help="Seed for the place (road, border, lots) and the vehicles."),
    queue: str = typer.Option(_pairs_text(_LAYOUT.queue), "--queue", help="Trucks queuing per side (north side first)."),
    depot: str = typer.Option(_pairs_text(_LAYOUT.depot), "--depot", help="Trucks parked in a depot per side."),
    mix: str = typer.Option(",".join(f"{v:g}" for v in _LAYOUT.mix), "--mix", help="Shares of tanker, box and flatbed trailers."),
    cars: int = typer.Option(_LAYOUT.cars_road, "--cars", help="Cars and vans driving on the road."),
    parked: int = typer.Option(_LAYOUT.cars_park, "--parked", help="Cars in the car park."),
    haze: float = typer.Option(_SYNTH.haze, "--haze", help="Haze, 0 (none) to 1."),
    jpeg_quality: Optional[int] = typer.Option(None, "--jpeg-quality", help="Add JPEG artefacts at this quality (5-100)."),
    sun_azimuth: float = typer.Option(_SYNTH.sun_azimuth, "--sun-azimuth", help="Sun azimuth, degrees clockwise from north; shadows fall the other way."),
    sun_elevation: float = typer.Option(_SYNTH.sun_elevation, "--sun-elevation", help="Sun elevation, degrees 10-90 (62: mid-morning in summer at 37 N); lower casts longer shadows."),
    dates: int = typer.Option(1, "--dates", help="The same place on N dates with different queues."),
    start_date: Optional[str] = typer.Option(None, "--start-date", help=f"First date of a series (weekly steps; default {SERIES_START})."),
    closure: Optional[str] = typer.Option(None, "--closure", help="Border closed on this date (YYYY-MM-DD): queues build up after it."),
    reopen: Optional[str] = typer.Option(None, "--reopen", help="Border reopened on this date: the queues drain after it."),
) -> None:
    """Generate georeferenced border-crossing scenes with exact truth (GeoTIFF + GeoJSON).

    A run replaces an earlier synth run in --out: its scene files (scene.tif, scene_YYYY-MM-DD.tif and
    their _truth.geojson) that this run does not write again are removed; other files are kept."""
    from rich.table import Table

    from geotally.synth import write_synth

    try:
        shares = tuple(float(x) for x in mix.split(","))
    except ValueError:
        raise GeotallyError(f"--mix takes three shares like 0.4,0.35,0.25, got {mix!r}") from None
    lp = LayoutParams(width_m=width_m, height_m=height_m, queue=_pairs(queue, "--queue"), depot=_pairs(depot, "--depot"),
                      cars_road=cars, cars_park=parked, mix=shares, seed=seed)
    base = SynthParams(layout=lp, gsd=gsd, haze=haze, jpeg_quality=jpeg_quality, sun_azimuth=sun_azimuth,
                       sun_elevation=sun_elevation)
    written = write_synth(out_dir, base, dates, start_date, closure=closure, reopen=reopen)
    table = Table(title=f"synthetic scenes in {out_dir}/")
    for col in ("file", "date", "side", "large_vehicle", "small_vehicle"):
        table.add_column(col)
    for res in written:
        for side, c in res["counts"].items():
            table.add_row(Path(res["scene"]).name, res["date"] or "", side, str(c.get("large_vehicle", 0)),
                          str(c.get("small_vehicle", 0)))
    out.print(table)
