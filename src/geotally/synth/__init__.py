"""Synthetic georeferenced border-crossing scenes with exact ground truth."""

from geotally.synth.layout import Layout, LayoutParams, make_layout
from geotally.synth.scene import SynthParams, series_params, truth_counts, write_scene

__all__ = ["Layout", "LayoutParams", "make_layout", "SynthParams", "series_params", "truth_counts", "write_scene"]
