"""Command line: a thin layer over the Python API."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import List, Optional

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from geotally.errors import GeotallyError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Count trucks and other vehicles in georeferenced overhead imagery, per zone.")
models_app = typer.Typer(no_args_is_help=True, help="List and fetch the registered detection models.")
app.add_typer(models_app, name="models")

err = Console(stderr=True)
out = Console()


def _parse_bands(text: Optional[str]) -> Optional[tuple[int, ...]]:
    if not text:
        return None
    try:
        return tuple(int(b) for b in text.split(","))
    except ValueError:
        raise GeotallyError(f"--bands takes comma-separated band numbers like 3,2,1, got {text!r}") from None


def _parse_conf(text: Optional[str]):
    if not text:
        return None
    try:
        if "=" not in text:
            return float(text)
        return {k.strip(): float(v) for k, v in (part.split("=", 1) for part in text.split(","))}
    except ValueError:
        raise GeotallyError(f"--conf takes a number or class=number pairs, got {text!r}") from None


def print_counts(counts, title: str) -> None:
    table = Table(title=title)
    table.add_column("zone")
    classes = list(dict.fromkeys(counts["class"]))
    for c in classes:
        table.add_column(c, justify="right")
    for zone, rows in counts.groupby("zone", sort=False):
        by = dict(zip(rows["class"], rows["count"]))
        table.add_row(str(zone), *(str(by.get(c, 0)) for c in classes), style="bold" if zone == "ALL" else None)
    out.print(table)


@app.command("count")
def count_cmd(
    scene: Path = typer.Argument(..., help="Raster to count in: GeoTIFF, COG, VRT, JPEG2000, or PNG/JPEG with --gsd."),
    zones: Optional[Path] = typer.Option(None, "--zones", help="Zone polygons (GeoJSON, GeoPackage, Shapefile), any CRS."),
    out_dir: Path = typer.Option(Path("results"), "--out", help="Directory for the results (created; files in it are replaced)."),
    zone_field: str = typer.Option("name", "--zone-field", help="Attribute that names each zone."),
    model: Optional[str] = typer.Option(None, "--model", help="Registered model name (see 'geotally models list')."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Local Ultralytics checkpoint (.pt) or ONNX export instead of a registered model."),
    conf: Optional[str] = typer.Option(None, "--conf", help="Minimum score: one number for all classes, or per class like large_vehicle=0.1,small_vehicle=0.25 (default: per class, chosen by measurement)."),
    gsd: Optional[float] = typer.Option(None, "--gsd", help="Scene GSD in metres: required for images without georeference, overrides it otherwise."),
    model_gsd: Optional[float] = typer.Option(None, "--model-gsd", help="GSD the model expects, in metres (default: the model's declared GSD)."),
    bands: Optional[str] = typer.Option(None, "--bands", help="Bands to use as R,G,B, e.g. 3,2,1 (default: by colour interpretation)."),
    tile_size: Optional[int] = typer.Option(None, "--tile-size", help="Model input tile size in pixels (default: the model's)."),
    overlap: int = typer.Option(160, "--overlap", help="Overlap between tiles in model pixels; keep it longer than a truck."),
    batch: int = typer.Option(4, "--batch", help="Tiles per inference batch."),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for inference (default: all cores)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or table."),
) -> None:
    """Detect vehicles in SCENE and count them per zone and class."""
    from geotally.api import count

    progress = Progress(TextColumn("[bold]detecting"), BarColumn(), MofNCompleteColumn(), TextColumn("tiles"),
                        TextColumn("· {task.fields[found]} vehicles"), TimeElapsedColumn(), TimeRemainingColumn(),
                        console=err, disable=quiet, transient=False)
    say = (lambda msg: None) if quiet else (lambda msg: err.print(f"[dim]{msg}[/dim]"))
    task = progress.add_task("detect", total=None, found=0, start=False)

    def on_progress(done: int, total: int, found: int) -> None:
        if not progress.live.is_started:
            progress.start()
        progress.update(task, completed=done, total=total, found=found)

    try:
        result = count(scene, zones, model, weights=weights, zone_field=zone_field, conf=_parse_conf(conf), gsd=gsd,
                       model_gsd=model_gsd, bands=_parse_bands(bands), tile_size=tile_size, overlap=overlap,
                       batch=batch, threads=threads, out=out_dir, progress=on_progress, say=say)
    finally:
        progress.stop()
    if not quiet:
        print_counts(result.counts, f"{Path(scene).name}: vehicles per zone (raw, uncorrected)")
        err.print(f"results written to {out_dir}/")


@models_app.command("list")
def models_list() -> None:
    """Show the registered models and whether each is cached."""
    from geotally.models.cache import model_path
    from geotally.models.registry import DEFAULT_MODEL, REGISTRY

    table = Table()
    for col in ("name", "GSD", "tile", "cached", "sha256", "licence"):
        table.add_column(col, no_wrap=col in ("name", "sha256"))
    for name, spec in REGISTRY.items():
        cached = "yes" if model_path(spec).exists() else "no"
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


def main() -> None:
    """Entry point: user errors exit 2 with one line, internal errors exit 1."""
    try:
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
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
