"""The Typer app, the consoles and the entry point: user errors exit 2 with one line, internal
errors exit 1. Kept light: a command's module loads what it needs when it runs."""

from __future__ import annotations

import os
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import click
import typer
from rich.console import Console

from geotally.errors import GeotallyError, os_error

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Count trucks and other vehicles in georeferenced overhead imagery, per zone.")
models_app = typer.Typer(no_args_is_help=True, help="List and fetch the registered detection models.")
app.add_typer(models_app, name="models")

# No markup in what is printed: zone names, file names and paths are the user's text, and a "[/]" in
# one must print as itself rather than break the output (styles are given as style=...).
err = Console(stderr=True, markup=False, highlight=False)
out = Console(markup=False, highlight=False)
INTERRUPTED = 130  # the exit code of a run stopped with Ctrl-C (128 + SIGINT), as shells report it


class Interrupted(Exception):
    """Ctrl-C, with what the interrupted command kept and how to go on (said after "interrupted: ")."""


@contextmanager
def interrupted(what: str) -> Iterator[None]:
    """A context in which Ctrl-C ends the command with ``what`` said (Typer turns the interrupt into a
    silent exit 130 otherwise)."""
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(what) from None


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


def register() -> None:
    """Register every command on ``app`` (each module's decorators do it, once, when it is imported)."""
    from geotally.cli import count, search, change, demo, evaluate, review, train, models  # noqa: F401,I001 (in --help order)


def command() -> click.Command:
    """The click command of the whole CLI, every command registered, with no type tag after an
    argument that names itself (SCENE...; an option's metavar, M or FORMAT, shows as it is). The
    docs' CLI reference is made from it."""
    register()
    cmd = typer.main.get_command(app)

    def walk(c: click.Command) -> None:
        for param in c.params:
            if param.param_type_name == "argument" and getattr(param, "metavar", None):
                param.display_type_rich = lambda ctx: None
        for sub in getattr(c, "commands", {}).values():
            walk(sub)

    walk(cmd)
    return cmd


def run() -> None:
    """Run the command line: user errors exit 2 with one line, internal errors exit 1. Errors of the
    system that the user can fix (geotally.errors.os_error) are user errors wherever they arise."""
    _quiet_libraries()
    try:
        code = command().main(standalone_mode=False, prog_name="geotally")
        if code == INTERRUPTED:  # Typer's exit for Ctrl-C, which says nothing
            err.print("interrupted")
        sys.exit(code if isinstance(code, int) else 0)
    except Interrupted as exc:
        print(f"interrupted: {exc}", file=sys.stderr)  # one line, however long (the console would wrap it)
        sys.exit(INTERRUPTED)
    except EXIT as exc:
        if exc.exit_code == INTERRUPTED:
            err.print("interrupted")
        sys.exit(exc.exit_code)
    except CLICK_ERROR as exc:  # bad options: one line, and where to look
        ctx = getattr(exc, "ctx", None)
        where = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
        print(f"geotally: error: {exc.format_message()}{where}", file=sys.stderr)
        sys.exit(2)
    except (*ABORT, KeyboardInterrupt):
        err.print("interrupted")
        sys.exit(INTERRUPTED)
    except GeotallyError as exc:
        print(f"geotally: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001
        user = os_error(exc)  # a full disk, a read-only folder, a symlink loop...: the user's to fix
        if user is not None:
            if os.environ.get("GEOTALLY_DEBUG"):
                traceback.print_exc()
            print(f"geotally: error: {user}", file=sys.stderr)
            sys.exit(2)
        if os.environ.get("GEOTALLY_DEBUG"):
            traceback.print_exc()
        print(f"geotally: internal error: {type(exc).__name__}: {exc} (set GEOTALLY_DEBUG=1 for a traceback)",
              file=sys.stderr)
        sys.exit(1)
