from geotally.cli import entry

entry()
