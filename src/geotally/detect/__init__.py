"""Tiles to batches to model to merged, oriented detections in scene pixels."""

from geotally.detect.run import Detections, detect_scene
from geotally.detect.nms import rotated_nms

__all__ = ["Detections", "detect_scene", "rotated_nms"]
