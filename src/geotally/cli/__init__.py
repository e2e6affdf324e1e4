"""geotally's command line: a thin layer over :mod:`geotally.api`. Each command group is a module
that parses its options and prints what the API returns; options shared by several commands are
declared once in :mod:`geotally.cli.options`.

Nothing is imported until it is needed: ``geotally --version`` prints the version without loading
the CLI framework, and the commands are registered when the app is first asked for.
"""

from __future__ import annotations

import sys

__all__ = ["app", "command", "entry", "main"]


def main() -> None:
    """Entry point: user errors exit 2 with one line, internal errors exit 1."""
    if sys.argv[1:] == ["--version"]:
        from geotally._version import __version__

        print(f"geotally {__version__}")
        sys.exit(0)
    from geotally.cli.base import run

    run()


def entry() -> None:
    """The ``geotally`` program (its console script, ``python -m geotally``): :func:`main`, then the
    process ends once its output is flushed and its log closed. By then every result is written and
    closed and every worker stopped; what is skipped is Python's teardown of pandas, GDAL, ONNX
    Runtime and the rest, 0.1-0.2 s at the end of each count that does nothing for the user.
    ``main`` stays an ordinary function (SystemExit) for scripts and tests."""
    import os

    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):  # as Python exits on sys.exit("message")
        print(code, file=sys.stderr)
        code = 1
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away (geotally ... | head), a closed stream
            pass
    os._exit(code or 0)


def __getattr__(name: str):
    if name in ("app", "command"):
        from geotally.cli import base

        base.register()
        return getattr(base, name)
    raise AttributeError(f"module 'geotally.cli' has no attribute {name!r}")
