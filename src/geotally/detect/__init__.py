"""Tiles to batches to model to merged, oriented detections in scene pixels."""
