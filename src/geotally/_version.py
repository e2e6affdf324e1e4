"""The version, declared once (pyproject.toml reads it from here), so that reading it loads nothing."""

__version__ = "0.1.0"
