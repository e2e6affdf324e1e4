"""models list and models pull: the registered detection models."""

from __future__ import annotations

from pathlib import Path

import typer

from geotally.cli.base import err, models_app, out


@models_app.command("list")
def models_list() -> None:
    """Show the registered models and whether each is cached."""
    from rich.table import Table

    from geotally.imagery.checksum import file_sha256
    from geotally.models.cache import model_path, verified_digest
    from geotally.models.registry import DEFAULT_MODEL, SHIPPED, all_specs
    from geotally.models.sources import LocalFile

    table = Table()
    for col in ("name", "GSD", "tile", "cached", "sha256", "licence"):
        table.add_column(col, no_wrap=col in ("name", "sha256"))
    for name, spec in all_specs().items():
        shipped = [Path(s.path) for s in spec.sources if isinstance(s, LocalFile) and Path(s.path).parent == SHIPPED]
        path = model_path(spec)
        if shipped:  # checked like count checks it: a shipped file that fails its sha256 is damaged, not "shipped"
            ok = shipped[0].is_file() and verified_digest(shipped[0]) == spec.sha256
            cached = "shipped" if ok else "damaged: reinstall geotally"
        else:
            cached = "no" if not path.exists() else "yes" if file_sha256(path) == spec.sha256 else "damaged: pull --force"
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
