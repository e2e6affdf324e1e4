"""Pixel to map to WGS84, and footprints measured in metres."""

from geotally.geo.transform import map_to_pixel, map_to_wgs84, pixel_to_map, wgs84_to_map
from geotally.geo.footprints import Footprints, footprints

__all__ = ["pixel_to_map", "map_to_pixel", "map_to_wgs84", "wgs84_to_map", "Footprints", "footprints"]
