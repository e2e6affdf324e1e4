"""python -m geotally: the command line."""

from geotally.cli import entry

entry()
