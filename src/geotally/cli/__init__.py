"""geotally's command line: a thin layer over :mod:`geotally.api`. Each command group is a module
that parses its options and prints what the API returns; options shared by several commands are
declared once in :mod:`geotally.cli.options`."""

from geotally.cli.app import app, command, main
from geotally.cli import count, change, demo, evaluate, review, train, models  # noqa: F401,E402,I001 (registers, in --help order)

__all__ = ["app", "command", "main"]
