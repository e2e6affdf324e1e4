"""geotally's command line: a thin layer over :mod:`geotally.api`. Each command group is a module
that parses its options and prints what the API returns; options shared by several commands are
declared once in :mod:`geotally.cli.options`.

Nothing is imported until it is needed: ``geotally --version`` prints the version without loading
the CLI framework, and the commands are registered when the app is first asked for.
"""

from __future__ import annotations

import sys

__all__ = ["app", "command", "main"]


def main() -> None:
    """Entry point: user errors exit 2 with one line, internal errors exit 1."""
    if sys.argv[1:] == ["--version"]:
        from geotally._version import __version__

        print(f"geotally {__version__}")
        sys.exit(0)
    from geotally.cli.base import run

    run()


def __getattr__(name: str):
    if name in ("app", "command"):
        from geotally.cli import base

        base.register()
        return getattr(base, name)
    raise AttributeError(f"module 'geotally.cli' has no attribute {name!r}")
