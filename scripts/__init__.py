"""Training recipes and one-off tools run from the repository root: `python -m scripts.NAME` (scripts/README.md)."""
