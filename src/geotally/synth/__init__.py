"""Synthetic georeferenced border-crossing scenes with exact ground truth."""

from geotally.config.synth import LayoutParams, SynthParams
from geotally.synth.layout import Layout, make_layout
from geotally.synth.scene import series_params, truth_counts, write_scene, write_synth

__all__ = ["Layout", "LayoutParams", "make_layout", "SynthParams", "series_params", "truth_counts", "write_scene",
           "write_synth"]
